//! MAC16 option: 16×16-bit multiplies into the 40-bit accumulator ACC (ACCHI:ACCLO), the
//! M0..M3 data registers, and the LDINC/LDDEC loads.
//!
//! Sub-decoding (op0 = 4; the decoder hands over `imm = op1 | op2 << 4` and raw r, s, t):
//!
//! | op2 | op1 0..3 | op1 4..7 | op1 8..11 | op1 12..15 | operands |
//! |---:|---|---|---|---|---|
//! | 7 | UMUL.AA | MUL.AA | MULA.AA | MULS.AA | as = s, at = t (r = 0) |
//! | 3 | – | MUL.AD | MULA.AD | MULS.AD | as = s, my = t[2] (r = 0, other t bits 0) |
//! | 6 | – | MUL.DA | MULA.DA | MULS.DA | mx = r[2], at = t (s = 0, other r bits 0) |
//! | 2 | – | MUL.DD | MULA.DD | MULS.DD | mx = r[2], my = t[2] (s = 0) |
//! | 4 / 5 | – | – | MULA.DA.*.LDINC / .LDDEC | – | mw = r[1:0], as = s, mx = r[2], at = t |
//! | 0 / 1 | – | – | MULA.DD.*.LDINC / .LDDEC | – | mw = r[1:0], as = s, mx = r[2], my = t[2] |
//! | 8 / 9 | LDINC / LDDEC (op1 = 0) | | | | mw = r[1:0], as = s (t = 0) |
//!
//! op1[0] selects the half of the first multiplicand (0 = low, 1 = high), op1[1] that of the
//! second: .LL, .HL, .LH, .HH. `mx` is M0 or M1, `my` is M2 or M3. Everything else is illegal.
//!
//! Semantics: the halves are sign-extended (zero-extended for UMUL) and multiplied; MUL/UMUL
//! set ACC to the product, MULA adds it, MULS subtracts it, modulo 2^40. The .LDINC/.LDDEC
//! forms load `mw` from `as ± 4` and write that address back to `as`; the multiply uses the
//! register values from before the load.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exc};
use crate::decode::Insn;
use crate::regs::cause;

const ACC_MASK: u64 = (1 << 40) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Umul,
    Mul,
    Mula,
    Muls,
}

/// Operand sources of the multiply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// a-register `s`, a-register `t`.
    AA(u8, u8),
    /// a-register, m-register (2 or 3).
    AD(u8, u8),
    /// m-register (0 or 1), a-register.
    DA(u8, u8),
    /// m-register (0 or 1), m-register (2 or 3).
    DD(u8, u8),
}

/// A sub-decoded MAC16 instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mac {
    Mul {
        kind: Kind,
        src: Src,
        /// op1[1:0]: bit 0 = high half of the first operand, bit 1 = of the second.
        half: u8,
        /// `(increment, mw, as)` for the .LDINC/.LDDEC forms.
        load: Option<(bool, u8, u8)>,
    },
    /// LDINC (true) / LDDEC (false) `mw, as`.
    Load { inc: bool, w: u8, s: u8 },
}

/// Sub-decodes `i` (an `Op::Mac16`); `None` for encodings the ESP32 does not have.
pub fn decode(i: &Insn) -> Option<Mac> {
    let op1 = (i.imm & 0xF) as u8;
    let op2 = ((i.imm >> 4) & 0xF) as u8;
    let (r, s, t) = (i.r, i.s, i.t);
    let half = op1 & 3;
    let kind = match op1 >> 2 {
        0 => Kind::Umul,
        1 => Kind::Mul,
        2 => Kind::Mula,
        _ => Kind::Muls,
    };
    let x = (r >> 2) & 1;
    let y = 2 + ((t >> 2) & 1);
    let w = r & 3;
    match op2 {
        7 if r == 0 => Some(Mac::Mul { kind, src: Src::AA(s, t), half, load: None }),
        3 if r == 0 && t & !4 == 0 && kind != Kind::Umul => {
            Some(Mac::Mul { kind, src: Src::AD(s, y), half, load: None })
        }
        6 if s == 0 && r & !4 == 0 && kind != Kind::Umul => {
            Some(Mac::Mul { kind, src: Src::DA(x, t), half, load: None })
        }
        2 if s == 0 && r & !4 == 0 && t & !4 == 0 && kind != Kind::Umul => {
            Some(Mac::Mul { kind, src: Src::DD(x, y), half, load: None })
        }
        4 | 5 if kind == Kind::Mula && r & 8 == 0 => Some(Mac::Mul {
            kind,
            src: Src::DA(x, t),
            half,
            load: Some((op2 == 4, w, s)),
        }),
        0 | 1 if kind == Kind::Mula && r & 8 == 0 && t & !4 == 0 => Some(Mac::Mul {
            kind,
            src: Src::DD(x, y),
            half,
            load: Some((op2 == 0, w, s)),
        }),
        8 | 9 if op1 == 0 && r & !3 == 0 && t == 0 => Some(Mac::Load { inc: op2 == 8, w, s }),
        _ => None,
    }
}

#[inline(always)]
fn half16(v: u32, high: bool) -> u32 {
    if high {
        v >> 16
    } else {
        v & 0xFFFF
    }
}

pub fn exec<B: Bus>(cpu: &mut Cpu, bus: &mut B, i: Insn) -> Result<(), Exc> {
    let mac = decode(&i).ok_or(Exc::new(cause::ILLEGAL))?;
    match mac {
        Mac::Load { inc, w, s } => {
            let addr = step_addr(cpu.ar(s as usize), inc);
            let v = cpu.load32(bus, addr)?;
            cpu.m[w as usize] = v;
            cpu.set_ar(s as usize, addr);
        }
        Mac::Mul { kind, src, half, load } => {
            let (a, b) = match src {
                Src::AA(s, t) => (cpu.ar(s as usize), cpu.ar(t as usize)),
                Src::AD(s, y) => (cpu.ar(s as usize), cpu.m[y as usize]),
                Src::DA(x, t) => (cpu.m[x as usize], cpu.ar(t as usize)),
                Src::DD(x, y) => (cpu.m[x as usize], cpu.m[y as usize]),
            };
            // The load happens first (it may fault); its results are written afterwards.
            let loaded = match load {
                Some((inc, w, s)) => {
                    let addr = step_addr(cpu.ar(s as usize), inc);
                    Some((cpu.load32(bus, addr)?, w, s, addr))
                }
                None => None,
            };
            let a = half16(a, half & 1 != 0);
            let b = half16(b, half & 2 != 0);
            let prod: u64 = if kind == Kind::Umul {
                a as u64 * b as u64
            } else {
                ((a as u16 as i16 as i64) * (b as u16 as i16 as i64)) as u64
            };
            cpu.acc = match kind {
                Kind::Umul | Kind::Mul => prod,
                Kind::Mula => cpu.acc.wrapping_add(prod),
                Kind::Muls => cpu.acc.wrapping_sub(prod),
            } & ACC_MASK;
            if let Some((v, w, s, addr)) = loaded {
                cpu.m[w as usize] = v;
                cpu.set_ar(s as usize, addr);
            }
        }
    }
    Ok(())
}

#[inline(always)]
fn step_addr(a: u32, inc: bool) -> u32 {
    if inc {
        a.wrapping_add(4)
    } else {
        a.wrapping_sub(4)
    }
}

/// GNU-syntax text of a MAC16 instruction (`mula.dd.hl.ldinc m0, a2, m1, m3`), or `None` if
/// the encoding is illegal.
pub fn mnemonic(i: &Insn) -> Option<String> {
    const HALF: [&str; 4] = ["ll", "hl", "lh", "hh"];
    Some(match decode(i)? {
        Mac::Load { inc, w, s } => {
            format!("{} m{}, a{}", if inc { "ldinc" } else { "lddec" }, w, s)
        }
        Mac::Mul { kind, src, half, load } => {
            let k = match kind {
                Kind::Umul => "umul",
                Kind::Mul => "mul",
                Kind::Mula => "mula",
                Kind::Muls => "muls",
            };
            let (form, a, b) = match src {
                Src::AA(s, t) => ("aa", format!("a{s}"), format!("a{t}")),
                Src::AD(s, y) => ("ad", format!("a{s}"), format!("m{y}")),
                Src::DA(x, t) => ("da", format!("m{x}"), format!("a{t}")),
                Src::DD(x, y) => ("dd", format!("m{x}"), format!("m{y}")),
            };
            let h = HALF[half as usize];
            match load {
                None => format!("{k}.{form}.{h} {a}, {b}"),
                Some((inc, w, s)) => {
                    let l = if inc { "ldinc" } else { "lddec" };
                    format!("{k}.{form}.{h}.{l} m{w}, a{s}, {a}, {b}")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::Config;
    use crate::decode::{decode as decode_word, Op};
    use crate::flatbus::FlatBus;

    /// The raw MAC16 word: op0 = 4.
    fn word(op2: u32, op1: u32, r: u32, s: u32, t: u32) -> u32 {
        4 | t << 4 | s << 8 | r << 12 | op1 << 16 | op2 << 20
    }

    fn insn(op2: u32, op1: u32, r: u32, s: u32, t: u32) -> Insn {
        let i = decode_word(word(op2, op1, r, s, t), 0);
        assert_eq!(i.op, Op::Mac16);
        i
    }

    fn setup() -> (Cpu, FlatBus) {
        let mut bus = FlatBus::new();
        bus.add_ram(0x3FFB_0000, 0x100);
        (Cpu::new(Config::esp32_pro()), bus)
    }

    fn acc40(v: i64) -> u64 {
        (v as u64) & ACC_MASK
    }

    #[test]
    fn mul_aa_halves_and_signs() {
        let (mut c, mut bus) = setup();
        c.set_ar(2, 0x8000_0003); // high = -32768, low = 3
        c.set_ar(3, 0x0005_FFFE); // high = 5, low = -2
        for (op1, want) in [(4, 3 * -2), (5, -32768 * -2), (6, 3 * 5), (7, -32768 * 5)] {
            exec(&mut c, &mut bus, insn(7, op1, 0, 2, 3)).unwrap();
            assert_eq!(c.acc, acc40(want), "op1 {op1}");
        }
        // UMUL: zero-extended halves, ACCHI = 0.
        for (op1, want) in [(0, 3 * 0xFFFE), (1, 0x8000 * 0xFFFE), (2, 3 * 5), (3, 0x8000 * 5)] {
            exec(&mut c, &mut bus, insn(7, op1, 0, 2, 3)).unwrap();
            assert_eq!(c.acc, want as u64, "umul op1 {op1}");
        }
        c.set_ar(4, 0xFFFF_FFFF);
        exec(&mut c, &mut bus, insn(7, 0, 0, 4, 4)).unwrap();
        assert_eq!(c.acc, 0xFFFE_0001);
        exec(&mut c, &mut bus, insn(7, 4, 0, 4, 4)).unwrap();
        assert_eq!(c.acc, 1);
    }

    #[test]
    fn accumulate_and_wrap_40_bits() {
        let (mut c, mut bus) = setup();
        c.set_ar(2, 0x7FFF);
        c.set_ar(3, 0x7FFF);
        c.acc = 0;
        for _ in 0..300 {
            exec(&mut c, &mut bus, insn(7, 8, 0, 2, 3)).unwrap(); // mula.aa.ll
        }
        assert_eq!(c.acc, 300 * 0x3FFF_0001u64);
        assert_eq!(c.read_sr(17), Some(((300 * 0x3FFF_0001u64) >> 32) as u32));
        // MULS below zero: two's complement in 40 bits, ACCHI reads sign-extended.
        c.acc = 0;
        exec(&mut c, &mut bus, insn(7, 12, 0, 2, 3)).unwrap(); // muls.aa.ll
        assert_eq!(c.acc, acc40(-0x3FFF_0001));
        assert_eq!(c.read_sr(17), Some(0xFFFF_FFFF));
        assert_eq!(c.read_sr(16), Some((-0x3FFF_0001i64) as u32));
        // Wrap at 2^40.
        c.acc = ACC_MASK;
        c.set_ar(2, 1);
        c.set_ar(3, 1);
        exec(&mut c, &mut bus, insn(7, 8, 0, 2, 3)).unwrap();
        assert_eq!(c.acc, 0);
        exec(&mut c, &mut bus, insn(7, 12, 0, 2, 3)).unwrap();
        assert_eq!(c.acc, ACC_MASK);
        // MUL replaces the accumulator.
        exec(&mut c, &mut bus, insn(7, 4, 0, 2, 3)).unwrap();
        assert_eq!(c.acc, 1);
    }

    #[test]
    fn ad_da_dd_forms_select_m_registers() {
        let (mut c, mut bus) = setup();
        c.m = [2, 3, 5, 7];
        c.set_ar(4, 11);
        // MUL.AD.LL a4, m2 / m3 (y = t bit 2)
        exec(&mut c, &mut bus, insn(3, 4, 0, 4, 0)).unwrap();
        assert_eq!(c.acc, 55);
        exec(&mut c, &mut bus, insn(3, 4, 0, 4, 4)).unwrap();
        assert_eq!(c.acc, 77);
        // MULA.DA.LL m0 / m1, a4 (x = r bit 2)
        exec(&mut c, &mut bus, insn(6, 8, 0, 0, 4)).unwrap();
        assert_eq!(c.acc, 77 + 22);
        exec(&mut c, &mut bus, insn(6, 12, 4, 0, 4)).unwrap();
        assert_eq!(c.acc, 77 + 22 - 33);
        // MUL.DD.LL m1, m3 and m0, m2
        exec(&mut c, &mut bus, insn(2, 4, 4, 0, 4)).unwrap();
        assert_eq!(c.acc, 21);
        exec(&mut c, &mut bus, insn(2, 8, 0, 0, 0)).unwrap();
        assert_eq!(c.acc, 31);
        exec(&mut c, &mut bus, insn(2, 12, 0, 0, 0)).unwrap();
        assert_eq!(c.acc, 21);
        // High halves in D operands.
        c.m[1] = 0xFFFF_0000; // high = -1
        c.m[3] = 0x0009_0000; // high = 9
        exec(&mut c, &mut bus, insn(2, 7, 4, 0, 4)).unwrap(); // mul.dd.hh m1, m3
        assert_eq!(c.acc, acc40(-9));
        exec(&mut c, &mut bus, insn(2, 5, 4, 0, 4)).unwrap(); // mul.dd.hl m1, m3: -1 * 7? low(m3)=0
        assert_eq!(c.acc, 0);
        exec(&mut c, &mut bus, insn(2, 6, 4, 0, 4)).unwrap(); // mul.dd.lh: low(m1)=0
        assert_eq!(c.acc, 0);
    }

    #[test]
    fn load_forms() {
        let (mut c, mut bus) = setup();
        bus.load(0x3FFB_0010, &0xAAAA_0001u32.to_le_bytes()).unwrap();
        bus.load(0x3FFB_0014, &0xBBBB_0002u32.to_le_bytes()).unwrap();
        // LDINC m2, a5
        c.set_ar(5, 0x3FFB_000C);
        exec(&mut c, &mut bus, insn(8, 0, 2, 5, 0)).unwrap();
        assert_eq!((c.m[2], c.ar(5)), (0xAAAA_0001, 0x3FFB_0010));
        // LDDEC m3, a6
        c.set_ar(6, 0x3FFB_0018);
        exec(&mut c, &mut bus, insn(9, 0, 3, 6, 0)).unwrap();
        assert_eq!((c.m[3], c.ar(6)), (0xBBBB_0002, 0x3FFB_0014));
        // MULA.DA.LL.LDINC m0, a5, m0, a7: the multiply uses the old m0.
        c.m[0] = 4;
        c.set_ar(7, 6);
        c.acc = 1;
        exec(&mut c, &mut bus, insn(4, 8, 0, 5, 7)).unwrap();
        assert_eq!(c.acc, 25);
        assert_eq!((c.m[0], c.ar(5)), (0xBBBB_0002, 0x3FFB_0014));
        // MULA.DD.HH.LDDEC m1, a5, m0, m3 (x = 0, y = 3).
        c.m[3] = 0x0003_0000;
        exec(&mut c, &mut bus, insn(1, 11, 1, 5, 4)).unwrap();
        // high(m0) = 0xBBBB (signed -17477) * 3
        assert_eq!(c.acc, acc40(25 - 17477 * 3));
        assert_eq!((c.m[1], c.ar(5)), (0xAAAA_0001, 0x3FFB_0010));
        // MULA.DA.HL.LDDEC m2, a5, m1, a7 (x = 1 -> r = 4 | 2)
        c.acc = 0;
        exec(&mut c, &mut bus, insn(5, 9, 6, 5, 7)).unwrap();
        assert_eq!(c.acc, acc40(-21846 * 6), "high(m1) = 0xAAAA");
        assert_eq!((c.m[2], c.ar(5)), (0, 0x3FFB_000C));
        // MULA.DD.LL.LDINC with as = at-style overlap: a faulting load changes nothing.
        c.set_ar(5, 0x1000_0000);
        c.acc = 5;
        let e = exec(&mut c, &mut bus, insn(0, 8, 0, 5, 0)).unwrap_err();
        assert_eq!(e.cause, cause::LOAD_STORE_ERROR);
        assert_eq!((c.acc, c.ar(5)), (5, 0x1000_0000));
    }

    #[test]
    fn illegal_encodings() {
        let bad = [
            word(7, 4, 1, 2, 3),  // AA with r != 0
            word(3, 0, 0, 2, 0),  // UMUL.AD does not exist
            word(3, 4, 0, 2, 1),  // AD with t bits other than y
            word(6, 4, 0, 1, 0),  // DA with s != 0
            word(6, 4, 1, 0, 0),  // DA with r bits other than x
            word(2, 4, 0, 0, 8),  // DD with t bit 3
            word(4, 4, 0, 2, 3),  // MUL.DA.LDINC does not exist
            word(4, 12, 0, 2, 3), // MULS.DA.LDINC neither
            word(4, 8, 8, 2, 3),  // r bit 3
            word(0, 8, 0, 2, 1),  // DD.LDINC with t bit 0
            word(8, 1, 0, 2, 0),  // LDINC with op1 != 0
            word(8, 0, 4, 2, 0),  // LDINC with r bit 2
            word(9, 0, 0, 2, 1),  // LDDEC with t != 0
            word(10, 0, 0, 0, 0),
            word(15, 15, 0, 0, 0),
        ];
        let (mut c, mut bus) = setup();
        for w in bad {
            let i = decode_word(w, 0);
            assert_eq!(decode(&i), None, "{w:06x}");
            assert_eq!(mnemonic(&i), None);
            assert_eq!(exec(&mut c, &mut bus, i).unwrap_err().cause, cause::ILLEGAL, "{w:06x}");
        }
    }

    #[test]
    fn mnemonics_match_esp32_encodings() {
        // Encodings from the ESP32 configuration's opcode table (operand fields zero).
        let table: &[(u32, &str)] = &[
            (0x740004, "mul.aa.ll a0, a0"),
            (0x750004, "mul.aa.hl a0, a0"),
            (0x760004, "mul.aa.lh a0, a0"),
            (0x770004, "mul.aa.hh a0, a0"),
            (0x700004, "umul.aa.ll a0, a0"),
            (0x730004, "umul.aa.hh a0, a0"),
            (0x340004, "mul.ad.ll a0, m2"),
            (0x640004, "mul.da.ll m0, a0"),
            (0x240004, "mul.dd.ll m0, m2"),
            (0x780004, "mula.aa.ll a0, a0"),
            (0x7c0004, "muls.aa.ll a0, a0"),
            (0x3b0004, "mula.ad.hh a0, m2"),
            (0x3f0004, "muls.ad.hh a0, m2"),
            (0x690004, "mula.da.hl m0, a0"),
            (0x6d0004, "muls.da.hl m0, a0"),
            (0x2a0004, "mula.dd.lh m0, m2"),
            (0x2e0004, "muls.dd.lh m0, m2"),
            (0x580004, "mula.da.ll.lddec m0, a0, m0, a0"),
            (0x480004, "mula.da.ll.ldinc m0, a0, m0, a0"),
            (0x5b0004, "mula.da.hh.lddec m0, a0, m0, a0"),
            (0x180004, "mula.dd.ll.lddec m0, a0, m0, m2"),
            (0x080004, "mula.dd.ll.ldinc m0, a0, m0, m2"),
            (0x0b0004, "mula.dd.hh.ldinc m0, a0, m0, m2"),
            (0x900004, "lddec m0, a0"),
            (0x800004, "ldinc m0, a0"),
        ];
        for &(w, text) in table {
            assert_eq!(mnemonic(&decode_word(w, 0)).as_deref(), Some(text), "{w:06x}");
        }
        // Operand fields.
        let i = decode_word(word(0, 9, 7, 10, 4), 0);
        assert_eq!(mnemonic(&i).as_deref(), Some("mula.dd.hl.ldinc m3, a10, m1, m3"));
        let i = decode_word(word(7, 14, 0, 10, 11), 0);
        assert_eq!(mnemonic(&i).as_deref(), Some("muls.aa.lh a10, a11"));
        let i = decode_word(word(3, 9, 0, 6, 4), 0);
        assert_eq!(mnemonic(&i).as_deref(), Some("mula.ad.hl a6, m3"));
        let i = decode_word(word(6, 10, 4, 0, 9), 0);
        assert_eq!(mnemonic(&i).as_deref(), Some("mula.da.lh m1, a9"));
    }

    #[test]
    fn every_legal_encoding_counts() {
        // 4 AA kinds x 4 halves + 3 x 4 for AD/DA/DD + 4 ld forms x 4 + LDINC/LDDEC.
        let mut ops = std::collections::HashSet::new();
        for op2 in 0..16 {
            for op1 in 0..16 {
                if decode(&insn(op2, op1, 0, 0, 0)).is_some() {
                    ops.insert((op2, op1));
                }
            }
        }
        assert_eq!(ops.len(), 16 + 36 + 16 + 2);
    }
}
