//! Disassembler in GNU objdump syntax, built on the shared decoder ([`crate::decode`]).
//!
//! `add.n a2, a3, a4`, `l32i a2, a1, 8`, `l32r a3, 0x40001234`, `rsr.ps a2`, `add.s f0, f1, f2`,
//! `mula.dd.ll.ldinc m0, a2, m1, m2`. Immediates are decimal, addresses `0x`-prefixed hex (the
//! caller can append symbols). Special and user registers print by name (`rsr.intenable`,
//! `rur.fcr`); numbers without a name on the ESP32 print as `rsr a2, 99`. Encodings the ESP32
//! does not have print as `.byte 0x.., 0x.., 0x..`.
//!
//! FP update loads/stores print with the ESP32 toolchain's names (`lsip`, `ssip`, `lsxp`,
//! `ssxp`; the ESP32 configuration has these at the encodings other cores use for
//! LSIU/SSIU/LSXU/SSXU).
//!
//! L32R targets assume LITBASE is off (it does not exist on the ESP32).

use crate::decode::{decode, insn_len, Insn, Op, B4CONST, B4CONSTU};
use crate::isa::{Field, Opd};

pub use crate::regs::{sr_name, ur_name};

/// Mnemonic of an operation (without operands), from the instruction table. `Op::Mac16`
/// gives `"mac16"`; its real name comes from [`crate::mac16::mnemonic`].
pub fn op_name(op: Op) -> &'static str {
    op.name()
}

/// `.byte 0x.., 0x..` for the raw bytes of an instruction word.
fn raw_bytes(w: u32, len: usize) -> String {
    let parts: Vec<String> = (0..len).map(|k| format!("{:#04x}", (w >> (8 * k)) & 0xFF)).collect();
    format!(".byte {}", parts.join(", "))
}

/// Disassembles a decoded instruction located at `pc`.
pub fn disasm(i: &Insn, pc: u32) -> String {
    match i.op {
        Op::Undecoded | Op::Hook => i.op.name().to_string(),
        Op::Illegal => raw_bytes(i.imm, i.len.max(1) as usize),
        Op::Mac16 => crate::mac16::mnemonic(i).unwrap_or_else(|| {
            // Reassemble the raw word from the fields the decoder kept.
            let w = 4
                | (i.t as u32) << 4
                | (i.s as u32) << 8
                | (i.r as u32) << 12
                | (i.imm & 0xF) << 16
                | ((i.imm >> 4) & 0xF) << 20;
            raw_bytes(w, 3)
        }),
        _ => operands(i, pc),
    }
}

/// The mnemonic and operands as the table lays them out. A named special or user register
/// becomes a suffix of the mnemonic (`rsr.ps a2`); without a name it is a number operand.
fn operands(i: &Insn, pc: u32) -> String {
    let info = i.op.info();
    let mut head = info.name.to_string();
    let mut ops: Vec<String> = Vec::with_capacity(info.operands.len());
    for &opd in info.operands {
        let field = |f: Field| match f {
            Field::R => i.r,
            Field::S => i.s,
            Field::T => i.t,
        };
        let text = match opd {
            Opd::A(f) => format!("a{}", field(f)),
            Opd::F(f) => format!("f{}", field(f)),
            Opd::B(f) => format!("b{}", field(f)),
            Opd::Num(f) | Opd::Num5(f, _) => field(f).to_string(),
            Opd::Imm(_) => i.imm.to_string(),
            Opd::SImm(_) => (i.imm as i32).to_string(),
            Opd::Target(_) => format!("{:#x}", i.imm),
            Opd::Literal => format!("{:#x}", (pc.wrapping_add(3) & !3).wrapping_add(i.imm)),
            Opd::B4Const => B4CONST[i.r as usize & 15].to_string(),
            Opd::B4ConstU => B4CONSTU[i.r as usize & 15].to_string(),
            Opd::MaskWidth => i.imm.count_ones().to_string(),
            Opd::Sr { write } => match sr_name(i.imm, write) {
                Some(name) => {
                    head = format!("{head}.{name}");
                    continue;
                }
                None => i.imm.to_string(),
            },
            Opd::Ur(_) => match ur_name(i.imm) {
                Some(name) => {
                    head = format!("{head}.{name}");
                    continue;
                }
                None => i.imm.to_string(),
            },
        };
        ops.push(text);
    }
    if ops.is_empty() {
        head
    } else {
        format!("{head} {}", ops.join(", "))
    }
}

/// Decodes and disassembles the instruction at the start of `bytes` (located at `pc`).
/// Returns the text and the instruction's length; if `bytes` is shorter than the
/// instruction, the available bytes print as `.byte` and their count is returned.
pub fn disasm_bytes(bytes: &[u8], pc: u32) -> (String, u8) {
    let Some(&b0) = bytes.first() else {
        return (String::new(), 0);
    };
    let len = insn_len(b0) as usize;
    if bytes.len() < len {
        let w = bytes.iter().rev().fold(0u32, |acc, &b| acc << 8 | b as u32);
        return (raw_bytes(w, bytes.len()), bytes.len() as u8);
    }
    let w = bytes[..len].iter().rev().fold(0u32, |acc, &b| acc << 8 | b as u32);
    let i = decode(w, pc);
    (disasm(&i, pc), i.len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const PC: u32 = 0x4008_0000;

    fn dis(w: u32, pc: u32) -> String {
        let bytes = w.to_le_bytes();
        disasm_bytes(&bytes[..3], pc).0
    }

    #[test]
    fn examples() {
        let cases: &[(u32, u32, &str)] = &[
            (0x234a, PC, "add.n a2, a3, a4"),
            (0x135900, PC, "wsr.mmid a0"),
            (0x035900, PC, "rsr a0, 89"),
            (0x022122, PC, "l32i a2, a1, 8"),
            (0x000136, PC, "entry a1, 0"),
            (0x004136, PC, "entry a1, 32"),
            (0x03e322, PC, "s32c1i a2, a3, 12"),
            (0x0a0120, PC, "add.s f0, f1, f2"),
            (0x000000, PC, "ill"),
            (0x03e620, PC, "rsr.ps a2"),
            (0x13e430, PC, "wsr.intenable a3"),
            (0x61e400, PC, "xsr.intenable a0"),
            (0x13e200, PC, "wsr.intset a0"),
            (0x03e200, PC, "rsr.interrupt a0"),
            (0x03eb20, PC, "rsr.prid a2"),
            (0x037b20, PC, "rsr a2, 123"),
            (0xe32e80, PC, "rur.fcr a2"),
            (0xf3e920, PC, "wur.fsr a2"),
            (0xe30e70, PC, "rur.threadptr a0"),
            (0x000090, PC, "retw"),
            (0xf01d, PC, "retw.n"),
            (0xf03d, PC, "nop.n"),
            (0xf06d, PC, "ill.n"),
            (0x0020f0, PC, "nop"),
            (0x0020c0, PC, "memw"),
            (0x0000e0 | 3 << 8, PC, "callx8 a3"),
            (0x004000 | 1 << 8 | 15 << 4, PC, "break 1, 15"),
            (0xf12d, PC, "break.n 1"),
            (0x006320, PC, "rsil a2, 3"),
            (0x007000, PC, "waiti 0"),
            (0x003210, PC, "rfi 2"),
            (0xfa0040 | 2 << 12 | 3 << 8, PC, "rfr a2, f3"),
            (0xfa0050 | 2 << 12 | 3 << 8, PC, "wfr f2, a3"),
            (0xfa0030 | 2 << 12 | 1 << 8, PC, "const.s f2, 1"),
            (0x9a0000 | 2 << 12 | 3 << 8 | 4 << 4, PC, "trunc.s a2, f3, 4"),
            (0xca0000 | 2 << 12 | 3 << 8, PC, "float.s f2, a3, 0"),
            (0x2b0000 | 1 << 12 | 3 << 8 | 4 << 4, PC, "oeq.s b1, f3, f4"),
            (0xcb0000 | 1 << 12 | 3 << 8 | 4 << 4, PC, "movf.s f1, f3, b4"),
            (0x8b0000 | 1 << 12 | 3 << 8 | 4 << 4, PC, "moveqz.s f1, f3, a4"),
            (0x6a0000 | 1 << 12 | 3 << 8 | 4 << 4, PC, "maddn.s f1, f3, f4"),
            (0xfa0070 | 1 << 12 | 3 << 8, PC, "div0.s f1, f3"),
            (0x010203, PC, "lsi f0, a2, 4"),
            (0x018203, PC, "lsip f0, a2, 4"),
            (0x080000 | 1 << 12 | 2 << 8 | 3 << 4, PC, "lsx f1, a2, a3"),
            (0x740004 | 2 << 8 | 3 << 4, PC, "mul.aa.ll a2, a3"),
            (0x800004 | 1 << 12 | 2 << 8, PC, "ldinc m1, a2"),
            (0xffffff, PC, ".byte 0xff, 0xff"),
            (0x0f0000, PC, ".byte 0x00, 0x00, 0x0f"),
            (0x0000f4, PC, ".byte 0xf4, 0x00, 0x00"),
        ];
        for &(w, pc, text) in cases {
            assert_eq!(dis(w, pc), text, "{w:06x}");
        }
    }

    #[test]
    fn pc_relative_targets() {
        // l32r a3, with offset -1 word from (pc+3)&~3
        assert_eq!(dis(0xffff31, 0x4000_1001), "l32r a3, 0x40001000");
        assert_eq!(dis(0xffff31, 0x4000_1000), "l32r a3, 0x40000ffc");
        // call8 offset 1 from 0x400d1231 -> (0x400d1230) + 4 + 4
        assert_eq!(dis(0x000065, 0x400d_1231), "call8 0x400d1238");
        // beqz.n a2, +0 -> pc + 4
        assert_eq!(dis(0x028c, 0x4008_000c), "beqz.n a2, 0x40080010");
        // j -4 (offset field -8 => target pc + 4 - 8)
        assert_eq!(dis(((-8i32 as u32) & 0x3FFFF) << 6 | 6, 0x4008_0010), "j 0x4008000c");
        // beqi a2, 4, +0
        assert_eq!(dis(0x000226 | 4 << 12, 0x4008_0000), "beqi a2, 4, 0x40080004");
        // bltui a2, 32768
        assert_eq!(dis(0x0002b6, 0x4008_0000), "bltui a2, 32768, 0x40080004");
        // bbsi a2, 17
        assert_eq!(dis(0x00f217 | 1 << 4 << 8 >> 8, 0x4008_0000), dis(0x00f217 | 0x10, 0x4008_0000));
        assert_eq!(dis(0x00f217 | 1 << 4, 0x4008_0000), "bbsi a2, 17, 0x40080004");
        // loop a3, target = pc + 4 + imm8
        assert_eq!(dis(0x108376, 0x4008_0000), "loop a3, 0x40080014");
    }

    #[test]
    fn short_input() {
        assert_eq!(disasm_bytes(&[], 0), (String::new(), 0));
        assert_eq!(disasm_bytes(&[0x36, 0x41], 0), (".byte 0x36, 0x41".to_string(), 2));
        assert_eq!(disasm_bytes(&[0x3d, 0xf0], 0), ("nop.n".to_string(), 2));
    }

    /// Every decodable encoding disassembles to text that the project's assembler turns
    /// back into the same bytes, and every `Op` shows up.
    #[test]
    fn round_trip_through_assembler_covers_every_op() {
        let mut seen = HashSet::new();
        let mut words: Vec<u32> = (0..0x1_0000u32).collect();
        let mut x = 0x9E37_79B9u32;
        for hi in 0..0x1_0000u32 {
            // op0 and r/op1/op2 exhaustive; s and t from two pseudo-random picks each.
            let op0 = hi & 7;
            let rest = hi >> 3; // 13 bits: r(4) op1(4) op2(4) + 1 spare selecting s/t pair
            let (r, op1, op2) = (rest & 15, (rest >> 4) & 15, (rest >> 8) & 15);
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let (s, t) = (x & 15, (x >> 4) & 15);
                words.push(op0 | t << 4 | s << 8 | r << 12 | op1 << 16 | op2 << 20);
            }
            words.push(op0 | r << 12 | op1 << 16 | op2 << 20);
        }
        let mut failures = Vec::new();
        for &w in &words {
            let i = decode(w, PC);
            seen.insert(std::mem::discriminant(&i.op));
            let text = disasm(&i, PC);
            if i.op == Op::Illegal || text.starts_with(".byte") {
                assert!(text.starts_with(".byte"), "{w:06x}: {text}");
                continue;
            }
            if i.op == Op::Mac16 || text.contains(".expstate") || text.contains(".mmid") {
                // The assembler takes MAC16 in raw form only and lacks the ESP32's EXPSTATE
                // user register and write-only MMID.
                continue;
            }
            let src = text
                .replacen("lsip ", "lsiu ", 1)
                .replacen("ssip ", "ssiu ", 1)
                .replacen("lsxp ", "lsxu ", 1)
                .replacen("ssxp ", "ssxu ", 1);
            match crate::asm::assemble(&src, PC) {
                Ok(bytes) => {
                    let want = &w.to_le_bytes()[..i.len as usize];
                    if bytes != want {
                        failures.push(format!("{w:06x}: {text} -> {bytes:02x?}"));
                    }
                }
                Err(e) => failures.push(format!("{w:06x}: {text}: {e}")),
            }
        }
        assert!(failures.is_empty(), "{} failures, e.g.:\n{}", failures.len(), failures[..failures.len().min(30)].join("\n"));
        // Every Op of the table except the decoder sentinels (Illegal is one, but decodes).
        let missing: Vec<_> = crate::isa::OPS
            .iter()
            .map(|info| info.op)
            .filter(|op| !matches!(op, Op::Undecoded | Op::Hook))
            .filter(|op| !seen.contains(&std::mem::discriminant(op)))
            .collect();
        assert!(missing.is_empty(), "not covered: {missing:?}");
    }
}
