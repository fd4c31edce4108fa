//! `pyemu run` on a terminal, driven as a person would: the real binary in a `tmux` pane,
//! keys sent with `send-keys` and pastes with `paste-buffer`, the screen read with
//! `capture-pane`. Two sessions (each boots the firmware a few times, so they are grouped):
//! the REPL's keys, the status line and quitting; and the escape menu's safe-boot holds and
//! reset on a board with an OTA image.
//!
//! Needs the LoPy4 bundles and tmux; skips saying so when either is missing unless
//! `PYEMU_REQUIRE_FIRMWARE=1` / `PYEMU_REQUIRE_TOOLS=1`.

use test_support as firmware;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PYEMU: &str = env!("CARGO_BIN_EXE_pyemu");
const CONFIG: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

/// `pyemu run ARGS` in a detached tmux pane of its own server, between two `stty -a`.
struct Term {
    tmux: Vec<String>,
    sock: PathBuf,
    dir: PathBuf,
}

impl Term {
    fn start(tmux: Vec<String>, dir: &Path, args: &[&str]) -> Term {
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "cd '{}'\nstty -a > before.txt\n'{PYEMU}' run {} 2> stderr.txt\necho $? > exit.txt\nstty -a > after.txt\nsleep 600\n",
            dir.display(),
            quoted.join(" ")
        );
        std::fs::write(dir.join("run.sh"), script).unwrap();
        let t = Term { tmux, sock: dir.join("tmux.sock"), dir: dir.to_path_buf() };
        let run = format!("sh '{}'", dir.join("run.sh").display());
        let o = t.cmd(&["-f", "/dev/null", "new-session", "-d", "-x", "132", "-y", "40", &run]);
        assert!(o.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&o.stderr));
        t
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(&self.tmux[0]).args(&self.tmux[1..]).arg("-S").arg(&self.sock).args(args).output().unwrap()
    }

    /// Keys by tmux name (`C-c`, `Enter`, `Tab`, `C-]`).
    fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys"];
        a.extend_from_slice(keys);
        assert!(self.cmd(&a).status.success());
        // Keys typed by a person come apart; some REPL answers depend on the order only.
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Text typed literally.
    fn text(&self, t: &str) {
        assert!(self.cmd(&["send-keys", "-l", t]).status.success());
        std::thread::sleep(Duration::from_millis(150));
    }

    /// A paste: the terminal's paste buffer (line feeds become carriage returns, as in a
    /// terminal emulator's paste).
    fn paste(&self, t: &str) {
        let f = self.dir.join("paste.txt");
        std::fs::write(&f, t).unwrap();
        assert!(self.cmd(&["load-buffer", f.to_str().unwrap()]).status.success());
        assert!(self.cmd(&["paste-buffer"]).status.success());
    }

    /// The visible screen; with `esc`, with colours as escape sequences.
    fn screen(&self, esc: bool) -> String {
        let args: &[&str] = if esc { &["capture-pane", "-p", "-e"] } else { &["capture-pane", "-p"] };
        String::from_utf8_lossy(&self.cmd(args).stdout).to_string()
    }

    /// Scrollback and screen.
    fn all(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-S", "-"]).stdout).to_string()
    }

    /// The status line: the last non-empty row of the screen.
    fn status(&self, esc: bool) -> String {
        self.screen(esc).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string()
    }

    /// Polls (every 20 ms) until `ok` holds; fails with the screen after `secs` of wall time.
    fn wait(&self, what: &str, secs: u64, ok: impl Fn(&Term) -> bool) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{what}: not within {secs} s; screen and scrollback:\n{}\nstderr:\n{}",
            self.all(),
            std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default()
        );
    }

    fn wait_text(&self, text: &str, secs: u64) {
        self.wait(&format!("`{text}` on the screen"), secs, |t| t.all().contains(text));
    }

    /// Everything after the `n`-th (1-based) ROM banner: one boot's output.
    fn boot(&self, n: usize) -> String {
        let all = self.all();
        all.match_indices("rst:0x").nth(n - 1).map(|(i, _)| all[i..].to_string()).unwrap_or_default()
    }

    /// Waits for the `n`-th boot to reach the prompt; returns that boot's output.
    fn wait_boot(&self, n: usize, secs: u64) -> String {
        self.wait(&format!("boot {n} to `>>> `"), secs, |t| {
            let b = t.boot(n);
            b.contains("Type \"help()\"") && b.contains(">>>")
        });
        self.boot(n)
    }

    /// After quitting: the exit code and whether `stty -a` is what it was before the run.
    fn finish(&self) -> (String, String, String) {
        self.wait("pyemu to exit", 30, |t| t.dir.join("after.txt").exists() && t.dir.join("exit.txt").exists());
        std::thread::sleep(Duration::from_millis(200));
        let r = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap();
        (r("exit.txt").trim().to_string(), r("before.txt"), r("after.txt"))
    }

    /// The status line never ran into the board's output: only the last row holds it.
    fn assert_no_status_in_output(&self) {
        let all = self.all();
        let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
        for l in &lines[..lines.len().saturating_sub(1)] {
            assert!(!l.contains("Ctrl-] menu") && !l.contains("menu: s safe boot") && !l.contains("safe boot: P12 high"), "status text among the output: {l:?}\n{all}");
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn setup() -> Option<(Vec<String>, PathBuf)> {
    let fw = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz")?;
    let tmux = firmware::tmux()?;
    Some((tmux, fw))
}

/// The REPL as on a serial console: banner and prompt, `1+2`, Tab completion, Ctrl-C, a
/// paste in paste mode, the heartbeat's blue and `pycom.rgbled`'s red on the status line,
/// Ctrl-] twice sending Ctrl-], Ctrl-D's soft reboot, and quitting through the menu with the
/// terminal as it was.
#[test]
fn repl_keys_status_line_and_quit() {
    let Some((tmux, fw)) = setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.json");
    let t = Term::start(tmux, dir.path(), &[fw.to_str().unwrap(), "--config", CONFIG, "--record", rec.to_str().unwrap(), "--timeout", "900s"]);
    let boot = t.wait_boot(1, 120);
    assert!(boot.contains("Pycom MicroPython 1.20.2.r7"), "{boot}");

    // The heartbeat (0x000050, 80 ms every 4 s) as a true-colour swatch with its hex value.
    t.wait("the heartbeat's blue on the status line", 30, |t| {
        let s = t.status(true);
        s.contains("LED #000050") && s.contains("48;2;0;0;80m")
    });
    assert!(t.status(false).contains("normal factory"), "{}", t.status(false));

    t.text("1+2");
    t.keys(&["Enter"]);
    t.wait("1+2 -> 3", 20, |t| t.all().contains(">>> 1+2\n3\n>>>"));

    t.text("impo");
    t.keys(&["Tab"]);
    t.wait("Tab completes impo", 20, |t| t.all().contains(">>> import"));
    t.keys(&["C-c"]);

    t.text("while True: pass");
    t.keys(&["Enter", "Enter"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!t.all().contains("KeyboardInterrupt"), "{}", t.all());
    t.keys(&["C-c"]);
    t.wait_text("KeyboardInterrupt", 20);

    t.keys(&["C-e"]);
    t.wait_text("paste mode; Ctrl-C to cancel, Ctrl-D to finish", 20);
    t.paste("for i in range(3):\n    print('row', i * 7)\nprint('pasted', 'done')\n");
    t.wait_text("=== print('pasted', 'done')", 20);
    t.keys(&["C-d"]);
    t.wait("the paste ran", 20, |t| t.all().contains("row 0\nrow 7\nrow 14\npasted done\n>>>"));

    t.text("import pycom; pycom.heartbeat(False); pycom.rgbled(0xff0000)");
    t.keys(&["Enter"]);
    t.wait("red on the status line", 20, |t| {
        let s = t.status(true);
        s.contains("LED #ff0000") && s.contains("48;2;255;0;0m")
    });

    // A snapshot from the menu holds the live session: a variable set at the REPL.
    t.text("x = 41");
    t.keys(&["Enter", "C-]", "w"]);
    t.text("live.snap");
    t.keys(&["Enter"]);
    t.wait("the snapshot written", 20, |t| t.status(false).contains("written to live.snap"));

    // The menu opens on the status line; the escape key again sends itself to the board.
    t.keys(&["C-]"]);
    t.wait("the menu", 10, |t| t.status(false).contains("menu: s safe boot"));
    t.keys(&["C-]"]);
    t.wait("the menu closed", 10, |t| t.status(false).contains("Ctrl-] menu"));
    t.keys(&["C-c"]);

    t.keys(&["C-d"]);
    t.wait_text("PYB: soft reboot", 20);
    t.wait("the prompt after the soft reboot", 60, |t| {
        let a = t.all();
        a.rfind("PYB: soft reboot").is_some_and(|i| a[i..].contains(">>>"))
    });
    t.assert_no_status_in_output();

    t.keys(&["C-]", "q"]);
    let (code, before, after) = t.finish();
    assert_eq!(code, "0", "exit code; stderr: {}", std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default());
    assert_eq!(before, after, "stty -a before and after the run");

    // Pacing: a guest mostly waiting for keys never gets ahead of the wall clock.
    let err = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap();
    let re = regex::Regex::new(r"pyemu: ([0-9.]+) s virtual in ([0-9.]+) s wall").unwrap();
    let c = re.captures(&err).unwrap_or_else(|| panic!("no run summary:\n{err}"));
    let (virt, wall): (f64, f64) = (c[1].parse().unwrap(), c[2].parse().unwrap());
    assert!(virt <= wall + 0.01, "virtual time {virt} s ran ahead of wall time {wall} s");

    // What reached UART0, from the recording: the keys as typed, one Ctrl-] (the second of
    // the two), none of the menu's own keys.
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&rec).unwrap()).unwrap();
    use base64::Engine;
    let mut sent = Vec::new();
    for e in r["inputs"].as_array().unwrap() {
        if let Some(b) = e["bytes"].as_str() {
            sent.extend(base64::engine::general_purpose::STANDARD.decode(b).unwrap());
        }
    }
    assert_eq!(sent.iter().filter(|&&b| b == 0x1d).count(), 1, "{:?}", String::from_utf8_lossy(&sent));
    assert!(!sent.contains(&b'q'), "the menu's quit key went to the board: {:?}", String::from_utf8_lossy(&sent));
    assert!(sent.windows(5).any(|w| w == b"impo\t") && sent.windows(4).any(|w| w == b"1+2\r"), "{:?}", String::from_utf8_lossy(&sent));

    let o = Command::new(PYEMU).current_dir(dir.path()).args(["run", "--snapshot", "live.snap", "--exec", "print(x + 1)"]).output().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "42", "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

/// The menu's safe-boot hold and reset on a board whose active image is an OTA update (r4
/// in ota_0, factory r7 the previous): P12 held 1 s is window 1, a safe boot of the active
/// image; 4 s reaches window 2, a safe boot of the previous image; a reset then boots the
/// active image normally (docs: pycom-firmware.md §3). A boot.py tells safe boots (which
/// skip it) from normal ones.
#[test]
fn menu_safe_boot_holds_and_reset() {
    let Some((tmux, r7)) = setup() else { return };
    let Some(r4) = firmware::bundle_path("LoPy4-1.20.2.r4.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let bundle = images::bundle::Bundle::from_bytes(&std::fs::read(&r4).unwrap()).unwrap();
    let app = dir.path().join("r4app.bin");
    std::fs::write(&app, bundle.file("lopy4.bin").unwrap()).unwrap();
    let flash = dir.path().join("ota.flash");
    let o = Command::new(PYEMU)
        .args(["flash", "build"])
        .arg(&r7)
        .arg("-o")
        .arg(&flash)
        .arg("--ota0")
        .arg(&app)
        .args(["--boot-info", "active=ota_0,status=ready,prev=factory", "--config", CONFIG])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(dir.path().join("boot.py"), "print('BOOT-PY')\n").unwrap();
    let t = Term::start(tmux, dir.path(), &[r7.to_str().unwrap(), "--flash-state", flash.to_str().unwrap(), "--put", "boot.py", "--timeout", "900s"]);

    let b = t.wait_boot(1, 120);
    assert!(b.contains("1.20.2.r4") && b.contains("BOOT-PY"), "power-on: a normal boot of ota_0:\n{b}");
    t.wait("status: normal ota_0", 10, |t| t.status(false).contains("normal ota_0"));

    let hold = |secs: &str| {
        t.keys(&["C-]", "s"]);
        t.wait("the safe-boot prompt", 10, |t| t.status(false).contains("hold P12 high through a reset"));
        t.text(secs);
        t.keys(&["Enter"]);
    };
    hold("1s");
    t.wait("P12 held", 10, |t| t.status(false).contains("P12 high, reset (EN)"));
    let b = t.wait_boot(2, 120);
    assert!(b.contains("1.20.2.r4") && !b.contains("BOOT-PY"), "1 s: safe boot of ota_0:\n{b}");
    t.wait("status: safe_boot ota_0", 10, |t| t.status(false).contains("safe_boot ota_0"));

    hold("4s");
    // The bootloader's windows blink the LED orange on the swatch meanwhile.
    t.wait("orange on the status line", 20, |t| t.status(true).contains("48;2;44;18;0m"));
    let b = t.wait_boot(3, 120);
    assert!(b.contains("1.20.2.r7") && !b.contains("BOOT-PY"), "4 s: safe boot of the previous image, factory:\n{b}");
    t.wait("status: safe_boot factory", 10, |t| t.status(false).contains("safe_boot factory"));

    t.keys(&["C-]", "r"]);
    let b = t.wait_boot(4, 120);
    assert!(b.contains("1.20.2.r4") && b.contains("BOOT-PY"), "reset: a normal boot of ota_0 again:\n{b}");
    t.wait("status: normal ota_0", 10, |t| t.status(false).contains("normal ota_0"));
    t.assert_no_status_in_output();

    t.keys(&["C-]", "q"]);
    let (code, before, after) = t.finish();
    assert_eq!(code, "0");
    assert_eq!(before, after, "stty -a before and after the run");
}

/// The terminal comes back as it was however the run ends: at its `--timeout`, on SIGTERM,
/// on two SIGHUPs in a row (the second ends the process from the signal handler), and
/// `--no-tui` leaves it alone (no status line). Short runs: the ROM and bootloader only.
#[test]
fn every_exit_restores_the_terminal() {
    let Some((tmux, fw)) = setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fw = fw.to_str().unwrap();
    // Each run writes its pid, exit code and `stty -a` after it.
    let run = |n: usize, args: &str| {
        format!("echo RUN{n}\nsh -c 'echo $$ > pid{n}.txt; exec \"$0\" \"$@\"' '{PYEMU}' run '{fw}' {args} 2>> stderr.txt\necho $? > exit{n}.txt\nstty -a > after{n}.txt\n")
    };
    let script = format!(
        "cd '{}'\nstty -a > before.txt\n{}{}{}{}sleep 600\n",
        d.display(),
        run(1, "--timeout 300ms"),
        run(2, "--timeout 600s"),
        run(3, "--timeout 600s"),
        run(4, "--timeout 1s --speed 1 --no-tui"),
    ) + &format!("echo RUN5\nTERM=dumb '{PYEMU}' run '{fw}' --timeout 1s 2>> stderr.txt\necho $? > exit5.txt\nstty -a > after5.txt\n");
    let script = script.replace("sleep 600\n", "") + "sleep 600\n";
    std::fs::write(d.join("run.sh"), script).unwrap();
    let t = Term { tmux, sock: d.join("tmux.sock"), dir: d.to_path_buf() };
    let o = t.cmd(&["-f", "/dev/null", "new-session", "-d", "-x", "132", "-y", "40", &format!("sh '{}'", d.join("run.sh").display())]);
    assert!(o.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
    let done = |n: usize| {
        t.wait(&format!("run {n} to end"), 60, |_| d.join(format!("after{n}.txt")).exists());
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(read("before.txt"), read(&format!("after{n}.txt")), "run {n}: stty -a before and after");
        read(&format!("exit{n}.txt")).trim().to_string()
    };
    let signal = |n: usize, sigs: &[i32]| {
        t.wait(&format!("run {n}'s status line"), 60, |t| {
            d.join(format!("pid{n}.txt")).exists() && t.status(false).contains("Ctrl-] menu")
        });
        let pid: i32 = read(&format!("pid{n}.txt")).trim().parse().unwrap();
        for s in sigs {
            // SAFETY: kill(2) on the pid the run wrote.
            unsafe { libc::kill(pid, *s) };
        }
    };
    assert_eq!(done(1), "42", "timeout exit code");
    signal(2, &[libc::SIGTERM]);
    assert_eq!(done(2), "143");
    signal(3, &[libc::SIGHUP, libc::SIGHUP]);
    assert_eq!(done(3), "129");
    // --no-tui, and a terminal that cannot keep a status line: none while they run.
    for n in [4, 5] {
        t.wait(&format!("run {n} to start"), 60, |t| t.all().contains(&format!("RUN{n}")));
        while !d.join(format!("after{n}.txt")).exists() {
            let screen = t.screen(false);
            assert!(!screen.contains("Ctrl-] menu"), "run {n} drew a status line:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(done(n), "42");
    }
}
