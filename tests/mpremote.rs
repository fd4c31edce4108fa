//! The MicroPython REPL with a real client: `pyemu run --uart0 tcp:` serves UART0 and
//! `mpremote` (PyPI) connects to it with `socket://`, runs code and lists files, one
//! invocation after another, the way people use it with a board on a serial port.
//!
//! Needs the LoPy4 r7 bundle and mpremote; skips with a message when either is missing
//! unless `PYEMU_REQUIRE_FIRMWARE=1` / `PYEMU_REQUIRE_TOOLS=1`.
//!
//! Both ways mpremote starts a command are used: `resume` (run on the board as it is) and the
//! default, which first soft-resets the board from the raw REPL (Ctrl-D).

use test_support as firmware;

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Emu {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Emu {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads from `s` until `needle` shows up or `secs` of wall time pass; returns what came.
fn read_until(s: &mut TcpStream, needle: &str, secs: u64) -> String {
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&got).contains(needle) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn mpremote(tool: &[String], emu: &Emu, args: &[&str]) -> String {
    mpremote_with(tool, emu, &["resume"], args)
}

/// mpremote's default: a soft reset in the raw REPL before the command.
fn mpremote_after_soft_reset(tool: &[String], emu: &Emu, args: &[&str]) -> String {
    mpremote_with(tool, emu, &[], args)
}

fn mpremote_with(tool: &[String], emu: &Emu, mode: &[&str], args: &[&str]) -> String {
    let out = Command::new(&tool[0])
        .args(&tool[1..])
        .arg("connect")
        .arg(format!("socket://127.0.0.1:{}", emu.port))
        .args(mode)
        .args(args)
        .output()
        .expect("running mpremote");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mpremote {args:?} failed ({}):\n{text}\n{}\npyemu:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        emu.log()
    );
    text
}

#[test]
fn mpremote_runs_code_and_lists_files_across_reconnects() {
    let Some(bundle) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let Some(tool) = firmware::mpremote() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("pyemu.err");
    let args = ["--config", "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0", "--timeout", "3600s", "--log", "error"];
    let (child, port) = firmware::spawn_tcp(&bundle, &dir.path().join("lopy4.flash"), &args, &stderr);
    let emu = Emu { child, port, stderr };

    // First client: watch the boot to the prompt, then leave; the board keeps running.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut s = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(Instant::now() < deadline, "pyemu did not listen:\n{}", emu.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    let boot = read_until(&mut s, ">>> ", 120);
    assert!(boot.contains("Pycom MicroPython 1.20.2.r7"), "banner:\n{boot}\npyemu:\n{}", emu.log());
    drop(s);

    // mpremote, one invocation after another on the same running board.
    let out = mpremote(&tool, &emu, &["exec", "print(1+2)"]);
    assert_eq!(out.trim(), "3");
    let out = mpremote(&tool, &emu, &["fs", "ls", ":/flash"]);
    for name in ["boot.py", "main.py", "lib/", "sys/", "cert/"] {
        assert!(out.contains(name), "{name} in:\n{out}");
    }
    mpremote(&tool, &emu, &["exec", "f=open('/flash/m.txt','w'); f.write('via mpremote'); f.close()"]);
    let out = mpremote(&tool, &emu, &["fs", "cat", ":/flash/m.txt"]);
    assert_eq!(out.trim(), "via mpremote");
    // The default way: soft reset first. A variable set before does not survive it; the
    // file does.
    mpremote(&tool, &emu, &["exec", "left_over = 1"]);
    let out = mpremote_after_soft_reset(&tool, &emu, &["exec", "print('left_over' in globals(), open('/flash/m.txt').read())"]);
    assert_eq!(out.trim(), "False via mpremote");
    let out = mpremote_after_soft_reset(&tool, &emu, &["exec", "print(6*7)"]);
    assert_eq!(out.trim(), "42");
    let log = emu.log();
    assert!(log.matches("the board keeps running").count() >= 4, "{log}");
}
