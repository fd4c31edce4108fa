//! The whole OTA slot-swap cycle, through the `pyemu` binary as a user drives it, on LoPy4 r7
//! (taking r4 over the air) and on LoPy4 r4 (taking r7):
//! factory → `ota:` through the firmware's own `pycom.ota_*` (record CHECK) → power on: ota_0
//! boots and the bootloader marks it READY → P12 held 4.5 s: the previous image (factory),
//! one boot only → P12 held 8 s: factory → `pycom.bootmgr(boot_partition=pycom.FACTORY)`:
//! factory, READY → an OTA image with one flipped byte: the bootloader refuses it and rolls
//! back to factory. `pyemu flash info` shows the record at each step.
//! (`../shared/docs/pycom-firmware.md` §2, §3, §7; the bootloader alone: `tests/safe_boot.rs`.)

use test_support::apps;
use test_support as firmware;

use serde_json::Value;
use std::path::{Path, PathBuf};

const CONFIG: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

struct Board {
    dir: tempfile::TempDir,
    /// The factory firmware and the one sent over the air, with their version strings.
    base: Firmware,
    other: Firmware,
    state: PathBuf,
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Board {
    fn new(base: Firmware, other: Firmware) -> Board {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("board.flash");
        Board { dir, base, other, state }
    }

    /// `pyemu test` of a scenario on the board's flash state; returns its stdout.
    fn scenario(&self, name: &str, steps: &str) -> String {
        let file = self.dir.path().join(format!("{name}.yaml"));
        let text = format!(
            "name: {name}\nversion: 1\nfirmware: {}\nconfig: {CONFIG}\ntimeout: 200s\nallow-panic: true\nsteps:\n{steps}",
            s(&self.base.0)
        );
        std::fs::write(&file, text).unwrap();
        let logs = self.dir.path().join("logs");
        let o = firmware::pyemu()
            .args(["test", s(&file), "--flash-state", s(&self.state), "--serial-log-dir", s(&logs)])
            .output()
            .unwrap();
        let out = firmware::text(&o.stdout);
        let log = std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap_or_default();
        assert_eq!(o.status.code(), Some(0), "scenario {name} failed:\n{out}\n{}\nserial:\n{log}", firmware::text(&o.stderr));
        only_the_start_up_race(&log);
        out + &log
    }

    /// `pyemu run` from power-on to the prompt, with P12 held for `hold`; at the prompt the
    /// firmware says its version and its own view of the record. Returns (that line, outcome,
    /// serial log).
    fn boot(&self, hold: Option<&str>) -> (String, Value, String) {
        let log = self.dir.path().join("boot.log");
        let mut args = vec![
            s(&self.base.0), "--flash-state", s(&self.state), "--timeout", "15s", "--json", "--serial-log-file", s(&log),
            "--exec", "import os, pycom\nprint(os.uname().release, pycom.bootmgr())",
        ];
        let h;
        if let Some(t) = hold {
            h = format!("P12={t}");
            args.extend(["--hold", &h]);
        }
        let o = firmware::run(&args);
        let out = firmware::text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{args:?}\n{out}\n{}", firmware::text(&o.stderr));
        let (line, json) = out.split_once('\n').expect("the exec output, then the outcome");
        let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        let log = std::fs::read_to_string(&log).unwrap();
        only_the_start_up_race(&log);
        (line.to_string(), v, log)
    }

    /// The boot record line of `pyemu flash info`.
    fn record(&self) -> String {
        let o = firmware::pyemu().args(["flash", "info", s(&self.state)]).output().unwrap();
        let out = firmware::text(&o.stdout);
        // Exit 2 when an image on it fails a check (a corrupted OTA does): it says which.
        assert!(matches!(o.status.code(), Some(0 | 2)), "{}", firmware::text(&o.stderr));
        out.lines().find(|l| l.trim_start().starts_with("boot_info:")).unwrap_or_else(|| panic!("no boot_info in\n{out}")).trim().to_string()
    }

    fn cycle(&self) {
        let (base, other) = (self.base.1, self.other.1);
        // 1. The OTA, through the firmware's own API; the record waits in CHECK.
        let out = self.scenario(
            "ota",
            &format!(
                "  - wait-serial: \">>> \"\n  - ota: {}\n  - expect-boot: {{ image: factory, active: ota_0, status: check }}\n",
                s(&self.other.0)
            ),
        );
        assert!(out.contains("Full Update Image detected"), "{out}");
        assert!(self.record().starts_with("boot_info: active ota_0, status check, prev factory"), "{}", self.record());

        // 2. Power on: the bootloader verifies ota_0, marks it READY and boots it.
        let (line, v, _) = self.boot(None);
        assert!(line.starts_with(other) && line.contains("'ota_0'") && line.contains("'Status: Ready'"), "{line}");
        assert_eq!((v["boot_mode"].as_str(), v["booted_image"].as_str()), (Some("normal"), Some("ota_0")));
        assert!(self.record().starts_with("boot_info: active ota_0, status ready, prev factory"), "{}", self.record());

        // 3. P12 held 4.5 s: the previous image (factory), in safe boot, for this boot only.
        let (line, v, _) = self.boot(Some("4.5s"));
        assert!(line.starts_with(base), "{line}");
        assert_eq!((v["boot_mode"].as_str(), v["booted_image"].as_str()), (Some("safe_boot"), Some("factory")));
        let (line, v, _) = self.boot(None);
        assert!(line.starts_with(other), "{line}");
        assert_eq!((v["boot_mode"].as_str(), v["booted_image"].as_str()), (Some("normal"), Some("ota_0")));

        // 4. P12 held 8 s: factory.
        let (line, v, _) = self.boot(Some("8s"));
        assert!(line.starts_with(base), "{line}");
        assert_eq!((v["boot_mode"].as_str(), v["booted_image"].as_str()), (Some("safe_boot"), Some("factory")));
        assert!(self.record().starts_with("boot_info: active ota_0, status ready"), "{}", self.record());

        // 5. pycom.bootmgr(boot_partition=FACTORY): writes the record and resets at once.
        let out = self.scenario(
            "bootmgr",
            &format!(
                "  - wait-serial: \"Pycom MicroPython {other}\"\n  - wait-serial: \">>> \"\n  - write-serial: \"import pycom; pycom.bootmgr(boot_partition=pycom.FACTORY)\\r\"\n  - wait-serial: \"Pycom MicroPython {base}\"\n  - wait-serial: \">>> \"\n  - expect-boot: {{ mode: normal, image: factory, active: factory, status: ready }}\n"
            ),
        );
        assert!(out.contains("#6 expect-boot ✓"), "{out}");
        assert!(self.record().starts_with("boot_info: active factory, status ready, prev ota_0"), "{}", self.record());
        let (line, _, _) = self.boot(None);
        assert!(line.starts_with(base) && line.contains("('Factory'"), "{line}");

        // 6. An OTA image with one flipped byte goes to ota_0; the bootloader's check fails and it
        // rolls back to the previous image, factory, and saves that.
        let app = self.dir.path().join("small.bin");
        std::fs::write(&app, apps::banner_app(&self.base.0, "pyemu ota test app")).unwrap();
        let out = self.scenario(
            "flipped",
            &format!(
                "  - wait-serial: \">>> \"\n  - ota: {{ image: {}, flip-byte: 0x40 }}\n  - expect-boot: {{ active: ota_0, status: check }}\n",
                s(&app)
            ),
        );
        assert!(out.contains("note: image check") && out.contains("the bootloader will refuse it"), "{out}");
        let o = firmware::pyemu().args(["flash", "info", s(&self.state)]).output().unwrap();
        let info = firmware::text(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{info}");
        assert!(info.contains("bootloader would start: factory (ota_0 fails verification: roll-back"), "{info}");
        let (line, v, log) = self.boot(None);
        assert!(log.contains("Cannot load Firmware img in the active partition! .. Defaulting back to previous partition"), "{log}");
        assert!(line.starts_with(base), "{line}");
        assert_eq!(v["booted_image"].as_str(), Some("factory"), "{v}");
        assert!(self.record().starts_with("boot_info: active factory, status ready, prev ota_0"), "{}", self.record());
    }
}

/// The firmware's LED/idle start-up race (docs/known-issues.md) is lost on some boots — at
/// pyemu's nominal timing on a few of the boots this cycle makes (`pyemu campaign timing`
/// measures 35–40 % of boards): the board reboots, as a real one would, and the cycle's
/// outcomes are still checked. Any other panic fails the test.
fn only_the_start_up_race(log: &str) {
    for l in log.lines().filter(|l| l.contains("Guru Meditation") || l.contains("abort()")) {
        assert!(l.contains("(Interrupt wdt timeout on CPU"), "a panic that is not the start-up race: {l}\n{log}");
    }
}

/// A bundle and the version its banner says.
type Firmware = (PathBuf, &'static str);

fn bundles() -> Option<(Firmware, Firmware)> {
    let r7 = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz")?;
    let r4 = firmware::bundle_path("LoPy4-1.20.2.r4.tar.gz")?;
    Some(((r7, "1.20.2.r7"), (r4, "1.20.2.r4")))
}

#[test]
fn r7_takes_r4_over_the_air_and_the_whole_swap_cycle_follows() {
    let Some((r7, r4)) = bundles() else { return };
    Board::new(r7, r4).cycle();
}

#[test]
fn r4_takes_r7_over_the_air_and_the_whole_swap_cycle_follows() {
    let Some((r7, r4)) = bundles() else { return };
    Board::new(r4, r7).cycle();
}
