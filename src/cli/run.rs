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
use images::compose::{build, BootInfoOverride, Firmware, Overrides};
use peripherals::board::gpio_of;
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use crate::session::{BootState, End, OutFile, Session, Uart0Spec, Watch};
use crate::state;
use peripherals::machine::HostInput;
use peripherals::timing::Vary;
use peripherals::{Machine, MachineConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Firmware: a Pycom bundle (.tar.gz), an app image, an ELF or a flash dump (not needed
    /// with `--snapshot`).
    #[arg(required_unless_present = "snapshot")]
    pub firmware: Option<PathBuf>,
    /// Board (lopy4, wipy3, fipy, gpy, sipy, lopy, wipy2, esp32-4mb, esp32-8mb); default
    /// from the bundle's file name.
    #[arg(long)]
    pub board: Option<String>,
    /// Flash state file: created from FIRMWARE if missing, reused (and updated by the
    /// firmware's own writes) if present. Without it the flash lives in memory.
    #[arg(long, value_name = "FILE")]
    pub flash_state: Option<PathBuf>,
    /// Virtual-time limit (units ns, us, ms, s; plain numbers are ms as in wokwi-cli).
    /// Default 10s, except on the interactive terminal, which runs until you quit.
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<u64>,
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
    /// UART0 endpoint: `stdio` (default); or a server: `tcp:[HOST:]PORT` (raw bytes),
    /// `rfc2217:[HOST:]PORT` (RFC 2217: baud rate, and DTR/RTS wired to EN and GPIO0 as on
    /// USB-UART boards, so esptool's default reset works), `pty` or `pty:PATH` (a
    /// pseudo-terminal; PATH: a symlink to it). A bare port listens on loopback. The board
    /// runs at once and its output is kept for the first client; when a client leaves the
    /// board keeps running, its output goes nowhere, and the next client may connect (as
    /// with QEMU's `-serial tcp::PORT,server,nowait`).
    #[arg(long, default_value = "stdio")]
    pub uart0: String,
    /// UART1 endpoint (a server as for `--uart0`; default none).
    #[arg(long, value_name = "ENDPOINT")]
    pub uart1: Option<String>,
    /// UART2 endpoint (a server as for `--uart0`; default none).
    #[arg(long, value_name = "ENDPOINT")]
    pub uart2: Option<String>,
    /// The LTE modem of the GPy and FiPy (on UART2): `on` (default; a simulated network),
    /// `no-sim`, `no-coverage` (the search never ends) or `off` (no modem: UART2 is free for
    /// `--uart2`, and the firmware finds no modem).
    #[arg(long, value_name = "on|off|no-sim|no-coverage", value_parser = parse_lte)]
    pub lte: Option<LteMode>,
    /// Virtual time from `AT+CFUN=1` (the firmware's `attach()`) to registration on the
    /// simulated network; default 2s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lte_attach_delay: Option<u64>,
    /// With a `--uart0` server: end the run (exit 0) when the client disconnects.
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
    /// Give the board the timing a real one might have, drawn from SEED: crystal ±10 ppm,
    /// RC slow clock ±5 %, flash/PSRAM line-fill overheads, the APP CPU's start (`pyemu
    /// campaign timing` prints a seed for each failing run). Default: nominal timing.
    #[arg(long, value_name = "SEED", conflicts_with = "snapshot")]
    pub timing_seed: Option<u64>,
    /// With `--timing-seed`: vary only these (comma-separated: xtal, slow, fill, app;
    /// default all), the others nominal.
    #[arg(long, value_name = "LIST", requires = "timing_seed", value_parser = parse_vary)]
    pub timing_vary: Option<Vary>,
    /// With `--uart0 stdio`: do not forward standard input to UART0.
    #[arg(long)]
    pub no_stdin: bool,
    /// Wait for the first `>>> `, run CODE through the raw REPL (as `mpremote exec` does),
    /// print its output; exit 0, or 1 with the traceback on stderr. The boot log goes to
    /// `--serial-log-file` (and to stderr if no prompt comes).
    #[arg(long, value_name = "CODE", conflicts_with = "script")]
    pub exec: Option<String>,
    /// Like `--exec`, with the code read from FILE (a MicroPython script).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Put a host file on the board's /flash before power-on: `main.py` (to /flash/main.py)
    /// or `LOCAL:/flash/lib/` (into a directory). Creates the file system as the firmware
    /// would if it is absent. Repeatable.
    #[arg(long, value_name = "LOCAL[:REMOTE]")]
    pub put: Vec<String>,
    /// Write every host input (UART0 bytes, pin drives) with the virtual time it took
    /// effect to FILE (JSON) at the end of the run, for `--replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Replay the host inputs a `--record` file holds, at their virtual times, instead of
    /// live input: the same firmware and flags give the same output byte for byte.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["exec", "script"])]
    pub replay: Option<PathBuf>,
    /// On a terminal, do not take it over (raw keys, status line, menu): stream UART0 line by
    /// line as through a pipe.
    #[arg(long)]
    pub no_tui: bool,
    /// The terminal's menu key: `ctrl-]` (default), `ctrl-t`, `^a`, …, or `none`.
    #[arg(long, value_name = "KEY", default_value = "ctrl-]")]
    pub escape_key: String,
    /// The terminal without its status line.
    #[arg(long)]
    pub no_status: bool,
    /// Pacing: virtual time may run at most this many times wall time while the guest waits
    /// (`1`: a real board's pace, the default on a terminal and with `--uart0 tcp:`), or
    /// `max`: flat out (the default through pipes).
    #[arg(long, value_name = "X|max", value_parser = parse_speed)]
    pub speed: Option<Speed>,
    /// Start from a snapshot (`--save-snapshot-at`, a scenario's `save-snapshot`) instead of
    /// powering on: the whole machine, flash included, exactly as it was; `--timeout`,
    /// `--hold` and `--pin` times count from there.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "boot_info", "put", "reflash", "boot"])]
    pub snapshot: Option<PathBuf>,
    /// When UART0 shows TEXT, write the whole machine (both cores, RAM, PSRAM, devices,
    /// virtual time, pending input, flash) to FILE and stop (exit 0).
    #[arg(long, num_args = 2, value_names = ["TEXT", "FILE"], conflicts_with_all = ["exec", "script"])]
    pub save_snapshot_at: Vec<String>,
    /// Cut the power at AT: a virtual time (`2.5s`), `flash-op:N` (halfway through the Nth
    /// flash program/erase the firmware starts, counted from power-on) or `flash-op:N+T` (T
    /// into it). Finished operations stay; the one in flight leaves its page or sector part
    /// programmed/erased (which bits: `--power-cut-seed`); RAM, PSRAM and RTC memory are
    /// lost; the flash state is written. The board then powers on again (`--power-off`
    /// later) and the run waits for the prompt (`--boot-limit`): exit 0 if it came, 3 if not.
    #[arg(long, value_name = "AT", conflicts_with_all = ["exec", "script", "save_snapshot_at"])]
    pub power_cut: Option<String>,
    /// Write every flash program/erase the firmware starts (number, kind, address, length,
    /// start and end time) to FILE as CSV: where `--power-cut flash-op:N` can aim.
    #[arg(long, value_name = "FILE")]
    pub flash_log: Option<PathBuf>,
    /// Seed choosing which bits an interrupted operation had changed (default: a fresh one,
    /// printed).
    #[arg(long, value_name = "N", requires = "power_cut")]
    pub power_cut_seed: Option<u64>,
    /// How long the power stays off after `--power-cut`.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub power_off: u64,
    /// End the run at the power cut (the flash state keeps what the cut left; the next run
    /// powers on from it).
    #[arg(long, requires = "power_cut")]
    pub stay_off: bool,
    /// After `--power-cut`: how long the board may take from power-on to the `>>> ` prompt.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub boot_limit: u64,
    /// Draw the run: boot phases, LED colour bands, every pin that changed, resets and the
    /// prompt marked, over virtual time. SVG, or PNG if FILE ends in `.png`. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub plot: Vec<PathBuf>,
    /// Rebuild an existing `--flash-state` from FIRMWARE (and `--boot-info`), keeping its
    /// config block (unless `--config` is given), NVS and file system partitions.
    #[arg(long)]
    pub reflash: bool,
    /// The second-stage bootloader for 0x1000: a bootloader image or a Pycom bundle (its
    /// bootloader.bin). An app image or ELF given alone otherwise gets the one in the flash
    /// state being rewritten, Pycom's from a bundle beside it, or ESP-IDF's (with a notice).
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
    pub bootloader: Option<PathBuf>,
}

/// `--speed`: a factor of real time, or flat out.
#[derive(Clone, Copy, Debug)]
pub enum Speed {
    Max,
    Times(f64),
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s.trim().eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    // `2x` as well as `2`.
    let t = s.trim().trim_end_matches(['x', 'X']);
    match t.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(Speed::Times(v)),
        _ => Err(format!("`{s}` is not a speed: give a factor of real time (1, 0.5, 10) or `max`")),
    }
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

fn board_for(args: &RunArgs, firmware: &Path) -> anyhow::Result<Board> {
    if !firmware.exists() {
        bail!("{}: no such file", firmware.display());
    }
    super::boards::for_firmware(args.board.as_deref(), firmware)
}

/// Everything about a run that can be wrong, checked before anything is created.
struct Plan {
    board: Board,
    pins: Vec<PinPlan>,
    stops: Vec<u32>,
    regex: Option<regex::Regex>,
    /// `--exec` / `--script` code.
    code: Option<Vec<u8>>,
    /// `--put` files: (host path, board path).
    puts: Vec<(PathBuf, String)>,
    /// `--replay` inputs.
    replay: Option<Vec<(u64, HostInput)>>,
    /// `--uart1`, `--uart2` servers.
    ports: Vec<(usize, crate::port::PortSpec)>,
    /// `--snapshot`: the machine to start from.
    snapshot: Option<crate::snapshot::Loaded>,
    /// `--save-snapshot-at TEXT FILE`.
    save_at: Option<(String, PathBuf)>,
    /// `--power-cut` and its seed.
    cut: Option<(crate::power_cut::CutSpec, u64)>,
}

/// The board's timing: drawn from `--timing-seed` (varying `--timing-vary`), nominal
/// without one.
pub fn timing_of(seed: Option<u64>, vary: Option<Vary>) -> peripherals::Timing {
    seed.map_or_else(peripherals::Timing::nominal, |s| peripherals::Timing::draw(s, vary.unwrap_or(Vary::ALL)))
}

/// `--timing-vary LIST`.
pub fn parse_vary(s: &str) -> Result<Vary, String> {
    Vary::parse(s)
}

fn plan(args: &RunArgs) -> anyhow::Result<Plan> {
    let snapshot = args.snapshot.as_deref().map(crate::snapshot::load).transpose()?;
    let board = match (&snapshot, &args.firmware) {
        (Some(l), _) => {
            if let Some(b) = &args.board {
                if Board::by_id(b)?.id != l.board.id {
                    bail!("--board {b}: snapshot {} is of a {}", args.snapshot.as_deref().unwrap_or(Path::new("")).display(), l.board.id);
                }
            }
            l.board
        }
        (None, Some(fw)) => {
            if !fw.exists() {
                bail!("{}: no such firmware file", fw.display());
            }
            board_for(args, fw)?
        }
        (None, None) => bail!("give FIRMWARE or --snapshot FILE"),
    };
    let save_at = match args.save_snapshot_at.as_slice() {
        [] => None,
        [text, file] => {
            let path = PathBuf::from(file);
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if path.is_dir() || !dir.is_dir() {
                bail!("--save-snapshot-at {text:?} {file}: not a file path in an existing directory");
            }
            Some((text.clone(), path))
        }
        _ => bail!("--save-snapshot-at takes TEXT and FILE"),
    };
    let mut pins: Vec<(String, PinPlan)> = Vec::new();
    for h in &args.hold {
        pins.push((format!("--hold {h}"), parse_hold(h)?));
    }
    for p in &args.pin {
        pins.push((format!("--pin {p}"), parse_pin(p)?));
    }
    match args.boot.as_deref() {
        None | Some("normal") => {}
        Some("download") => pins.push(("--boot download (P2 low)".into(), (0, Some(Drive::Low), Vec::new()))),
        Some(b) => bail!("--boot {b}: expected `normal` or `download`"),
    }
    // Two flags driving one pin from power-on is a contradiction a user must resolve.
    for (i, (a, pa)) in pins.iter().enumerate() {
        for (b, pb) in &pins[i + 1..] {
            if pa.0 == pb.0 && (pa.1.is_some() && pb.1.is_some()) {
                let name = peripherals::board::name_of(pa.0).map(|n| format!("{n} (GPIO{})", pa.0)).unwrap_or(format!("GPIO{}", pa.0));
                bail!("{a} and {b} both drive {name} from power-on; give one");
            }
        }
    }
    let stops = args.stop_at.iter().map(|s| parse_addr(s)).collect::<anyhow::Result<_>>()?;
    if let Some(b) = &args.bootloader {
        super::bootloader::from_flag(b)?;
    }
    let regex = args.expect_regex.as_deref().map(regex::Regex::new).transpose().context("--expect-regex")?;
    if args.reflash && args.flash_state.is_none() {
        bail!("--reflash needs --flash-state (without it the flash is built afresh every run)");
    }
    if args.exec.is_some() || args.script.is_some() {
        let flag = if args.exec.is_some() { "--exec" } else { "--script" };
        if args.uart0 != "stdio" {
            bail!("{flag} drives UART0 itself; it cannot be combined with --uart0 {}", args.uart0);
        }
        for (given, other) in [(args.expect_text.is_some(), "--expect-text"), (args.expect_regex.is_some(), "--expect-regex"), (args.fail_text.is_some(), "--fail-text")] {
            if given {
                bail!("{flag} ends the run itself (exit 0, or 1 on a traceback); it cannot be combined with {other}");
            }
        }
    }
    if args.exit_on_disconnect && args.uart0 == "stdio" {
        bail!("--exit-on-disconnect needs a --uart0 server (tcp:, rfc2217:, pty)");
    }
    let mut ports = Vec::new();
    for (i, spec) in [(1, &args.uart1), (2, &args.uart2)] {
        if let Some(spec) = spec {
            ports.push((i, crate::port::PortSpec::parse(&format!("--uart{i}"), spec)?));
        }
    }
    if args.uart0 != "stdio" {
        crate::port::PortSpec::parse("--uart0", &args.uart0)?;
    }
    let code = match (&args.exec, &args.script) {
        (Some(c), _) => Some(c.clone().into_bytes()),
        (None, Some(p)) => Some(std::fs::read(p).with_context(|| format!("--script {}: cannot read", p.display()))?),
        _ => None,
    };
    let mut puts = Vec::new();
    for spec in &args.put {
        let (local, remote) = match spec.split_once(':') {
            Some((l, r)) if !l.is_empty() => (l, r.to_string()),
            _ => (spec.as_str(), String::new()),
        };
        let local = PathBuf::from(local);
        if !local.is_file() {
            bail!("--put {spec}: {}: no such file", local.display());
        }
        let remote = if remote.is_empty() {
            format!("/flash/{}", local.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default())
        } else {
            remote
        };
        crate::fs::FsPath::parse(&remote).map_err(|e| anyhow::anyhow!("--put {spec}: {e}"))?;
        puts.push((local, remote));
    }
    let replay = match &args.replay {
        Some(p) => {
            if !args.hold.is_empty() || !args.pin.is_empty() || args.boot.is_some() {
                bail!("--replay {}: the recording holds the pin inputs; give no --hold, --pin or --boot", p.display());
            }
            Some(crate::record::load(p)?)
        }
        None => None,
    };
    let cut = match &args.power_cut {
        Some(at) => {
            let seed = args.power_cut_seed.unwrap_or_else(crate::power_cut::fresh_seed);
            Some((crate::power_cut::CutSpec::parse(at)?, seed))
        }
        None => None,
    };
    Ok(Plan { board, pins: pins.into_iter().map(|p| p.1).collect(), stops, regex, code, puts, replay, ports, snapshot, save_at, cut })
}

/// What the flash is built from besides the firmware file.
#[derive(Clone, Copy, Default)]
pub struct BuildOpts<'a> {
    pub config: Option<&'a str>,
    pub boot_info: Option<&'a str>,
    /// `--bootloader FILE`.
    pub bootloader: Option<&'a Path>,
}

/// The flash image `board` gets from `firmware` with `--config`/`--boot-info`/`--bootloader`,
/// and what the user must know about it (where a bare app's bootloader came from; why the
/// result cannot boot, if it cannot). `state`: the flash state being rewritten, if any.
fn build_image(firmware: &Path, board: &Board, o: &BuildOpts, state: Option<&Path>) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
    let (name, fw) = load_firmware(firmware)?;
    let bootloader = super::bootloader::for_firmware(firmware, &fw, board, o.bootloader, state)?;
    let mut notes = Vec::new();
    if matches!(fw, Firmware::App(_) | Firmware::Elf(_)) {
        let from = bootloader.as_ref().map_or("the ESP-IDF bootloader", |(f, _)| f.as_str());
        notes.push(format!("{name}: an app image alone: pyemu adds Pycom's partition table for the {} and {from}", board.id));
    }
    let ov = Overrides {
        bootloader,
        boot_info: o.boot_info.map(|s| if s == "erased" { BootInfoOverride::Erased } else { BootInfoOverride::Spec(s.to_string()) }),
        config: o.config.map(str::to_string),
        ..Default::default()
    };
    let (flash, log) = build(&name, &fw, board, &ov).with_context(|| format!("building a {} flash image from {name}", board.id))?;
    notes.extend(log.notices.iter().map(|n| format!("notice: {n}")));
    if let Some(why) = images::compose::boot_problem(&flash) {
        notes.push(format!("warning: the flash built from {name} cannot boot: {why}"));
    }
    Ok((flash.data, notes))
}

/// The board's flash: the state file (locked; created or reused, notes on stderr) or, without
/// one, an in-memory image built afresh. The returned lock must live as long as the run.
pub fn open_flash(
    firmware: &Path,
    board: &Board,
    flash_state: Option<&Path>,
    o: &BuildOpts,
    reflash: bool,
    prepare: Option<state::Prepare>,
) -> anyhow::Result<(Flash, Option<std::fs::File>, Vec<String>)> {
    match flash_state {
        Some(p) => {
            let req = state::Request { firmware, board, config: o.config, boot_info: o.boot_info, reflash, prepare };
            let mut built_notes = Vec::new();
            let rewritten = (reflash && p.is_file()).then_some(p);
            let st = state::open(p, &req, || {
                let (data, n) = build_image(firmware, board, o, rewritten)?;
                built_notes = n;
                Ok(data)
            })?;
            if !st.created && o.bootloader.is_some() {
                built_notes.push(format!("--bootloader ignored: {} keeps the flash it has (--reflash writes it)", p.display()));
            }
            built_notes.extend(st.notes);
            Ok((st.flash, Some(st.lock), built_notes))
        }
        None => {
            if !firmware.is_file() {
                bail!("{}: no such firmware file", firmware.display());
            }
            let (mut data, mut notes) = build_image(firmware, board, o, None)?;
            if let Some(p) = prepare {
                notes.extend(p(&mut data)?);
            }
            let mut f = Flash::new_in_memory(board.flash_size);
            f.load(0, &data);
            Ok((f, None, notes))
        }
    }
}

/// Output files named on the command line, opened before power-on.
struct Outputs {
    plots: Vec<OutFile>,
    serial_log: Option<OutFile>,
    trace: Option<OutFile>,
    led_trace: Option<OutFile>,
    vcd: Option<OutFile>,
    record: Option<OutFile>,
    flash_log: Option<OutFile>,
}

impl Outputs {
    fn open(args: &RunArgs) -> anyhow::Result<Outputs> {
        let open = |p: &Option<PathBuf>, what: &str| p.as_deref().map(|p| OutFile::create(p, what)).transpose();
        Ok(Outputs {
            plots: args.plot.iter().map(|p| OutFile::create(p, "--plot")).collect::<anyhow::Result<_>>()?,
            serial_log: open(&args.serial_log_file, "--serial-log-file")?,
            trace: open(&args.trace, "--trace")?,
            led_trace: open(&args.led_trace, "--led-trace")?,
            vcd: open(&args.vcd, "--vcd")?,
            record: open(&args.record, "--record")?,
            flash_log: open(&args.flash_log, "--flash-log")?,
        })
    }
}

/// `--lte`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LteMode {
    On,
    Off,
    NoSim,
    NoCoverage,
}

fn parse_lte(s: &str) -> Result<LteMode, String> {
    match s {
        "on" => Ok(LteMode::On),
        "off" => Ok(LteMode::Off),
        "no-sim" => Ok(LteMode::NoSim),
        "no-coverage" => Ok(LteMode::NoCoverage),
        _ => Err(format!("`{s}`: expected on, off, no-sim or no-coverage")),
    }
}

type LteSetup = Option<(peripherals::lte_modem::ModemConfig, peripherals::lte_modem::Wiring)>;

/// The LTE modem as `--lte` and `--lte-attach-delay` set it, on a board that has one.
fn lte_setup(args: &RunArgs, board: &Board) -> anyhow::Result<LteSetup> {
    let asked = args.lte.is_some() || args.lte_attach_delay.is_some();
    let Some(wiring) = peripherals::board::lte(board) else {
        if asked {
            bail!("--lte: the {} has no LTE modem (the GPy and FiPy have one)", board.name);
        }
        return Ok(None);
    };
    let mut net = peripherals::lte_modem::ModemConfig::default();
    if let Some(d) = args.lte_attach_delay {
        net.attach_delay = Some(d);
    }
    match args.lte.unwrap_or(LteMode::On) {
        LteMode::Off if args.lte_attach_delay.is_some() => bail!("--lte-attach-delay with --lte off: there is no modem to attach"),
        LteMode::Off => return Ok(None),
        LteMode::NoSim => net.sim = false,
        LteMode::NoCoverage if args.lte_attach_delay.is_some() => bail!("--lte-attach-delay with --lte no-coverage: the modem never attaches"),
        LteMode::NoCoverage => net.attach_delay = None,
        LteMode::On => {}
    }
    if args.uart2.is_some() {
        bail!("--uart2: UART2 of the {} is wired to its LTE modem; add --lte off to put UART2 on an endpoint instead", board.name);
    }
    Ok(Some((net, wiring)))
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut plan = plan(&args)?;
    let board = &plan.board;
    let lte = lte_setup(&args, board)?;
    let escape = crate::terminal::menu::parse_escape(&args.escape_key).map_err(|e| anyhow::anyhow!("--escape-key {e}"))?;
    // The interactive terminal: a person at a terminal typing to the board.
    let tui = !args.no_tui
        && args.uart0 == "stdio"
        && plan.code.is_none()
        && plan.replay.is_none()
        && !args.no_stdin
        && crate::terminal::is_tty();
    let timeout = args.timeout.unwrap_or(if tui { u64::MAX } else { 10_000_000_000_000 });
    let endpoint_spec = match plan.code {
        Some(_) => Uart0Spec::Script,
        None if tui => Uart0Spec::Script,
        None => Uart0Spec::parse(&args.uart0, args.exit_on_disconnect, !args.no_stdin && plan.replay.is_none())?,
    };
    let mut outputs = Outputs::open(&args)?;
    crate::session::install_signal_handlers()?;
    // The state is locked from here to the end of the run.
    let size = board.flash_size;
    let puts = &plan.puts;
    let put = move |data: &mut [u8]| crate::fs::put_files(data, size, puts).context("--put");
    let prepare: Option<state::Prepare> = if plan.puts.is_empty() { None } else { Some(&put) };
    let restored = plan.snapshot.take();
    let (mut m, state_lock, notes, snap_meta) = match (restored, &args.firmware) {
        (Some(mut l), _) => {
            let (lock, notes) = l.attach_state(args.flash_state.as_deref(), args.snapshot.as_deref().unwrap_or(Path::new("")))?;
            let crate::snapshot::Loaded { mut m, meta, .. } = l;
            m.strict = args.strict;
            (m, lock, notes, meta)
        }
        (None, Some(firmware)) => {
            let o = BuildOpts { config: args.config.as_deref(), boot_info: args.boot_info.as_deref(), bootloader: args.bootloader.as_deref() };
            let (flash, lock, notes) = open_flash(firmware, board, args.flash_state.as_deref(), &o, args.reflash, prepare)?;
            let mac = default_mac(board);
            let timing = timing_of(args.timing_seed, args.timing_vary);
            let cfg = MachineConfig { strict: args.strict, seed: 0x5EED, timing, lte: lte.clone(), ..MachineConfig::for_board(board, mac) };
            let m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
            (m, lock, notes, crate::snapshot::Meta::new(board, mac, Some(firmware), String::new()))
        }
        (None, None) => unreachable!("plan() requires FIRMWARE or --snapshot"),
    };
    for n in &notes {
        eprintln!("pyemu: {n}");
    }
    if let Some(seed) = m.timing().seed {
        eprintln!("pyemu: timing seed {seed}: {}", m.timing().describe());
    }
    let endpoint = endpoint_spec.open()?;
    let ports = plan.ports.iter().map(|(i, spec)| spec.clone().open(*i, false)).collect::<anyhow::Result<Vec<_>>>()?;
    // A restored run goes on from the snapshot's time: pin times and the timeout count from there.
    let start = m.now_ps;
    let start_instret = m.cores[0].instret + m.cores[1].instret;
    let resumed = args.snapshot.is_some();
    for (g, init, edges) in &plan.pins {
        if let Some(d) = init {
            m.set_drive(*g, *d);
        }
        for (t, d) in edges {
            m.schedule_drive(start + *t, *g, *d);
        }
    }
    for a in &plan.stops {
        m.add_hook(*a);
    }
    m.set_fastpath(!args.no_fastpath);
    m.set_cache_timing(!args.no_cache_timing);
    m.record_pins = args.vcd.is_some() || !args.plot.is_empty();
    if let Some(inputs) = &plan.replay {
        for (t, i) in inputs {
            m.schedule_input(*t, i.clone());
        }
    }
    let record_before = m.boot_record();
    if let Some((spec, _)) = plan.cut {
        m.flash_mut().arm_cut(spec.plan(start));
    }
    if outputs.flash_log.is_some() {
        m.flash_mut().log = Some(Vec::new());
    }
    let mut s = Session::new(m, endpoint)?;
    for p in ports {
        s.attach(p);
    }
    // A fresh machine around the flash, as at power-on, for a power cycle.
    // The same board after a power cycle: its timing (a restored snapshot's included) too.
    let (strict, fast, stops, board_c, mac, timing) = (args.strict, !args.no_fastpath, plan.stops.clone(), *board, snap_meta.mac, s.m.timing());
    s.set_rebuild(move |flash: Flash| -> anyhow::Result<Machine> {
        let cfg = MachineConfig { strict, seed: 0x5EED, timing, lte: lte.clone(), ..MachineConfig::for_board(&board_c, mac) };
        let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
        for a in &stops {
            m.add_hook(*a);
        }
        m.set_fastpath(fast);
        Ok(m)
    });
    s.live_led = !tui && !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    match args.speed {
        Some(Speed::Max) => s.set_pacing(None),
        Some(Speed::Times(x)) => s.set_pacing(Some(x)),
        None if tui => s.set_pacing(Some(1.0)),
        None => {}
    }
    if let Some(f) = outputs.serial_log.take() {
        s.set_serial_log(f);
    }
    if let Some(f) = outputs.trace.take() {
        s.install_tracer(f, args.trace_limit);
    }
    const EXPECT: usize = 0;
    const FAIL: usize = 1;
    const SNAPSHOT: usize = 2;
    if let Some((text, _)) = &plan.save_at {
        s.watch(Watch::text(SNAPSHOT, text));
    }
    // Fail first: a line with both counts as a failure.
    if let Some(f) = &args.fail_text {
        s.watch(Watch::text(FAIL, f));
    }
    if let Some(e) = &args.expect_text {
        s.watch(Watch::text(EXPECT, e));
    }
    if let Some(r) = plan.regex {
        s.watch(Watch::regex(EXPECT, r));
    }
    let wall = Instant::now();
    if !args.plot.is_empty() || args.json {
        s.track_boot();
    }
    if resumed {
        s.resumed();
    } else {
        s.m.power_on();
    }
    let deadline = start.saturating_add(timeout);
    let mut ended = match &plan.code {
        Some(code) => run_code(&mut s, code, deadline, resumed).map(|(end, _)| end),
        None if tui => {
            let o = crate::terminal::Options { escape, status: !args.no_status, snapshot_meta: snap_meta.clone() };
            crate::terminal::run(&mut s, &o, deadline)
        }
        None => s.run_until(deadline),
    };
    if let (Ok(End::Matched(SNAPSHOT)), Some((text, path))) = (&ended, &plan.save_at) {
        let meta = crate::snapshot::Meta { taken: format!("when UART0 showed {text:?}"), ..snap_meta.clone() };
        match crate::snapshot::save(&s.m, path, &meta) {
            Ok(n) => eprintln!("pyemu: snapshot at {} written to {} ({} KiB)", fmt_time(s.m.now_ps), path.display(), n.div_ceil(1024)),
            Err(e) => ended = Err(e),
        }
    }
    let mut after_cut = None;
    if let (Ok(End::PowerCut), Some((_, seed))) = (&ended, plan.cut) {
        let off = (!args.stay_off).then_some(args.power_off);
        match s.power_cut(seed, off) {
            Ok(r) => {
                eprintln!("pyemu: {}", crate::power_cut::describe(&r, seed));
                if args.stay_off {
                    eprintln!("pyemu: the board stays off; the flash state holds what the cut left");
                } else {
                    match crate::power_cut::boot_after_cut(&mut s, args.boot_limit, None) {
                        Ok(a) => {
                            eprintln!("pyemu: after the power cut: {}", a.summary());
                            after_cut = Some(a);
                        }
                        Err(e) => ended = Err(e),
                    }
                }
            }
            Err(e) => ended = Err(e),
        }
    } else if let (Ok(End::Deadline), Some((spec, _))) = (&ended, plan.cut) {
        eprintln!(
            "pyemu: --power-cut {}: the run ended first ({} flash operation(s) by {})",
            args.power_cut.as_deref().unwrap_or(&spec.arg()),
            s.m.flash().ops,
            fmt_time(s.m.now_ps)
        );
    }
    s.end_live_line();
    // Whatever ended the run, the flash and every output are written before reporting.
    let flushed = s.flush();
    let (code, error) = match ended {
        Ok(End::Deadline) => (args.timeout_exit_code, None),
        Ok(End::Matched(id)) => (if id == FAIL { 1 } else { 0 }, None),
        Ok(End::Hook { core, pc }) => {
            eprintln!(
                "pyemu: core {core} reached {pc:#010x}{} at {}",
                s.m.symbolize(pc).map(|x| format!(" ({x})")).unwrap_or_default(),
                fmt_time(s.m.now_ps)
            );
            (0, None)
        }
        Ok(End::Unmodelled(r)) => {
            eprintln!("pyemu: --strict: {r}");
            (1, None)
        }
        Ok(End::Signal(sig)) => {
            eprintln!("pyemu: stopped by signal {sig} at {} of virtual time; outputs and flash state written", fmt_time(s.m.now_ps));
            ((128 + sig) as u8, None)
        }
        Ok(End::Disconnected) | Ok(End::Quit) => (0, None),
        Ok(End::StdoutClosed) => (141, None),
        Ok(End::PowerCut) => match &after_cut {
            Some(a) if !a.prompt => (3, None),
            _ => (0, None),
        },
        Err(e) => (2, Some(e)),
    };
    let m = &s.m;
    let mut outcome = Outcome::of(m, record_before, code);
    outcome.after_power_cut = after_cut;
    outcome.panics = s.panics.iter().map(|(t, p)| format!("{}: {p}", fmt_time(*t))).collect();
    outcome.boot_events = s.events.iter().map(|(t, e)| crate::plot::TimedEvent { t_s: *t as f64 / 1e12, event: e.clone() }).collect();
    let mut write_err = flushed.err();
    if !outputs.plots.is_empty() {
        let timeline = crate::plot::Timeline::of(m, &s.events);
        let what = args.firmware.as_deref().or(args.snapshot.as_deref()).map(|p| p.display().to_string()).unwrap_or_default();
        let title = format!("pyemu run {what} ({}), {} of virtual time", plan.board.id, fmt_time(m.now_ps));
        for f in outputs.plots.drain(..) {
            let res = crate::plot::render(&timeline, &title, crate::plot::is_png(&f.path))
                .and_then(|b| { let mut file = f.file; file.write_all(&b).map_err(anyhow::Error::from) });
            if let Err(e) = res {
                write_err.get_or_insert(e.context(format!("--plot {}: write failed", f.path.display())));
            }
        }
    }
    if let Some(f) = outputs.led_trace.take() {
        let json = crate::trace::led_trace_is_json(&f.path);
        let mut file = f.file;
        if let Err(e) = crate::trace::write_led_trace(&mut file, json, &m.led.frames) {
            write_err.get_or_insert(e.context(format!("--led-trace {}: write failed", f.path.display())));
        }
    }
    if let Some(f) = outputs.vcd.take() {
        let mut file = f.file;
        if let Err(e) = crate::trace::write_vcd(&mut file, &m.pin_trace, &m.drive_trace, &m.led.frames, m.now_ps) {
            write_err.get_or_insert(e.context(format!("--vcd {}: write failed", f.path.display())));
        }
    }
    if let Some(f) = outputs.record.take() {
        let mut file = f.file;
        if let Err(e) = crate::record::write(&mut file, &m.input_log) {
            write_err.get_or_insert(e.context(format!("--record {}: write failed", f.path.display())));
        }
    }
    if let Some(f) = outputs.flash_log.take() {
        let mut w = std::io::BufWriter::new(f.file);
        let r = (|| -> std::io::Result<()> {
            writeln!(w, "n,kind,addr,len,start_s,end_s")?;
            for o in m.flash().log.as_deref().unwrap_or_default() {
                writeln!(w, "{},{},{:#x},{},{:.9},{:.9}", o.n, o.kind.name(), o.addr, o.len, o.start_ps as f64 / 1e12, o.end_ps as f64 / 1e12)?;
            }
            w.flush()
        })();
        if let Err(e) = r {
            write_err.get_or_insert(anyhow::Error::new(e).context(format!("--flash-log {}: write failed", f.path.display())));
        }
    }
    if args.json {
        let text = serde_json::to_string_pretty(&outcome)? + "\n";
        let stdout = std::io::stdout();
        let mut o = stdout.lock();
        if let Err(e) = o.write_all(text.as_bytes()).and_then(|_| o.flush()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                write_err.get_or_insert(anyhow::Error::new(e).context("writing the --json outcome"));
            }
        }
    } else if !args.quiet {
        eprintln!("pyemu: {}", outcome.summary());
    }
    if !args.quiet && !args.json {
        let instr = (m.cores[0].instret + m.cores[1].instret).saturating_sub(start_instret);
        let secs = wall.elapsed().as_secs_f64();
        let from = if resumed { format!(" (from the snapshot's {})", fmt_time(start)) } else { String::new() };
        eprintln!(
            "pyemu: {}{from} virtual in {:.3} s wall, {} instructions ({:.0} M/s), {} unmodelled register(s), {} unmodelled field(s), exit {code}",
            fmt_time(m.now_ps),
            secs,
            instr,
            instr as f64 / secs.max(1e-9) / 1e6,
            m.reports.iter().filter(|r| r.bits.is_none()).count(),
            m.reports.iter().filter(|r| r.bits.is_some()).count()
        );
        let c = m.cache_stats();
        if c.timed {
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
    drop(state_lock);
    if let Some(e) = error.or(write_err) {
        return Err(e);
    }
    Ok(ExitCode::from(code))
}


/// `--exec`/`--script`: the first prompt, the raw REPL, the code; its output streamed to
/// stdout, its error text to stderr. Ends as `Matched(0)` (ran), `Matched(1)` (traceback),
/// `Deadline` or whatever else ended the session.
/// `resumed`: the board comes from a snapshot, its prompt (if any) shown before it was taken.
fn run_code(s: &mut Session, code: &[u8], timeout: u64, resumed: bool) -> anyhow::Result<(End, crate::repl::ExecOutput)> {
    use crate::repl::{Repl, Stopped};
    let mut r = Repl::new();
    let stopped = |s: &Session, what: &str, e: Stopped| -> End {
        if matches!(e, Stopped::Timeout) {
            let tail = &s.output[s.output.len().saturating_sub(2048)..];
            eprintln!("pyemu: {what} within {}; the board's last output:\n{}", fmt_time(timeout), String::from_utf8_lossy(tail));
        }
        match e {
            Stopped::Timeout => End::Deadline,
            Stopped::Ended(e) => e,
        }
    };
    if !resumed {
        if let Err(e) = r.wait_for(s, b">>> ", timeout, |_| {})? {
            return Ok((stopped(s, "no MicroPython prompt (>>> )", e), Default::default()));
        }
    }
    if let Err(e) = r.enter_raw(s, timeout)? {
        return Ok((stopped(s, "the raw REPL did not answer", e), Default::default()));
    }
    let stdout = std::io::stdout();
    let mut closed = false;
    let res = r.exec_raw(s, code, timeout, |chunk| {
        let mut o = stdout.lock();
        if !closed && o.write_all(chunk).and_then(|_| o.flush()).is_err() {
            closed = true;
        }
    })?;
    match res {
        Ok(out) => {
            r.exit_raw(s);
            if out.failed() {
                let mut e = std::io::stderr().lock();
                let _ = e.write_all(&out.err);
                Ok((End::Matched(1), out))
            } else {
                Ok((End::Matched(0), out))
            }
        }
        Err(e) => Ok((stopped(s, "the code did not finish", e), Default::default())),
    }
}

/// A stable per-board MAC in Espressif's OUI.
pub fn default_mac(board: &Board) -> [u8; 6] {
    let h = board.id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    [0x30, 0xAE, 0xA4, (h >> 16) as u8, (h >> 8) as u8, h as u8]
}

pub use crate::session::{fmt_time, parse_duration};

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
    /// What the boot went through (power, resets, bootloader and app entry, first prompt).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boot_events: Vec<crate::plot::TimedEvent>,
    /// Firmware panics on the way (Guru Meditation, abort, watchdog resets), with their time.
    pub panics: Vec<String>,
    /// With `--power-cut`: what the board did when the power came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_power_cut: Option<crate::power_cut::AfterCut>,
}

#[derive(serde::Serialize)]
pub struct LedFrame {
    pub t_s: f64,
    pub color: String,
}

impl Outcome {
    pub fn of(m: &Machine, before: Option<images::boot_info::BootRecord>, code: u8) -> Outcome {
        let after = m.boot_record();
        let BootState { mode: boot_mode, image: booted_image, offset } = BootState::of(m);
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
            panics: Vec::new(),
            after_power_cut: None,
            boot_events: Vec::new(),
        }
    }

    pub fn summary(&self) -> String {
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
        ) + &match self.panics.first() {
            Some(p) => format!("; firmware panic: {p}{}", if self.panics.len() > 1 { format!(" (+{} more)", self.panics.len() - 1) } else { String::new() }),
            None => String::new(),
        }
    }
}
