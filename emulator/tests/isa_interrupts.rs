//! Interrupts (Xtensa RM 4.4.4-4.4.5 Interrupt / High-Priority Interrupt options, XEA2)
//! and timers (RM 4.4.6 Timer Interrupt option) in the ESP32's configuration
//! (core-isa.h: levels per interrupt, types software 7/29, edge 10/22/28/30, timers
//! 6/15/16, NMI 14, EXCMLEVEL 3, DEBUGLEVEL 6, NMILEVEL 7).

mod common;

use common::*;
use emulator::regs::{cause, ps, sr};
use emulator::Exit;

const SW1: u32 = 7; // software, level 1
const SW3: u32 = 29; // software, level 3
const LVL2: u32 = 19; // external level, level 2
const LVL4: u32 = 24; // external level, level 4
const LVL5: u32 = 26; // external level, level 5
const EDGE3: u32 = 22; // external edge, level 3
const NMI: u32 = 14;

/// A straight run of `n` counting instructions (`addi a3, a3, 1`) at CODE, then `end`.
/// Every vector is hooked.
fn counter(n: usize) -> (M, u32) {
    let mut a = Asm::new(VECBASE);
    a.org(CODE);
    for _ in 0..n {
        a.addi(3, 3, 1);
    }
    let end = a.label("end");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(end);
    for v in [kernel_vec(), user_vec(), double_vec()] {
        m.hook(v);
    }
    for l in 2..=7 {
        m.hook(level_vec(l));
    }
    (m, end)
}

fn prog(f: impl FnOnce(&mut Asm)) -> (M, u32) {
    let mut a = Asm::new(VECBASE);
    a.org(CODE);
    f(&mut a);
    let end = a.label("end");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(end);
    for v in [kernel_vec(), user_vec(), double_vec()] {
        m.hook(v);
    }
    for l in 2..=7 {
        m.hook(level_vec(l));
    }
    (m, end)
}

#[test]
fn intset_intclear_writable_bits() {
    // RM: WSR INTSET sets only software interrupt bits; WSR INTCLEAR clears software and
    // edge-triggered bits; level lines stay visible while asserted; timer bits are
    // cleared only by writing their CCOMPARE. (INTCLEAR is write-only: this also checks
    // that WSR INTCLEAR is accepted.)
    let (mut m, end) = prog(|a| {
        a.movi(2, -1);
        a.wsr(2, sr::INTERRUPT); // INTSET
        a.rsr(3, sr::INTERRUPT);
        a.wsr(2, sr::INTCLEAR);
        a.rsr(4, sr::INTERRUPT);
        a.movi(5, 0);
        a.wsr(5, sr::CCOMPARE0);
        a.rsr(6, sr::INTERRUPT);
    });
    m.cpu.ps = ps::WOE | 15;
    m.bus.lines = (1 << LVL2) | (1 << EDGE3);
    m.cpu.assert_interrupt(1 << 6); // a CCOMPARE0 match happened
    m.run_until(end, 20);
    let sw = (1 << SW1) | (1 << SW3);
    assert_eq!(m.a(3), sw | (1 << LVL2) | (1 << EDGE3) | (1 << 6));
    assert_eq!(
        m.a(4),
        (1 << LVL2) | (1 << 6),
        "INTCLEAR cleared software and edge only"
    );
    assert_eq!(m.a(6), 1 << LVL2, "writing CCOMPARE0 cleared the timer bit");
}

#[test]
fn level1_interrupt_through_kernel_or_user_vector() {
    // RM XEA2: level-1 interrupts are taken as a general exception with EXCCAUSE =
    // Level1InterruptCause (4), EPC1 = the next instruction, vector by PS.UM.
    for um in [false, true] {
        let (mut m, _) = counter(10);
        m.cpu.ps = ps::WOE | if um { ps::UM } else { 0 };
        m.cpu.write_sr(sr::INTENABLE, 1 << SW1);
        m.cpu.step(&mut m.bus); // one instruction first
        m.cpu.write_sr(sr::INTERRUPT, 1 << SW1);
        let v = if um { user_vec() } else { kernel_vec() };
        m.run_until(v, 10);
        assert_eq!(m.cpu.exccause, cause::LEVEL1_INTERRUPT);
        assert_eq!(m.cpu.epc[1], CODE + 3);
        assert_ne!(m.cpu.ps & ps::EXCM, 0);
        assert_eq!(
            m.cpu.ps & ps::INTLEVEL,
            0,
            "level 1 leaves INTLEVEL alone (XEA2)"
        );
    }
}

#[test]
fn hook_helper_sanity() {
    let (mut m, end) = counter(3);
    m.run_until(end, 10);
    assert_eq!(m.a(3), 3);
}

#[test]
fn high_priority_levels_2_to_5() {
    // RM: level L in 2..=EXCMLEVEL (medium) and above: EPC[L] <- PC, EPS[L] <- PS,
    // PS.INTLEVEL <- L, PS.EXCM <- 1, vector VECBASE + 0x180 + 0x40*(L-2); EXCCAUSE,
    // EPC1, EXCSAVE untouched. RFI L restores PS and PC.
    for (level, irq, via_line) in [
        (2, LVL2, true),
        (3, SW3, false),
        (4, LVL4, true),
        (5, LVL5, true),
    ] {
        let mut a = Asm::new(VECBASE);
        a.org(level_vec(level));
        a.rsr(7, sr::PS);
        a.rfi(level);
        a.org(CODE);
        a.addi(3, 3, 1);
        a.addi(3, 3, 1);
        a.label("end");
        a.nop();
        let mut m = M::new();
        m.load(&mut a);
        m.hook(level_vec(level));
        m.hook(a.addr("end"));
        m.cpu.ps = ps::WOE | ps::UM | (level - 1);
        m.cpu.exccause = 0x2A;
        m.cpu.epc[1] = 0x1111;
        m.cpu.excsave[level as usize] = 0x2222;
        m.cpu.write_sr(sr::INTENABLE, 1 << irq);
        if via_line {
            m.bus.lines = 1 << irq;
        } else {
            m.cpu.write_sr(sr::INTERRUPT, 1 << irq);
        }
        m.run_until(level_vec(level), 10);
        let l = level as usize;
        assert_eq!(m.cpu.epc[l], CODE, "level {level}");
        assert_eq!(m.cpu.eps[l], ps::WOE | ps::UM | (level - 1));
        assert_eq!(m.cpu.ps, ps::WOE | ps::UM | ps::EXCM | level);
        assert_eq!(
            (m.cpu.exccause, m.cpu.epc[1], m.cpu.excsave[l]),
            (0x2A, 0x1111, 0x2222)
        );
        // Return with the source removed.
        m.bus.lines = 0;
        m.cpu.interrupt = 0;
        m.cpu.step_over_hook(level_vec(level));
        m.run_until(a.addr("end"), 10);
        assert_eq!(m.cpu.ps, ps::WOE | ps::UM | (level - 1), "RFI restored PS");
        assert_eq!(m.a(3), 2);
    }
}

#[test]
fn intlevel_and_excm_masking_and_rsil() {
    // RM: an interrupt is taken only if its level > max(PS.INTLEVEL, EXCM ? EXCMLEVEL : 0).
    let (mut m, _) = prog(|a| {
        a.nop();
        a.rsil(5, 2); // a5 <- old PS; INTLEVEL 2: level 3 now taken
        a.nop();
    });
    m.cpu.ps = ps::WOE | 3;
    m.cpu.write_sr(sr::INTENABLE, (1 << SW3) | (1 << SW1));
    m.cpu.write_sr(sr::INTERRUPT, (1 << SW3) | (1 << SW1));
    m.run_until(level_vec(3), 10);
    assert_eq!(m.a(5), ps::WOE | 3, "RSIL returned the old PS");
    assert_eq!(m.cpu.epc[3], CODE + 6, "taken right after RSIL");
    assert_eq!(m.cpu.eps[3], ps::WOE | 2);

    // EXCM masks up to EXCMLEVEL = 3 even at INTLEVEL 0; level 4 gets through.
    let (mut m, _) = counter(5);
    m.cpu.ps = ps::WOE | ps::EXCM;
    m.cpu.write_sr(
        sr::INTENABLE,
        (1 << SW1) | (1 << LVL2) | (1 << SW3) | (1 << LVL4),
    );
    m.cpu.write_sr(sr::INTERRUPT, (1 << SW1) | (1 << SW3));
    m.bus.lines = 1 << LVL2;
    m.cpu.step(&mut m.bus);
    m.cpu.step(&mut m.bus);
    assert_eq!(m.cpu.pc, CODE + 6, "levels 1-3 masked by EXCM");
    m.bus.lines |= 1 << LVL4;
    m.run_until(level_vec(4), 10);
    assert_eq!(m.cpu.epc[4], CODE + 6);

    // INTENABLE masks too.
    let (mut m, end) = counter(3);
    m.cpu.write_sr(sr::INTERRUPT, 1 << SW3);
    m.run_until(end, 10);
}

#[test]
fn highest_level_first() {
    // Several pending: the highest level is taken first; after its RFI the next.
    let (mut m, _) = counter(5);
    m.cpu.write_sr(
        sr::INTENABLE,
        (1 << LVL2) | (1 << LVL5) | (1 << SW1) | (1 << SW3),
    );
    m.cpu.write_sr(sr::INTERRUPT, (1 << SW1) | (1 << SW3));
    m.bus.lines = (1 << LVL2) | (1 << LVL5);
    m.run_until(level_vec(5), 10);
    assert_eq!(m.cpu.epc[5], CODE);
    // Pretend the level-5 handler ran and returned with the line gone: the next taken is 3.
    m.bus.lines = 1 << LVL2;
    m.cpu.ps = m.cpu.eps[5];
    m.cpu.pc = m.cpu.epc[5];
    m.run_until(level_vec(3), 10);
    m.cpu.interrupt &= !(1 << SW3);
    m.cpu.ps = m.cpu.eps[3];
    m.cpu.pc = m.cpu.epc[3];
    m.run_until(level_vec(2), 10);
    m.bus.lines = 0;
    m.cpu.ps = m.cpu.eps[2];
    m.cpu.pc = m.cpu.epc[2];
    m.run_until(kernel_vec(), 10);
    assert_eq!(m.cpu.exccause, cause::LEVEL1_INTERRUPT);
}

#[test]
fn nmi_not_maskable_and_edge_triggered() {
    // NMI (interrupt 14, level 7): taken whatever PS.INTLEVEL, PS.EXCM and INTENABLE
    // say; vector +0x2C0, EPC7/EPS7. Edge-triggered: a line held high is taken once
    // (also when INTENABLE has bit 14 set, which once made the held line look level).
    for enable in [0, 1 << NMI] {
        let mut a = Asm::new(VECBASE);
        a.org(level_vec(7));
        a.addi(9, 9, 1);
        a.rfi(7);
        a.org(CODE);
        for _ in 0..20 {
            a.addi(3, 3, 1);
        }
        a.label("end");
        a.nop();
        let mut m = M::new();
        m.load(&mut a);
        m.hook(level_vec(7));
        m.hook(a.addr("end"));
        m.cpu.ps = ps::WOE | ps::EXCM | 15;
        m.cpu.intenable = enable;
        m.cpu.step(&mut m.bus);
        m.bus.lines = 1 << NMI;
        m.run_until(level_vec(7), 10);
        assert_eq!(m.cpu.epc[7], CODE + 3);
        assert_eq!(m.cpu.eps[7], ps::WOE | ps::EXCM | 15);
        assert_eq!(m.cpu.ps & (ps::INTLEVEL | ps::EXCM), 7 | ps::EXCM);
        // Line stays high: the handler runs once and the program completes.
        m.cpu.step_over_hook(level_vec(7));
        m.bus.flat.cache.remove_hook(level_vec(7));
        m.run_until(a.addr("end"), 100);
        assert_eq!(m.a(9), 1, "held NMI line taken once");
        assert_eq!(m.a(3), 20);
    }
}

#[test]
fn nmi_second_edge_taken_again() {
    let (mut m, _) = counter(20);
    m.bus.lines = 1 << NMI;
    m.run_until(level_vec(7), 10);
    m.cpu.ps = m.cpu.eps[7];
    m.cpu.pc = m.cpu.epc[7];
    m.cpu.step_over_hook(m.cpu.pc);
    m.cpu.step(&mut m.bus);
    m.cpu.step(&mut m.bus);
    assert!(m.cpu.pc >= CODE, "no re-trigger while held");
    m.bus.lines = 0;
    m.cpu.step(&mut m.bus);
    m.bus.lines = 1 << NMI;
    m.run_until(level_vec(7), 10);
}

#[test]
fn level_lines_follow_edge_lines_latch() {
    // Level-type: INTERRUPT follows the line. Edge-type: a rising edge latches until
    // INTCLEAR.
    let (mut m, _) = prog(|a| {
        a.rsr(3, sr::INTERRUPT);
        a.rsr(4, sr::INTERRUPT);
        a.rsr(5, sr::INTERRUPT);
        a.movi(2, 1);
        a.slli(2, 2, EDGE3);
        a.wsr(2, sr::INTCLEAR);
        a.rsr(6, sr::INTERRUPT);
    });
    m.cpu.ps = ps::WOE | 15;
    m.bus.lines = (1 << LVL2) | (1 << EDGE3);
    m.cpu.step(&mut m.bus);
    m.bus.lines = 0;
    m.cpu.step(&mut m.bus);
    m.cpu.step(&mut m.bus);
    for _ in 0..4 {
        m.cpu.step(&mut m.bus);
    }
    assert_eq!(m.a(3), (1 << LVL2) | (1 << EDGE3));
    assert_eq!(
        m.a(4),
        1 << EDGE3,
        "level bit dropped with its line, edge latched"
    );
    assert_eq!(m.a(5), 1 << EDGE3);
    assert_eq!(m.a(6), 0, "INTCLEAR cleared the edge latch");
}

#[test]
fn set_irq_lines_edge_latch_survives_without_bus_lines() {
    // Cpu::set_irq_lines latches edge-type (and NMI) rising edges into INTERRUPT.
    let (mut m, _) = counter(5);
    m.cpu.ps = ps::WOE | 15;
    m.cpu.set_irq_lines(1 << EDGE3);
    assert_ne!(m.cpu.pending() & (1 << EDGE3), 0);
    m.cpu.set_irq_lines(0);
    assert_ne!(m.cpu.pending() & (1 << EDGE3), 0, "edge stays latched");
}

#[test]
fn waiti_sleeps_and_skips_virtual_time() {
    // RM WAITI: PS.INTLEVEL <- imm, then wait for an interrupt. Time must jump, not spin.
    let (mut m, _) = prog(|a| {
        a.waiti(0);
        a.nop();
    });
    m.cpu.ps = ps::WOE | 5;
    m.cpu.write_sr(sr::INTENABLE, 1 << LVL2);
    let c0 = m.cpu.cycles;
    assert_eq!(m.cpu.run(&mut m.bus, 1_000_000), Exit::Budget);
    assert_eq!(
        m.cpu.cycles - c0,
        1_000_000,
        "the budget is consumed as idle time"
    );
    assert!(
        m.cpu.instret <= 2,
        "no spinning: {} instructions",
        m.cpu.instret
    );
    assert!(m.cpu.waiting);
    assert_eq!(m.cpu.ps & ps::INTLEVEL, 0, "WAITI set INTLEVEL");
    m.bus.lines = 1 << LVL2;
    m.run_until(level_vec(2), 10);
    assert_eq!(m.cpu.epc[2], CODE + 3, "returns after the WAITI");
    assert!(!m.cpu.waiting);
}

// ======================================================================= timers

#[test]
fn ccount_one_per_instruction_and_wsr() {
    let (mut m, end) = prog(|a| {
        a.rsr(2, sr::CCOUNT);
        a.nop();
        a.nop_n();
        a.rsr(3, sr::CCOUNT);
        a.movi(4, 1000);
        a.wsr(4, sr::CCOUNT);
        a.rsr(5, sr::CCOUNT);
        a.nop();
        a.rsr(6, sr::CCOUNT);
    });
    m.run_until(end, 20);
    assert_eq!(m.a(3).wrapping_sub(m.a(2)), 3);
    assert_eq!(m.a(5), 1001, "WSR CCOUNT then one more instruction");
    assert_eq!(m.a(6), 1003);
}

#[test]
fn ccompare_fires_exactly_at_match() {
    // RM Timer option: interrupt CCOMPAREn's bit is set when CCOUNT == CCOMPAREn.
    // ESP32: CCOMPARE0 -> 6 (level 1), CCOMPARE1 -> 15 (level 3), CCOMPARE2 -> 16 (level 5).
    for (i, irq, vec) in [
        (0u32, 6u32, kernel_vec()),
        (1, 15, level_vec(3)),
        (2, 16, level_vec(5)),
    ] {
        for k in [1u32, 2, 17, 40] {
            let (mut m, _) = counter(100);
            m.cpu.write_sr(sr::CCOUNT, 500);
            m.cpu.write_sr(sr::CCOMPARE0 + i, 500 + k);
            m.cpu.write_sr(sr::INTENABLE, 1 << irq);
            m.run_until(vec, 1000);
            assert_eq!(m.a(3), k, "CCOMPARE{i} at +{k}: exactly k instructions ran");
            assert_eq!(m.cpu.ccount(), 500 + k);
            assert_ne!(m.cpu.pending() & (1 << irq), 0);
        }
    }
}

#[test]
fn ccompare_pending_until_rewritten() {
    let (mut m, end) = counter(30);
    m.cpu.write_sr(sr::CCOUNT, 0);
    m.cpu.write_sr(sr::CCOMPARE0 + 1, 10);
    m.run_until(end, 100);
    assert_eq!(
        m.cpu.pending(),
        1 << 15,
        "matched but disabled: stays pending"
    );
    m.cpu.write_sr(sr::CCOMPARE0 + 1, 5);
    assert_eq!(m.cpu.pending(), 0, "writing CCOMPARE1 clears it");
}

#[test]
fn waiti_wakes_on_ccompare_at_exact_cycle() {
    let (mut m, _) = prog(|a| {
        a.waiti(0);
        a.nop();
    });
    m.cpu.write_sr(sr::CCOUNT, 0);
    m.cpu.write_sr(sr::CCOMPARE0, 1_000_000);
    m.cpu.write_sr(sr::INTENABLE, 1 << 6);
    m.run_until(kernel_vec(), 5_000_000);
    assert_eq!(m.cpu.ccount(), 1_000_000, "woken exactly at the match");
    assert_eq!(m.cpu.epc[1], CODE + 3);
    assert_eq!(m.cpu.exccause, cause::LEVEL1_INTERRUPT);
    assert!(m.cpu.instret <= 2);
}
