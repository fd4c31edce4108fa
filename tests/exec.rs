//! `pyemu run --exec CODE` / `--script FILE`: the first prompt, the raw REPL, the code; its
//! output on stdout, a traceback on stderr with exit 1.

use test_support as firmware;

const QUIET_RADIOS: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

#[test]
fn exec_prints_the_output_of_the_code_only() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serial.log");
    let o = firmware::run(&[
        fw.to_str().unwrap(),
        "--config",
        QUIET_RADIOS,
        "--serial-log-file",
        log.to_str().unwrap(),
        "--exec",
        "print(1+2)\nfor i in range(2): print('line', i)",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", firmware::text(&o.stderr));
    assert_eq!(firmware::text(&o.stdout), "3\r\nline 0\r\nline 1\r\n");
    // The boot log is in the serial log, with the raw REPL's traffic.
    let serial = std::fs::read_to_string(&log).unwrap();
    assert!(serial.contains("Pycom MicroPython 1.20.2.r7") && serial.contains("raw REPL; CTRL-B to exit"), "{serial}");
}

#[test]
fn script_with_a_traceback_exits_1_with_the_traceback_on_stderr() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("t.py");
    std::fs::write(&script, "import os\nprint(os.uname().sysname)\n1/0\n").unwrap();
    let o = firmware::run(&[fw.to_str().unwrap(), "--config", QUIET_RADIOS, "--script", script.to_str().unwrap(), "-q"]);
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(firmware::text(&o.stdout), "LoPy4\r\n");
    assert!(err.contains("Traceback (most recent call last):") && err.contains("ZeroDivisionError"), "{err}");
}

#[test]
fn exec_without_a_prompt_in_time_times_out_and_shows_the_boot_log() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let o = firmware::run(&[fw.to_str().unwrap(), "--config", QUIET_RADIOS, "--exec", "print(1)", "--timeout", "300ms", "-q"]);
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(42), "{err}");
    assert!(err.contains("no MicroPython prompt (>>> ) within 300.000 ms") && err.contains("entry 0x"), "{err}");
}

#[test]
fn exec_refuses_flags_it_cannot_honour() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let f = fw.to_str().unwrap();
    for (extra, want) in [
        (vec!["--uart0", "tcp:0"], "--exec drives UART0 itself"),
        (vec!["--expect-text", "x"], "cannot be combined with --expect-text"),
    ] {
        let mut a = vec![f, "--exec", "print(1)"];
        a.extend(extra);
        let o = firmware::run(&a);
        assert_eq!(o.status.code(), Some(2));
        assert!(firmware::text(&o.stderr).contains(want), "{}", firmware::text(&o.stderr));
    }
    let o = firmware::run(&[f, "--script", "/nonexistent/x.py"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("--script /nonexistent/x.py: cannot read"));
}
