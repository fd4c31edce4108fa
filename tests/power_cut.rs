//! Power cuts through the binary: `pyemu run --power-cut` at a flash operation leaves the
//! interrupted page/sector part programmed/erased, the same bytes for the same seed and
//! others for another; a cut at a time is followed by a boot to the prompt; a small
//! `pyemu campaign power-cut` gives the same table for the same seed, and its reproducers
//! give the outcomes it recorded.

use test_support as firmware;

use std::path::Path;

const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
const CONFIG: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A first boot on a fresh flash with a cut at `at`, the board left off; the flash state and stderr.
fn cut_first_boot(fw: &Path, dir: &Path, name: &str, at: &str, seed: &str) -> (Vec<u8>, String) {
    let state = dir.join(name);
    let o = firmware::run(&[s(fw), "--config", CONFIG, "--flash-state", s(&state), "--power-cut", at, "--power-cut-seed", seed, "--stay-off", "--timeout", "10s"]);
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    (std::fs::read(&state).unwrap(), err)
}

#[test]
fn a_cut_during_a_flash_operation_leaves_seeded_intermediate_bits() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    // The first boot's operations (`--flash-log`): op 2 programs NVS, op 344 erases a
    // sector of the file system that op 86..343 had programmed.
    for (i, (at, kind, addr, len)) in [("flash-op:2", "program", 0x9000usize, 256usize), ("flash-op:344+30ms", "erase", 0x40_0000, 4096)].into_iter().enumerate() {
        let (a, err) = cut_first_boot(&fw, dir.path(), &format!("{i}a.flash"), at, "11");
        let (b, _) = cut_first_boot(&fw, dir.path(), &format!("{i}b.flash"), at, "11");
        let (c, err_c) = cut_first_boot(&fw, dir.path(), &format!("{i}c.flash"), at, "12");
        assert!(err.contains(&format!("({kind} of {len} bytes at {addr:#x}) interrupted")) && err.contains("seed 11"), "{err}");
        assert!(err.contains("the board stays off"), "{err}");
        assert_eq!(a, b, "{at}: the same seed leaves the same bytes");
        assert_ne!(a[addr..addr + len], c[addr..addr + len], "{at}: another seed, other bits\n{err}\n{err_c}");
        assert_eq!(a[..addr], c[..addr], "{at}: only the interrupted page/sector differs");
        assert_eq!(a[addr + len..], c[addr + len..], "{at}: only the interrupted page/sector differs");
        // Part way: some bits changed, not all.
        let done: Vec<u64> = err.split(" of its ").next().unwrap().rsplit(": ").next().unwrap().split_whitespace().map(|x| x.parse().unwrap()).collect();
        let total: u64 = err.split(" of its ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        assert!(done[0] > 0 && done[0] < total, "{err}");
        if kind == "erase" {
            // An interrupted erase only sets bits: no byte has fewer ones than before it…
            // and not every byte is 0xFF yet.
            assert!(a[addr..addr + len].iter().any(|&x| x != 0xFF), "{err}");
        }
    }
}

#[test]
fn a_cut_at_a_time_then_the_board_boots_again() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ops.csv");
    // 1.1 s: the first boot is creating the file system.
    let o = firmware::run(&[s(&fw), "--config", CONFIG, "--power-cut", "1.1s", "--power-cut-seed", "5", "--flash-log", s(&log), "--timeout", "10s"]);
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("power cut at 1.1"), "{err}");
    assert!(err.contains("after the power cut: prompt from factory"), "{err}");
    let csv = std::fs::read_to_string(&log).unwrap();
    assert!(csv.starts_with("n,kind,addr,len,start_s,end_s\n") && csv.contains(",erase,0x400000,4096,"), "{csv}");
    // Numbering goes on across the power cycle: the second boot's operations follow.
    let n: Vec<u64> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert!(n.windows(2).all(|w| w[1] == w[0] + 1) && n[0] == 1, "numbered from 1 without gaps");
    assert!(csv.lines().skip(1).any(|l| l.split(',').nth(4).unwrap().parse::<f64>().unwrap() > 1.2), "operations after the cut's power-on");
    // Bad specs are clear errors.
    for bad in ["flash-op:0", "flash-op:x", "soon"] {
        let o = firmware::run(&[s(&fw), "--power-cut", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(firmware::text(&o.stderr).contains("--power-cut"), "{bad}");
    }
}

/// A short NVS write loop (the campaign's example, shortened for CI).
fn nvs_scenario(dir: &Path, fw: &Path) -> std::path::PathBuf {
    let p = dir.join("nvs.yaml");
    std::fs::write(
        &p,
        format!(
            "name: nvs loop\nversion: 1\nfirmware: {}\nconfig: {CONFIG}\ntimeout: 30s\nsteps:\n  - wait-serial: \">>> \"\n  - exec: {{ code: \"import pycom\\nfor i in range(12):\\n    pycom.nvs_set('count', i)\\nprint('done')\", expect: done }}\n",
            fw.display()
        ),
    )
    .unwrap();
    p
}

#[test]
fn a_campaign_repeats_with_its_seed_and_its_reproducers_reproduce() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let sc = nvs_scenario(dir.path(), &fw);
    let check = "import pycom\nprint('count', pycom.nvs_get('count'))";
    let campaign = |out: &str| {
        let o = firmware::pyemu().args([
            "campaign", "power-cut", s(&sc), "--runs", "3", "--seed", "99", "-j", "2", "--from-text", ">>> ", "--check", check,
            "--snapshot-every", "16", "--all-reproducers", "--out", s(&dir.path().join(out)),
        ]).output().unwrap();
        let err = firmware::text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        (firmware::text(&o.stdout), err)
    };
    let (a, err) = campaign("a");
    let (b, _) = campaign("b");
    assert!(err.contains("seed 99") && a.contains("seed 99"), "{a}\n{err}");
    assert!(a.contains("3 cuts over") && a.contains("host errors                                           0"), "{a}");
    // The same seed: the same table, cut for cut (the reproducers name their own directory).
    assert_eq!(a.replace(s(&dir.path().join("a")), "D"), b.replace(s(&dir.path().join("b")), "D"));
    assert!(a.contains("check output after the cut:") && a.contains("count "), "{a}");
    // Every cut's command gives the outcome the campaign recorded.
    assert_eq!(replay_reproducers(&a), 3, "{a}");
}

/// Runs every reproducer command a campaign table lists and checks that each gives the
/// outcome (after-cut summary) and the cut the campaign recorded for it; the number run.
fn replay_reproducers(table: &str) -> usize {
    let lines: Vec<&str> = table.lines().collect();
    let mut replayed = 0;
    for (i, l) in lines.iter().enumerate() {
        // The command names the binary that wrote the snapshot (no other build opens it).
        let Some((exe, rest)) = l.trim().split_once(" run --snapshot ") else { continue };
        assert!(std::path::Path::new(exe).is_file() && exe.ends_with("pyemu"), "{l}");
        let cmd = format!("--snapshot {rest}");
        let what = lines[i - 1];
        // "cut N: flash op …: CLASS: SUMMARY[, check: …]; power cut at …"
        let summary = what.split(": ").skip(3).collect::<Vec<_>>().join(": ");
        let summary = summary.split("; power cut at").next().unwrap().split(", check:").next().unwrap();
        let cut_line = what.split("; ").find(|p| p.starts_with("power cut at")).unwrap();
        let args: Vec<&str> = cmd.split(' ').collect();
        let o = firmware::run(&[args.as_slice(), &["-q"]].concat());
        let err = firmware::text(&o.stderr);
        assert!(err.contains(&format!("after the power cut: {summary}\n")), "{cmd}\nwant {summary}\n{err}");
        assert!(err.contains(cut_line), "{cmd}\nwant {cut_line}\n{err}");
        replayed += 1;
    }
    replayed
}

/// An OTA campaign: a small app pushed through `pycom.ota_*` onto r7, then the reset into
/// it. Cuts land in the OTA writes, the boot-record updates and the bootloader's READY write;
/// each cut's board boots either image (the small app says `>>> ` after its banner so the
/// campaign sees it start) and every reproducer gives the recorded outcome. The 1.7 MB
/// r7 → r4 campaign (examples/power-cut/ota-r4.yaml) is the same code at 1,000 cuts.
#[test]
fn an_ota_campaign_boots_one_image_or_the_other_and_its_reproducers_reproduce() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("small.bin");
    std::fs::write(&app, test_support::apps::banner_app(&fw, "pyemu small app\r\n>>> ")).unwrap();
    let sc = dir.path().join("ota.yaml");
    std::fs::write(
        &sc,
        format!(
            "name: small OTA\nversion: 1\nfirmware: {}\nconfig: {CONFIG}\ntimeout: 40s\nsteps:\n  - wait-serial: \">>> \"\n  - ota: {}\n  - expect-boot: {{ active: ota_0, status: check }}\n  - reset:\n  - wait-serial: \"pyemu small app\"\n  - expect-boot: {{ image: ota_0, status: ready }}\n",
            fw.display(),
            app.display()
        ),
    )
    .unwrap();
    let o = firmware::pyemu()
        .args([
            "campaign", "power-cut", s(&sc), "--runs", "3", "--seed", "7", "-j", "2", "--from-text", ">>> ",
            "--snapshot-every", "4", "--all-reproducers", "--no-progress", "--out", s(&dir.path().join("out")),
        ])
        .output()
        .unwrap();
    let (table, err) = (firmware::text(&o.stdout), firmware::text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{table}\n{err}");
    assert!(table.contains("3 cuts over") && table.contains("bricked                                               0"), "{table}");
    assert!(table.contains("host errors                                           0"), "{table}");
    // The reference told both images apart: factory before the OTA, ota_0 at its end.
    assert!(table.contains("booted the new image (ota_0)") && table.contains("booted the old image (factory)"), "{table}");
    assert_eq!(replay_reproducers(&table), 3, "{table}");
}

/// Ctrl-C in a long campaign: no new cuts start, and the table of the cuts that finished is
/// printed (exit 130), rather than losing the hours already spent.
#[test]
fn a_signal_stops_the_campaign_with_the_table_of_the_cuts_run() {
    let Some(fw) = firmware::bundle_path(R7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let sc = nvs_scenario(dir.path(), &fw);
    let err_path = dir.path().join("err.txt");
    let child = firmware::pyemu()
        .args([
            "campaign", "power-cut", s(&sc), "--runs", "400", "--seed", "5", "-j", "1", "--from-text", ">>> ",
            "--snapshot-every", "16", "--no-progress", "--out", s(&dir.path().join("out")),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    // Once the reference run is over the cuts begin; let one or two finish, then interrupt.
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(&err_path).unwrap().contains("pyemu: reference:") {
        assert!(t0.elapsed().as_secs() < 600, "no reference run: {}", std::fs::read_to_string(&err_path).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(8));
    send_signal(child.id(), 2);
    let o = child.wait_with_output().unwrap();
    let out = firmware::text(&o.stdout);
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(o.status.code(), Some(130), "{out}\n{err}");
    assert!(out.contains("(of 400 planned: stopped by signal 2)"), "{out}\n{err}");
    let line = out.lines().find(|l| l.starts_with("power-cut campaign:")).unwrap();
    let n: usize = line.split(", ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(n < 400, "{line}");
    assert!(out.contains("host errors                                           0"), "{out}");
}

/// Sends `sig` to `pid` through the `kill` program (no libc binding needed in the tests).
fn send_signal(pid: u32, sig: i32) {
    let st = std::process::Command::new("kill").args([format!("-{sig}"), pid.to_string()]).status().unwrap();
    assert!(st.success());
}
