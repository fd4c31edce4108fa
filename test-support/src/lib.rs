//! What the tests of every pyemu crate share, written once.
//!
//! - **Firmware**: bundles live in `PYEMU_FIRMWARE_DIR` (default `../shared/firmware` beside
//!   the workspace). When one is missing a test prints `skipping: …` and passes, unless
//!   `PYEMU_REQUIRE_FIRMWARE=1`, when it panics.
//! - **External tools** (esptool, mpremote, tmux, qemu-xtensa, …): missing means
//!   `skipping: …`, unless `PYEMU_REQUIRE_TOOLS=1`, when it panics.
//! - **The `pyemu` binary** (integration tests of the root crate) and its output.
//! - **Test apps** (`apps`): small app images assembled here, no toolchain needed.
//!
//! A test names it as a dev-dependency and, where it used to include a support file,
//! writes `use test_support as firmware;`.

pub mod apps;

use images::app_image::AppImage;
use images::board::Board;
use images::bundle::Bundle;
use images::compose::{build, Firmware, Overrides};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bundles the tests know, with their application entry points.
pub const BUNDLES: [(&str, u32); 3] = [
    ("LoPy4-1.20.2.r7.tar.gz", 0x4008_161c),
    ("LoPy4-1.20.2.r4.tar.gz", 0x4008_1628),
    ("SiPy-1.20.2.rc3.tar.gz", 0x4008_1370),
];

/// A gzipped tar archive of `files` (name, bytes), as a bundle or any archive input is.
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("an in-memory archive");
    }
    b.into_inner().and_then(|gz| gz.finish()).expect("an in-memory archive")
}

/// The bundle most tests boot.
pub const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
/// Radios and the boot watchdog off, as the app bring-up tests run.
pub const RADIOS_OFF: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

fn env_is_1(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Prints `skipping: {msg}` (the test then returns and passes), or panics when `require_var`
/// is `1`.
fn skip(require_var: &str, msg: &str) {
    if env_is_1(require_var) {
        panic!("{msg}; {require_var}=1");
    }
    println!("skipping: {msg}");
}

/// The firmware directory: `PYEMU_FIRMWARE_DIR`, else `../shared/firmware` beside the
/// workspace.
pub fn firmware_dir() -> PathBuf {
    match std::env::var_os("PYEMU_FIRMWARE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/firmware"),
    }
}

/// The path of bundle `name`, or `None` (after printing why) when the test must be skipped.
pub fn bundle_path(name: &str) -> Option<PathBuf> {
    let p = firmware_dir().join(name);
    if p.is_file() {
        return Some(p);
    }
    skip("PYEMU_REQUIRE_FIRMWARE", &format!("firmware bundle {} not found (set PYEMU_FIRMWARE_DIR)", p.display()));
    None
}

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
        skip("PYEMU_REQUIRE_FIRMWARE", &format!("no firmware bundles (*.tar.gz) in {} (set PYEMU_FIRMWARE_DIR)", dir.display()));
        return None;
    }
    Some(v)
}

/// The LoPy4 r7 bundle flashed as Pycom's updater would, with the radios-off config: the
/// flash bytes and the board; `None` when the bundle is absent.
pub fn lopy4_r7_image() -> Option<(Vec<u8>, Board)> {
    let bytes = std::fs::read(bundle_path(R7)?).expect("bundle readable");
    let bundle = Bundle::from_bytes(&bytes).expect("bundle");
    let board = Board::by_id("lopy4").expect("lopy4 board");
    let ov = Overrides { config: Some(RADIOS_OFF.into()), ..Default::default() };
    let (img, _) = build(R7, &Firmware::Bundle(bundle), &board, &ov).expect("flash build");
    Some((img.read(0, img.size()).to_vec(), board))
}

/// A tool the test needs is missing (`what`, with how to install it): `skipping: …`, or a
/// panic under `PYEMU_REQUIRE_TOOLS=1`.
pub fn tool_missing(what: &str) {
    skip("PYEMU_REQUIRE_TOOLS", what);
}

/// The first of `candidates` that answers `version_arg` successfully, or `None` (after
/// printing why) when none does and the test must be skipped.
pub fn find_tool(name: &str, candidates: &[&[&str]], version_arg: &str, install: &str) -> Option<Vec<String>> {
    for c in candidates {
        if Command::new(c[0]).args(&c[1..]).arg(version_arg).output().map(|o| o.status.success()).unwrap_or(false) {
            return Some(c.iter().map(|s| s.to_string()).collect());
        }
    }
    tool_missing(&format!("{name} not found (tried {candidates:?}; {install})"));
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

/// The `pyemu` binary cargo built for this test run: `CARGO_BIN_EXE_pyemu` (set at run time
/// by cargo ≥ 1.94), else beside the test executable's `deps/` directory, where cargo puts
/// a package's binaries.
pub fn pyemu_exe() -> PathBuf {
    if let Some(p) = std::env::var_os("CARGO_BIN_EXE_pyemu") {
        return PathBuf::from(p);
    }
    let me = std::env::current_exe().expect("test executable path");
    let p = me
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join(format!("pyemu{}", std::env::consts::EXE_SUFFIX)))
        .expect("test executable in target/<profile>/deps");
    assert!(p.is_file(), "pyemu binary not found at {} (run the root crate's tests through cargo)", p.display());
    p
}

pub fn pyemu() -> Command {
    Command::new(pyemu_exe())
}

/// Runs `pyemu run ARGS...`; panics if it cannot be started.
pub fn run(args: &[&str]) -> Output {
    pyemu().arg("run").args(args).output().expect("starting pyemu")
}

/// Starts `pyemu run BUNDLE --flash-state FLASH ARGS --uart0 tcp:127.0.0.1:PORT` on a free
/// port, stderr to `stderr`; returns the child and the port.
pub fn spawn_tcp(bundle: &Path, flash: &Path, args: &[&str], stderr: &Path) -> (std::process::Child, u16) {
    // A free port: bind port 0, note it, let it go for pyemu to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = pyemu()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_order_and_the_run_summary() {
        let got = lines(b"a\r\nb\nc\n");
        assert_eq!(got, ["a", "b", "c"]);
        assert_lines_in_order(&got, &["a".into(), "c".into()], "ok");
        assert!(std::panic::catch_unwind(|| assert_lines_in_order(&got, &["c".into(), "a".into()], "order")).is_err());
        assert_eq!(unmodelled("boot\npyemu: 2.1 s virtual, 17 unmodelled register(s)\n"), 17);
    }
}
