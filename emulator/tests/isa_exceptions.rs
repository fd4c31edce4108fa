//! Exceptions (Xtensa RM 4.4.1 Exception Option, XEA2): every cause the ESP32 core can
//! raise, the user/kernel/double vectors, RFE/RFDE, BREAK/BREAK.N into the debug vector,
//! and a random-code run that must never panic the host.

mod common;

use common::*;
use emulator::regs::{cause, debugcause, ps, sr, ur};
use emulator::Exit;

type Case = (&'static str, Box<dyn Fn(&mut Asm)>);

/// Program: `f` at CODE followed by a hooked `after`; vectors hooked.
fn prog(f: impl FnOnce(&mut Asm)) -> (M, u32) {
    let mut a = Asm::new(VECBASE);
    a.org(CODE);
    f(&mut a);
    let after = a.label("after");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    for h in [after, kernel_vec(), user_vec(), double_vec(), level_vec(6)] {
        m.hook(h);
    }
    (m, after)
}

/// Runs `f` and expects one general exception at `epc` with `cause` (kernel vector).
fn expect_exc(f: impl FnOnce(&mut Asm), c: u32, setup: impl FnOnce(&mut M)) -> M {
    let (mut m, _) = prog(f);
    setup(&mut m);
    let psv = m.cpu.ps;
    m.run_until(kernel_vec(), 100);
    assert_eq!(m.cpu.exccause, c, "EXCCAUSE");
    assert_ne!(m.cpu.ps & ps::EXCM, 0, "EXCM set");
    assert_eq!(
        m.cpu.ps & !ps::EXCM,
        psv & !ps::EXCM,
        "only EXCM changes in PS"
    );
    m
}

#[test]
fn illegal_instructions() {
    // RM: IllegalInstructionCause (0) for ILL, ILL.N, encodings not in the configuration
    // (the ESP32 has no cache option: op0=2 r=7; no XEA1: RFUE; no RFME), and SR/UR
    // accesses that do not exist (RSR INTCLEAR, WSR PRID, RSR/WSR LITBASE without the
    // extended L32R option).
    let cases: Vec<Case> = vec![
        ("ill", Box::new(|a: &mut Asm| a.ill())),
        ("ill.n", Box::new(|a: &mut Asm| a.ill_n())),
        (
            "cache op (dhwb a2, 0)",
            Box::new(|a: &mut Asm| a.i24(rri8(2, 7, 2, 4, 0))),
        ),
        (
            "cache op (iii)",
            Box::new(|a: &mut Asm| a.i24(rri8(2, 7, 2, 13, 0))),
        ),
        ("rfue", Box::new(|a: &mut Asm| a.rfue())),
        ("rfme", Box::new(|a: &mut Asm| a.i24(rrr(0, 0, 0, 3, 0, 2)))),
        (
            "undefined st0 op2=7",
            Box::new(|a: &mut Asm| a.i24(rrr(0, 0, 7, 1, 2, 3))),
        ),
        (
            "rsr intclear",
            Box::new(|a: &mut Asm| a.rsr(2, sr::INTCLEAR)),
        ),
        ("wsr prid", Box::new(|a: &mut Asm| a.wsr(2, sr::PRID))),
        (
            "wsr configid0",
            Box::new(|a: &mut Asm| a.wsr(2, sr::CONFIGID0)),
        ),
        ("rsr litbase", Box::new(|a: &mut Asm| a.rsr(2, sr::LITBASE))),
        ("wsr litbase", Box::new(|a: &mut Asm| a.wsr(2, sr::LITBASE))),
        ("rsr sr 200 (none)", Box::new(|a: &mut Asm| a.rsr(2, 200))),
        (
            "xsr interrupt",
            Box::new(|a: &mut Asm| a.xsr(2, sr::INTERRUPT)),
        ),
        ("rur 0 (none)", Box::new(|a: &mut Asm| a.rur(2, 0))),
        ("rfi 1", Box::new(|a: &mut Asm| a.rfi(1))),
    ];
    for (what, f) in cases {
        let (mut m, _) = prog(|a| f(a));
        m.cpu.set_ar(2, 0x5555);
        m.run_until(kernel_vec(), 10);
        assert_eq!(m.cpu.exccause, cause::ILLEGAL, "{what}");
        assert_eq!(m.cpu.epc[1], CODE, "{what}");
        assert_ne!(m.cpu.ps & ps::EXCM, 0, "{what}");
        assert_eq!(m.a(2), 0x5555, "{what}: no side effect");
    }
}

#[test]
fn user_vs_kernel_vector_by_ps_um() {
    // RM: with PS.UM = 1 general exceptions go to UserExceptionVector (+0x340), else to
    // KernelExceptionVector (+0x300). PS.UM itself is left as it was.
    let (mut m, _) = prog(|a| a.syscall());
    m.cpu.ps = ps::WOE | ps::UM;
    m.run_until(user_vec(), 10);
    assert_eq!(m.cpu.exccause, cause::SYSCALL);
    assert_eq!(m.cpu.epc[1], CODE, "EPC1 = the SYSCALL itself");
    assert_eq!(m.cpu.ps, ps::WOE | ps::UM | ps::EXCM);
    let (mut m, _) = prog(|a| a.syscall());
    m.run_until(kernel_vec(), 10);
    assert_eq!(m.cpu.exccause, cause::SYSCALL);
}

#[test]
fn integer_divide_by_zero_all_four() {
    // RM QUOU/QUOS/REMU/REMS: AR[t] = 0 -> IntegerDivideByZeroCause (6); AR[r] unchanged.
    type Emit = fn(&mut Asm, u32, u32, u32);
    let ops: [(&str, Emit); 4] = [
        ("quou", Asm::quou),
        ("quos", Asm::quos),
        ("remu", Asm::remu),
        ("rems", Asm::rems),
    ];
    for (what, op) in ops {
        let m = expect_exc(
            |a| op(a, 4, 2, 3),
            cause::INTEGER_DIVIDE_BY_ZERO,
            |m| {
                m.cpu.set_ar(2, 100);
                m.cpu.set_ar(3, 0);
                m.cpu.set_ar(4, 0xAAAA);
            },
        );
        assert_eq!(m.cpu.epc[1], CODE, "{what}");
        assert_eq!(m.a(4), 0xAAAA, "{what}");
    }
    // And the signed overflow case is not an exception: 0x80000000 / -1.
    let (mut m, after) = prog(|a| {
        a.quos(4, 2, 3);
        a.rems(5, 2, 3);
    });
    m.cpu.set_ar(2, 0x8000_0000);
    m.cpu.set_ar(3, u32::MAX);
    m.run_until(after, 10);
    assert_eq!((m.a(4), m.a(5)), (0x8000_0000, 0));
}

#[test]
fn instr_fetch_error_for_unmapped_code() {
    // RM: InstrFetchErrorCause (2); EPC1 = EXCVADDR = the address fetched.
    let target = 0x5000_1000;
    let m = expect_exc(
        |a| a.jx(2),
        cause::INSTR_FETCH_ERROR,
        |m| m.cpu.set_ar(2, target),
    );
    assert_eq!(m.cpu.epc[1], target);
    assert_eq!(m.cpu.excvaddr, target);
}

#[test]
fn load_store_error_for_unmapped_and_readonly() {
    // RM: LoadStoreErrorCause (3), EXCVADDR = the data address.
    let bad = 0x5000_0010;
    let m = expect_exc(
        |a| a.l32i(3, 2, 8),
        cause::LOAD_STORE_ERROR,
        |m| m.cpu.set_ar(2, bad),
    );
    assert_eq!((m.cpu.excvaddr, m.cpu.epc[1]), (bad + 8, CODE));
    let m = expect_exc(
        |a| a.s32i(3, 2, 4),
        cause::LOAD_STORE_ERROR,
        |m| m.cpu.set_ar(2, bad),
    );
    assert_eq!(m.cpu.excvaddr, bad + 4);
    let m = expect_exc(
        |a| a.l8ui(3, 2, 1),
        cause::LOAD_STORE_ERROR,
        |m| m.cpu.set_ar(2, bad),
    );
    assert_eq!(m.cpu.excvaddr, bad + 1);
    // A read-only region (FlatBus AccessError) also reports LoadStoreError.
    let (mut m, _) = prog(|a| a.s32i(3, 2, 0));
    m.bus.flat.add_region(0x3F40_0000, &[0; 64], false);
    m.cpu.set_ar(2, 0x3F40_0000);
    m.run_until(kernel_vec(), 10);
    assert_eq!(
        (m.cpu.exccause, m.cpu.excvaddr),
        (cause::LOAD_STORE_ERROR, 0x3F40_0000)
    );
}

#[test]
fn region_protection_attribute_15_prohibits() {
    // RM 4.6.3 Region Protection: attribute 15 (illegal) in the DTLB/ITLB entry of a
    // 512 MiB region -> LoadProhibited (28) / StoreProhibited (29) / InstFetchProhibited
    // (20), with EXCVADDR.
    let x = XRAM + 0x20;
    let setup = |m: &mut M| {
        m.cpu.set_ar(2, XRAM);
        m.cpu.set_ar(3, 15);
        m.cpu.set_ar(4, x);
    };
    let m = expect_exc(
        |a| {
            a.wdtlb(3, 2);
            a.sync(3);
            a.l32i(5, 4, 0);
        },
        cause::LOAD_PROHIBITED,
        setup,
    );
    assert_eq!((m.cpu.excvaddr, m.cpu.epc[1]), (x, CODE + 6));
    let m = expect_exc(
        |a| {
            a.wdtlb(3, 2);
            a.sync(3);
            a.s32i(5, 4, 0);
        },
        cause::STORE_PROHIBITED,
        setup,
    );
    assert_eq!(m.cpu.excvaddr, x);
    let m = expect_exc(
        |a| {
            a.witlb(3, 2);
            a.sync(0);
            a.jx(4);
        },
        cause::INST_FETCH_PROHIBITED,
        setup,
    );
    assert_eq!((m.cpu.excvaddr, m.cpu.epc[1]), (x, x));
    // Attribute 2 again lifts it.
    let (mut m, after) = prog(|a| {
        a.wdtlb(3, 2);
        a.movi(3, 2);
        a.wdtlb(3, 2);
        a.l32i(5, 4, 0);
    });
    setup(&mut m);
    m.poke32(x, 0xFEED);
    m.run_until(after, 10);
    assert_eq!(m.a(5), 0xFEED);
}

#[test]
fn alignment_of_atomic_accesses() {
    // L32AI, S32RI, S32C1I to an address that is not 0 mod 4 -> LoadStoreAlignmentCause
    // (9) with EXCVADDR (see the report: the ESP32's core-isa.h says "no unaligned
    // exception, unaligned handled in hardware", which the ISA leaves open for these).
    let addr = DRAM + 0x102;
    type Emit = fn(&mut Asm, u32, u32, u32);
    let ops: [(&str, Emit); 3] = [
        ("l32ai", Asm::l32ai),
        ("s32ri", Asm::s32ri),
        ("s32c1i", Asm::s32c1i),
    ];
    for (what, op) in ops {
        let m = expect_exc(
            |a| op(a, 3, 2, 0),
            cause::LOAD_STORE_ALIGNMENT,
            |m| {
                m.cpu.set_ar(2, addr);
                m.cpu.set_ar(3, 0x77);
            },
        );
        assert_eq!(m.cpu.excvaddr, addr, "{what}");
        assert_eq!(m.a(3), 0x77, "{what}");
    }
    // Ordinary L32I/S32I unaligned are handled in hardware on the ESP32: no exception.
    let (mut m, after) = prog(|a| {
        a.s32i(3, 2, 0);
        a.l32i(4, 2, 0);
    });
    m.cpu.set_ar(2, addr);
    m.cpu.set_ar(3, 0x1122_3344);
    m.run_until(after, 10);
    assert_eq!(m.a(4), 0x1122_3344);
}

#[test]
fn coprocessor0_disabled() {
    // RM 4.4.6 Coprocessor Option: a CP0 instruction with CPENABLE[0] = 0 ->
    // Coprocessor0Disabled (32). Covers FP arithmetic, FP loads/stores and FCR/FSR.
    let cases: Vec<Case> = vec![
        ("add.s", Box::new(|a: &mut Asm| a.add_s(1, 2, 3))),
        ("lsi", Box::new(|a: &mut Asm| a.lsi(1, 2, 0))),
        ("ssi", Box::new(|a: &mut Asm| a.ssi(1, 2, 0))),
        ("rur fcr", Box::new(|a: &mut Asm| a.rur(3, ur::FCR))),
        ("wur fsr", Box::new(|a: &mut Asm| a.wur(3, ur::FSR))),
    ];
    for (what, f) in cases {
        let (mut m, _) = prog(|a| f(a));
        m.cpu.set_ar(2, DRAM);
        m.run_until(kernel_vec(), 10);
        assert_eq!(m.cpu.exccause, cause::COPROCESSOR0_DISABLED, "{what}");
        assert_eq!(m.cpu.epc[1], CODE, "{what}");
    }
    // Enabled: LSI/SSI move the bits; THREADPTR is not CP-gated.
    let (mut m, after) = prog(|a| {
        a.lsi(1, 2, 4);
        a.ssi(1, 2, 8);
        a.wur(3, ur::THREADPTR);
    });
    m.cpu.cpenable = 1;
    m.cpu.set_ar(2, DRAM);
    m.poke32(DRAM + 4, 0x3F80_0000);
    m.run_until(after, 10);
    assert_eq!(m.cpu.fr[1], 0x3F80_0000);
    assert_eq!(m.peek32(DRAM + 8), 0x3F80_0000);
    let (mut m, after) = prog(|a| a.wur(3, ur::THREADPTR));
    m.cpu.set_ar(3, 0xABCD);
    m.run_until(after, 10);
    assert_eq!(m.cpu.threadptr, 0xABCD);
}

#[test]
fn double_exception_and_rfde() {
    // RM XEA2: an exception while PS.EXCM = 1 -> DEPC <- PC, EXCCAUSE set, EPC1 kept,
    // DoubleExceptionVector (+0x3C0). RFDE returns to DEPC and leaves PS.EXCM set.
    let mut a = Asm::new(VECBASE);
    a.org(double_vec());
    a.rsr(5, sr::DEPC);
    a.addi(5, 5, 3);
    a.wsr(5, sr::DEPC);
    a.rfde();
    a.org(CODE);
    a.ill();
    a.label("after");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(double_vec());
    m.hook(a.addr("after"));
    m.cpu.ps = ps::WOE | ps::EXCM;
    m.cpu.epc[1] = 0x1234_5678;
    m.run_until(double_vec(), 10);
    assert_eq!(m.cpu.depc, CODE);
    assert_eq!(m.cpu.exccause, cause::ILLEGAL);
    assert_eq!(
        m.cpu.epc[1], 0x1234_5678,
        "EPC1 untouched by a double exception"
    );
    m.cpu.step_over_hook(double_vec());
    m.run_until(a.addr("after"), 10);
    assert_ne!(m.cpu.ps & ps::EXCM, 0, "RFDE does not clear EXCM");
}

#[test]
fn rfe_returns_and_clears_excm() {
    // A SYSCALL handler that skips the SYSCALL (EPC1 += 3) and RFEs.
    let mut a = Asm::new(VECBASE);
    a.org(kernel_vec());
    a.rsr(5, sr::EPC1);
    a.addi(5, 5, 3);
    a.wsr(5, sr::EPC1);
    a.rsr(6, sr::PS);
    a.rfe();
    a.org(CODE);
    a.syscall();
    a.label("after");
    a.rsr(7, sr::PS);
    a.label("end");
    a.nop();
    let mut m = M::new();
    m.load(&mut a);
    m.hook(a.addr("end"));
    m.cpu.ps = ps::WOE | 2;
    m.run_until(a.addr("end"), 20);
    assert_eq!(m.a(6), ps::WOE | ps::EXCM | 2, "handler ran with EXCM");
    assert_eq!(m.a(7), ps::WOE | 2, "RFE cleared EXCM only");
}

#[test]
fn break_enters_debug_vector() {
    // RM 4.7.7 Debug Option: BREAK/BREAK.N with PS.INTLEVEL < DEBUGLEVEL (6) ->
    // DEBUGCAUSE.BI (bit 3) / BN (bit 4), EPC6 <- PC, EPS6 <- PS, PS.INTLEVEL <- 6,
    // PS.EXCM <- 1, vector VECBASE + 0x180 + 4*0x40. RFI 6 returns.
    for narrow in [false, true] {
        let mut a = Asm::new(VECBASE);
        a.org(level_vec(6));
        a.rsr(5, sr::EPC1 + 5);
        a.addi(5, 5, if narrow { 2 } else { 3 });
        a.wsr(5, sr::EPC1 + 5);
        a.rfi(6);
        a.org(CODE);
        if narrow {
            a.break_n(1);
        } else {
            a.brk(1, 2);
        }
        a.label("after");
        a.rsr(7, sr::PS);
        a.label("end");
        a.nop();
        let mut m = M::new();
        m.load(&mut a);
        m.hook(level_vec(6));
        m.hook(a.addr("end"));
        m.cpu.ps = ps::WOE | 3;
        m.run_until(level_vec(6), 10);
        let bit = if narrow {
            debugcause::BREAKN
        } else {
            debugcause::BREAK
        };
        assert_eq!(m.sr(sr::DEBUGCAUSE) & 0x3F, bit, "narrow={narrow}");
        assert_eq!(m.cpu.epc[6], CODE);
        assert_eq!(m.cpu.eps[6], ps::WOE | 3);
        assert_eq!(m.cpu.ps & (ps::INTLEVEL | ps::EXCM), 6 | ps::EXCM);
        m.cpu.step_over_hook(level_vec(6));
        m.run_until(a.addr("end"), 10);
        assert_eq!(m.a(7), ps::WOE | 3, "RFI 6 restored PS");
    }
}

#[test]
fn break_ignored_at_intlevel_6_or_more() {
    for level in [6, 7, 15] {
        let (mut m, after) = prog(|a| {
            a.brk(0, 0);
            a.break_n(0);
        });
        m.cpu.ps = ps::WOE | level;
        m.run_until(after, 10);
        assert_eq!(m.cpu.epc[6], 0, "level {level}");
    }
    // But below 6, even with EXCM set, BREAK is taken (debug is above EXCMLEVEL).
    let (mut m, _) = prog(|a| a.brk(0, 0));
    m.cpu.ps = ps::WOE | ps::EXCM | 5;
    m.run_until(level_vec(6), 10);
}

/// xorshift64*, enough for test inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_code_never_panics_the_host() {
    // Thousands of random 24-bit words as code, with window and exception vectors present
    // (handlers that skip the faulting instruction), random register file and window
    // state, a few interrupt sources armed. Anything may happen except a host panic.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut words = 0usize;
    for round in 0..300 {
        let mut a = Asm::new(VECBASE);
        window_vectors(&mut a);
        for l in 2..=7 {
            a.org(level_vec(l));
            a.rfi(l);
        }
        for v in [kernel_vec(), user_vec()] {
            a.org(v);
            a.rsr(2, sr::EPC1);
            a.addi(2, 2, 3);
            a.wsr(2, sr::EPC1);
            a.rfe();
        }
        a.org(double_vec());
        a.rsr(2, sr::DEPC);
        a.addi(2, 2, 3);
        a.wsr(2, sr::DEPC);
        a.rfde();
        a.org(CODE);
        let n = 1000;
        for _ in 0..n {
            a.i24(rng.next() as u32 & 0xFF_FFFF);
        }
        words += n;
        let mut m = M::new();
        m.load(&mut a);
        for i in 0..64 {
            let r = rng.next();
            m.cpu.ar[i] = match r % 4 {
                0 => DRAM + (r >> 8) as u32 % DRAM_SIZE as u32,
                1 => CODE + (r >> 8) as u32 % 3000,
                2 => (r >> 8) as u32 % 64,
                _ => (r >> 16) as u32,
            };
        }
        m.cpu.windowbase = (rng.next() % 16) as u32;
        m.cpu.windowstart = (rng.next() as u32 & 0xFFFF) | (1 << m.cpu.windowbase);
        m.cpu.ps = (rng.next() as u32) & ps::MASK & !ps::RING;
        m.cpu.intenable = rng.next() as u32;
        m.cpu.cpenable = (rng.next() & 1) as u32;
        m.cpu.write_sr(sr::CCOMPARE0, (rng.next() % 5000) as u32);
        m.bus.lines = if round % 3 == 0 { rng.next() as u32 } else { 0 };
        m.cpu.pc = CODE + (rng.next() % 64) as u32;
        // A few slices so budget boundaries fall everywhere.
        for _ in 0..4 {
            let exit = m.cpu.run(&mut m.bus, 500 + rng.next() % 1500);
            assert!(!matches!(exit, Exit::Hook(_)), "no hooks planted");
        }
        // Stepping too.
        for _ in 0..200 {
            m.cpu.step(&mut m.bus);
        }
    }
    assert!(words >= 100_000);
}
