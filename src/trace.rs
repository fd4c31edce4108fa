//! Trace writers: the LED colour timeline (CSV or JSON) and a VCD waveform of pads and LED.
//!
//! VCD: one 1-bit wire per pad that ever changed (`gpioN`, with the Pycom name in a
//! comment), and a 24-bit `led_rgb` vector. Timescale 1 ns.

use peripherals::gpio::Drive;
use peripherals::ws2812::Frame;
use std::io::{BufWriter, Write};
use std::path::Path;

/// JSON when `path` ends in `.json`, CSV otherwise.
pub fn led_trace_is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

pub fn write_led_trace(out: &mut dyn Write, json: bool, frames: &[Frame]) -> anyhow::Result<()> {
    let mut w = BufWriter::new(out);
    if json {
        let v: Vec<_> = frames
            .iter()
            .map(|f| serde_json::json!({ "t_ns": f.t_ps / 1000, "t_s": peripherals::time::ps_to_secs(f.t_ps), "color": format!("#{:06x}", f.rgb), "rgb": f.rgb }))
            .collect();
        serde_json::to_writer_pretty(&mut w, &v)?;
        writeln!(w)?;
    } else {
        writeln!(w, "t_ns,color")?;
        for f in frames {
            writeln!(w, "{},#{:06x}", f.t_ps / 1000, f.rgb)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `pins`: pad output changes; `drives`: outside drives (wires `ext_gpioN`, z when floating).
pub fn write_vcd(
    out: &mut dyn Write,
    pins: &[(u64, u8, bool)],
    drives: &[(u64, u8, Drive)],
    frames: &[Frame],
    end_ps: u64,
) -> anyhow::Result<()> {
    let mut w = BufWriter::new(out);
    let mut used: Vec<u8> = pins.iter().map(|p| p.1).collect();
    used.sort_unstable();
    used.dedup();
    // Identifier characters from '!' on; the LED is '#'-prefixed to stay distinct.
    let id = |g: u8| format!("p{g}");
    writeln!(w, "$date pyemu $end")?;
    writeln!(w, "$version pyemu {} $end", env!("CARGO_PKG_VERSION"))?;
    writeln!(w, "$timescale 1ns $end")?;
    writeln!(w, "$scope module board $end")?;
    for g in &used {
        let name = peripherals::board::name_of(*g).map(|n| format!(" ({n})")).unwrap_or_default();
        writeln!(w, "$var wire 1 {} gpio{g} $end $comment gpio{g}{name} $end", id(*g))?;
    }
    let mut driven: Vec<u8> = drives.iter().map(|d| d.1).collect();
    driven.sort_unstable();
    driven.dedup();
    let xid = |g: u8| format!("x{g}");
    for g in &driven {
        let name = peripherals::board::name_of(*g).map(|n| format!(" ({n})")).unwrap_or_default();
        writeln!(w, "$var wire 1 {} ext_gpio{g} $end $comment outside drive on gpio{g}{name} $end", xid(*g))?;
    }
    writeln!(w, "$var wire 24 led led_rgb $end")?;
    writeln!(w, "$upscope $end")?;
    writeln!(w, "$enddefinitions $end")?;
    writeln!(w, "#0")?;
    writeln!(w, "$dumpvars")?;
    for g in &used {
        writeln!(w, "0{}", id(*g))?;
    }
    for g in &driven {
        writeln!(w, "z{}", xid(*g))?;
    }
    writeln!(w, "b0 led")?;
    writeln!(w, "$end")?;
    // Merge pin edges and LED frames by time.
    let mut events: Vec<(u64, String)> = pins.iter().map(|(t, g, l)| (*t, format!("{}{}", *l as u8, id(*g)))).collect();
    events.extend(frames.iter().map(|f| (f.t_ps, format!("b{:b} led", f.rgb))));
    events.extend(drives.iter().map(|(t, g, d)| {
        let v = match d {
            Drive::High => '1',
            Drive::Low => '0',
            Drive::Float => 'z',
        };
        (*t, format!("{v}{}", xid(*g)))
    }));
    events.sort_by_key(|e| e.0);
    let mut last = None;
    for (t, line) in events {
        let ns = t / 1000;
        if last != Some(ns) {
            writeln!(w, "#{ns}")?;
            last = Some(ns);
        }
        writeln!(w, "{line}")?;
    }
    writeln!(w, "#{}", end_ps / 1000)?;
    w.flush()?;
    Ok(())
}
