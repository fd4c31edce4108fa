//! `kill -9` at any instant of a first boot (state creation, NVS and LittleFS formatting,
//! anything) leaves a flash state the next run opens and boots to the MicroPython prompt
//! (through the firmware's known interrupt-watchdog race and its reboot, if it fires).
//!
//! Rounds: `PYEMU_KILL_ROUNDS` (default 50), on two threads; kill instants from a seeded
//! generator so a failing round can be repeated (`PYEMU_KILL_SEED`).

use test_support as firmware;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const QUIET_RADIOS: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

/// splitmix64: a fixed sequence per seed, no crate needed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn round(fw: &Path, dir: &Path, i: u64, kill_after: Duration) -> Result<(), String> {
    let state = dir.join(format!("k{i}.flash"));
    let mut child = firmware::pyemu()
        .args(["run", fw.to_str().unwrap(), "--flash-state", state.to_str().unwrap(), "--config", QUIET_RADIOS, "--timeout", "30s", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    while t.elapsed() < kill_after {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let boot = |timing: &[&str]| {
        firmware::pyemu()
            .args(["run", fw.to_str().unwrap(), "--flash-state", state.to_str().unwrap(), "--config", QUIET_RADIOS])
            .args(["--timeout", "30s", "--expect-text", ">>> "])
            .args(timing)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())
    };
    // The firmware's own LED/idle start-up race (docs/known-issues.md) can fire its interrupt
    // watchdog (or, in its other form, a LoadProhibited with IDLE0's event item 0x3ffbbb28 in
    // A2) on any boot, whatever the flash holds; it reboots and goes on. Any other panic on
    // the way (a corrupt file system, NVS) is a failure, and so is not reaching the prompt.
    let race_only = |out: &str| {
        let lines: Vec<&str> = out.lines().collect();
        !out.contains("abort() was called")
            && !out.contains("CORRUPT HEAP")
            && lines.iter().enumerate().filter(|(_, l)| l.contains("Guru Meditation")).all(|(k, l)| {
                l.contains("Interrupt wdt timeout")
                    || (l.contains("LoadProhibited") && lines[k..(k + 8).min(lines.len())].iter().any(|d| d.contains("A2      : 0x3ffbbb28")))
            })
    };
    let mut o = boot(&[])?;
    let mut out = firmware::text(&o.stdout);
    if o.status.code() != Some(0) && race_only(&out) && out.contains("Guru Meditation") {
        // Every reboot in pyemu repeats the same start-up timing, so a state whose boot loses
        // the race loses it on every reboot, where silicon's phase varies from boot to boot.
        // Whether the state itself is sound: boot it as a board with other timing would.
        o = boot(&["--timing-seed", "1"])?;
        out = firmware::text(&o.stdout);
    }
    let other_panic = !race_only(&out);
    if o.status.code() != Some(0) || other_panic {
        return Err(format!(
            "round {i}, killed after {kill_after:?}: the next run exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
            o.status.code(),
            firmware::text(&o.stdout),
            firmware::text(&o.stderr)
        ));
    }
    let _ = std::fs::remove_file(&state);
    let _ = std::fs::remove_file(dir.join(format!("k{i}.flash.meta")));
    Ok(())
}

#[test]
fn kill_9_at_random_instants_of_a_first_boot_never_bricks_the_state() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let rounds: u64 = std::env::var("PYEMU_KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seed: u64 = std::env::var("PYEMU_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(13);
    let dir = tempfile::tempdir().unwrap();
    // A first boot to the prompt takes ~4-6 s of wall time here; kill anywhere in 0-6 s,
    // a fifth of the rounds in the first 100 ms (state creation).
    let mut rng = seed;
    let plan: Vec<(u64, Duration)> = (0..rounds)
        .map(|i| {
            let r = next(&mut rng);
            let ms = if r.is_multiple_of(5) { next(&mut rng) % 100 } else { next(&mut rng) % 6000 };
            (i, Duration::from_millis(ms))
        })
        .collect();
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for part in plan.chunks(plan.len().div_ceil(2).max(1)) {
            let (fw, dir, failures) = (&fw, dir.path(), &failures);
            sc.spawn(move || {
                for (i, after) in part {
                    if let Err(e) = round(fw, dir, *i, *after) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let f = failures.into_inner().unwrap();
    assert!(f.is_empty(), "{} of {rounds} rounds failed (seed {seed}):\n{}", f.len(), f.join("\n\n"));
}
