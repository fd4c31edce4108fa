//! UART0 as a serial device with the tools people use on a board on their desk, through
//! the binary:
//!
//! * RFC 2217 (`--uart0 rfc2217:`): `mpremote connect port:rfc2217://…` runs code without
//!   resetting the board; esptool with its default reset modes (`--before default-reset`,
//!   `--after hard-reset`), no `--hold`, enters the ROM loader through DTR/RTS and the
//!   auto-reset circuit, runs `chip-id`, writes an app image at 0x10000 at 921600 baud
//!   and reboots into it.
//! * A pty (`--uart0 pty:PATH`): picocom shows the prompt and answers `1+2`; esptool writes
//!   an app image through it (the baud rate it sets on the pty followed) that the next
//!   power-on boots. A pty has no modem lines, so download mode is `--boot download`.
//!   (espflash 4.7 accepts only ports the OS enumerates as hardware, never a pty:
//!   esp-rs/espflash#823; it cannot be a client here.)
//!
//! The app written is a small image made here (it prints a banner through the ROM's
//! `ets_printf` and idles), so the transfers cost little. Needs the LoPy4 r7 bundle and
//! esptool, mpremote, picocom; skips with a message when one is missing unless
//! `PYEMU_REQUIRE_FIRMWARE=1` / `PYEMU_REQUIRE_TOOLS=1`.

use test_support::apps;
use test_support as firmware;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
const RADIOS_OFF: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";
const BANNER: &str = "pyemu serial-port test app, flashed by";
/// esptool's timeouts are wall clock and sized for silicon (see tests/download_mode.rs).
const ESPTOOL_CFG: &str = "[esptool]\ntimeout = 20\nerase_write_timeout_per_mb = 400\nmd5_timeout_per_mb = 80\n";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

/// A `pyemu run` with a serial log; stopped (SIGTERM) when dropped.
struct Emu {
    child: Child,
    stderr: PathBuf,
    log: PathBuf,
}

impl Emu {
    fn start(bundle: &Path, flash: &Path, dir: &Path, tag: &str, args: &[&str]) -> Emu {
        let stderr = dir.join(format!("pyemu-{tag}.err"));
        let log = dir.join(format!("pyemu-{tag}.log"));
        let child = firmware::pyemu()
            .arg("run")
            .arg(bundle)
            .arg("--flash-state")
            .arg(flash)
            .arg("--serial-log-file")
            .arg(&log)
            .args(["--log", "error"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("starting pyemu");
        Emu { child, stderr, log }
    }

    fn err(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn log(&self) -> String {
        firmware::text(&std::fs::read(&self.log).unwrap_or_default())
    }

    fn wait(&mut self, what: &str, secs: u64, get: impl Fn(&Emu) -> String) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = get(self);
            if text.contains(what) {
                return text;
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("pyemu exited ({st}) before `{what}`:\n{}\nlog:\n{}", self.err(), self.log());
            }
            assert!(Instant::now() < deadline, "no `{what}` within {secs} s:\n{}\nlog:\n{}", self.err(), self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_log(&mut self, what: &str, secs: u64) -> String {
        self.wait(what, secs, Emu::log)
    }

    fn wait_err(&mut self, what: &str, secs: u64) -> String {
        self.wait(what, secs, Emu::err)
    }

    /// SIGTERM, as a user's Ctrl-C would; returns stderr.
    fn stop(mut self) -> String {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let st = self.child.wait().unwrap();
        assert_eq!(st.code(), Some(143), "pyemu ends cleanly on SIGTERM:\n{}", self.err());
        self.err()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a client command to its end (at most `CLIENT_TIMEOUT`); returns stdout, panics
/// with both sides' output unless it succeeds.
fn client(cmd: &mut Command, what: &str, emu: &Emu) -> String {
    let t0 = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let out = std::thread::scope(|s| {
        let o = s.spawn(|| {
            let mut v = String::new();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut v).ok();
            v
        });
        let mut e = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut e).ok();
        (o.join().unwrap(), e)
    });
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > CLIENT_TIMEOUT {
            let _ = child.kill();
            panic!("{what}: still running after {CLIENT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    println!("{what}: {:.1} s", t0.elapsed().as_secs_f64());
    assert!(st.success(), "{what} failed ({st}):\n{}\n{}\npyemu:\n{}\nlog:\n{}", out.0, out.1, emu.err(), emu.log());
    out.0 + &out.1
}

#[test]
fn esptool_and_mpremote_over_rfc2217_with_the_auto_reset_circuit() {
    let Some(bundle) = firmware::bundle_path(R7) else { return };
    let Some(esptool) = firmware::esptool() else { return };
    let Some(mpremote) = firmware::mpremote() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let flash = dir.join("lopy4.flash");
    std::fs::write(dir.join("esptool.cfg"), ESPTOOL_CFG).unwrap();
    let app = apps::banner_app(&bundle, &format!("{BANNER} esptool"));
    std::fs::write(dir.join("app.bin"), &app).unwrap();
    let port = free_port();
    let url = format!("rfc2217://127.0.0.1:{port}");
    let mut emu =
        Emu::start(&bundle, &flash, dir, "rfc2217", &["--config", RADIOS_OFF, "--timeout", "3600s", "--uart0", &format!("rfc2217:{port}")]);
    emu.wait_log(">>> ", 120);

    // mpremote opens with DTR and RTS asserted (pyserial's default), which the circuit
    // ignores: the board runs on.
    let out = client(Command::new(&mpremote[0]).args(&mpremote[1..]).args(["connect", &format!("port:{url}"), "exec", "print(1+2)"]), "mpremote exec", &emu);
    assert_eq!(out.trim(), "3");
    assert_eq!(emu.log().matches("rst:0x1 (POWERON_RESET)").count(), 1, "mpremote reset nothing:\n{}", emu.log());

    // esptool, default reset modes: into the ROM loader and back out.
    let esptool_cmd = |args: &[&str]| {
        let mut c = Command::new(&esptool[0]);
        c.args(&esptool[1..]).args(["--port", &url]).args(args).current_dir(dir).env("ESPTOOL_CFGFILE", dir.join("esptool.cfg"));
        c
    };
    let out = client(&mut esptool_cmd(&["chip-id"]), "esptool chip-id", &emu);
    assert!(out.contains("Chip type:          ESP32-D0WDQ6 (revision v1.0)"), "{out}");
    assert!(out.contains("Hard resetting via RTS pin"), "{out}");
    let log = emu.wait_log("waiting for download", 30);
    assert!(log.contains("rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT"), "EN reset with GPIO0 low:\n{log}");

    // A new app at 0x10000, faster (the loader's CHANGE_BAUDRATE), then a hard reset.
    let out = client(&mut esptool_cmd(&["--baud", "921600", "write-flash", "0x10000", "app.bin"]), "esptool write-flash", &emu);
    assert!(out.contains("Hash of data verified."), "{out}");
    let log = emu.wait_log(&format!("{BANNER} esptool"), 60);
    assert!(log.matches("waiting for download").count() >= 2, "{log}");
    let err = emu.err();
    assert!(err.contains("UART0 client set 921600 8N1"), "{err}");
    let state = std::fs::read(&flash).unwrap();
    assert_eq!(&state[0x10000..0x10000 + app.len()], &app[..], "the app is in the flash state");
    let err = emu.stop();
    assert_eq!(firmware::unmodelled(&err), 0, "{err}");
}

#[test]
fn picocom_and_esptool_on_a_pty() {
    let Some(bundle) = firmware::bundle_path(R7) else { return };
    let Some(picocom) = firmware::picocom() else { return };
    let Some(esptool) = firmware::esptool() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let flash = dir.join("lopy4.flash");
    let link = dir.join("ttyPYEMU");
    let link_s = link.to_str().unwrap();
    let mut emu = Emu::start(&bundle, &flash, dir, "pty", &["--config", RADIOS_OFF, "--timeout", "3600s", "--uart0", &format!("pty:{link_s}")]);
    emu.wait_err("on pty", 60);
    emu.wait_log(">>> ", 120);

    // picocom on the pty, its own terminal a pty the test holds.
    let term = pyemu::pty::Pty::open(None).unwrap();
    let tty = || std::fs::OpenOptions::new().read(true).write(true).open(&term.path).unwrap();
    let mut pc = Command::new(&picocom[0])
        .args(["-b", "115200", "-q", link_s])
        .stdin(tty())
        .stdout(tty())
        .stderr(tty())
        .spawn()
        .expect("starting picocom");
    let mut seen = Vec::new();
    let mut read_until = |want: &str, secs: u64| -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut buf = [0u8; 4096];
        loop {
            let n = term.read(&mut buf);
            seen.extend_from_slice(&buf[..n]);
            let text = firmware::text(&seen);
            if text.contains(want) {
                return text;
            }
            assert!(Instant::now() < deadline, "picocom showed no `{want}`:\n{text}");
            if n == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let shown = read_until(">>> ", 30);
    assert!(shown.contains("Pycom MicroPython 1.20.2.r7"), "the boot log kept for the first client:\n{shown}");
    assert!(term.write_all(b"1+2\r"));
    let shown = read_until("1+2\r\n3\r\n>>> ", 30);
    // C-a C-x: picocom exits.
    assert!(term.write_all(b"\x01\x18"));
    let st = pc.wait().unwrap();
    assert!(st.success(), "picocom: {st}\n{shown}");
    let err = emu.wait_err("UART0 client disconnected", 10);
    assert!(err.contains("UART0 pty client connected"), "{err}");
    let err = emu.stop();
    assert!(!link.exists(), "the link goes with the run:\n{err}");

    // A flashing tool on the pty: it has no DTR/RTS (esptool's reset gets ENOTTY, says so
    // and goes on), so download mode is the strap. The baud rate esptool sets on the pty
    // after the loader's CHANGE_BAUDRATE is the client's line.
    let app = apps::banner_app(&bundle, &format!("{BANNER} over the pty"));
    std::fs::write(dir.join("app.bin"), &app).unwrap();
    let mut emu = Emu::start(&bundle, &flash, dir, "download", &["--boot", "download", "--timeout", "3600s", "--uart0", &format!("pty:{link_s}")]);
    emu.wait_err("on pty", 60);
    let out = client(
        Command::new(&esptool[0]).args(&esptool[1..]).args(["--port", link_s, "--baud", "921600", "write-flash", "0x10000", "app.bin"]).current_dir(dir),
        "esptool write-flash on the pty",
        &emu,
    );
    assert!(out.contains("Hash of data verified."), "{out}");
    assert!(out.contains("Chip was NOT reset"), "{out}");
    let err = emu.wait_err("UART0 client set 921600 8N1", 10);
    assert!(err.contains("UART0 pty client connected"), "{err}");
    let err = emu.stop();
    assert_eq!(firmware::unmodelled(&err), 0, "{err}");
    let state = std::fs::read(&flash).unwrap();
    assert_eq!(&state[0x10000..0x10000 + app.len()], &app[..], "the app is in the flash state");

    // The next power-on boots it.
    let out = firmware::run(&[
        bundle.to_str().unwrap(),
        "--flash-state",
        flash.to_str().unwrap(),
        "--timeout",
        "5s",
        "--expect-text",
        &format!("{BANNER} over the pty"),
        "--no-stdin",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", firmware::text(&out.stdout), firmware::text(&out.stderr));
}

#[test]
fn user_code_talks_to_host_programs_on_uart1_and_uart2() {
    let Some(bundle) = firmware::bundle_path(R7) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let link = dir.join("ttyUART2");
    // A sensor-like host program on UART1 (raw TCP): answers the board's request.
    let tcp = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut s = loop {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                break s;
            }
            assert!(Instant::now() < deadline, "no UART1 server");
            std::thread::sleep(Duration::from_millis(50));
        };
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.ends_with(b"MEASURE\n") {
            let n = std::io::Read::read(&mut s, &mut buf).unwrap();
            assert!(n > 0, "UART1 closed; got {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        std::io::Write::write_all(&mut s, b"21.5C\n").unwrap();
        got
    });
    // A modem-like one on UART2 (a pty), its end set to 57600 baud while the board's UART2
    // runs at 115200: it reads what a receiver at 57600 samples.
    let link2 = link.clone();
    let pty = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !link2.exists() {
            assert!(Instant::now() < deadline, "no UART2 pty");
            std::thread::sleep(Duration::from_millis(20));
        }
        let f = std::fs::OpenOptions::new().read(true).write(true).open(&link2).unwrap();
        // SAFETY: termios is plain data; the descriptor is open.
        unsafe {
            use std::os::fd::AsRawFd;
            let mut t: libc::termios = std::mem::zeroed();
            libc::tcgetattr(f.as_raw_fd(), &mut t);
            libc::cfsetspeed(&mut t, libc::B57600);
            libc::tcsetattr(f.as_raw_fd(), libc::TCSANOW, &t);
            let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let mut last = Instant::now();
        while got.is_empty() || last.elapsed() < Duration::from_millis(500) {
            assert!(Instant::now() < deadline, "nothing on UART2");
            match std::io::Read::read(&mut &f, &mut buf) {
                Ok(n) if n > 0 => {
                    got.extend_from_slice(&buf[..n]);
                    last = Instant::now();
                }
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        got
    });
    let code = "
from machine import UART
import time
u1 = UART(1, 115200)
u2 = UART(2, 115200)
u2.write('AT\\r')
u1.write('MEASURE\\n')
t = time.ticks_ms()
while not u1.any() and time.ticks_diff(time.ticks_ms(), t) < 20000:
    time.sleep_ms(10)
time.sleep_ms(20)
print('sensor says', u1.read())
";
    let out = firmware::run(&[
        bundle.to_str().unwrap(),
        "--config",
        RADIOS_OFF,
        "--timeout",
        "60s",
        "--uart1",
        &format!("tcp:{port}"),
        "--uart2",
        &format!("pty:{}", link.display()),
        "--exec",
        code,
    ]);
    let stdout = firmware::text(&out.stdout);
    let stderr = firmware::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "sensor says b'21.5C\\n'", "{stderr}");
    assert_eq!(tcp.join().unwrap(), b"MEASURE\n");
    let garbled = pty.join().unwrap();
    let line = |baud| peripherals::uart::Line { baud, data_bits: 8, parity: peripherals::uart::Parity::None, stop_half_bits: 2 };
    assert_eq!(garbled, pyemu::wire::reframe(b"AT\r", line(115200), line(57600)), "{stderr}");
    assert_ne!(garbled, b"AT\r");
    assert!(stderr.contains("UART2 on pty"), "{stderr}");
    assert!(stderr.contains("UART2 client set 57600 8N1"), "{stderr}");
}
