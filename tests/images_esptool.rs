//! `pyemu image info --json` against `esptool image-info` on every image of every real bundle:
//! entry point, each segment's address and length, checksum and hash validity.
//!
//! Firmware: `$PYEMU_FIRMWARE_DIR`, default `<workspace>/../shared/firmware`; missing → skip unless
//! `PYEMU_REQUIRE_FIRMWARE=1`. esptool (`esptool`, `esptool.py` or `python3 -m esptool`) missing →
//! skip unless `PYEMU_REQUIRE_TOOLS=1`.

use test_support as firmware;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The command prefix that runs esptool, if any works.
#[derive(Debug, PartialEq)]
struct Facts {
    entry: u32,
    segments: Vec<(u32, u32)>,
    checksum_valid: bool,
    hash_valid: Option<bool>,
}

fn hex_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// Parses `image-info` output of esptool v5 (segment table) or v3/v4 (`Segment N: len ... load ...`).
fn esptool_facts(cmd: &[String], file: &Path) -> Facts {
    let run = |sub: &str| {
        Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(["--chip", "esp32", sub])
            .arg(file)
            .output()
            .expect("run esptool")
    };
    let mut out = run("image-info");
    if !out.status.success() {
        out = run("image_info");
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "esptool image-info {} failed:\n{text}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut facts = Facts {
        entry: 0,
        segments: Vec::new(),
        checksum_valid: false,
        hash_valid: None,
    };
    let mut in_table = false;
    for line in text.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Entry point:") {
            facts.entry = hex_u32(v).expect("entry");
        } else if l.starts_with("Checksum:") {
            facts.checksum_valid = l.contains("(valid)");
        } else if l.to_ascii_lowercase().starts_with("validation hash:") {
            facts.hash_valid = Some(l.contains("(valid)"));
        } else if l.starts_with("-------") {
            in_table = true;
        } else if in_table {
            // "0  0x3fa68  0x3f400020  0x00000018  DROM"
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() >= 3 && cols[0].parse::<u32>().is_ok() {
                facts
                    .segments
                    .push((hex_u32(cols[2]).unwrap(), hex_u32(cols[1]).unwrap()));
            } else {
                in_table = false;
            }
        } else if let Some(rest) = l.strip_prefix("Segment ") {
            // v4: "Segment 1: len 0x3fa68 load 0x3f400020 file_offs 0x00000018 [DROM]"
            let words: Vec<&str> = rest.split_whitespace().collect();
            let get = |k: &str| {
                words
                    .iter()
                    .position(|w| *w == k)
                    .and_then(|i| words.get(i + 1))
                    .and_then(|v| hex_u32(v))
            };
            if let (Some(len), Some(load)) = (get("len"), get("load")) {
                facts.segments.push((load, len));
            }
        }
    }
    facts
}

fn pyemu_facts(image: &Value) -> Facts {
    Facts {
        entry: image["entry"].as_u64().unwrap() as u32,
        segments: image["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["load_addr"].as_u64().unwrap() as u32,
                    s["len"].as_u64().unwrap() as u32,
                )
            })
            .collect(),
        checksum_valid: image["checksum"]["valid"].as_bool().unwrap(),
        hash_valid: image["sha256"].get("valid").and_then(Value::as_bool),
    }
}

fn pyemu_json(path: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .args(["image", "info", "--json"])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pyemu JSON for {}: {e}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn image_info_agrees_with_esptool_on_every_bundle() {
    let Some(bundles) = firmware::all_bundles() else { return };
    let Some(esptool) = firmware::esptool() else { return };
    let tmp = scratch("esptool");
    let mut compared = 0;
    for bundle in bundles {
        let (code, v) = pyemu_json(&bundle);
        assert_eq!(code, 0, "pyemu image info {} failed: {v}", bundle.display());
        assert_eq!(v["kind"], "bundle");
        let b = images::Bundle::from_bytes(&std::fs::read(&bundle).unwrap()).unwrap();
        for f in v["files"].as_array().unwrap() {
            let Some(image) = f.get("image") else {
                continue;
            };
            let name = f["name"].as_str().unwrap();
            let path = tmp.join(name.replace('/', "_"));
            std::fs::write(&path, b.file(name).unwrap()).unwrap();
            let theirs = esptool_facts(&esptool, &path);
            let ours = pyemu_facts(image);
            assert_eq!(ours, theirs, "{}:{name}", bundle.display());
            assert!(
                ours.checksum_valid && ours.hash_valid == Some(true),
                "{}:{name}",
                bundle.display()
            );
            // The standalone file gives the same answer as the member of the bundle.
            let (code, single) = pyemu_json(&path);
            assert_eq!(code, 0);
            assert_eq!(pyemu_facts(&single["image"]), theirs);
            println!(
                "{}:{name}: entry {:#x}, {} segments, checksum and hash agree",
                bundle.display(),
                ours.entry,
                ours.segments.len()
            );
            compared += 1;

            // Corrupt one data byte: both must call checksum and hash invalid; pyemu exits 2.
            let mut bad = b.file(name).unwrap().to_vec();
            bad[0x20] ^= 0x01;
            let bad_path = tmp.join(format!("{}.corrupt", name.replace('/', "_")));
            std::fs::write(&bad_path, &bad).unwrap();
            let theirs = esptool_facts(&esptool, &bad_path);
            let (code, v) = pyemu_json(&bad_path);
            assert_eq!(code, 2);
            let ours = pyemu_facts(&v["image"]);
            assert_eq!(ours, theirs, "corrupt {}:{name}", bundle.display());
            assert!(!ours.checksum_valid && ours.hash_valid == Some(false));
        }
    }
    assert!(compared >= 2, "no images compared");
    let _ = std::fs::remove_dir_all(&tmp);
}
