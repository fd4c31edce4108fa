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

#[test]
fn found_led_edges_out_of_order() {
    // Both cores drive the LED pad (GPIO0) within one slice: the APP core's edge is older
    // than the PRO core's, and the LED decoder subtracted a later rise from an earlier fall.
    let s = |addr, value| MmioOp { kind: 6, addr, value };
    let pro = vec![
        s(0x3FF4_8094, 0x1F6),
        s(0x3FF4_8098, 7),
        s(0x3FF4_809C, 0x3E8),
        s(0x3FF4_80A0, 0x4880_E672),
        s(0x3FF4_45B0, 0x57),
        s(0x3FF4_4108, 0x0B7E_0A86),
        s(0x3FF4_9064, 0x0B30_7597),
        s(0x3FF4_45A0, 0xE0),
        s(0x3FF4_40F8, 0x28B3_CA60),
        s(0x3FF4_908C, 0x46F0_5B4B),
        s(0x3FF4_45B0, 0x5A),
        s(0x3FF4_4108, 0xCC84_4168),
        s(0x3FF4_9054, 0xE044_AA75),
        s(0x3FF4_459C, 0xE0),
        s(0x3FF4_40F4, 0xF130_9135),
        s(0x3FF4_9034, 0x91F6_8680),
        s(0x3FF4_4580, 0x5D),
        s(0x3FF4_40D8, 0x5A8B_3832),
        s(0x3FF4_9050, 0xC645_487F),
        s(0x3FF4_4550, 0xE0),
        s(0x3FF4_40A8, 0xEA2F_682D),
        s(0x3FF4_9020, 0xE235_D685),
        s(0x3FF4_4020, 0xC7DE_5D61),
        s(0x3FF4_4004, 0x10B6_1D83),
    ];
    let app = vec![s(0x3FF4_4020, 0xFDCC_8EA2)];
    survives(Case::Mmio(MmioCase {
        lopy4: true,
        time_ps: 21_000_000,
        ops: [Some(pro), Some(app)],
        intenable: [0, 0],
        uart0_rx: vec![],
        pins: vec![],
    }));
}
