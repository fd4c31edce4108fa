//! The guest fuzzer (`examples/guest_fuzz`) on fixed seeds: random instructions and random
//! register and memory accesses on the real SoC never panic the host, cases are
//! deterministic, and the cases behind panics it found once stay fixed. Under
//! `cargo test --profile fuzz` arithmetic overflow counts as a panic too.

#[path = "../examples/guest_fuzz/engine.rs"]
mod engine;

use engine::{case_seed, describe, generate, run, run_caught, Case, MmioCase, MmioOp, Mode};

const SEED: u64 = 13;

fn no_panics(mode: Mode, cases: u64) {
    for i in 0..cases {
        let seed = case_seed(SEED, i);
        let case = generate(mode, seed);
        if let Err(p) = run_caught(&case) {
            panic!(
                "case {i} (guest_fuzz --mode {} --case {seed:#x}) panicked: {} at {}\n{}",
                mode.name(),
                p.message,
                p.location,
                describe(&case)
            );
        }
    }
}

#[test]
fn random_instructions_never_panic_the_host() {
    no_panics(Mode::Insn, 120);
}

#[test]
fn random_register_and_memory_accesses_never_panic_the_host() {
    no_panics(Mode::Mmio, 150);
}

#[test]
fn a_seed_is_always_the_same_case() {
    for mode in [Mode::Insn, Mode::Mmio] {
        let seed = case_seed(SEED, 7);
        let (a, b) = (run(&generate(mode, seed)), run(&generate(mode, seed)));
        assert_eq!((a.instructions, a.exceptions, a.unmodelled), (b.instructions, b.exceptions, b.unmodelled), "{}", mode.name());
        assert!(a.instructions > 0);
    }
}

/// A minimised case: these accesses on the PRO core, the APP core in reset.
fn pro_accesses(lopy4: bool, time_us: u64, ops: &[(u32, u32, u32)]) -> Case {
    let ops = ops.iter().map(|&(kind, addr, value)| MmioOp { kind, addr, value }).collect();
    Case::Mmio(MmioCase { lopy4, time_ps: time_us * 1_000_000, ops: [Some(ops), None], intenable: [0, 0], uart0_rx: vec![], pins: vec![] })
}

fn survives(case: Case) {
    if let Err(p) = run_caught(&case) {
        panic!("{} at {}\n{}", p.message, p.location, describe(&case));
    }
}

#[test]
fn found_uart_clock_divider_overflow() {
    // UART1 CLKDIV at its largest: the character time overflowed 64 bits.
    survives(pro_accesses(true, 776, &[(6, 0x3FF5_0014, 0x897C_8124)]));
}
