//! The board from the firmware's content, through the binary: renamed bundles, raw app images and
//! merged flash images name their board in `image info`, build and boot with no `--board`; a
//! disagreeing `--board` warns with what follows; `pyemu boards` lists the table.
//!
//! Firmware lookup as in the `test-support` crate (skip with a message when absent). Only one test
//! boots, to the first `>>> `.

use test_support as firmware;
use firmware::{bundle_path, pyemu, text};
use images::bundle::Bundle;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-boards-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `bundle` copied to a scratch directory as `firmware.tar.gz`, a name that says nothing;
/// `None` when the bundle is absent (the test skips).
fn neutral_copy(bundle: &str, tag: &str) -> Option<(PathBuf, PathBuf)> {
    let src = bundle_path(bundle)?;
    let dir = scratch(tag);
    let fw = dir.join("firmware.tar.gz");
    std::fs::copy(&src, &fw).unwrap();
    Some((dir, fw))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `pyemu ARGS…` → (success, stdout, stderr).
fn pyemu_out(args: &[&str]) -> (bool, String, String) {
    let o = pyemu().args(args).output().expect("starting pyemu");
    (o.status.success(), text(&o.stdout), text(&o.stderr))
}

/// `image info --json FILE`: the board it found, and the clues it gave.
fn info_board(file: &Path) -> (Option<String>, Vec<String>) {
    let (ok, out, err) = pyemu_out(&["image", "info", "--json", s(file)]);
    assert!(ok, "image info {}: {err}", file.display());
    let v: Value = serde_json::from_str(&out).unwrap();
    let clues = v["board_evidence"]["evidence"].as_array().unwrap().iter().map(|e| e["clue"].as_str().unwrap().to_string()).collect();
    (v["board"].as_str().map(str::to_string), clues)
}

const CASES: [(&str, &str, &str); 3] = [
    ("LoPy4-1.20.2.r7.tar.gz", "lopy4", "LoPy4 with ESP32"),
    ("LoPy4-1.20.2.r4.tar.gz", "lopy4", "LoPy4 with ESP32"),
    ("SiPy-1.20.2.rc3.tar.gz", "sipy", "SiPy with ESP32"),
];

#[test]
fn renamed_bundles_their_apps_and_flash_images_name_their_board() {
    for (bundle, board, banner) in CASES {
        // A name that says nothing: the content must.
        let Some((dir, fw)) = neutral_copy(bundle, &format!("{board}-{bundle}")) else { return };

        let (ok, out, err) = pyemu_out(&["image", "info", s(&fw)]);
        assert!(ok, "{err}");
        assert!(out.contains(&format!("board: {board} (")), "{bundle}: {out}");
        assert!(out.contains(&format!("banner: \"{banner}\"")), "{bundle}: {out}");
        assert!(out.contains("bundle member: the bundle's app is"), "{bundle}: {out}");
        let (got, clues) = info_board(&fw);
        assert_eq!(got.as_deref(), Some(board), "{bundle}");
        assert!(clues.iter().all(|c| c != "file_name"), "a neutral name is no clue: {clues:?}");

        // The app image alone.
        let data = std::fs::read(&fw).unwrap();
        let b = Bundle::from_bytes(&data).unwrap();
        let app = dir.join("app.bin");
        std::fs::write(&app, b.app_image().unwrap().1).unwrap();
        assert_eq!(info_board(&app).0.as_deref(), Some(board), "{bundle}: app image");

        // A merged flash image built with no --board, under a neutral name.
        let flash = dir.join("flash.bin");
        let (ok, out, err) = pyemu_out(&["flash", "build", s(&fw), "-o", s(&flash)]);
        assert!(ok, "{bundle}: flash build: {err}");
        assert!(out.contains(&format!("for {board} from")), "{out}");
        assert!(!err.contains("warning"), "{err}");
        let (got, clues) = info_board(&flash);
        assert_eq!(got.as_deref(), Some(board), "{bundle}: flash image");
        for c in ["banner", "layout", "flash_size"] {
            assert!(clues.iter().any(|x| x == c), "{bundle}: flash image clues {clues:?} lack {c}");
        }
    }
}

#[test]
fn a_renamed_flash_image_boots_with_no_board() {
    let Some((dir, fw)) = neutral_copy("SiPy-1.20.2.rc3.tar.gz", "boot") else { return };
    let flash = dir.join("flash.bin");
    let (ok, _, err) = pyemu_out(&["flash", "build", s(&fw), "-o", s(&flash)]);
    assert!(ok, "{err}");
    let o = firmware::run(&[s(&flash), "--timeout", "20s", "--expect-text", ">>> ", "-q"]);
    assert!(o.status.success(), "no prompt from a SiPy flash.bin: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("SiPy with ESP32"), "{}", text(&o.stdout));
}

#[test]
fn a_disagreeing_board_warns_with_what_follows_and_goes_on() {
    let Some((dir, fw)) = neutral_copy("LoPy4-1.20.2.r7.tar.gz", "disagree") else { return };
    let out_file = dir.join("flash.bin");
    let (ok, out, err) = pyemu_out(&["flash", "build", s(&fw), "-o", s(&out_file), "--board", "esp32-8mb-nopsram"]);
    assert!(ok, "{err}");
    assert!(err.contains("warning") && err.contains("looks built for the lopy4"), "{err}");
    assert!(err.contains("GC pool malloc failed!"), "the PSRAM hang is named: {err}");
    assert!(err.contains("LoRa/Sigfox"), "the missing radios are named: {err}");
    assert!(err.contains("going on with the esp32-8mb-nopsram"), "{err}");
    assert!(out.contains("for esp32-8mb-nopsram from"), "{out}");
    // A layout mismatch says so too.
    // (The LoPy4 bundle's 4 MB recipe names a fipy.bin it lacks, so this build fails after the warning.)
    let (_, _, err) = pyemu_out(&["flash", "build", s(&fw), "-o", s(&out_file), "--board", "sipy"]);
    assert!(err.contains("8 MB layout") && err.contains("will not match"), "{err}");
    // The board the content names gives no warning.
    let (ok, _, err) = pyemu_out(&["flash", "build", s(&fw), "-o", s(&out_file), "--board", "lopy4"]);
    assert!(ok && !err.contains("warning"), "{err}");
}

#[test]
fn content_naming_no_board_is_a_clear_error() {
    let dir = scratch("unknown");
    // An app image header and a banner of a board pyemu does not know.
    // One DROM segment holding the banner, so it is an app and not a (RAM-only) bootloader.
    let banner = b"\0MicroPython v1 on 2024; Frobnicator with ESP32\r\n\0\0\0\0";
    let mut app = vec![0xE9, 1, 2, 0x0F];
    app.extend_from_slice(&[0; 20]);
    app.extend_from_slice(&0x3F40_0020u32.to_le_bytes());
    app.extend_from_slice(&(banner.len() as u32).to_le_bytes());
    app.extend_from_slice(banner);
    let f = dir.join("firmware.bin");
    std::fs::write(&f, &app).unwrap();
    let (ok, _, err) = pyemu_out(&["flash", "build", s(&f), "-o", s(&dir.join("out.bin"))]);
    assert!(!ok);
    assert!(err.contains("cannot tell the board") && err.contains("Frobnicator") && err.contains("pass --board"), "{err}");
    assert!(!dir.join("out.bin").exists());
    let (ok, _, err) = pyemu_out(&["run", s(&f), "--timeout", "1s"]);
    assert!(!ok && err.contains("cannot tell the board"), "{err}");
}

#[test]
fn boards_lists_every_board_with_its_facts() {
    let (ok, out, err) = pyemu_out(&["boards"]);
    assert!(ok, "{err}");
    for id in ["lopy4", "wipy3", "fipy", "gpy", "sipy", "lopy", "wipy2", "esp32-4mb", "esp32-4mb-psram", "esp32-8mb", "esp32-8mb-nopsram", "heltec-ws"] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{id} "))), "{id} missing:\n{out}");
    }
    let fipy = out.lines().find(|l| l.starts_with("fipy ")).unwrap();
    assert!(fipy.contains("8 MB") && fipy.contains("LoRa Sigfox LTE"), "{fipy}");
    let (ok, out, _) = pyemu_out(&["boards", "--json"]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    let heltec = v.as_array().unwrap().iter().find(|b| b["id"] == "heltec-ws").unwrap();
    assert_eq!(heltec["flash_size"], 4 << 20);
    assert_eq!(heltec["psram_size"], 0);
    assert_eq!(heltec["lora"], true);
}
