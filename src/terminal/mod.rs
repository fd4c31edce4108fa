//! `pyemu run` on a terminal: the board's serial console in your shell, as `picocom` or
//! `mpremote repl` give it on a real board, with its LED and buttons in reach.
//!
//! A front end on the session layer like the scenario runner: it runs the `Session` in short
//! slices of virtual time, shows what UART0 sent, sends the keys (raw, as the terminal sends
//! them: Ctrl-C, arrows, Tab and pastes reach the REPL byte for byte), draws the status line
//! and carries out the escape menu's actions on the machine. Pacing, watches, the serial log,
//! signals and recording stay the session's.

pub mod menu;
pub mod raw;
pub mod status;

use crate::session::{fmt_time, BootState, End, Session};
use menu::{Action, Event, Keys, PinAct};
use peripherals::gpio::Drive;
use status::{Facts, StatusLine, StreamState};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Virtual time per slice: the longest a key waits for the next look at the keyboard (at
/// real-time pacing, also wall time).
const SLICE_PS: u64 = 5_000_000_000;

pub struct Options {
    /// The menu key (Ctrl-] by default); `None`: no menu.
    pub escape: Option<u8>,
    /// A status line if the terminal can keep one.
    pub status: bool,
    /// What a snapshot saved from the menu says about the session (board, firmware, MAC).
    pub snapshot_meta: crate::snapshot::Meta,
}

/// True when both standard input and output are terminals.
pub fn is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Reads the keyboard on a thread (raw bytes, as they come).
fn spawn_keys() -> Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(64);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Virtual over wall time over the last couple of seconds.
struct SpeedMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl SpeedMeter {
    fn sample(&mut self, now_ps: u64) -> Option<f64> {
        let t = Instant::now();
        if self.samples.back().is_none_or(|(w, _)| t.duration_since(*w) >= Duration::from_millis(50)) {
            self.samples.push_back((t, now_ps));
        }
        while self.samples.len() > 2 && t.duration_since(self.samples[0].0) > Duration::from_secs(2) {
            self.samples.pop_front();
        }
        let (w0, v0) = *self.samples.front()?;
        let (w1, v1) = *self.samples.back()?;
        let dw = w1.duration_since(w0).as_secs_f64();
        (dw >= 0.5).then(|| peripherals::time::ps_to_secs(v1.saturating_sub(v0)) / dw)
    }
}

struct Front<'a> {
    s: &'a mut Session,
    status: StatusLine,
    stream: StreamState,
    keys: Keys,
    /// Pads the menu drives for a while: (gpio, release time).
    releases: Vec<(u8, u64)>,
    speed: SpeedMeter,
    last_speed: Option<f64>,
    escape_name: String,
    meta: crate::snapshot::Meta,
}

/// Runs the session on the terminal until `deadline_ps`, the menu's quit, or whatever else
/// ends it. The terminal is back in its own mode when this returns, however it returns.
pub fn run(s: &mut Session, o: &Options, deadline_ps: u64) -> anyhow::Result<End> {
    let raw = raw::RawTerminal::enter()?;
    let mut stdout = std::io::stdout();
    let status = StatusLine::new(o.status && status::supported());
    let keys_rx = spawn_keys();
    s.set_step_ps(SLICE_PS);
    let mut f = Front {
        s,
        status,
        stream: StreamState::default(),
        keys: Keys::new(o.escape),
        releases: Vec::new(),
        speed: SpeedMeter { samples: VecDeque::new() },
        last_speed: None,
        escape_name: o.escape.map(menu::key_name).unwrap_or_else(|| "no".into()),
        meta: o.snapshot_meta.clone(),
    };
    let ended = f.run(&keys_rx, deadline_ps, &mut stdout);
    let _ = f.status.close(&mut stdout);
    drop(raw);
    // The summary starts on a line of its own, wherever the REPL left the cursor.
    let _ = stdout.write_all(b"\r\n").and_then(|_| stdout.flush());
    ended
}

impl Front<'_> {
    fn run(&mut self, keys: &Receiver<Vec<u8>>, deadline_ps: u64, out: &mut std::io::Stdout) -> anyhow::Result<End> {
        loop {
            let target = (self.s.m.now_ps + SLICE_PS).min(deadline_ps);
            let end = self.s.run_until(target)?;
            let bytes = self.s.take_output();
            if !bytes.is_empty() {
                let written = self.status.erase(out).and_then(|_| out.write_all(&bytes)).and_then(|_| out.flush());
                if let Err(e) = written {
                    // The terminal went away (closed window, hung-up line).
                    tracing::info!("terminal output failed: {e}");
                    return Ok(End::StdoutClosed);
                }
                self.stream.feed(&bytes);
            }
            match end {
                End::Deadline if self.s.m.now_ps < deadline_ps => {}
                e => return Ok(e),
            }
            while let Ok(chunk) = keys.try_recv() {
                for ev in self.keys.feed(&chunk) {
                    if let Some(e) = self.event(ev, out)? {
                        return Ok(e);
                    }
                }
            }
            self.last_speed = self.speed.sample(self.s.m.now_ps).or(self.last_speed);
            if self.stream.clean() && self.status.due(self.s.m.led.color()) {
                let facts = self.facts();
                if let Err(e) = self.status.draw(out, &facts) {
                    tracing::info!("terminal output failed: {e}");
                    return Ok(End::StdoutClosed);
                }
            }
        }
    }

    fn facts(&mut self) -> Facts {
        let m = &self.s.m;
        let b = BootState::of(m);
        let now = m.now_ps;
        self.releases.retain(|(_, t)| *t > now);
        // Pins held from outside: the host's drives (the board's own parts, such as the
        // radio's interrupt line, drive pads too, but nobody holds those).
        let mut host = [Drive::Float; peripherals::gpio::NUM_PINS];
        for (_, g, d) in &m.drive_trace {
            host[*g as usize] = *d;
        }
        let held = (0..host.len())
            .filter(|g| host[*g] != Drive::Float)
            .map(|g| {
                let name = peripherals::board::name_of(g as u8).map(str::to_string).unwrap_or(format!("GPIO{g}"));
                let lvl = if host[g] == Drive::High { "high" } else { "low" };
                match self.releases.iter().find(|(p, _)| *p as usize == g) {
                    Some((_, t)) => format!("{name}={lvl} until {:.1} s", peripherals::time::ps_to_secs(*t)),
                    None => format!("{name}={lvl}"),
                }
            })
            .collect();
        Facts {
            led: m.led.color(),
            mode: b.mode,
            image: b.image,
            now_ps: now,
            speed: self.last_speed,
            held,
            escape: self.escape_name.clone(),
        }
    }

    /// Shows a menu line: on the status line, or on its own output line without one.
    fn say(&mut self, text: String, for_: Option<Duration>, out: &mut impl Write) -> std::io::Result<()> {
        if self.status.on() {
            self.status.message(text, for_);
        } else {
            self.status.erase(out)?;
            write!(out, "\r\n[pyemu] {text}\r\n")?;
            out.flush()?;
        }
        Ok(())
    }

    fn event(&mut self, ev: Event, out: &mut impl Write) -> anyhow::Result<Option<End>> {
        const SHOW: Option<Duration> = Some(Duration::from_secs(4));
        match ev {
            Event::Send(b) => self.s.send(&b),
            Event::Prompt(p) => self.say(p, None, out)?,
            Event::Closed => {
                if self.status.on() {
                    self.status.clear_message();
                }
            }
            Event::Error(e) => self.say(e, SHOW, out)?,
            Event::Act(a) => {
                let now = self.s.m.now_ps;
                let said = match a {
                    Action::Quit => return Ok(Some(End::Quit)),
                    Action::Reset => {
                        // Queued, so `--record` holds it and a replay resets at the same instant.
                        self.s.m.schedule_input(now, peripherals::HostInput::Reset);
                        format!("reset (EN) at {}", fmt_time(now))
                    }
                    Action::SafeBoot(d) => {
                        let p12 = peripherals::board::gpio_of("P12")?;
                        self.s.m.set_drive(p12, Drive::High);
                        self.s.m.schedule_input(now, peripherals::HostInput::Reset);
                        self.s.m.schedule_drive(now + d, p12, Drive::Float);
                        self.releases.retain(|(g, _)| *g != p12);
                        self.releases.push((p12, now + d));
                        format!("safe boot: P12 high, reset (EN) at {}, P12 released at {}", fmt_time(now), fmt_time(now + d))
                    }
                    Action::PowerCycle(off) => match self.s.power_cycle(off) {
                        Ok(()) => format!("power off at {}, on {} later", fmt_time(now), fmt_time(off)),
                        Err(e) => format!("power-cycle failed: {e:#}"),
                    },
                    Action::Pin { gpio, name, act, for_ps } => {
                        let d = match act {
                            PinAct::Drive(d) => d,
                            PinAct::Toggle => match self.s.m.pin_drive(gpio) {
                                Drive::High => Drive::Low,
                                Drive::Low => Drive::High,
                                Drive::Float if self.s.m.pin_level(gpio) => Drive::Low,
                                Drive::Float => Drive::High,
                            },
                        };
                        self.s.m.set_drive(gpio, d);
                        self.releases.retain(|(g, _)| *g != gpio);
                        let lvl = format!("{d:?}").to_ascii_lowercase();
                        match for_ps {
                            Some(t) if d != Drive::Float => {
                                self.s.m.schedule_drive(now + t, gpio, Drive::Float);
                                self.releases.push((gpio, now + t));
                                format!("{name} {lvl} at {}, released at {}", fmt_time(now), fmt_time(now + t))
                            }
                            _ => format!("{name} {lvl} at {}", fmt_time(now)),
                        }
                    }
                    Action::Status => self.status_text(),
                    Action::Snapshot(path) => {
                        let path = match path {
                            Some(p) => std::path::PathBuf::from(p),
                            None => std::path::PathBuf::from(format!("pyemu-{}ms.snap", now / 1_000_000_000)),
                        };
                        let meta = crate::snapshot::Meta { taken: format!("from the terminal at {}", fmt_time(now)), ..self.meta.clone() };
                        match crate::snapshot::save(&self.s.m, &path, &meta) {
                            Ok(n) => format!("snapshot at {} written to {} ({} KiB); `pyemu run --snapshot {}` goes on from here", fmt_time(now), path.display(), n.div_ceil(1024), path.display()),
                            Err(e) => format!("snapshot failed: {e:#}"),
                        }
                    }
                };
                let long = if said.starts_with("status: ") { Some(Duration::from_secs(10)) } else { SHOW };
                self.say(said, long, out)?;
            }
        }
        Ok(None)
    }

    /// `i`: everything the status line has room for and more.
    fn status_text(&mut self) -> String {
        let f = self.facts();
        let m = &self.s.m;
        let rec = match m.boot_record() {
            Some(r) if r.valid => format!("{}/{}/prev {}/safeboot {}", r.active, r.status, r.prev, r.info.safeboot),
            Some(_) => "invalid".into(),
            None => "none".into(),
        };
        format!(
            "status: {} {} | record {rec} | {} | LED #{:06x} ({} frames) | {} resets, {} panics | held: {}",
            f.mode,
            f.image.as_deref().unwrap_or("-"),
            fmt_time(f.now_ps),
            f.led,
            m.led.frames.len(),
            m.resets,
            self.s.panics.len(),
            if f.held.is_empty() { "none".into() } else { f.held.join(", ") }
        )
    }
}
