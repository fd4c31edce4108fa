//! Determinism: two runs of the same firmware for the same virtual time write byte-identical
//! UART0 logs (and the same bytes on stdout).

use test_support as firmware;

use firmware::*;

#[test]
fn lopy4_r7_three_seconds_twice_byte_identical() {
    let Some(path) = bundle_path(BUNDLES[0].0) else { return };
    let dir = std::env::temp_dir().join(format!("pyemu-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let logs = [dir.join("run1.log"), dir.join("run2.log")];
    // Both runs at once (they are independent processes).
    let children: Vec<_> = logs
        .iter()
        .map(|log| {
            pyemu()
                .args(["run", path.to_str().unwrap(), "--timeout", "3s", "--serial-log-file", log.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("starting pyemu")
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().expect("pyemu")).collect();
    let data: Vec<Vec<u8>> = logs.iter().map(|l| std::fs::read(l).expect("serial log")).collect();
    let _ = std::fs::remove_dir_all(&dir);

    for (i, o) in outs.iter().enumerate() {
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(42), "run {}: ends at the 3 s timeout\n{stderr}", i + 1);
        assert!(stderr.contains("3.000000 s virtual"), "run {}: 3 s of virtual time\n{stderr}", i + 1);
        assert_eq!(o.stdout, data[i], "run {}: the log file holds what went to stdout", i + 1);
        // More than the ROM's first line: at least the ROM's load of the bootloader.
        let l = lines(&data[i]);
        let banner = l.iter().position(|x| x == "ets Jun  8 2016 00:22:57").expect("ROM banner in the log");
        let after: Vec<&String> = l[banner + 1..].iter().filter(|x| !x.trim().is_empty()).collect();
        assert!(after.len() >= 3, "run {}: log has output beyond the banner:\n{}", i + 1, l.join("\n"));
        assert!(after.iter().any(|x| x.starts_with("entry 0x")), "run {}: the ROM started the bootloader", i + 1);
    }
    if data[0] != data[1] {
        let at = data[0].iter().zip(&data[1]).position(|(a, b)| a != b).unwrap_or(data[0].len().min(data[1].len()));
        panic!(
            "logs differ at byte {at} (lengths {} and {}):\n--- run 1 from there:\n{}\n--- run 2 from there:\n{}",
            data[0].len(),
            data[1].len(),
            text(&data[0][at.saturating_sub(80)..(at + 200).min(data[0].len())]),
            text(&data[1][at.saturating_sub(80)..(at + 200).min(data[1].len())])
        );
    }
    // Same instruction count too: the summary lines agree apart from the wall-clock part.
    let summary = |s: &str| -> String {
        let l = s.lines().rev().find(|l| l.contains(" instructions (")).unwrap_or_default().to_string();
        let instr = l.split(" s wall, ").nth(1).and_then(|r| r.split(" instructions").next()).unwrap_or_default();
        instr.to_string()
    };
    let (a, b) = (summary(&text(&outs[0].stderr)), summary(&text(&outs[1].stderr)));
    assert!(!a.is_empty(), "instruction count in the summary");
    assert_eq!(a, b, "instructions executed");
}

/// How the host slices time differs between UART0 endpoints (`--uart0 stdio` runs in long
/// steps, `tcp:` in short ones to stay responsive); the guest must not notice. The LoPy4 r7
/// first boot with the radios off once reached `>>> ` on stdio and an interrupt-watchdog
/// Guru Meditation on TCP (docs/known-issues.md): same bytes now, and the prompt.
#[test]
fn lopy4_r7_boot_is_the_same_on_stdio_and_on_tcp() {
    use std::io::Read;
    let Some(path) = bundle_path(BUNDLES[0].0) else { return };
    let dir = tempfile::tempdir().unwrap();
    let args = ["--config", "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0", "--timeout", "4s"];
    let stdio = pyemu()
        .arg("run")
        .arg(&path)
        .arg("--flash-state")
        .arg(dir.path().join("stdio.flash"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting pyemu");
    // A client that connects and sends nothing, reading until the run ends and closes.
    let stderr = dir.path().join("tcp.err");
    let (mut tcp, port) = spawn_tcp(&path, &dir.path().join("tcp.flash"), &args, &stderr);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut s = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "pyemu did not listen:\n{}", std::fs::read_to_string(&stderr).unwrap_or_default());
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut over_tcp = Vec::new();
    s.read_to_end(&mut over_tcp).expect("reading UART0 over TCP");
    let status = tcp.wait().unwrap();
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert_eq!(status.code(), Some(42), "TCP run ends at the timeout:\n{log}");
    let o = stdio.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(42), "stdio run ends at the timeout:\n{}", text(&o.stderr));
    let on_stdio = text(&o.stdout);
    assert!(on_stdio.contains("\n>>> ") && !on_stdio.contains("Guru Meditation"), "boots to the prompt:\n{on_stdio}");
    if o.stdout != over_tcp {
        let at = o.stdout.iter().zip(&over_tcp).position(|(a, b)| a != b).unwrap_or(o.stdout.len().min(over_tcp.len()));
        panic!("stdio and TCP differ at byte {at}:\n--- stdio:\n{on_stdio}\n--- TCP:\n{}", text(&over_tcp));
    }
}
