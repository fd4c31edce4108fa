//! `pyemu test`: the example scenarios (one per boot mode, heartbeat, a user's main.py, an
//! expected panic) pass, with JUnit a JUnit parser accepts; bad scenario files are refused
//! with the file, line and step.

use test_support as firmware;

use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    v.sort();
    v
}

fn test_cmd(args: &[&str]) -> std::process::Output {
    firmware::pyemu().arg("test").args(args).output().unwrap()
}

#[test]
fn example_scenarios_pass_with_junit() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let logs = dir.path().join("logs");
    let files = examples();
    assert!(files.len() >= 8, "{files:?}");
    let mut args: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let plots = dir.path().join("plots");
    for a in ["--firmware", fw.to_str().unwrap(), "-j", "2", "--junit", junit.to_str().unwrap(), "--serial-log-dir", logs.to_str().unwrap(), "--plot-dir", plots.to_str().unwrap()] {
        args.push(a.into());
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let o = test_cmd(&a);
    let out = firmware::text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", firmware::text(&o.stderr));
    assert!(out.contains(&format!("{} scenario(s): {} passed, 0 failed, 0 timed out", files.len(), files.len())), "{out}");
    // A line per step with its virtual time.
    assert!(out.contains("[safe boot, P12 held 4.5 s]") && out.contains("#2 expect-led blink every 1.000000 s ✓"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), files.len(), "{xml}");
    assert!(std::fs::read_to_string(logs.join("normal-boot.log")).unwrap().contains("Pycom MicroPython 1.20.2.r7"));
    // A picture per scenario, its boot drawn from what happened.
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy();
        let svg = std::fs::read_to_string(plots.join(format!("{stem}.svg"))).unwrap_or_else(|e| panic!("{stem}.svg: {e}"));
        assert!(svg.starts_with("<svg") && svg.contains("passed"), "{stem}.svg");
    }
    let sb = std::fs::read_to_string(plots.join("safe-boot-4.5s.svg")).unwrap();
    assert!(sb.contains("safe-boot window 2") && sb.contains("app ("), "safe-boot picture");
    if let Some(py) = junit_parser() {
        let check = std::process::Command::new(&py[0])
            .args(&py[1..])
            .arg("-c")
            .arg("import sys, junitparser\nx = junitparser.JUnitXml.fromfile(sys.argv[1])\nn = sum(1 for s in x for c in s)\nf = sum(1 for s in x for c in s if not c.is_passed)\nprint(n, f)")
            .arg(&junit)
            .output()
            .unwrap();
        assert!(check.status.success(), "{}", firmware::text(&check.stderr));
        assert_eq!(firmware::text(&check.stdout).trim(), format!("{} 0", files.len()));
    }
}

/// Python with junitparser, or None (skipped unless PYEMU_REQUIRE_TOOLS=1).
fn junit_parser() -> Option<Vec<String>> {
    let ok = std::process::Command::new("python3").args(["-c", "import junitparser"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(vec!["python3".into()]);
    }
    firmware::tool_missing("the JUnit parser check: python3 -c 'import junitparser' failed (pip install junitparser)");
    None
}

#[test]
fn a_failing_scenario_says_which_step_and_shows_the_serial_tail() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("f.yaml");
    std::fs::write(
        &sc,
        "name: wrong answer\nversion: 1\nconfig: wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0\nsteps:\n  - wait-serial: '>>> '\n  - exec: { code: 'print(1+1)', expect: '3' }\n",
    )
    .unwrap();
    let to = dir.path().join("t.yaml");
    std::fs::write(&to, "name: never\nversion: 1\ntimeout: 300ms\nsteps:\n  - wait-serial: 'no such text'\n").unwrap();
    let panic = dir.path().join("p.yaml");
    std::fs::write(
        &panic,
        "name: crash\nversion: 1\nconfig: wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0\nsteps:\n  - wait-serial: '>>> '\n  - write-serial: \"import machine; machine.mem32[0] = 1\\r\\n\"\n  - delay: 500ms\n  - wait-serial: '>>> '\n",
    )
    .unwrap();
    let junit = dir.path().join("j.xml");
    let o = test_cmd(&[sc.to_str().unwrap(), to.to_str().unwrap(), panic.to_str().unwrap(), "--firmware", fw.to_str().unwrap(), "--junit", junit.to_str().unwrap()]);
    let out = firmware::text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("[wrong answer] FAILED: step 2 (line 6) exec \"print(1+1)\": exec printed \"2\", expected \"3\""), "{out}");
    assert!(out.contains("[never] TIMED OUT: step 1 (line 5) wait-serial \"no such text\""), "{out}");
    assert!(out.contains("[crash] FAILED: step 3 (line 7) delay 500.000 ms: firmware panic at") && out.contains("Guru Meditation Error"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("last serial lines") && xml.contains("&gt;&gt;&gt; "), "{xml}");
    // Timeout alone: exit 42.
    let o = test_cmd(&[to.to_str().unwrap(), "--firmware", fw.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(42), "{}", firmware::text(&o.stdout));
}

#[test]
fn bad_scenario_files_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("name: a\nversion: 1\nsteps:\n  - fly: away\n", ":4: invalid scenario step key: `fly`"),
        ("name: a\nversion: 1\nsteps:\n  - delay: 500\n", ":4: delay `500`: a unit is required"),
        ("name: a\nversion: 1\nsteps:\n  - delay: soon\n", ":4: delay `soon`: a unit is required"),
        ("name: a\nversion: 3\nsteps: []\n", ":2: Unsupported scenario version: 3"),
        ("name: a\nversion: 1\nsteps:\n  - wait-serial: x\n    timeout: 5\n", ":5: timeout `5`: a unit is required"),
        ("name: a\nversion: 1\nsteps:\n  - ota: missing.bin\n", ":4: ota:"),
        ("name: a\nversion: 1\nsteps:\n  - restore-snapshot: .\n", ":4: restore-snapshot: "),
        ("name: a\nversion: 1\nsteps:\n  - save-snapshot: {}\n", ":4: save-snapshot needs file"),
        ("name: a\nversion: 1\nsteps:\n  - expect-pin: { part-id: P99, value: 1 }\n", ":4:"),
        ("name: a\nversion: 1\nfirmware: nope.tar.gz\nsteps:\n  - delay: 1ms\n", "nope.tar.gz: no such file"),
        ("[unclosed\n", ":1:"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = dir.path().join(format!("bad{i}.yaml"));
        std::fs::write(&f, text).unwrap();
        let o = test_cmd(&[f.to_str().unwrap()]);
        let err = firmware::text(&o.stderr) + &firmware::text(&o.stdout);
        assert_ne!(o.status.code(), Some(0), "{text}");
        assert!(err.contains(want), "case {i}: want {want:?} in:\n{err}");
        assert!(err.contains(&format!("bad{i}.yaml")), "case {i}: names the file:\n{err}");
    }
    let o = test_cmd(&["/nonexistent/s.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("/nonexistent/s.yaml"));
}
