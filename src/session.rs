//! A board session: the `Machine` and its host endpoints, run in virtual time.
//!
//! Everything that drives a board goes through this: the `pyemu run` CLI, scenario runs and
//! tests. It owns UART0's endpoint (stdio, a server: raw TCP, RFC 2217 or a pty, see
//! `port`; or a scripted byte queue), UART1/UART2 servers, the auto-reset circuit's lines, output
//! watchers (expect/fail text and regexes), the serial log, the instruction tracer's error
//! state, and the host's signals. The guest only ever sees virtual time: host input enters
//! UART0 at the virtual time the session reaches when it arrives, at most `INPUT_WINDOW`
//! bytes ahead of the UART's own character rate (back-pressure: a fast producer such as
//! `/dev/zero` waits, it is not queued without bound).

use crate::port::{Port, PortSpec};
use anyhow::Context;
use peripherals::uart::Line;
use peripherals::{HostInput, Machine, Report, Stop};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

/// Host bytes allowed to wait in UART0's receive path beyond its FIFO: enough to keep the
/// UART busy at 921600 baud through one 20 ms host step, small enough to bound memory.
pub const INPUT_WINDOW: usize = 4096;

/// Where UART0 goes.
pub enum Uart0Spec {
    /// The process's standard output; standard input forwarded unless `stdin` is false.
    Stdio { stdin: bool },
    /// A server: raw TCP, RFC 2217 or a pty (`port`).
    Port { spec: PortSpec, exit_on_disconnect: bool },
    /// Bytes in and out through `Session::send` / `Session::output`.
    Script,
}

impl Uart0Spec {
    /// Opens the endpoint: a server listens (it does not wait for a client; the board
    /// runs and its output is kept for the first client).
    pub fn open(self) -> anyhow::Result<Endpoint> {
        Ok(match self {
            Uart0Spec::Stdio { stdin } => Endpoint::Stdio { input: stdin.then(spawn_stdin), carry: VecDeque::new() },
            Uart0Spec::Port { spec, exit_on_disconnect } => Endpoint::Port(Box::new(spec.open(0, exit_on_disconnect)?)),
            Uart0Spec::Script => Endpoint::Script { input: VecDeque::new() },
        })
    }

    /// Parses `stdio`, `tcp:[HOST:]PORT`, `rfc2217:[HOST:]PORT`, `pty`, `pty:PATH`. A bare
    /// port binds to loopback only.
    pub fn parse(s: &str, exit_on_disconnect: bool, stdin: bool) -> anyhow::Result<Uart0Spec> {
        match s {
            "stdio" => Ok(Uart0Spec::Stdio { stdin }),
            _ => Ok(Uart0Spec::Port { spec: PortSpec::parse("--uart0", s)?, exit_on_disconnect }),
        }
    }
}

/// An opened UART0 endpoint (a server is already listening).
pub enum Endpoint {
    Stdio { input: Option<Receiver<Vec<u8>>>, carry: VecDeque<u8> },
    Port(Box<Port>),
    Script { input: VecDeque<u8> },
}

/// A text or regex looked for in each UART0 line as it grows.
pub struct Watch {
    pub id: usize,
    pattern: Pattern,
}

enum Pattern {
    Text(String),
    Regex(regex::Regex),
}

impl Watch {
    pub fn text(id: usize, t: &str) -> Watch {
        Watch { id, pattern: Pattern::Text(t.to_string()) }
    }
    pub fn regex(id: usize, r: regex::Regex) -> Watch {
        Watch { id, pattern: Pattern::Regex(r) }
    }
    fn matches(&self, line: &str) -> bool {
        match &self.pattern {
            Pattern::Text(t) => line.contains(t.as_str()),
            Pattern::Regex(r) => r.is_match(line),
        }
    }
}

/// Why `Session::run_until` returned.
#[derive(Debug)]
pub enum End {
    /// The virtual-time deadline was reached.
    Deadline,
    /// A watch matched (its id).
    Matched(usize),
    /// A core reached a stop address.
    Hook { core: usize, pc: u32 },
    /// `--strict` and the firmware touched a register pyemu does not model.
    Unmodelled(Report),
    /// SIGINT, SIGTERM or SIGHUP arrived (the signal number).
    Signal(i32),
    /// The TCP client left and the session was told to end then.
    Disconnected,
    /// Standard output was closed by its reader (e.g. `| head`).
    StdoutClosed,
    /// The flash chip's armed power cut is due (`Session::power_cut` applies it).
    PowerCut,
    /// The user ended the session from a front end (the terminal's menu).
    Quit,
}

/// Signal number stored by the handler; 0 while none arrived.
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// A function the signal handler calls before it ends the process at once (0: none).
static HARD_EXIT_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Sets what runs before a second signal ends the process at once (a front end restoring
/// the host terminal). It runs inside the signal handler: async-signal-safe calls only.
pub fn set_hard_exit_hook(f: fn()) {
    HARD_EXIT_HOOK.store(f as usize, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM/SIGHUP handlers that ask running sessions to end cleanly. A
/// second signal of the same kind while the first is being handled ends the process at once.
pub fn install_signal_handlers() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static FLAG: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();
    let flag = FLAG.get_or_init(|| Arc::new(AtomicUsize::new(0))).clone();
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let f = flag.clone();
        // SAFETY: the action only stores to atomics, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                if f.swap(sig as usize, Ordering::SeqCst) != 0 {
                    let hook = HARD_EXIT_HOOK.load(Ordering::SeqCst);
                    if hook != 0 {
                        // Only `set_hard_exit_hook` stores here, always a `fn()`.
                        let hook: fn() = std::mem::transmute::<usize, fn()>(hook);
                        hook();
                    }
                    signal_hook::low_level::exit(128 + sig);
                }
                SIGNAL.store(sig as usize, Ordering::SeqCst);
            })
        }
        .context("installing signal handlers")?;
    }
    Ok(())
}

/// Reads standard input on a thread into a bounded channel; line feeds become carriage
/// returns, the Enter key of a serial terminal. The thread blocks when the board does not
/// keep up, so memory stays bounded whatever stdin is.
fn spawn_stdin() -> Receiver<Vec<u8>> {
    let (tx, rx): (SyncSender<Vec<u8>>, _) = std::sync::mpsc::sync_channel(4);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        loop {
            match lock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let v: Vec<u8> = buf[..n].iter().map(|&b| if b == b'\n' { b'\r' } else { b }).collect();
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// A file opened for writing before power-on, so a bad path is found at once.
pub struct OutFile {
    pub path: PathBuf,
    pub file: File,
}

impl OutFile {
    pub fn create(path: &Path, what: &str) -> anyhow::Result<OutFile> {
        let file = File::create(path).with_context(|| format!("{what} {}: cannot create", path.display()))?;
        Ok(OutFile { path: path.to_path_buf(), file })
    }
}

/// Sees the machine after every host step.
pub type Observer = Box<dyn FnMut(&mut Machine)>;

type TraceState = Rc<RefCell<(BufWriter<File>, u64, Option<std::io::Error>)>>;

pub struct Session {
    pub m: Machine,
    endpoint: Endpoint,
    watches: Vec<Watch>,
    line: Vec<u8>,
    serial_log: Option<(PathBuf, BufWriter<File>)>,
    trace: Option<(PathBuf, TraceState)>,
    /// Everything UART0 sent, for scripted sessions (empty for stdio/TCP).
    pub output: Vec<u8>,
    /// Virtual time per host step: short steps keep a TCP peer responsive.
    step_ps: u64,
    /// Pacing (TCP by default, the terminal): virtual time may not run ahead of `speed` ×
    /// the wall time since the last traffic (a guest waiting for input would otherwise race
    /// through it while a person or client thinks); a guest busier than that runs flat out.
    /// `None`: flat out always.
    speed: Option<f64>,
    /// Wall and virtual time of the last traffic (the pacing anchor).
    pace: (Instant, u64),
    /// A one-line LED swatch on stderr when it is a terminal.
    pub live_led: bool,
    led_shown: usize,
    /// Host input with the virtual time it entered UART0.
    pub input_log: Vec<(u64, Vec<u8>)>,
    /// Firmware panics seen so far: (virtual time, what), from the UART text and from
    /// watchdog resets.
    pub panics: Vec<(u64, String)>,
    panic_line: Vec<u8>,
    resets_seen: usize,
    /// Builds a fresh machine around the flash for `power_cycle` (set by the creator).
    rebuild: Option<Box<dyn Fn(peripherals::flash::Flash) -> anyhow::Result<Machine>>>,
    /// Servers for UART1 and UART2 (`--uart1`, `--uart2`).
    ports: Vec<Port>,
    /// Per UART, bytes of its output taken so far (to find each byte's line in
    /// `Uart::tx_lines`) and the line of the last stretch.
    tx_taken: [(u64, Line); 3],
    /// EN and GPIO0 as the auto-reset circuit pulls them (low = true).
    circuit: (bool, bool),
    /// Called after every host step with the machine (a power-cut campaign's reference run
    /// takes its snapshots and flash-operation log there).
    pub observer: Option<Observer>,
    /// What the boot went through (`track_boot`): power, resets, bootloader and app entry,
    /// the first prompt of each boot.
    pub events: Vec<(u64, BootEvent)>,
    boot: Option<BootTracker>,
}

/// A point a boot passes, with its virtual time in `Session::events`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BootEvent {
    PowerOn,
    PowerOff,
    /// A reset, with the ROM's reset cause.
    Reset { cause: u32, name: String },
    /// The second-stage bootloader's entry point was reached.
    Bootloader,
    /// The app's entry point was reached, from this partition.
    App { image: String },
    /// The first `>>> ` of this boot.
    Prompt,
}

/// Entry points to watch (hooks the session steps over) and what it has seen.
struct BootTracker {
    bootloader: Option<u32>,
    apps: Vec<u32>,
    /// Hooks someone else planted (`--stop-at`) at one of those addresses: noted, not
    /// stepped over, never removed.
    foreign: Vec<u32>,
    resets_seen: usize,
    tail: Vec<u8>,
}

/// UART text by which the firmware reports a crash (ESP-IDF's panic handler, abort, asserts,
/// heap checks, the task watchdog).
const PANIC_MARKERS: [&str; 6] = [
    "Guru Meditation Error",
    "abort() was called",
    "assertion \"",
    "CORRUPT HEAP",
    "Task watchdog got triggered",
    "Brownout detector was triggered",
];

/// The ROM's reset cause numbers with their IDF names (`RESET_REASON` in rom/rtc.h).
pub fn reset_cause_name(cause: u32) -> &'static str {
    match cause {
        1 => "POWERON_RESET",
        3 => "SW_RESET",
        4 => "OWDT_RESET",
        5 => "DEEPSLEEP_RESET",
        6 => "SDIO_RESET",
        7 => "TG0WDT_SYS_RESET",
        8 => "TG1WDT_SYS_RESET",
        9 => "RTCWDT_SYS_RESET",
        10 => "INTRUSION_RESET",
        11 => "TGWDT_CPU_RESET",
        12 => "SW_CPU_RESET",
        13 => "RTCWDT_CPU_RESET",
        14 => "EXT_CPU_RESET",
        15 => "RTCWDT_BROWN_OUT_RESET",
        16 => "RTCWDT_RTC_RESET",
        _ => "UNKNOWN_RESET",
    }
}

/// ROM reset causes that only a watchdog produces, with their IDF names.
fn watchdog_cause(cause: u32) -> Option<&'static str> {
    Some(match cause {
        7 => "TG0WDT_SYS_RESET",
        8 => "TG1WDT_SYS_RESET",
        9 => "RTCWDT_SYS_RESET",
        11 => "TGWDT_CPU_RESET",
        13 => "RTCWDT_CPU_RESET",
        16 => "RTCWDT_RTC_RESET",
        _ => return None,
    })
}

impl Session {
    /// A session of `m` with UART0 on `endpoint`.
    pub fn new(m: Machine, endpoint: Endpoint) -> anyhow::Result<Session> {
        // Virtual time per host step: short steps keep a TCP peer responsive.
        let tcp = matches!(endpoint, Endpoint::Port(_));
        let step_ps = if tcp { 2_000_000_000 } else { 20_000_000_000 };
        Ok(Session {
            m,
            endpoint,
            watches: Vec::new(),
            line: Vec::new(),
            serial_log: None,
            trace: None,
            output: Vec::new(),
            step_ps,
            speed: tcp.then_some(1.0),
            pace: (Instant::now(), 0),
            live_led: false,
            led_shown: 0,
            input_log: Vec::new(),
            panics: Vec::new(),
            panic_line: Vec::new(),
            resets_seen: 0,
            rebuild: None,
            observer: None,
            events: Vec::new(),
            boot: None,
            ports: Vec::new(),
            tx_taken: [(0, Line::n81(115200)); 3],
            circuit: (false, false),
        }
        .init_tx_taken())
    }

    /// Where each UART's output stands (a restored machine has sent bytes already).
    fn init_tx_taken(mut self) -> Session {
        self.reset_tx_taken();
        self
    }

    fn reset_tx_taken(&mut self) {
        for u in 0..3 {
            let at = self.m.uart_output_taken(u);
            let changes = self.m.uart_line_changes(u);
            let mut line = Line::n81(115200);
            while let Some(&(_, l)) = changes.first().filter(|e| e.0 <= at) {
                line = l;
                changes.remove(0);
            }
            self.tx_taken[u] = (at, line);
        }
    }

    /// Serves UART `port.uart` (1 or 2) on `port` too.
    pub fn attach(&mut self, port: Port) {
        self.step_ps = self.step_ps.min(2_000_000_000);
        // A client there waits for the board as one on UART0 would: paced as well.
        if self.speed.is_none() {
            self.set_pacing(Some(1.0));
        }
        self.ports.push(port);
    }

    /// Virtual time per host step.
    pub fn step_ps(&self) -> u64 {
        self.step_ps
    }

    /// Virtual time per host step; how often the session polls its endpoint, never what the
    /// guest sees.
    pub fn set_step_ps(&mut self, ps: u64) {
        self.step_ps = ps.max(1_000_000);
    }

    /// Paces virtual time to at most `speed` × wall time while the guest waits (see the
    /// field); `None` runs flat out.
    pub fn set_pacing(&mut self, speed: Option<f64>) {
        self.speed = speed.filter(|s| *s > 0.0 && s.is_finite());
        self.pace = (Instant::now(), self.m.now_ps);
    }

    /// Takes what UART0 sent on a scripted endpoint since the last call (a front end that
    /// shows it itself, such as the terminal).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    pub fn watch(&mut self, w: Watch) {
        self.watches.push(w);
    }

    pub fn clear_watches(&mut self) {
        self.watches.clear();
        self.line.clear();
    }

    pub fn set_serial_log(&mut self, f: OutFile) {
        self.serial_log = Some((f.path, BufWriter::new(f.file)));
    }

    /// Scripted input (any endpoint): enters UART0 at the UART's rate from now on.
    pub fn send(&mut self, bytes: &[u8]) {
        self.reanchor();
        match &mut self.endpoint {
            Endpoint::Script { input } => input.extend(bytes),
            Endpoint::Stdio { carry, .. } => carry.extend(bytes),
            Endpoint::Port(_) => {
                let now = self.m.now_ps;
                self.m.uart0_input(bytes);
                self.input_log.push((now, bytes.to_vec()));
            }
        }
    }

    /// Writes an instruction trace (core, PC, ROM symbol, disassembly) to `f`, at most `limit` lines.
    pub fn install_tracer(&mut self, f: OutFile, limit: u64) {
        let state: TraceState = Rc::new(RefCell::new((BufWriter::new(f.file), 0u64, None)));
        let rom = images::rom::Rom::esp32();
        for core in 0..2 {
            let st = state.clone();
            self.m.cores[core].tracer = Some(Box::new(move |_cpu, pc, insn| {
                let mut o = st.borrow_mut();
                if o.1 >= limit || o.2.is_some() {
                    return;
                }
                o.1 += 1;
                let sym = if (0x4000_0000..0x4007_0000).contains(&pc) { rom.symbols.describe(pc) } else { None };
                let text = emulator::disasm::disasm(&insn, pc);
                let r = match sym {
                    Some(s) => writeln!(o.0, "{core} {pc:08x} <{s}> {text}"),
                    None => writeln!(o.0, "{core} {pc:08x} {text}"),
                };
                let r = r.and_then(|_| if o.1.is_multiple_of(65536) || o.1 == limit { o.0.flush() } else { Ok(()) });
                if let Err(e) = r {
                    o.2 = Some(e);
                }
            }));
        }
        self.trace = Some((f.path, state));
    }

    /// A write error of the trace, serial log or output, as the error to end the run with.
    fn check_outputs(&mut self) -> anyhow::Result<()> {
        if let Some((p, st)) = &self.trace {
            if let Some(e) = st.borrow_mut().2.take() {
                return Err(e).with_context(|| format!("--trace {}: write failed", p.display()));
            }
        }
        Ok(())
    }

    /// Flushes every output and the flash state (msync), reporting write errors.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        let mut first: Option<anyhow::Error> = None;
        if let Some((p, st)) = &self.trace {
            let mut o = st.borrow_mut();
            let r = match o.2.take() {
                Some(e) => Err(e),
                None => o.0.flush(),
            };
            if let Err(e) = r {
                first.get_or_insert(anyhow::Error::new(e).context(format!("--trace {}: write failed", p.display())));
            }
        }
        if let Some((p, w)) = &mut self.serial_log {
            if let Err(e) = w.flush() {
                first.get_or_insert(anyhow::Error::new(e).context(format!("--serial-log-file {}: write failed", p.display())));
            }
        }
        if let Err(e) = self.m.flash().flush() {
            first.get_or_insert(anyhow::Error::new(e).context("writing the flash state"));
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The signal that asked the run to end, if any.
    pub fn signal() -> Option<i32> {
        match SIGNAL.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }

    /// Runs until `deadline_ps` of virtual time or until something ends the run.
    pub fn run_until(&mut self, deadline_ps: u64) -> anyhow::Result<End> {
        let resets = self.m.resets;
        let end = self.run_inner(deadline_ps);
        if self.m.resets != resets {
            // A reset is where a real board's writes are certainly on the chip.
            self.m.flash().flush().context("writing the flash state")?;
        }
        end
    }

    fn run_inner(&mut self, deadline_ps: u64) -> anyhow::Result<End> {
        loop {
            if let Some(s) = Session::signal() {
                return Ok(End::Signal(s));
            }
            if self.m.flash().cut_time().is_some_and(|t| self.m.now_ps >= t) {
                return Ok(End::PowerCut);
            }
            if self.m.now_ps >= deadline_ps {
                return Ok(End::Deadline);
            }
            self.feed_input()?;
            let target = (self.m.now_ps + self.step_ps).min(deadline_ps);
            let stop = self.m.run_until(target);
            if let Some(o) = &mut self.observer {
                o(&mut self.m);
            }
            let out = std::mem::take(&mut self.m.uart0_out);
            self.track_output(&out);
            if !out.is_empty() {
                if let Some(e) = self.deliver(&out)? {
                    return Ok(e);
                }
            }
            if let Some(e) = self.serve_ports()? {
                return Ok(e);
            }
            self.check_outputs()?;
            if let Some(e) = self.poll_endpoint()? {
                return Ok(e);
            }
            if !out.is_empty() {
                self.reanchor();
            }
            self.pace_to_wall();
            self.show_led();
            if let Some(id) = self.feed_watches(&out) {
                return Ok(End::Matched(id));
            }
            match stop {
                Stop::Deadline => {}
                Stop::Hook { core, pc } if self.boot_hook(core, pc) => {}
                Stop::Hook { core, pc } => return Ok(End::Hook { core, pc }),
                Stop::Unmodelled(r) => return Ok(End::Unmodelled(r)),
                Stop::PowerCut => return Ok(End::PowerCut),
            }
        }
    }

    /// Notes panic text in the output and watchdog resets since the last call.
    fn note_panics(&mut self, out: &[u8]) {
        for &b in out {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.panic_line).trim().to_string();
                if PANIC_MARKERS.iter().any(|m| line.contains(m)) {
                    self.panics.push((self.m.now_ps, line));
                }
                self.panic_line.clear();
            } else if self.panic_line.len() < 512 {
                self.panic_line.push(b);
            }
        }
        while self.resets_seen < self.m.reset_log.len() {
            let (t, cause) = self.m.reset_log[self.resets_seen];
            // A watchdog armed to fire at once (`machine.reset()`) is a reboot, not a hang.
            let asked = self.m.deliberate_resets.contains(&self.resets_seen);
            if let Some(name) = watchdog_cause(cause).filter(|_| !asked) {
                self.panics.push((t, format!("watchdog reset ({name})")));
            }
            self.resets_seen += 1;
        }
    }

    /// The machine was restored from a snapshot rather than powered on: what happened before
    /// it (resets, watchdog causes) is history, not news of this run.
    pub fn resumed(&mut self) {
        self.resets_seen = self.m.reset_log.len();
        self.pace = (Instant::now(), self.m.now_ps);
    }

    /// Carries on with `m` (restored from a snapshot) in place of the running machine: the
    /// same endpoints, watches and logs. The old machine's flash is written first.
    pub fn replace_machine(&mut self, m: Machine) -> anyhow::Result<()> {
        self.m.flash().flush().context("writing the flash state")?;
        self.m = m;
        self.resumed();
        Ok(())
    }

    /// Records what the boot goes through in `events` from now on (call before power-on):
    /// bootloader and app entry (hooks on their entry points, stepped over, which changes
    /// nothing the guest sees), resets with their cause, the first prompt of each boot.
    pub fn track_boot(&mut self) {
        self.boot = Some(BootTracker { bootloader: None, apps: Vec::new(), foreign: Vec::new(), resets_seen: self.m.reset_log.len(), tail: Vec::new() });
        if self.m.now_ps == 0 && self.m.resets == 0 {
            self.events.push((0, BootEvent::PowerOn));
        }
        self.plant_boot_hooks();
    }

    /// Hooks on the entry points of the bootloader and of every app on flash (read again at
    /// every reset: an OTA may have written a new app).
    fn plant_boot_hooks(&mut self) {
        let Some(b) = &mut self.boot else { return };
        let flash = self.m.flash().data();
        let entry = |off: usize| flash.get(off..).and_then(|d| images::app_image::AppImage::parse(d).ok()).map(|i| i.header.entry);
        let bootloader = entry(0x1000);
        let mut apps = Vec::new();
        if let Ok(t) = images::partition::PartitionTable::parse(&flash[0x8000.min(flash.len())..]) {
            for p in t.partitions.iter().filter(|p| p.is_app()) {
                if let Some(e) = entry(p.offset as usize) {
                    if !apps.contains(&e) {
                        apps.push(e);
                    }
                }
            }
        }
        for a in b.bootloader.iter().chain(&b.apps) {
            if Some(*a) != bootloader && !apps.contains(a) && !b.foreign.contains(a) {
                self.m.remove_hook(*a);
            }
        }
        for a in bootloader.iter().chain(&apps) {
            let ours = b.bootloader == Some(*a) || b.apps.contains(a);
            if !ours && self.m.is_hook(*a) && !b.foreign.contains(a) {
                b.foreign.push(*a);
            }
            self.m.add_hook(*a);
        }
        b.bootloader = bootloader;
        b.apps = apps;
    }

    /// A hook the boot tracker planted: note it and step over it (true), or not ours.
    fn boot_hook(&mut self, core: usize, pc: u32) -> bool {
        let Some(b) = &self.boot else { return false };
        if core != 0 {
            // An image's entry point is only an entry on the PRO core; the APP core may run
            // other code at that address (another image's entry is a function of this one).
            if b.foreign.contains(&pc) || (b.bootloader != Some(pc) && !b.apps.contains(&pc)) {
                return false;
            }
            self.m.cores[core].step_over_hook(pc);
            return true;
        }
        let ev = if b.bootloader == Some(pc) {
            BootEvent::Bootloader
        } else if b.apps.contains(&pc) {
            let o = self.m.booted_image_offset().unwrap_or(0);
            let table = images::partition::PartitionTable::parse(&self.m.flash().data()[0x8000..]).ok();
            let image = table
                .and_then(|t| t.partitions.iter().find(|p| p.is_app() && p.offset <= o && (o as u64) < p.end()).map(|p| p.subtype_name()))
                .unwrap_or_else(|| format!("{o:#x}"));
            BootEvent::App { image }
        } else {
            return false;
        };
        self.events.push((self.m.now_ps, ev));
        if b.foreign.contains(&pc) {
            // Also a `--stop-at`: the run stops here as asked.
            return false;
        }
        self.m.cores[core].step_over_hook(pc);
        true
    }

    /// Resets since the last look, and the first prompt of a boot in `out`.
    fn track_output(&mut self, out: &[u8]) {
        let Some(b) = &mut self.boot else { return };
        let mut replant = false;
        while b.resets_seen < self.m.reset_log.len() {
            let (t, cause) = self.m.reset_log[b.resets_seen];
            // The power-on reset of a power-on is the power-on itself.
            let power_on = cause == 1 && self.events.iter().rev().any(|e| e.0 == t && e.1 == BootEvent::PowerOn);
            if !power_on {
                self.events.push((t, BootEvent::Reset { cause, name: reset_cause_name(cause).into() }));
            }
            b.resets_seen += 1;
            replant = true;
        }
        for &c in out {
            b.tail.push(c);
            if b.tail.len() > 4 {
                b.tail.remove(0);
            }
            if b.tail == b">>> " {
                let since_app = self.events.iter().rev().take_while(|e| !matches!(e.1, BootEvent::App { .. } | BootEvent::Reset { .. } | BootEvent::PowerOn));
                if !since_app.clone().any(|e| e.1 == BootEvent::Prompt) {
                    self.events.push((self.m.now_ps, BootEvent::Prompt));
                }
            }
        }
        if replant {
            self.plant_boot_hooks();
        }
    }

    /// How to build a fresh machine around the flash, for `power_cycle`.
    pub fn set_rebuild(&mut self, f: impl Fn(peripherals::flash::Flash) -> anyhow::Result<Machine> + 'static) {
        self.rebuild = Some(Box::new(f));
    }

    /// Power off for `off_ps` and on again: a fresh machine (RAM, PSRAM, RTC memories and
    /// every register lost), the same flash, outside drives kept, virtual time going on.
    /// The LED and pin histories carry over.
    pub fn power_cycle(&mut self, off_ps: u64) -> anyhow::Result<()> {
        let rebuild = self.rebuild.as_ref().context("power-cycle: this session cannot rebuild its machine")?;
        self.m.flash().flush().context("writing the flash state")?;
        let size = self.m.flash().size;
        let flash = self.m.replace_flash(peripherals::flash::Flash::new_in_memory(size));
        let mut m = rebuild(flash)?;
        m.carry_over(&mut self.m, off_ps);
        self.m = m;
        self.reset_tx_taken();
        self.m.power_on();
        if self.boot.is_some() {
            let on = self.m.now_ps;
            self.events.push((on - off_ps, BootEvent::PowerOff));
            self.events.push((on, BootEvent::PowerOn));
            if let Some(b) = &mut self.boot {
                b.resets_seen = self.m.reset_log.len();
            }
            self.plant_boot_hooks();
        }
        Ok(())
    }

    /// The power goes (at the flash chip's armed cut, or now): finished flash operations stay,
    /// the one in flight is left part done (bits chosen by `seed`), the flash state is
    /// written. With `off_ps` the board powers on again that long after (RAM, PSRAM and RTC
    /// memory lost); without, it stays off (the machine should not run again).
    /// What the host had still to send on a UART, and resets it had still to make, go too:
    /// they were meant for the board that lost power (a reference run's REPL script, its
    /// `reset` step), not for the one that boots next. Pad drives and EN stay: those are
    /// wires the host keeps holding and lets go of at their times.
    pub fn power_cut(&mut self, seed: u64, off_ps: Option<u64>) -> anyhow::Result<peripherals::flash::CutReport> {
        let now = self.m.now_ps;
        for (t, i) in self.m.take_scheduled_inputs() {
            if !matches!(i, HostInput::Uart { .. } | HostInput::Reset) {
                self.m.schedule_input(t, i);
            }
        }
        let r = self.m.flash_mut().power_cut(now, seed);
        self.m.flash().flush().context("writing the flash state")?;
        if let Some(off) = off_ps {
            self.power_cycle(off)?;
        }
        Ok(r)
    }

    /// Sends UART0 output to the endpoint and the serial log.
    fn deliver(&mut self, out: &[u8]) -> anyhow::Result<Option<End>> {
        self.note_panics(out);
        if let Some((p, w)) = &mut self.serial_log {
            // With a server endpoint the log is also what a user watches (`tail -f`) while
            // clients come and go: written as it comes.
            let live = matches!(self.endpoint, Endpoint::Port(_));
            w.write_all(out)
                .and_then(|_| if live { w.flush() } else { Ok(()) })
                .with_context(|| format!("--serial-log-file {}: write failed", p.display()))?;
        }
        match &mut self.endpoint {
            Endpoint::Stdio { .. } => {
                let stdout = std::io::stdout();
                let mut o = stdout.lock();
                if let Err(e) = o.write_all(out).and_then(|_| o.flush()) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(Some(End::StdoutClosed));
                    }
                    return Err(e).context("writing UART0 output to stdout");
                }
            }
            Endpoint::Port(port) => {
                for (line, chunk) in split_by_line(out, &mut self.tx_taken[0], self.m.uart_line_changes(0)) {
                    if port.deliver(chunk, line) {
                        return Ok(Some(End::Disconnected));
                    }
                }
            }
            Endpoint::Script { .. } => self.output.extend_from_slice(out),
        }
        Ok(None)
    }

    /// Moves host input into UART0 while its receive path has room.
    fn feed_input(&mut self) -> anyhow::Result<()> {
        let room = INPUT_WINDOW.saturating_sub(self.m.uart_rx_queued(0));
        if room == 0 {
            return Ok(());
        }
        let mut chunk = Vec::new();
        match &mut self.endpoint {
            Endpoint::Stdio { input, carry } => {
                while carry.len() < room {
                    match input.as_ref().map(|r| r.try_recv()) {
                        Some(Ok(v)) => carry.extend(v),
                        Some(Err(TryRecvError::Disconnected)) => {
                            *input = None;
                            break;
                        }
                        _ => break,
                    }
                }
                let n = room.min(carry.len());
                chunk.extend(carry.drain(..n));
            }
            Endpoint::Script { input } => {
                let n = room.min(input.len());
                chunk.extend(input.drain(..n));
            }
            Endpoint::Port(_) => {}
        }
        if !chunk.is_empty() {
            self.input_log.push((self.m.now_ps, chunk.clone()));
            self.m.uart0_input(&chunk);
        }
        Ok(())
    }

    /// A server endpoint: accepts a client when none is attached, reads what it sent (as
    /// much as UART0 takes), applies its control lines, and paces virtual time to wall time
    /// while nothing happens.
    fn poll_endpoint(&mut self) -> anyhow::Result<Option<End>> {
        let Endpoint::Port(port) = &mut self.endpoint else {
            return Ok(None);
        };
        let room = INPUT_WINDOW.saturating_sub(self.m.uart_rx_queued(0));
        let p = port.poll(room, self.m.uart_line(0))?;
        if let Some((dtr, rts)) = p.lines {
            self.set_control_lines(dtr, rts);
        }
        if !p.input.is_empty() {
            self.input_log.push((self.m.now_ps, p.input.clone()));
            self.m.uart0_input(&p.input);
        }
        if p.ended {
            return Ok(Some(End::Disconnected));
        }
        if p.traffic {
            self.reanchor();
        }
        Ok(None)
    }

    /// DTR/RTS of UART0's client through the auto-reset circuit to EN and GPIO0, now.
    fn set_control_lines(&mut self, dtr: bool, rts: bool) {
        let (en_low, io0_low) = peripherals::autoreset::circuit(dtr, rts);
        let now = self.m.now_ps;
        if io0_low != self.circuit.1 {
            let d = if io0_low { peripherals::gpio::Drive::Low } else { peripherals::gpio::Drive::Float };
            self.m.schedule_input(now, peripherals::HostInput::Drive { gpio: 0, drive: d });
        }
        if en_low != self.circuit.0 {
            self.m.schedule_input(now, peripherals::HostInput::En { low: en_low });
        }
        self.circuit = (en_low, io0_low);
    }

    /// UART1/UART2 servers: output out, input in.
    fn serve_ports(&mut self) -> anyhow::Result<Option<End>> {
        if self.ports.is_empty() {
            return Ok(None);
        }
        let mut traffic = false;
        for port in &mut self.ports {
            let u = port.uart;
            let out = self.m.take_uart_output(u);
            for (line, chunk) in split_by_line(&out, &mut self.tx_taken[u], self.m.uart_line_changes(u)) {
                if port.deliver(chunk, line) {
                    return Ok(Some(End::Disconnected));
                }
            }
            traffic |= !out.is_empty();
            let room = INPUT_WINDOW.saturating_sub(self.m.uart_rx_queued(u));
            let p = port.poll(room, self.m.uart_line(u))?;
            if !p.input.is_empty() {
                let now = self.m.now_ps;
                self.m.uart_input_at(u, now, &p.input);
            }
            if p.ended {
                return Ok(Some(End::Disconnected));
            }
            traffic |= p.traffic;
        }
        if traffic {
            self.pace = (Instant::now(), self.m.now_ps);
        } else if !matches!(self.endpoint, Endpoint::Port(_)) {
            self.pace_to_wall();
        }
        Ok(None)
    }

    /// Traffic: pacing counts from now, unless virtual time is ahead of wall time, which
    /// traffic does not forgive (so virtual time stays behind wall time over the whole run).
    fn reanchor(&mut self) {
        if self.ahead_ns() <= 0 {
            self.pace = (Instant::now(), self.m.now_ps);
        }
    }

    /// How far virtual time (scaled by the speed) is ahead of wall time since the anchor.
    fn ahead_ns(&self) -> i64 {
        let Some(speed) = self.speed else { return 0 };
        let virt_ns = (self.m.now_ps.saturating_sub(self.pace.1) as f64 / 1000.0 / speed) as i64;
        virt_ns - self.pace.0.elapsed().as_nanos() as i64
    }

    /// With pacing on, sleeps while virtual time is ahead of `speed` × the wall time since
    /// the last traffic (at most 50 ms at a time, so signals and input stay responsive).
    fn pace_to_wall(&mut self) {
        let ahead = self.ahead_ns();
        if ahead > 0 {
            std::thread::sleep(std::time::Duration::from_nanos((ahead as u64).min(50_000_000)));
        }
    }

    fn feed_watches(&mut self, bytes: &[u8]) -> Option<usize> {
        if self.watches.is_empty() {
            return None;
        }
        for &b in bytes {
            if b == b'\n' {
                self.line.clear();
                continue;
            }
            self.line.push(b);
            let text = String::from_utf8_lossy(&self.line);
            if let Some(w) = self.watches.iter().find(|w| w.matches(&text)) {
                return Some(w.id);
            }
        }
        None
    }

    fn show_led(&mut self) {
        if !self.live_led || self.m.led.frames.len() == self.led_shown {
            return;
        }
        self.led_shown = self.m.led.frames.len();
        let c = self.m.led.color();
        eprint!(
            "\r\x1b[2K\x1b[48;2;{};{};{}m    \x1b[0m LED #{c:06x} at {}\r",
            c >> 16,
            (c >> 8) & 0xFF,
            c & 0xFF,
            fmt_time(self.m.now_ps)
        );
    }

    /// Ends the live LED line, if one was drawn.
    pub fn end_live_line(&self) {
        if self.live_led && self.led_shown > 0 {
            eprintln!();
        }
    }
}

/// How the board booted, as far as the machine shows it: the straps, the image the
/// bootloader mapped and the boot record.
pub struct BootState {
    /// `normal`, `safe_boot` or `download`.
    pub mode: &'static str,
    /// The app partition the bootloader mapped (`factory`, `ota_0`, …), by flash offset.
    pub image: Option<String>,
    pub offset: Option<u32>,
}

impl BootState {
    pub fn of(m: &Machine) -> BootState {
        let download = m.download_boot();
        let offset = if download { None } else { m.booted_image_offset().filter(|o| *o >= 0x10000) };
        let table = images::partition::PartitionTable::parse(&m.flash().data()[0x8000..0x8C00]).ok();
        let image = offset.and_then(|o| {
            table.as_ref().and_then(|t| t.partitions.iter().find(|p| p.is_app() && p.offset <= o && (o as u64) < p.end()).map(|p| p.subtype_name()))
        });
        let safe = m.boot_record().map(|r| r.valid && r.info.safeboot != 0).unwrap_or(false);
        let mode = if download {
            "download"
        } else if safe {
            "safe_boot"
        } else {
            "normal"
        };
        BootState { mode, image, offset }
    }
}

/// Splits a UART's output into stretches sent with one line each. `taken` is the count of
/// its bytes taken before and the line of the last stretch; `tx_lines` (the UART's log of
/// line changes) is drained of what is used.
fn split_by_line<'a>(out: &'a [u8], taken: &mut (u64, Line), tx_lines: &mut Vec<(u64, Line)>) -> Vec<(Line, &'a [u8])> {
    let mut v = Vec::new();
    let mut rest = out;
    let mut at = taken.0;
    while !rest.is_empty() {
        while let Some(&(start, line)) = tx_lines.first() {
            if start > at {
                break;
            }
            taken.1 = line;
            tx_lines.remove(0);
        }
        let n = match tx_lines.first() {
            Some(&(start, _)) => ((start - at) as usize).min(rest.len()),
            None => rest.len(),
        };
        v.push((taken.1, &rest[..n]));
        rest = &rest[n..];
        at += n as u64;
    }
    taken.0 = at;
    v
}

/// Parses `10s`, `500ms`, `3.5s`, `20us`, `100ns`; a bare number is milliseconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ns") {
        (n, 1_000.0)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1_000_000.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000_000_000.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000_000_000.0)
    } else {
        (s, 1_000_000_000.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 3.5s)"))?;
    if v.is_nan() || v < 0.0 || !v.is_finite() {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok((v * mult).round() as u64)
}

pub fn fmt_time(ps: u64) -> String {
    let ms = ps as f64 / 1e9;
    if ms >= 1000.0 {
        format!("{:.6} s", ms / 1000.0)
    } else {
        format!("{ms:.3} ms")
    }
}
