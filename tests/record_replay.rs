//! `--record` writes every host input with its virtual time; `--replay` reproduces the run
//! byte for byte, whatever endpoint and host timing the live run had.

use test_support as firmware;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

const QUIET: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

#[test]
fn a_live_tcp_session_replays_byte_for_byte() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.json");
    let live_log = dir.path().join("live.log");
    let err = dir.path().join("err");
    let (mut child, port) = firmware::spawn_tcp(
        &fw,
        &dir.path().join("live.flash"),
        &["--config", QUIET, "--timeout", "6s", "--record", rec.to_str().unwrap(), "--serial-log-file", live_log.to_str().unwrap()],
        &err,
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut c = loop {
        if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break c;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    };
    c.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let mut sent = 0;
    // Type two lines, each after a prompt: when they arrive depends on the host.
    while sent < 2 {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "{}", firmware::text(&got));
        got.extend_from_slice(&buf[..n]);
        if firmware::text(&got).matches(">>> ").count() > sent {
            c.write_all(if sent == 0 { b"print(6*7)\r" } else { b"import os; print(os.uname().sysname)\r" }).unwrap();
            sent += 1;
        }
    }
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(42), "{}", std::fs::read_to_string(&err).unwrap());
    let live = std::fs::read(&live_log).unwrap();
    assert!(firmware::text(&live).contains("\r\n42\r\n") && firmware::text(&live).contains("LoPy4"), "{}", firmware::text(&live));
    let recording = std::fs::read_to_string(&rec).unwrap();
    assert!(recording.contains("\"uart\": 0"), "{recording}");

    // Replay on stdio, on a fresh state: the same bytes.
    let o = firmware::run(&[
        fw.to_str().unwrap(),
        "--flash-state",
        dir.path().join("replay.flash").to_str().unwrap(),
        "--config",
        QUIET,
        "--timeout",
        "6s",
        "--replay",
        rec.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(42), "{}", firmware::text(&o.stderr));
    assert!(o.stdout == live, "replay differs:\n--- live\n{}\n--- replay\n{}", firmware::text(&live), firmware::text(&o.stdout));

    // Bad recordings are refused with the file named.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"pyemu_record\": 1, \"inputs\": [{\"t_ps\": 5}]}").unwrap();
    let o = firmware::run(&[fw.to_str().unwrap(), "--replay", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("bad.json: input 0 is neither"), "{}", firmware::text(&o.stderr));
    let o = firmware::run(&[fw.to_str().unwrap(), "--replay", rec.to_str().unwrap(), "--hold", "P12=1s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("the recording holds the pin inputs"));
}
