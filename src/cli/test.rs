//! `pyemu test SCENARIO.yaml…`: run scenarios (Wokwi's format plus pyemu's steps), a line
//! per step with its virtual time, JUnit XML for CI. Exit 0 when all pass, 1 on a failure,
//! 42 when a scenario's time limit passed (and none failed).

use super::run::{default_mac, fmt_time, open_flash, parse_duration, BuildOpts, Outcome};
use crate::repl::{Repl, Stopped};
use crate::scenario::{self, BootCheck, LedCheck, Level, Scenario, Step, StepKind};
use crate::session::{End, Session, Uart0Spec};
use anyhow::{bail, Context};
use clap::Args;
use images::board::Board;
use peripherals::gpio::Drive;
use peripherals::{HostInput, Machine, MachineConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Scenario files (YAML).
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Firmware for every scenario (overrides the scenario's `firmware`).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// Board (overrides the scenario's `board`; default: the board the firmware was built for).
    #[arg(long)]
    pub board: Option<String>,
    /// Flash state (overrides the scenario's `flash-state`; default: a fresh flash in memory).
    #[arg(long, value_name = "FILE")]
    pub flash_state: Option<PathBuf>,
    /// Config-block fields when the flash is created (overrides the scenario's `config`).
    #[arg(long, value_name = "SPEC")]
    pub config: Option<String>,
    /// Virtual-time limit per scenario (overrides the scenario's `timeout`; default 60s).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<u64>,
    /// Write a JUnit XML report (one testcase per scenario).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run this many scenarios at once.
    #[arg(short = 'j', long, default_value_t = 1)]
    pub jobs: usize,
    /// Write each scenario's UART0 output to DIR/<scenario file stem>.log.
    #[arg(long, value_name = "DIR")]
    pub serial_log_dir: Option<PathBuf>,
    /// Interpret ROM busy-waits instead of skipping them.
    #[arg(long)]
    pub no_fastpath: bool,
    /// Draw each scenario (boot phases, LED, pins over virtual time) to
    /// DIR/<scenario file stem>.svg (or .png with `--plot-format png`), e.g. beside the JUnit file.
    #[arg(long, value_name = "DIR")]
    pub plot_dir: Option<PathBuf>,
    /// `svg` (default) or `png`.
    #[arg(long, default_value = "svg", value_parser = ["svg", "png"])]
    pub plot_format: String,
    /// Give the board the timing a real one might have, drawn from SEED (see `pyemu run
    /// --timing-seed`; `pyemu campaign timing` prints one for each failing run).
    #[arg(long, value_name = "SEED")]
    pub timing_seed: Option<u64>,
    /// With `--timing-seed`: vary only these (xtal, slow, fill, app; default all).
    #[arg(long, value_name = "LIST", requires = "timing_seed", value_parser = super::run::parse_vary)]
    pub timing_vary: Option<peripherals::timing::Vary>,
}

impl TestArgs {
    /// `pyemu test FILES` with every other flag at its default.
    pub fn for_files(files: Vec<PathBuf>) -> TestArgs {
        TestArgs {
            scenarios: files,
            firmware: None,
            board: None,
            flash_state: None,
            config: None,
            timeout: None,
            junit: None,
            jobs: 1,
            serial_log_dir: None,
            no_fastpath: false,
            plot_dir: None,
            plot_format: "svg".into(),
            timing_seed: None,
            timing_vary: None,
        }
    }
}

/// How one scenario ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed,
    Failed,
    TimedOut,
}

pub struct Report {
    pub file: PathBuf,
    pub name: String,
    pub verdict: Verdict,
    /// The step that failed and why.
    pub message: Option<String>,
    /// Step lines, as printed.
    pub log: String,
    /// The last UART lines (for a failure).
    pub serial_tail: String,
    pub serial: Vec<u8>,
    pub wall_s: f64,
    pub virtual_s: f64,
    /// Wall time until the board was ready for the first step (flash built or snapshot
    /// restored, session up).
    pub start_s: f64,
    /// What to draw (with `--plot-dir`).
    pub timeline: Option<crate::plot::Timeline>,
    /// Firmware panics and watchdog resets the run saw, in order.
    pub panics: Vec<String>,
}

/// A step that did not pass: why, and whether it was the time limit.
struct Fail {
    msg: String,
    timeout: bool,
}

fn fail(msg: impl Into<String>) -> Fail {
    Fail { msg: msg.into(), timeout: false }
}

/// Picks the firmware, board and flash of a scenario (flags win).
pub(crate) struct Setup {
    /// None: the scenario starts from a snapshot.
    pub(crate) firmware: Option<PathBuf>,
    pub(crate) board: Board,
    pub(crate) flash_state: Option<PathBuf>,
    pub(crate) config: Option<String>,
    pub(crate) boot_info: Option<String>,
    pub(crate) timeout: u64,
}

pub(crate) fn setup(sc: &Scenario, a: &TestArgs, snap: Option<&crate::snapshot::Loaded>) -> anyhow::Result<Setup> {
    let firmware = a.firmware.clone().or(sc.firmware.clone());
    let firmware = match (firmware, snap) {
        (Some(f), _) => {
            if !f.is_file() {
                bail!("{}: firmware {}: no such file", sc.file.display(), f.display());
            }
            Some(f)
        }
        (None, Some(_)) => None,
        (None, None) => bail!("{}: no firmware (give `firmware:` in the scenario or --firmware)", sc.file.display()),
    };
    let board = match (a.board.clone().or(sc.board.clone()), snap) {
        (Some(b), Some(l)) => {
            let b = Board::by_id(&b)?;
            if b.id != l.board.id {
                bail!("{}: the scenario runs a {} but its snapshot is of a {}", sc.file.display(), b.id, l.board.id);
            }
            b
        }
        (b, None) => {
            let firmware = firmware.as_ref().expect("checked above");
            super::boards::for_firmware(b.as_deref(), firmware).map_err(|e| anyhow::anyhow!("{}: {e:#} (or give `board:`)", sc.file.display()))?
        }
        (None, Some(l)) => l.board,
    };
    Ok(Setup {
        firmware,
        board,
        flash_state: a.flash_state.clone().or(sc.flash_state.clone()),
        config: a.config.clone().or(sc.config.clone()),
        boot_info: sc.boot_info.clone(),
        timeout: a.timeout.or(sc.timeout_ps).unwrap_or(60_000_000_000_000),
    })
}

/// One scenario on its own board.
struct Runner<'a> {
    sc: &'a Scenario,
    s: Session,
    repl: Repl,
    deadline: u64,
    /// Panics already accounted for (reported or expected).
    panics_seen: usize,
    /// A `reset` button press (set-control) waiting for its release.
    en_pressed: bool,
    log: String,
    /// Virtual time the current step began.
    step_start: u64,
    /// What a `save-snapshot` records about the board.
    meta: crate::snapshot::Meta,
    meta_fastpath: bool,
    flash_state: Option<PathBuf>,
}

fn ps_of(d: Drive) -> &'static str {
    match d {
        Drive::High => "high",
        Drive::Low => "low",
        Drive::Float => "float",
    }
}

impl Runner<'_> {
    fn stopped(&self, what: &str, e: Stopped, step_deadline: u64) -> Fail {
        match e {
            Stopped::Timeout => Fail {
                msg: format!("{what}: not within {}", fmt_time(step_deadline.saturating_sub(self.step_start))),
                timeout: step_deadline >= self.deadline,
            },
            Stopped::Ended(End::Signal(sig)) => fail(format!("{what}: stopped by signal {sig}")),
            Stopped::Ended(End::Unmodelled(r)) => fail(format!("{what}: --strict: {r}")),
            Stopped::Ended(e) => fail(format!("{what}: the session ended ({e:?})")),
        }
    }

    /// Runs virtual time to `until` (a step deadline), failing on a panic nobody expects.
    fn run_to(&mut self, until: u64) -> Result<(), Fail> {
        match self.s.run_until(until) {
            Ok(End::Deadline) => Ok(()),
            Ok(e) => Err(self.stopped("running", Stopped::Ended(e), until)),
            Err(e) => Err(fail(format!("{e:#}"))),
        }
    }

    fn check_panics(&mut self) -> Result<(), Fail> {
        if self.sc.allow_panic {
            self.panics_seen = self.s.panics.len();
            return Ok(());
        }
        if let Some((t, p)) = self.s.panics.get(self.panics_seen) {
            let msg = format!("firmware panic at {}: {p}", fmt_time(*t));
            self.panics_seen = self.s.panics.len();
            return Err(fail(msg));
        }
        Ok(())
    }

    /// Runs code through the raw REPL (interrupting whatever runs), back to `>>> ` after.
    fn raw_exec(&mut self, code: &[u8], until: u64, what: &str) -> Result<crate::repl::ExecOutput, Fail> {
        let r = self.repl.enter_raw(&mut self.s, until).map_err(|e| fail(format!("{e:#}")))?;
        if let Err(e) = r {
            return Err(self.stopped(&format!("{what}: entering the raw REPL"), e, until));
        }
        let out = match self.repl.exec_raw(&mut self.s, code, until, |_| {}).map_err(|e| fail(format!("{e:#}")))? {
            Ok(o) => o,
            Err(e) => return Err(self.stopped(what, e, until)),
        };
        self.repl.exit_raw(&mut self.s);
        if let Err(e) = self.repl.wait_for(&mut self.s, b">>> ", until, |_| {}).map_err(|e| fail(format!("{e:#}")))? {
            return Err(self.stopped(&format!("{what}: leaving the raw REPL"), e, until));
        }
        Ok(out)
    }

    fn led_color_now(&self) -> u32 {
        self.s.m.led.color()
    }

    fn step(&mut self, st: &Step, until: u64) -> Result<String, Fail> {
        let now = self.s.m.now_ps;
        match &st.kind {
            StepKind::Delay(d) => {
                let to = now + d;
                if to > self.deadline {
                    self.run_to(self.deadline)?;
                    return Err(Fail { msg: "the scenario's time limit passed during the delay".into(), timeout: true });
                }
                self.run_to(to)?;
                Ok(String::new())
            }
            StepKind::WaitSerial(t) => {
                match self.repl.wait_for(&mut self.s, t.as_bytes(), until, |_| {}).map_err(|e| fail(format!("{e:#}")))? {
                    Ok(_) => Ok(String::new()),
                    Err(e) => Err(self.stopped(&format!("{:?} not seen", t), e, until)),
                }
            }
            StepKind::WaitSerialRegex(r) => {
                let re = regex::bytes::Regex::new(r).map_err(|e| fail(e.to_string()))?;
                loop {
                    if let Some(m) = re.find(&self.s.output[self.repl.cursor..]) {
                        let at = self.repl.cursor + m.end();
                        let text = String::from_utf8_lossy(m.as_bytes()).to_string();
                        self.repl.cursor = at;
                        return Ok(format!("matched {text:?}"));
                    }
                    if self.s.m.now_ps >= until {
                        return Err(self.stopped(&format!("/{r}/ not seen"), Stopped::Timeout, until));
                    }
                    let next = (self.s.m.now_ps + self.s.step_ps()).min(until);
                    self.run_to(next)?;
                }
            }
            StepKind::WriteSerial(b) => {
                self.s.send(b);
                Ok(String::new())
            }
            StepKind::Drive { gpio, level, for_ps, .. } => {
                let d = match level {
                    Level::High => Drive::High,
                    Level::Low => Drive::Low,
                    Level::Float => Drive::Float,
                };
                self.s.m.set_drive(*gpio, d);
                if let Some(f) = for_ps {
                    self.s.m.schedule_drive(now + f, *gpio, Drive::Float);
                }
                Ok(format!("GPIO{gpio} {}", ps_of(d)))
            }
            StepKind::ResetButton(pressed) => {
                if *pressed {
                    self.en_pressed = true;
                } else if self.en_pressed {
                    self.en_pressed = false;
                    // Through the input queue, so the run's input log (campaign replays,
                    // `--record`) holds it.
                    self.s.m.schedule_input(self.s.m.now_ps, HostInput::Reset);
                }
                Ok(String::new())
            }
            StepKind::ExpectPin { gpio, value, .. } => {
                let l = self.s.m.pin_level(*gpio);
                if l != *value {
                    return Err(fail(format!("GPIO{gpio} expected to be {} but was {}", *value as u8, l as u8)));
                }
                Ok(String::new())
            }
            StepKind::WaitPin { gpio, value, .. } => loop {
                if self.s.m.pin_level(*gpio) == *value {
                    return Ok(String::new());
                }
                if self.s.m.now_ps >= until {
                    return Err(self.stopped(&format!("GPIO{gpio} did not become {}", *value as u8), Stopped::Timeout, until));
                }
                // Pins are sampled every 100 µs of virtual time.
                let next = (self.s.m.now_ps + 100_000_000).min(until);
                self.run_to(next)?;
            },
            StepKind::Reset => {
                self.s.m.schedule_input(self.s.m.now_ps, HostInput::Reset);
                Ok(String::new())
            }
            StepKind::PowerCycle { off_ps } => {
                self.s.power_cycle(*off_ps).map_err(|e| fail(format!("{e:#}")))?;
                Ok(String::new())
            }
            StepKind::ExpectLed(LedCheck::Color(c)) => {
                let now_c = self.led_color_now();
                if now_c != *c {
                    return Err(fail(format!("LED expected #{c:06x} but is #{now_c:06x}")));
                }
                Ok(String::new())
            }
            StepKind::ExpectLed(LedCheck::Blink { period_ps, tolerance_ps, color }) => {
                // Collect three switch-ons after now and check the two periods between them.
                let from = self.s.m.led.frames.len();
                let on = |rgb: u32| match color {
                    Some(c) => rgb == *c,
                    None => rgb != 0,
                };
                loop {
                    let frames = &self.s.m.led.frames[from.saturating_sub(1)..];
                    let mut ons = Vec::new();
                    for w in frames.windows(2) {
                        if !on(w[0].rgb) && on(w[1].rgb) {
                            ons.push(w[1].t_ps);
                        }
                    }
                    if ons.len() >= 3 {
                        let periods: Vec<u64> = ons.windows(2).map(|w| w[1] - w[0]).collect();
                        for p in &periods {
                            if p.abs_diff(*period_ps) > *tolerance_ps {
                                return Err(fail(format!(
                                    "LED blinks every {} (expected {} ± {})",
                                    fmt_time(*p),
                                    fmt_time(*period_ps),
                                    fmt_time(*tolerance_ps)
                                )));
                            }
                        }
                        return Ok(format!("periods {}", periods.iter().map(|p| fmt_time(*p)).collect::<Vec<_>>().join(", ")));
                    }
                    if self.s.m.now_ps >= until {
                        return Err(self.stopped(&format!("LED did not blink 3 times (saw {})", ons.len()), Stopped::Timeout, until));
                    }
                    let next = (self.s.m.now_ps + self.s.step_ps()).min(until);
                    self.run_to(next)?;
                }
            }
            StepKind::WaitLed(c) => loop {
                if self.led_color_now() == *c {
                    return Ok(String::new());
                }
                if self.s.m.now_ps >= until {
                    let now_c = self.led_color_now();
                    return Err(self.stopped(&format!("LED did not turn #{c:06x} (is #{now_c:06x})"), Stopped::Timeout, until));
                }
                let next = (self.s.m.now_ps + self.s.step_ps()).min(until);
                self.run_to(next)?;
            },
            StepKind::ExpectBoot(b) => self.expect_boot(b),
            StepKind::PutFile { path, data } => {
                let code = put_file_code(path, data);
                let out = self.raw_exec(code.as_bytes(), until, "put-file")?;
                if out.failed() {
                    return Err(fail(format!("put-file {path}: {}", String::from_utf8_lossy(&out.err).trim())));
                }
                Ok(String::new())
            }
            StepKind::ExpectFile { path, content, contains } => {
                let code = format!("import ubinascii\nf=open({path:?},'rb')\nprint(ubinascii.hexlify(f.read()).decode())\nf.close()\n");
                let out = self.raw_exec(code.as_bytes(), until, "expect-file")?;
                if out.failed() {
                    return Err(fail(format!("expect-file {path}: {}", String::from_utf8_lossy(&out.err).trim())));
                }
                let hex = String::from_utf8_lossy(&out.out).trim().to_string();
                let bytes: Vec<u8> = (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
                let text = String::from_utf8_lossy(&bytes);
                if let Some(c) = content {
                    if text != *c {
                        return Err(fail(format!("{path} holds {text:?}, expected {c:?}")));
                    }
                }
                if let Some(c) = contains {
                    if !text.contains(c.as_str()) {
                        return Err(fail(format!("{path} holds {text:?}, which does not contain {c:?}")));
                    }
                }
                Ok(format!("{} bytes", bytes.len()))
            }
            StepKind::Exec { code, expect, contains, expect_error } => {
                let out = self.raw_exec(code.as_bytes(), until, "exec")?;
                let text = String::from_utf8_lossy(&out.out).replace("\r\n", "\n");
                let err = String::from_utf8_lossy(&out.err).replace("\r\n", "\n");
                match expect_error {
                    Some(want) if !err.contains(want.as_str()) => {
                        return Err(fail(format!("exec: expected an error containing {want:?}, got {:?}", err.trim())));
                    }
                    Some(_) => {}
                    None if out.failed() => return Err(fail(format!("exec raised:\n{}", err.trim_end()))),
                    None => {}
                }
                if let Some(want) = expect {
                    if text.trim_end() != want.trim_end() {
                        return Err(fail(format!("exec printed {:?}, expected {:?}", text.trim_end(), want.trim_end())));
                    }
                }
                if let Some(want) = contains {
                    if !text.contains(want.as_str()) {
                        return Err(fail(format!("exec printed {:?}, which does not contain {want:?}", text.trim_end())));
                    }
                }
                Ok(if text.is_empty() { String::new() } else { format!("printed {:?}", text.trim_end()) })
            }
            StepKind::Ota { image, flip_byte } => self.ota(image, *flip_byte, until),
            StepKind::ExpectPanic(text) => loop {
                if let Some(i) = self.s.panics[self.panics_seen..].iter().position(|(_, p)| text.as_ref().is_none_or(|t| p.contains(t.as_str()))) {
                    let (t, p) = self.s.panics[self.panics_seen + i].clone();
                    self.panics_seen = self.s.panics.len();
                    return Ok(format!("{p} at {}", fmt_time(t)));
                }
                if self.s.m.now_ps >= until {
                    return Err(self.stopped("no firmware panic", Stopped::Timeout, until));
                }
                let next = (self.s.m.now_ps + self.s.step_ps()).min(until);
                // A panic is what this step waits for: run without the panic check.
                match self.s.run_until(next) {
                    Ok(End::Deadline) => {}
                    Ok(e) => return Err(self.stopped("running", Stopped::Ended(e), until)),
                    Err(e) => return Err(fail(format!("{e:#}"))),
                }
            },
            StepKind::SaveSnapshot(path) => {
                let meta = crate::snapshot::Meta { taken: format!("{} line {}", self.sc.file.display(), st.line), ..self.meta.clone() };
                let n = crate::snapshot::save(&self.s.m, path, &meta).map_err(|e| fail(format!("{e:#}")))?;
                Ok(format!("{} KiB", n.div_ceil(1024)))
            }
            StepKind::RestoreSnapshot(path) => {
                let l = crate::snapshot::load(path).map_err(|e| fail(format!("{e:#}")))?;
                if l.board.id != self.meta.board {
                    return Err(fail(format!("{} is a snapshot of a {}, this scenario runs a {}", path.display(), l.board.id, self.meta.board)));
                }
                self.s.replace_machine(l.m).map_err(|e| fail(format!("{e:#}")))?;
                // The snapshot's flash becomes the board's, in the flash state if there is one.
                if let Some(p) = &self.flash_state {
                    let flash = self.s.m.replace_flash(peripherals::flash::Flash::new_in_memory(0));
                    self.s.m.replace_flash(flash.into_file(p).map_err(|e| fail(format!("{}: {e}", p.display())))?);
                }
                self.s.m.set_fastpath(self.meta_fastpath);
                self.panics_seen = self.s.panics.len();
                self.en_pressed = false;
                self.repl = Repl::from_now(&self.s);
                // The scenario's time limit counts on from here.
                let left = self.deadline.saturating_sub(now);
                self.deadline = self.s.m.now_ps.saturating_add(left);
                Ok(format!("at {}", fmt_time(self.s.m.now_ps)))
            }
        }
    }

    fn expect_boot(&mut self, b: &BootCheck) -> Result<String, Fail> {
        let o = Outcome::of(&self.s.m, None, 0);
        let rec = o.boot_record_after.as_ref();
        let mut bad = Vec::new();
        if let Some(m) = &b.mode {
            if o.boot_mode != m {
                bad.push(format!("mode is {} (expected {m})", o.boot_mode));
            }
        }
        if let Some(i) = &b.image {
            if o.booted_image.as_deref() != Some(i.as_str()) {
                bad.push(format!("booted image is {} (expected {i})", o.booted_image.as_deref().unwrap_or("none")));
            }
        }
        let field = |f: &dyn Fn(&images::boot_info::BootRecord) -> String| rec.filter(|r| r.valid).map(f);
        if let Some(a) = &b.active {
            let got = field(&|r| r.active.to_string());
            if got.as_deref() != Some(a.as_str()) {
                bad.push(format!("boot record active is {} (expected {a})", got.unwrap_or("invalid".into())));
            }
        }
        if let Some(s) = &b.status {
            let got = field(&|r| r.status.to_string());
            if got.as_deref().map(|g| g.eq_ignore_ascii_case(s)) != Some(true) {
                bad.push(format!("boot record status is {} (expected {s})", got.unwrap_or("invalid".into())));
            }
        }
        if let Some(sb) = b.safeboot {
            let got = rec.filter(|r| r.valid).map(|r| r.info.safeboot);
            if got != Some(sb as _) {
                bad.push(format!("safeboot is {got:?} (expected {sb})"));
            }
        }
        if !bad.is_empty() {
            return Err(fail(bad.join("; ")));
        }
        Ok(format!("{} {}", o.boot_mode, o.booted_image.unwrap_or_default()))
    }

    /// Pushes an app image through the firmware's own OTA API over the raw REPL, with the
    /// guest's UART0 at 921600 baud for the transfer (set and restored by the firmware's own
    /// `machine.UART`), as a fast serial link would.
    fn ota(&mut self, image: &Path, flip_byte: Option<usize>, until: u64) -> Result<String, Fail> {
        use base64::Engine;
        let raw = std::fs::read(image).map_err(|e| fail(format!("ota: {}: {e}", image.display())))?;
        // A whole update bundle sends the application it carries, as Pycom's updater would.
        let data = if images::detect::detect(&raw) == images::detect::FileKind::Bundle {
            let b = images::bundle::Bundle::from_bytes(&raw).map_err(|e| fail(format!("ota: {}: {e}", image.display())))?;
            let (name, app) = b.app_image().map_err(|e| fail(format!("ota: {}: {e}", image.display())))?;
            self.log.push_str(&format!("    ota: sending {name} ({} bytes) from {}\n", app.len(), image.display()));
            app.to_vec()
        } else {
            raw
        };
        let mut data = data;
        if let Some(n) = flip_byte {
            let len = data.len();
            let b = data.get_mut(n).ok_or_else(|| fail(format!("ota: flip-byte {n:#x} is past the end of the image ({len:#x} bytes)")))?;
            *b ^= 0xFF;
        }
        // The firmware takes any bytes; say which check of the image the bootloader will fail.
        match images::app_image::AppImage::parse(&data) {
            Err(e) => self.log.push_str(&format!("    note: {} is not a valid app image ({e}); the firmware decides\n", image.display())),
            Ok(img) => {
                for c in img.checks.iter().filter(|c| !c.ok) {
                    self.log.push_str(&format!("    note: image check {} fails at {:#x}: {}; the bootloader will refuse it\n", c.name, c.offset, c.detail));
                }
            }
        }
        if let Some(n) = overrun_note(self.s.m.flash().data(), self.s.m.boot_record().as_ref(), data.len()) {
            self.log.push_str(&format!("    note: {n}\n"));
        }
        let t0 = Instant::now();
        let v0 = self.s.m.now_ps;
        let r = self.repl.enter_raw(&mut self.s, until).map_err(|e| fail(format!("{e:#}")))?;
        if let Err(e) = r {
            return Err(self.stopped("ota: entering the raw REPL", e, until));
        }
        let run = |me: &mut Self, code: String, what: &str| -> Result<(), Fail> {
            match me.repl.exec_raw(&mut me.s, code.as_bytes(), until, |_| {}).map_err(|e| fail(format!("{e:#}")))? {
                Ok(o) if o.failed() => Err(fail(format!("{what}: {}", String::from_utf8_lossy(&o.err).trim()))),
                Ok(_) => Ok(()),
                Err(e) => Err(me.stopped(what, e, until)),
            }
        };
        run(self, "import pycom, ubinascii, machine\nmachine.UART(0, 921600)\npycom.ota_start()\n".into(), "pycom.ota_start()")?;
        for chunk in data.chunks(4096) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(chunk);
            run(self, format!("pycom.ota_write(ubinascii.a2b_base64('{b64}'))\n"), "pycom.ota_write()")?;
        }
        let finish = run(self, "pycom.ota_finish()\n".into(), "pycom.ota_finish()");
        let restore = run(self, "machine.UART(0, 115200)\n".into(), "restoring UART0");
        self.repl.exit_raw(&mut self.s);
        finish?;
        restore?;
        if let Err(e) = self.repl.wait_for(&mut self.s, b">>> ", until, |_| {}).map_err(|e| fail(format!("{e:#}")))? {
            return Err(self.stopped("ota: leaving the raw REPL", e, until));
        }
        Ok(format!(
            "{} bytes in {} virtual, {:.1} s wall",
            data.len(),
            fmt_time(self.s.m.now_ps - v0),
            t0.elapsed().as_secs_f64()
        ))
    }
}

/// The slot `pycom.ota_start()` writes (pycom-firmware.md §7, `updater_ota_next_slot_address`):
/// the pending image's own slot while the record says CHECK, else the other of factory and
/// ota_0; an invalid record reads as factory, READY.
fn ota_slot<'t>(table: &'t images::partition::PartitionTable, rec: Option<&images::boot_info::BootRecord>) -> Option<&'t images::partition::Partition> {
    use images::boot_info::{IMG_FACTORY, STATUS_CHECK};
    let (active, status) = rec.filter(|r| r.valid).map_or((IMG_FACTORY, 1), |r| (r.info.active_img, r.info.status));
    let factory = if status == STATUS_CHECK { active == IMG_FACTORY } else { active != IMG_FACTORY };
    let name = if factory { "factory" } else { "ota_0" };
    table.partitions.iter().find(|p| p.is_app() && p.subtype_name() == name)
}

/// For an image larger than the slot the firmware will write it to: what it runs into. Pycom's
/// updater never checks the size (`IMG_SIZE_*` are recorded, not bounds), so the rest of the
/// image lands on whatever follows the slot.
fn overrun_note(flash: &[u8], rec: Option<&images::boot_info::BootRecord>, len: usize) -> Option<String> {
    let table = images::partition::PartitionTable::parse(flash.get(0x8000..0x8C00)?).ok()?;
    let slot = ota_slot(&table, rec)?;
    if len as u64 <= slot.size as u64 {
        return None;
    }
    let end = slot.offset as u64 + len as u64;
    let hit: Vec<String> = table
        .partitions
        .iter()
        .filter(|p| p.offset as u64 >= slot.end() && (p.offset as u64) < end)
        .map(|p| format!("{} at {:#x}", p.label, p.offset))
        .collect();
    let into = if hit.is_empty() { format!("the flash after it, up to {end:#x}") } else { hit.join(", ") };
    Some(format!(
        "the image is {len} bytes and {} ({:#x}) holds {}: Pycom's updater does not check, so the last {} bytes will overwrite {into}",
        slot.label,
        slot.offset,
        slot.size,
        len as u64 - slot.size as u64
    ))
}

/// MicroPython that writes `data` to `path` (hex-encoded, so any bytes survive the REPL).
fn put_file_code(path: &str, data: &[u8]) -> String {
    let mut code = format!("import ubinascii\nf=open({path:?},'wb')\n");
    for chunk in data.chunks(512) {
        let hex: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
        code.push_str(&format!("f.write(ubinascii.unhexlify('{hex}'))\n"));
    }
    code.push_str("f.close()\n");
    code
}

/// Runs one scenario to its end.
pub fn run_one(sc: &Scenario, a: &TestArgs) -> Report {
    run_one_observed(sc, a, None)
}

/// Runs one scenario to its end, `observer` seeing the machine before power-on and after
/// every host step.
pub fn run_one_observed(sc: &Scenario, a: &TestArgs, mut observer: Option<crate::session::Observer>) -> Report {
    let wall = Instant::now();
    let mut report = Report {
        file: sc.file.clone(),
        name: sc.name.clone(),
        verdict: Verdict::Failed,
        message: None,
        log: String::new(),
        serial_tail: String::new(),
        serial: Vec::new(),
        wall_s: 0.0,
        virtual_s: 0.0,
        start_s: 0.0,
        timeline: None,
        panics: Vec::new(),
    };
    let mut start_s = 0.0;
    let res = (|| -> anyhow::Result<(Session, String, Option<Fail>)> {
        let snap = sc.snapshot.as_deref().map(crate::snapshot::load).transpose()?;
        let su = setup(sc, a, snap.as_ref())?;
        let board = su.board;
        let fast = !a.no_fastpath;
        let (m, lock, notes, meta) = match (snap, &su.firmware) {
            (Some(mut l), _) => {
                if a.timing_seed.is_some() {
                    bail!("--timing-seed: {} starts from a snapshot, which keeps the timing of the run that took it", sc.file.display());
                }
                let (lock, notes) = l.attach_state(su.flash_state.as_deref(), sc.snapshot.as_deref().expect("a snapshot"))?;
                let crate::snapshot::Loaded { mut m, meta, .. } = l;
                m.set_fastpath(fast);
                (m, lock, notes, meta)
            }
            (None, Some(firmware)) => {
                let (flash, lock, notes) =
                    open_flash(firmware, &board, su.flash_state.as_deref(), &BuildOpts { config: su.config.as_deref(), boot_info: su.boot_info.as_deref(), bootloader: None }, false, None)?;
                let mac = default_mac(&board);
                let timing = super::run::timing_of(a.timing_seed, a.timing_vary);
                let cfg = MachineConfig { seed: 0x5EED, timing, ..MachineConfig::for_board(&board, mac) };
                let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
                m.set_fastpath(fast);
                let mut notes = notes;
                if let Some(seed) = a.timing_seed {
                    notes.push(format!("timing seed {seed}: {}", timing.describe()));
                }
                (m, lock, notes, crate::snapshot::Meta::new(&board, mac, Some(firmware), String::new()))
            }
            (None, None) => unreachable!("setup() requires a firmware or a snapshot"),
        };
        let (mac, timing) = (meta.mac, m.timing());
        let make = move |flash: peripherals::flash::Flash| -> anyhow::Result<Machine> {
            let cfg = MachineConfig { seed: 0x5EED, timing, ..MachineConfig::for_board(&board, mac) };
            let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
            m.set_fastpath(fast);
            Ok(m)
        };
        let resumed = sc.snapshot.is_some();
        let mut s = Session::new(m, Uart0Spec::Script.open()?)?;
        s.set_rebuild(make);
        if a.plot_dir.is_some() {
            s.m.record_pins = true;
            s.track_boot();
        }
        if resumed {
            s.resumed();
        } else {
            s.m.power_on();
        }
        if let Some(mut o) = observer.take() {
            o(&mut s.m);
            s.observer = Some(o);
        }
        let start = s.m.now_ps;
        let mut r = Runner {
            sc,
            s,
            repl: Repl::new(),
            deadline: start.saturating_add(su.timeout),
            panics_seen: 0,
            en_pressed: false,
            log: String::new(),
            step_start: start,
            meta,
            meta_fastpath: fast,
            flash_state: su.flash_state.clone(),
        };
        for n in notes {
            r.log.push_str(&format!("    note: {n}\n"));
        }
        start_s = wall.elapsed().as_secs_f64();
        let mut failure = None;
        for (i, st) in sc.steps.iter().enumerate() {
            r.step_start = r.s.m.now_ps;
            let until = st.timeout_ps.map(|t| r.s.m.now_ps + t).unwrap_or(u64::MAX).min(r.deadline);
            let what = format!("#{} {}{}", i + 1, st.kind.describe(), st.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default());
            let res = r.step(st, until).and_then(|d| {
                if !matches!(st.kind, StepKind::ExpectPanic(_)) {
                    r.check_panics()?;
                }
                Ok(d)
            });
            let t = fmt_time(r.s.m.now_ps);
            match res {
                Ok(detail) => {
                    r.log.push_str(&format!("[{}] {t:>14}  {what} ✓{}\n", sc.name, if detail.is_empty() { String::new() } else { format!("  {detail}") }));
                }
                Err(mut f) => {
                    // A step that timed out or failed after the firmware panicked: the panic
                    // is usually why, so say it.
                    if !sc.allow_panic && !matches!(st.kind, StepKind::ExpectPanic(_)) {
                        if let Some((pt, p)) = r.s.panics.get(r.panics_seen) {
                            f.msg += &format!(" (after a firmware panic at {}: {p})", fmt_time(*pt));
                        }
                    }
                    r.log.push_str(&format!("[{}] {t:>14}  {what} ✗  {}\n", sc.name, f.msg));
                    failure = Some(Fail { msg: format!("step {} (line {}) {}: {}", i + 1, st.line, st.kind.describe(), f.msg), timeout: f.timeout });
                    break;
                }
            }
        }
        drop(lock);
        let log = std::mem::take(&mut r.log);
        r.s.flush()?;
        Ok((r.s, log, failure))
    })();
    match res {
        Ok((s, log, failure)) => {
            if a.plot_dir.is_some() {
                report.timeline = Some(crate::plot::Timeline::of(&s.m, &s.events));
            }
            report.log = log;
            report.panics = s.panics.iter().map(|(_, p)| p.clone()).collect();
            report.virtual_s = peripherals::time::ps_to_secs(s.m.now_ps);
            let text = String::from_utf8_lossy(&s.output).to_string();
            let lines: Vec<&str> = text.lines().collect();
            report.serial_tail = lines[lines.len().saturating_sub(20)..].join("\n");
            report.serial = s.output;
            match failure {
                None => report.verdict = Verdict::Passed,
                Some(f) => {
                    report.verdict = if f.timeout { Verdict::TimedOut } else { Verdict::Failed };
                    report.message = Some(f.msg);
                }
            }
        }
        Err(e) => {
            report.message = Some(format!("{e:#}"));
            report.log = format!("[{}] setup failed: {e:#}\n", sc.name);
        }
    }
    report.wall_s = wall.elapsed().as_secs_f64();
    report.start_s = start_s;
    report
}

fn junit(reports: &[Report], path: &Path) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut r = JReport::new("pyemu");
    let mut suite = TestSuite::new("pyemu scenarios");
    for rep in reports {
        let status = match rep.verdict {
            Verdict::Passed => TestCaseStatus::success(),
            _ => {
                let mut st = TestCaseStatus::non_success(if rep.verdict == Verdict::TimedOut { NonSuccessKind::Error } else { NonSuccessKind::Failure });
                st.set_message(rep.message.clone().unwrap_or_default());
                st.set_type(if rep.verdict == Verdict::TimedOut { "timeout" } else { "failure" });
                st.set_description(format!("{}\n--- last serial lines\n{}", rep.message.clone().unwrap_or_default(), rep.serial_tail));
                st
            }
        };
        let mut tc = TestCase::new(rep.name.clone(), status);
        tc.set_classname(rep.file.display().to_string());
        tc.set_time(std::time::Duration::from_secs_f64(rep.wall_s));
        tc.set_system_out(rep.log.clone());
        suite.add_test_case(tc);
    }
    r.add_test_suite(suite);
    let xml = r.to_string().context("building the JUnit report")?;
    crate::state::write_atomic(path, xml.as_bytes()).with_context(|| format!("--junit {}", path.display()))
}

pub fn run(a: TestArgs) -> anyhow::Result<ExitCode> {
    // Every scenario is read and checked before any runs.
    let mut scenarios = Vec::new();
    for f in &a.scenarios {
        scenarios.push(scenario::load(f)?);
    }
    if let Some(j) = &a.junit {
        crate::session::OutFile::create(j, "--junit")?;
    }
    if let Some(d) = &a.serial_log_dir {
        std::fs::create_dir_all(d).with_context(|| format!("--serial-log-dir {}", d.display()))?;
    }
    if let Some(d) = &a.plot_dir {
        std::fs::create_dir_all(d).with_context(|| format!("--plot-dir {}", d.display()))?;
    }
    crate::session::install_signal_handlers()?;
    let jobs = a.jobs.max(1);
    let mut reports: Vec<Option<Report>> = (0..scenarios.len()).map(|_| None).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..jobs.min(scenarios.len()) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(s) = scenarios.get(i) else { break };
                let rep = run_one(s, &a);
                // Print each scenario's lines together as it finishes.
                print!("{}", rep.log);
                match rep.verdict {
                    Verdict::Passed => println!("[{}] passed ({} virtual, {:.2} s wall)", rep.name, fmt_time(peripherals::time::secs_to_ps(rep.virtual_s)), rep.wall_s),
                    _ => println!("[{}] {}: {}", rep.name, if rep.verdict == Verdict::TimedOut { "TIMED OUT" } else { "FAILED" }, rep.message.as_deref().unwrap_or("")),
                }
                done.lock().unwrap().push((i, rep));
            });
        }
    });
    for (i, r) in done.into_inner().unwrap() {
        reports[i] = Some(r);
    }
    let reports: Vec<Report> = reports.into_iter().flatten().collect();
    if let Some(d) = &a.serial_log_dir {
        for r in &reports {
            let stem = r.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "scenario".into());
            std::fs::write(d.join(format!("{stem}.log")), &r.serial).with_context(|| format!("--serial-log-dir {}", d.display()))?;
        }
    }
    if let Some(d) = &a.plot_dir {
        for r in &reports {
            let Some(t) = &r.timeline else { continue };
            let stem = r.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "scenario".into());
            let path = d.join(format!("{stem}.{}", a.plot_format));
            let verdict = match r.verdict {
                Verdict::Passed => "passed",
                Verdict::Failed => "FAILED",
                Verdict::TimedOut => "TIMED OUT",
            };
            crate::plot::write(t, &format!("{} — {verdict}", r.name), &path).with_context(|| format!("--plot-dir {}", d.display()))?;
        }
    }
    if let Some(j) = &a.junit {
        junit(&reports, j)?;
    }
    let failed = reports.iter().filter(|r| r.verdict == Verdict::Failed).count();
    let timed_out = reports.iter().filter(|r| r.verdict == Verdict::TimedOut).count();
    println!("{} scenario(s): {} passed, {failed} failed, {timed_out} timed out", reports.len(), reports.len() - failed - timed_out);
    Ok(ExitCode::from(if failed > 0 {
        1
    } else if timed_out > 0 {
        42
    } else {
        0
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use images::flash::{pycom_table, Layout, OTADATA_PYCOM};

    fn flash(layout: Layout) -> Vec<u8> {
        let mut f = vec![0xFF; 0x9000];
        let t = pycom_table(layout, OTADATA_PYCOM);
        f[0x8000..0x8000 + t.len()].copy_from_slice(&t);
        f
    }

    #[test]
    fn an_oversized_ota_image_names_what_it_overwrites() {
        // Erased record: factory runs, the OTA goes to ota_0 (0x1EF000 bytes on 8 MB), whose
        // end is the config block.
        let f = flash(Layout::EightMb);
        assert_eq!(overrun_note(&f, None, 0x1EF000), None);
        let n = overrun_note(&f, None, 0x1EF000 + 10).unwrap();
        assert!(n.contains("ota_0 (0x210000)") && n.contains("last 10 bytes") && n.contains("config at 0x3ff000"), "{n}");
        // A pending OTA in ota_0 (CHECK) is written again in place; once ota_0 runs (READY),
        // the next one goes to factory, which the 8 MB otadata follows.
        let rec = |active, status| {
            let info = images::boot_info::BootInfo { active_img: active, status, ..Default::default() };
            images::boot_info::BootInfo::read(&info.to_bytes()).unwrap()
        };
        assert!(overrun_note(&f, Some(&rec(1, 0)), 0x200000).unwrap().contains("ota_0"));
        let n = overrun_note(&f, Some(&rec(1, 1)), 0x1EF000 + 0x1000).unwrap();
        assert!(n.contains("factory (0x10000)") && n.contains("otadata at 0x1ff000"), "{n}");
        // 4 MB: ota_0 runs into the dummy partition.
        assert!(overrun_note(&flash(Layout::FourMb), None, 0x1B0000).unwrap().contains("dummy at 0x36e000"));
    }
}
