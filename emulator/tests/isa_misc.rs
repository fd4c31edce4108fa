//! Processor ID, user/misc/debug special registers, ERI access, atomics, barriers,
//! L32R with and without LITBASE, and ALU edge values, against the Xtensa RM.

mod common;

use common::*;
use emulator::regs::{cause, sr, ur};
use emulator::Config;

fn prog_cfg(config: Config, f: impl FnOnce(&mut Asm)) -> (M, u32) {
    let mut a = Asm::new(VECBASE);
    a.org(CODE);
    f(&mut a);
    let end = a.label("end");
    a.nop();
    let mut m = M::with_config(config);
    m.load(&mut a);
    m.hook(end);
    m.hook(kernel_vec());
    m.hook(double_vec());
    (m, end)
}

fn prog(f: impl FnOnce(&mut Asm)) -> (M, u32) {
    prog_cfg(Config::esp32_pro(), f)
}

fn run(f: impl FnOnce(&mut Asm), setup: impl FnOnce(&mut M)) -> M {
    let (mut m, end) = prog(f);
    setup(&mut m);
    m.run_until(end, 1000);
    m
}

#[test]
fn prid_per_core() {
    let (mut m, end) = prog(|a| a.rsr(2, sr::PRID));
    m.run_until(end, 10);
    assert_eq!(m.a(2), 0xCDCD);
    let (mut m, end) = prog_cfg(Config::esp32_app(), |a| a.rsr(2, sr::PRID));
    m.run_until(end, 10);
    assert_eq!(m.a(2), 0xABAB);
}

#[test]
fn threadptr_misc_and_debug_registers() {
    let m = run(
        |a| {
            a.wur(2, ur::THREADPTR);
            a.rur(3, ur::THREADPTR);
            for i in 0..4 {
                a.addi(4, 2, i as i32);
                a.wsr(4, sr::MISC0 + i);
            }
            for (k, r) in [
                (0, sr::IBREAKA0),
                (1, sr::IBREAKA0 + 1),
                (2, sr::DBREAKA0),
                (3, sr::DBREAKA0 + 1),
                (4, sr::DDR),
                (5, sr::ICOUNT),
            ] {
                a.addi(4, 2, 10 + k);
                a.wsr(4, r);
            }
            a.movi(4, -1);
            a.wsr(4, sr::DBREAKC0);
            a.wsr(4, sr::IBREAKENABLE);
            a.wsr(4, sr::ICOUNTLEVEL);
            a.movi(4, 0);
            a.wsr(4, sr::ICOUNTLEVEL);
            a.xsr(4, sr::MISC0 + 3); // a4 <- MISC3, MISC3 <- 0
        },
        |m| m.cpu.set_ar(2, 0x1234_5600),
    );
    assert_eq!(m.a(3), 0x1234_5600);
    assert_eq!(m.a(4), 0x1234_5603);
    for i in 0..3 {
        assert_eq!(m.sr(sr::MISC0 + i), 0x1234_5600 + i);
    }
    assert_eq!(m.sr(sr::MISC0 + 3), 0);
    assert_eq!(m.sr(sr::IBREAKA0), 0x1234_560A);
    assert_eq!(m.sr(sr::IBREAKA0 + 1), 0x1234_560B);
    assert_eq!(m.sr(sr::DBREAKA0), 0x1234_560C);
    assert_eq!(m.sr(sr::DBREAKA0 + 1), 0x1234_560D);
    assert_eq!(m.sr(sr::DDR), 0x1234_560E);
    assert_eq!(m.sr(sr::ICOUNT), 0x1234_560F);
    assert_eq!(
        m.sr(sr::DBREAKC0),
        0xC000_003F,
        "DBREAKC: MASK[5:0], LB, SB"
    );
    assert_eq!(m.sr(sr::IBREAKENABLE), 3, "two IBREAK registers");
    assert_eq!(m.sr(sr::ICOUNTLEVEL), 0);
}

#[test]
fn rer_wer_reach_the_bus() {
    // FlatBus answers ERI accesses with an error: the core reports LoadStoreError with
    // EXCVADDR = the ERI address.
    for write in [false, true] {
        let (mut m, _) = prog(|a| if write { a.wer(3, 2) } else { a.rer(3, 2) });
        m.cpu.set_ar(2, 0x0010_0000);
        m.cpu.set_ar(3, 0x55);
        m.run_until(kernel_vec(), 10);
        assert_eq!(m.cpu.exccause, cause::LOAD_STORE_ERROR, "write={write}");
        assert_eq!(m.cpu.excvaddr, 0x0010_0000);
        assert_eq!(m.a(3), 0x55);
    }
}

#[test]
fn s32c1i_success_and_failure() {
    // RM S32C1I: old <- mem; if old == SCOMPARE1 then mem <- AR[t]; AR[t] <- old.
    let x = DRAM + 0x40;
    let m = run(
        |a| {
            a.movi(4, 7);
            a.wsr(4, sr::SCOMPARE1);
            a.movi(3, 99);
            a.s32c1i(3, 2, 0); // mem 7 == 7: stores 99, a3 <- 7
            a.movi(5, 55);
            a.s32c1i(5, 2, 0); // mem 99 != 7: no store, a5 <- 99
        },
        |m| {
            m.cpu.set_ar(2, x);
            m.poke32(x, 7);
        },
    );
    assert_eq!(m.a(3), 7);
    assert_eq!(m.a(5), 99);
    let mut m = m;
    assert_eq!(m.peek32(x), 99);
}

#[test]
fn l32ai_s32ri_aligned() {
    let x = DRAM + 0x80;
    let mut m = run(
        |a| {
            a.s32ri(3, 2, 4);
            a.l32ai(4, 2, 4);
        },
        |m| {
            m.cpu.set_ar(2, x);
            m.cpu.set_ar(3, 0xCAFE_F00D);
        },
    );
    assert_eq!(m.a(4), 0xCAFE_F00D);
    assert_eq!(m.peek32(x + 4), 0xCAFE_F00D);
}

#[test]
fn barriers_are_no_ops() {
    // ISYNC, RSYNC, ESYNC, DSYNC, EXCW, MEMW, EXTW, NOP, NOP.N: no architectural effect.
    let (mut m, end) = prog(|a| {
        for t in [0, 1, 2, 3, 8, 12, 13] {
            a.sync(t);
        }
        a.nop();
        a.nop_n();
    });
    for i in 0..64 {
        m.cpu.ar[i] = i as u32 * 0x0101_0101;
    }
    let (ar, ps0, sar, ws, wb) = (
        m.cpu.ar,
        m.cpu.ps,
        m.cpu.sar,
        m.cpu.windowstart,
        m.cpu.windowbase,
    );
    m.run_until(end, 20);
    assert_eq!(m.cpu.instret, 9);
    assert_eq!(
        (
            m.cpu.ar,
            m.cpu.ps,
            m.cpu.sar,
            m.cpu.windowstart,
            m.cpu.windowbase
        ),
        (ar, ps0, sar, ws, wb)
    );
}

#[test]
fn l32r_pc_relative_and_litbase() {
    // RM L32R: without extended L32R: vAddr = ((PC + 3) & ~3) + (1^14 || imm16 || 00).
    let mut a = Asm::new(VECBASE);
    a.org(CODE);
    a.j("go");
    a.align(4);
    a.label("lit");
    a.word(0xDEAD_BEEF);
    a.label("go");
    a.l32r(2, "lit");
    a.nop_n(); // odd alignment for the next L32R
    a.l32r(3, "lit");
    let end = a.label("end");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(end);
    m.run_until(end, 10);
    assert_eq!((m.a(2), m.a(3)), (0xDEAD_BEEF, 0xDEAD_BEEF));

    // With the extended L32R option and LITBASE[0] = 1: vAddr = (LITBASE & ~0xFFF) +
    // the same negative offset. The instruction at CODE encodes offset -4 (imm16 = 0xFFFF).
    let config = Config {
        litbase: true,
        ..Config::esp32_pro()
    };
    let (mut m, end) = prog_cfg(config, |a| {
        a.wsr(4, sr::LITBASE);
        a.i24(1 | (2 << 4) | (0xFFFF << 8)); // l32r a2, [base - 4]
        a.movi(4, 0);
        a.wsr(4, sr::LITBASE);
        a.rsr(5, sr::LITBASE);
    });
    m.cpu.set_ar(4, (DRAM + 0x1000) | 1);
    m.poke32(DRAM + 0x1000 - 4, 0x1357_9BDF);
    m.run_until(end, 10);
    assert_eq!(m.a(2), 0x1357_9BDF);
    assert_eq!(m.a(5), 0);
}

#[test]
fn nsa_nsau_min_max_sext_clamps_edges() {
    let cases: [(u32, u32, u32); 8] = [
        // (x, NSA, NSAU)
        (0, 31, 32),
        (u32::MAX, 31, 0),
        (1, 30, 31),
        (0x8000_0000, 0, 0),
        (0x7FFF_FFFF, 0, 1),
        (0xC000_0000, 1, 0),
        (0x0000_FFFF, 15, 16),
        (0xFFFF_0000, 15, 0),
    ];
    for (x, nsa, nsau) in cases {
        let m = run(
            |a| {
                a.nsa(3, 2);
                a.nsau(4, 2);
            },
            |m| m.cpu.set_ar(2, x),
        );
        assert_eq!((m.a(3), m.a(4)), (nsa, nsau), "x={x:#x}");
    }
    let pairs = [
        (0x8000_0000u32, 0x7FFF_FFFFu32),
        (u32::MAX, 0),
        (5, 5),
        (0, 1),
    ];
    for (x, y) in pairs {
        let m = run(
            |a| {
                a.min(4, 2, 3);
                a.max(5, 2, 3);
                a.minu(6, 2, 3);
                a.maxu(7, 2, 3);
            },
            |m| {
                m.cpu.set_ar(2, x);
                m.cpu.set_ar(3, y);
            },
        );
        let (sx, sy) = (x as i32, y as i32);
        assert_eq!(
            (m.a(4), m.a(5), m.a(6), m.a(7)),
            (sx.min(sy) as u32, sx.max(sy) as u32, x.min(y), x.max(y)),
            "{x:#x} {y:#x}"
        );
    }
    // SEXT at bit 7 and 22; CLAMPS to [-2^b, 2^b - 1] at b = 7 and 22.
    for (x, b, sext, clamps) in [
        (0x80u32, 7u32, 0xFFFF_FF80u32, 0x7Fu32),
        (0x7F, 7, 0x7F, 0x7F),
        (0xFFFF_FF80, 7, 0xFFFF_FF80, 0xFFFF_FF80),
        (0xFFFF_FF7F, 7, 0x7F, 0xFFFF_FF80),
        (0x0040_0000, 22, 0xFFC0_0000, 0x003F_FFFF),
        (0x8000_0000, 22, 0, 0xFFC0_0000),
        (0x7FFF_FFFF, 22, 0xFFFF_FFFF, 0x003F_FFFF),
    ] {
        let m = run(
            |a| {
                a.sext(3, 2, b);
                a.clamps(4, 2, b);
            },
            |m| m.cpu.set_ar(2, x),
        );
        assert_eq!((m.a(3), m.a(4)), (sext, clamps), "x={x:#x} b={b}");
    }
}

#[test]
fn shifts_through_sar_including_wsr_values_above_31() {
    // RM: SRC/SRL/SRA/SLL take sa = SAR[5:0] and return bits 31+sa..sa of (AR[s]||AR[t]) /
    // (0||AR[t]) / (sign||AR[t]) / (AR[s]||0); defined up to SAR = 32 (SRL -> 0, SRA ->
    // sign, SLL -> AR[s]), undefined above. WSR SAR keeps six bits.
    let x = 0x8123_4567u32;
    let y = 0x89AB_CDEFu32;
    for sar in [0u32, 1, 8, 31, 32, 33, 40, 63, 64 + 5] {
        let m = run(
            |a| {
                a.wsr(4, sr::SAR);
                a.rsr(9, sr::SAR);
                a.src(5, 2, 3);
                a.srl(6, 3);
                a.sra(7, 2);
                a.sll(8, 2);
            },
            |m| {
                m.cpu.set_ar(2, x);
                m.cpu.set_ar(3, y);
                m.cpu.set_ar(4, sar);
            },
        );
        let s = sar & 63;
        assert_eq!(m.a(9), s, "SAR keeps 6 bits");
        // SAR > 32 is undefined for all four (RM); only WSR's six bits are checked there.
        if s <= 32 {
            let cat = ((x as u64) << 32) | y as u64;
            assert_eq!(m.a(5), (cat >> s) as u32, "SRC sar={sar}");
            assert_eq!(m.a(6), ((y as u64) >> s) as u32, "SRL sar={sar}");
            assert_eq!(m.a(7), ((x as i32 as i64) >> s) as u32, "SRA sar={sar}");
            assert_eq!(m.a(8), (((x as u64) << 32) >> s) as u32, "SLL sar={sar}");
        }
    }
    // SSL/SSR/SSAI and the usual pairing.
    let m = run(
        |a| {
            a.ssl(3);
            a.sll(4, 2);
            a.ssr(3);
            a.srl(5, 2);
            a.ssai(31);
            a.src(6, 2, 2);
            a.movi(7, 0);
            a.ssl(7);
            a.rsr(8, sr::SAR);
            a.sll(9, 2);
        },
        |m| {
            m.cpu.set_ar(2, x);
            m.cpu.set_ar(3, 36); // only 5 bits used: 4
        },
    );
    assert_eq!(m.a(4), x << 4);
    assert_eq!(m.a(5), x >> 4);
    assert_eq!(m.a(6), x.rotate_right(31));
    assert_eq!(m.a(8), 32, "SSL 0 gives SAR 32");
    assert_eq!(m.a(9), x, "SLL by 0");
}
