//! Finding the real Pycom firmware bundles and running `pyemu` on them.
//!
//! Bundles live in `PYEMU_FIRMWARE_DIR` (default `<workspace>/../shared/firmware`). When a
//! bundle is missing a test prints `skipping: ...` and passes, unless
//! `PYEMU_REQUIRE_FIRMWARE=1`, when it panics.
#![allow(dead_code)]

use images::app_image::AppImage;
use images::bundle::Bundle;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bundles the tests know, with their application entry points.
pub const BUNDLES: [(&str, u32); 3] = [
    ("LoPy4-1.20.2.r7.tar.gz", 0x4008_161c),
    ("LoPy4-1.20.2.r4.tar.gz", 0x4008_1628),
    ("SiPy-1.20.2.rc3.tar.gz", 0x4008_1370),
];

/// Every `*.tar.gz` bundle in the firmware directory, sorted; `None` (after printing why)
/// when there are none and the test must be skipped.
pub fn all_bundles() -> Option<Vec<PathBuf>> {
    let dir = firmware_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    if v.is_empty() {
        if std::env::var("PYEMU_REQUIRE_FIRMWARE").as_deref() == Ok("1") {
            panic!("no firmware bundles in {} and PYEMU_REQUIRE_FIRMWARE=1", dir.display());
        }
        println!("skipping: no firmware bundles (*.tar.gz) in {} (set PYEMU_FIRMWARE_DIR)", dir.display());
        return None;
    }
    Some(v)
}

/// The first of `candidates` that answers `version_arg` successfully, or `None` (after
/// printing why) when none does and the test must be skipped; with `PYEMU_REQUIRE_TOOLS=1`
/// a missing tool is a failure.
fn find_tool(name: &str, candidates: &[&[&str]], version_arg: &str, install: &str) -> Option<Vec<String>> {
    for c in candidates {
        if Command::new(c[0]).args(&c[1..]).arg(version_arg).output().map(|o| o.status.success()).unwrap_or(false) {
            return Some(c.iter().map(|s| s.to_string()).collect());
        }
    }
    if std::env::var("PYEMU_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{name} not found (tried {candidates:?}) and PYEMU_REQUIRE_TOOLS=1");
    }
    println!("skipping: {name} not found ({install})");
    None
}

/// The `tmux` command (Debian's package), for driving `pyemu run` on a terminal.
pub fn tmux() -> Option<Vec<String>> {
    find_tool("tmux", &[&["tmux"]], "-V", "apt-get install tmux")
}

/// The command that runs esptool (`esptool`, `esptool.py` or `python3 -m esptool`).
pub fn esptool() -> Option<Vec<String>> {
    find_tool("esptool", &[&["esptool"], &["esptool.py"], &["python3", "-m", "esptool"]], "version", "pip install esptool")
}

/// The command that runs mpremote (`mpremote` or `python3 -m mpremote`).
pub fn mpremote() -> Option<Vec<String>> {
    find_tool("mpremote", &[&["mpremote"], &["python3", "-m", "mpremote"]], "--version", "pip install mpremote")
}

/// picocom (Debian: `apt-get install picocom`).
pub fn picocom() -> Option<Vec<String>> {
    find_tool("picocom", &[&["picocom"]], "--help", "apt-get install picocom")
}

/// Starts `pyemu run BUNDLE --flash-state FLASH ARGS --uart0 tcp:127.0.0.1:PORT` on a free
/// port, stderr to `stderr`; returns the child and the port.
pub fn spawn_tcp(bundle: &Path, flash: &Path, args: &[&str], stderr: &Path) -> (std::process::Child, u16) {
    // A free port: bind port 0, note it, let it go for pyemu to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .arg("run")
        .arg(bundle)
        .arg("--flash-state")
        .arg(flash)
        .args(args)
        .arg("--uart0")
        .arg(format!("tcp:127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .expect("starting pyemu");
    (child, port)
}

pub fn firmware_dir() -> PathBuf {
    match std::env::var_os("PYEMU_FIRMWARE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/firmware"),
    }
}

/// The path of bundle `name`, or `None` (after printing why) when the test must be skipped.
pub fn bundle_path(name: &str) -> Option<PathBuf> {
    let p = firmware_dir().join(name);
    if p.is_file() {
        return Some(p);
    }
    let msg = format!("firmware bundle {} not found (set PYEMU_FIRMWARE_DIR)", p.display());
    if std::env::var("PYEMU_REQUIRE_FIRMWARE").is_ok_and(|v| v == "1") {
        panic!("{msg}; PYEMU_REQUIRE_FIRMWARE=1");
    }
    println!("skipping: {msg}");
    None
}

/// The bundle's second-stage bootloader and application images.
pub struct Images {
    pub bootloader: AppImage,
    pub app: AppImage,
}

pub fn images(path: &Path) -> Images {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let b = Bundle::from_bytes(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bootloader = AppImage::parse(b.file("bootloader.bin").expect("bootloader.bin in the bundle")).expect("bootloader image");
    let app = b
        .files
        .iter()
        .filter(|(name, _)| name.ends_with(".bin") && *name != "bootloader.bin" && !name.starts_with("partitions"))
        .map(|(name, data)| AppImage::parse(data).unwrap_or_else(|e| panic!("{name}: {e}")))
        .next()
        .expect("an application image in the bundle");
    Images { bootloader, app }
}

/// What the ROM prints while loading the bootloader: one `load:` line per segment, then the
/// entry point.
pub fn rom_load_lines(bootloader: &AppImage) -> Vec<String> {
    let mut v: Vec<String> =
        bootloader.segments.iter().map(|s| format!("load:{:#010x},len:{}", s.load_addr, s.len)).collect();
    v.push(format!("entry {:#010x}", bootloader.entry));
    v
}

pub fn pyemu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pyemu"))
}

/// Runs `pyemu run ARGS...`; panics if it cannot be started.
pub fn run(args: &[&str]) -> Output {
    pyemu().arg("run").args(args).output().expect("starting pyemu")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout's lines without their line ends.
pub fn lines(b: &[u8]) -> Vec<String> {
    text(b).lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
}

/// Asserts `want` occurs in `got`, in order, each as a whole line.
pub fn assert_lines_in_order(got: &[String], want: &[String], what: &str) {
    let mut i = 0;
    for w in want {
        match got[i..].iter().position(|l| l == w) {
            Some(p) => i += p + 1,
            None => panic!("{what}: line `{w}` missing (or out of order) in\n{}", got.join("\n")),
        }
    }
}

/// The number N in `pyemu: ... N unmodelled register(s)` (the run summary on stderr).
pub fn unmodelled(stderr: &str) -> u64 {
    let l = stderr
        .lines()
        .rev()
        .find(|l| l.contains("unmodelled register(s)"))
        .unwrap_or_else(|| panic!("no run summary on stderr:\n{stderr}"));
    let before = l.split(" unmodelled register(s)").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("summary `{l}`"))
}
