//! Shared helpers for the ISA edge-case tests: a tiny hand encoder with labels (formats
//! from the header of `decode.rs`), a machine made of a core and a [`FlatBus`], and a bus
//! wrapper whose interrupt lines the test drives.
#![allow(dead_code)]

use emulator::bus::{Bus, MemFault};
use emulator::codecache::CodeCache;
use emulator::regs::{ps, sr};
use emulator::{Config, Cpu, Exit, FlatBus};
use std::collections::HashMap;

/// Code RAM; VECBASE points at its start, ordinary code starts at `CODE`.
pub const IRAM: u32 = 0x4008_0000;
pub const VECBASE: u32 = IRAM;
pub const CODE: u32 = IRAM + 0x400;
/// Data RAM and the initial stack pointer (top of it, minus room for a fake caller).
pub const DRAM: u32 = 0x3FFB_0000;
pub const DRAM_SIZE: usize = 0x1_0000;
pub const STACK_TOP: u32 = DRAM + 0xF000;
/// A second RAM in 512 MiB region 3, for region-protection tests.
pub const XRAM: u32 = 0x6000_0000;

// ------------------------------------------------------------------ encoder

#[derive(Clone, Copy)]
enum Fix {
    Call(u32),
    J,
    Bri12,
    Bri8,
    Loop,
    L32r,
    Word,
}

/// Emits instructions at increasing addresses from `base`; labels may be used before
/// they are defined.
pub struct Asm {
    pub base: u32,
    pub bytes: Vec<u8>,
    labels: HashMap<String, u32>,
    fixups: Vec<(usize, String, Fix)>,
}

pub const fn rrr(op0: u32, op1: u32, op2: u32, r: u32, s: u32, t: u32) -> u32 {
    op0 | (t << 4) | (s << 8) | (r << 12) | (op1 << 16) | (op2 << 20)
}

pub const fn rri8(op0: u32, r: u32, s: u32, t: u32, imm8: u32) -> u32 {
    op0 | (t << 4) | (s << 8) | (r << 12) | ((imm8 & 0xFF) << 16)
}

impl Asm {
    pub fn new(base: u32) -> Asm {
        Asm {
            base,
            bytes: Vec::new(),
            labels: HashMap::new(),
            fixups: Vec::new(),
        }
    }

    pub fn here(&self) -> u32 {
        self.base + self.bytes.len() as u32
    }

    pub fn label(&mut self, name: &str) -> u32 {
        let a = self.here();
        assert!(
            self.labels.insert(name.to_string(), a).is_none(),
            "label {name} twice"
        );
        a
    }

    pub fn addr(&self, name: &str) -> u32 {
        *self
            .labels
            .get(name)
            .unwrap_or_else(|| panic!("no label {name}"))
    }

    /// Pads with zero bytes (ILL) up to `addr`.
    pub fn org(&mut self, addr: u32) {
        assert!(addr >= self.here(), "org backwards to {addr:#x}");
        while self.here() < addr {
            self.bytes.push(0);
        }
    }

    pub fn align(&mut self, n: u32) {
        while !self.here().is_multiple_of(n) {
            self.bytes.push(0);
        }
    }

    pub fn i24(&mut self, w: u32) {
        self.bytes.extend_from_slice(&w.to_le_bytes()[..3]);
    }

    pub fn i16(&mut self, w: u32) {
        self.bytes.extend_from_slice(&(w as u16).to_le_bytes());
    }

    pub fn word(&mut self, w: u32) {
        self.bytes.extend_from_slice(&w.to_le_bytes());
    }

    /// A 32-bit literal holding the address of `label`.
    pub fn word_of(&mut self, label: &str) {
        self.fixups
            .push((self.bytes.len(), label.to_string(), Fix::Word));
        self.word(0);
    }

    fn fix24(&mut self, w: u32, label: &str, kind: Fix) {
        self.fixups
            .push((self.bytes.len(), label.to_string(), kind));
        self.i24(w);
    }

    /// Resolves label references and returns the bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        for (off, name, kind) in std::mem::take(&mut self.fixups) {
            let pc = self.base + off as u32;
            let target = self.addr(&name);
            let mut w = u32::from_le_bytes([
                self.bytes[off],
                self.bytes[off + 1],
                self.bytes.get(off + 2).copied().unwrap_or(0),
                self.bytes.get(off + 3).copied().unwrap_or(0),
            ]);
            let rel = target.wrapping_sub(pc.wrapping_add(4)) as i32;
            match kind {
                Fix::Call(_) => {
                    assert_eq!(target & 3, 0, "call target {name} not 4-aligned");
                    let d = target.wrapping_sub((pc & !3) + 4) as i32 >> 2;
                    assert!((-(1 << 17)..(1 << 17)).contains(&d));
                    w |= ((d as u32) & 0x3FFFF) << 6;
                }
                Fix::J => {
                    assert!((-(1 << 17)..(1 << 17)).contains(&rel));
                    w |= ((rel as u32) & 0x3FFFF) << 6;
                }
                Fix::Bri12 => {
                    assert!(
                        (-2048..2048).contains(&rel),
                        "branch to {name} out of range"
                    );
                    w |= ((rel as u32) & 0xFFF) << 12;
                }
                Fix::Bri8 => {
                    assert!((-128..128).contains(&rel), "branch to {name} out of range");
                    w |= ((rel as u32) & 0xFF) << 16;
                }
                Fix::Loop => {
                    assert!((0..256).contains(&rel), "loop end {name} out of range");
                    w |= (rel as u32) << 16;
                }
                Fix::L32r => {
                    let d = target.wrapping_sub((pc + 3) & !3) as i32;
                    assert!(
                        d < 0 && d % 4 == 0 && d >= -(1 << 18),
                        "literal {name} placement"
                    );
                    w |= (((d >> 2) as u32) & 0xFFFF) << 8;
                }
                Fix::Word => w = target,
            }
            let n = if matches!(kind, Fix::Word) { 4 } else { 3 };
            self.bytes[off..off + n].copy_from_slice(&w.to_le_bytes()[..n]);
        }
        self.bytes.clone()
    }

    // ---- arithmetic
    pub fn add(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 0, 8, r, s, t))
    }
    pub fn sub(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 0, 12, r, s, t))
    }
    pub fn and(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 0, 1, r, s, t))
    }
    pub fn or(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 0, 2, r, s, t))
    }
    pub fn xor(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 0, 3, r, s, t))
    }
    pub fn mov(&mut self, r: u32, s: u32) {
        self.or(r, s, s)
    }
    pub fn mov_n(&mut self, t: u32, s: u32) {
        self.i16(0xD | (t << 4) | (s << 8))
    }
    pub fn addi(&mut self, t: u32, s: u32, imm: i32) {
        assert!((-128..128).contains(&imm));
        self.i24(rri8(2, 12, s, t, imm as u32))
    }
    pub fn movi(&mut self, t: u32, imm: i32) {
        assert!((-2048..2048).contains(&imm), "movi {imm} out of range");
        let v = imm as u32 & 0xFFF;
        self.i24(rri8(2, 10, v >> 8, t, v & 0xFF))
    }
    pub fn slli(&mut self, r: u32, s: u32, sh: u32) {
        let f = 32 - sh;
        self.i24(rrr(0, 1, f >> 4, r, s, f & 15))
    }
    pub fn srli(&mut self, r: u32, t: u32, sh: u32) {
        self.i24(rrr(0, 1, 4, r, sh, t))
    }
    pub fn srai(&mut self, r: u32, t: u32, sh: u32) {
        self.i24(rrr(0, 1, 2 | (sh >> 4), r, sh & 15, t))
    }
    pub fn src(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 1, 8, r, s, t))
    }
    pub fn srl(&mut self, r: u32, t: u32) {
        self.i24(rrr(0, 1, 9, r, 0, t))
    }
    pub fn sll(&mut self, r: u32, s: u32) {
        self.i24(rrr(0, 1, 10, r, s, 0))
    }
    pub fn sra(&mut self, r: u32, t: u32) {
        self.i24(rrr(0, 1, 11, r, 0, t))
    }
    pub fn ssr(&mut self, s: u32) {
        self.i24(rrr(0, 0, 4, 0, s, 0))
    }
    pub fn ssl(&mut self, s: u32) {
        self.i24(rrr(0, 0, 4, 1, s, 0))
    }
    pub fn ssai(&mut self, sa: u32) {
        self.i24(rrr(0, 0, 4, 4, sa & 15, sa >> 4))
    }
    pub fn nsa(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 4, 14, s, t))
    }
    pub fn nsau(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 4, 15, s, t))
    }
    pub fn min(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 3, 4, r, s, t))
    }
    pub fn max(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 3, 5, r, s, t))
    }
    pub fn minu(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 3, 6, r, s, t))
    }
    pub fn maxu(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 3, 7, r, s, t))
    }
    pub fn sext(&mut self, r: u32, s: u32, bit: u32) {
        self.i24(rrr(0, 3, 2, r, s, bit - 7))
    }
    pub fn clamps(&mut self, r: u32, s: u32, bit: u32) {
        self.i24(rrr(0, 3, 3, r, s, bit - 7))
    }
    pub fn quou(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 2, 12, r, s, t))
    }
    pub fn quos(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 2, 13, r, s, t))
    }
    pub fn remu(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 2, 14, r, s, t))
    }
    pub fn rems(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 2, 15, r, s, t))
    }

    // ---- loads / stores
    pub fn l32i(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(2, 2, s, t, off / 4))
    }
    pub fn s32i(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(2, 6, s, t, off / 4))
    }
    pub fn l8ui(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(2, 0, s, t, off))
    }
    pub fn l32ai(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(2, 11, s, t, off / 4))
    }
    pub fn s32ri(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(2, 15, s, t, off / 4))
    }
    pub fn s32c1i(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(2, 14, s, t, off / 4))
    }
    pub fn l32e(&mut self, t: u32, s: u32, off: i32) {
        assert!((-64..0).contains(&off) && off % 4 == 0);
        self.i24(rrr(0, 9, 0, ((off + 64) / 4) as u32, s, t))
    }
    pub fn s32e(&mut self, t: u32, s: u32, off: i32) {
        assert!((-64..0).contains(&off) && off % 4 == 0);
        self.i24(rrr(0, 9, 4, ((off + 64) / 4) as u32, s, t))
    }
    pub fn l32r(&mut self, t: u32, label: &str) {
        self.fix24(1 | (t << 4), label, Fix::L32r)
    }

    // ---- control flow
    pub fn j(&mut self, label: &str) {
        self.fix24(6, label, Fix::J)
    }
    pub fn jx(&mut self, s: u32) {
        self.i24(rrr(0, 0, 0, 0, s, 10))
    }
    pub fn call(&mut self, n: u32, label: &str) {
        self.fix24(5 | (n << 4), label, Fix::Call(n))
    }
    pub fn callx(&mut self, n: u32, s: u32) {
        self.i24(rrr(0, 0, 0, 0, s, 12 | n))
    }
    pub fn ret(&mut self) {
        self.i24(0x80)
    }
    pub fn retw(&mut self) {
        self.i24(0x90)
    }
    pub fn retw_n(&mut self) {
        self.i16(0xF01D)
    }
    pub fn entry(&mut self, s: u32, size: u32) {
        assert_eq!(size % 8, 0);
        self.i24(0x36 | (s << 8) | ((size / 8) << 12))
    }
    pub fn movsp(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 0, 1, s, t))
    }
    pub fn rotw(&mut self, n: i32) {
        self.i24(rrr(0, 0, 4, 8, 0, (n as u32) & 15))
    }
    fn bri12(&mut self, m: u32, s: u32, label: &str) {
        self.fix24(6 | (1 << 4) | (m << 6) | (s << 8), label, Fix::Bri12)
    }
    pub fn beqz(&mut self, s: u32, l: &str) {
        self.bri12(0, s, l)
    }
    pub fn bnez(&mut self, s: u32, l: &str) {
        self.bri12(1, s, l)
    }
    pub fn bltz(&mut self, s: u32, l: &str) {
        self.bri12(2, s, l)
    }
    pub fn bgez(&mut self, s: u32, l: &str) {
        self.bri12(3, s, l)
    }
    /// BEQI/BNEI/BLTI/BGEI with `m` = 0..3 and the B4CONST index `r`.
    pub fn bxxi(&mut self, m: u32, s: u32, r: u32, label: &str) {
        self.fix24(
            6 | (2 << 4) | (m << 6) | (s << 8) | (r << 12),
            label,
            Fix::Bri8,
        )
    }
    /// BEQI with a constant from B4CONST.
    pub fn beqi(&mut self, s: u32, c: i32, l: &str) {
        let r = emulator::decode::B4CONST
            .iter()
            .position(|&x| x == c)
            .expect("b4const") as u32;
        self.bxxi(0, s, r, l)
    }
    pub fn bnei(&mut self, s: u32, c: i32, l: &str) {
        let r = emulator::decode::B4CONST
            .iter()
            .position(|&x| x == c)
            .expect("b4const") as u32;
        self.bxxi(1, s, r, l)
    }
    fn rrr_branch(&mut self, r: u32, s: u32, t: u32, label: &str) {
        self.fix24(7 | (t << 4) | (s << 8) | (r << 12), label, Fix::Bri8)
    }
    pub fn beq(&mut self, s: u32, t: u32, l: &str) {
        self.rrr_branch(1, s, t, l)
    }
    pub fn bne(&mut self, s: u32, t: u32, l: &str) {
        self.rrr_branch(9, s, t, l)
    }
    pub fn loop_(&mut self, s: u32, l: &str) {
        self.fix24(0x76 | (s << 8) | (8 << 12), l, Fix::Loop)
    }
    pub fn loopnez(&mut self, s: u32, l: &str) {
        self.fix24(0x76 | (s << 8) | (9 << 12), l, Fix::Loop)
    }
    pub fn loopgtz(&mut self, s: u32, l: &str) {
        self.fix24(0x76 | (s << 8) | (10 << 12), l, Fix::Loop)
    }

    // ---- system
    pub fn rsr(&mut self, t: u32, sr: u32) {
        self.i24(rrr(0, 3, 0, sr >> 4, sr & 15, t))
    }
    pub fn wsr(&mut self, t: u32, sr: u32) {
        self.i24(rrr(0, 3, 1, sr >> 4, sr & 15, t))
    }
    pub fn xsr(&mut self, t: u32, sr: u32) {
        self.i24(rrr(0, 1, 6, sr >> 4, sr & 15, t))
    }
    pub fn rur(&mut self, r: u32, ur: u32) {
        self.i24(rrr(0, 3, 14, r, ur >> 4, ur & 15))
    }
    pub fn wur(&mut self, t: u32, ur: u32) {
        self.i24(rrr(0, 3, 15, ur >> 4, ur & 15, t))
    }
    pub fn rsil(&mut self, t: u32, level: u32) {
        self.i24(rrr(0, 0, 0, 6, level, t))
    }
    pub fn waiti(&mut self, level: u32) {
        self.i24(rrr(0, 0, 0, 7, level, 0))
    }
    pub fn rfe(&mut self) {
        self.i24(rrr(0, 0, 0, 3, 0, 0))
    }
    pub fn rfue(&mut self) {
        self.i24(rrr(0, 0, 0, 3, 1, 0))
    }
    pub fn rfde(&mut self) {
        self.i24(rrr(0, 0, 0, 3, 2, 0))
    }
    pub fn rfwo(&mut self) {
        self.i24(rrr(0, 0, 0, 3, 4, 0))
    }
    pub fn rfwu(&mut self) {
        self.i24(rrr(0, 0, 0, 3, 5, 0))
    }
    pub fn rfi(&mut self, level: u32) {
        self.i24(rrr(0, 0, 0, 3, level, 1))
    }
    pub fn brk(&mut self, s: u32, t: u32) {
        self.i24(rrr(0, 0, 0, 4, s, t))
    }
    pub fn break_n(&mut self, s: u32) {
        self.i16(0xF02D | (s << 8))
    }
    pub fn syscall(&mut self) {
        self.i24(rrr(0, 0, 0, 5, 0, 0))
    }
    pub fn ill(&mut self) {
        self.i24(0)
    }
    pub fn ill_n(&mut self) {
        self.i16(0xF06D)
    }
    pub fn nop(&mut self) {
        self.i24(rrr(0, 0, 0, 2, 0, 15))
    }
    pub fn nop_n(&mut self) {
        self.i16(0xF03D)
    }
    /// ISYNC 0, RSYNC 1, ESYNC 2, DSYNC 3, EXCW 8, MEMW 12, EXTW 13.
    pub fn sync(&mut self, t: u32) {
        self.i24(rrr(0, 0, 0, 2, 0, t))
    }
    pub fn rer(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 4, 6, s, t))
    }
    pub fn wer(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 4, 7, s, t))
    }
    pub fn witlb(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 5, 6, s, t))
    }
    pub fn wdtlb(&mut self, t: u32, s: u32) {
        self.i24(rrr(0, 0, 5, 14, s, t))
    }

    // ---- FP (CP0)
    pub fn add_s(&mut self, r: u32, s: u32, t: u32) {
        self.i24(rrr(0, 10, 0, r, s, t))
    }
    pub fn lsi(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(3, 0, s, t, off / 4))
    }
    pub fn ssi(&mut self, t: u32, s: u32, off: u32) {
        self.i24(rri8(3, 4, s, t, off / 4))
    }
}

// ------------------------------------------------------------------ machine

/// A FlatBus whose external interrupt lines the test sets.
pub struct LineBus {
    pub flat: FlatBus,
    pub lines: u32,
}

impl Bus for LineBus {
    fn read8(&mut self, a: u32) -> Result<u8, MemFault> {
        self.flat.read8(a)
    }
    fn read16(&mut self, a: u32) -> Result<u16, MemFault> {
        self.flat.read16(a)
    }
    fn read32(&mut self, a: u32) -> Result<u32, MemFault> {
        self.flat.read32(a)
    }
    fn write8(&mut self, a: u32, v: u8) -> Result<(), MemFault> {
        self.flat.write8(a, v)
    }
    fn write16(&mut self, a: u32, v: u16) -> Result<(), MemFault> {
        self.flat.write16(a, v)
    }
    fn write32(&mut self, a: u32, v: u32) -> Result<(), MemFault> {
        self.flat.write32(a, v)
    }
    fn fetch(&mut self, a: u32) -> Result<u32, MemFault> {
        self.flat.fetch(a)
    }
    fn code_cache(&mut self) -> &mut CodeCache {
        &mut self.flat.cache
    }
    fn irq_lines(&mut self, _core: u8) -> u32 {
        self.lines
    }
}

pub struct M {
    pub cpu: Cpu,
    pub bus: LineBus,
}

/// Default PS for tests: windowed calls enabled, kernel mode, all interrupts unmasked.
pub const PS_RUN: u32 = ps::WOE;

impl M {
    /// A PRO core with VECBASE = IRAM, PC = CODE, PS = WOE, a1 = STACK_TOP, and RAM at
    /// IRAM (64 KiB), DRAM (64 KiB) and XRAM (4 KiB).
    pub fn new() -> M {
        M::with_config(Config::esp32_pro())
    }

    pub fn with_config(config: Config) -> M {
        let mut flat = FlatBus::new();
        flat.add_ram(IRAM, 0x1_0000);
        flat.add_ram(DRAM, DRAM_SIZE);
        flat.add_ram(XRAM, 0x1000);
        let mut cpu = Cpu::new(config);
        cpu.vecbase = VECBASE;
        cpu.pc = CODE;
        cpu.ps = PS_RUN;
        cpu.set_ar(1, STACK_TOP);
        M {
            cpu,
            bus: LineBus { flat, lines: 0 },
        }
    }

    /// Loads an assembled program (from `a.base`).
    pub fn load(&mut self, a: &mut Asm) {
        let bytes = a.finish();
        self.bus.flat.load(a.base, &bytes).expect("program fits");
    }

    pub fn hook(&mut self, addr: u32) {
        self.bus.flat.cache.add_hook(addr);
    }

    /// Runs until a hook; panics if the budget runs out first.
    pub fn run_to_hook(&mut self, max: u64) -> u32 {
        match self.cpu.run(&mut self.bus, max) {
            Exit::Hook(a) => a,
            other => panic!(
                "no hook reached ({other:?}); pc={:#x} ps={:#x} cause={}",
                self.cpu.pc, self.cpu.ps, self.cpu.exccause
            ),
        }
    }

    /// Runs until the hook at `addr`.
    pub fn run_until(&mut self, addr: u32, max: u64) {
        let got = self.run_to_hook(max);
        assert_eq!(
            got, addr,
            "stopped at {got:#x}, expected {addr:#x}; exccause={} epc1={:#x} depc={:#x}",
            self.cpu.exccause, self.cpu.epc[1], self.cpu.depc
        );
    }

    pub fn a(&self, n: usize) -> u32 {
        self.cpu.ar(n)
    }

    pub fn sr(&self, n: u32) -> u32 {
        self.cpu.read_sr(n).unwrap_or_else(|| panic!("no SR {n}"))
    }

    pub fn peek32(&mut self, addr: u32) -> u32 {
        let b = self.bus.flat.peek(addr, 4).expect("mapped");
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn poke32(&mut self, addr: u32, v: u32) {
        self.bus.flat.load(addr, &v.to_le_bytes()).expect("mapped");
    }
}

impl Default for M {
    fn default() -> Self {
        M::new()
    }
}

/// Vector addresses.
pub fn kernel_vec() -> u32 {
    VECBASE + emulator::regs::vec::KERNEL
}
pub fn user_vec() -> u32 {
    VECBASE + emulator::regs::vec::USER
}
pub fn double_vec() -> u32 {
    VECBASE + emulator::regs::vec::DOUBLE
}
pub fn level_vec(level: u32) -> u32 {
    VECBASE + emulator::regs::vec::LEVEL2 + (level - 2) * 0x40
}

/// Standard windowed-ABI overflow/underflow handlers at VECBASE + 0x00..0x17F (the
/// conventional spill layout: a frame's a0-a3 go to the 16 bytes below its callee's sp,
/// its a4-a11 to the extra save area just below the base save area of its caller).
pub fn window_vectors(a: &mut Asm) {
    a.org(VECBASE);
    // Overflow4: spill a0..a3 below the callee's sp (a5).
    for (i, r) in (0..4).enumerate() {
        a.s32e(r, 5, -16 + 4 * i as i32);
    }
    a.rfwo();
    a.org(VECBASE + 0x40);
    // Underflow4
    for (i, r) in (0..4).enumerate() {
        a.l32e(r, 5, -16 + 4 * i as i32);
    }
    a.rfwu();
    a.org(VECBASE + 0x80);
    // Overflow8: a0-a3 below the callee's sp (a9); a4-a7 in our extra save area, found
    // through our caller's sp (saved at our sp - 12 when our caller was spilled).
    a.s32e(0, 9, -16);
    a.l32e(0, 1, -12);
    a.s32e(1, 9, -12);
    a.s32e(2, 9, -8);
    a.s32e(3, 9, -4);
    a.s32e(4, 0, -32);
    a.s32e(5, 0, -28);
    a.s32e(6, 0, -24);
    a.s32e(7, 0, -20);
    a.rfwo();
    a.org(VECBASE + 0xC0);
    // Underflow8
    a.l32e(1, 9, -12);
    a.l32e(0, 9, -16);
    a.l32e(7, 1, -12);
    a.l32e(2, 9, -8);
    a.l32e(4, 7, -32);
    a.l32e(3, 9, -4);
    a.l32e(5, 7, -28);
    a.l32e(6, 7, -24);
    a.l32e(7, 7, -20);
    a.rfwu();
    a.org(VECBASE + 0x100);
    // Overflow12
    a.s32e(0, 13, -16);
    a.l32e(0, 1, -12);
    a.s32e(1, 13, -12);
    a.s32e(2, 13, -8);
    a.s32e(3, 13, -4);
    for (i, r) in (4..12).enumerate() {
        a.s32e(r, 0, -48 + 4 * i as i32);
    }
    a.rfwo();
    a.org(VECBASE + 0x140);
    // Underflow12
    a.l32e(1, 13, -12);
    a.l32e(0, 13, -16);
    a.l32e(11, 1, -12);
    a.l32e(2, 13, -8);
    a.l32e(3, 13, -4);
    for (i, r) in (4..11).enumerate() {
        a.l32e(r, 11, -48 + 4 * i as i32);
    }
    a.l32e(11, 11, -20);
    a.rfwu();
}

pub const SR_PS: u32 = sr::PS;
