//! Privileged/system semantics of the LX6 core checked against the Xtensa ISA reference
//! manual (RM): windowed registers (RM 4.7.1) and zero-overhead loops (RM 4.4.1).
//! Exceptions, interrupts, timers and miscellaneous registers are in the other
//! `isa_*.rs` files.

mod common;

use common::*;
use emulator::decode::{decode, Op};
use emulator::regs::{cause, ps, sr};
use emulator::{Bus, Exit};

// ======================================================================= windows

/// Per-step model of the window state (RM 4.7.1.3-4.7.1.5): checks every window
/// exception entry, RFWO/RFWU, ENTRY and RETW against the state before the step, and the
/// invariant "live frames + spilled frames = call depth + 1" in ordinary code.
#[derive(Default)]
struct WinModel {
    depth: i64,
    spilled: i64,
    overflows: [u32; 3],
    underflows: [u32; 3],
}

fn in_window_vectors(pc: u32) -> bool {
    (VECBASE..VECBASE + 0x180).contains(&pc)
}

impl WinModel {
    /// One checked step; returns the hook address if the step stopped at one.
    fn step(&mut self, m: &mut M) -> Option<u32> {
        let (pc0, wb0, ws0, ps0) = (m.cpu.pc, m.cpu.windowbase, m.cpu.windowstart, m.cpu.ps);
        let op0 = decode(m.bus.fetch(pc0).unwrap(), pc0).op;
        if let Exit::Hook(a) = m.cpu.step(&mut m.bus) {
            return Some(a);
        }
        let (pc, wb, ws, psv) = (m.cpu.pc, m.cpu.windowbase, m.cpu.windowstart, m.cpu.ps);
        let owb = (psv & ps::OWB) >> ps::OWB_SHIFT;
        let ctx = format!("pc0={pc0:#x} op={op0:?} wb0={wb0} ws0={ws0:#06x} -> pc={pc:#x} wb={wb} ws={ws:#06x} ps={psv:#x}");
        if !in_window_vectors(pc0) && in_window_vectors(pc) {
            let off = pc - VECBASE;
            assert_eq!(m.cpu.epc[1], pc0, "EPC1 on window exception: {ctx}");
            assert_ne!(psv & ps::EXCM, 0, "EXCM on window exception: {ctx}");
            assert_eq!(owb, wb0, "PS.OWB on window exception: {ctx}");
            assert_eq!(ws, ws0, "WINDOWSTART unchanged on entry: {ctx}");
            if off & 0x40 == 0 {
                // Overflow: WB moves to the first live frame above, the handler size is
                // the distance from it to the next live window.
                let k = (1..4)
                    .find(|k| ws0 & (1 << ((wb0 + k) % 16)) != 0)
                    .expect(&ctx);
                assert_eq!(wb, (wb0 + k) % 16, "{ctx}");
                let d = (1..=3)
                    .find(|d| ws0 & (1 << ((wb + d) % 16)) != 0)
                    .unwrap_or(3);
                assert_eq!(
                    off,
                    [0x00, 0x80, 0x100][d as usize - 1],
                    "overflow size: {ctx}"
                );
                self.overflows[d as usize - 1] += 1;
            } else {
                assert!(matches!(op0, Op::Retw | Op::RetwN), "{ctx}");
                let n = match off {
                    0x40 => 1,
                    0xC0 => 2,
                    0x140 => 3,
                    _ => panic!("bad underflow vector {ctx}"),
                };
                assert_eq!(wb, (wb0 + 16 - n) % 16, "{ctx}");
                assert_eq!(ws & (1 << wb), 0, "underflow with caller live: {ctx}");
                self.underflows[n as usize - 1] += 1;
            }
        }
        match op0 {
            Op::Rfwo => {
                assert_eq!(ws, ws0 & !(1 << wb0), "RFWO clears WS[WB]: {ctx}");
                assert_eq!(wb, (ps0 & ps::OWB) >> ps::OWB_SHIFT, "{ctx}");
                assert_eq!(pc, m.cpu.epc[1], "{ctx}");
                assert_eq!(psv & ps::EXCM, 0, "{ctx}");
                self.spilled += 1;
            }
            Op::Rfwu => {
                assert_eq!(ws, ws0 | (1 << wb0), "RFWU sets WS[WB]: {ctx}");
                assert_eq!(wb, (ps0 & ps::OWB) >> ps::OWB_SHIFT, "{ctx}");
                assert_eq!(pc, m.cpu.epc[1], "{ctx}");
                self.spilled -= 1;
            }
            Op::Entry if pc == pc0 + 3 => {
                let callinc = (ps0 & ps::CALLINC) >> ps::CALLINC_SHIFT;
                assert_eq!(wb, (wb0 + callinc) % 16, "{ctx}");
                assert_eq!(ws, ws0 | (1 << wb), "{ctx}");
                self.depth += 1;
            }
            Op::Retw | Op::RetwN if !in_window_vectors(pc) => {
                assert_eq!(
                    ws,
                    ws0 & !(1 << wb0),
                    "RETW clears the callee's WS bit: {ctx}"
                );
                self.depth -= 1;
            }
            _ => {}
        }
        if pc >= CODE {
            assert_ne!(ws & (1 << wb), 0, "current frame not live: {ctx}");
            assert_eq!(psv & ps::EXCM, 0, "{ctx}");
            assert_eq!(
                ws.count_ones() as i64 + self.spilled,
                self.depth + 1,
                "frame count: {ctx}"
            );
        }
        None
    }
}

/// The initial frame's caller does not exist: give it a fake base save area so the
/// bottom frame can be spilled (its caller's sp is read from sp - 12).
fn fake_caller(m: &mut M) {
    m.poke32(STACK_TOP - 12, STACK_TOP + 0x100);
}

/// Emits `rec(depth)`: a recursive function that calls itself with CALL4, CALL8 or CALL12
/// (depth % 3), fills every register the call must preserve with depth-derived tags,
/// and checks them, its stack locals and its stack pointer after the call returns.
/// Returns depth*(depth+1)/2.
fn emit_rec(a: &mut Asm) {
    a.align(4);
    a.label("rec");
    a.entry(1, 64);
    a.slli(3, 2, 16);
    a.add(3, 3, 2); // a3 = tag(depth)
    a.s32i(3, 1, 0);
    a.s32i(1, 1, 4);
    a.beqz(2, "rec_leaf");
    a.movi(4, 3);
    a.remu(4, 2, 4);
    a.beqz(4, "rec_do4");
    a.beqi(4, 1, "rec_do8");
    // CALL12: a4..a11 must survive.
    for k in 4..12 {
        a.addi(k, 3, k as i32);
    }
    a.addi(14, 2, -1);
    a.call(3, "rec");
    for k in 4..12 {
        a.addi(12, 3, k as i32);
        a.bne(12, k, "rec_fail12");
    }
    a.mov(15, 14);
    a.j("rec_check");
    a.label("rec_fail12");
    a.j("fail");
    a.label("rec_do8");
    for k in 4..8 {
        a.addi(k, 3, k as i32);
    }
    a.addi(10, 2, -1);
    a.call(2, "rec");
    for k in 4..8 {
        a.addi(8, 3, k as i32);
        a.bne(8, k, "rec_fail8");
    }
    a.mov(15, 10);
    a.j("rec_check");
    a.label("rec_fail8");
    a.j("fail");
    a.label("rec_do4");
    a.addi(6, 2, -1);
    a.call(1, "rec");
    a.mov(15, 6);
    a.label("rec_check");
    a.slli(12, 2, 16);
    a.add(12, 12, 2);
    a.bne(12, 3, "rec_failc");
    a.l32i(12, 1, 0);
    a.bne(12, 3, "rec_failc");
    a.l32i(12, 1, 4);
    a.bne(12, 1, "rec_failc");
    a.add(2, 2, 15);
    a.label("rec_leaf");
    a.retw();
    a.label("rec_failc");
    a.j("fail");
}

fn program_with_vectors() -> Asm {
    let mut a = Asm::new(VECBASE);
    window_vectors(&mut a);
    a.org(kernel_vec());
    a.label("kexc");
    a.ill();
    a.org(double_vec());
    a.label("dexc");
    a.ill();
    a.org(CODE);
    a
}

fn rec_machine(depth: i32) -> (M, u32, u32) {
    let mut a = program_with_vectors();
    a.movi(2, 0x222);
    a.movi(3, 0x333);
    a.movi(10, depth);
    a.call(2, "rec");
    a.label("done");
    a.nop();
    a.label("fail");
    a.nop();
    emit_rec(&mut a);
    let mut m = M::new();
    m.load(&mut a);
    fake_caller(&mut m);
    let (done, fail) = (a.addr("done"), a.addr("fail"));
    for h in [done, fail, kernel_vec(), double_vec()] {
        m.hook(h);
    }
    (m, done, fail)
}

#[test]
fn window_deep_recursion_mixed_call_sizes_stepwise() {
    // RM 4.7.1: CALL4/8/12 + ENTRY + RETW through 40 frames wrap the 64 registers
    // several times; every spill and refill goes through the real handlers.
    let depth = 40;
    let (mut m, done, _fail) = rec_machine(depth);
    let mut model = WinModel::default();
    let mut hit = None;
    for _ in 0..200_000 {
        if let Some(h) = model.step(&mut m) {
            hit = Some(h);
            break;
        }
    }
    assert_eq!(
        hit,
        Some(done),
        "pc={:#x} exccause={}",
        m.cpu.pc,
        m.cpu.exccause
    );
    let d = depth as u32;
    assert_eq!(m.a(10), d * (d + 1) / 2, "sum returned through every frame");
    assert_eq!(
        (m.a(2), m.a(3)),
        (0x222, 0x333),
        "bottom frame registers intact"
    );
    assert_eq!(m.a(1), STACK_TOP);
    assert_eq!(model.depth, 0);
    assert_eq!(model.spilled, 0);
    for i in 0..3 {
        assert!(
            model.overflows[i] > 0,
            "overflow{} never exercised: {:?}",
            4 * (i + 1),
            model.overflows
        );
        assert!(
            model.underflows[i] > 0,
            "underflow{} never exercised: {:?}",
            4 * (i + 1),
            model.underflows
        );
    }
    assert_eq!(m.cpu.windowbase, 0);
    assert_eq!(m.cpu.windowstart, 1);
}

#[test]
fn window_deep_recursion_free_running() {
    // Same program at full speed (no stepping), several depths.
    for depth in [0, 1, 2, 3, 5, 8, 13, 21, 34, 60] {
        let (mut m, done, _) = rec_machine(depth);
        m.run_until(done, 1_000_000);
        let d = depth as u32;
        assert_eq!(m.a(10), d * (d + 1) / 2, "depth {depth}");
        assert_eq!(
            (m.a(2), m.a(3), m.a(1)),
            (0x222, 0x333, STACK_TOP),
            "depth {depth}"
        );
    }
}

#[test]
fn window_overflow_on_register_reference_not_only_entry() {
    // RM 4.7.1.3 (and QEMU's per-instruction window check): a frame reaching a register
    // in a window that still belongs to a live older frame raises the overflow first.
    // CALL8 chain: main at window 0, callees at 2, 4, ..., 14. The frame at 14 owns
    // windows 14,15,0,1: writing its a8..a15 must spill main (window 0), whose ENTRY-time
    // check only covered windows 13 and 14.
    let mut a = program_with_vectors();
    for r in 2..8 {
        a.movi(r, 0x100 + r as i32);
    }
    a.movi(10, 6);
    a.call(2, "f");
    a.label("done");
    a.nop();
    a.label("fail");
    a.nop();
    a.align(4);
    a.label("f");
    a.entry(1, 48);
    a.beqz(2, "f_leaf");
    a.addi(10, 2, -1);
    a.call(2, "f");
    a.retw();
    a.label("f_leaf");
    for r in 8..16 {
        a.movi(r, -1);
    }
    a.retw();
    let mut m = M::new();
    m.load(&mut a);
    fake_caller(&mut m);
    let (done, leaf) = (a.addr("done"), a.addr("f_leaf"));
    m.hook(done);
    m.hook(kernel_vec());
    m.hook(VECBASE + 0x80);
    // First stop: the overflow8 vector, raised by the leaf's first `movi a8`.
    m.run_until(VECBASE + 0x80, 10_000);
    assert_eq!(
        m.cpu.epc[1], leaf,
        "overflow raised by the register reference"
    );
    assert_eq!((m.cpu.ps & ps::OWB) >> ps::OWB_SHIFT, 14);
    assert_eq!(m.cpu.windowbase, 0, "the spilled frame is main's");
    m.bus.flat.cache.remove_hook(VECBASE + 0x80);
    m.cpu.step_over_hook(VECBASE + 0x80);
    m.run_until(done, 10_000);
    for r in 2..8 {
        assert_eq!(
            m.a(r),
            0x100 + r as u32,
            "main's a{r} survived the deep frame"
        );
    }
}

#[test]
fn window_spill_by_rotw_loop() {
    // A context-switch style spill (no CALL12 chain): touch a12, ROTW 3, four times, then
    // ROTW 4 back. Each touch overflows any live frame in the three windows above; at the
    // end only the current frame is live (WINDOWSTART = 1 << WINDOWBASE), and the RETWs
    // refill everything through the underflow handlers.
    let mut a = program_with_vectors();
    a.movi(2, 0x222);
    a.movi(3, 0x333);
    a.movi(10, 5);
    a.call(2, "s");
    a.label("done");
    a.nop();
    a.label("fail");
    a.nop();
    a.align(4);
    a.label("s");
    a.entry(1, 64);
    a.slli(3, 2, 16);
    a.add(3, 3, 2);
    for k in 4..8 {
        a.addi(k, 3, k as i32);
    }
    a.s32i(3, 1, 0);
    a.beqz(2, "s_spill");
    a.addi(10, 2, -1);
    a.call(2, "s");
    for k in 4..8 {
        a.addi(8, 3, k as i32);
        a.bne(8, k, "s_fail");
    }
    a.l32i(8, 1, 0);
    a.bne(8, 3, "s_fail");
    a.add(2, 2, 10);
    a.retw();
    a.label("s_spill");
    for _ in 0..4 {
        a.and(12, 12, 12);
        a.rotw(3);
    }
    a.and(12, 12, 12);
    a.rotw(4);
    a.label("spilled");
    a.movi(2, 0);
    a.retw();
    a.label("s_fail");
    a.j("fail");
    let mut m = M::new();
    m.load(&mut a);
    fake_caller(&mut m);
    let (done, spilled) = (a.addr("done"), a.addr("spilled"));
    m.hook(done);
    m.hook(spilled);
    m.hook(kernel_vec());
    m.hook(double_vec());
    m.hook(a.addr("fail"));
    m.run_until(spilled, 100_000);
    let wb = m.cpu.windowbase;
    assert_eq!(wb, 12, "main at 0 plus six CALL8 frames");
    assert_eq!(
        m.cpu.windowstart,
        1 << wb,
        "everything but the current frame spilled"
    );
    m.cpu.step_over_hook(spilled);
    m.run_until(done, 100_000);
    assert_eq!(m.a(10), 15);
    assert_eq!((m.a(2), m.a(3), m.a(1)), (0x222, 0x333, STACK_TOP));
    assert_eq!((m.cpu.windowbase, m.cpu.windowstart), (0, 1));
}

fn one_insn(f: impl FnOnce(&mut Asm)) -> M {
    let mut a = program_with_vectors();
    f(&mut a);
    a.label("after");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(a.addr("after"));
    m.hook(kernel_vec());
    m.hook(double_vec());
    m
}

#[test]
fn movsp_raises_alloca_when_caller_frame_not_live() {
    // RM MOVSP: if WindowStart[WB-1..WB-3] are all 0 -> Exception(AllocaCause).
    let mut m = one_insn(|a| a.movsp(1, 5));
    m.cpu.windowbase = 4;
    m.cpu.windowstart = 1 << 4;
    m.cpu.set_ar(5, 0x1234);
    m.run_until(kernel_vec(), 10);
    assert_eq!(m.cpu.exccause, cause::ALLOCA);
    assert_eq!(m.cpu.epc[1], CODE);
    assert_ne!(m.cpu.ps & ps::EXCM, 0);
    assert_ne!(m.a(1), 0x1234, "MOVSP must not write");

    // Caller live three windows below (CALL12): MOVSP just moves.
    for below in 1..=3u32 {
        let mut m = one_insn(|a| a.movsp(1, 5));
        m.cpu.windowbase = 4;
        m.cpu.windowstart = (1 << 4) | (1 << (4 - below));
        m.cpu.set_ar(5, 0x1234);
        m.run_until(CODE + 3, 10);
        assert_eq!(m.a(1), 0x1234);
    }
}

#[test]
fn rotw_rotates_the_view() {
    // RM ROTW: WindowBase <- WindowBase + imm4 (signed); the physical file stays.
    let mut m = one_insn(|a| {
        a.rotw(1);
        a.rotw(-2);
        a.rotw(7);
    });
    m.cpu.windowstart = 1;
    for i in 0..64 {
        m.cpu.ar[i] = 1000 + i as u32;
    }
    m.cpu.ps = ps::WOE | ps::EXCM; // as in a context switch: no window checks
    m.cpu.step(&mut m.bus);
    assert_eq!(m.cpu.windowbase, 1);
    assert_eq!(m.a(0), 1004);
    m.cpu.step(&mut m.bus);
    assert_eq!(m.cpu.windowbase, 15);
    assert_eq!(m.a(0), 1060);
    assert_eq!(m.a(5), 1001, "view wraps round the 64 registers");
    m.cpu.step(&mut m.bus);
    assert_eq!(m.cpu.windowbase, 6);
    assert_eq!(m.cpu.windowstart, 1, "ROTW leaves WINDOWSTART alone");
}

#[test]
fn callinc_and_return_address_of_calls() {
    // RM CALLn/CALLXn: AR[4n] <- n || nextPC[29:0]; PS.CALLINC <- n.
    for n in 1..=3u32 {
        for indirect in [false, true] {
            let mut m = M::new();
            let mut a2 = program_with_vectors();
            a2.j("go");
            a2.align(4);
            a2.label("lit");
            a2.word(0);
            a2.label("go");
            let call_pc;
            if indirect {
                a2.l32r(2, "lit");
                call_pc = a2.here();
                a2.callx(n, 2);
            } else {
                a2.nop();
                call_pc = a2.here();
                a2.call(n, "target");
            }
            a2.nop();
            a2.align(4);
            a2.label("target");
            a2.nop();
            m.load(&mut a2);
            let target = a2.addr("target");
            m.poke32(a2.addr("lit"), target);
            m.hook(target);
            m.run_until(target, 100);
            assert_eq!(
                (m.cpu.ps & ps::CALLINC) >> ps::CALLINC_SHIFT,
                n,
                "n={n} indirect={indirect}"
            );
            assert_eq!(
                m.a(4 * n as usize),
                (n << 30) | ((call_pc + 3) & 0x3FFF_FFFF)
            );
        }
    }
}

#[test]
fn retw_illegal_cases() {
    // RM RETW: n = 0, or the caller's WindowStart bit at a different distance than n, or
    // PS.WOE = 0, or PS.EXCM = 1 -> undefined, "may raise illegal instruction".
    let setups: [(&str, u32, u32, u32, bool); 4] = [
        ("n=0", 0x0000_1000, 1 << 2, ps::WOE, false),
        (
            "WS says call4, a0 says call8",
            0x8000_1000,
            (1 << 3) | (1 << 4),
            ps::WOE,
            false,
        ),
        ("WOE=0", 0x8000_1000, (1 << 2) | (1 << 4), 0, false),
        (
            "EXCM=1",
            0x8000_1000,
            (1 << 2) | (1 << 4),
            ps::WOE | ps::EXCM,
            true,
        ),
    ];
    for (what, a0, ws, psv, double) in setups {
        let mut m = one_insn(|a| a.retw());
        m.cpu.windowbase = 4;
        m.cpu.windowstart = ws;
        m.cpu.set_ar(0, a0);
        m.cpu.ps = psv;
        let expect = if double { double_vec() } else { kernel_vec() };
        m.run_until(expect, 10);
        assert_eq!(m.cpu.exccause, cause::ILLEGAL, "{what}");
        if double {
            assert_eq!(m.cpu.depc, CODE, "{what}");
        } else {
            assert_eq!(m.cpu.epc[1], CODE, "{what}");
        }
        assert_eq!(
            (m.cpu.windowbase, m.cpu.windowstart),
            (4, ws),
            "{what}: no window change"
        );
    }
    // The legal case for contrast: caller two windows below, a0 says CALL8.
    let mut m = one_insn(|a| a.retw());
    m.cpu.windowbase = 4;
    m.cpu.windowstart = (1 << 2) | (1 << 4);
    m.cpu.set_ar(0, 0x8000_0000 | ((CODE + 3) & 0x3FFF_FFFF));
    m.run_until(CODE + 3, 10);
    assert_eq!((m.cpu.windowbase, m.cpu.windowstart), (2, 1 << 2));
}

#[test]
fn retw_underflow_when_caller_spilled() {
    // RM RETW: WindowBase <- WindowBase - n; WindowStart[WB] = 0 -> underflow exception
    // with PS.OWB = old WB, EPC1 = the RETW, vector by n; the RETW re-executes later.
    for n in 1..=3u32 {
        let mut m = one_insn(|a| a.retw());
        m.cpu.windowbase = 6;
        m.cpu.windowstart = 1 << 6;
        m.cpu.set_ar(0, (n << 30) | 0x1000);
        m.hook(VECBASE + [0x40, 0xC0, 0x140][n as usize - 1]);
        m.run_until(VECBASE + [0x40, 0xC0, 0x140][n as usize - 1], 10);
        assert_eq!(m.cpu.windowbase, 6 - n);
        assert_eq!((m.cpu.ps & ps::OWB) >> ps::OWB_SHIFT, 6);
        assert_ne!(m.cpu.ps & ps::EXCM, 0);
        assert_eq!(m.cpu.epc[1], CODE);
        assert_eq!(m.cpu.windowstart, 1 << 6, "WS untouched until RFWU");
        assert_eq!(m.cpu.exccause, 0, "window exceptions leave EXCCAUSE alone");
    }
}

#[test]
fn entry_requires_woe_and_not_excm() {
    // RM ENTRY: s > 3 or PS.WOE = 0 or PS.EXCM = 1 -> undefined, may raise illegal
    // instruction. QEMU (test_exceptions_entry) raises IllegalInstruction for all three;
    // so do we. With EXCM = 1 that exception is a double exception.
    let cases: [(&str, u32, u32, bool); 3] = [
        ("WOE=0", 1, 2 << ps::CALLINC_SHIFT, false),
        (
            "EXCM=1",
            1,
            ps::WOE | ps::EXCM | (2 << ps::CALLINC_SHIFT),
            true,
        ),
        ("s=5", 5, ps::WOE | (2 << ps::CALLINC_SHIFT), false),
    ];
    for (what, s, psv, double) in cases {
        let mut m = one_insn(|a| a.entry(s, 32));
        m.cpu.ps = psv;
        let expect = if double { double_vec() } else { kernel_vec() };
        m.run_until(expect, 10);
        assert_eq!(m.cpu.exccause, cause::ILLEGAL, "{what}");
        assert_eq!((m.cpu.windowbase, m.cpu.windowstart), (0, 1), "{what}");
    }
    // Legal: CALLINC = 2 rotates by two and writes the new sp into the callee's a1.
    let mut m = one_insn(|a| a.entry(1, 32));
    m.cpu.ps = ps::WOE | (2 << ps::CALLINC_SHIFT);
    m.run_until(CODE + 3, 10);
    assert_eq!((m.cpu.windowbase, m.cpu.windowstart), (2, 0b101));
    assert_eq!(m.a(1), STACK_TOP - 32);
}

// ======================================================================= loops

fn loop_prog(count: i32, body: impl FnOnce(&mut Asm), kind: u8) -> (M, u32, u32) {
    let mut a = program_with_vectors();
    a.movi(2, count);
    a.movi(3, 0);
    match kind {
        0 => a.loop_(2, "lend"),
        1 => a.loopnez(2, "lend"),
        _ => a.loopgtz(2, "lend"),
    }
    let lbeg = a.here();
    body(&mut a);
    let lend = a.label("lend");
    a.nop();
    a.label("done");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(a.addr("done"));
    m.hook(kernel_vec());
    (m, lbeg, lend)
}

#[test]
fn loop_counts_and_registers() {
    // RM LOOP: LCOUNT <- AR[s] - 1, LBEG <- PC + 3, LEND <- PC + imm8 + 4; at the end of
    // each iteration with LCOUNT != 0: LCOUNT--, back to LBEG.
    for n in [1, 2, 5, 100] {
        let (mut m, lbeg, lend) = loop_prog(n, |a| a.addi(3, 3, 1), 0);
        let done = lend + 3;
        m.run_until(done, 10_000);
        assert_eq!(m.a(3), n as u32, "count {n}");
        assert_eq!(m.sr(sr::LCOUNT), 0);
        assert_eq!(m.sr(sr::LBEG), lbeg);
        assert_eq!(m.sr(sr::LEND), lend);
    }
}

#[test]
fn loop_count_zero_means_two_to_the_32() {
    // LOOP with AR[s] = 0: LCOUNT = 0xFFFFFFFF, the body keeps running.
    let (mut m, _, _) = loop_prog(0, |a| a.addi(3, 3, 1), 0);
    for _ in 0..3 {
        m.cpu.step(&mut m.bus);
    }
    assert_eq!(m.sr(sr::LCOUNT), 0xFFFF_FFFF);
    for _ in 0..10 {
        m.cpu.step(&mut m.bus);
    }
    assert_eq!(m.a(3), 10);
    assert_eq!(m.sr(sr::LCOUNT), 0xFFFF_FFFF - 10);
}

#[test]
fn loopnez_and_loopgtz_skip() {
    // RM LOOPNEZ: AR[s] = 0 -> nextPC <- LEND. LOOPGTZ: AR[s] <= 0 (signed) -> LEND.
    for (kind, count, iters) in [(1u8, 0, 0u32), (1, 3, 3), (2, 0, 0), (2, -5, 0), (2, 4, 4)] {
        let (mut m, _, lend) = loop_prog(count, |a| a.addi(3, 3, 1), kind);
        m.run_until(lend + 3, 10_000);
        assert_eq!(m.a(3), iters, "kind {kind} count {count}");
        assert_eq!(m.sr(sr::LEND), lend, "LEND set even when skipped");
    }
}

#[test]
fn taken_branch_to_lend_exits_without_decrement() {
    // The loop-back only happens on the sequential path to LEND: a taken branch (here the
    // last instruction of the body, branching to LEND) leaves the loop with LCOUNT as is,
    // while the same branch not taken falls into LEND and loops.
    let (mut m, _, lend) = loop_prog(
        10,
        |a| {
            a.addi(3, 3, 1);
            a.beqi(3, 3, "lend");
        },
        0,
    );
    m.run_until(lend + 3, 10_000);
    assert_eq!(m.a(3), 3);
    assert_eq!(m.sr(sr::LCOUNT), 7, "10 - 1 - two loop-backs");
}

#[test]
fn jump_as_last_instruction_is_taken() {
    // A J at LEND-3 jumping to LBEG is an ordinary jump: LCOUNT is not decremented by it.
    let mut a = program_with_vectors();
    a.movi(2, 3);
    a.movi(3, 0);
    a.loop_(2, "lend");
    a.label("lbeg");
    a.addi(3, 3, 1);
    a.beqi(3, 8, "out");
    a.j("lbeg");
    a.label("lend");
    a.nop();
    a.label("out");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(a.addr("out"));
    m.run_until(a.addr("out"), 1000);
    assert_eq!(m.a(3), 8);
    assert_eq!(m.sr(sr::LCOUNT), 2, "never decremented");
}

#[test]
fn loops_disabled_while_excm() {
    // RM 4.4.1: the loop-back is suppressed while PS.EXCM = 1 (CLOOPENABLE).
    let (mut m, _, lend) = loop_prog(5, |a| a.addi(3, 3, 1), 0);
    m.cpu.ps = ps::WOE | ps::EXCM;
    m.run_until(lend + 3, 1000);
    assert_eq!(m.a(3), 1);
    assert_eq!(m.sr(sr::LCOUNT), 4);
}

#[test]
fn interrupt_at_loop_end_returns_to_lbeg() {
    // An interrupt taken at the iteration boundary sees the loop-back already done:
    // EPC1 = LBEG and LCOUNT decremented; after RFE the loop completes normally.
    let mut a = Asm::new(VECBASE);
    a.org(kernel_vec());
    a.rsr(6, sr::EXCCAUSE);
    a.movi(5, 0);
    a.wsr(5, sr::CCOMPARE0);
    a.rfe();
    a.org(CODE);
    a.movi(2, 100);
    a.movi(3, 0);
    a.loop_(2, "lend");
    let lbeg = a.here();
    a.addi(3, 3, 1);
    let lend = a.label("lend");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(kernel_vec());
    m.hook(lend + 3);
    m.cpu.write_sr(sr::CCOUNT, 0);
    m.cpu.write_sr(sr::CCOMPARE0, 6);
    m.cpu.write_sr(sr::INTENABLE, 1 << 6);
    m.run_until(kernel_vec(), 1000);
    assert_eq!(m.cpu.exccause, cause::LEVEL1_INTERRUPT);
    assert_eq!(
        m.a(3),
        3,
        "movi, movi, loop, then three bodies reach CCOUNT 6"
    );
    assert_eq!(m.cpu.epc[1], lbeg);
    assert_eq!(m.sr(sr::LCOUNT), 96);
    m.cpu.step_over_hook(kernel_vec());
    m.run_until(lend + 3, 10_000);
    assert_eq!(m.a(3), 100);
    assert_eq!(m.a(6), cause::LEVEL1_INTERRUPT);
}
