//! `pyemu run FIRMWARE`: build (or reuse) the flash, power on, stream UART0.
//!
//! Exit codes follow wokwi-cli: 0 when `--expect-text`/`--expect-regex` matched or a
//! `--stop-at` address was reached, 1 on `--fail-text` or a `--strict` violation, 42 (or
//! `--timeout-exit-code`) when the virtual-time limit passed first.

use anyhow::{bail, Context};
use clap::Args;
use images::board::Board;
use images::bundle::Bundle;
use images::detect::{detect, FileKind};
use images::flash::{build, BootInfoOverride, Firmware, Overrides};
use peripherals::board::gpio_of;
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use peripherals::{Machine, MachineConfig, Stop};
use std::io::{BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Firmware: a Pycom bundle (.tar.gz), an app image, an ELF or a flash dump.
    pub firmware: PathBuf,
    /// Board (lopy4, wipy3, fipy, gpy, sipy, lopy, wipy2, esp32-4mb, esp32-8mb); default
    /// from the bundle's file name.
    #[arg(long)]
    pub board: Option<String>,
    /// Flash state file: created from FIRMWARE if missing, reused (and updated by the
    /// firmware's own writes) if present. Without it the flash lives in memory.
    #[arg(long, value_name = "FILE")]
    pub flash_state: Option<PathBuf>,
    /// Virtual-time limit (units ns, us, ms, s; plain numbers are ms as in wokwi-cli).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: u64,
    /// Exit code when the timeout passes.
    #[arg(long, default_value_t = 42)]
    pub timeout_exit_code: u8,
    /// Stop with exit 0 when a UART0 line contains this text.
    #[arg(long)]
    pub expect_text: Option<String>,
    /// Stop with exit 0 when a UART0 line matches this regular expression.
    #[arg(long)]
    pub expect_regex: Option<String>,
    /// Stop with exit 1 when a UART0 line contains this text.
    #[arg(long)]
    pub fail_text: Option<String>,
    /// Copy UART0 output to this file.
    #[arg(long, value_name = "FILE")]
    pub serial_log_file: Option<PathBuf>,
    /// Hold a pin from power-on: `P2=low` (strap, whole run), `P12=high`, or `P12=3.5s`
    /// (high from power-on, released at 3.5 s of virtual time). Repeatable.
    #[arg(long, value_name = "PIN=VALUE")]
    pub hold: Vec<String>,
    /// Timed pin edges: `P12=1@0.2s,0@4.1s`. Repeatable.
    #[arg(long, value_name = "PIN=EDGES")]
    pub pin: Vec<String>,
    /// Boot mode shortcut: `download` holds P2 (GPIO0) low at reset.
    #[arg(long)]
    pub boot: Option<String>,
    /// Stop on the first access to a register pyemu does not model.
    #[arg(long)]
    pub strict: bool,
    /// Write an instruction trace (core, PC, symbol, disassembly) to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// At most this many trace lines.
    #[arg(long, default_value_t = 5_000_000)]
    pub trace_limit: u64,
    /// Stop (exit 0) when a core reaches this address or ROM symbol. Repeatable.
    #[arg(long, value_name = "ADDR")]
    pub stop_at: Vec<String>,
    /// UART0 endpoint: `stdio` (default) or `tcp:HOST:PORT` (server: waits for the first
    /// client; when a client leaves the board keeps running, its output goes nowhere, and
    /// the next client may connect, as with QEMU's `-serial tcp::PORT,server`).
    #[arg(long, default_value = "stdio")]
    pub uart0: String,
    /// With `--uart0 tcp:`: end the run (exit 0) when the client disconnects.
    #[arg(long)]
    pub exit_on_disconnect: bool,
    /// Config-block fields when the flash is created, e.g. wifi_on_boot=0,heartbeat_on_boot=1.
    #[arg(long, value_name = "SPEC")]
    pub config: Option<String>,
    /// boot_info record when the flash is created, e.g. active=ota_0,status=check or `erased`.
    #[arg(long, value_name = "SPEC")]
    pub boot_info: Option<String>,
    /// Do not print the end-of-run summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write the LED colour timeline (virtual time, colour) to FILE: JSON if it ends in
    /// `.json`, CSV otherwise.
    #[arg(long, value_name = "FILE")]
    pub led_trace: Option<PathBuf>,
    /// Write a VCD waveform of every pad's output and of the LED colour to FILE.
    #[arg(long, value_name = "FILE")]
    pub vcd: Option<PathBuf>,
    /// Print the outcome (boot mode, booted image, boot record before/after, LED frames) as
    /// JSON on stdout at the end, instead of the human summary on stderr.
    #[arg(long)]
    pub json: bool,
    /// Interpret ROM busy-waits instruction by instruction instead of skipping them.
    #[arg(long)]
    pub no_fastpath: bool,
    /// Run flash and PSRAM code and data without cache-miss stalls (every access a hit).
    /// Virtual time then runs ahead of silicon's; firmware whose behaviour changes with it
    /// has a timing race.
    #[arg(long)]
    pub no_cache_timing: bool,
    /// With `--uart0 stdio`: do not forward standard input to UART0.
    #[arg(long)]
    pub no_stdin: bool,
}

/// Reads standard input on a thread (line-buffered when it is a terminal) and hands the
/// bytes over; line feeds become carriage returns, the Enter key of a serial terminal.
fn spawn_stdin() -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
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

fn parse_level(v: &str) -> Option<Drive> {
    match v.to_ascii_lowercase().as_str() {
        "low" | "0" => Some(Drive::Low),
        "high" | "1" => Some(Drive::High),
        "float" | "z" | "release" => Some(Drive::Float),
        _ => None,
    }
}

/// (gpio, initial drive, later edges)
type PinPlan = (u8, Option<Drive>, Vec<(u64, Drive)>);

fn parse_hold(spec: &str) -> anyhow::Result<PinPlan> {
    let (pin, val) = spec.split_once('=').with_context(|| format!("--hold {spec}: expected PIN=VALUE"))?;
    let g = gpio_of(pin)?;
    if let Some(d) = parse_level(val) {
        return Ok((g, Some(d), Vec::new()));
    }
    let t = parse_duration(val).map_err(|e| anyhow::anyhow!("--hold {spec}: {e}; or low/high"))?;
    Ok((g, Some(Drive::High), vec![(t, Drive::Float)]))
}

fn parse_pin(spec: &str) -> anyhow::Result<PinPlan> {
    let (pin, edges) = spec.split_once('=').with_context(|| format!("--pin {spec}: expected PIN=LEVEL@TIME,..."))?;
    let g = gpio_of(pin)?;
    let mut out = Vec::new();
    for e in edges.split(',') {
        let (lvl, at) = e.split_once('@').with_context(|| format!("--pin {spec}: `{e}` is not LEVEL@TIME"))?;
        let d = parse_level(lvl).with_context(|| format!("--pin {spec}: level `{lvl}` is not 0/1/low/high/float"))?;
        let t = parse_duration(at).map_err(|e| anyhow::anyhow!("--pin {spec}: {e}"))?;
        out.push((t, d));
    }
    Ok((g, None, out))
}

/// Parses an address (hex or decimal) or a ROM symbol name.
fn parse_addr(s: &str) -> anyhow::Result<u32> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).with_context(|| format!("`{s}` is not an address"));
    }
    if let Ok(v) = t.parse::<u32>() {
        return Ok(v);
    }
    images::rom::Rom::esp32().sym(t).with_context(|| format!("`{s}` is neither an address nor a ROM symbol"))
}

/// Reads a firmware file into the form the flash builder takes.
pub fn load_firmware(path: &Path) -> anyhow::Result<(String, Firmware)> {
    let name = path.display().to_string();
    let data = std::fs::read(path).with_context(|| format!("reading {name}"))?;
    let fw = match detect(&data) {
        FileKind::Bundle => Firmware::Bundle(Bundle::from_bytes(&data).with_context(|| name.clone())?),
        FileKind::AppImage => Firmware::App(data),
        FileKind::Elf => Firmware::Elf(data),
        FileKind::FlashDump => Firmware::FlashDump(data),
        FileKind::Unknown => bail!("{name}: not a firmware file pyemu knows, so it cannot be run (give a Pycom bundle, an app image, an ELF or a flash dump)"),
        k => bail!("{name}: a {} cannot be run (give a Pycom bundle, an app image, an ELF or a flash dump)", k.describe()),
    };
    Ok((name, fw))
}

fn board_for(args: &RunArgs) -> anyhow::Result<Board> {
    match &args.board {
        Some(b) => Ok(Board::by_id(b)?),
        None => {
            if !args.firmware.exists() {
                bail!("{}: no such file", args.firmware.display());
            }
            let file = args.firmware.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
            Board::from_file_name(&file).map_err(|e| anyhow::anyhow!("{file}: {e}"))
        }
    }
}

fn make_flash(args: &RunArgs, board: &Board) -> anyhow::Result<Flash> {
    let size = board.flash_size;
    let create = |path: Option<&Path>| -> anyhow::Result<Vec<u8>> {
        let (name, fw) = load_firmware(&args.firmware)?;
        let ov = Overrides {
            boot_info: args.boot_info.clone().map(|s| if s == "erased" { BootInfoOverride::Erased } else { BootInfoOverride::Spec(s) }),
            config: args.config.clone(),
            ..Default::default()
        };
        let (flash, _log) = build(&name, &fw, board, &ov).with_context(|| format!("building a {} flash image from {name}", board.id))?;
        if let Some(p) = path {
            std::fs::write(p, &flash.data).with_context(|| format!("writing {}", p.display()))?;
        }
        Ok(flash.data)
    };
    match &args.flash_state {
        Some(p) => {
            if !p.exists() {
                create(Some(p))?;
            } else {
                let len = std::fs::metadata(p)?.len();
                if len != size as u64 {
                    bail!("{}: flash state is {len:#x} bytes but the {} has {size:#x} bytes of flash", p.display(), board.id);
                }
            }
            Flash::open(p, size).with_context(|| format!("opening flash state {}", p.display()))
        }
        None => {
            let data = create(None)?;
            let mut f = Flash::new_in_memory(size);
            f.load(0, &data);
            Ok(f)
        }
    }
}

/// Where UART0 goes.
/// The TCP client of UART0 left: forget it and say so. True when the run should end.
fn client_left(client: &mut Option<TcpStream>, why: &str, exit: bool) -> bool {
    *client = None;
    if exit {
        eprintln!("pyemu: UART0 client disconnected ({why})");
    } else {
        eprintln!("pyemu: UART0 client disconnected ({why}); the board keeps running, waiting for the next");
    }
    exit
}

enum Uart0 {
    Stdio,
    Tcp { listener: TcpListener, client: Option<TcpStream> },
}

/// Line matcher for --expect-text/--expect-regex/--fail-text.
struct Watch {
    line: Vec<u8>,
    expect: Option<String>,
    regex: Option<regex::Regex>,
    fail: Option<String>,
}

impl Watch {
    /// Feeds output; returns Some(true) on expect, Some(false) on fail.
    fn feed(&mut self, bytes: &[u8]) -> Option<bool> {
        for &b in bytes {
            if b == b'\n' {
                self.line.clear();
                continue;
            }
            self.line.push(b);
            let text = String::from_utf8_lossy(&self.line);
            if let Some(f) = &self.fail {
                if text.contains(f.as_str()) {
                    return Some(false);
                }
            }
            if let Some(e) = &self.expect {
                if text.contains(e.as_str()) {
                    return Some(true);
                }
            }
            if let Some(r) = &self.regex {
                if r.is_match(&text) {
                    return Some(true);
                }
            }
        }
        None
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let board = board_for(&args)?;
    let mut plans = Vec::new();
    for h in &args.hold {
        plans.push(parse_hold(h)?);
    }
    for p in &args.pin {
        plans.push(parse_pin(p)?);
    }
    match args.boot.as_deref() {
        None | Some("normal") => {}
        Some("download") => plans.push((0, Some(Drive::Low), Vec::new())),
        Some(b) => bail!("--boot {b}: expected `normal` or `download`"),
    }
    let stops: Vec<u32> = args.stop_at.iter().map(|s| parse_addr(s)).collect::<anyhow::Result<_>>()?;
    let regex = args.expect_regex.as_deref().map(regex::Regex::new).transpose().context("--expect-regex")?;
    let flash = make_flash(&args, &board)?;

    let cfg = MachineConfig { strict: args.strict, seed: 0x5EED, ..MachineConfig::for_board(&board, default_mac(&board)) };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
    for (g, init, edges) in &plans {
        if let Some(d) = init {
            m.set_drive(*g, *d);
        }
        for (t, d) in edges {
            m.schedule_drive(*t, *g, *d);
        }
    }
    for a in &stops {
        m.soc.cache.add_hook(*a);
    }
    m.set_fastpath(!args.no_fastpath);
    m.soc.ctiming.set_enabled(!args.no_cache_timing);
    m.record_pins = args.vcd.is_some();
    let record_before = m.boot_record();
    let live_led = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut led_shown = 0usize;
    if let Some(path) = &args.trace {
        install_tracer(&mut m, path, args.trace_limit)?;
    }
    m.power_on();

    let mut uart = match args.uart0.as_str() {
        "stdio" => Uart0::Stdio,
        s if s.starts_with("tcp:") => {
            let addr = &s[4..];
            let l = TcpListener::bind(addr).with_context(|| format!("--uart0 {s}: cannot listen"))?;
            eprintln!("pyemu: UART0 on tcp://{}, waiting for a client", l.local_addr()?);
            let (c, peer) = l.accept()?;
            c.set_nonblocking(true)?;
            c.set_nodelay(true)?;
            l.set_nonblocking(true)?;
            eprintln!("pyemu: UART0 client {peer}");
            Uart0::Tcp { listener: l, client: Some(c) }
        }
        s => bail!("--uart0 {s}: expected stdio or tcp:HOST:PORT"),
    };
    let mut log = match &args.serial_log_file {
        Some(p) => Some(BufWriter::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)),
        None => None,
    };
    let stdin_rx = if matches!(uart, Uart0::Stdio) && !args.no_stdin { Some(spawn_stdin()) } else { None };
    let mut watch = Watch { line: Vec::new(), expect: args.expect_text.clone(), regex, fail: args.fail_text.clone() };
    let wall = Instant::now();
    let stdout = std::io::stdout();
    // Virtual time per step: short steps keep a TCP peer responsive.
    let step: u64 = if matches!(uart, Uart0::Tcp { .. }) { 2_000_000_000 } else { 20_000_000_000 };
    // With a TCP peer, virtual time may not run ahead of wall time (a guest waiting for
    // input would otherwise race through it while the client thinks); a guest busier than
    // real time runs flat out. Measured from the last traffic either way.
    let mut pace = (Instant::now(), m.now_ps);
    let code = loop {
        let target = (m.now_ps + step).min(args.timeout);
        let stop = m.run_until(target);
        let out = std::mem::take(&mut m.uart0_out);
        if !out.is_empty() {
            match &mut uart {
                Uart0::Stdio => {
                    let mut o = stdout.lock();
                    o.write_all(&out)?;
                    o.flush()?;
                }
                Uart0::Tcp { client, .. } => {
                    // With no client attached the bytes go nowhere, as on an unplugged port.
                    if let Some(c) = client {
                        c.set_nonblocking(false)?;
                        let sent = c.write_all(&out);
                        c.set_nonblocking(true)?;
                        if let Err(e) = sent {
                            if client_left(client, &e.to_string(), args.exit_on_disconnect) {
                                break 0;
                            }
                        }
                    }
                    pace = (Instant::now(), m.now_ps);
                }
            }
            if let Some(l) = &mut log {
                l.write_all(&out)?;
            }
        }
        if let Some(rx) = &stdin_rx {
            while let Ok(bytes) = rx.try_recv() {
                m.uart0_input(&bytes);
            }
        }
        if let Uart0::Tcp { listener, client } = &mut uart {
            if client.is_none() {
                match listener.accept() {
                    Ok((c, peer)) => {
                        c.set_nonblocking(true)?;
                        c.set_nodelay(true)?;
                        eprintln!("pyemu: UART0 client {peer}");
                        *client = Some(c);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let mut buf = [0u8; 4096];
            // Some(n): n bytes arrived; None: nothing to read now.
            let got = match client.as_mut().map(|c| c.read(&mut buf)) {
                Some(Ok(0)) => {
                    if client_left(client, "end of stream", args.exit_on_disconnect) {
                        break 0;
                    }
                    None
                }
                Some(Ok(n)) => Some(n),
                Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                Some(Err(e)) => {
                    if client_left(client, &e.to_string(), args.exit_on_disconnect) {
                        break 0;
                    }
                    None
                }
                None => None,
            };
            match got {
                Some(n) => {
                    m.uart0_input(&buf[..n]);
                    pace = (Instant::now(), m.now_ps);
                }
                None => {
                    // Nothing to read: keep virtual time from running ahead of wall time.
                    let virt_ns = m.now_ps.saturating_sub(pace.1) / 1000;
                    let wall_ns = pace.0.elapsed().as_nanos() as u64;
                    if virt_ns > wall_ns {
                        std::thread::sleep(std::time::Duration::from_nanos((virt_ns - wall_ns).min(1_000_000)));
                    }
                }
            }
        }
        if live_led && m.led.frames.len() != led_shown {
            led_shown = m.led.frames.len();
            let c = m.led.color();
            eprint!(
                "\r\x1b[2K\x1b[48;2;{};{};{}m    \x1b[0m LED #{c:06x} at {}\r",
                c >> 16,
                (c >> 8) & 0xFF,
                c & 0xFF,
                fmt_time(m.now_ps)
            );
        }
        match watch.feed(&out) {
            Some(true) => break 0,
            Some(false) => break 1,
            None => {}
        }
        match stop {
            Stop::Deadline => {
                if m.now_ps >= args.timeout {
                    break args.timeout_exit_code;
                }
            }
            Stop::Hook { core, pc } => {
                eprintln!(
                    "pyemu: core {core} reached {pc:#010x}{} at {}",
                    m.symbolize(pc).map(|s| format!(" ({s})")).unwrap_or_default(),
                    fmt_time(m.now_ps)
                );
                break 0;
            }
            Stop::Unmodelled(r) => {
                eprintln!("pyemu: --strict: {r}");
                break 1;
            }
        }
    };
    if let Some(l) = &mut log {
        l.flush()?;
    }
    m.soc.flash.flush()?;
    if live_led && led_shown > 0 {
        eprintln!();
    }
    let outcome = Outcome::of(&m, record_before, code, &plans);
    if let Some(p) = &args.led_trace {
        crate::trace::write_led_trace(p, &m.led.frames)?;
    }
    if let Some(p) = &args.vcd {
        crate::trace::write_vcd(p, &m.pin_trace, &m.drive_trace, &m.led.frames, m.now_ps)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else if !args.quiet {
        eprintln!("pyemu: {}", outcome.summary());
    }
    if !args.quiet && !args.json {
        let instr = m.cores[0].instret + m.cores[1].instret;
        let secs = wall.elapsed().as_secs_f64();
        eprintln!(
            "pyemu: {} virtual in {:.3} s wall, {} instructions ({:.0} M/s), {} unmodelled register(s), exit {code}",
            fmt_time(m.now_ps),
            secs,
            instr,
            instr as f64 / secs.max(1e-9) / 1e6,
            m.reports.len()
        );
        let c = &m.soc.ctiming;
        if c.enabled() {
            let pct = |h: u64, x: u64| 100.0 * h as f64 / (h + x).max(1) as f64;
            eprintln!(
                "pyemu: flash/PSRAM cache: PRO {} line fills ({:.2}% hits), APP {} line fills ({:.2}% hits)",
                c.misses[0],
                pct(c.hits[0], c.misses[0]),
                c.misses[1],
                pct(c.hits[1], c.misses[1])
            );
        }
    }
    Ok(ExitCode::from(code))
}

/// A stable per-board MAC in Espressif's OUI.
fn default_mac(board: &Board) -> [u8; 6] {
    let h = board.id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    [0x30, 0xAE, 0xA4, (h >> 16) as u8, (h >> 8) as u8, h as u8]
}

pub fn fmt_time(ps: u64) -> String {
    let ms = ps as f64 / 1e9;
    if ms >= 1000.0 {
        format!("{:.6} s", ms / 1000.0)
    } else {
        format!("{ms:.3} ms")
    }
}

fn install_tracer(m: &mut Machine, path: &Path, limit: u64) -> anyhow::Result<()> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let out = Rc::new(RefCell::new((BufWriter::new(file), 0u64)));
    let rom = images::rom::Rom::esp32();
    for core in 0..2 {
        let out = out.clone();
        m.cores[core].tracer = Some(Box::new(move |_cpu, pc, insn| {
            let mut o = out.borrow_mut();
            if o.1 >= limit {
                return;
            }
            o.1 += 1;
            let sym = if (0x4000_0000..0x4007_0000).contains(&pc) { rom.symbols.describe(pc) } else { None };
            let text = emulator::disasm::disasm(&insn, pc);
            let _ = match sym {
                Some(s) => writeln!(o.0, "{core} {pc:08x} <{s}> {text}"),
                None => writeln!(o.0, "{core} {pc:08x} {text}"),
            };
            if o.1 % 65536 == 0 {
                let _ = o.0.flush();
            }
        }));
    }
    Ok(())
}

/// What the board did, for `--json` and the end-of-run summary.
#[derive(serde::Serialize)]
pub struct Outcome {
    /// `normal`, `safe_boot` or `download`.
    pub boot_mode: &'static str,
    /// `factory` or `ota_0` (by the flash offset the bootloader mapped), or null.
    pub booted_image: Option<String>,
    pub booted_offset: Option<String>,
    pub boot_record_before: Option<images::boot_info::BootRecord>,
    pub boot_record_after: Option<images::boot_info::BootRecord>,
    pub led_frames: Vec<LedFrame>,
    pub virtual_time_s: f64,
    pub exit_code: u8,
    pub unmodelled_registers: usize,
    pub pin_contention: Vec<String>,
}

#[derive(serde::Serialize)]
pub struct LedFrame {
    pub t_s: f64,
    pub color: String,
}

impl Outcome {
    fn of(m: &Machine, before: Option<images::boot_info::BootRecord>, code: u8, _plans: &[PinPlan]) -> Outcome {
        let after = m.boot_record();
        let download = m.soc.gpio.strap & 0x1F == 0x03 || m.soc.gpio.strap & 0x10 == 0;
        let offset = if download { None } else { m.booted_image_offset().filter(|o| *o >= 0x10000) };
        let table = images::partition::PartitionTable::parse(&m.soc.flash.data()[0x8000..0x8C00]).ok();
        let booted_image = offset.and_then(|o| {
            table.as_ref().and_then(|t| t.partitions.iter().find(|p| p.is_app() && p.offset <= o && (o as u64) < p.end()).map(|p| p.subtype_name()))
        });
        let safe = after.as_ref().map(|r| r.valid && r.info.safeboot != 0).unwrap_or(false);
        let boot_mode = if download {
            "download"
        } else if safe {
            "safe_boot"
        } else {
            "normal"
        };
        Outcome {
            boot_mode,
            booted_image,
            booted_offset: offset.map(|o| format!("{o:#x}")),
            boot_record_before: before,
            boot_record_after: after,
            led_frames: m.led.frames.iter().map(|f| LedFrame { t_s: f.t_ps as f64 / 1e12, color: format!("#{:06x}", f.rgb) }).collect(),
            virtual_time_s: m.now_ps as f64 / 1e12,
            exit_code: code,
            unmodelled_registers: m.reports.len(),
            pin_contention: m.contention.iter().map(|(t, g)| format!("GPIO{g} at {}", fmt_time(*t))).collect(),
        }
    }

    fn summary(&self) -> String {
        let rec = |r: &Option<images::boot_info::BootRecord>| match r {
            Some(r) if r.valid => format!("{}/{}/prev {}/safeboot {}", r.active, r.status, r.prev, r.info.safeboot),
            Some(_) => "invalid".into(),
            None => "none".into(),
        };
        format!(
            "boot mode {}, image {}, boot record {} -> {}, {} LED frame(s){}",
            self.boot_mode,
            self.booted_image.as_deref().unwrap_or("-"),
            rec(&self.boot_record_before),
            rec(&self.boot_record_after),
            self.led_frames.len(),
            self.led_frames.last().map(|f| format!(", last {}", f.color)).unwrap_or_default()
        )
    }
}
