//! Pycom bootloader boot modes on the real LoPy4 r7 bundle, driven through the `pyemu`
//! binary: the P12 safe-boot windows, OTA slot choice, erased otadata and the CHECK
//! roll-back. LED periods are measured from the LED trace the run writes, not assumed.

use test_support as firmware;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PYEMU: &str = env!("CARGO_BIN_EXE_pyemu");
/// App entry points (call_start_cpu0) of the r7 (factory) and r4 (ota_0) apps: the runs stop
/// there, once the bootloader has handed over.
const R7_ENTRY: &str = "0x4008161c";
const R4_ENTRY: &str = "0x40081628";
const ORANGE: &str = "#2c1200";
const BLACK: &str = "#000000";

/// The directory with both LoPy4 bundles, or `None` when the test must be skipped.
fn firmware_dir() -> Option<PathBuf> {
    let r7 = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz")?;
    firmware::bundle_path("LoPy4-1.20.2.r4.tar.gz")?;
    Some(r7.parent().unwrap().to_path_buf())
}

struct Fixture {
    dir: tempfile::TempDir,
    r7: PathBuf,
}

impl Fixture {
    fn new(fw: &Path) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        // The r4 app goes into ota_0 so that the two slots are told apart by what runs.
        let bundle = images::bundle::Bundle::from_bytes(&std::fs::read(fw.join("LoPy4-1.20.2.r4.tar.gz")).unwrap()).unwrap();
        std::fs::write(dir.path().join("r4app.bin"), bundle.file("lopy4.bin").expect("r4 app in bundle")).unwrap();
        Fixture { dir, r7: fw.join("LoPy4-1.20.2.r7.tar.gz") }
    }

    /// `pyemu flash build` with extra flags; returns the flash state path.
    fn flash(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.dir.path().join(name);
        let st = Command::new(PYEMU)
            .args(["flash", "build"])
            .arg(&self.r7)
            .arg("-o")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(st.status.success(), "flash build failed: {}", String::from_utf8_lossy(&st.stderr));
        out
    }

    fn ota_flash(&self, name: &str, status: &str) -> PathBuf {
        let app = self.dir.path().join("r4app.bin");
        self.flash(
            name,
            &["--ota0", app.to_str().unwrap(), "--boot-info", &format!("active=ota_0,status={status},prev=factory")],
        )
    }

    /// Runs the bootloader until an app entry; returns (outcome JSON, LED frames, stdout).
    fn run(&self, flash: &Path, hold: Option<&str>, extra: &[&str]) -> (Value, Vec<(f64, String)>, String) {
        let led = flash.with_extension("led.json");
        let mut cmd = Command::new(PYEMU);
        cmd.arg("run")
            .arg(&self.r7)
            .arg("--flash-state")
            .arg(flash)
            .args(["--timeout", "12s", "--stop-at", R7_ENTRY, "--stop-at", R4_ENTRY, "--json", "--log", "error"])
            .arg("--led-trace")
            .arg(&led)
            .args(extra);
        if let Some(h) = hold {
            cmd.args(["--hold", &format!("P12={h}")]);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(0), "run did not reach an app entry:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let json_start = stdout.find("\n{").map(|i| i + 1).unwrap_or(0);
        let outcome: Value = serde_json::from_str(&stdout[json_start..]).expect("outcome JSON at the end of stdout");
        let frames: Vec<Value> = serde_json::from_slice(&std::fs::read(&led).unwrap()).unwrap();
        let frames = frames
            .iter()
            .map(|f| (f["t_s"].as_f64().unwrap(), f["color"].as_str().unwrap().to_string()))
            .collect();
        (outcome, frames, stdout[..json_start].to_string())
    }
}

fn record(o: &Value, which: &str) -> (String, String, String, u64) {
    let r = &o[which];
    (
        r["active"].as_str().unwrap_or("?").to_string(),
        r["status"].as_str().unwrap_or("?").to_string(),
        r["prev"].as_str().unwrap_or("?").to_string(),
        r["info"]["safeboot"].as_u64().unwrap_or(99),
    )
}

/// Intervals between consecutive LED frames starting at or after `from` s and before `to` s.
fn periods(frames: &[(f64, String)], from: f64, to: f64) -> Vec<f64> {
    let t: Vec<f64> = frames.iter().map(|f| f.0).filter(|&t| t >= from && t < to).collect();
    t.windows(2).map(|w| w[1] - w[0]).collect()
}

fn assert_period(ps: &[f64], expect: f64, what: &str) {
    assert!(!ps.is_empty(), "{what}: no toggles");
    for p in ps {
        assert!((p - expect).abs() <= 0.001, "{what}: toggle period {p:.6} s, expected {expect} s ±1 ms (all: {ps:?})");
    }
}

#[test]
fn p12_not_held_boots_the_active_image_without_orange() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let flash = fx.ota_flash("normal.img", "ready");
    let (o, frames, _) = fx.run(&flash, None, &[]);
    assert_eq!(o["boot_mode"], "normal");
    assert_eq!(o["booted_image"], "ota_0");
    assert_eq!(o["booted_offset"], "0x210000");
    assert_eq!(frames.len(), 1, "one black frame from mperror_init0: {frames:?}");
    assert_eq!(frames[0].1, BLACK);
    assert!(!frames.iter().any(|f| f.1 == ORANGE));
    // A normal READY boot writes nothing.
    assert_eq!(record(&o, "boot_record_before"), record(&o, "boot_record_after"));
}

#[test]
fn p12_held_1s_safe_boots_the_active_image_then_next_boot_is_normal() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let flash = fx.ota_flash("w1.img", "ready");
    let (o, frames, _) = fx.run(&flash, Some("1.0s"), &[]);
    assert_eq!(o["boot_mode"], "safe_boot");
    assert_eq!(o["booted_image"], "ota_0", "window 1 keeps the active image");
    assert_eq!(record(&o, "boot_record_after"), ("ota_0".into(), "ready".into(), "factory".into(), 1));
    let first_orange = frames.iter().find(|f| f.1 == ORANGE).expect("orange in window 1");
    assert!(first_orange.0 > 0.1 && first_orange.0 < 0.5, "window 1 starts ~100 ms after the check: {first_orange:?}");
    // Orange/black toggling every 500 ms while held.
    assert_period(&periods(&frames, first_orange.0, 1.2), 0.5, "window 1");
    assert_eq!(frames.last().unwrap().1, BLACK, "LED off at the end");

    // The next boot with P12 released: the flag goes back to 0 and the active image runs.
    let (o2, frames2, _) = fx.run(&flash, None, &[]);
    assert_eq!(o2["boot_mode"], "normal");
    assert_eq!(o2["booted_image"], "ota_0");
    assert_eq!(record(&o2, "boot_record_after").3, 0);
    assert!(!frames2.iter().any(|f| f.1 == ORANGE));
}

#[test]
fn p12_held_4_5s_safe_boots_the_previous_image() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let flash = fx.ota_flash("w2.img", "ready");
    let (o, frames, _) = fx.run(&flash, Some("4.5s"), &[]);
    assert_eq!(o["boot_mode"], "safe_boot");
    assert_eq!(o["booted_image"], "factory", "window 2 boots the previous image");
    assert_eq!(o["booted_offset"], "0x10000");
    assert_eq!(record(&o, "boot_record_after").3, 1);
    let first = frames.iter().find(|f| f.1 == ORANGE).unwrap().0;
    assert_period(&periods(&frames, first, first + 2.9), 0.5, "window 1");
    // Window 2 starts about 3.1 s after the check (100 ms + 3 s).
    let w2 = first + 3.0;
    assert_period(&periods(&frames, w2 - 0.01, 4.55), 0.25, "window 2");
}

#[test]
fn p12_held_8s_selects_factory_with_the_forced_blink() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let flash = fx.ota_flash("w3.img", "ready");
    let t = std::time::Instant::now();
    let (o, frames, _) = fx.run(&flash, Some("8.0s"), &[]);
    eprintln!("8 s safe-boot hold: {:.3} s of wall time", t.elapsed().as_secs_f64());
    assert_eq!(o["boot_mode"], "safe_boot");
    assert_eq!(o["booted_image"], "factory");
    let first = frames.iter().find(|f| f.1 == ORANGE).unwrap().0;
    assert_period(&periods(&frames, first, first + 2.9), 0.5, "window 1");
    assert_period(&periods(&frames, first + 3.0 - 0.01, first + 5.9), 0.25, "window 2");
    // Window 3 after ~6.1 s: 1.5 s of 100 ms toggles whatever the pin does, then off.
    let w3: Vec<_> = frames.iter().filter(|f| f.0 >= first + 6.0 - 0.01).collect();
    let w3_toggles = periods(&frames, first + 6.0 - 0.01, first + 7.49);
    assert_period(&w3_toggles, 0.1, "window 3");
    let span = w3.last().unwrap().0 - w3.first().unwrap().0;
    assert!((span - 1.5).abs() < 0.11, "window 3 lasts 1.5 s, saw {span:.3} s: {w3:?}");
    assert_eq!(frames.last().unwrap().1, BLACK);
}

#[test]
fn erased_otadata_boots_factory_and_writes_a_ready_record() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let flash = fx.flash("erased.img", &["--boot-info", "erased"]);
    // Even with P12 held there is no safe-boot window on this first boot.
    let (o, frames, _) = fx.run(&flash, Some("1.0s"), &[]);
    assert_eq!(o["booted_image"], "factory");
    assert_eq!(o["boot_record_before"]["valid"], false);
    assert_eq!(record(&o, "boot_record_after"), ("factory".into(), "ready".into(), "factory".into(), 0));
    assert_eq!(o["boot_record_after"]["valid"], true);
    assert!(!frames.iter().any(|f| f.1 == ORANGE), "no safe-boot window: {frames:?}");
}

#[test]
fn check_record_with_a_corrupt_image_rolls_back_and_saves_the_swap() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let flash = fx.ota_flash("check.img", "check");
    // Corrupt one byte of the new (ota_0) image's first segment.
    let mut data = std::fs::read(&flash).unwrap();
    data[0x210000 + 0x1000] ^= 0xFF;
    std::fs::write(&flash, data).unwrap();
    let (o, _, stdout) = fx.run(&flash, None, &[]);
    assert!(stdout.contains("esp_image: Checksum failed"), "IDF's verification error on UART:\n{stdout}");
    assert!(
        stdout.contains("Cannot load Firmware img in the active partition! .. Defaulting back to previous partition"),
        "Pycom's roll-back message:\n{stdout}"
    );
    assert_eq!(o["booted_image"], "factory");
    assert_eq!(record(&o, "boot_record_before"), ("ota_0".into(), "check".into(), "factory".into(), 0));
    assert_eq!(record(&o, "boot_record_after"), ("factory".into(), "ready".into(), "ota_0".into(), 0));
}

#[test]
fn fast_path_and_interpreted_delays_agree_exactly() {
    let Some(fw) = firmware_dir() else { return };
    let fx = Fixture::new(&fw);
    let a = fx.ota_flash("fp_a.img", "ready");
    let b = fx.ota_flash("fp_b.img", "ready");
    let (oa, fa, sa) = fx.run(&a, Some("1.2s"), &[]);
    let (ob, fb, sb) = fx.run(&b, Some("1.2s"), &["--no-fastpath"]);
    assert_eq!(fa, fb, "LED timelines differ");
    assert_eq!(sa, sb, "UART output differs");
    assert_eq!(oa["virtual_time_s"], ob["virtual_time_s"], "the app entry is reached at the same virtual time");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "flash contents differ");
}
