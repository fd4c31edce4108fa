//! Power cuts: where a cut lands (`--power-cut AT`), what it did to the flash chip, and what
//! the board does when the power comes back (the verdict `pyemu run --power-cut` prints
//! and `pyemu campaign power-cut` tallies).

use crate::repl::Repl;
use crate::session::{fmt_time, End, Session, Watch};
use anyhow::{bail, Context};
use peripherals::flash::{CutPlan, CutReport};

/// `--power-cut AT`: a virtual time, `flash-op:N` (halfway through the Nth program/erase
/// the firmware starts) or `flash-op:N+T` (T into it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutSpec {
    At(u64),
    Op { n: u64, after: Option<u64> },
}

impl CutSpec {
    pub fn parse(s: &str) -> anyhow::Result<CutSpec> {
        let dur = |t: &str| crate::session::parse_duration(t).map_err(|e| anyhow::anyhow!("--power-cut {s}: {e}"));
        match s.strip_prefix("flash-op:") {
            Some(rest) => {
                let (n, after) = match rest.split_once('+') {
                    Some((n, t)) => (n, Some(dur(t)?)),
                    None => (rest, None),
                };
                let n: u64 = n.trim().parse().with_context(|| format!("--power-cut {s}: `{n}` is not an operation number (1, 2, …)"))?;
                if n == 0 {
                    bail!("--power-cut {s}: flash operations count from 1");
                }
                Ok(CutSpec::Op { n, after })
            }
            None => Ok(CutSpec::At(dur(s).map_err(|e| anyhow::anyhow!("{e}; or flash-op:N, flash-op:N+T"))?)),
        }
    }

    /// The chip's plan, times counted from `start` (a run restored from a snapshot).
    pub fn plan(self, start: u64) -> CutPlan {
        match self {
            CutSpec::At(t) => CutPlan::At(start + t),
            CutSpec::Op { n, after } => CutPlan::Op { n, after },
        }
    }

    /// As given on the command line.
    pub fn arg(self) -> String {
        match self {
            CutSpec::At(t) => dur_arg(t),
            CutSpec::Op { n, after: None } => format!("flash-op:{n}"),
            CutSpec::Op { n, after: Some(t) } => format!("flash-op:{n}+{}", dur_arg(t)),
        }
    }
}

/// A duration as a command-line argument that parses back to the same picoseconds (to the
/// nanosecond).
pub fn dur_arg(ps: u64) -> String {
    if ps.is_multiple_of(1_000_000_000_000) {
        format!("{}s", ps / 1_000_000_000_000)
    } else if ps.is_multiple_of(1_000_000_000) {
        format!("{}ms", ps / 1_000_000_000)
    } else if ps.is_multiple_of(1_000_000) {
        format!("{}us", ps / 1_000_000)
    } else {
        format!("{}ns", ps / 1000)
    }
}

/// A seed for a run that was given none (printed, so the run can be repeated).
pub fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    (t ^ ((std::process::id() as u64) << 32)) % 1_000_000_000
}

/// One line about a cut: when, which operation it interrupted and how far, the seed.
pub fn describe(r: &CutReport, seed: u64) -> String {
    let what = match &r.interrupted {
        Some((op, frac, changed, total)) => format!(
            "flash op {} ({} of {} bytes at {:#x}) interrupted {:.0}% through: {changed} of its {total} bit changes made",
            op.n,
            op.kind.name(),
            op.len,
            op.addr,
            frac * 100.0
        ),
        None => "no flash operation in flight".into(),
    };
    format!("power cut at {} after {} flash operation(s); {what}; seed {seed}", fmt_time(r.at_ps), r.ops)
}

/// What the board did after the power came back.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AfterCut {
    /// The MicroPython prompt came within the limit.
    pub prompt: bool,
    /// The app partition the bootloader ran last (`factory`, `ota_0`…).
    pub booted: Option<String>,
    /// Resets after the power-on (watchdogs, panics, software resets): a reboot loop.
    pub resets: usize,
    /// Firmware panics seen after the power-on.
    pub panics: Vec<String>,
    /// The RGB LED's last colour was red (Pycom's fatal-error colour) and no prompt came.
    pub red_led: bool,
    /// The check code's output (first line), when one was given and the prompt came.
    pub check: Option<String>,
}

impl AfterCut {
    /// A stable one-line form (the campaign's reproducers are compared by it).
    pub fn summary(&self) -> String {
        let mut s = match (&self.booted, self.prompt) {
            (Some(b), true) => format!("prompt from {b}"),
            (None, true) => "prompt".into(),
            (b, false) => format!("no prompt (last image {})", b.as_deref().unwrap_or("none")),
        };
        if self.resets > 0 {
            s += &format!(" after {} reset(s)", self.resets);
        }
        if let Some(p) = self.panics.first() {
            s += &format!(", first panic: {p}");
        }
        if self.red_led {
            s += ", LED red";
        }
        if let Some(c) = &self.check {
            s += &format!(", check: {c}");
        }
        s
    }
}

/// After a cut the board was powered on: run until the prompt (at most `limit_ps`), then
/// run `check` (MicroPython) through the raw REPL if given.
pub fn boot_after_cut(s: &mut Session, limit_ps: u64, check: Option<&str>) -> anyhow::Result<AfterCut> {
    let resets0 = s.m.resets;
    let panics0 = s.panics.len();
    let deadline = s.m.now_ps.saturating_add(limit_ps);
    const PROMPT: usize = 7;
    s.clear_watches();
    s.watch(Watch::text(PROMPT, ">>> "));
    let prompt = match s.run_until(deadline)? {
        End::Matched(PROMPT) => true,
        End::Signal(sig) => bail!("stopped by signal {sig}"),
        // The limit passed (or the endpoint went away) first.
        _ => false,
    };
    s.clear_watches();
    let mut check_out = None;
    if prompt {
        if let Some(code) = check {
            let mut r = Repl::from_now(s);
            let line = match r.enter_raw(s, deadline)? {
                Ok(()) => match r.exec_raw(s, code.as_bytes(), deadline, |_| {})? {
                    Ok(o) => {
                        let text = if o.failed() { &o.err } else { &o.out };
                        let t = String::from_utf8_lossy(text);
                        let t = if o.failed() { t.trim().lines().last().unwrap_or("").to_string() } else { t.trim().lines().next().unwrap_or("").to_string() };
                        if o.failed() {
                            format!("error: {t}")
                        } else {
                            t
                        }
                    }
                    Err(_) => "no answer".into(),
                },
                Err(_) => "no raw REPL".into(),
            };
            check_out = Some(line);
        }
    }
    let booted = crate::session::BootState::of(&s.m).image;
    let red = s.m.led.frames.last().is_some_and(|f| {
        let (r, g, b) = (f.rgb >> 16, (f.rgb >> 8) & 0xFF, f.rgb & 0xFF);
        r > 0x40 && g < r / 4 && b < r / 4
    });
    Ok(AfterCut {
        prompt,
        booted,
        resets: s.m.resets.saturating_sub(resets0) as usize,
        panics: s.panics[panics0..].iter().map(|(_, p)| p.clone()).collect(),
        red_led: red && !prompt,
        check: check_out,
    })
}

/// The campaign's classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    NewImage,
    OldImage,
    Factory,
    Recovered,
    Bricked,
}

impl Class {
    pub const ALL: [Class; 5] = [Class::NewImage, Class::OldImage, Class::Factory, Class::Recovered, Class::Bricked];

    pub fn name(self) -> &'static str {
        match self {
            Class::NewImage => "booted the new image",
            Class::OldImage => "booted the old image",
            Class::Factory => "booted factory",
            Class::Recovered => "recovered after a reboot loop",
            Class::Bricked => "bricked",
        }
    }

    /// `new`/`old`: the partitions the reference run booted at its end and at its start.
    pub fn of(a: &AfterCut, new: Option<&str>, old: Option<&str>) -> Class {
        if !a.prompt {
            return Class::Bricked;
        }
        if a.resets > 0 || !a.panics.is_empty() {
            return Class::Recovered;
        }
        match a.booted.as_deref() {
            b if b == new => Class::NewImage,
            b if b == old => Class::OldImage,
            Some("factory") => Class::Factory,
            // Another slot: the firmware rolled somewhere neither run booted.
            _ => Class::OldImage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(CutSpec::parse("2.5s").unwrap(), CutSpec::At(2_500_000_000_000));
        assert_eq!(CutSpec::parse("flash-op:7").unwrap(), CutSpec::Op { n: 7, after: None });
        assert_eq!(CutSpec::parse("flash-op:7+10us").unwrap(), CutSpec::Op { n: 7, after: Some(10_000_000) });
        assert!(CutSpec::parse("flash-op:0").is_err());
        assert!(CutSpec::parse("flash-op:x").is_err());
        assert!(CutSpec::parse("soon").is_err());
        let s = CutSpec::Op { n: 3, after: Some(1_234_000) };
        assert_eq!(CutSpec::parse(&s.arg()).unwrap(), s);
    }
}
