//! Guest fuzzer: random guest activity on the real SoC, looking for host panics (issue 13).
//!
//! ```sh
//! cargo run --release -p peripherals --example guest_fuzz -- --mode insn --secs 600 --seed 1
//! cargo run --release -p peripherals --example guest_fuzz -- --mode mmio --case 0x1234abcd  # replay one
//! ```
//!
//! Options: `--mode insn|mmio|both` (default both, alternating), `--secs N` (default 60),
//! `--seed N` (default 1), `--cases N` (stop after N cases), `--case SEED` (run and print one
//! case), `--no-minimize`. Each panic is printed with the case seed, the command that
//! replays it, and (for each new panic site) a minimised case. Exit status 1 if any case
//! panicked. Build with `--profile fuzz` to also catch arithmetic overflow.

mod engine;

use engine::{case_seed, describe, generate, minimize, our_frames, run_caught, Mode, Outcome};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    modes: Vec<Mode>,
    secs: u64,
    seed: u64,
    cases: Option<u64>,
    case: Option<u64>,
    minimize: bool,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("bad number {s:?}: {e}"))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { modes: vec![Mode::Insn, Mode::Mmio], secs: 60, seed: 1, cases: None, case: None, minimize: true };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--mode" => {
                a.modes = match val()?.as_str() {
                    "insn" => vec![Mode::Insn],
                    "mmio" => vec![Mode::Mmio],
                    "both" => vec![Mode::Insn, Mode::Mmio],
                    m => return Err(format!("unknown mode {m:?} (insn, mmio, both)")),
                }
            }
            "--secs" => a.secs = parse_u64(&val()?)?,
            "--seed" => a.seed = parse_u64(&val()?)?,
            "--cases" => a.cases = Some(parse_u64(&val()?)?),
            "--case" => a.case = Some(parse_u64(&val()?)?),
            "--no-minimize" => a.minimize = false,
            _ => return Err(format!("unknown option {k:?}")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("guest_fuzz: {e}");
            std::process::exit(2);
        }
    };
    if let Some(seed) = args.case {
        for &mode in &args.modes {
            let case = generate(mode, seed);
            print!("{}", describe(&case));
            match run_caught(&case) {
                Ok(o) => println!("{}: ok: {o:?}", mode.name()),
                Err(p) => println!("{}: PANIC {} at {}\n{}", mode.name(), p.message, p.location, p.backtrace),
            }
        }
        return;
    }
    let start = Instant::now();
    let limit = Duration::from_secs(args.secs);
    // A case the host cannot finish is a bug too (a loop on guest-chosen values): say which
    // one while it still runs.
    let running = Arc::new(Mutex::new((Instant::now(), 0u64, Mode::Insn, false)));
    {
        let running = running.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
            if !r.3 && r.0.elapsed() > Duration::from_secs(20) {
                r.3 = true;
                println!("SLOW case seed {:#x} ({}): still running after 20 s", r.1, r.2.name());
            }
        });
    }
    let mut totals: BTreeMap<&str, (u64, Outcome)> = BTreeMap::new();
    // Panic site -> (count, first case seed, message).
    let mut sites: BTreeMap<String, (u64, u64, String)> = BTreeMap::new();
    let mut panics = 0u64;
    let mut last_report = Instant::now();
    let mut i = 0u64;
    let mut slowest = (Duration::ZERO, 0u64, Mode::Insn);
    println!("guest_fuzz: seed {}, modes {:?}, {} s", args.seed, args.modes.iter().map(|m| m.name()).collect::<Vec<_>>(), args.secs);
    while start.elapsed() < limit && args.cases.is_none_or(|n| i < n) {
        let mode = args.modes[(i % args.modes.len() as u64) as usize];
        let seed = case_seed(args.seed, i);
        i += 1;
        let case = generate(mode, seed);
        let t = totals.entry(mode.name()).or_default();
        t.0 += 1;
        let began = Instant::now();
        *running.lock().unwrap_or_else(|e| e.into_inner()) = (began, seed, mode, false);
        let result = run_caught(&case);
        let took = began.elapsed();
        if took > slowest.0 {
            slowest = (took, seed, mode);
        }
        match result {
            Ok(o) => t.1.add(&o),
            Err(p) => {
                panics += 1;
                println!("PANIC case {} seed {seed:#018x} ({}): {} at {}", i - 1, mode.name(), p.message, p.location);
                println!("  replay: cargo run --release -p peripherals --example guest_fuzz -- --mode {} --case {seed:#x}", mode.name());
                let site = sites.entry(p.location.clone()).or_insert((0, seed, p.message.clone()));
                site.0 += 1;
                if site.0 == 1 {
                    print!("{}", our_frames(&p.backtrace));
                    if args.minimize {
                        let small = minimize(&case, &p.location, 400);
                        println!("  minimised:");
                        for l in describe(&small).lines() {
                            println!("    {l}");
                        }
                    }
                }
            }
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            let cases: u64 = totals.values().map(|t| t.0).sum();
            let insns: u64 = totals.values().map(|t| t.1.instructions).sum();
            println!("[{:>5.0} s] {cases} cases, {insns} guest instructions, {panics} panics at {} sites", start.elapsed().as_secs_f64(), sites.len());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("guest_fuzz: done after {secs:.0} s (seed {})", args.seed);
    for (mode, (cases, o)) in &totals {
        println!(
            "  {mode}: {cases} cases, {} guest instructions, {} exceptions/interrupts taken, {} resets, {} unmodelled-register reports",
            o.instructions, o.exceptions, o.resets, o.unmodelled
        );
    }
    println!("  slowest case: {:.0} ms (--mode {} --case {:#x})", slowest.0.as_secs_f64() * 1000.0, slowest.2.name(), slowest.1);
    println!("  {panics} panics at {} sites", sites.len());
    for (loc, (n, seed, msg)) in &sites {
        println!("    {n:>6} x {loc}: {msg} (first: --case {seed:#x})");
    }
    if panics > 0 {
        std::process::exit(1);
    }
}
