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

/// Name of special register `n` as used in `rsr.*`/`wsr.*`/`xsr.*` (`write` picks INTSET
/// over INTERRUPT for 226).
pub fn sr_name(n: u32, write: bool) -> Option<&'static str> {
    const EPC: [&str; 7] = ["epc1", "epc2", "epc3", "epc4", "epc5", "epc6", "epc7"];
    const EPS: [&str; 6] = ["eps2", "eps3", "eps4", "eps5", "eps6", "eps7"];
    const EXCSAVE: [&str; 7] =
        ["excsave1", "excsave2", "excsave3", "excsave4", "excsave5", "excsave6", "excsave7"];
    Some(match n {
        0 => "lbeg",
        1 => "lend",
        2 => "lcount",
        3 => "sar",
        4 => "br",
        5 => "litbase",
        12 => "scompare1",
        16 => "acclo",
        17 => "acchi",
        32 => "m0",
        33 => "m1",
        34 => "m2",
        35 => "m3",
        72 => "windowbase",
        73 => "windowstart",
        89 if write => "mmid",
        96 => "ibreakenable",
        97 => "memctl",
        99 => "atomctl",
        104 => "ddr",
        128 => "ibreaka0",
        129 => "ibreaka1",
        144 => "dbreaka0",
        145 => "dbreaka1",
        160 => "dbreakc0",
        161 => "dbreakc1",
        176 => "configid0",
        177..=183 => EPC[(n - 177) as usize],
        192 => "depc",
        194..=199 => EPS[(n - 194) as usize],
        208 => "configid1",
        209..=215 => EXCSAVE[(n - 209) as usize],
        224 => "cpenable",
        226 if write => "intset",
        226 => "interrupt",
        227 => "intclear",
        228 => "intenable",
        230 => "ps",
        231 => "vecbase",
        232 => "exccause",
        233 => "debugcause",
        234 => "ccount",
        235 => "prid",
        236 => "icount",
        237 => "icountlevel",
        238 => "excvaddr",
        240 => "ccompare0",
        241 => "ccompare1",
        242 => "ccompare2",
        244 => "misc0",
        245 => "misc1",
        246 => "misc2",
        247 => "misc3",
        _ => return None,
    })
}

/// Name of user register `n` as used in `rur.*`/`wur.*`.
pub fn ur_name(n: u32) -> Option<&'static str> {
    Some(match n {
        230 => "expstate",
        231 => "threadptr",
        232 => "fcr",
        233 => "fsr",
        234 => "f64r_lo",
        235 => "f64r_hi",
        236 => "f64s",
        _ => return None,
    })
}

/// Mnemonic of an operation (without operands). `Op::Mac16` gives `"mac16"`; its real name
/// comes from [`crate::mac16::mnemonic`].
pub fn op_name(op: Op) -> &'static str {
    use Op::*;
    match op {
        Undecoded => "<undecoded>",
        Hook => "<hook>",
        Illegal => ".byte",
        Ill => "ill",
        IllN => "ill.n",
        Add => "add",
        AddN => "add.n",
        Addx2 => "addx2",
        Addx4 => "addx4",
        Addx8 => "addx8",
        Sub => "sub",
        Subx2 => "subx2",
        Subx4 => "subx4",
        Subx8 => "subx8",
        And => "and",
        Or => "or",
        Xor => "xor",
        Neg => "neg",
        Abs => "abs",
        Addi => "addi",
        AddiN => "addi.n",
        Addmi => "addmi",
        Movi => "movi",
        MoviN => "movi.n",
        MovN => "mov.n",
        Moveqz => "moveqz",
        Movnez => "movnez",
        Movltz => "movltz",
        Movgez => "movgez",
        Extui => "extui",
        Slli => "slli",
        Srai => "srai",
        Srli => "srli",
        Src => "src",
        Srl => "srl",
        Sll => "sll",
        Sra => "sra",
        Ssr => "ssr",
        Ssl => "ssl",
        Ssa8l => "ssa8l",
        Ssa8b => "ssa8b",
        Ssai => "ssai",
        Nsa => "nsa",
        Nsau => "nsau",
        Min => "min",
        Max => "max",
        Minu => "minu",
        Maxu => "maxu",
        Sext => "sext",
        Clamps => "clamps",
        Mul16u => "mul16u",
        Mul16s => "mul16s",
        Mull => "mull",
        Muluh => "muluh",
        Mulsh => "mulsh",
        Quou => "quou",
        Quos => "quos",
        Remu => "remu",
        Rems => "rems",
        L8ui => "l8ui",
        L16ui => "l16ui",
        L16si => "l16si",
        L32i => "l32i",
        L32iN => "l32i.n",
        L32r => "l32r",
        L32ai => "l32ai",
        S8i => "s8i",
        S16i => "s16i",
        S32i => "s32i",
        S32iN => "s32i.n",
        S32ri => "s32ri",
        S32c1i => "s32c1i",
        L32e => "l32e",
        S32e => "s32e",
        Beqz => "beqz",
        Bnez => "bnez",
        Bltz => "bltz",
        Bgez => "bgez",
        BeqzN => "beqz.n",
        BnezN => "bnez.n",
        Beqi => "beqi",
        Bnei => "bnei",
        Blti => "blti",
        Bgei => "bgei",
        Bltui => "bltui",
        Bgeui => "bgeui",
        Bnone => "bnone",
        Beq => "beq",
        Blt => "blt",
        Bltu => "bltu",
        Ball => "ball",
        Bbc => "bbc",
        Bbci => "bbci",
        Bany => "bany",
        Bne => "bne",
        Bge => "bge",
        Bgeu => "bgeu",
        Bnall => "bnall",
        Bbs => "bbs",
        Bbsi => "bbsi",
        J => "j",
        Jx => "jx",
        Call0 => "call0",
        Call4 => "call4",
        Call8 => "call8",
        Call12 => "call12",
        Callx0 => "callx0",
        Callx4 => "callx4",
        Callx8 => "callx8",
        Callx12 => "callx12",
        Ret => "ret",
        RetN => "ret.n",
        Retw => "retw",
        RetwN => "retw.n",
        Entry => "entry",
        Movsp => "movsp",
        Rotw => "rotw",
        Loop => "loop",
        Loopnez => "loopnez",
        Loopgtz => "loopgtz",
        Rsr => "rsr",
        Wsr => "wsr",
        Xsr => "xsr",
        Rur => "rur",
        Wur => "wur",
        Rsil => "rsil",
        Waiti => "waiti",
        Rfe => "rfe",
        Rfue => "rfue",
        Rfde => "rfde",
        Rfwo => "rfwo",
        Rfwu => "rfwu",
        Rfi => "rfi",
        Rfme => "rfme",
        Break => "break",
        BreakN => "break.n",
        Syscall => "syscall",
        Simcall => "simcall",
        Isync => "isync",
        Rsync => "rsync",
        Esync => "esync",
        Dsync => "dsync",
        Excw => "excw",
        Memw => "memw",
        Extw => "extw",
        Nop => "nop",
        NopN => "nop.n",
        Rer => "rer",
        Wer => "wer",
        Ritlb0 => "ritlb0",
        Ritlb1 => "ritlb1",
        Iitlb => "iitlb",
        Pitlb => "pitlb",
        Witlb => "witlb",
        Rdtlb0 => "rdtlb0",
        Rdtlb1 => "rdtlb1",
        Idtlb => "idtlb",
        Pdtlb => "pdtlb",
        Wdtlb => "wdtlb",
        Andb => "andb",
        Andbc => "andbc",
        Orb => "orb",
        Orbc => "orbc",
        Xorb => "xorb",
        Any4 => "any4",
        All4 => "all4",
        Any8 => "any8",
        All8 => "all8",
        Bf => "bf",
        Bt => "bt",
        Movf => "movf",
        Movt => "movt",
        AddS => "add.s",
        SubS => "sub.s",
        MulS => "mul.s",
        MaddS => "madd.s",
        MsubS => "msub.s",
        MaddnS => "maddn.s",
        DivnS => "divn.s",
        RoundS => "round.s",
        TruncS => "trunc.s",
        FloorS => "floor.s",
        CeilS => "ceil.s",
        FloatS => "float.s",
        UfloatS => "ufloat.s",
        UtruncS => "utrunc.s",
        MovS => "mov.s",
        AbsS => "abs.s",
        ConstS => "const.s",
        Rfr => "rfr",
        Wfr => "wfr",
        NegS => "neg.s",
        Div0S => "div0.s",
        Recip0S => "recip0.s",
        Sqrt0S => "sqrt0.s",
        Rsqrt0S => "rsqrt0.s",
        Nexp01S => "nexp01.s",
        MksadjS => "mksadj.s",
        MkdadjS => "mkdadj.s",
        AddexpS => "addexp.s",
        AddexpmS => "addexpm.s",
        UnS => "un.s",
        OeqS => "oeq.s",
        UeqS => "ueq.s",
        OltS => "olt.s",
        UltS => "ult.s",
        OleS => "ole.s",
        UleS => "ule.s",
        MoveqzS => "moveqz.s",
        MovnezS => "movnez.s",
        MovltzS => "movltz.s",
        MovgezS => "movgez.s",
        MovfS => "movf.s",
        MovtS => "movt.s",
        Lsi => "lsi",
        Lsiu => "lsip",
        Ssi => "ssi",
        Ssiu => "ssip",
        Lsx => "lsx",
        Lsxu => "lsxp",
        Ssx => "ssx",
        Ssxu => "ssxp",
        Mac16 => "mac16",
    }
}

/// `.byte 0x.., 0x..` for the raw bytes of an instruction word.
fn raw_bytes(w: u32, len: usize) -> String {
    let parts: Vec<String> = (0..len).map(|k| format!("{:#04x}", (w >> (8 * k)) & 0xFF)).collect();
    format!(".byte {}", parts.join(", "))
}

/// Disassembles a decoded instruction located at `pc`.
pub fn disasm(i: &Insn, pc: u32) -> String {
    use Op::*;
    let n = op_name(i.op);
    let (r, s, t) = (i.r, i.s, i.t);
    let imm = i.imm;
    let simm = imm as i32;
    match i.op {
        Undecoded | Hook => n.to_string(),
        Illegal => raw_bytes(imm, i.len.max(1) as usize),
        Mac16 => crate::mac16::mnemonic(i).unwrap_or_else(|| {
            // Reassemble the raw word from the fields the decoder kept.
            let w = 4
                | (t as u32) << 4
                | (s as u32) << 8
                | (r as u32) << 12
                | (imm & 0xF) << 16
                | ((imm >> 4) & 0xF) << 20;
            raw_bytes(w, 3)
        }),

        // no operands
        Ill | IllN | Ret | RetN | Retw | RetwN | Rfe | Rfue | Rfde | Rfwo | Rfwu | Rfme
        | Syscall | Simcall | Isync | Rsync | Esync | Dsync | Excw | Memw | Extw | Nop | NopN => {
            n.to_string()
        }

        // ar, as, at
        Add | AddN | Addx2 | Addx4 | Addx8 | Sub | Subx2 | Subx4 | Subx8 | And | Or | Xor | Src
        | Min | Max | Minu | Maxu | Mul16u | Mul16s | Mull | Muluh | Mulsh | Quou | Quos | Remu
        | Rems | Moveqz | Movnez | Movltz | Movgez => format!("{n} a{r}, a{s}, a{t}"),
        Neg | Abs | Srl | Sra => format!("{n} a{r}, a{t}"),
        Sll => format!("{n} a{r}, a{s}"),
        Ssr | Ssl | Ssa8l | Ssa8b => format!("{n} a{s}"),
        Ssai => format!("{n} {imm}"),
        Nsa | Nsau | Movsp => format!("{n} a{t}, a{s}"),
        MovN => format!("{n} a{t}, a{s}"),
        Rotw => format!("{n} {simm}"),
        Slli => format!("{n} a{r}, a{s}, {imm}"),
        Srai | Srli => format!("{n} a{r}, a{t}, {imm}"),
        Extui => format!("{n} a{r}, a{t}, {s}, {}", imm.count_ones()),
        Sext | Clamps => format!("{n} a{r}, a{s}, {imm}"),
        Movi => format!("{n} a{t}, {simm}"),
        MoviN => format!("{n} a{s}, {simm}"),
        Addi | Addmi => format!("{n} a{t}, a{s}, {simm}"),
        AddiN => format!("{n} a{r}, a{s}, {simm}"),

        // loads / stores
        L8ui | L16ui | L16si | L32i | L32ai | S8i | S16i | S32i | S32ri | S32c1i => {
            format!("{n} a{t}, a{s}, {imm}")
        }
        L32iN | S32iN => format!("{n} a{t}, a{s}, {imm}"),
        L32e | S32e => format!("{n} a{t}, a{s}, {simm}"),
        L32r => format!("{n} a{t}, {:#x}", ((pc.wrapping_add(3)) & !3).wrapping_add(imm)),

        // branches / jumps / calls
        Beqz | Bnez | Bltz | Bgez | BeqzN | BnezN => format!("{n} a{s}, {imm:#x}"),
        Beqi | Bnei | Blti | Bgei => format!("{n} a{s}, {}, {imm:#x}", B4CONST[r as usize & 15]),
        Bltui | Bgeui => format!("{n} a{s}, {}, {imm:#x}", B4CONSTU[r as usize & 15]),
        Bnone | Beq | Blt | Bltu | Ball | Bbc | Bany | Bne | Bge | Bgeu | Bnall | Bbs => {
            format!("{n} a{s}, a{t}, {imm:#x}")
        }
        Bbci | Bbsi => format!("{n} a{s}, {t}, {imm:#x}"),
        J | Call0 | Call4 | Call8 | Call12 => format!("{n} {imm:#x}"),
        Jx | Callx0 | Callx4 | Callx8 | Callx12 => format!("{n} a{s}"),
        Entry => format!("{n} a{s}, {imm}"),
        Loop | Loopnez | Loopgtz => format!("{n} a{s}, {imm:#x}"),

        // special / user registers, exceptions
        Rsr | Wsr | Xsr => match sr_name(imm, i.op == Wsr) {
            Some(name) => format!("{n}.{name} a{t}"),
            None => format!("{n} a{t}, {imm}"),
        },
        Rur => match ur_name(imm) {
            Some(name) => format!("{n}.{name} a{r}"),
            None => format!("{n} a{r}, {imm}"),
        },
        Wur => match ur_name(imm) {
            Some(name) => format!("{n}.{name} a{t}"),
            None => format!("{n} a{t}, {imm}"),
        },
        Rsil => format!("{n} a{t}, {s}"),
        Waiti | Rfi | BreakN => format!("{n} {s}"),
        Break => format!("{n} {s}, {t}"),
        Rer | Wer => format!("{n} a{t}, a{s}"),
        Ritlb0 | Ritlb1 | Rdtlb0 | Rdtlb1 | Pitlb | Pdtlb | Witlb | Wdtlb => {
            format!("{n} a{t}, a{s}")
        }
        Iitlb | Idtlb => format!("{n} a{s}"),

        // booleans
        Andb | Andbc | Orb | Orbc | Xorb => format!("{n} b{r}, b{s}, b{t}"),
        Any4 | All4 | Any8 | All8 => format!("{n} b{t}, b{s}"),
        Bf | Bt => format!("{n} b{s}, {imm:#x}"),
        Movf | Movt => format!("{n} a{r}, a{s}, b{t}"),

        // FP
        AddS | SubS | MulS | MaddS | MsubS | MaddnS | DivnS => format!("{n} f{r}, f{s}, f{t}"),
        RoundS | TruncS | FloorS | CeilS | UtruncS => format!("{n} a{r}, f{s}, {t}"),
        FloatS | UfloatS => format!("{n} f{r}, a{s}, {t}"),
        MovS | AbsS | NegS | Div0S | Recip0S | Sqrt0S | Rsqrt0S | Nexp01S | MksadjS | MkdadjS
        | AddexpS | AddexpmS => format!("{n} f{r}, f{s}"),
        ConstS => format!("{n} f{r}, {s}"),
        Rfr => format!("{n} a{r}, f{s}"),
        Wfr => format!("{n} f{r}, a{s}"),
        UnS | OeqS | UeqS | OltS | UltS | OleS | UleS => format!("{n} b{r}, f{s}, f{t}"),
        MoveqzS | MovnezS | MovltzS | MovgezS => format!("{n} f{r}, f{s}, a{t}"),
        MovfS | MovtS => format!("{n} f{r}, f{s}, b{t}"),
        Lsi | Lsiu | Ssi | Ssiu => format!("{n} f{t}, a{s}, {imm}"),
        Lsx | Lsxu | Ssx | Ssxu => format!("{n} f{r}, a{s}, a{t}"),
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
        // Every Op except the decoder sentinels.
        let all = all_ops();
        let missing: Vec<_> = all
            .iter()
            .filter(|op| !matches!(op, Op::Undecoded | Op::Hook))
            .filter(|op| !seen.contains(&std::mem::discriminant(*op)))
            .collect();
        assert!(missing.is_empty(), "not covered: {missing:?}");
    }

    /// Every Op, via the names table (exhaustive match in `op_name` keeps this honest).
    fn all_ops() -> Vec<Op> {
        let mut v = Vec::new();
        let mut x = 1u32;
        for w in 0..0x100_0000u32 {
            // Cheap full scan only over a sparse subset: decode-only, no formatting.
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if !w.is_multiple_of(64) && !x.is_multiple_of(7) {
                continue;
            }
            let op = decode(w, PC).op;
            if !v.contains(&op) {
                v.push(op);
            }
        }
        v
    }

    #[test]
    fn op_names_are_distinct() {
        let ops = all_ops();
        let names: HashSet<&str> = ops.iter().map(|&o| op_name(o)).collect();
        assert_eq!(names.len(), ops.len());
        for op in ops {
            if let Some(n) = crate::asm::mnemonic(op) {
                let mine = op_name(op)
                    .replace("lsip", "lsiu")
                    .replace("ssip", "ssiu")
                    .replace("lsxp", "lsxu")
                    .replace("ssxp", "ssxu");
                assert_eq!(mine, n, "{op:?}");
            }
        }
    }
}
