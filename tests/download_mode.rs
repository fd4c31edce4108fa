//! The ROM's UART download mode with a real client: pyemu serves UART0 on TCP and esptool
//! talks to the mask ROM's loader (`--no-stub`) and to the flasher stub it uploads (which
//! then runs on the emulated core). What esptool writes lands in the flash state file, and
//! the next normal boot of that file acts on it.
//!
//! Needs the LoPy4 r7 bundle (`PYEMU_FIRMWARE_DIR`) and esptool; skips with a message
//! when either is missing unless `PYEMU_REQUIRE_FIRMWARE=1` / `PYEMU_REQUIRE_TOOLS=1`.

use test_support as firmware;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYEMU: &str = env!("CARGO_BIN_EXE_pyemu");
const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
/// The r7 app's entry point (call_start_cpu0): the normal run stops there.
const R7_ENTRY: &str = "0x4008161c";
/// Wall-clock limit for one esptool invocation.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Free flash inside ota_0 (the r7 flash boots factory; ota_0 is blank).
const SCRATCH: u32 = 0x30_0000;
/// esptool's timeouts are wall-clock and sized for silicon. Over `socket://` a write
/// returns at once, so the 3 s allowed for a 16 KiB FLASH_DATA block includes its whole
/// transfer: 1.43 s of virtual time at 115200 baud, with the stub's CPU at 160 MHz, which
/// pyemu emulates at about half real time (less on a loaded machine).
const ESPTOOL_CFG: &str = "[esptool]\ntimeout = 20\nerase_write_timeout_per_mb = 400\nmd5_timeout_per_mb = 80\n";
const OTADATA: u32 = 0x1F_F000;

/// A `pyemu run` in download mode serving UART0 on a TCP port; killed when dropped.
struct Emu {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Emu {
    fn start(bundle: &Path, flash: &Path, dir: &Path, tag: &str) -> Emu {
        let stderr = dir.join(format!("pyemu-{tag}.err"));
        let args = ["--boot", "download", "--strict", "--timeout", "600s", "--log", "error", "--exit-on-disconnect"];
        let (child, port) = firmware::spawn_tcp(bundle, flash, &args, &stderr);
        let mut emu = Emu { child, port, stderr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if emu.log().contains("UART0 on tcp:") {
                return emu;
            }
            if let Some(st) = emu.child.try_wait().unwrap() {
                panic!("pyemu exited ({st}) before listening:\n{}", emu.log());
            }
            assert!(Instant::now() < deadline, "pyemu did not start listening:\n{}", emu.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for pyemu to end (it does when the client disconnects); returns its stderr.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "pyemu kept running after the client left:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one esptool command against a fresh download-mode pyemu on `flash`; returns
/// esptool's stdout. Panics (with both sides' output) unless esptool succeeds, and checks
/// the run touched no unmodelled register.
fn esptool(tool: &[String], bundle: &Path, flash: &Path, dir: &Path, args: &[&str]) -> String {
    let tag = args.iter().find(|a| !a.starts_with('-')).copied().unwrap_or("x");
    let emu = Emu::start(bundle, flash, dir, tag);
    let out_path = dir.join(format!("esptool-{tag}.out"));
    let t0 = Instant::now();
    let mut client = Command::new(&tool[0])
        .args(&tool[1..])
        .arg("--port")
        .arg(format!("socket://127.0.0.1:{}", emu.port))
        .args(["--before", "no-reset", "--after", "no-reset"])
        .args(args)
        .current_dir(dir)
        .env("ESPTOOL_CFGFILE", dir.join("esptool.cfg"))
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting esptool");
    let status = loop {
        if let Some(st) = client.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > CLIENT_TIMEOUT {
            let _ = client.kill();
            let _ = client.wait();
            panic!(
                "esptool {args:?} still running after {CLIENT_TIMEOUT:?}:\n{}\npyemu:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                emu.log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = client.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let emu_log = emu.finish();
    println!("esptool {}: {:.1} s", args.join(" "), t0.elapsed().as_secs_f64());
    assert!(status.success(), "esptool {args:?} failed ({status}):\n{out}\n{err}\npyemu:\n{emu_log}");
    assert_eq!(firmware::unmodelled(&emu_log), 0, "unmodelled registers during esptool {args:?}:\n{emu_log}");
    out
}

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("no `{key}` line in esptool's output:\n{out}"))
}

/// The MAC pyemu burns into the eFuses for a board (see `default_mac` in the run command).
fn default_mac(board: &str) -> String {
    let h = board.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    format!("30:ae:a4:{:02x}:{:02x}:{:02x}", (h >> 16) as u8, (h >> 8) as u8, h as u8)
}

/// Pseudo-random, incompressible-ish test data.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn esptool_against_the_rom_loader_and_the_stub() {
    let Some(bundle) = firmware::bundle_path(R7) else { return };
    let Some(tool) = firmware::esptool() else { return };
    let t_all = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let flash = dir.join("lopy4.flash");
    std::fs::write(dir.join("esptool.cfg"), ESPTOOL_CFG).unwrap();
    let mac = default_mac("lopy4");

    // The first run creates the flash state from the bundle.
    let out = esptool(&tool, &bundle, &flash, dir, &["chip-id"]);
    assert!(out.contains("Detecting chip type... ESP32"), "{out}");
    assert_eq!(field(&out, "Chip type:"), "ESP32-D0WDQ6 (revision v1.0)", "LoPy4 = ESP32-D0WDQ6 rev 1:\n{out}");
    assert_eq!(field(&out, "Crystal frequency:"), "40MHz");
    assert!(out.contains("Stub flasher running."), "{out}");
    assert_eq!(field(&out, "MAC:"), mac);
    let created = std::fs::read(&flash).expect("flash state created");
    assert_eq!(created.len(), 8 << 20);

    let out = esptool(&tool, &bundle, &flash, dir, &["--no-stub", "read-mac"]);
    assert!(!out.contains("Uploading stub"), "{out}");
    assert_eq!(field(&out, "MAC:"), mac);

    let out = esptool(&tool, &bundle, &flash, dir, &["flash-id"]);
    let manufacturer = field(&out, "Manufacturer:").to_string();
    let device = field(&out, "Device:").to_string();
    assert_eq!(field(&out, "Detected flash size:"), "8MB");
    let out = esptool(&tool, &bundle, &flash, dir, &["--no-stub", "flash-id"]);
    assert_eq!(field(&out, "Manufacturer:"), manufacturer, "ROM and stub read the same JEDEC ID");
    assert_eq!(field(&out, "Device:"), device);

    // Writes through the stub (compressed, verified by MD5) and through the ROM loader.
    let a = pattern(10_000, 0x1234_5678);
    let b = pattern(6_000, 0x9abc_def0);
    std::fs::write(dir.join("a.bin"), &a).unwrap();
    std::fs::write(dir.join("b.bin"), &b).unwrap();
    let off_a = format!("{SCRATCH:#x}");
    let off_b = format!("{:#x}", SCRATCH + 0x1_0000);
    let out = esptool(&tool, &bundle, &flash, dir, &["write-flash", &off_a, "a.bin"]);
    assert!(out.contains("Hash of data verified."), "{out}");
    let out = esptool(&tool, &bundle, &flash, dir, &["--no-stub", "write-flash", &off_b, "b.bin"]);
    assert!(out.contains("Hash of data verified."), "{out}");

    // The writes are in the state file...
    let state = std::fs::read(&flash).unwrap();
    assert_eq!(&state[SCRATCH as usize..][..a.len()], &a[..], "stub write in the flash state");
    assert_eq!(&state[SCRATCH as usize + 0x1_0000..][..b.len()], &b[..], "ROM write in the flash state");
    assert!(state[SCRATCH as usize + a.len()..][..100].iter().all(|&x| x == 0xFF), "erased tail of the sector");

    // ...and read back by both loaders.
    esptool(&tool, &bundle, &flash, dir, &["read-flash", &off_a, &a.len().to_string(), "ra.bin"]);
    assert_eq!(std::fs::read(dir.join("ra.bin")).unwrap(), a, "stub read-flash");
    esptool(&tool, &bundle, &flash, dir, &["--no-stub", "read-flash", &off_b, &b.len().to_string(), "rb.bin"]);
    assert_eq!(std::fs::read(dir.join("rb.bin")).unwrap(), b, "ROM read-flash");

    // Erase the boot record (otadata) through esptool: the Pycom bootloader, booting normally
    // from the same state file, must find it invalid, boot factory and write a fresh record.
    std::fs::write(dir.join("erased.bin"), vec![0xFF; 0x1000]).unwrap();
    esptool(&tool, &bundle, &flash, dir, &["write-flash", &format!("{OTADATA:#x}"), "erased.bin"]);
    let out = Command::new(PYEMU)
        .arg("run")
        .arg(&bundle)
        .arg("--flash-state")
        .arg(&flash)
        .args(["--timeout", "12s", "--stop-at", R7_ENTRY, "--strict", "--json", "--log", "error"])
        .output()
        .expect("starting pyemu");
    let stdout = firmware::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "normal boot did not reach the app:\n{stdout}\n{}", firmware::text(&out.stderr));
    let json_start = stdout.find("\n{").map(|i| i + 1).unwrap_or(0);
    let o: serde_json::Value = serde_json::from_str(&stdout[json_start..]).expect("outcome JSON");
    assert_eq!(o["boot_mode"], "normal");
    assert_eq!(o["booted_image"], "factory");
    assert_eq!(o["boot_record_before"]["valid"], false, "esptool's erase reached the bootloader: {o}");
    assert_eq!(o["boot_record_after"]["valid"], true, "the bootloader wrote a new record: {o}");
    assert_eq!(o["boot_record_after"]["active"], "factory");
    let state = std::fs::read(&flash).unwrap();
    assert!(state[OTADATA as usize..][..0x1000].iter().any(|&x| x != 0xFF), "new record in the state file");
    assert_eq!(&state[SCRATCH as usize..][..a.len()], &a[..], "earlier writes survive the boot");
    println!("total {:.1} s", t_all.elapsed().as_secs_f64());
}
