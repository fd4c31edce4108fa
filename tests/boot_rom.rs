//! Power-on with the real mask ROM, through the `pyemu` binary: the ROM's banner, its
//! loading of each bundle's second-stage bootloader (the `load:`/`entry` lines computed from
//! the bootloader image itself), the bootloader's jump into the application, download mode
//! on a strap, the instruction trace, and the CLI's errors.

use test_support as firmware;

use firmware::*;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

const ROM_BANNER: &str = "ets Jun  8 2016 00:22:57";
const POWERON_FLASH_BOOT: &str = "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)";
const POWERON_DOWNLOAD_BOOT: &str = "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))";

/// A scratch directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("pyemu-boot-rom-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        Scratch(d)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------ normal boot

fn boot_to_app_entry(name: &str, entry: u32) {
    let Some(path) = bundle_path(name) else { return };
    let imgs = images(&path);
    assert_eq!(imgs.app.entry, entry, "{name}: the application image's entry point");

    let out = run(&[path.to_str().unwrap(), "--timeout", "2s", "--strict", "--stop-at", &format!("{entry:#x}")]);
    let stdout = lines(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name}: exit status\nstdout:\n{}\nstderr:\n{stderr}", stdout.join("\n"));

    let mut want = vec![ROM_BANNER.to_string(), POWERON_FLASH_BOOT.to_string()];
    want.extend(rom_load_lines(&imgs.bootloader));
    assert!(want.len() >= 4, "{name}: a bootloader with segments");
    assert_lines_in_order(&stdout, &want, name);
    // One boot, no reset loop, and the run stopped right at the application's entry: the
    // ROM's `entry` line is the last thing on UART0.
    assert_eq!(stdout.iter().filter(|l| *l == ROM_BANNER).count(), 1, "{name}: ROM banner count");
    let last = stdout.iter().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert_eq!(last, want.last().unwrap(), "{name}: last UART0 line");

    let reached = format!("core 0 reached {entry:#010x}");
    assert!(stderr.contains(&reached), "{name}: `{reached}` not on stderr:\n{stderr}");
    assert_eq!(unmodelled(&stderr), 0, "{name}: unmodelled registers\n{stderr}");
}

#[test]
fn lopy4_r7_rom_loads_bootloader_and_reaches_app_entry() {
    boot_to_app_entry(BUNDLES[0].0, BUNDLES[0].1);
}

#[test]
fn lopy4_r4_rom_loads_bootloader_and_reaches_app_entry() {
    boot_to_app_entry(BUNDLES[1].0, BUNDLES[1].1);
}

#[test]
fn sipy_rc3_rom_loads_bootloader_and_reaches_app_entry() {
    boot_to_app_entry(BUNDLES[2].0, BUNDLES[2].1);
}

// ------------------------------------------------------------------ download mode

/// P2 is GPIO0: held low at reset, the ROM waits for a download on UART0.
#[test]
fn gpio0_low_enters_download_mode() {
    let Some(path) = bundle_path(BUNDLES[0].0) else { return };
    let out = run(&[path.to_str().unwrap(), "--hold", "P2=low", "--timeout", "500ms", "--strict"]);
    let stdout = lines(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(42), "exit status (timeout)\nstdout:\n{}\nstderr:\n{stderr}", stdout.join("\n"));
    let want = [ROM_BANNER.to_string(), POWERON_DOWNLOAD_BOOT.to_string(), "waiting for download".to_string()];
    assert_lines_in_order(&stdout, &want, "download mode");
    assert!(!stdout.iter().any(|l| l.starts_with("load:") || l.starts_with("entry ")), "nothing loaded:\n{}", stdout.join("\n"));
    assert_eq!(unmodelled(&stderr), 0, "unmodelled registers\n{stderr}");
}

// ------------------------------------------------------------------ trace

/// The last lines of an instruction trace, streamed through a FIFO (a full trace of the boot
/// is ~20 M lines), and every line naming `watch` as core 0's PC.
struct TraceTail {
    last: Vec<String>,
    /// Indices (0-based line numbers) of lines for `watch` on core 0, and the line before each.
    hits: Vec<(u64, Option<String>)>,
    lines: u64,
}

fn make_fifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(r, 0, "mkfifo {}: {}", p.display(), std::io::Error::last_os_error());
}

/// Runs `pyemu run BUNDLE --trace FIFO --stop-at STOP` and returns the trace's tail, exit
/// code and stderr.
fn traced_run(path: &Path, stop: u32, watch: u32, scratch: &Scratch) -> (TraceTail, Option<i32>, String) {
    let fifo = scratch.path(&format!("trace-{stop:x}.fifo"));
    make_fifo(&fifo);
    let prefix = format!("0 {watch:08x} ");
    let reader_fifo = fifo.clone();
    let reader = std::thread::spawn(move || {
        // Blocks until pyemu opens its end.
        let f = std::fs::File::open(&reader_fifo).expect("opening the trace FIFO");
        let mut tail: VecDeque<String> = VecDeque::new();
        let mut hits = Vec::new();
        let mut n = 0u64;
        for l in BufReader::with_capacity(1 << 20, f).lines() {
            let l = l.expect("trace is text");
            if l.starts_with(&prefix) {
                hits.push((n, tail.back().cloned()));
            }
            if tail.len() == 16 {
                tail.pop_front();
            }
            tail.push_back(l);
            n += 1;
        }
        TraceTail { last: tail.into(), hits, lines: n }
    });
    let out = run(&[
        path.to_str().unwrap(),
        "--timeout",
        "2s",
        "--strict",
        "--trace",
        fifo.to_str().unwrap(),
        "--trace-limit",
        "100000000",
        "--stop-at",
        &format!("{stop:#x}"),
    ]);
    if !reader.is_finished() {
        // If pyemu never opened the FIFO, open its write end ourselves so the reader sees
        // end-of-file (fails harmlessly with ENXIO when the reader is already gone).
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&fifo);
    }
    let tail = reader.join().expect("trace reader");
    (tail, out.status.code(), text(&out.stderr))
}

/// `core pc [<sym>] mnemonic operands`: (core, pc, mnemonic).
fn parse_trace_line(l: &str) -> (u32, u32, String) {
    let mut it = l.split_whitespace();
    let core = it.next().and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("trace line `{l}`"));
    let pc = it.next().and_then(|p| u32::from_str_radix(p, 16).ok()).unwrap_or_else(|| panic!("trace line `{l}`"));
    let mut m = it.next().unwrap_or_default();
    if m.starts_with('<') {
        m = it.next().unwrap_or_default();
    }
    (core, pc, m.to_string())
}

fn is_indirect_jump(mnemonic: &str) -> bool {
    matches!(mnemonic, "callx0" | "callx4" | "callx8" | "callx12" | "jx")
}

/// A trace line is the bootloader's jump into the app: core 0, an indirect call or jump, at
/// an address inside one of the bootloader's segments.
fn assert_bootloader_jump(l: &str, boot: &images::app_image::AppImage, what: &str) {
    let (core, pc, m) = parse_trace_line(l);
    assert_eq!(core, 0, "{what}: `{l}` is not core 0");
    assert!(is_indirect_jump(&m), "{what}: `{l}` is not a callx/jx");
    assert!(
        boot.segments.iter().any(|s| (s.load_addr..s.load_addr + s.len).contains(&pc)),
        "{what}: `{l}` is not in the bootloader's code"
    );
}

fn trace_shows_jump_to_app(name: &str, entry: u32, with_stop_at_entry: bool) {
    let Some(path) = bundle_path(name) else { return };
    let imgs = images(&path);
    let scratch = Scratch::new(&format!("trace-{name}"));

    if with_stop_at_entry {
        // --stop-at ENTRY: the core stops before ENTRY runs; the trace ends with the jump
        // (or with ENTRY itself, were the stopping instruction traced too).
        let (t, code, stderr) = traced_run(&path, entry, entry, &scratch);
        assert_eq!(code, Some(0), "{name}: traced run to {entry:#x}\n{stderr}");
        assert_eq!(unmodelled(&stderr), 0, "{name}: unmodelled registers\n{stderr}");
        assert!(t.lines > 1_000_000, "{name}: a {}-line trace of the boot", t.lines);
        let mut last = t.last.iter().rev();
        let mut l = last.next().expect("a trace");
        if parse_trace_line(l).1 == entry {
            l = last.next().expect("a line before ENTRY");
        }
        assert_bootloader_jump(l, &imgs.bootloader, name);
    }

    // --stop-at the instruction after ENTRY's first: the trace holds a line for ENTRY, right
    // after the bootloader's jump.
    let seg = imgs.app.segments.iter().find(|s| (s.load_addr..s.load_addr + s.len).contains(&entry)).expect("ENTRY is in a segment");
    let first = seg.data[(entry - seg.load_addr) as usize];
    let next = entry + emulator::decode::insn_len(first) as u32;
    let (t, code, stderr) = traced_run(&path, next, entry, &scratch);
    assert_eq!(code, Some(0), "{name}: traced run to {next:#x}\n{stderr}");
    assert!(stderr.contains(&format!("core 0 reached {next:#010x}")), "{name}: stop at {next:#x}\n{stderr}");
    assert_eq!(unmodelled(&stderr), 0, "{name}: unmodelled registers\n{stderr}");
    assert_eq!(t.hits.len(), 1, "{name}: lines for ENTRY {entry:#x} in the trace (last lines:\n{})", t.last.join("\n"));
    let (at, before) = &t.hits[0];
    assert_eq!(*at, t.lines - 1, "{name}: ENTRY is the last traced instruction:\n{}", t.last.join("\n"));
    assert_bootloader_jump(before.as_deref().expect("a line before ENTRY"), &imgs.bootloader, name);
}

#[test]
fn trace_lopy4_r7_ends_with_jump_into_app() {
    trace_shows_jump_to_app(BUNDLES[0].0, BUNDLES[0].1, true);
}

#[test]
fn trace_lopy4_r4_ends_with_jump_into_app() {
    trace_shows_jump_to_app(BUNDLES[1].0, BUNDLES[1].1, false);
}

#[test]
fn trace_sipy_rc3_ends_with_jump_into_app() {
    trace_shows_jump_to_app(BUNDLES[2].0, BUNDLES[2].1, false);
}

// ------------------------------------------------------------------ errors

/// Runs pyemu expecting a usage/input error: non-zero, not the timeout code, no panic, and
/// a message on stderr.
fn expect_error(args: &[&str], what: &str) -> String {
    let out = run(args);
    let stderr = text(&out.stderr);
    let code = out.status.code();
    assert!(code.is_some() && code != Some(0) && code != Some(42), "{what}: exit {code:?}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{what}: pyemu panicked:\n{stderr}");
    assert!(out.stdout.is_empty(), "{what}: nothing should run:\n{}", text(&out.stdout));
    stderr
}

#[test]
fn unknown_pin_lists_valid_pins() {
    // The pin is checked before the firmware is read: no bundle needed.
    let fw = firmware_dir().join(BUNDLES[0].0);
    let err = expect_error(&[fw.to_str().unwrap(), "--hold", "P99=low", "--timeout", "10ms"], "--hold P99=low");
    assert!(err.contains("P99"), "names the bad pin:\n{err}");
    for p in ["P0", "P2", "P12", "P23", "GPIO"] {
        assert!(err.contains(p), "lists valid pin {p}:\n{err}");
    }
}

#[test]
fn unknown_board_lists_boards() {
    let fw = firmware_dir().join(BUNDLES[0].0);
    let err = expect_error(&[fw.to_str().unwrap(), "--board", "nosuchboard", "--timeout", "10ms"], "--board nosuchboard");
    assert!(err.contains("nosuchboard"), "names the bad board:\n{err}");
    for b in ["lopy4", "sipy", "wipy3", "fipy", "gpy"] {
        assert!(err.contains(b), "lists board {b}:\n{err}");
    }
}

#[test]
fn board_not_in_file_name_asks_for_board() {
    let s = Scratch::new("noboard");
    let f = s.path("firmware.bin");
    std::fs::write(&f, [0u8; 64]).unwrap();
    let err = expect_error(&[f.to_str().unwrap(), "--timeout", "10ms"], "no board in the file name");
    assert!(err.contains("--board"), "suggests --board:\n{err}");
    assert!(err.contains("lopy4"), "lists the boards:\n{err}");
}

#[test]
fn non_firmware_files_are_refused() {
    let s = Scratch::new("notfw");
    // Plain text.
    let txt = s.path("LoPy4-notes.txt");
    std::fs::write(&txt, "these are not the bytes you are looking for\n".repeat(10)).unwrap();
    let err = expect_error(&[txt.to_str().unwrap(), "--timeout", "10ms"], "text file");
    assert!(err.contains("LoPy4-notes.txt") && err.contains("cannot be run"), "says what is wrong:\n{err}");

    // With an explicit board, for a name that says nothing.
    let err = expect_error(&[txt.to_str().unwrap(), "--board", "lopy4", "--timeout", "10ms"], "text file, --board");
    assert!(err.contains("cannot be run"), "says what is wrong:\n{err}");

    // A gzip'd tar that is not a Pycom bundle (no flashing script).
    let tgz = s.path("LoPy4-fake.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&tgz).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let body = b"hello\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "readme.txt", &body[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    }
    let err = expect_error(&[tgz.to_str().unwrap(), "--timeout", "10ms"], "tar.gz without a script");
    assert!(err.contains("LoPy4-fake.tar.gz"), "names the file:\n{err}");

    // gzip magic, then garbage.
    let bad = s.path("LoPy4-broken.tar.gz");
    std::fs::write(&bad, [0x1F, 0x8B, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let err = expect_error(&[bad.to_str().unwrap(), "--timeout", "10ms"], "broken gzip");
    assert!(err.contains("LoPy4-broken.tar.gz"), "names the file:\n{err}");

    // A file that does not exist.
    let missing = s.path("LoPy4-missing.tar.gz");
    let err = expect_error(&[missing.to_str().unwrap(), "--timeout", "10ms"], "missing file");
    assert!(err.contains("LoPy4-missing.tar.gz"), "names the file:\n{err}");
}
