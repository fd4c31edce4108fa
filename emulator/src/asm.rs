//! Assembler for the ESP32's Xtensa LX6 configuration, sharing the decoder's [`Insn`] form.
//!
//! * [`encode`] is the exact inverse of [`crate::decode::decode`]: for every word `w` that
//!   decodes to `i` at `pc`, `encode(&i, pc)` gives back `w` (its low 16 bits for narrow
//!   instructions). Branch, jump, call and loop targets are absolute addresses in [`Insn`],
//!   so `encode` turns them back into offsets and reports targets out of reach.
//! * [`assemble`] is a small two-pass text assembler accepting GNU `as` syntax: one statement
//!   per line (or separated by `;`), `label:` definitions, `#` and `//` comments, the
//!   directives `.word/.long/.4byte`, `.short/.half/.2byte`, `.byte`, `.align/.balign`,
//!   `.space/.skip`, `.org`, and every instruction of the configuration, including the narrow
//!   `.n` forms, `rsr.NAME`/`wsr.NAME`/`xsr.NAME`/`rur.NAME`/`wur.NAME` and the numeric
//!   `rsr a2, 230` forms, FP (`add.s f0, f1, f2`), booleans and the `mov`
//!   (= `or ar, as, as`) alias. Operands are expressions: numbers (decimal, `0x` hex, `0b`
//!   binary, negative), labels and `.` (the current address), combined with `+` and `-`.
//!   MAC16 operations are written in raw form: `mac16 OP, r, s, t` where `OP` = op1 | op2 << 4
//!   (the form [`Insn`] keeps for `Op::Mac16`).
//!
//! Instructions are never relaxed: `movi` is always the 24-bit MOVI, a branch whose target
//! is out of reach is an error, and the length of every statement is known from its
//! mnemonic alone, which is what lets the first pass lay out addresses without values.

use crate::decode::{Insn, Op, B4CONST, B4CONSTU};
use crate::isa::{Field, Opd};
use std::collections::HashMap;
use std::fmt;

/// An assembly or encoding error. `line` is 1-based (0 when the error comes from [`encode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pub line: usize,
    pub msg: String,
}

impl AsmError {
    fn new(msg: impl Into<String>) -> AsmError {
        AsmError { line: 0, msg: msg.into() }
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line != 0 {
            write!(f, "line {}: {}", self.line, self.msg)
        } else {
            write!(f, "{}", self.msg)
        }
    }
}

impl std::error::Error for AsmError {}

fn err<T>(msg: impl Into<String>) -> Result<T, AsmError> {
    Err(AsmError::new(msg))
}

// ------------------------------------------------------------------------------ encoding

/// A 4-bit field from an [`Insn`] register/field byte.
fn f4(v: u8, what: &str) -> Result<u32, AsmError> {
    if v > 15 {
        return err(format!("{what} field {v} out of range 0..=15"));
    }
    Ok(v as u32)
}

#[inline]
fn word(op0: u32, op1: u32, op2: u32, r: u32, s: u32, t: u32) -> u32 {
    op0 | (t << 4) | (s << 8) | (r << 12) | (op1 << 16) | (op2 << 20)
}

fn in_range(v: i64, lo: i64, hi: i64, what: &str) -> Result<(), AsmError> {
    if v < lo || v > hi {
        return err(format!("{what} {v} out of range {lo}..={hi}"));
    }
    Ok(())
}

fn aligned(v: i64, a: i64, what: &str) -> Result<(), AsmError> {
    if v.rem_euclid(a) != 0 {
        return err(format!("{what} {v} is not a multiple of {a}"));
    }
    Ok(())
}

/// Signed distance from `from` to `to` (32-bit wrapping address arithmetic).
fn dist(to: u32, from: u32) -> i64 {
    to.wrapping_sub(from) as i32 as i64
}

/// Encodes `i` as the instruction at `pc`. Returns the instruction word (little-endian bit
/// order, as [`crate::decode::decode`] takes it) and its length in bytes.
pub fn encode(i: &Insn, pc: u32) -> Result<(u32, u8), AsmError> {
    use Op::*;
    let r = || f4(i.r, "r");
    let s = || f4(i.s, "s");
    let t = || f4(i.t, "t");
    let imm = i.imm;
    let simm = imm as i32 as i64;
    // Format helpers: op0 = 0 RRR with fixed op1/op2.
    let x = |op1: u32, op2: u32, r: u32, s: u32, t: u32| word(0, op1, op2, r, s, t);

    let w: u32 = match i.op {
        Undecoded | Hook => return err(format!("{:?} is not an instruction", i.op)),
        Illegal => {
            let len = if i.len == 2 { 2 } else { 3 };
            let mask = if len == 2 { 0xFFFF } else { 0xFF_FFFF };
            return Ok((imm & mask, len));
        }

        // ---- narrow (16-bit) forms
        L32iN | S32iN => {
            in_range(simm, 0, 60, "offset")?;
            aligned(simm, 4, "offset")?;
            let op0 = if i.op == L32iN { 8 } else { 9 };
            return Ok((op0 | (t()? << 4) | (s()? << 8) | ((imm >> 2) << 12), 2));
        }
        AddN => return Ok((10 | (t()? << 4) | (s()? << 8) | (r()? << 12), 2)),
        AddiN => {
            let tv = match simm {
                -1 => 0,
                1..=15 => simm as u32,
                _ => return err(format!("addi.n immediate {simm} not in -1, 1..=15")),
            };
            return Ok((11 | (tv << 4) | (s()? << 8) | (r()? << 12), 2));
        }
        MoviN => {
            in_range(simm, -32, 95, "movi.n immediate")?;
            let v = (simm as u32) & 0x7F;
            return Ok((12 | ((v >> 4) << 4) | (s()? << 8) | ((v & 15) << 12), 2));
        }
        BeqzN | BnezN => {
            let off = dist(imm, pc.wrapping_add(4));
            if !(0..=63).contains(&off) {
                return err(format!("{:?} target {imm:#x} out of reach from {pc:#x}", i.op));
            }
            let off = off as u32;
            let tv = if i.op == BeqzN { 8 } else { 12 } | (off >> 4);
            return Ok((12 | (tv << 4) | (s()? << 8) | ((off & 15) << 12), 2));
        }
        MovN => return Ok((13 | (t()? << 4) | (s()? << 8), 2)),
        RetN => return Ok((0xF00D, 2)),
        RetwN => return Ok((0xF01D, 2)),
        BreakN => return Ok((13 | (2 << 4) | (s()? << 8) | (15 << 12), 2)),
        NopN => return Ok((0xF03D, 2)),
        IllN => return Ok((0xF06D, 2)),

        // ---- op0 = 0, op1 = 0, op2 = 0 (ST0 and friends)
        Ill => x(0, 0, 0, 0, 0),
        Ret => x(0, 0, 0, 0, 8),
        Retw => x(0, 0, 0, 0, 9),
        Jx => x(0, 0, 0, s()?, 10),
        Callx0 => x(0, 0, 0, s()?, 12),
        Callx4 => x(0, 0, 0, s()?, 13),
        Callx8 => x(0, 0, 0, s()?, 14),
        Callx12 => x(0, 0, 0, s()?, 15),
        Movsp => x(0, 0, 1, s()?, t()?),
        Isync => x(0, 0, 2, 0, 0),
        Rsync => x(0, 0, 2, 0, 1),
        Esync => x(0, 0, 2, 0, 2),
        Dsync => x(0, 0, 2, 0, 3),
        Excw => x(0, 0, 2, 0, 8),
        Memw => x(0, 0, 2, 0, 12),
        Extw => x(0, 0, 2, 0, 13),
        Nop => x(0, 0, 2, 0, 15),
        Rfe => x(0, 0, 3, 0, 0),
        Rfue => x(0, 0, 3, 1, 0),
        Rfde => x(0, 0, 3, 2, 0),
        Rfwo => x(0, 0, 3, 4, 0),
        Rfwu => x(0, 0, 3, 5, 0),
        Rfi => x(0, 0, 3, s()?, 1),
        Rfme => x(0, 0, 3, 0, 2),
        Break => x(0, 0, 4, s()?, t()?),
        Syscall => x(0, 0, 5, 0, 0),
        Simcall => x(0, 0, 5, 1, 0),
        Rsil => x(0, 0, 6, s()?, t()?),
        Waiti => x(0, 0, 7, s()?, 0),
        Any4 => x(0, 0, 8, s()?, t()?),
        All4 => x(0, 0, 9, s()?, t()?),
        Any8 => x(0, 0, 10, s()?, t()?),
        All8 => x(0, 0, 11, s()?, t()?),

        // ---- op0 = 0, op1 = 0, other op2
        And => x(0, 1, r()?, s()?, t()?),
        Or => x(0, 2, r()?, s()?, t()?),
        Xor => x(0, 3, r()?, s()?, t()?),
        Ssr => x(0, 4, 0, s()?, 0),
        Ssl => x(0, 4, 1, s()?, 0),
        Ssa8l => x(0, 4, 2, s()?, 0),
        Ssa8b => x(0, 4, 3, s()?, 0),
        Ssai => {
            in_range(simm, 0, 31, "ssai amount")?;
            x(0, 4, 4, imm & 15, imm >> 4)
        }
        Rer => x(0, 4, 6, s()?, t()?),
        Wer => x(0, 4, 7, s()?, t()?),
        Rotw => {
            in_range(simm, -8, 7, "rotw amount")?;
            x(0, 4, 8, 0, imm & 15)
        }
        Nsa => x(0, 4, 14, s()?, t()?),
        Nsau => x(0, 4, 15, s()?, t()?),
        Ritlb0 => x(0, 5, 3, s()?, t()?),
        Iitlb => x(0, 5, 4, s()?, 0),
        Pitlb => x(0, 5, 5, s()?, t()?),
        Witlb => x(0, 5, 6, s()?, t()?),
        Ritlb1 => x(0, 5, 7, s()?, t()?),
        Rdtlb0 => x(0, 5, 11, s()?, t()?),
        Idtlb => x(0, 5, 12, s()?, 0),
        Pdtlb => x(0, 5, 13, s()?, t()?),
        Wdtlb => x(0, 5, 14, s()?, t()?),
        Rdtlb1 => x(0, 5, 15, s()?, t()?),
        Neg => x(0, 6, r()?, 0, t()?),
        Abs => x(0, 6, r()?, 1, t()?),
        Add => x(0, 8, r()?, s()?, t()?),
        Addx2 => x(0, 9, r()?, s()?, t()?),
        Addx4 => x(0, 10, r()?, s()?, t()?),
        Addx8 => x(0, 11, r()?, s()?, t()?),
        Sub => x(0, 12, r()?, s()?, t()?),
        Subx2 => x(0, 13, r()?, s()?, t()?),
        Subx4 => x(0, 14, r()?, s()?, t()?),
        Subx8 => x(0, 15, r()?, s()?, t()?),

        // ---- op1 = 1: shifts, XSR, MUL16
        Slli => {
            in_range(simm, 1, 32, "slli amount")?;
            let sa = 32 - imm;
            x(1, sa >> 4, r()?, s()?, sa & 15)
        }
        Srai => {
            in_range(simm, 0, 31, "srai amount")?;
            x(1, 2 | (imm >> 4), r()?, imm & 15, t()?)
        }
        Srli => {
            in_range(simm, 0, 15, "srli amount")?;
            x(1, 4, r()?, imm, t()?)
        }
        Xsr => {
            in_range(simm, 0, 255, "special register")?;
            x(1, 6, imm >> 4, imm & 15, t()?)
        }
        Src => x(1, 8, r()?, s()?, t()?),
        Srl => x(1, 9, r()?, 0, t()?),
        Sll => x(1, 10, r()?, s()?, 0),
        Sra => x(1, 11, r()?, 0, t()?),
        Mul16u => x(1, 12, r()?, s()?, t()?),
        Mul16s => x(1, 13, r()?, s()?, t()?),

        // ---- op1 = 2: booleans, MUL32, DIV32
        Andb => x(2, 0, r()?, s()?, t()?),
        Andbc => x(2, 1, r()?, s()?, t()?),
        Orb => x(2, 2, r()?, s()?, t()?),
        Orbc => x(2, 3, r()?, s()?, t()?),
        Xorb => x(2, 4, r()?, s()?, t()?),
        Mull => x(2, 8, r()?, s()?, t()?),
        Muluh => x(2, 10, r()?, s()?, t()?),
        Mulsh => x(2, 11, r()?, s()?, t()?),
        Quou => x(2, 12, r()?, s()?, t()?),
        Quos => x(2, 13, r()?, s()?, t()?),
        Remu => x(2, 14, r()?, s()?, t()?),
        Rems => x(2, 15, r()?, s()?, t()?),

        // ---- op1 = 3
        Rsr | Wsr => {
            in_range(simm, 0, 255, "special register")?;
            x(3, if i.op == Rsr { 0 } else { 1 }, imm >> 4, imm & 15, t()?)
        }
        Sext | Clamps => {
            in_range(simm, 7, 22, "bit position")?;
            x(3, if i.op == Sext { 2 } else { 3 }, r()?, s()?, imm - 7)
        }
        Min => x(3, 4, r()?, s()?, t()?),
        Max => x(3, 5, r()?, s()?, t()?),
        Minu => x(3, 6, r()?, s()?, t()?),
        Maxu => x(3, 7, r()?, s()?, t()?),
        Moveqz => x(3, 8, r()?, s()?, t()?),
        Movnez => x(3, 9, r()?, s()?, t()?),
        Movltz => x(3, 10, r()?, s()?, t()?),
        Movgez => x(3, 11, r()?, s()?, t()?),
        Movf => x(3, 12, r()?, s()?, t()?),
        Movt => x(3, 13, r()?, s()?, t()?),
        Rur => {
            in_range(simm, 0, 255, "user register")?;
            x(3, 14, r()?, imm >> 4, imm & 15)
        }
        Wur => {
            in_range(simm, 0, 255, "user register")?;
            x(3, 15, imm >> 4, imm & 15, t()?)
        }

        // ---- op1 = 4/5: EXTUI
        Extui => {
            let sa = i.s as u32;
            if sa > 31 {
                return err(format!("extui shift {sa} out of range 0..=31"));
            }
            let bits = imm.count_ones();
            if bits == 0 || bits > 16 || imm != (1u32 << bits) - 1 {
                return err(format!("extui mask {imm:#x} is not 1..=16 low ones"));
            }
            x(4 | (sa >> 4), bits - 1, r()?, sa & 15, t()?)
        }

        // ---- op1 = 8: FP indexed loads/stores
        Lsx => x(8, 0, r()?, s()?, t()?),
        Lsxu => x(8, 1, r()?, s()?, t()?),
        Ssx => x(8, 4, r()?, s()?, t()?),
        Ssxu => x(8, 5, r()?, s()?, t()?),

        // ---- op1 = 9: L32E/S32E
        L32e | S32e => {
            in_range(simm, -64, -4, "l32e/s32e offset")?;
            aligned(simm, 4, "l32e/s32e offset")?;
            x(9, if i.op == L32e { 0 } else { 4 }, (imm >> 2) & 15, s()?, t()?)
        }

        // ---- op1 = 10/11: FP
        AddS => x(10, 0, r()?, s()?, t()?),
        SubS => x(10, 1, r()?, s()?, t()?),
        MulS => x(10, 2, r()?, s()?, t()?),
        MaddS => x(10, 4, r()?, s()?, t()?),
        MsubS => x(10, 5, r()?, s()?, t()?),
        MaddnS => x(10, 6, r()?, s()?, t()?),
        DivnS => x(10, 7, r()?, s()?, t()?),
        RoundS => x(10, 8, r()?, s()?, t()?),
        TruncS => x(10, 9, r()?, s()?, t()?),
        FloorS => x(10, 10, r()?, s()?, t()?),
        CeilS => x(10, 11, r()?, s()?, t()?),
        FloatS => x(10, 12, r()?, s()?, t()?),
        UfloatS => x(10, 13, r()?, s()?, t()?),
        UtruncS => x(10, 14, r()?, s()?, t()?),
        MovS => x(10, 15, r()?, s()?, 0),
        AbsS => x(10, 15, r()?, s()?, 1),
        ConstS => x(10, 15, r()?, s()?, 3),
        Rfr => x(10, 15, r()?, s()?, 4),
        Wfr => x(10, 15, r()?, s()?, 5),
        NegS => x(10, 15, r()?, s()?, 6),
        Div0S => x(10, 15, r()?, s()?, 7),
        Recip0S => x(10, 15, r()?, s()?, 8),
        Sqrt0S => x(10, 15, r()?, s()?, 9),
        Rsqrt0S => x(10, 15, r()?, s()?, 10),
        Nexp01S => x(10, 15, r()?, s()?, 11),
        MksadjS => x(10, 15, r()?, s()?, 12),
        MkdadjS => x(10, 15, r()?, s()?, 13),
        AddexpS => x(10, 15, r()?, s()?, 14),
        AddexpmS => x(10, 15, r()?, s()?, 15),
        UnS => x(11, 1, r()?, s()?, t()?),
        OeqS => x(11, 2, r()?, s()?, t()?),
        UeqS => x(11, 3, r()?, s()?, t()?),
        OltS => x(11, 4, r()?, s()?, t()?),
        UltS => x(11, 5, r()?, s()?, t()?),
        OleS => x(11, 6, r()?, s()?, t()?),
        UleS => x(11, 7, r()?, s()?, t()?),
        MoveqzS => x(11, 8, r()?, s()?, t()?),
        MovnezS => x(11, 9, r()?, s()?, t()?),
        MovltzS => x(11, 10, r()?, s()?, t()?),
        MovgezS => x(11, 11, r()?, s()?, t()?),
        MovfS => x(11, 12, r()?, s()?, t()?),
        MovtS => x(11, 13, r()?, s()?, t()?),

        // ---- op0 = 1: L32R
        L32r => {
            in_range(simm, -262144, -4, "l32r offset")?;
            aligned(simm, 4, "l32r offset")?;
            1 | (t()? << 4) | (((imm >> 2) & 0xFFFF) << 8)
        }

        // ---- op0 = 2: LSAI
        L8ui | S8i => {
            in_range(simm, 0, 255, "offset")?;
            word(2, 0, 0, if i.op == L8ui { 0 } else { 4 }, s()?, t()?) | (imm << 16)
        }
        L16ui | L16si | S16i => {
            in_range(simm, 0, 510, "offset")?;
            aligned(simm, 2, "offset")?;
            let rv = match i.op {
                L16ui => 1,
                L16si => 9,
                _ => 5,
            };
            word(2, 0, 0, rv, s()?, t()?) | ((imm >> 1) << 16)
        }
        L32i | S32i | L32ai | S32ri | S32c1i => {
            in_range(simm, 0, 1020, "offset")?;
            aligned(simm, 4, "offset")?;
            let rv = match i.op {
                L32i => 2,
                S32i => 6,
                L32ai => 11,
                S32ri => 15,
                _ => 14,
            };
            word(2, 0, 0, rv, s()?, t()?) | ((imm >> 2) << 16)
        }
        Movi => {
            in_range(simm, -2048, 2047, "movi immediate")?;
            word(2, 0, 0, 10, (imm >> 8) & 15, t()?) | ((imm & 0xFF) << 16)
        }
        Addi => {
            in_range(simm, -128, 127, "addi immediate")?;
            word(2, 0, 0, 12, s()?, t()?) | ((imm & 0xFF) << 16)
        }
        Addmi => {
            in_range(simm, -32768, 32512, "addmi immediate")?;
            aligned(simm, 256, "addmi immediate")?;
            word(2, 0, 0, 13, s()?, t()?) | (((imm >> 8) & 0xFF) << 16)
        }

        // ---- op0 = 3: FP immediate loads/stores
        Lsi | Ssi | Lsiu | Ssiu => {
            in_range(simm, 0, 1020, "offset")?;
            aligned(simm, 4, "offset")?;
            let rv = match i.op {
                Lsi => 0,
                Ssi => 4,
                Lsiu => 8,
                _ => 12,
            };
            word(3, 0, 0, rv, s()?, t()?) | ((imm >> 2) << 16)
        }

        // ---- op0 = 4: MAC16, raw
        Mac16 => {
            in_range(simm, 0, 255, "mac16 op1|op2<<4")?;
            word(4, imm & 15, imm >> 4, r()?, s()?, t()?)
        }

        // ---- op0 = 5: CALLn
        Call0 | Call4 | Call8 | Call12 => {
            let n = match i.op {
                Call0 => 0,
                Call4 => 1,
                Call8 => 2,
                _ => 3,
            };
            if imm & 3 != 0 {
                return err(format!("call target {imm:#x} is not 4-byte aligned"));
            }
            let off = dist(imm, (pc & !3).wrapping_add(4));
            in_range(off, -(1 << 19), (1 << 19) - 4, "call offset")?;
            5 | (n << 4) | ((((off >> 2) as u32) & 0x3FFFF) << 6)
        }

        // ---- op0 = 6: J, BZ, BI0, BI1
        J => {
            let off = dist(imm, pc.wrapping_add(4));
            in_range(off, -(1 << 17), (1 << 17) - 1, "j offset")?;
            6 | (((off as u32) & 0x3FFFF) << 6)
        }
        Beqz | Bnez | Bltz | Bgez => {
            let m = match i.op {
                Beqz => 0,
                Bnez => 1,
                Bltz => 2,
                _ => 3,
            };
            let off = dist(imm, pc.wrapping_add(4));
            in_range(off, -2048, 2047, "branch offset")?;
            6 | (1 << 4) | (m << 6) | (s()? << 8) | (((off as u32) & 0xFFF) << 12)
        }
        Beqi | Bnei | Blti | Bgei => {
            let m = match i.op {
                Beqi => 0,
                Bnei => 1,
                Blti => 2,
                _ => 3,
            };
            6 | (2 << 4) | (m << 6) | (s()? << 8) | (r()? << 12) | (off8(imm, pc)? << 16)
        }
        Entry => {
            in_range(simm, 0, 32760, "entry frame size")?;
            aligned(simm, 8, "entry frame size")?;
            6 | (3 << 4) | (s()? << 8) | ((imm >> 3) << 12)
        }
        Bf | Bt => {
            let rv = if i.op == Bf { 0 } else { 1 };
            6 | (3 << 4) | (1 << 6) | (s()? << 8) | (rv << 12) | (off8(imm, pc)? << 16)
        }
        Loop | Loopnez | Loopgtz => {
            let rv = match i.op {
                Loop => 8,
                Loopnez => 9,
                _ => 10,
            };
            let off = dist(imm, pc.wrapping_add(4));
            if !(0..=255).contains(&off) {
                return err(format!("loop end {imm:#x} out of reach from {pc:#x}"));
            }
            6 | (3 << 4) | (1 << 6) | (s()? << 8) | (rv << 12) | ((off as u32) << 16)
        }
        Bltui | Bgeui => {
            let m = if i.op == Bltui { 2 } else { 3 };
            6 | (3 << 4) | (m << 6) | (s()? << 8) | (r()? << 12) | (off8(imm, pc)? << 16)
        }

        // ---- op0 = 7: B
        Bnone | Beq | Blt | Bltu | Ball | Bbc | Bany | Bne | Bge | Bgeu | Bnall | Bbs => {
            let rv = match i.op {
                Bnone => 0,
                Beq => 1,
                Blt => 2,
                Bltu => 3,
                Ball => 4,
                Bbc => 5,
                Bany => 8,
                Bne => 9,
                Bge => 10,
                Bgeu => 11,
                Bnall => 12,
                _ => 13,
            };
            word(7, 0, 0, rv, s()?, t()?) | (off8(imm, pc)? << 16)
        }
        Bbci | Bbsi => {
            if i.t > 31 {
                return err(format!("bit number {} out of range 0..=31", i.t));
            }
            let bit = i.t as u32;
            let rv = if i.op == Bbci { 6 } else { 14 } | (bit >> 4);
            word(7, 0, 0, rv, s()?, bit & 15) | (off8(imm, pc)? << 16)
        }
    };
    Ok((w, 3))
}

/// The 8-bit signed offset field of a BRI8/RRI8 branch at `pc` to `target`.
fn off8(target: u32, pc: u32) -> Result<u32, AsmError> {
    let off = dist(target, pc.wrapping_add(4));
    if !(-128..=127).contains(&off) {
        return err(format!("branch target {target:#x} out of reach from {pc:#x}"));
    }
    Ok((off as u32) & 0xFF)
}

// ------------------------------------------------------------------------------ names

pub use crate::regs::{sr_number, ur_number};

// ------------------------------------------------------------------------------ text

/// One statement after the first pass.
enum Stmt<'a> {
    Insn { mnem: String, ops: Vec<&'a str> },
    Data { size: u8, vals: Vec<&'a str> },
    Fill { len: u32, val: u8 },
}

struct Item<'a> {
    line: usize,
    addr: u32,
    stmt: Stmt<'a>,
}

/// Assembles `src` for loading at `base`; returns the bytes from `base` on.
pub fn assemble(src: &str, base: u32) -> Result<Vec<u8>, AsmError> {
    let (items, syms, end) = pass1(src, base)?;
    let mut out = vec![0u8; end.wrapping_sub(base) as usize];
    for it in &items {
        let at = |e: AsmError| AsmError { line: it.line, msg: e.msg };
        let off = it.addr.wrapping_sub(base) as usize;
        match &it.stmt {
            Stmt::Fill { len, val } => {
                out[off..off + *len as usize].fill(*val);
            }
            Stmt::Data { size, vals } => {
                for (k, v) in vals.iter().enumerate() {
                    let x = eval(v, it.addr, &syms).map_err(at)?;
                    let o = off + k * *size as usize;
                    match size {
                        1 => {
                            in_range(x as i32 as i64, -128, 255, "byte").map_err(at)?;
                            out[o] = x as u8
                        }
                        2 => {
                            in_range(x as i32 as i64, -32768, 65535, "half-word").map_err(at)?;
                            out[o..o + 2].copy_from_slice(&(x as u16).to_le_bytes())
                        }
                        _ => out[o..o + 4].copy_from_slice(&x.to_le_bytes()),
                    }
                }
            }
            Stmt::Insn { mnem, ops } => {
                let insn = parse_insn(mnem, ops, it.addr, &syms).map_err(at)?;
                let (w, len) = encode(&insn, it.addr).map_err(at)?;
                out[off..off + len as usize].copy_from_slice(&w.to_le_bytes()[..len as usize]);
            }
        }
    }
    Ok(out)
}

/// Assembles `src` at `base` and also returns the label addresses.
pub fn assemble_with_symbols(src: &str, base: u32) -> Result<(Vec<u8>, HashMap<String, u32>), AsmError> {
    let bytes = assemble(src, base)?;
    let (_, syms, _) = pass1(src, base)?;
    Ok((bytes, syms))
}

fn strip_comment(l: &str) -> &str {
    let mut end = l.len();
    if let Some(p) = l.find('#') {
        end = end.min(p);
    }
    if let Some(p) = l.find("//") {
        end = end.min(p);
    }
    &l[..end]
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == '.')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' || ch == '$')
}

fn split_operands(s: &str) -> Vec<&str> {
    let s = s.trim();
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|x| x.trim()).collect()
}

type Pass1<'a> = (Vec<Item<'a>>, HashMap<String, u32>, u32);

fn pass1(src: &str, base: u32) -> Result<Pass1<'_>, AsmError> {
    let mut items = Vec::new();
    let mut syms: HashMap<String, u32> = HashMap::new();
    let mut pc = base;
    let mut end = base;
    for (ln, raw) in src.lines().enumerate() {
        let line = ln + 1;
        let at = |msg: String| AsmError { line, msg };
        for stmt in strip_comment(raw).split(';') {
            let mut st = stmt.trim();
            // Labels.
            while let Some(p) = st.find(':') {
                let name = st[..p].trim();
                if !is_ident(name) {
                    break;
                }
                if syms.insert(name.to_string(), pc).is_some() {
                    return Err(at(format!("label `{name}` defined twice")));
                }
                st = st[p + 1..].trim();
            }
            if st.is_empty() {
                continue;
            }
            let (head, rest) = match st.find(char::is_whitespace) {
                Some(p) => (&st[..p], st[p..].trim()),
                None => (st, ""),
            };
            let head_l = head.to_ascii_lowercase();
            let ops = split_operands(rest);
            let konst = |e: &str| -> Result<u32, AsmError> {
                eval(e, pc, &syms).map_err(|e| AsmError { line, msg: e.msg })
            };
            let stmt = match head_l.as_str() {
                ".word" | ".long" | ".4byte" | ".int" => Stmt::Data { size: 4, vals: ops },
                ".short" | ".half" | ".2byte" | ".hword" => Stmt::Data { size: 2, vals: ops },
                ".byte" => Stmt::Data { size: 1, vals: ops },
                ".align" | ".balign" | ".p2align" => {
                    let v = konst(ops.first().copied().unwrap_or("4"))?;
                    let a = if head_l == ".p2align" { 1u32 << v.min(16) } else { v };
                    if a == 0 || !a.is_power_of_two() {
                        return Err(at(format!("alignment {a} is not a power of two")));
                    }
                    let len = pc.wrapping_neg() & (a - 1);
                    let val = match ops.get(1) {
                        Some(v) => konst(v)? as u8,
                        None => 0,
                    };
                    Stmt::Fill { len, val }
                }
                ".space" | ".skip" | ".zero" => {
                    let len = konst(ops.first().copied().unwrap_or("0"))?;
                    let val = match ops.get(1) {
                        Some(v) => konst(v)? as u8,
                        None => 0,
                    };
                    Stmt::Fill { len, val }
                }
                ".org" => {
                    let target = konst(ops.first().copied().unwrap_or("0"))?;
                    if target < pc {
                        return Err(at(format!(".org {target:#x} moves backwards from {pc:#x}")));
                    }
                    Stmt::Fill { len: target - pc, val: 0 }
                }
                ".text" | ".data" | ".global" | ".globl" | ".type" | ".size" | ".section"
                | ".literal_position" | ".begin" | ".end" => continue,
                h if h.starts_with('.') => return Err(at(format!("unknown directive `{head}`"))),
                _ => Stmt::Insn { mnem: head_l.clone(), ops },
            };
            let len = match &stmt {
                Stmt::Insn { mnem, .. } => insn_size(mnem).ok_or_else(|| at(format!("unknown mnemonic `{head}`")))?,
                Stmt::Data { size, vals } => *size as u32 * vals.len() as u32,
                Stmt::Fill { len, .. } => *len,
            };
            items.push(Item { line, addr: pc, stmt });
            pc = pc.wrapping_add(len);
            end = pc;
        }
    }
    Ok((items, syms, end))
}

/// Size of an instruction from its mnemonic alone (None: unknown mnemonic).
fn insn_size(mnem: &str) -> Option<u32> {
    if mnem == "mov" || is_mac16_name(mnem) {
        return Some(3);
    }
    let (op, _) = split_mnemonic(mnem)?;
    Some(op.info().size() as u32)
}

/// The op of a mnemonic and, for the register-suffix forms (`rsr.ps`, `rur.fcr`: ops whose
/// last operand is a special or user register), the register name.
fn split_mnemonic(m: &str) -> Option<(Op, Option<&str>)> {
    if let Some((base, name)) = m.split_once('.') {
        if let Some(op) = Op::by_name(base) {
            if !name.is_empty() && matches!(op.info().operands.last(), Some(Opd::Sr { .. } | Opd::Ur)) {
                return Some((op, Some(name)));
            }
        }
    }
    Op::by_name(m).map(|op| (op, None))
}

fn parse_number(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b.trim()),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(&h.replace('_', ""), 16).ok()?
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        i64::from_str_radix(&b.replace('_', ""), 2).ok()?
    } else if body.starts_with(|c: char| c.is_ascii_digit()) {
        body.replace('_', "").parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

/// Evaluates `term (+|- term)*` where a term is a number, a label or `.`.
fn eval(e: &str, pc: u32, syms: &HashMap<String, u32>) -> Result<u32, AsmError> {
    let e = e.trim();
    if e.is_empty() {
        return err("missing operand");
    }
    let mut total: i64 = 0;
    let mut sign = 1i64;
    let mut rest = e;
    loop {
        rest = rest.trim_start();
        // Leading unary sign(s).
        while let Some(r) = rest.strip_prefix('-') {
            sign = -sign;
            rest = r.trim_start();
        }
        if let Some(r) = rest.strip_prefix('+') {
            rest = r.trim_start();
        }
        let end = rest[1.min(rest.len())..].find(['+', '-']).map(|p| p + 1).unwrap_or(rest.len());
        let term = rest[..end].trim();
        let v = if term == "." {
            pc as i64
        } else if let Some(v) = parse_number(term) {
            v
        } else if let Some(v) = syms.get(term) {
            *v as i64
        } else if is_ident(term) {
            return err(format!("undefined symbol `{term}`"));
        } else {
            return err(format!("bad expression `{e}`"));
        };
        total += sign * v;
        rest = &rest[end..];
        if rest.is_empty() {
            break;
        }
        sign = if rest.starts_with('-') { -1 } else { 1 };
        rest = &rest[1..];
    }
    if total < -(1i64 << 31) || total > u32::MAX as i64 {
        return err(format!("value {total} does not fit in 32 bits"));
    }
    Ok(total as u32)
}

fn reg(s: &str, prefix: char) -> Result<u8, AsmError> {
    let s = s.trim();
    let sl = s.to_ascii_lowercase();
    if prefix == 'a' && sl == "sp" {
        return Ok(1);
    }
    if let Some(n) = sl.strip_prefix(prefix) {
        if let Ok(v) = n.parse::<u8>() {
            if v <= 15 && !n.starts_with('+') {
                return Ok(v);
            }
        }
    }
    err(format!("expected {prefix}0..{prefix}15, found `{s}`"))
}

fn parse_insn(mnem: &str, ops: &[&str], pc: u32, syms: &HashMap<String, u32>) -> Result<Insn, AsmError> {
    let want = |k: usize| -> Result<(), AsmError> {
        if ops.len() != k {
            return err(format!("`{mnem}` takes {k} operand(s), found {}", ops.len()));
        }
        Ok(())
    };
    if mnem == "mov" {
        // `mov ar, as` is `or ar, as, as`.
        want(2)?;
        let (r, s) = (reg(ops[0], 'a')?, reg(ops[1], 'a')?);
        return Ok(Insn { imm: 0, op: Op::Or, len: 3, r, s, t: s, wq: 0 });
    }
    if is_mac16_name(mnem) {
        return parse_mac16(mnem, ops);
    }
    let (op, suffix) = split_mnemonic(mnem).ok_or_else(|| AsmError::new(format!("unknown mnemonic `{mnem}`")))?;
    let info = op.info();
    // A register named in the mnemonic is the last operand, already given.
    let suffix_reg = match suffix {
        Some(name) => Some(
            match info.operands.last() {
                Some(Opd::Ur) => ur_number(name),
                _ => sr_number(name),
            }
            .ok_or_else(|| AsmError::new(format!("unknown register name `{name}`")))?,
        ),
        None => None,
    };
    want(info.operands.len() - suffix_reg.is_some() as usize)?;
    let mut i = Insn { imm: 0, op, len: info.size(), r: 0, s: 0, t: 0, wq: 0 };
    for (k, &opd) in info.operands.iter().enumerate() {
        let v = || eval(ops[k], pc, syms);
        match opd {
            Opd::A(f) => *field(&mut i, f) = reg(ops[k], 'a')?,
            Opd::F(f) => *field(&mut i, f) = reg(ops[k], 'f')?,
            Opd::B(f) => *field(&mut i, f) = reg(ops[k], 'b')?,
            Opd::Num(f, max) => {
                let n = v()?;
                if n > max as u32 {
                    return err(format!("`{mnem}` operand {}: {n} out of range 0..={max}", k + 1));
                }
                *field(&mut i, f) = n as u8;
            }
            Opd::Imm | Opd::SImm | Opd::Target => i.imm = v()?,
            Opd::Literal => i.imm = v()?.wrapping_sub(pc.wrapping_add(3) & !3),
            Opd::B4Const | Opd::B4ConstU => {
                let c = v()?;
                let idx = if opd == Opd::B4ConstU {
                    B4CONSTU.iter().position(|&k| k == c)
                } else {
                    B4CONST.iter().position(|&k| k == c as i32)
                };
                i.r = idx.ok_or_else(|| AsmError::new(format!("`{mnem}` cannot compare with {}", c as i32)))? as u8;
            }
            Opd::MaskWidth => {
                let bits = v()?;
                if !(1..=16).contains(&bits) {
                    return err(format!("extui width {bits} out of range 1..=16"));
                }
                i.imm = (1u32 << bits) - 1;
            }
            Opd::Sr { .. } | Opd::Ur => {
                i.imm = match suffix_reg {
                    Some(n) => n,
                    None => {
                        let s = ops[k].trim();
                        let named = if opd == Opd::Ur { ur_number(s) } else { sr_number(s) };
                        match named {
                            Some(n) => n,
                            None => v()?,
                        }
                    }
                }
            }
        }
    }
    Ok(i)
}

fn field(i: &mut Insn, f: Field) -> &mut u8 {
    match f {
        Field::R => &mut i.r,
        Field::S => &mut i.s,
        Field::T => &mut i.t,
    }
}

// ------------------------------------------------------------------------------ MAC16

/// `umul|mul|mula|muls . aa|ad|da|dd . ll|hl|lh|hh [. ldinc|lddec]`, `ldinc`, `lddec`.
fn is_mac16_name(m: &str) -> bool {
    if m == "ldinc" || m == "lddec" {
        return true;
    }
    let p: Vec<&str> = m.split('.').collect();
    (p.len() == 3 || p.len() == 4)
        && matches!(p[0], "umul" | "mul" | "mula" | "muls")
        && matches!(p[1], "aa" | "ad" | "da" | "dd")
        && matches!(p[2], "ll" | "hl" | "lh" | "hh")
        && (p.len() == 3 || matches!(p[3], "ldinc" | "lddec"))
}

/// MAC16 mnemonics into the raw `Op::Mac16` form (`imm` = op1 | op2 << 4). Operand
/// constraints (m0/m1 for mx, m2/m3 for my, the forms that exist) are checked.
fn parse_mac16(mnem: &str, ops: &[&str]) -> Result<Insn, AsmError> {
    let want = |k: usize| -> Result<(), AsmError> {
        if ops.len() != k {
            return err(format!("`{mnem}` takes {k} operand(s), found {}", ops.len()));
        }
        Ok(())
    };
    let a = |k: usize| reg(ops[k], 'a');
    let m = |k: usize| reg(ops[k], 'm');
    let mx = |k: usize| -> Result<u8, AsmError> {
        let v = m(k)?;
        if v > 1 {
            return err(format!("`{}`: expected m0 or m1", ops[k]));
        }
        Ok(v)
    };
    let my = |k: usize| -> Result<u8, AsmError> {
        let v = m(k)?;
        if !(2..=3).contains(&v) {
            return err(format!("`{}`: expected m2 or m3", ops[k]));
        }
        Ok(v - 2)
    };
    let mw = |k: usize| -> Result<u8, AsmError> {
        let v = m(k)?;
        if v > 3 {
            return err(format!("`{}`: expected m0..m3", ops[k]));
        }
        Ok(v)
    };
    let raw = |op1: u32, op2: u32, r: u8, s: u8, t: u8| Insn { imm: op1 | (op2 << 4), op: Op::Mac16, len: 3, r, s, t, wq: 0 };
    if mnem == "ldinc" || mnem == "lddec" {
        want(2)?;
        return Ok(raw(0, if mnem == "ldinc" { 8 } else { 9 }, mw(0)?, a(1)?, 0));
    }
    let p: Vec<&str> = mnem.split('.').collect();
    let kind = match p[0] {
        "umul" => 0,
        "mul" => 1,
        "mula" => 2,
        _ => 3,
    };
    let half = match p[2] {
        "ll" => 0,
        "hl" => 1,
        "lh" => 2,
        _ => 3,
    };
    let op1 = (kind << 2) | half;
    if kind == 0 && p[1] != "aa" {
        return err(format!("`{mnem}` does not exist (UMUL is AA only)"));
    }
    if p.len() == 4 {
        if kind != 2 || !matches!(p[1], "da" | "dd") {
            return err(format!("`{mnem}` does not exist (loads come with MULA.DA/DD only)"));
        }
        want(4)?;
        let inc = p[3] == "ldinc";
        let w = mw(0)?;
        let s = a(1)?;
        let x = mx(2)?;
        return Ok(if p[1] == "da" {
            raw(op1, if inc { 4 } else { 5 }, (x << 2) | w, s, a(3)?)
        } else {
            raw(op1, if inc { 0 } else { 1 }, (x << 2) | w, s, my(3)? << 2)
        });
    }
    want(2)?;
    Ok(match p[1] {
        "aa" => raw(op1, 7, 0, a(0)?, a(1)?),
        "ad" => raw(op1, 3, 0, a(0)?, my(1)? << 2),
        "da" => raw(op1, 6, mx(0)? << 2, 0, a(1)?),
        _ => raw(op1, 2, mx(0)? << 2, 0, my(1)? << 2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    fn one(src: &str, pc: u32) -> Vec<u8> {
        assemble(src, pc).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn known_encodings() {
        // Reference words from the ISA's opcode tables.
        assert_eq!(one("add a2, a3, a4", 0), [0x40, 0x23, 0x80]);
        assert_eq!(one("nop.n", 0), [0x3D, 0xF0]);
        assert_eq!(one("retw.n", 0), [0x1D, 0xF0]);
        assert_eq!(one("ret", 0), [0x80, 0x00, 0x00]);
        assert_eq!(one("nop", 0), [0xF0, 0x20, 0x00]);
        assert_eq!(one("syscall", 0), [0x00, 0x50, 0x00]);
        assert_eq!(one("entry a1, 32", 0), [0x36, 0x41, 0x00]);
        assert_eq!(one("rsr.ps a2", 0), one("rsr a2, 230", 0));
        assert_eq!(one("rsr a2, ps", 0), one("rsr a2, 230", 0));
        assert_eq!(one("movi a3, -5", 0), [0x32, 0xAF, 0xFB]);
        assert_eq!(one("mov a2, a3", 0), one("or a2, a3, a3", 0));
    }

    #[test]
    fn labels_and_branches() {
        let src = "start: beqz a2, fwd\n nop.n\nfwd: j start\n .align 4\nlit: .word 0x12345678\n l32r a5, lit";
        let b = one(src, 0x1000);
        // beqz at 0x1000 to fwd = 0x1005: offset 1.
        let i = decode(u32::from_le_bytes([b[0], b[1], b[2], 0]), 0x1000);
        assert_eq!((i.op, i.s, i.imm), (Op::Beqz, 2, 0x1005));
        let i = decode(u32::from_le_bytes([b[5], b[6], b[7], 0]), 0x1005);
        assert_eq!((i.op, i.imm), (Op::J, 0x1000));
        assert_eq!(&b[8..12], &0x12345678u32.to_le_bytes());
        let i = decode(u32::from_le_bytes([b[12], b[13], b[14], 0]), 0x100C);
        assert_eq!((i.op, i.t, i.imm as i32), (Op::L32r, 5, -4));
    }

    #[test]
    fn range_errors() {
        assert!(assemble("movi a2, 2048", 0).is_err());
        assert!(assemble("addi a2, a2, 128", 0).is_err());
        assert!(assemble("l32i a2, a1, 2", 0).is_err());
        assert!(assemble("beqi a2, 9, x\nx:", 0).is_err());
        assert!(assemble("x: .space 300\n beq a2, a3, x", 0).is_err());
        assert!(assemble("beqz.n a2, x\n nop.n\n nop.n\nx:", 0).is_ok());
        assert!(assemble("x: beqz.n a2, x", 0).is_err()); // backwards
        assert!(assemble("foo a2", 0).is_err());
        assert!(assemble("add a2, a3", 0).is_err());
        assert!(assemble("add a2, a3, a16", 0).is_err());
        assert!(assemble("l32r a2, x\nx: .word 0", 0).is_err()); // literal must be below
    }

    /// Small deterministic generator for the round-trip property.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn encode_inverts_decode_on_random_words() {
        let mut rng = Rng(0x5EED);
        let mut checked = 0;
        for k in 0..400_000u32 {
            let w = rng.next() as u32 & 0xFF_FFFF;
            // Exercise odd PCs and page/sign boundaries too.
            let pc = match k % 4 {
                0 => 0x4008_0000 + (k & 0xFFF),
                1 => rng.next() as u32,
                2 => 0x10 + (k & 3),
                _ => 0xFFFF_FF00 | (k & 0xFF),
            };
            let i = decode(w, pc);
            if i.op == Op::Illegal {
                continue;
            }
            let (enc, len) = encode(&i, pc).unwrap_or_else(|e| panic!("{w:06x} {i:?}: {e}"));
            assert_eq!(len, i.len, "{w:06x} {i:?}");
            let mask = if len == 2 { 0xFFFF } else { 0xFF_FFFF };
            assert_eq!(enc, w & mask, "word {w:06x} at {pc:#x} -> {i:?} -> {enc:06x}");
            checked += 1;
        }
        assert!(checked > 200_000);
    }
}
