//! The instruction table: one line per operation of the ESP32's LX6 configuration.
//!
//! Each line gives the [`Op`] variant, the mnemonic the disassembler prints (and an older
//! spelling the assembler also accepts), the operands in the order they are written, and
//! flags. From it come the `Op` enum itself, the disassembler's names and operand layout
//! ([`crate::disasm`]), the assembler's mnemonics and operand parsing ([`crate::asm`]), the
//! instruction length by mnemonic, and the window-overflow metadata `Insn::wq`
//! ([`window_quads`]). The decoder (`decode.rs`), the encoder (`asm::encode`) and the
//! interpreter (`cpu/execute.rs`) stay hand-written per op: they are what the table is
//! checked against (round trips in `asm`/`disasm` tests, `tests/isa_table.rs`).
//!
//! Operand roles say which [`Insn`](crate::decode::Insn) field holds the operand and how it
//! is written: `a`/`f`/`b` registers in `r`, `s` or `t`; small numbers in a field; the
//! immediate as unsigned or signed decimal; an absolute target; an L32R literal address;
//! the BxxI constant index; the EXTUI mask width; a special or user register number.

/// A 4-bit register field of the instruction word (see the formats in `decode.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    R,
    S,
    T,
}

/// How one operand is stored in an [`Insn`](crate::decode::Insn) and written in assembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opd {
    /// Address register `a0..a15` (also `sp` for a1 in the assembler).
    A(Field),
    /// FP register `f0..f15`.
    F(Field),
    /// Boolean register `b0..b15`.
    B(Field),
    /// A number `0..=max` kept in the field.
    Num(Field, u8),
    /// `imm`, unsigned decimal.
    Imm,
    /// `imm`, signed decimal.
    SImm,
    /// `imm` is an absolute target address (branches, jumps, calls, loop end); hex.
    Target,
    /// L32R: `imm` is the offset from `(pc + 3) & !3`; written as the literal's address.
    Literal,
    /// BEQI & co: `r` indexes [`crate::decode::B4CONST`]; written as the constant.
    B4Const,
    /// BLTUI/BGEUI: `r` indexes [`crate::decode::B4CONSTU`].
    B4ConstU,
    /// EXTUI: `imm` is the mask; written as its width 1..=16.
    MaskWidth,
    /// Special register number in `imm`; its name becomes a mnemonic suffix (`rsr.ps`).
    /// `write` picks the name WSR uses where reads and writes differ (INTERRUPT/INTSET).
    Sr { write: bool },
    /// User register number in `imm` (`rur.threadptr`).
    Ur,
}

/// Instruction flags (bit set in [`OpInfo::flags`]).
pub mod flag {
    /// Not an instruction: a decoder or code-cache sentinel.
    pub const SENTINEL: u16 = 1 << 0;
    /// 16-bit (narrow, `.n`) encoding; all others are 24-bit.
    pub const NARROW: u16 = 1 << 1;
    /// Raises Privileged outside ring 0 whatever its operands (RSR/WSR/XSR depend on the
    /// register: see [`crate::regs::SPECIAL`]).
    pub const PRIV: u16 = 1 << 2;
    /// Raises Coprocessor0Disabled unless CPENABLE bit 0 is set (RUR/WUR: see
    /// [`crate::regs::USER`]).
    pub const CP0: u16 = 1 << 3;
    /// May leave the sequential flow: branch, jump, call, return, RFx, LOOPNEZ/LOOPGTZ
    /// (ends a straight-line block).
    pub const JUMP: u16 = 1 << 4;
    /// Always IllegalInstruction on the ESP32 (not in its configuration, or ILL itself).
    pub const ILLEGAL: u16 = 1 << 5;
    /// CALL4/CALLX4 (and 8, 12): the callee's window starts that many quads up, so the
    /// overflow check covers them even though no operand names them.
    pub const CALL4: u16 = 1 << 6;
    pub const CALL8: u16 = 2 << 6;
    pub const CALL12: u16 = 3 << 6;
    pub const CALLINC_SHIFT: u32 = 6;
    /// ENTRY: its window need depends on PS.CALLINC (see `Insn::wq`).
    pub const ENTRY: u16 = 1 << 8;
    /// Raw `s`/`t` fields that may name address registers (MAC16's sub-forms): counted by
    /// the window-overflow check although their operands are written as numbers.
    pub const WIN_S: u16 = 1 << 9;
    pub const WIN_T: u16 = 1 << 10;
}

/// One line of the table.
#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    pub op: Op,
    /// Mnemonic the disassembler prints (the assembler accepts it too).
    pub name: &'static str,
    /// Another spelling the assembler accepts (older binutils names).
    pub alias: Option<&'static str>,
    pub operands: &'static [Opd],
    pub flags: u16,
}

impl OpInfo {
    #[inline]
    pub const fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// Encoded length in bytes.
    #[inline]
    pub const fn size(&self) -> u8 {
        if self.has(flag::NARROW) {
            2
        } else {
            3
        }
    }

    /// Whether the assembler knows this line by `mnemonic` (lower case).
    pub fn is_named(&self, mnemonic: &str) -> bool {
        !self.has(flag::SENTINEL) && (self.name == mnemonic || self.alias == Some(mnemonic))
    }
}

impl Op {
    /// The op's line in the table.
    #[inline]
    pub fn info(self) -> &'static OpInfo {
        &OPS[self as usize]
    }

    /// Mnemonic as the disassembler prints it.
    #[inline]
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The op the assembler knows by `mnemonic` (lower case; sentinels have none).
    pub fn by_name(mnemonic: &str) -> Option<Op> {
        OPS.iter().find(|i| i.is_named(mnemonic)).map(|i| i.op)
    }
}

macro_rules! instructions {
    ($( $(#[$doc:meta])* $op:ident $name:literal $(| $alias:literal)? [$($opd:expr),*] $($flag:expr)? ;)*) => {
        /// Every operation the ESP32's LX6 core knows, plus decoder sentinels; generated
        /// from the table in `isa.rs` (its order is the discriminant order).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        pub enum Op {
            /// Not decoded yet (code-cache sentinel; never produced by `decode`).
            #[default]
            Undecoded,
            $($(#[$doc])* $op,)*
        }

        /// Number of [`Op`] variants.
        pub const OP_COUNT: usize = 1 + [$(stringify!($op)),*].len();

        const TABLE: [OpInfo; OP_COUNT] = [
            OpInfo { op: Op::Undecoded, name: "<undecoded>", alias: None, operands: &[], flags: flag::SENTINEL },
            $(OpInfo {
                op: Op::$op,
                name: $name,
                alias: instructions!(@alias $($alias)?),
                operands: &[$($opd),*],
                flags: 0 $(| $flag)?,
            },)*
        ];
    };
    (@alias) => { None };
    (@alias $a:literal) => { Some($a) };
}

/// The table, indexed by `Op as usize`.
pub static OPS: [OpInfo; OP_COUNT] = TABLE;

use flag::*;
use Field::{R, S, T};
use Opd::*;

const AR: Opd = A(R);
const AS: Opd = A(S);
const AT: Opd = A(T);
const FR: Opd = F(R);
const FS: Opd = F(S);
const FT: Opd = F(T);
const BR: Opd = B(R);
const BS: Opd = B(S);
const BT: Opd = B(T);
const NR: Opd = Num(R, 15);
const NS: Opd = Num(S, 15);
const NT: Opd = Num(T, 15);
const SRR: Opd = Sr { write: false };
const SRW: Opd = Sr { write: true };

instructions! {
    /// A breakpoint/stop hook planted by the host over a real instruction.
    Hook "<hook>" [] SENTINEL;
    /// Encoding not in the ESP32's configuration (printed as `.byte`).
    Illegal ".byte" [] SENTINEL | ILLEGAL;
    Ill "ill" [] ILLEGAL;
    IllN "ill.n" [] NARROW | ILLEGAL;

    // --- arithmetic / logic
    Add "add" [AR, AS, AT];
    AddN "add.n" [AR, AS, AT] NARROW;
    Addx2 "addx2" [AR, AS, AT];
    Addx4 "addx4" [AR, AS, AT];
    Addx8 "addx8" [AR, AS, AT];
    Sub "sub" [AR, AS, AT];
    Subx2 "subx2" [AR, AS, AT];
    Subx4 "subx4" [AR, AS, AT];
    Subx8 "subx8" [AR, AS, AT];
    And "and" [AR, AS, AT];
    Or "or" [AR, AS, AT];
    Xor "xor" [AR, AS, AT];
    Neg "neg" [AR, AT];
    Abs "abs" [AR, AT];
    Addi "addi" [AT, AS, SImm];
    AddiN "addi.n" [AR, AS, SImm] NARROW;
    Addmi "addmi" [AT, AS, SImm];
    Movi "movi" [AT, SImm];
    MoviN "movi.n" [AS, SImm] NARROW;
    MovN "mov.n" [AT, AS] NARROW;
    Moveqz "moveqz" [AR, AS, AT];
    Movnez "movnez" [AR, AS, AT];
    Movltz "movltz" [AR, AS, AT];
    Movgez "movgez" [AR, AS, AT];
    Extui "extui" [AR, AT, Num(S, 31), MaskWidth];
    Slli "slli" [AR, AS, Imm];
    Srai "srai" [AR, AT, Imm];
    Srli "srli" [AR, AT, Imm];
    Src "src" [AR, AS, AT];
    Srl "srl" [AR, AT];
    Sll "sll" [AR, AS];
    Sra "sra" [AR, AT];
    Ssr "ssr" [AS];
    Ssl "ssl" [AS];
    Ssa8l "ssa8l" [AS];
    Ssa8b "ssa8b" [AS];
    Ssai "ssai" [Imm];
    Nsa "nsa" [AT, AS];
    Nsau "nsau" [AT, AS];
    Min "min" [AR, AS, AT];
    Max "max" [AR, AS, AT];
    Minu "minu" [AR, AS, AT];
    Maxu "maxu" [AR, AS, AT];
    Sext "sext" [AR, AS, Imm];
    Clamps "clamps" [AR, AS, Imm];
    Mul16u "mul16u" [AR, AS, AT];
    Mul16s "mul16s" [AR, AS, AT];
    Mull "mull" [AR, AS, AT];
    Muluh "muluh" [AR, AS, AT];
    Mulsh "mulsh" [AR, AS, AT];
    Quou "quou" [AR, AS, AT];
    Quos "quos" [AR, AS, AT];
    Remu "remu" [AR, AS, AT];
    Rems "rems" [AR, AS, AT];

    // --- loads / stores
    L8ui "l8ui" [AT, AS, Imm];
    L16ui "l16ui" [AT, AS, Imm];
    L16si "l16si" [AT, AS, Imm];
    L32i "l32i" [AT, AS, Imm];
    L32iN "l32i.n" [AT, AS, Imm] NARROW;
    L32r "l32r" [AT, Literal];
    L32ai "l32ai" [AT, AS, Imm];
    S8i "s8i" [AT, AS, Imm];
    S16i "s16i" [AT, AS, Imm];
    S32i "s32i" [AT, AS, Imm];
    S32iN "s32i.n" [AT, AS, Imm] NARROW;
    S32ri "s32ri" [AT, AS, Imm];
    S32c1i "s32c1i" [AT, AS, Imm];
    L32e "l32e" [AT, AS, SImm] PRIV;
    S32e "s32e" [AT, AS, SImm] PRIV;

    // --- branches, jumps, calls
    Beqz "beqz" [AS, Target] JUMP;
    Bnez "bnez" [AS, Target] JUMP;
    Bltz "bltz" [AS, Target] JUMP;
    Bgez "bgez" [AS, Target] JUMP;
    BeqzN "beqz.n" [AS, Target] NARROW | JUMP;
    BnezN "bnez.n" [AS, Target] NARROW | JUMP;
    Beqi "beqi" [AS, B4Const, Target] JUMP;
    Bnei "bnei" [AS, B4Const, Target] JUMP;
    Blti "blti" [AS, B4Const, Target] JUMP;
    Bgei "bgei" [AS, B4Const, Target] JUMP;
    Bltui "bltui" [AS, B4ConstU, Target] JUMP;
    Bgeui "bgeui" [AS, B4ConstU, Target] JUMP;
    Bnone "bnone" [AS, AT, Target] JUMP;
    Beq "beq" [AS, AT, Target] JUMP;
    Blt "blt" [AS, AT, Target] JUMP;
    Bltu "bltu" [AS, AT, Target] JUMP;
    Ball "ball" [AS, AT, Target] JUMP;
    Bbc "bbc" [AS, AT, Target] JUMP;
    Bbci "bbci" [AS, Num(T, 31), Target] JUMP;
    Bany "bany" [AS, AT, Target] JUMP;
    Bne "bne" [AS, AT, Target] JUMP;
    Bge "bge" [AS, AT, Target] JUMP;
    Bgeu "bgeu" [AS, AT, Target] JUMP;
    Bnall "bnall" [AS, AT, Target] JUMP;
    Bbs "bbs" [AS, AT, Target] JUMP;
    Bbsi "bbsi" [AS, Num(T, 31), Target] JUMP;
    J "j" [Target] JUMP;
    Jx "jx" [AS] JUMP;
    Call0 "call0" [Target] JUMP;
    Call4 "call4" [Target] JUMP | CALL4;
    Call8 "call8" [Target] JUMP | CALL8;
    Call12 "call12" [Target] JUMP | CALL12;
    Callx0 "callx0" [AS] JUMP;
    Callx4 "callx4" [AS] JUMP | CALL4;
    Callx8 "callx8" [AS] JUMP | CALL8;
    Callx12 "callx12" [AS] JUMP | CALL12;
    Ret "ret" [] JUMP;
    RetN "ret.n" [] NARROW | JUMP;
    Retw "retw" [] JUMP;
    RetwN "retw.n" [] NARROW | JUMP;
    Entry "entry" [AS, Imm] ENTRY;
    Movsp "movsp" [AT, AS];
    Rotw "rotw" [SImm] PRIV;
    Loop "loop" [AS, Target];
    Loopnez "loopnez" [AS, Target] JUMP;
    Loopgtz "loopgtz" [AS, Target] JUMP;

    // --- special registers, exceptions, synchronisation
    Rsr "rsr" [AT, SRR];
    Wsr "wsr" [AT, SRW];
    Xsr "xsr" [AT, SRR];
    Rur "rur" [AR, Ur];
    Wur "wur" [AT, Ur];
    Rsil "rsil" [AT, NS] PRIV;
    Waiti "waiti" [NS] PRIV;
    Rfe "rfe" [] PRIV | JUMP;
    Rfue "rfue" [] ILLEGAL;
    Rfde "rfde" [] PRIV | JUMP;
    Rfwo "rfwo" [] PRIV | JUMP;
    Rfwu "rfwu" [] PRIV | JUMP;
    Rfi "rfi" [NS] PRIV | JUMP;
    Rfme "rfme" [] ILLEGAL;
    Break "break" [NS, NT];
    BreakN "break.n" [NS] NARROW;
    Syscall "syscall" [];
    Simcall "simcall" [] ILLEGAL;
    Isync "isync" [];
    Rsync "rsync" [];
    Esync "esync" [];
    Dsync "dsync" [];
    Excw "excw" [];
    Memw "memw" [];
    Extw "extw" [];
    Nop "nop" [];
    NopN "nop.n" [] NARROW;
    Rer "rer" [AT, AS] PRIV;
    Wer "wer" [AT, AS] PRIV;
    Ritlb0 "ritlb0" [AT, AS] PRIV;
    Ritlb1 "ritlb1" [AT, AS] PRIV;
    Iitlb "iitlb" [AS] PRIV;
    Pitlb "pitlb" [AT, AS] PRIV;
    Witlb "witlb" [AT, AS] PRIV;
    Rdtlb0 "rdtlb0" [AT, AS] PRIV;
    Rdtlb1 "rdtlb1" [AT, AS] PRIV;
    Idtlb "idtlb" [AS] PRIV;
    Pdtlb "pdtlb" [AT, AS] PRIV;
    Wdtlb "wdtlb" [AT, AS] PRIV;

    // --- boolean option
    Andb "andb" [BR, BS, BT];
    Andbc "andbc" [BR, BS, BT];
    Orb "orb" [BR, BS, BT];
    Orbc "orbc" [BR, BS, BT];
    Xorb "xorb" [BR, BS, BT];
    Any4 "any4" [BT, BS];
    All4 "all4" [BT, BS];
    Any8 "any8" [BT, BS];
    All8 "all8" [BT, BS];
    Bf "bf" [BS, Target] JUMP;
    Bt "bt" [BS, Target] JUMP;
    Movf "movf" [AR, AS, BT];
    Movt "movt" [AR, AS, BT];

    // --- single-precision FP coprocessor (CP0)
    AddS "add.s" [FR, FS, FT] CP0;
    SubS "sub.s" [FR, FS, FT] CP0;
    MulS "mul.s" [FR, FS, FT] CP0;
    MaddS "madd.s" [FR, FS, FT] CP0;
    MsubS "msub.s" [FR, FS, FT] CP0;
    MaddnS "maddn.s" [FR, FS, FT] CP0;
    DivnS "divn.s" [FR, FS, FT] CP0;
    RoundS "round.s" [AR, FS, NT] CP0;
    TruncS "trunc.s" [AR, FS, NT] CP0;
    FloorS "floor.s" [AR, FS, NT] CP0;
    CeilS "ceil.s" [AR, FS, NT] CP0;
    FloatS "float.s" [FR, AS, NT] CP0;
    UfloatS "ufloat.s" [FR, AS, NT] CP0;
    UtruncS "utrunc.s" [AR, FS, NT] CP0;
    MovS "mov.s" [FR, FS] CP0;
    AbsS "abs.s" [FR, FS] CP0;
    ConstS "const.s" [FR, NS] CP0;
    Rfr "rfr" [AR, FS] CP0;
    Wfr "wfr" [FR, AS] CP0;
    NegS "neg.s" [FR, FS] CP0;
    Div0S "div0.s" [FR, FS] CP0;
    Recip0S "recip0.s" [FR, FS] CP0;
    Sqrt0S "sqrt0.s" [FR, FS] CP0;
    Rsqrt0S "rsqrt0.s" [FR, FS] CP0;
    Nexp01S "nexp01.s" [FR, FS] CP0;
    MksadjS "mksadj.s" [FR, FS] CP0;
    MkdadjS "mkdadj.s" [FR, FS] CP0;
    AddexpS "addexp.s" [FR, FS] CP0;
    AddexpmS "addexpm.s" [FR, FS] CP0;
    UnS "un.s" [BR, FS, FT] CP0;
    OeqS "oeq.s" [BR, FS, FT] CP0;
    UeqS "ueq.s" [BR, FS, FT] CP0;
    OltS "olt.s" [BR, FS, FT] CP0;
    UltS "ult.s" [BR, FS, FT] CP0;
    OleS "ole.s" [BR, FS, FT] CP0;
    UleS "ule.s" [BR, FS, FT] CP0;
    MoveqzS "moveqz.s" [FR, FS, AT] CP0;
    MovnezS "movnez.s" [FR, FS, AT] CP0;
    MovltzS "movltz.s" [FR, FS, AT] CP0;
    MovgezS "movgez.s" [FR, FS, AT] CP0;
    MovfS "movf.s" [FR, FS, BT] CP0;
    MovtS "movt.s" [FR, FS, BT] CP0;
    // The ESP32 has the post-increment forms at the encodings other cores use for the
    // pre-increment LSIU/SSIU/LSXU/SSXU; its toolchain calls them LSIP & co.
    Lsi "lsi" [FT, AS, Imm] CP0;
    Lsiu "lsip" | "lsiu" [FT, AS, Imm] CP0;
    Ssi "ssi" [FT, AS, Imm] CP0;
    Ssiu "ssip" | "ssiu" [FT, AS, Imm] CP0;
    Lsx "lsx" [FR, AS, AT] CP0;
    Lsxu "lsxp" | "lsxu" [FR, AS, AT] CP0;
    Ssx "ssx" [FR, AS, AT] CP0;
    Ssxu "ssxp" | "ssxu" [FR, AS, AT] CP0;

    /// MAC16 option, in raw form: `imm` = op1 | op2 << 4, fields as encoded (sub-decoded
    /// and named in `mac16.rs`; the assembler takes `mac16 OP, r, s, t` or the real names).
    Mac16 "mac16" [Imm, NR, NS, NT] WIN_S | WIN_T;
}

/// `Insn::wq` of ENTRY.
pub const WQ_ENTRY: u8 = 0xFF;

/// Window rule per op, packed: bits 0..=2 = the `r`/`s`/`t` fields that name address
/// registers, bits 3..=4 = CALLINC (quads the call itself reaches); [`WQ_ENTRY`] for ENTRY.
const fn window_rule(info: &OpInfo) -> u8 {
    if info.has(ENTRY) {
        return WQ_ENTRY;
    }
    let mut rule = (((info.flags >> CALLINC_SHIFT) & 3) as u8) << 3;
    if info.has(WIN_S) {
        rule |= 2;
    }
    if info.has(WIN_T) {
        rule |= 4;
    }
    let mut k = 0;
    while k < info.operands.len() {
        if let A(f) = info.operands[k] {
            rule |= match f {
                R => 1,
                S => 2,
                T => 4,
            };
        }
        k += 1;
    }
    rule
}

static WINDOW_RULES: [u8; OP_COUNT] = {
    let mut rules = [0; OP_COUNT];
    let mut k = 0;
    while k < OP_COUNT {
        rules[k] = window_rule(&TABLE[k]);
        k += 1;
    }
    rules
};

/// The highest address register an instruction names, in quads (ISA 4.7.1.3: a reference to
/// a register in a window a live older frame still owns first spills that frame); derived
/// from the table's operands and flags.
#[inline]
pub fn window_quads(op: Op, r: u8, s: u8, t: u8) -> u8 {
    let rule = WINDOW_RULES[op as usize];
    if rule == WQ_ENTRY {
        return WQ_ENTRY;
    }
    let mut reg = (rule >> 3) << 2;
    if rule & 1 != 0 {
        reg = reg.max(r);
    }
    if rule & 2 != 0 {
        reg = reg.max(s);
    }
    if rule & 4 != 0 {
        reg = reg.max(t);
    }
    reg >> 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;
    use crate::decode::decode;
    use crate::disasm::disasm;
    use crate::regs::{cause, ps, sr};
    use crate::{Config, Cpu, FlatBus};
    use std::collections::HashSet;

    #[test]
    fn table_is_indexed_by_op() {
        for (k, info) in OPS.iter().enumerate() {
            assert_eq!(info.op as usize, k, "{:?}", info.op);
        }
    }

    #[test]
    fn mnemonics_are_unique_and_lower_case() {
        let mut seen = HashSet::new();
        for info in OPS.iter().filter(|i| !i.has(SENTINEL)) {
            for n in std::iter::once(info.name).chain(info.alias) {
                assert!(seen.insert(n), "{n} twice");
                assert_eq!(n, n.to_ascii_lowercase());
                assert_eq!(Op::by_name(n), Some(info.op));
            }
            assert_eq!(info.name.ends_with(".n"), info.has(NARROW), "{}", info.name);
        }
        assert_eq!(Op::by_name("<hook>"), None);
    }

    const PC: u32 = 0x4008_0100;

    /// Assembly text for `info` made from its operand roles alone (registers a2/a3/a4 for
    /// fields r/s/t, small numbers, targets just ahead): the first combination of candidate
    /// values the assembler takes, with its bytes.
    fn sample(info: &OpInfo) -> Option<(String, Vec<u8>)> {
        let reg = |f: Field| match f {
            R => 2,
            S => 3,
            T => 4,
        };
        let mut head = info.name.to_string();
        let mut choices: Vec<Vec<String>> = Vec::new();
        for &opd in info.operands {
            choices.push(match opd {
                A(f) => vec![format!("a{}", reg(f))],
                F(f) => vec![format!("f{}", reg(f))],
                B(f) => vec![format!("b{}", reg(f))],
                Num(_, 31) => vec!["17".into()],
                Num(f, _) => vec![reg(f).to_string()],
                Imm => vec!["8".into(), "16".into()],
                SImm => vec!["-8".into(), "8".into(), "-256".into()],
                Target => vec![format!("{:#x}", PC + 16)],
                Literal => vec![format!("{:#x}", PC - 4)],
                B4Const => vec!["4".into()],
                B4ConstU => vec!["32768".into()],
                MaskWidth => vec!["8".into()],
                Sr { .. } => {
                    head.push_str(".sar");
                    continue;
                }
                Ur => {
                    head.push_str(".threadptr");
                    continue;
                }
            });
        }
        let mut pick = vec![0; choices.len()];
        loop {
            let ops: Vec<&str> = pick.iter().zip(&choices).map(|(&k, c)| c[k].as_str()).collect();
            let text = if ops.is_empty() { head.clone() } else { format!("{head} {}", ops.join(", ")) };
            if let Ok(bytes) = assemble(&text, PC) {
                return Some((text, bytes));
            }
            // Next combination (odometer over the candidate lists).
            let mut k = 0;
            loop {
                if k == pick.len() {
                    return None;
                }
                pick[k] += 1;
                if pick[k] < choices[k].len() {
                    break;
                }
                pick[k] = 0;
                k += 1;
            }
        }
    }

    fn word(bytes: &[u8]) -> u32 {
        bytes.iter().rev().fold(0, |w, &b| w << 8 | b as u32)
    }

    /// Every line of the table: text written from its operand roles assembles to its
    /// length, decodes to its op and disassembles to the same text (MAC16 to its real name,
    /// which assembles to the same bytes); older spellings assemble the same.
    #[test]
    fn every_table_line_round_trips_assemble_decode_disassemble() {
        for info in OPS.iter().filter(|i| !i.has(SENTINEL)) {
            let (text, bytes) = sample(info).unwrap_or_else(|| panic!("no sample for {:?}", info.op));
            assert_eq!(bytes.len(), info.size() as usize, "{text}");
            let i = decode(word(&bytes), PC);
            assert_eq!(i.op, info.op, "{text}");
            let back = disasm(&i, PC);
            if info.op == Op::Mac16 {
                assert_eq!(assemble(&back, PC).as_deref(), Ok(&bytes[..]), "{text} -> {back}");
            } else {
                assert_eq!(back, text);
            }
            if let Some(alias) = info.alias {
                let other = text.replacen(info.name, alias, 1);
                assert_eq!(assemble(&other, PC).as_deref(), Ok(&bytes[..]), "{other}");
            }
        }
    }

    const EXC_NONE: u32 = 0x3F;

    /// Runs the sample of `info` once on a core in `ring` with CPENABLE `cp`; returns
    /// EXCCAUSE ([`EXC_NONE`] when nothing was raised) and the next PC.
    fn run_sample(info: &OpInfo, ring: u32, cp: u32) -> (u32, u32) {
        let (_, bytes) = sample(info).unwrap();
        let mut bus = FlatBus::new();
        bus.add_ram(PC & !0xFFF, 0x1000);
        bus.add_ram(0x3FFB_0000, 0x1_0000);
        bus.load(PC, &bytes).unwrap();
        let mut cpu = Cpu::new(Config { rings: 2, ..Config::esp32_pro() });
        cpu.pc = PC;
        for n in 0..16 {
            cpu.set_ar(n, 0x3FFB_8000);
        }
        // A return address with a call increment (RETW of a0 = 0 is illegal).
        cpu.set_ar(0, PC & !0xFFF);
        // Interrupts and debug exceptions masked; windowed calls and returns enabled.
        cpu.write_sr(sr::PS, ps::INTLEVEL | ps::WOE | ring << ps::RING_SHIFT);
        cpu.cpenable = cp;
        cpu.exccause = EXC_NONE;
        cpu.step(&mut bus);
        (cpu.exccause, cpu.pc)
    }

    /// The PRIV, CP0, ILLEGAL and JUMP flags agree with what the interpreter does.
    #[test]
    fn flags_match_execution() {
        for info in OPS.iter().filter(|i| !i.has(SENTINEL)) {
            let (exc, _) = run_sample(info, 1, 0xFF);
            assert_eq!(exc == cause::PRIVILEGED, info.has(PRIV), "{:?} in ring 1: cause {exc}", info.op);
            let (exc, _) = run_sample(info, 0, 0);
            assert_eq!(exc == cause::COPROCESSOR0_DISABLED, info.has(CP0), "{:?} with CP0 off: cause {exc}", info.op);
            let (exc, pc) = run_sample(info, 0, 0xFF);
            assert_eq!(exc == cause::ILLEGAL, info.has(ILLEGAL), "{:?}: cause {exc}", info.op);
            if exc == EXC_NONE && !info.has(JUMP) {
                assert_eq!(pc, PC + info.size() as u32, "{:?} left the sequential flow", info.op);
            }
        }
    }
}
