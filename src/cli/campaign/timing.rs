//! `pyemu campaign timing SCENARIO`: run a scenario on many boards whose timing varies as
//! silicon's does (`peripherals::timing`: crystal ppm, RC slow clock, line-fill overheads,
//! the APP CPU's start), and report how often it passes.
//!
//! Each run is `pyemu test SCENARIO --timing-seed X` with X drawn from the campaign's seed,
//! so every row of the table, and every failure, is reproducible on its own. Runs are
//! independent; they share the power-cut campaign's threads, progress bar and wall limit.

use super::{run_jobs, shuffled, CampaignArgs};
use crate::cli::run::parse_duration;
use crate::cli::test::{Report, TestArgs, Verdict};
use crate::scenario;
use anyhow::bail;
use clap::Args;
use peripherals::timing::{self, Timing, Vary};
use rand_pcg::rand_core::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct TimingArgs {
    /// The scenario (YAML, as `pyemu test` runs it).
    pub scenario: PathBuf,
    /// How many runs (boards).
    #[arg(long, default_value_t = 40)]
    pub runs: usize,
    /// Seed the runs' timing seeds are drawn from (default: a fresh one, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Virtual-time limit per run (overrides the scenario's `timeout`).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<u64>,
    /// Vary only these quantities (comma-separated: xtal, slow, fill, app; default all), to
    /// find which one moves the outcome.
    #[arg(long, value_name = "LIST", value_parser = crate::cli::run::parse_vary)]
    pub vary: Option<Vary>,
    /// Print every run (its timing and outcome), not only the failures.
    #[arg(long)]
    pub all_runs: bool,
    #[command(flatten)]
    pub run: CampaignArgs,
}

/// One run's result.
struct Run {
    passed: bool,
    /// "passed", the first panic, "timed out: …" or the failing step.
    class: String,
    message: Option<String>,
}

/// `s` with every run of white space one space (panic lines pad numbers).
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The outcome class of a scenario run: what a user would group failures by.
fn class_of(rep: &Report) -> String {
    match (&rep.verdict, rep.panics.first()) {
        (Verdict::Passed, _) => "passed".into(),
        (_, Some(p)) => squeeze(p),
        (Verdict::TimedOut, None) => format!("timed out: {}", squeeze(rep.message.as_deref().unwrap_or(""))),
        (Verdict::Failed, None) => squeeze(rep.message.as_deref().unwrap_or("failed")),
    }
}

pub fn run(a: TimingArgs) -> anyhow::Result<ExitCode> {
    let sc = scenario::load(&a.scenario)?;
    if a.runs == 0 {
        bail!("--runs 0: nothing to do");
    }
    if sc.flash_state.is_some() {
        bail!("{}: every run needs a fresh flash in memory; give the scenario no `flash-state`", a.scenario.display());
    }
    if sc.snapshot.is_some() {
        bail!("{}: starts from a snapshot, which keeps the timing of the run that took it; a timing campaign needs a power-on", a.scenario.display());
    }
    crate::session::install_signal_handlers()?;
    let seed = a.seed.unwrap_or_else(crate::power_cut::fresh_seed);
    let vary = a.vary.unwrap_or(Vary::ALL);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let seeds: Vec<u64> = (0..a.runs).map(|_| rng.next_u64() % 1_000_000_000).collect();
    let order = shuffled(seeds.len(), &mut rng);
    let started = Instant::now();
    let cpu0 = cpu_seconds();
    let jobs = a.run.jobs("runs", started);
    let results = run_jobs(&order, &jobs, |i| {
        let targs = TestArgs {
            firmware: a.run.firmware.clone(),
            board: a.run.board.clone(),
            timeout: a.timeout,
            timing_seed: Some(seeds[i]),
            timing_vary: Some(vary),
            ..TestArgs::for_files(vec![a.scenario.clone()])
        };
        let rep = crate::cli::test::run_one(&sc, &targs);
        Ok(Run { passed: rep.verdict == Verdict::Passed, class: class_of(&rep), message: rep.message })
    })?;
    let wall = started.elapsed().as_secs_f64();

    // The table: stdout is a function of the seed alone.
    let made: Vec<(usize, &Result<Run, String>)> = results.iter().enumerate().filter_map(|(i, r)| r.as_ref().map(|r| (i, r))).collect();
    let passed = made.iter().filter(|(_, r)| matches!(r, Ok(x) if x.passed)).count();
    let errors = made.iter().filter(|(_, r)| r.is_err()).count();
    let stopped = super::stopped_early(made.len(), a.runs);
    let mut flags = String::new();
    if let Some(f) = &a.run.firmware {
        flags += &format!(" --firmware {}", f.display());
    }
    if let Some(b) = &a.run.board {
        flags += &format!(" --board {b}");
    }
    if let Some(t) = a.timeout {
        flags += &format!(" --timeout {}", crate::power_cut::dur_arg(t));
    }
    let vary_flag = if vary == Vary::ALL { String::new() } else { format!(" --timing-vary {}", vary.arg()) };
    println!("timing campaign: {}{flags}, {} runs{stopped}, seed {seed}", a.scenario.display(), made.len());
    let varied = [
        (vary.xtal, format!("crystal 40 MHz ±{} ppm", timing::XTAL_PPM)),
        (vary.slow, format!("RC slow clock 150 kHz ±{} %", timing::SLOW_PERCENT)),
        (vary.fill, format!("line-fill overhead {}..={} SPI clocks (flash, PSRAM)", timing::FILL_OVERHEAD_RANGE.0, timing::FILL_OVERHEAD_RANGE.1)),
        (vary.app, format!("APP CPU start +0..={} cycles", timing::APP_START_MAX_CYCLES)),
    ];
    let varied: Vec<String> = varied.into_iter().filter(|v| v.0).map(|v| v.1).collect();
    let rest = if vary == Vary::ALL { "" } else { " (the rest nominal)" };
    println!("each run varies: {}{rest}", if varied.is_empty() { "nothing".to_string() } else { varied.join(", ") });
    let rate = |n: usize| if made.is_empty() { 0.0 } else { n as f64 * 100.0 / made.len() as f64 };
    println!("pass rate: {passed}/{} ({:.1} %)", made.len(), rate(passed));
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in &made {
        if let Ok(x) = r {
            if !x.passed {
                *tally.entry(x.class.as_str()).or_default() += 1;
            }
        }
    }
    let mut rows: Vec<(&str, usize)> = tally.into_iter().collect();
    rows.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0).clamp(20, 90);
    println!("{:<width$} {:>6} {:>7}", "outcome", "runs", "share");
    println!("{:<width$} {:>6} {:>6.1}%", "passed", passed, rate(passed));
    for (c, n) in &rows {
        println!("{:<width$} {:>6} {:>6.1}%", c, n, rate(*n));
    }
    println!("{:<width$} {:>6}", "host errors", errors);
    let mut shown = false;
    for (i, r) in &made {
        let line = match r {
            Ok(x) if x.passed && !a.all_runs => continue,
            // The failing step too, unless it only repeats the class.
            Ok(x) => format!("{}{}", x.class, x.message.as_deref().filter(|m| !x.passed && !squeeze(m).contains(&x.class)).map(|m| format!(" ({m})")).unwrap_or_default()),
            Err(e) => format!("host error: {e}"),
        };
        if !shown {
            println!("{}", if a.all_runs { "every run, with the command that reproduces it:" } else { "failures, each with the command that reproduces it:" });
            shown = true;
        }
        let t = Timing::draw(seeds[*i], vary);
        println!("  run {} (timing seed {}): {line}", i + 1, seeds[*i]);
        println!("    {}", t.describe());
        println!("    pyemu test {}{flags} --timing-seed {}{vary_flag}", a.scenario.display(), seeds[*i]);
    }
    eprintln!(
        "pyemu: {} runs in {:.1} s wall, {} CPU, -j {}; seed {seed}",
        made.len(),
        wall,
        cpu0.and_then(|c0| cpu_seconds().map(|c| format!("{:.1} s", c - c0))).unwrap_or_else(|| "? s".into()),
        a.run.jobs.max(1)
    );
    if let Some(code) = super::signal_exit() {
        return Ok(code);
    }
    Ok(ExitCode::from(if errors > 0 {
        2
    } else if passed < made.len() {
        1
    } else {
        0
    }))
}

/// CPU time this process has used (user + system), from /proc (None elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((utime + stime) / 100.0)
}
