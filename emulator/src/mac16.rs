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

use crate::decode::Insn;

pub(crate) const ACC_MASK: u64 = (1 << 40) - 1;

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
pub(crate) mod tests {
    use super::*;
    use crate::decode::{decode as decode_word, Op};

    /// The raw MAC16 word: op0 = 4.
    pub(crate) fn word(op2: u32, op1: u32, r: u32, s: u32, t: u32) -> u32 {
        4 | t << 4 | s << 8 | r << 12 | op1 << 16 | op2 << 20
    }

    pub(crate) fn insn(op2: u32, op1: u32, r: u32, s: u32, t: u32) -> Insn {
        let i = decode_word(word(op2, op1, r, s, t), 0);
        assert_eq!(i.op, Op::Mac16);
        i
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
