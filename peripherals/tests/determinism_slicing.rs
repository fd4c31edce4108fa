//! The guest's execution is a function of virtual time and guest-visible inputs alone
//! (docs: architecture, principle 2). LoPy4 r7's first boot to `>>> ` (radios off) with a line
//! typed at 2.5 s, run in host steps of 0.1 ms, 2 ms, 20 ms, 137 µs, seeded random ones and
//! one big step, with an instruction tracer, a debugger stopping at a hook on both cores or
//! the ROM delay fast path off, passes through the same states (virtual time, instructions
//! and PC per core) every 100 ms and writes the same UART0 bytes and LED frames. Input typed
//! "now" at whatever pause the host happened to be at is logged with its time; scheduling
//! the log again on a fresh board replays the session exactly.

use test_support as support;

use peripherals::{HostInput, Machine, MachineConfig, Stop};
use std::cell::Cell;
use std::rc::Rc;

const MS: u64 = 1_000_000_000;
const END: u64 = 3000 * MS;
const CHECK: u64 = 100 * MS;
const TYPED_AT: u64 = 2500 * MS;
const LINE: &[u8] = b"print(1+2)\r";

/// Where the machine is at a checkpoint: virtual time, instructions retired and PC per core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Checkpoint {
    now_ps: u64,
    instret: [u64; 2],
    pc: [u32; 2],
}

/// What a run produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    checkpoints: Vec<Checkpoint>,
    uart: Vec<u8>,
    led: Vec<(u64, u32)>,
    input_log: Vec<(u64, HostInput)>,
}

fn board() -> Option<Machine> {
    let (image, board) = support::lopy4_r7_image()?;
    let flash = peripherals::flash::Flash::from_image(image);
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3])).unwrap();
    m.power_on();
    Some(m)
}

fn checkpoint(m: &Machine) -> Checkpoint {
    Checkpoint { now_ps: m.now_ps, instret: [m.cores[0].instret, m.cores[1].instret], pc: [m.cores[0].pc, m.cores[1].pc] }
}

/// How the host slices time: the next deadline after `now`.
type Steps = Box<dyn FnMut(u64) -> u64 + Send>;

fn fixed(step: u64) -> Steps {
    Box::new(move |now| now + step)
}

/// Steps from 1 µs to ~30 ms, mostly short, from a seeded xorshift.
fn random(seed: u64) -> Steps {
    let mut x = seed;
    Box::new(move |now| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let exp = x % 16;
        now + (1_000_000 << exp).min(30 * MS) + x % 1_000_000
    })
}

/// Runs `m` to `END` in the host steps `steps`, stopping at every 100 ms checkpoint unless
/// `one_go`; `stop` sees every host stop (a hook) before the run goes on.
fn run(mut m: Machine, mut steps: Steps, one_go: bool, stop: &mut dyn FnMut(&mut Machine, Stop)) -> Outcome {
    let mut checkpoints = Vec::new();
    let mut uart = Vec::new();
    let mut next = CHECK;
    while m.now_ps < END {
        let t = if one_go { END } else { steps(m.now_ps).min(next) };
        loop {
            match m.run_until(t) {
                Stop::Deadline => break,
                s => stop(&mut m, s),
            }
        }
        uart.append(&mut m.uart0_out);
        if !one_go && m.now_ps >= next {
            assert!(m.now_ps - next < 1_000_000, "pause at {} ps, over 1 µs past the checkpoint at {next}", m.now_ps);
            checkpoints.push(checkpoint(&m));
            next += CHECK;
        }
    }
    if one_go {
        checkpoints.push(checkpoint(&m));
    }
    Outcome { checkpoints, uart, led: m.led.frames.iter().map(|f| (f.t_ps, f.rgb)).collect(), input_log: m.input_log.clone() }
}

fn no_stops(_: &mut Machine, s: Stop) {
    panic!("unexpected stop {s:?}");
}

/// A board with the line typed at `TYPED_AT`.
fn typed_board() -> Option<Machine> {
    let mut m = board()?;
    m.uart_input_at(0, TYPED_AT, LINE);
    Some(m)
}

/// Counts every instruction the tracer sees.
fn traced(mut m: Machine) -> (Machine, Rc<Cell<u64>>) {
    let n = Rc::new(Cell::new(0));
    for core in 0..2 {
        let n = n.clone();
        m.cores[core].tracer = Some(Box::new(move |_, _, _| n.set(n.get() + 1)));
    }
    (m, n)
}

fn assert_same(what: &str, got: &Outcome, want: &Outcome) {
    if let Some(i) = got.checkpoints.iter().zip(&want.checkpoints).position(|(a, b)| a != b) {
        panic!("{what}: checkpoint {i} differs: {:?}, reference {:?}", got.checkpoints[i], want.checkpoints[i]);
    }
    assert_eq!(got.checkpoints.len(), want.checkpoints.len(), "{what}: checkpoints");
    assert!(got.uart == want.uart, "{what}: UART0 output differs:\n{}\n--- reference:\n{}", String::from_utf8_lossy(&got.uart), String::from_utf8_lossy(&want.uart));
    assert_eq!(got.led, want.led, "{what}: LED frames");
    assert_eq!(got.input_log, want.input_log, "{what}: inputs applied");
}

#[test]
fn the_boot_and_a_typed_line_do_not_depend_on_how_the_host_slices_time() {
    if board().is_none() {
        return;
    }
    let reference = run(typed_board().unwrap(), fixed(20 * MS), false, &mut no_stops);
    let text = String::from_utf8_lossy(&reference.uart).into_owned();
    assert!(text.contains(">>> print(1+2)\r\n3\r\n>>> "), "the REPL answered the typed line:\n{text}");
    assert!(!text.contains("Guru Meditation"), "{text}");
    assert_eq!(reference.checkpoints.len(), (END / CHECK) as usize);
    assert!(reference.checkpoints.iter().all(|c| c.now_ps % CHECK == 0), "100 ms checkpoints are turn boundaries: {:?}", reference.checkpoints);
    assert_eq!(reference.input_log, vec![(TYPED_AT, HostInput::Uart { uart: 0, bytes: LINE.to_vec() })]);
    assert!(!reference.led.is_empty(), "LED frames");

    // The other slicings, two at a time (each is a core's worth of work).
    let slicings: Vec<(&str, Steps, bool)> = vec![
        ("0.1 ms steps", fixed(100_000_000), false),
        ("2 ms steps", fixed(2 * MS), false),
        ("137 µs steps", fixed(137_000_000), false),
        ("random steps", random(0x5EED), false),
        ("one big step", fixed(END), true),
    ];
    let results: Vec<(&str, Outcome)> = std::thread::scope(|s| {
        let (a, b): (Vec<_>, Vec<_>) = slicings.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let work = |v: Vec<(usize, (&'static str, Steps, bool))>| {
            v.into_iter().map(|(_, (what, steps, one_go))| (what, run(typed_board().unwrap(), steps, one_go, &mut no_stops))).collect::<Vec<_>>()
        };
        let h = s.spawn(move || work(b));
        let mut r = work(a);
        r.extend(h.join().unwrap());
        r
    });
    for (what, got) in &results {
        if *what == "one big step" {
            assert_eq!(got.checkpoints.last(), reference.checkpoints.last(), "{what}: where it ends");
            assert_eq!((&got.uart, &got.led, &got.input_log), (&reference.uart, &reference.led, &reference.input_log), "{what}");
        } else {
            assert_same(what, got, &reference);
        }
    }
}

#[test]
fn a_tracer_a_debugger_at_a_hook_or_the_delay_fast_path_off_changes_nothing() {
    if board().is_none() {
        return;
    }
    let reference = run(typed_board().unwrap(), fixed(20 * MS), false, &mut no_stops);
    let (tracing, interpreted, (debugging, stops)) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let (m, n) = traced(typed_board().unwrap());
            let o = run(m, random(7), false, &mut no_stops);
            assert!(n.get() > 100_000_000, "the tracer saw {} instructions", n.get());
            o
        });
        // `ets_delay_us` interpreted loop by loop instead of its idle iterations skipped.
        let i = s.spawn(|| {
            let mut m = typed_board().unwrap();
            m.set_fastpath(false);
            run(m, fixed(137_000_000), false, &mut no_stops)
        });
        // A breakpoint on the ROM's memcpy, which both cores call: each stop is looked at,
        // stepped over and the run continued.
        let mut m = typed_board().unwrap();
        let memcpy = m.rom.sym("memcpy").expect("memcpy in the ROM");
        m.add_hook(memcpy);
        let mut stops = [0u64; 2];
        let o = run(m, fixed(2 * MS), false, &mut |m: &mut Machine, s| match s {
            Stop::Hook { core, pc } if pc == memcpy => {
                stops[core] += 1;
                m.cores[core].step_over_hook(pc);
            }
            s => panic!("unexpected stop {s:?}"),
        });
        (h.join().unwrap(), i.join().unwrap(), (o, stops))
    });
    assert_same("with a tracer", &tracing, &reference);
    assert_same("without the delay fast path", &interpreted, &reference);
    assert!(stops[0] > 0 && stops[1] > 0, "both cores stopped at memcpy: {stops:?}");
    assert_same("with a breakpoint", &debugging, &reference);
}

#[test]
fn input_typed_at_a_pause_is_logged_and_replays_under_another_slicing() {
    let Some(mut live) = board() else { return };
    // Like a user at a terminal: type when the prompt shows, at whatever pause that is.
    let mut steps = random(42);
    let mut uart = Vec::new();
    let mut typed = 0;
    while live.now_ps < END {
        let t = steps(live.now_ps).min(END);
        assert_eq!(live.run_until(t), Stop::Deadline);
        uart.append(&mut live.uart0_out);
        let prompts = String::from_utf8_lossy(&uart).matches(">>> ").count();
        if prompts > typed && typed < 2 {
            live.uart0_input(format!("print({}*7)\r", typed + 6).as_bytes());
            typed += 1;
        }
    }
    let text = String::from_utf8_lossy(&uart).into_owned();
    assert!(text.contains("42\r\n") && text.contains("49\r\n"), "both lines answered:\n{text}");
    assert_eq!(live.input_log.len(), 2);

    let mut replay = board().unwrap();
    for (t, input) in &live.input_log {
        replay.schedule_input(*t, input.clone());
    }
    let got = run(replay, fixed(20 * MS), true, &mut no_stops);
    assert!(got.uart == uart, "replayed output differs:\n{}\n--- live:\n{text}", String::from_utf8_lossy(&got.uart));
    assert_eq!(got.input_log, live.input_log);
    assert_eq!(got.checkpoints, vec![checkpoint(&live)]);
}
