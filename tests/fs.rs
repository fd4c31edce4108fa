//! `pyemu fs`: the board's /flash from the host, through the binary (issue 10, item 3).
//! The bar: a `main.py` put with `pyemu fs put` runs at the next boot and sets the LED; a
//! file the board writes reads back with `pyemu fs cat`; on LittleFS and on FAT, on states
//! the firmware formatted and on states it never booted.

use test_support as firmware;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
const SIPY: &str = "SiPy-1.20.2.rc3.tar.gz";
const QUIET: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

/// Sets the LED green, writes a file, then says so (the run ends at the expected text, so
/// the file is written before it).
/// The colour comes from a module in /flash/lib with a long name (VFAT entries on FAT).
const MAIN_PY: &str = "import pycom\n\
import a_long_module_name as m\n\
pycom.heartbeat(False)\n\
pycom.rgbled(m.COLOUR)\n\
f = open('/flash/out.txt', 'w')\n\
f.write('written by the board\\n')\n\
f.close()\n\
print('hello from main')\n";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fs(args: &[&str]) -> Output {
    firmware::pyemu().arg("fs").args(args).stdin(Stdio::null()).output().expect("starting pyemu")
}

/// `pyemu fs ARGS`, which must succeed; its stdout.
fn fs_ok(args: &[&str]) -> String {
    let o = fs(args);
    assert!(o.status.success(), "pyemu fs {args:?} failed: {}", firmware::text(&o.stderr));
    firmware::text(&o.stdout)
}

/// `pyemu fs ARGS`, which must fail (exit 2); its stderr.
fn fs_err(args: &[&str]) -> String {
    let o = fs(args);
    assert_eq!(o.status.code(), Some(2), "pyemu fs {args:?} should fail: {}{}", firmware::text(&o.stdout), firmware::text(&o.stderr));
    firmware::text(&o.stderr)
}

fn names(ls: &str) -> Vec<&str> {
    ls.lines().collect()
}

/// Boots `bundle` on `state` until the REPL prompt (formats /flash on a new state).
fn boot_to_prompt(bundle: &Path, state: &Path, config: &str) {
    let o = firmware::run(&[s(bundle), "--flash-state", s(state), "--config", config, "--timeout", "4s", "--expect-text", ">>> ", "-q"]);
    assert_eq!(o.status.code(), Some(0), "boot to the prompt: {}", firmware::text(&o.stderr));
}

/// Puts MAIN_PY, boots, and checks it ran: output, green LED (from --json and
/// --led-trace), and the board's file read back.
fn put_boot_and_read_back(bundle: &Path, state: &Path, dir: &Path) {
    let module = dir.join("a_long_module_name.py");
    std::fs::write(&module, "COLOUR = 0x00ff00\n").unwrap();
    let out = fs_ok(&["put", s(state), &format!("{}:lib/", s(&module))]);
    assert_eq!(out, "put /flash/lib/a_long_module_name.py (18 bytes)\n");
    let main = dir.join("main.py");
    std::fs::write(&main, MAIN_PY).unwrap();
    let out = fs_ok(&["put", s(state), s(&main)]);
    assert!(out.contains("put /flash/main.py (") && out.contains(&format!("({} bytes)", MAIN_PY.len())), "{out}");
    assert_eq!(fs_ok(&["cat", s(state), "/flash/main.py"]), MAIN_PY);

    let led = dir.join("led.json");
    let o = firmware::run(&[s(bundle), "--flash-state", s(state), "--timeout", "6s", "--expect-text", "hello from main", "--json", "--led-trace", s(&led)]);
    let stdout = firmware::text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "main.py did not run: {stdout}\n{}", firmware::text(&o.stderr));
    assert!(stdout.contains("hello from main"), "{stdout}");
    let json_at = stdout.find("{\n").expect("--json outcome");
    let outcome: serde_json::Value = serde_json::from_str(&stdout[json_at..]).unwrap();
    let frames = outcome["led_frames"].as_array().unwrap();
    assert_eq!(frames.last().unwrap()["color"], "#00ff00", "{frames:?}");
    let trace: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&led).unwrap()).unwrap();
    assert_eq!(trace.as_array().unwrap().last().unwrap()["rgb"], 0x00ff00);

    assert_eq!(fs_ok(&["cat", s(state), "/flash/out.txt"]), "written by the board\n");
    // The firmware's own files are there beside ours.
    assert_eq!(names(&fs_ok(&["ls", s(state)])), ["boot.py", "cert/", "lib/", "main.py", "out.txt", "sys/"]);
    let got = dir.join("got.txt");
    fs_ok(&["get", s(state), ":out.txt", s(&got)]);
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "written by the board\n");
}

#[test]
fn littlefs_put_main_py_runs_and_the_boards_file_reads_back() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lopy4.flash");
    boot_to_prompt(&fw, &state, QUIET);
    let ls = fs_ok(&["ls", "-l", s(&state)]);
    let expect = [("boot.py", "29"), ("cert/", "-"), ("lib/", "-"), ("main.py", "34"), ("sys/", "-")];
    let got: Vec<(String, String)> = ls
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.last().unwrap().to_string(), f[0].to_string())
        })
        .collect();
    assert_eq!(got, expect.map(|(a, b)| (a.to_string(), b.to_string())), "{ls}");
    assert!(fs_ok(&["df", s(&state)]).contains("LittleFS  4096      1024"));
    put_boot_and_read_back(&fw, &state, dir.path());
    // Still the disk version the firmware's littlefs 2.0 reads.
    let flash = std::fs::read(&state).unwrap();
    assert!((0..2).any(|b| {
        let o = 0x40_0000 + b * 4096;
        &flash[o + 8..o + 16] == b"littlefs" && flash[o + 20..o + 24] == [0, 0, 2, 0]
    }));
}

#[test]
fn fat_put_main_py_runs_and_the_boards_file_reads_back() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lopy4-fat.flash");
    boot_to_prompt(&fw, &state, &format!("{QUIET},boot_fs_type=fat"));
    assert!(fs_ok(&["df", s(&state)]).contains("FAT       2048      2038"), "{}", fs_ok(&["df", s(&state)]));
    assert_eq!(names(&fs_ok(&["ls", s(&state)])), ["boot.py", "cert/", "lib/", "main.py", "sys/"]);
    put_boot_and_read_back(&fw, &state, dir.path());
}

/// A state never booted has an erased /flash: `fs put` formats it as the firmware would,
/// and the firmware mounts it as it is (no reformat), keeping and running main.py.
#[test]
fn put_into_a_state_never_booted_littlefs_and_fat() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, config) in [("fresh-lfs.flash", QUIET.to_string()), ("fresh-fat.flash", format!("{QUIET},boot_fs_type=fat"))] {
        let state = dir.path().join(name);
        let o = firmware::pyemu().args(["flash", "build", s(&fw), "-o", s(&state), "--config", &config]).output().unwrap();
        assert!(o.status.success(), "{}", firmware::text(&o.stderr));
        let e = fs_err(&["ls", s(&state)]);
        assert!(e.contains("no file system on /flash yet") && e.contains("pyemu fs format"), "{e}");
        let main = dir.path().join("main.py");
        std::fs::write(&main, MAIN_PY).unwrap();
        let o = fs(&["put", s(&state), &format!("{}:/flash/main.py", s(&main))]);
        assert!(o.status.success(), "{}", firmware::text(&o.stderr));
        let kind = if name.contains("fat") { "FAT" } else { "LittleFS" };
        assert!(firmware::text(&o.stderr).contains(&format!("formatted {kind} as the firmware does on first boot")), "{}", firmware::text(&o.stderr));
        put_boot_and_read_back(&fw, &state, dir.path());
    }
}

/// The 4 MB layout (0x380000, 127 blocks) on the SiPy, whose firmware records name_max
/// 1022 in its superblock: read, written, and booted again.
#[test]
fn sipy_4mb_layout_littlefs() {
    let Some(fw) = firmware::bundle_path(SIPY) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sipy.flash");
    boot_to_prompt(&fw, &state, QUIET);
    assert!(fs_ok(&["df", s(&state)]).contains("LittleFS  4096       127"));
    put_boot_and_read_back(&fw, &state, dir.path());
}

/// Everything but the board: a raw 8 MB flash dump (no `.meta`), formatted by `fs format`.
#[test]
fn commands_outputs_and_errors_without_a_board() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dump.flash");
    std::fs::write(&state, vec![0xFFu8; 8 << 20]).unwrap();
    let st = s(&state);

    let e = fs_err(&["cat", st, "main.py"]);
    assert!(e.contains("no file system on /flash yet (the area is erased)"), "{e}");
    let out = fs_ok(&["format", st]);
    assert!(out.contains("formatted /flash at 0x400000 as LittleFS (1024 blocks of 4096 bytes)"), "{out}");
    assert_eq!(names(&fs_ok(&["ls", st])), ["boot.py", "cert/", "lib/", "main.py", "sys/"]);
    assert_eq!(fs_ok(&["cat", st, ":/flash/boot.py"]), "# boot.py -- run on boot-up\r\n");

    // mkdir, put (file, LOCAL:REMOTE, into a directory, recursive), ls -l, tree, get.
    fs_ok(&["mkdir", "-p", st, "lib/pkg/sub"]);
    fs_ok(&["mkdir", "-p", st, "lib/pkg"]);
    let e = fs_err(&["mkdir", st, "lib/pkg"]);
    assert!(e.contains("/flash/lib/pkg: already exists"), "{e}");
    let e = fs_err(&["mkdir", st, "a/b"]);
    assert!(e.contains("/flash/a does not exist (mkdir -p makes it)"), "{e}");
    let a = dir.path().join("a.txt");
    std::fs::write(&a, "hello\n").unwrap();
    let tree_src = dir.path().join("mylib");
    std::fs::create_dir_all(tree_src.join("inner")).unwrap();
    std::fs::write(tree_src.join("m.py"), "x = 1\n").unwrap();
    std::fs::write(tree_src.join("inner/n.py"), "y = 22\n").unwrap();
    let out = fs_ok(&["put", st, s(&a), &format!("{}:/flash/lib/pkg/", s(&a)), &format!("{}::/flash/renamed.txt", s(&a))]);
    assert_eq!(out, "put /flash/a.txt (6 bytes)\nput /flash/lib/pkg/a.txt (6 bytes)\nput /flash/renamed.txt (6 bytes)\n");
    let e = fs_err(&["put", st, s(&tree_src)]);
    assert!(e.contains("is a directory (put -r copies directories)"), "{e}");
    let out = fs_ok(&["put", "-r", st, &format!("{}:lib/", s(&tree_src))]);
    assert!(out.contains("put /flash/lib/mylib/inner/n.py (7 bytes)") && out.contains("put /flash/lib/mylib/m.py (6 bytes)"), "{out}");

    let ls = fs_ok(&["ls", "-l", st, "lib/pkg"]);
    let l: Vec<Vec<&str>> = ls.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(l.len(), 2, "{ls}");
    assert_eq!((l[0][0], l[0][3]), ("6", "a.txt"));
    assert_eq!((l[1][0], l[1][3]), ("-", "sub/"));
    // Times come from the host file.
    assert!(l[0][1].len() == 10 && l[0][1].starts_with("20"), "{ls}");
    assert_eq!(fs_ok(&["ls", st, "/flash/renamed.txt"]), "renamed.txt\n");

    let tree = fs_ok(&["tree", st, "lib"]);
    assert_eq!(
        tree,
        "/flash/lib\n\
         ├── mylib/\n\
         │   ├── inner/\n\
         │   │   └── n.py (7 bytes)\n\
         │   └── m.py (6 bytes)\n\
         └── pkg/\n    \
             ├── a.txt (6 bytes)\n    \
             └── sub/\n\
         \n4 directories, 3 files\n"
    );
    let got = dir.path().join("got");
    std::fs::create_dir(&got).unwrap();
    let out = fs_ok(&["get", st, "/flash/lib/mylib/inner/n.py", s(&got)]);
    assert!(out.starts_with("got /flash/lib/mylib/inner/n.py -> "), "{out}");
    assert_eq!(std::fs::read_to_string(got.join("n.py")).unwrap(), "y = 22\n");

    let df = fs_ok(&["df", st]);
    let row: Vec<&str> = df.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], ["/flash", "LittleFS", "4096"], "{df}");
    assert_eq!(row[3], "1024");
    let used: u32 = row[4].parse().unwrap();
    let free: u32 = row[5].parse().unwrap();
    assert!(used > 4 && used + free == 1024, "{df}");

    // rm: files, empty directories, -r, and the errors.
    let e = fs_err(&["rm", st, "lib/mylib"]);
    assert!(e.contains("/flash/lib/mylib: directory not empty (rm -r removes it with its contents)"), "{e}");
    fs_ok(&["rm", st, "renamed.txt", "lib/pkg/sub"]);
    fs_ok(&["rm", "-r", st, "lib/mylib"]);
    assert_eq!(names(&fs_ok(&["ls", st, "lib", "lib/pkg"])), ["/flash/lib:", "pkg/", "", "/flash/lib/pkg:", "a.txt"]);
    let e = fs_err(&["rm", "-r", st, "/flash"]);
    assert!(e.contains("refusing to remove /flash itself"), "{e}");

    // Errors users meet.
    let e = fs_err(&["cat", st, "nope.py"]);
    assert!(e.contains("/flash/nope.py: no such file or directory"), "{e}");
    let e = fs_err(&["cat", st, "lib"]);
    assert!(e.contains("/flash/lib: is a directory"), "{e}");
    let e = fs_err(&["ls", st, "main.py/x"]);
    assert!(e.contains("no such file or directory") || e.contains("not a directory"), "{e}");
    let e = fs_err(&["cat", st, "/sd/x.py"]);
    assert!(e.contains("/sd/x.py: /sd is the SD card"), "{e}");
    let e = fs_err(&["cat", st, "/main.py"]);
    assert!(e.contains("/main.py: not on the board's /flash"), "{e}");
    let e = fs_err(&["cat", st, "../x"]);
    assert!(e.contains("goes above /flash"), "{e}");
    let e = fs_err(&["put", st, "/nonexistent/file.py"]);
    assert!(e.contains("/nonexistent/file.py: no such local file"), "{e}");
    let e = fs_err(&["ls", s(&dir.path().join("missing.flash"))]);
    assert!(e.contains("missing.flash: no such flash state"), "{e}");
    let odd = dir.path().join("odd.flash");
    std::fs::write(&odd, vec![0xFFu8; 1 << 20]).unwrap();
    let e = fs_err(&["ls", s(&odd)]);
    assert!(e.contains("is not a Pycom flash image (4 MB or 8 MB)"), "{e}");
    let e = fs_err(&["ls", "--board", "sipy", st]);
    assert!(e.contains("but the sipy (--board) has 0x400000 bytes of flash"), "{e}");

    // The config block and /flash disagree: said clearly, nothing changed.
    fs_ok(&["format", "--fs", "fat", st]);
    let mut flash = std::fs::read(&state).unwrap();
    assert_eq!(flash[0x3F_F000 + 533], 0);
    flash[0x3F_F000 + 533] = 0xFF;
    std::fs::write(&state, &flash).unwrap();
    let e = fs_err(&["put", st, s(&a)]);
    assert!(e.contains("the config block says LittleFS (boot_fs_type) but /flash holds a FAT file system"), "{e}");
    assert!(std::fs::read(&state).unwrap() == flash);
    let out = fs_ok(&["format", "--fs", "littlefs", st]);
    assert!(out.contains("formatted /flash at 0x400000 as LittleFS"), "{out}");
    let e = fs_err(&["format", "--fs", "ext4", st]);
    assert!(e.contains("--fs ext4: littlefs or fat"), "{e}");
}

/// The 4 MB layout without a board: 127 blocks at 0x380000, or 1016 FAT sectors.
#[test]
fn four_mb_layout_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dump4.flash");
    std::fs::write(&state, vec![0xFFu8; 4 << 20]).unwrap();
    let out = fs_ok(&["format", s(&state)]);
    assert!(out.contains("formatted /flash at 0x380000 as LittleFS (127 blocks of 4096 bytes)"), "{out}");
    let out = fs_ok(&["format", "--fs", "fat", s(&state)]);
    assert!(out.contains("config block: boot_fs_type fat (was LittleFS)"), "{out}");
    assert!(out.contains("as FAT (1016 sectors of 512 bytes)"), "{out}");
    let df = fs_ok(&["df", s(&state)]);
    assert!(df.contains("FAT       512        980"), "{df}");
}

/// Writes take the state's lock: while a run holds it, `fs put` fails naming the run's pid
/// and leaves the state as it was; reads go on, with a note.
#[test]
fn writes_wait_for_no_run_reads_do_not() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("busy.flash");
    let o = firmware::pyemu().args(["flash", "build", s(&fw), "-o", s(&state), "--config", QUIET]).output().unwrap();
    assert!(o.status.success());
    fs_ok(&["format", s(&state)]);
    let before = std::fs::read(&state).unwrap();
    let mut child = firmware::pyemu()
        .args(["run", s(&fw), "--flash-state", s(&state), "--timeout", "600s", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("run.err")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The run takes the lock before power-on; reads notice it and go on.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ls = loop {
        let o = fs(&["ls", s(&state)]);
        if firmware::text(&o.stderr).contains("in use by a running board") {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "the run never took the lock: {}\n{}",
            firmware::text(&o.stderr),
            std::fs::read_to_string(dir.path().join("run.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let main = dir.path().join("main.py");
    std::fs::write(&main, "print(1)\n").unwrap();
    let put = fs(&["put", s(&state), s(&main)]);
    let _ = child.kill();
    let _ = child.wait();
    let err = firmware::text(&put.stderr);
    assert_eq!(put.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("flash state in use by pid {pid}")), "{err}");
    assert!(ls.status.success(), "{}", firmware::text(&ls.stderr));
    assert!(firmware::text(&ls.stderr).contains(&format!("is in use by a running board (pid {pid})")), "{}", firmware::text(&ls.stderr));
    // The put was refused before touching anything (the run itself may have written).
    let after = std::fs::read(&state).unwrap();
    assert_eq!(after.len(), before.len());
    assert!(!firmware::text(&fs(&["cat", s(&state), "main.py"]).stdout).contains("print(1)"));
    // No temporary files left beside the state.
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn run_put_puts_files_before_power_on_and_main_py_runs() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("app.py");
    std::fs::write(&main, "import helper\nhelper.go()\n").unwrap();
    let helper = dir.path().join("helper.py");
    std::fs::write(&helper, "import pycom\ndef go():\n    pycom.heartbeat(False)\n    pycom.rgbled(0x0000ff)\n    print('put and ran')\n").unwrap();
    let state = dir.path().join("s.flash");
    let put_main = format!("{}:/flash/main.py", main.display());
    let put_lib = format!("{}:/flash/lib/", helper.display());
    // Without a state (in memory) and with a new state: the same outcome.
    for with_state in [false, true] {
        let mut args = vec![
            fw.to_str().unwrap(),
            "--config",
            "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0",
            "--put",
            &put_main,
            "--put",
            &put_lib,
            "--expect-text",
            "put and ran",
            "--timeout",
            "10s",
            "--json",
        ];
        if with_state {
            args.extend(["--flash-state", state.to_str().unwrap()]);
        }
        let o = firmware::run(&args);
        let err = firmware::text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}\n{}", firmware::text(&o.stdout));
        assert!(err.contains("put /flash/main.py") && err.contains("put /flash/lib/helper.py"), "{err}");
        assert!(firmware::text(&o.stdout).contains("\"color\": \"#0000ff\""));
    }
    // The state keeps them: `fs cat` reads what --put wrote.
    let o = firmware::pyemu().args(["fs", "cat", state.to_str().unwrap(), "/flash/lib/helper.py"]).output().unwrap();
    assert!(firmware::text(&o.stdout).contains("put and ran"), "{}", firmware::text(&o.stderr));
    // A missing local file is found before anything is created.
    let fresh = dir.path().join("t.flash");
    let o = firmware::run(&[fw.to_str().unwrap(), "--flash-state", fresh.to_str().unwrap(), "--put", "/nonexistent/m.py"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("--put /nonexistent/m.py: /nonexistent/m.py: no such file"));
    assert!(!fresh.exists());
}
