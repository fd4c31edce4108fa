//! `pyemu campaign power-cut SCENARIO`: cut the power at many instants of a scenario and see
//! whether the board comes back.
//!
//! The scenario runs once as the reference, with every flash program/erase logged and a
//! whole-machine snapshot kept in memory every few operations. Each cut then restores the
//! nearest snapshot before its operation, replays the reference's host input from there
//! (the guest cannot tell: inputs take effect at the virtual times they did), cuts the power
//! part way through the operation, powers on, and watches the boot. Cuts are independent,
//! so they run on `-j` threads (each restores its own machine from the shared bytes).

/// `pyemu campaign timing`: the same scenario under drawn timings (its own module, a child:
/// it builds on the campaign's shared options and job runner).
pub mod timing;

use crate::power_cut::{boot_after_cut, describe, AfterCut, Class, CutSpec};
use crate::scenario;
use crate::session::{fmt_time, End, Session, Uart0Spec};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use peripherals::flash::{CutPlan, FlashOp, OpKind};
use peripherals::machine::HostInput;
use peripherals::{Machine, MachineConfig};
use rand_pcg::rand_core::{Rng, SeedableRng};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::run::{default_mac, parse_duration};

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Cut the power during every kind of flash operation a scenario performs; classify
    /// what the board does when the power comes back.
    PowerCut(PowerCutArgs),
    /// Run a scenario on many boards whose timing varies as silicon does (crystal, RC slow
    /// clock, line fills, the APP CPU's start); report the pass rate and a reproducer per
    /// failure.
    Timing(timing::TimingArgs),
}

#[derive(Args, Debug)]
pub struct PowerCutArgs {
    /// The scenario (YAML, as `pyemu test` runs it) whose flash writes are cut.
    pub scenario: PathBuf,
    /// How many cuts.
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Seed for where the cuts land and which bits interrupted operations changed (default:
    /// a fresh one, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long the board may take from power-on to the `>>> ` prompt before it counts as
    /// bricked.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub boot_limit: u64,
    /// MicroPython run at the prompt after each cut; its first output line is tallied (say
    /// which NVS values or files survived).
    #[arg(long, value_name = "CODE", conflicts_with = "check_script")]
    pub check: Option<String>,
    /// Like `--check`, the code read from FILE.
    #[arg(long, value_name = "FILE")]
    pub check_script: Option<PathBuf>,
    /// Keep a snapshot of the reference run every this many flash operations: a cut runs at
    /// most this many operations' worth of the scenario before it.
    #[arg(long, default_value_t = 48)]
    pub snapshot_every: u64,
    /// Cut only flash operations started after UART0 first shows TEXT (e.g. `>>> `: not
    /// the first boot's own writes).
    #[arg(long, value_name = "TEXT")]
    pub from_text: Option<String>,
    /// Directory for reproducers (snapshots, inputs); default `power-cut-<scenario name>`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the reproducing command of every cut, not only of the non-clean ones.
    #[arg(long)]
    pub all_reproducers: bool,
    #[command(flatten)]
    pub run: CampaignArgs,
}

/// What every campaign takes: the scenario's firmware and board, threads, limits.
#[derive(Args, Debug)]
pub struct CampaignArgs {
    /// Firmware (overrides the scenario's).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// Board (overrides the scenario's).
    #[arg(long)]
    pub board: Option<String>,
    /// Runs (cuts) at once (threads).
    #[arg(short = 'j', long, default_value_t = 1)]
    pub jobs: usize,
    /// Start no new run (cut) after this much wall time (e.g. `2400s`): the table then
    /// covers the runs made, which the seed spreads over the whole campaign.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_wall: Option<u64>,
    /// Do not draw a progress bar even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

impl CampaignArgs {
    /// How to run the campaign's runs (called `unit` on the progress bar), from `started`.
    pub(crate) fn jobs(&self, unit: &'static str, started: Instant) -> Jobs {
        Jobs { jobs: self.jobs, progress: !self.no_progress, unit, max_wall: self.max_wall, started }
    }
}

/// The reference's inputs after one snapshot, computed by the first cut that needs them.
type ReplaySlot = Mutex<Option<std::sync::Arc<Vec<(u64, HostInput)>>>>;

/// Snapshots kept of the reference run at most (a few MiB each).
const MAX_SNAPSHOTS: usize = 256;

/// A snapshot of the reference run.
struct Snap {
    /// Flash operations started before it.
    ops: u64,
    /// Host inputs applied before it.
    inputs: usize,
    bytes: Vec<u8>,
}

/// What the reference run left behind.
#[derive(Default)]
struct Reference {
    snaps: Vec<Snap>,
    log: Vec<FlashOp>,
    inputs: Vec<(u64, HostInput)>,
    old: Option<String>,
    new: Option<String>,
    end: u64,
    last_snap_ops: Option<u64>,
    /// Operations between snapshots (doubled whenever `MAX_SNAPSHOTS` is reached).
    every: u64,
    /// UART0 output not yet searched for `--from-text` (a tail that may hold its start).
    tail: Vec<u8>,
    /// Operations started by the previous step.
    prev_ops: u64,
    /// The first operation to cut (after `--from-text`), once known.
    first_op: Option<u64>,
}

/// One cut: which operation, how far into it, which seed for its bits.
#[derive(Clone, Copy, Debug)]
struct Cut {
    op: FlashOp,
    after: u64,
    seed: u64,
    snap: usize,
}

struct Outcome {
    class: Class,
    after: AfterCut,
    detail: String,
}

pub fn run(c: CampaignCommand) -> anyhow::Result<ExitCode> {
    match c {
        CampaignCommand::PowerCut(a) => power_cut(a),
        CampaignCommand::Timing(a) => timing::run(a),
    }
}

/// How a campaign runs its independent runs.
pub(crate) struct Jobs {
    /// Threads.
    pub jobs: usize,
    /// A progress bar on a terminal.
    pub progress: bool,
    /// What one run is called on the bar ("cuts", "runs").
    pub unit: &'static str,
    /// Start no run after this much wall time (ps) since `started`.
    pub max_wall: Option<u64>,
    pub started: Instant,
}

/// `0..n` in an order `rng` shuffles (a campaign stopped early still samples all of it).
pub(crate) fn shuffled(n: usize, rng: &mut rand_pcg::Pcg64Mcg) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Runs `f(i)` for every `i` of `order` on `j.jobs` threads, with a progress bar on a
/// terminal, until done, a signal or `max_wall`. Result `i` is None when run `i` never
/// started, else its outcome or its error (a host panic included: one run's bug does not
/// end the campaign).
pub(crate) fn run_jobs<T: Send>(
    order: &[usize],
    j: &Jobs,
    f: impl Fn(usize) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<Option<Result<T, String>>>> {
    let n = order.iter().max().map_or(0, |m| m + 1);
    let bar = if j.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let b = indicatif::ProgressBar::new(order.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {}, {{elapsed}} (eta {{eta}}) {{msg}}", j.unit))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T, String>>>> = Mutex::new((0..n).map(|_| None).collect());
    let max_wall = j.max_wall.map(|ps| std::time::Duration::from_nanos(ps / 1000));
    std::thread::scope(|scope| {
        for _ in 0..j.jobs.max(1).min(order.len()) {
            scope.spawn(|| loop {
                if crate::session::Session::signal().is_some() || max_wall.is_some_and(|w| j.started.elapsed() >= w) {
                    break;
                }
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = order.get(k) else { break };
                let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i))) {
                    Ok(Ok(o)) => Ok(o),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(p) => Err(format!(
                        "host panic: {}",
                        p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
                    )),
                };
                // A run a signal cut short has no outcome: leave it out of the table.
                if r.is_err() && crate::session::Session::signal().is_some() {
                    break;
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    // Ctrl-C / SIGTERM stops new runs; the caller still prints the table of those that ran.
    Ok(results.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// Why a campaign ran fewer than `planned` runs, for its table's heading.
pub(crate) fn stopped_early(done: usize, planned: usize) -> String {
    match crate::session::Session::signal() {
        _ if done >= planned => String::new(),
        Some(sig) => format!(" (of {planned} planned: stopped by signal {sig})"),
        None => format!(" (of {planned} planned: --max-wall reached)"),
    }
}

/// The exit code of a campaign a signal stopped (128 + the signal), if one did.
pub(crate) fn signal_exit() -> Option<ExitCode> {
    crate::session::Session::signal().map(|sig| ExitCode::from(128u8.saturating_add(sig as u8)))
}

fn power_cut(a: PowerCutArgs) -> anyhow::Result<ExitCode> {
    let sc = scenario::load(&a.scenario)?;
    if a.runs == 0 {
        bail!("--runs 0: nothing to do");
    }
    if a.snapshot_every == 0 {
        bail!("--snapshot-every must be at least 1");
    }
    if sc.flash_state.is_some() {
        bail!("{}: the campaign runs on a fresh flash in memory; give the scenario no `flash-state`", a.scenario.display());
    }
    let check = match (&a.check, &a.check_script) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(p)) => Some(std::fs::read_to_string(p).with_context(|| format!("--check-script {}: cannot read", p.display()))?),
        _ => None,
    };
    let seed = a.seed.unwrap_or_else(crate::power_cut::fresh_seed);
    let stem = a.scenario.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "scenario".into());
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("power-cut-{stem}")));
    std::fs::create_dir_all(&out).with_context(|| format!("--out {}: cannot create", out.display()))?;
    crate::session::install_signal_handlers()?;
    let targs = super::test::TestArgs {
        firmware: a.run.firmware.clone(),
        board: a.run.board.clone(),
        ..super::test::TestArgs::for_files(vec![a.scenario.clone()])
    };
    let snap_in = sc.snapshot.as_deref().map(crate::snapshot::load).transpose()?;
    let su = super::test::setup(&sc, &targs, snap_in.as_ref())?;
    let board = su.board;
    let meta = match snap_in {
        Some(l) => crate::snapshot::Meta { taken: "power-cut campaign reference".into(), ..l.meta },
        None => crate::snapshot::Meta::new(&board, default_mac(&board), su.firmware.as_deref(), "power-cut campaign reference".into()),
    };
    let mac = meta.mac;

    // The reference run.
    let wall = Instant::now();
    eprintln!("pyemu: reference run of {} (every flash operation logged, a snapshot every {} operations)", a.scenario.display(), a.snapshot_every);
    let reference = Rc::new(RefCell::new(Reference::default()));
    reference.borrow_mut().every = a.snapshot_every;
    if a.from_text.is_none() {
        reference.borrow_mut().first_op = Some(1);
    }
    let from_text = a.from_text.clone().unwrap_or_default().into_bytes();
    let observer = {
        let r = reference.clone();
        let meta = serde_json::to_value(&meta)?;
        Box::new(move |m: &mut Machine| {
            let mut r = r.borrow_mut();
            let log = &mut m.flash_mut().log;
            if log.is_none() {
                *log = Some(Vec::new());
            }
            if let Some(l) = log {
                r.log.append(l);
            }
            let seen = r.inputs.len();
            if m.input_log.len() > seen {
                r.inputs.extend_from_slice(&m.input_log[seen..]);
            }
            let booted = crate::cli::run::Outcome::of(m, None, 0).booted_image;
            if r.old.is_none() {
                r.old = booted.clone();
            }
            if booted.is_some() {
                r.new = booted;
            }
            r.end = m.now_ps;
            let ops = m.flash().ops;
            if r.first_op.is_none() {
                r.tail.extend_from_slice(&m.uart0_out);
                if r.tail.windows(from_text.len()).any(|w| w == from_text.as_slice()) {
                    // Operations started in this step count as after the text.
                    r.first_op = Some(r.prev_ops + 1);
                    r.tail.clear();
                } else {
                    let keep = r.tail.len().saturating_sub(from_text.len());
                    r.tail.drain(..keep);
                }
            }
            r.prev_ops = ops;
            let every = r.every;
            if r.last_snap_ops.is_none_or(|l| ops >= l + every) {
                r.last_snap_ops = Some(ops);
                let bytes = m.snapshot(meta.clone());
                let inputs = r.inputs.len();
                if r.first_op.is_none() && r.snaps.len() > 1 {
                    // Before `--from-text` only the latest is of use.
                    r.snaps.pop();
                }
                r.snaps.push(Snap { ops, inputs, bytes });
                if r.snaps.len() > MAX_SNAPSHOTS {
                    // Bounded memory over a long scenario (an OTA starts ~55,000
                    // operations): every other snapshot goes, the interval doubles.
                    let mut i = 0;
                    r.snaps.retain(|_| {
                        i += 1;
                        i % 2 == 1
                    });
                    r.every *= 2;
                }
            }
        }) as crate::session::Observer
    };
    let rep = super::test::run_one_observed(&sc, &targs, Some(observer));
    if rep.verdict != super::test::Verdict::Passed {
        bail!(
            "the reference run of {} did not pass ({}); the cuts would mean nothing\n{}",
            a.scenario.display(),
            rep.message.unwrap_or_default(),
            rep.log
        );
    }
    let reference = Rc::try_unwrap(reference).map_err(|_| anyhow::anyhow!("reference still shared"))?.into_inner();
    let ref_wall = wall.elapsed().as_secs_f64();
    let first_op = reference.first_op.with_context(|| format!("--from-text {:?}: UART0 never showed it", a.from_text.as_deref().unwrap_or("")))?;
    let ops: &[FlashOp] = &reference.log[reference.log.partition_point(|o| o.n < first_op)..];
    if ops.is_empty() {
        bail!("{}: the scenario starts no flash program or erase; there is nothing to cut", a.scenario.display());
    }
    let n_prog = ops.iter().filter(|o| o.kind == OpKind::Program).count();
    let snap_kib: usize = reference.snaps.iter().map(|s| s.bytes.len()).sum::<usize>() / 1024;
    eprintln!(
        "pyemu: reference: {} flash operations ({} program, {} erase) in {} virtual, {:.1} s wall; {} snapshots ({} MiB)",
        ops.len(),
        n_prog,
        ops.len() - n_prog,
        fmt_time(reference.end),
        ref_wall,
        reference.snaps.len(),
        snap_kib / 1024
    );

    // Cut points: stratified over the operations, a random instant within each.
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut cuts = Vec::with_capacity(a.runs);
    for i in 0..a.runs {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let idx = (((i as f64 + u) * ops.len() as f64 / a.runs as f64) as usize).min(ops.len() - 1);
        let op = ops[idx];
        let dur_ns = ((op.end_ps - op.start_ps) / 1000).max(1);
        let after = (rng.next_u64() % dur_ns) * 1000;
        let cut_seed = rng.next_u64() % 1_000_000_000;
        let snap = reference.snaps.iter().rposition(|s| s.ops < op.n).context("no snapshot before the first flash operation")?;
        cuts.push(Cut { op, after, seed: cut_seed, snap });
    }

    // The cuts.
    let replays: Vec<ReplaySlot> = reference.snaps.iter().map(|_| Mutex::new(None)).collect();
    let wall_cuts = Instant::now();
    // Cuts run in an order the seed shuffles, so a campaign stopped by --max-wall still
    // covers the whole scenario.
    let order = shuffled(cuts.len(), &mut rng);
    let ctx = Ctx { reference: &reference, board, mac, limit: a.boot_limit, check: check.as_deref(), replays: &replays };
    let limits = a.run.jobs("cuts", wall);
    let results = run_jobs(&order, &limits, |i| ctx.cut(&cuts[i]))?;
    let run = results.iter().filter(|r| r.is_some()).count();
    let (cuts, results): (Vec<Cut>, Vec<Result<Outcome, String>>) = cuts.into_iter().zip(results).filter_map(|(c, r)| r.map(|r| (c, r))).unzip();

    // The table.
    let name = |c: Class| match c {
        Class::NewImage => format!("{} ({})", c.name(), reference.new.as_deref().unwrap_or("-")),
        Class::OldImage => format!("{} ({})", c.name(), reference.old.as_deref().unwrap_or("-")),
        _ => c.name().to_string(),
    };
    let stopped = stopped_early(run, a.runs);
    println!(
        "power-cut campaign: {}, {} cuts{stopped} over {} flash operations ({} program, {} erase), seed {seed}",
        a.scenario.display(),
        cuts.len(),
        ops.len(),
        n_prog,
        ops.len() - n_prog
    );
    println!("{:<48} {:>6}", "outcome", "cuts");
    for c in Class::ALL {
        let n = results.iter().filter(|r| matches!(r, Ok(o) if o.class == c)).count();
        println!("{:<48} {:>6}", name(c), n);
    }
    let errors = results.iter().filter(|r| r.is_err()).count();
    println!("{:<48} {:>6}", "host errors", errors);
    if check.is_some() {
        let mut tally: std::collections::BTreeMap<String, usize> = Default::default();
        for o in results.iter().flatten() {
            *tally.entry(o.after.check.clone().unwrap_or_else(|| "(no prompt: not checked)".into())).or_default() += 1;
        }
        println!("check output after the cut:");
        for (k, n) in tally {
            println!("  {n:>6}  {k}");
        }
    }
    // Windows: runs of consecutive cut operations with the same non-clean class.
    let mut bad: Vec<(usize, &Cut, String)> = Vec::new();
    for (i, (c, r)) in cuts.iter().zip(&results).enumerate() {
        match r {
            Ok(o) if a.all_reproducers || matches!(o.class, Class::Recovered | Class::Bricked) => bad.push((i, c, format!("{}: {}", o.class.name(), o.detail))),
            Err(e) => bad.push((i, c, format!("host error: {e}"))),
            _ => {}
        }
    }
    let bricked: Vec<&Cut> = cuts.iter().zip(&results).filter(|(_, r)| matches!(r, Ok(o) if o.class == Class::Bricked)).map(|(c, _)| c).collect();
    if !bricked.is_empty() {
        println!("bricking windows (flash operations whose cut bricked the board):");
        for w in windows(&bricked) {
            println!("  {w}");
        }
    }
    if !bad.is_empty() {
        let which = if a.all_reproducers { "every cut" } else { "non-clean outcomes" };
        println!("{which}, each with the command that reproduces it (flash state before the cut in the snapshot):");
        let timeout = reference.end + 60_000_000_000_000;
        // Snapshots open only in the build that wrote them: name that binary.
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "pyemu".into());
        for (i, c, what) in &bad {
            let (snap_path, inputs_path) = write_reproducer(&out, &reference, c, &replays)?;
            println!("  cut {}: flash op {} ({} {:#x}) +{}: {what}", i + 1, c.op.n, c.op.kind.name(), c.op.addr, fmt_time(c.after));
            println!(
                "    {exe} run --snapshot {} --replay {} --power-cut {} --power-cut-seed {} --boot-limit {} --timeout {}",
                snap_path.display(),
                inputs_path.display(),
                CutSpec::Op { n: c.op.n, after: Some(c.after) }.arg(),
                c.seed,
                crate::power_cut::dur_arg(a.boot_limit),
                crate::power_cut::dur_arg(timeout / 1_000_000_000_000 * 1_000_000_000_000),
            );
        }
    }
    let wall_s = wall.elapsed().as_secs_f64();
    eprintln!(
        "pyemu: {} cuts in {:.1} s wall ({:.1} s reference, {:.2} s per cut, -j {}); seed {seed}",
        cuts.len(),
        wall_s,
        ref_wall,
        wall_cuts.elapsed().as_secs_f64() / cuts.len().max(1) as f64,
        a.run.jobs.max(1)
    );
    if let Some(code) = signal_exit() {
        return Ok(code);
    }
    Ok(ExitCode::from(if errors > 0 { 2 } else { 0 }))
}

/// Ranges of consecutive operation numbers, with their kinds and addresses.
fn windows(cuts: &[&Cut]) -> Vec<String> {
    let mut ops: Vec<FlashOp> = cuts.iter().map(|c| c.op).collect();
    ops.sort_by_key(|o| o.n);
    ops.dedup_by_key(|o| o.n);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        let mut j = i;
        while j + 1 < ops.len() && ops[j + 1].addr.abs_diff(ops[j].addr) <= 0x10000 && ops[j + 1].n - ops[j].n <= 64 {
            j += 1;
        }
        let (a, b) = (ops[i], ops[j]);
        out.push(format!(
            "ops {}..{} ({}..{}), {:#x}..{:#x}, {} cut op(s)",
            a.n,
            b.n,
            fmt_time(a.start_ps),
            fmt_time(b.end_ps),
            ops[i..=j].iter().map(|o| o.addr).min().unwrap_or(0),
            ops[i..=j].iter().map(|o| o.addr + o.len).max().unwrap_or(0),
            j - i + 1
        ));
        i = j + 1;
    }
    out
}

struct Ctx<'a> {
    reference: &'a Reference,
    board: images::board::Board,
    mac: [u8; 6],
    limit: u64,
    check: Option<&'a str>,
    /// Per snapshot: the reference's inputs after it (computed once).
    replays: &'a [ReplaySlot],
}

/// The reference's inputs after snapshot `k` that the snapshot does not already hold pending.
fn replay_after(reference: &Reference, k: usize, pending: &[(u64, HostInput)]) -> Vec<(u64, HostInput)> {
    let mut left: Vec<&(u64, HostInput)> = pending.iter().collect();
    let mut v = Vec::new();
    for e in &reference.inputs[reference.snaps[k].inputs..] {
        if let Some(p) = left.iter().position(|x| *x == e) {
            left.remove(p);
        } else {
            v.push(e.clone());
        }
    }
    v
}

fn replay_for(reference: &Reference, replays: &[ReplaySlot], k: usize, m: &mut Machine) -> std::sync::Arc<Vec<(u64, HostInput)>> {
    let pending = m.take_scheduled_inputs();
    let mut slot = replays[k].lock().unwrap_or_else(|e| e.into_inner());
    let v = slot.get_or_insert_with(|| std::sync::Arc::new(replay_after(reference, k, &pending))).clone();
    for (t, i) in pending {
        m.schedule_input(t, i);
    }
    v
}

impl Ctx<'_> {
    /// Restores, runs to the cut, cuts, powers on, boots: what `pyemu run --snapshot …
    /// --replay … --power-cut …` does, step for step.
    fn cut(&self, c: &Cut) -> anyhow::Result<Outcome> {
        let snap = &self.reference.snaps[c.snap];
        let (mut m, _) = Machine::restore(&snap.bytes)?;
        let replay = replay_for(self.reference, self.replays, c.snap, &mut m);
        for (t, i) in replay.iter() {
            m.schedule_input(*t, i.clone());
        }
        m.set_fastpath(true);
        m.set_cache_timing(true);
        m.flash_mut().arm_cut(CutPlan::Op { n: c.op.n, after: Some(c.after) });
        let mut s = Session::new(m, Uart0Spec::Script.open()?)?;
        let (board, mac) = (self.board, self.mac);
        s.set_rebuild(move |flash| {
            let cfg = MachineConfig { seed: 0x5EED, ..MachineConfig::for_board(&board, mac) };
            let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
            m.set_fastpath(true);
            m.set_cache_timing(true);
            Ok(m)
        });
        s.resumed();
        let deadline = self.reference.end + 60_000_000_000_000;
        match s.run_until(deadline)? {
            End::PowerCut => {}
            e => bail!("the cut at flash op {} never came ({e:?}, {} operations by {})", c.op.n, s.m.flash().ops, fmt_time(s.m.now_ps)),
        }
        let r = s.power_cut(c.seed, Some(100_000_000_000))?;
        let detail = describe(&r, c.seed);
        let after = boot_after_cut(&mut s, self.limit, self.check)?;
        let class = Class::of(&after, self.reference.new.as_deref(), self.reference.old.as_deref());
        Ok(Outcome { class, detail: format!("{}; {detail}", after.summary()), after })
    }
}

/// The snapshot and input files of a cut's reproducer (written once per snapshot).
fn write_reproducer(
    out: &Path,
    reference: &Reference,
    c: &Cut,
    replays: &[ReplaySlot],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let snap_path = out.join(format!("snap-{}.pyemu", c.snap));
    let inputs_path = out.join(format!("snap-{}.inputs.json", c.snap));
    if !snap_path.exists() || !inputs_path.exists() {
        let s = &reference.snaps[c.snap];
        crate::state::write_atomic(&snap_path, &s.bytes).with_context(|| format!("writing {}", snap_path.display()))?;
        let replay = match replays[c.snap].lock().unwrap_or_else(|e| e.into_inner()).clone() {
            Some(v) => v,
            None => {
                let (mut m, _) = Machine::restore(&s.bytes)?;
                std::sync::Arc::new(replay_after(reference, c.snap, &m.take_scheduled_inputs()))
            }
        };
        let mut f = std::fs::File::create(&inputs_path).with_context(|| format!("writing {}", inputs_path.display()))?;
        crate::record::write(&mut f, &replay)?;
    }
    Ok((snap_path, inputs_path))
}
