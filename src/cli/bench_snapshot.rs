//! `pyemu bench snapshot`: 20 scenarios that each start at the MicroPython prompt, run cold
//! (every one boots from power-on) and from one snapshot taken at the prompt. Prints the wall
//! time of both, what a start costs from the snapshot, and whether each scenario's serial
//! output after the prompt is the same both ways (it must be: a restored run is the run
//! that never stopped). Prints figures; asserts nothing.

use super::out::outln;
use super::test::{run_one, TestArgs, Verdict};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Firmware bundle (default: the LoPy4 r7 bundle in ../shared/firmware).
    #[arg(default_value = "../shared/firmware/LoPy4-1.20.2.r7.tar.gz")]
    pub firmware: PathBuf,
    /// How many of the 20 scenarios to run.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub scenarios: usize,
}

/// Scenario bodies (steps after the prompt): REPL work, the LED, files, serial, errors.
fn bodies() -> Vec<(&'static str, &'static str)> {
    vec![
        ("add", "  - exec: {code: 'print(1+2)', expect: '3'}\n"),
        ("led red", "  - exec: \"import pycom\\npycom.heartbeat(False)\\npycom.rgbled(0xff0000)\"\n  - expect-led: '#ff0000'\n"),
        ("led green", "  - exec: \"import pycom\\npycom.heartbeat(False)\\npycom.rgbled(0x00ff00)\"\n  - expect-led: '#00ff00'\n"),
        ("led blue", "  - exec: \"import pycom\\npycom.heartbeat(False)\\npycom.rgbled(0x0000ff)\"\n  - expect-led: '#0000ff'\n"),
        ("file", "  - exec: \"f=open('/flash/a.txt','w')\\nf.write('pyemu')\\nf.close()\"\n  - expect-file: {path: /flash/a.txt, content: pyemu}\n"),
        ("sum", "  - exec: {code: 'print(sum(range(1000)))', expect: '499500'}\n"),
        ("bigint", "  - exec: {code: 'print(2**100)', expect: '1267650600228229401496703205376'}\n"),
        ("upper", "  - exec: {code: \"print('pyemu'.upper())\", expect: 'PYEMU'}\n"),
        ("sorted", "  - exec: {code: 'print(sorted([3,1,2]))', expect: '[1, 2, 3]'}\n"),
        ("dict", "  - exec: {code: 'print(len({1:2,3:4}))', expect: '2'}\n"),
        ("float", "  - exec: {code: 'print(1.5*2)', expect: '3.0'}\n"),
        ("led rgb", "  - exec: \"import pycom\\npycom.heartbeat(False)\\npycom.rgbled(0x123456)\"\n  - expect-led: '#123456'\n"),
        ("typed", "  - write-serial: \"7*6\\r\"\n  - wait-serial: '42'\n"),
        ("sleep", "  - exec: {code: \"import time\\ntime.sleep_ms(100)\\nprint('slept')\", expect: 'slept'}\n"),
        ("error", "  - exec: {code: '1/0', expect-error: 'ZeroDivisionError'}\n"),
        ("hexlify", "  - exec: {code: \"import ubinascii\\nprint(ubinascii.hexlify(b'ab'))\", expect: \"b'6162'\"}\n"),
        ("squares", "  - exec: {code: 'print([x*x for x in range(5)])', expect: '[0, 1, 4, 9, 16]'}\n"),
        ("two files", "  - put-file: {path: /flash/b.txt, content: one}\n  - expect-file: {path: /flash/b.txt, content: one}\n"),
        ("delay", "  - delay: 200ms\n  - exec: {code: 'print(9)', expect: '9'}\n"),
        ("heartbeat off", "  - exec: \"import pycom\\npycom.heartbeat(False)\\npycom.rgbled(0)\"\n  - expect-led: '#000000'\n"),
    ]
}

fn args(files: Vec<PathBuf>) -> TestArgs {
    TestArgs::for_files(files)
}

fn load(path: &Path) -> anyhow::Result<crate::scenario::Scenario> {
    let text = std::fs::read_to_string(path)?;
    Ok(crate::scenario::parse(path, &text)?)
}

fn verdict(v: &Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "FAILED",
        Verdict::TimedOut => "TIMEOUT",
    }
}

pub fn bench_snapshot(a: &SnapshotArgs) -> anyhow::Result<()> {
    let fw = a.firmware.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", a.firmware.display()))?;
    let dir = tempfile_dir()?;
    let snap = dir.join("boot.snap");
    let fwq = fw.display().to_string();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for (i, (name, body)) in bodies().into_iter().take(a.scenarios).enumerate() {
        let c = dir.join(format!("cold{i:02}.yaml"));
        std::fs::write(&c, format!("version: 1\nname: {name} (cold)\nfirmware: '{fwq}'\nsteps:\n  - wait-serial: '>>> '\n{body}"))?;
        let w = dir.join(format!("snap{i:02}.yaml"));
        std::fs::write(&w, format!("version: 1\nname: {name} (snapshot)\nsnapshot: '{}'\nsteps:\n{body}", snap.display()))?;
        cold.push((name, c));
        warm.push(w);
    }
    // The snapshot: one boot to the prompt.
    let maker = dir.join("make.yaml");
    std::fs::write(&maker, format!("version: 1\nname: snapshot at the prompt\nfirmware: '{fwq}'\nsteps:\n  - wait-serial: '>>> '\n  - save-snapshot: '{}'\n", snap.display()))?;
    let made = run_one(&load(&maker)?, &args(vec![]));
    if made.verdict != Verdict::Passed {
        anyhow::bail!("making the snapshot failed: {}", made.message.unwrap_or_default());
    }
    let size = std::fs::metadata(&snap)?.len();
    // The restore alone (read, decompress, decode), ten times.
    let mut restores: Vec<f64> = (0..10)
        .map(|_| {
            let t = std::time::Instant::now();
            let l = crate::snapshot::load(&snap);
            let dt = t.elapsed().as_secs_f64();
            drop(l);
            dt
        })
        .collect();
    restores.sort_by(|a, b| a.total_cmp(b));
    outln!("{} scenarios starting at `>>> ` on {}", cold.len(), fw.display())?;
    outln!("snapshot at the prompt: {:.2} s wall to make, {:.1} MiB", made.wall_s, size as f64 / (1 << 20) as f64)?;
    outln!("restoring it (read, decompress, decode): median {:.1} ms, min {:.1} ms of 10", restores[5] * 1e3, restores[0] * 1e3)?;
    outln!("{:<14} {:>9} {:>9} {:>9} {:>11} {:>10}", "scenario", "cold", "snapshot", "start", "same output", "verdicts")?;
    let (mut tc, mut tw, mut starts) = (0.0, 0.0, Vec::new());
    let mut same_all = true;
    for ((name, c), w) in cold.iter().zip(&warm) {
        let rc = run_one(&load(c)?, &args(vec![]));
        let rw = run_one(&load(w)?, &args(vec![]));
        // The cold run's output after its first prompt is what the restored run prints.
        let cs = String::from_utf8_lossy(&rc.serial).to_string();
        let after = cs.find(">>> ").map(|i| &cs[i + 4..]).unwrap_or("");
        let same = after == String::from_utf8_lossy(&rw.serial);
        same_all &= same;
        tc += rc.wall_s;
        tw += rw.wall_s;
        starts.push(rw.start_s);
        outln!(
            "{:<14} {:>8.2}s {:>8.3}s {:>7.1}ms {:>11} {:>10}",
            name,
            rc.wall_s,
            rw.wall_s,
            rw.start_s * 1e3,
            if same { "yes" } else { "NO" },
            format!("{}/{}", verdict(&rc.verdict), verdict(&rw.verdict))
        )?;
    }
    starts.sort_by(|a, b| a.total_cmp(b));
    let n = starts.len().max(1);
    outln!("cold: {tc:.2} s wall for {n} scenarios ({:.2} s each)", tc / n as f64)?;
    outln!(
        "from the snapshot: {tw:.2} s wall ({:.3} s each), plus {:.2} s once to make it: {:.1}x faster",
        tw / n as f64,
        made.wall_s,
        tc / (tw + made.wall_s).max(1e-9)
    )?;
    outln!(
        "start from the snapshot: median {:.1} ms, max {:.1} ms (read, decompress, restore, session up)",
        starts[starts.len() / 2] * 1e3,
        starts.last().copied().unwrap_or(0.0) * 1e3
    )?;
    outln!("serial output after the prompt identical cold and restored: {}", if same_all { "all" } else { "NOT ALL" })?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A private scratch directory under the system's temp dir.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("pyemu-bench-snapshot.{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
