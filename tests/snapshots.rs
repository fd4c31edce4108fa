//! Snapshots through the binary: `--save-snapshot-at` then `--snapshot` is the same run as
//! never stopping (serial bytes and LED frames), `--exec` and scenarios start from one in
//! milliseconds of virtual time, a flash state is made from a snapshot but never overwritten
//! by one, and bad snapshots (another build, damaged, not a snapshot, a full disk while
//! writing) are clear errors.

use test_support as firmware;

use base64::Engine;
use std::path::Path;

const R7: &str = "LoPy4-1.20.2.r7.tar.gz";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A recording that types `line` at `t_ps`.
fn recording(path: &Path, t_ps: u64, line: &[u8]) {
    let b = base64::engine::general_purpose::STANDARD.encode(line);
    std::fs::write(path, format!("{{\"pyemu_record\":1,\"inputs\":[{{\"t_ps\":{t_ps},\"uart\":0,\"bytes\":\"{b}\"}}]}}")).unwrap();
}

#[test]
fn a_run_saved_at_the_prompt_and_restored_is_the_run_that_never_stopped() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // Typed at 3.3 s: after the snapshot (the prompt shows at ~3 s), so the restored run gets it.
    recording(&p("rec.json"), 3_300_000_000_000, b"print(6*7)\r");
    let cold = firmware::run(&[s(&fw), "--replay", s(&p("rec.json")), "--timeout", "4s", "--serial-log-file", s(&p("cold.log")), "--led-trace", s(&p("cold.led")), "-q"]);
    assert_eq!(cold.status.code(), Some(42), "{}", firmware::text(&cold.stderr));
    let save = firmware::run(&[s(&fw), "--save-snapshot-at", ">>> ", s(&p("boot.snap")), "--serial-log-file", s(&p("a.log")), "--led-trace", s(&p("a.led"))]);
    let err = firmware::text(&save.stderr);
    assert_eq!(save.status.code(), Some(0), "{err}");
    assert!(err.contains("snapshot at ") && err.contains("boot.snap"), "{err}");
    let snap_t = err.split("snapshot at ").nth(1).unwrap().split(' ').next().unwrap().parse::<f64>().unwrap();
    assert!(snap_t < 3.3 && snap_t > 1.0, "snapshot at {snap_t} s");
    // 4 s of virtual time in all: the restored run's timeout counts from the snapshot.
    let left = format!("{}ms", 4000 - (snap_t * 1000.0).round() as u64);
    let restored = firmware::run(&["--snapshot", s(&p("boot.snap")), "--replay", s(&p("rec.json")), "--timeout", &left, "--serial-log-file", s(&p("b.log")), "--led-trace", s(&p("b.led")), "-q"]);
    assert_eq!(restored.status.code(), Some(42), "{}", firmware::text(&restored.stderr));
    let cold_log = std::fs::read(p("cold.log")).unwrap();
    let joined = [std::fs::read(p("a.log")).unwrap(), std::fs::read(p("b.log")).unwrap()].concat();
    assert_eq!(firmware::text(&joined), firmware::text(&cold_log));
    assert!(firmware::text(&cold_log).contains("print(6*7)\r\n42\r\n"), "{}", firmware::text(&cold_log));
    // The LED trace of the restored run holds the whole history, as the cold run's does.
    assert_eq!(std::fs::read(p("b.led")).unwrap(), std::fs::read(p("cold.led")).unwrap());

    // --exec from the snapshot: no boot, the answer.
    let ex = firmware::run(&["--snapshot", s(&p("boot.snap")), "--exec", "print(1+2)", "--json"]);
    assert_eq!(ex.status.code(), Some(0), "{}", firmware::text(&ex.stderr));
    assert!(firmware::text(&ex.stdout).starts_with("3\r\n") || firmware::text(&ex.stdout).starts_with("3\n"), "{}", firmware::text(&ex.stdout));

    // A flash state made from the snapshot; reused while it holds the same bytes; once the
    // board wrote to it, a snapshot no longer matches and is refused, the data untouched.
    let st = p("board.flash");
    let write = "f=open('/flash/x.txt','w'); f.write('kept'); f.close()";
    let w = firmware::run(&["--snapshot", s(&p("boot.snap")), "--flash-state", s(&st), "--exec", write]);
    assert_eq!(w.status.code(), Some(0), "{}", firmware::text(&w.stderr));
    assert!(firmware::text(&w.stderr).contains("created from snapshot"), "{}", firmware::text(&w.stderr));
    let before = std::fs::read(&st).unwrap();
    let again = firmware::run(&["--snapshot", s(&p("boot.snap")), "--flash-state", s(&st), "--exec", "print(1)"]);
    assert_eq!(again.status.code(), Some(2));
    let e = firmware::text(&again.stderr);
    assert!(e.contains("holds other data than snapshot") && e.contains("board.flash"), "{e}");
    assert_eq!(std::fs::read(&st).unwrap(), before, "the state was not touched");
    let cat = firmware::pyemu().args(["fs", "cat", s(&st), "/flash/x.txt"]).output().unwrap();
    assert_eq!(firmware::text(&cat.stdout), "kept", "{}", firmware::text(&cat.stderr));

    // Scenarios: start from it, change the board, restore it mid-scenario.
    std::fs::write(
        p("s.yaml"),
        format!(
            "version: 1\nname: from a snapshot\nsnapshot: {}\nsteps:\n  - exec: {{code: 'print(6*7)', expect: '42'}}\n  - exec: \"import pycom\\npycom.heartbeat(False)\\npycom.rgbled(0x00ff00)\"\n  - expect-led: '#00ff00'\n  - save-snapshot: green.snap\n  - restore-snapshot: boot.snap\n  - exec: {{code: 'print(2+2)', expect: '4'}}\n  - restore-snapshot: green.snap\n  - expect-led: '#00ff00'\n",
            s(&p("boot.snap"))
        ),
    )
    .unwrap();
    let t = firmware::pyemu().args(["test", s(&p("s.yaml"))]).output().unwrap();
    let out = firmware::text(&t.stdout) + &firmware::text(&t.stderr);
    assert_eq!(t.status.code(), Some(0), "{out}");
    assert!(out.contains("restore-snapshot") && p("green.snap").is_file(), "{out}");

    // Another build's snapshot: refused by `run` and, naming line and step, by a scenario.
    let mut other = std::fs::read(p("boot.snap")).unwrap();
    let text = String::from_utf8_lossy(&other[..4096.min(other.len())]).to_string();
    let at = text.find("\"layout\":\"").unwrap() + 10;
    other[at] = if other[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(p("other.snap"), &other).unwrap();
    let r = firmware::run(&["--snapshot", s(&p("other.snap")), "--timeout", "1s"]);
    assert_eq!(r.status.code(), Some(2));
    let e = firmware::text(&r.stderr);
    assert!(e.contains("other.snap") && e.contains("another pyemu build"), "{e}");
    std::fs::write(p("o.yaml"), "version: 1\nname: other build\nsnapshot: boot.snap\nsteps:\n  - delay: 10ms\n  - restore-snapshot: other.snap\n").unwrap();
    let t = firmware::pyemu().args(["test", s(&p("o.yaml"))]).output().unwrap();
    let out = firmware::text(&t.stdout) + &firmware::text(&t.stderr);
    assert_eq!(t.status.code(), Some(1), "{out}");
    assert!(out.contains("step 2 (line 6) restore-snapshot") && out.contains("another pyemu build"), "{out}");
    // Damaged, not a snapshot, missing.
    std::fs::write(p("cut.snap"), &other[..other.len() / 2]).unwrap();
    std::fs::write(p("fw.snap"), std::fs::read(&fw).unwrap()).unwrap();
    for (f, want) in [("cut.snap", "another pyemu build"), ("fw.snap", "not a pyemu snapshot"), ("none.snap", "cannot read")] {
        let r = firmware::run(&["--snapshot", s(&p(f)), "--timeout", "1s"]);
        let e = firmware::text(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{f}: {e}");
        assert!(e.contains(f) && e.contains(want), "{f}: {e}");
    }
    let mut bad = std::fs::read(p("boot.snap")).unwrap();
    let n = bad.len();
    bad.truncate(n - 1000);
    std::fs::write(p("short.snap"), &bad).unwrap();
    let r = firmware::run(&["--snapshot", s(&p("short.snap")), "--timeout", "1s"]);
    let e = firmware::text(&r.stderr);
    assert!(r.status.code() == Some(2) && e.contains("damaged snapshot"), "{e}");
    // A full disk while writing one.
    let r = firmware::run(&[s(&fw), "--save-snapshot-at", "rst:", "/dev/full", "--timeout", "1s"]);
    let e = firmware::text(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{e}");
    assert!(e.contains("writing snapshot /dev/full") && e.contains("No space left"), "{e}");
}
