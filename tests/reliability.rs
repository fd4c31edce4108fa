//! The flash state is the user's data, and `pyemu run` is a tool users point at real files:
//! every way a fair but hostile user can hurt it (issue 13), through the binary.

use test_support as firmware;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
const R4: &str = "LoPy4-1.20.2.r4.tar.gz";
const QUIET_RADIOS: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pyemu_run(args: &[&str]) -> Command {
    let mut c = firmware::pyemu();
    c.arg("run").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Waits for `child` with a wall-clock limit; kills it and panics when exceeded.
fn wait_limit(mut child: std::process::Child, secs: u64, what: &str) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what}: still running after {secs} s\n{}", firmware::text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the child's stderr until `text` appears; returns the pipe for the rest.
fn read_stderr_until(child: &mut std::process::Child, text: &str) -> std::process::ChildStderr {
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !firmware::text(&seen).contains(text) {
        let n = err.read(&mut buf).unwrap();
        assert!(n > 0, "ended before `{text}`: {}", firmware::text(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    err
}

/// Peak resident set of this process's waited-for children, in KiB.
fn children_max_rss_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

#[test]
fn endless_stdin_is_taken_at_the_uart_rate_not_queued() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    // 2 s of virtual time with /dev/zero on stdin: used to grow by the pipe's speed (24 GB
    // before the OOM killer); now stdin waits for the UART.
    let child = firmware::pyemu()
        .args(["run", s(&fw), "--timeout", "2s", "-q"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_limit(child, 120, "run with /dev/zero on stdin");
    assert_eq!(out.status.code(), Some(42), "{}", firmware::text(&out.stderr));
    let kib = children_max_rss_kib();
    assert!(kib < 1024 * 1024, "peak RSS {kib} KiB");
}

fn bootloader_present(state: &Path) -> bool {
    let d = std::fs::read(state).unwrap();
    d.len() == 0x80_0000 && d[0x1000] == 0xE9 && d[0x8000..0x8002] == [0xAA, 0x50]
}

#[test]
fn two_runs_creating_one_state_at_once_one_runs_the_other_is_told() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("new.flash");
        let a = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "300ms", "-q"]).spawn().unwrap();
        let b = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "300ms", "-q"]).spawn().unwrap();
        let (pa, pb) = (a.id(), b.id());
        let (oa, ob) = (wait_limit(a, 120, "run a"), wait_limit(b, 120, "run b"));
        let mut ran = 0;
        for (o, other) in [(&oa, pb), (&ob, pa)] {
            let err = firmware::text(&o.stderr);
            match o.status.code() {
                Some(42) => ran += 1,
                Some(2) => assert!(err.contains(&format!("in use by pid {other}")), "round {round}: {err}"),
                c => panic!("round {round}: exit {c:?}\n{err}"),
            }
        }
        assert!(ran >= 1, "round {round}: neither run went ahead");
        assert!(bootloader_present(&state), "round {round}: the state is not a whole flash image");
        // And the state boots.
        let o = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "300ms", "--expect-text", "entry 0x"]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", firmware::text(&o.stderr));
        assert!(!firmware::text(&o.stderr).contains("created"), "reused, not created again");
    }
}

#[test]
fn a_second_run_on_a_state_in_use_is_refused_with_the_pid() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("busy.flash");
    let mut first = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "600s", "--uart0", "tcp:0", "-q"]).spawn().unwrap();
    // The first run holds the lock once it says where UART0 is (after the state is open).
    let _err = read_stderr_until(&mut first, "UART0 on tcp://");
    let before = std::fs::read(&state).unwrap();
    let o = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "1s"]).output().unwrap();
    let text = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains(&format!("busy.flash: flash state in use by pid {}", first.id())), "{text}");
    assert!(o.stdout.is_empty(), "the second run did not power on");
    // SIGTERM ends the first cleanly; the refused run changed nothing.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    let st = first.wait().unwrap();
    assert_eq!(st.code(), Some(143));
    let after = std::fs::read(&state).unwrap();
    assert_eq!(before[..0x10000], after[..0x10000]);
}

#[test]
fn a_reused_state_says_what_it_keeps_and_reflash_rebuilds_it() {
    let (Some(r7), Some(r4)) = (firmware::bundle_path(R7), firmware::bundle_path(R4)) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.flash");
    let o = pyemu_run(&[s(&r7), "--flash-state", s(&state), "--config", "wifi_on_boot=0", "--timeout", "10ms"]).output().unwrap();
    assert_eq!(o.status.code(), Some(42), "{}", firmware::text(&o.stderr));
    assert!(firmware::text(&o.stderr).contains("created from"), "{}", firmware::text(&o.stderr));
    let made = std::fs::read(&state).unwrap();

    // Another FIRMWARE, --config and --boot-info: each named as not used; nothing changes.
    let o = pyemu_run(&[s(&r4), "--flash-state", s(&state), "--config", "heartbeat_on_boot=0", "--boot-info", "erased", "--timeout", "10ms"])
        .output()
        .unwrap();
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(42), "{err}");
    assert!(err.contains("keeps the firmware it was made from") && err.contains(R4) && err.contains("is not used"), "{err}");
    assert!(err.contains("--config heartbeat_on_boot=0 ignored") && err.contains("made with wifi_on_boot=0"), "{err}");
    assert!(err.contains("--boot-info erased ignored"), "{err}");
    let now = std::fs::read(&state).unwrap();
    assert_eq!(made[0x10000..0x20000], now[0x10000..0x20000], "the app was not touched");

    // A FIRMWARE that does not exist is an error, even with a state that has its own.
    let o = pyemu_run(&["/nonexistent/fw.tar.gz", "--flash-state", s(&state), "--board", "lopy4"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("/nonexistent/fw.tar.gz: no such firmware file"));

    // --reflash: r4's app lands; the config block and the user's file system stay.
    let mut data = std::fs::read(&state).unwrap();
    let fs = 0x400000; // LoPy4 8 MB layout: /flash, outside the partition table
    data[fs..fs + 16].copy_from_slice(b"user data here!!");
    std::fs::write(&state, &data).unwrap();
    let o = pyemu_run(&[s(&r4), "--flash-state", s(&state), "--reflash", "--timeout", "10ms"]).output().unwrap();
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(42), "{err}");
    assert!(err.contains("--reflash: kept the config block"), "{err}");
    let after = std::fs::read(&state).unwrap();
    assert_eq!(after[0x3FF000..0x400000], made[0x3FF000..0x400000], "config block kept");
    let banner = |d: &[u8]| images::app_image::AppImage::parse(&d[0x10000..]).unwrap().banner;
    assert!(banner(&made).unwrap().contains("1.20.2.r7"));
    assert!(banner(&after).unwrap().contains("1.20.2.r4"), "factory holds r4 now");
    assert_eq!(&after[fs..fs + 16], b"user data here!!", "{err}");
    assert!(err.contains("kept partition /flash file system at 0x400000"), "{err}");
    let meta = std::fs::read_to_string(dir.path().join("s.flash.meta")).unwrap();
    assert!(meta.contains(R4) && meta.contains("wifi_on_boot=0"), "{meta}");
    // --reflash without a state makes no sense.
    let o = pyemu_run(&[s(&r4), "--reflash"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("--reflash needs --flash-state"));
}

#[test]
fn a_bad_flag_creates_nothing() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.flash");
    for (args, why) in [
        (vec!["--uart0", "garbage"], "--uart0 garbage"),
        (vec!["--led-trace", "/nonexistent/dir/led.csv"], "--led-trace /nonexistent/dir/led.csv"),
        (vec!["--vcd", "/nonexistent/dir/p.vcd"], "--vcd /nonexistent/dir/p.vcd"),
        (vec!["--serial-log-file", "/nonexistent/dir/s.log"], "--serial-log-file"),
        (vec!["--trace", "/nonexistent/dir/t.txt"], "--trace"),
        (vec!["--hold", "P2=high", "--boot", "download"], "--hold P2=high and --boot download"),
        (vec!["--hold", "P12=high", "--hold", "P12=2s"], "--hold P12=high and --hold P12=2s"),
        (vec!["--expect-regex", "(unclosed"], "--expect-regex"),
    ] {
        let mut a = vec![s(&fw), "--flash-state", s(&state), "--timeout", "1s"];
        a.extend(args);
        let t = Instant::now();
        let o = pyemu_run(&a).output().unwrap();
        let err = firmware::text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{why}: {err}");
        assert!(err.contains(why), "{why}: {err}");
        assert!(o.stdout.is_empty(), "{why}: powered on anyway");
        assert!(!state.exists(), "{why}: the state file was created");
        assert!(t.elapsed() < Duration::from_secs(10), "{why}: found late");
    }
}

#[test]
fn trace_write_errors_end_the_run() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let o = pyemu_run(&[s(&fw), "--trace", "/dev/full", "--timeout", "1s"]).output().unwrap();
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--trace /dev/full: write failed") && err.contains("No space left"), "{err}");
    let o = pyemu_run(&[s(&fw), "--serial-log-file", "/dev/full", "--timeout", "100ms"]).output().unwrap();
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--serial-log-file /dev/full: write failed"), "{err}");
}

fn signal_run(sig: i32, code: i32) {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let led = dir.path().join("led.csv");
    let vcd = dir.path().join("pins.vcd");
    let state = dir.path().join("s.flash");
    let mut child = pyemu_run(&[
        s(&fw),
        "--flash-state",
        s(&state),
        "--timeout",
        "600s",
        "--json",
        "--led-trace",
        s(&led),
        "--vcd",
        s(&vcd),
        "--uart0",
        "tcp:0",
        "--hold",
        "P12=1s",
    ])
    .spawn()
    .unwrap();
    // Let the bootloader draw its safe-boot LED frames, then signal.
    let mut err = read_stderr_until(&mut child, "UART0 on tcp://");
    std::thread::sleep(Duration::from_millis(2500));
    unsafe { libc::kill(child.id() as i32, sig) };
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(code), "{rest}");
    assert!(rest.contains(&format!("stopped by signal {sig}")), "{rest}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(j["exit_code"], code);
    let frames = j["led_frames"].as_array().unwrap().len();
    assert!(frames >= 2, "{out}");
    let csv = std::fs::read_to_string(&led).unwrap();
    assert_eq!(csv.lines().count(), frames + 1, "{csv}");
    let v = std::fs::read_to_string(&vcd).unwrap();
    assert!(v.contains("$enddefinitions") && v.contains("led_rgb"), "{v}");
    assert!(bootloader_present(&state));
}

#[test]
fn sigterm_ends_the_run_cleanly_with_every_output() {
    signal_run(libc::SIGTERM, 143);
}

#[test]
fn sigint_ends_the_run_cleanly_with_every_output() {
    signal_run(libc::SIGINT, 130);
}

#[test]
fn tcp_uart_without_a_client_still_runs_to_the_timeout() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let child = pyemu_run(&[s(&fw), "--uart0", "tcp:0", "--timeout", "500ms"]).spawn().unwrap();
    let o = wait_limit(child, 60, "tcp run without a client");
    assert_eq!(o.status.code(), Some(42), "{}", firmware::text(&o.stderr));
}

#[test]
fn a_client_connecting_late_gets_the_boot_log() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let errf = dir.path().join("err");
    let (child, port) = firmware::spawn_tcp(&fw, &dir.path().join("s.flash"), &["--timeout", "20s"], &errf);
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _k = Kill(child);
    std::thread::sleep(Duration::from_millis(1500));
    let mut c = loop {
        if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !firmware::text(&got).contains("entry 0x") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(firmware::text(&got).contains("rst:0x1 (POWERON_RESET)"), "{}", firmware::text(&got));
}

#[test]
fn a_state_of_the_wrong_size_gets_a_hint() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state: PathBuf = dir.path().join("cut.flash");
    std::fs::write(&state, vec![0xFFu8; 12345]).unwrap();
    let o = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "10ms"]).output().unwrap();
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cut.flash: flash state is 0x3039 bytes but the lopy4 has 0x800000") && err.contains("remove the file"), "{err}");
    assert_eq!(std::fs::metadata(&state).unwrap().len(), 12345, "left as it was");
    // An empty file (a creation that never happened) is created afresh.
    std::fs::write(&state, b"").unwrap();
    let o = pyemu_run(&[s(&fw), "--flash-state", s(&state), "--timeout", "10ms", "--config", QUIET_RADIOS]).output().unwrap();
    assert_eq!(o.status.code(), Some(42), "{}", firmware::text(&o.stderr));
    assert!(bootloader_present(&state));
}
