//! `--record` / `--replay`: every host input of a run (UART bytes, pin drives, EN) with the
//! virtual time it took effect, as JSON. Scheduling them again on a fresh machine with the
//! same firmware and flags reproduces the run byte for byte (the guest sees only virtual
//! time and these inputs).

use anyhow::{bail, Context};
use base64::Engine;
use peripherals::gpio::Drive;
use peripherals::machine::HostInput;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Serialize, Deserialize)]
struct Recording {
    /// Format marker and version.
    pyemu_record: u32,
    inputs: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    t_ps: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    uart: Option<usize>,
    /// UART bytes, base64.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    bytes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gpio: Option<u8>,
    /// `high`, `low` or `float`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    drive: Option<String>,
    /// EN: `low` (held in reset), `released`, or `reset` (a power-on reset at once).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    en: Option<String>,
}

pub fn write(out: &mut dyn Write, inputs: &[(u64, HostInput)]) -> anyhow::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let inputs = inputs
        .iter()
        .map(|(t, i)| match i {
            HostInput::Uart { uart, bytes } => Entry { t_ps: *t, uart: Some(*uart), bytes: Some(b64.encode(bytes)), gpio: None, drive: None, en: None },
            HostInput::En { low } => {
                Entry { t_ps: *t, uart: None, bytes: None, gpio: None, drive: None, en: Some(if *low { "low" } else { "released" }.into()) }
            }
            HostInput::Reset => Entry { t_ps: *t, uart: None, bytes: None, gpio: None, drive: None, en: Some("reset".into()) },
            HostInput::Drive { gpio, drive } => Entry {
                t_ps: *t,
                uart: None,
                bytes: None,
                en: None,
                gpio: Some(*gpio),
                drive: Some(match drive {
                    Drive::High => "high",
                    Drive::Low => "low",
                    Drive::Float => "float",
                }
                .into()),
            },
        })
        .collect();
    let text = serde_json::to_string_pretty(&Recording { pyemu_record: 1, inputs })? + "\n";
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub fn load(path: &Path) -> anyhow::Result<Vec<(u64, HostInput)>> {
    let what = format!("--replay {}", path.display());
    let text = std::fs::read_to_string(path).with_context(|| what.clone())?;
    let r: Recording = serde_json::from_str(&text).with_context(|| format!("{what}: not a pyemu recording"))?;
    if r.pyemu_record != 1 {
        bail!("{what}: recording format {} (this pyemu reads 1)", r.pyemu_record);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for (n, e) in r.inputs.into_iter().enumerate() {
        let input = match (e.uart, e.bytes, e.gpio, e.drive) {
            (None, None, None, None) if e.en.is_some() => match e.en.as_deref() {
                Some("low") => HostInput::En { low: true },
                Some("released") => HostInput::En { low: false },
                Some("reset") => HostInput::Reset,
                o => bail!("{what}: input {n}: en `{}` (low, released or reset)", o.unwrap_or_default()),
            },
            _ if e.en.is_some() => bail!("{what}: input {n}: an EN input has no other fields"),
            (Some(uart), Some(b), None, None) if uart < 3 => {
                HostInput::Uart { uart, bytes: b64.decode(b).with_context(|| format!("{what}: input {n}: bytes are not base64"))? }
            }
            (None, None, Some(gpio), Some(d)) if gpio < 40 => HostInput::Drive {
                gpio,
                drive: match d.as_str() {
                    "high" => Drive::High,
                    "low" => Drive::Low,
                    "float" => Drive::Float,
                    o => bail!("{what}: input {n}: drive `{o}` (high, low or float)"),
                },
            },
            _ => bail!("{what}: input {n} is neither a UART input (uart, bytes), a pin drive (gpio, drive) nor EN (en)"),
        };
        if out.last().is_some_and(|(t, _)| *t > e.t_ps) {
            bail!("{what}: input {n} goes back in time");
        }
        out.push((e.t_ps, input));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn en_inputs_round_trip() {
        let inputs = vec![
            (5, HostInput::Uart { uart: 0, bytes: b"\xff\x00ab".to_vec() }),
            (7, HostInput::En { low: true }),
            (7, HostInput::Drive { gpio: 0, drive: Drive::Low }),
            (9, HostInput::En { low: false }),
            (9, HostInput::Reset),
        ];
        let mut buf = Vec::new();
        write(&mut buf, &inputs).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, &buf).unwrap();
        assert_eq!(load(&p).unwrap(), inputs);
        std::fs::write(&p, r#"{"pyemu_record":1,"inputs":[{"t_ps":1,"en":"high"}]}"#).unwrap();
        assert!(format!("{:#}", load(&p).unwrap_err()).contains("en `high`"));
    }
}
