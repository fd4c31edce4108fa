//! The instruction table: one line per operation of the ESP32's LX6 configuration.
//!
//! Each line gives the [`Op`] variant, the mnemonic the disassembler prints (and an older
//! spelling the assembler also accepts), the opcode bits (the instruction word with every
//! operand zero), the operands in the order they are written, and flags. From it come the
//! `Op` enum itself, the disassembler's names and operand layout ([`crate::disasm`]), the
//! assembler's mnemonics, operand parsing, lengths and encoder ([`crate::asm`]), and the
//! window-overflow metadata `Insn::wq` ([`window_quads`]). The table also defines a
//! decoder (`decode::by_table`, test builds); the one that runs is a decision tree written
//! for speed (`decode.rs`), checked equal to the table's on every 24-bit word. The
//! interpreter (`cpu/execute.rs`) is written per op; the tests check the table against it
//! (every line assembles, decodes and disassembles back to its text; the flags agree with
//! execution).
//!
//! Operand roles say which [`Insn`](crate::decode::Insn) field holds the operand, how it is
//! written and where it goes in the word: `a`/`f`/`b` registers in `r`, `s` or `t`; small
//! numbers in a field; the immediate as unsigned or signed decimal, or an absolute target,
//! with its [`Enc`]oding; an L32R literal address; the BxxI constant index; the EXTUI mask
//! width; a special or user register number.

/// A 4-bit register field of the instruction word (see the formats in `decode.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    R,
    S,
    T,
}

/// How one operand is stored in an [`Insn`](crate::decode::Insn), written in assembly and
/// placed in the instruction word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opd {
    /// Address register `a0..a15` (also `sp` for a1 in the assembler).
    A(Field),
    /// FP register `f0..f15`.
    F(Field),
    /// Boolean register `b0..b15`.
    B(Field),
    /// A number `0..=15` kept in the field.
    Num(Field),
    /// A number `0..=31` kept in the field: its low four bits in the field's place, bit 4
    /// at the given bit of the word (EXTUI's shift, BBCI/BBSI's bit number).
    Num5(Field, u8),
    /// `imm`, unsigned decimal.
    Imm(Enc),
    /// `imm`, signed decimal.
    SImm(Enc),
    /// `imm` is an absolute target address (branches, jumps, calls, loop end); hex.
    Target(Enc),
    /// L32R: `imm` is the offset from `(pc + 3) & !3`; written as the literal's address.
    Literal,
    /// BEQI & co: `r` indexes [`crate::decode::B4CONST`]; written as the constant.
    B4Const,
    /// BLTUI/BGEUI: `r` indexes [`crate::decode::B4CONSTU`].
    B4ConstU,
    /// EXTUI: `imm` is the mask; written as its width 1..=16 (op2 = width - 1).
    MaskWidth,
    /// Special register number in `imm` (high nibble in `r`, low in `s`); its name becomes
    /// a mnemonic suffix (`rsr.ps`). `write` picks the name WSR uses where reads and writes
    /// differ (INTERRUPT/INTSET).
    Sr { write: bool },
    /// User register number in `imm`: high nibble in this field, low nibble in the next
    /// (`rur.threadptr`).
    Ur(Field),
}

/// Where an immediate or target operand lives in the instruction word and which values it
/// can take (the assembler's range checks; the decoder undoes these in `decode.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    /// Unsigned offset scaled by `1 << n`, the scaled byte at [23:16] (RRI8 loads/stores).
    U8(u8),
    /// L32I.N/S32I.N: word offset 0..=60, the word index in `r`.
    NarrowOff,
    /// ADDI: signed byte at [23:16].
    S8,
    /// ADDMI: signed byte × 256.
    S8x256,
    /// MOVI: signed 12 bits, the high four in `s`, the low byte at [23:16].
    S12,
    /// ADDI.N: -1 or 1..=15 in `t` (0 means -1).
    AddiN,
    /// MOVI.N: -32..=95 as seven bits, `t[2:0]` and `r`.
    MoviN,
    /// L32E/S32E: -64..=-4 (word aligned) in `r` as the word offset's low four bits.
    L32e,
    /// ROTW: -8..=7 in `t`.
    Rotw,
    /// SLLI: 1..=32, encoded as 32 - amount in op2[0] and `t`.
    Slli,
    /// SRAI: 0..=31 in op2[0] and `s`.
    Srai,
    /// SRLI: 0..=15 in `s`.
    Srli,
    /// SSAI: 0..=31 in `t[0]` and `s`.
    Ssai,
    /// SEXT/CLAMPS: bit position 7..=22 as `t` + 7.
    Sext,
    /// ENTRY: frame size 0..=32760 in 8-byte units at [23:12].
    Entry,
    /// MAC16 raw form: op1 | op2 << 4 at [23:16].
    Mac16,
    /// Target pc + 4 + signed byte at [23:16] (BRI8/RRI8 branches).
    Br8,
    /// Target pc + 4 + signed 12 bits at [23:12] (BEQZ & co).
    Br12,
    /// BEQZ.N/BNEZ.N: target pc + 4 + 0..=63, in `t[1:0]` and `r`.
    BrN,
    /// LOOP*: loop end pc + 4 + 0..=255 at [23:16].
    Loop,
    /// J: target pc + 4 + signed 18 bits at [23:6].
    Jump,
    /// CALLn: word-aligned target (pc & !3) + 4 + signed 18-bit word count at [23:6].
    Call,
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
    /// The instruction word with every operand zero (the opcode bits).
    pub enc: u32,
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
    ($( $(#[$doc:meta])* $op:ident $name:literal $(| $alias:literal)? $enc:literal [$($opd:expr),*] $($flag:expr)? ;)*) => {
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

        pub(crate) const TABLE: [OpInfo; OP_COUNT] = [
            OpInfo { op: Op::Undecoded, name: "<undecoded>", alias: None, enc: 0, operands: &[], flags: flag::SENTINEL },
            $(OpInfo {
                op: Op::$op,
                name: $name,
                alias: instructions!(@alias $($alias)?),
                enc: $enc,
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
use Enc::*;
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
const NR: Opd = Num(R);
const NS: Opd = Num(S);
const NT: Opd = Num(T);
const SRR: Opd = Sr { write: false };
const SRW: Opd = Sr { write: true };

instructions! {
    /// A breakpoint/stop hook planted by the host over a real instruction.
    Hook "<hook>" 0 [] SENTINEL;
    /// Encoding not in the ESP32's configuration (printed as `.byte`).
    Illegal ".byte" 0 [] SENTINEL | ILLEGAL;
    Ill "ill" 0x000000 [] ILLEGAL;
    IllN "ill.n" 0xf06d [] NARROW | ILLEGAL;

    // --- arithmetic / logic
    Add "add" 0x800000 [AR, AS, AT];
    AddN "add.n" 0x000a [AR, AS, AT] NARROW;
    Addx2 "addx2" 0x900000 [AR, AS, AT];
    Addx4 "addx4" 0xa00000 [AR, AS, AT];
    Addx8 "addx8" 0xb00000 [AR, AS, AT];
    Sub "sub" 0xc00000 [AR, AS, AT];
    Subx2 "subx2" 0xd00000 [AR, AS, AT];
    Subx4 "subx4" 0xe00000 [AR, AS, AT];
    Subx8 "subx8" 0xf00000 [AR, AS, AT];
    And "and" 0x100000 [AR, AS, AT];
    Or "or" 0x200000 [AR, AS, AT];
    Xor "xor" 0x300000 [AR, AS, AT];
    Neg "neg" 0x600000 [AR, AT];
    Abs "abs" 0x600100 [AR, AT];
    Addi "addi" 0x00c002 [AT, AS, SImm(S8)];
    AddiN "addi.n" 0x000b [AR, AS, SImm(AddiN)] NARROW;
    Addmi "addmi" 0x00d002 [AT, AS, SImm(S8x256)];
    Movi "movi" 0x00a002 [AT, SImm(S12)];
    MoviN "movi.n" 0x000c [AS, SImm(MoviN)] NARROW;
    MovN "mov.n" 0x000d [AT, AS] NARROW;
    Moveqz "moveqz" 0x830000 [AR, AS, AT];
    Movnez "movnez" 0x930000 [AR, AS, AT];
    Movltz "movltz" 0xa30000 [AR, AS, AT];
    Movgez "movgez" 0xb30000 [AR, AS, AT];
    Extui "extui" 0x040000 [AR, AT, Num5(S, 16), MaskWidth];
    Slli "slli" 0x010000 [AR, AS, Imm(Slli)];
    Srai "srai" 0x210000 [AR, AT, Imm(Srai)];
    Srli "srli" 0x410000 [AR, AT, Imm(Srli)];
    Src "src" 0x810000 [AR, AS, AT];
    Srl "srl" 0x910000 [AR, AT];
    Sll "sll" 0xa10000 [AR, AS];
    Sra "sra" 0xb10000 [AR, AT];
    Ssr "ssr" 0x400000 [AS];
    Ssl "ssl" 0x401000 [AS];
    Ssa8l "ssa8l" 0x402000 [AS];
    Ssa8b "ssa8b" 0x403000 [AS];
    Ssai "ssai" 0x404000 [Imm(Ssai)];
    Nsa "nsa" 0x40e000 [AT, AS];
    Nsau "nsau" 0x40f000 [AT, AS];
    Min "min" 0x430000 [AR, AS, AT];
    Max "max" 0x530000 [AR, AS, AT];
    Minu "minu" 0x630000 [AR, AS, AT];
    Maxu "maxu" 0x730000 [AR, AS, AT];
    Sext "sext" 0x230000 [AR, AS, Imm(Sext)];
    Clamps "clamps" 0x330000 [AR, AS, Imm(Sext)];
    Mul16u "mul16u" 0xc10000 [AR, AS, AT];
    Mul16s "mul16s" 0xd10000 [AR, AS, AT];
    Mull "mull" 0x820000 [AR, AS, AT];
    Muluh "muluh" 0xa20000 [AR, AS, AT];
    Mulsh "mulsh" 0xb20000 [AR, AS, AT];
    Quou "quou" 0xc20000 [AR, AS, AT];
    Quos "quos" 0xd20000 [AR, AS, AT];
    Remu "remu" 0xe20000 [AR, AS, AT];
    Rems "rems" 0xf20000 [AR, AS, AT];

    // --- loads / stores
    L8ui "l8ui" 0x000002 [AT, AS, Imm(U8(0))];
    L16ui "l16ui" 0x001002 [AT, AS, Imm(U8(1))];
    L16si "l16si" 0x009002 [AT, AS, Imm(U8(1))];
    L32i "l32i" 0x002002 [AT, AS, Imm(U8(2))];
    L32iN "l32i.n" 0x0008 [AT, AS, Imm(NarrowOff)] NARROW;
    L32r "l32r" 0x000001 [AT, Literal];
    L32ai "l32ai" 0x00b002 [AT, AS, Imm(U8(2))];
    S8i "s8i" 0x004002 [AT, AS, Imm(U8(0))];
    S16i "s16i" 0x005002 [AT, AS, Imm(U8(1))];
    S32i "s32i" 0x006002 [AT, AS, Imm(U8(2))];
    S32iN "s32i.n" 0x0009 [AT, AS, Imm(NarrowOff)] NARROW;
    S32ri "s32ri" 0x00f002 [AT, AS, Imm(U8(2))];
    S32c1i "s32c1i" 0x00e002 [AT, AS, Imm(U8(2))];
    L32e "l32e" 0x090000 [AT, AS, SImm(L32e)] PRIV;
    S32e "s32e" 0x490000 [AT, AS, SImm(L32e)] PRIV;

    // --- branches, jumps, calls
    Beqz "beqz" 0x000016 [AS, Target(Br12)] JUMP;
    Bnez "bnez" 0x000056 [AS, Target(Br12)] JUMP;
    Bltz "bltz" 0x000096 [AS, Target(Br12)] JUMP;
    Bgez "bgez" 0x0000d6 [AS, Target(Br12)] JUMP;
    BeqzN "beqz.n" 0x008c [AS, Target(BrN)] NARROW | JUMP;
    BnezN "bnez.n" 0x00cc [AS, Target(BrN)] NARROW | JUMP;
    Beqi "beqi" 0x000026 [AS, B4Const, Target(Br8)] JUMP;
    Bnei "bnei" 0x000066 [AS, B4Const, Target(Br8)] JUMP;
    Blti "blti" 0x0000a6 [AS, B4Const, Target(Br8)] JUMP;
    Bgei "bgei" 0x0000e6 [AS, B4Const, Target(Br8)] JUMP;
    Bltui "bltui" 0x0000b6 [AS, B4ConstU, Target(Br8)] JUMP;
    Bgeui "bgeui" 0x0000f6 [AS, B4ConstU, Target(Br8)] JUMP;
    Bnone "bnone" 0x000007 [AS, AT, Target(Br8)] JUMP;
    Beq "beq" 0x001007 [AS, AT, Target(Br8)] JUMP;
    Blt "blt" 0x002007 [AS, AT, Target(Br8)] JUMP;
    Bltu "bltu" 0x003007 [AS, AT, Target(Br8)] JUMP;
    Ball "ball" 0x004007 [AS, AT, Target(Br8)] JUMP;
    Bbc "bbc" 0x005007 [AS, AT, Target(Br8)] JUMP;
    Bbci "bbci" 0x006007 [AS, Num5(T, 12), Target(Br8)] JUMP;
    Bany "bany" 0x008007 [AS, AT, Target(Br8)] JUMP;
    Bne "bne" 0x009007 [AS, AT, Target(Br8)] JUMP;
    Bge "bge" 0x00a007 [AS, AT, Target(Br8)] JUMP;
    Bgeu "bgeu" 0x00b007 [AS, AT, Target(Br8)] JUMP;
    Bnall "bnall" 0x00c007 [AS, AT, Target(Br8)] JUMP;
    Bbs "bbs" 0x00d007 [AS, AT, Target(Br8)] JUMP;
    Bbsi "bbsi" 0x00e007 [AS, Num5(T, 12), Target(Br8)] JUMP;
    J "j" 0x000006 [Target(Jump)] JUMP;
    Jx "jx" 0x0000a0 [AS] JUMP;
    Call0 "call0" 0x000005 [Target(Call)] JUMP;
    Call4 "call4" 0x000015 [Target(Call)] JUMP | CALL4;
    Call8 "call8" 0x000025 [Target(Call)] JUMP | CALL8;
    Call12 "call12" 0x000035 [Target(Call)] JUMP | CALL12;
    Callx0 "callx0" 0x0000c0 [AS] JUMP;
    Callx4 "callx4" 0x0000d0 [AS] JUMP | CALL4;
    Callx8 "callx8" 0x0000e0 [AS] JUMP | CALL8;
    Callx12 "callx12" 0x0000f0 [AS] JUMP | CALL12;
    Ret "ret" 0x000080 [] JUMP;
    RetN "ret.n" 0xf00d [] NARROW | JUMP;
    Retw "retw" 0x000090 [] JUMP;
    RetwN "retw.n" 0xf01d [] NARROW | JUMP;
    Entry "entry" 0x000036 [AS, Imm(Entry)] ENTRY;
    Movsp "movsp" 0x001000 [AT, AS];
    Rotw "rotw" 0x408000 [SImm(Rotw)] PRIV;
    Loop "loop" 0x008076 [AS, Target(Loop)];
    Loopnez "loopnez" 0x009076 [AS, Target(Loop)] JUMP;
    Loopgtz "loopgtz" 0x00a076 [AS, Target(Loop)] JUMP;

    // --- special registers, exceptions, synchronisation
    Rsr "rsr" 0x030000 [AT, SRR];
    Wsr "wsr" 0x130000 [AT, SRW];
    Xsr "xsr" 0x610000 [AT, SRR];
    Rur "rur" 0xe30000 [AR, Ur(S)];
    Wur "wur" 0xf30000 [AT, Ur(R)];
    Rsil "rsil" 0x006000 [AT, NS] PRIV;
    Waiti "waiti" 0x007000 [NS] PRIV;
    Rfe "rfe" 0x003000 [] PRIV | JUMP;
    Rfue "rfue" 0x003100 [] ILLEGAL;
    Rfde "rfde" 0x003200 [] PRIV | JUMP;
    Rfwo "rfwo" 0x003400 [] PRIV | JUMP;
    Rfwu "rfwu" 0x003500 [] PRIV | JUMP;
    Rfi "rfi" 0x003010 [NS] PRIV | JUMP;
    Rfme "rfme" 0x003020 [] ILLEGAL;
    Break "break" 0x004000 [NS, NT];
    BreakN "break.n" 0xf02d [NS] NARROW;
    Syscall "syscall" 0x005000 [];
    Simcall "simcall" 0x005100 [] ILLEGAL;
    Isync "isync" 0x002000 [];
    Rsync "rsync" 0x002010 [];
    Esync "esync" 0x002020 [];
    Dsync "dsync" 0x002030 [];
    Excw "excw" 0x002080 [];
    Memw "memw" 0x0020c0 [];
    Extw "extw" 0x0020d0 [];
    Nop "nop" 0x0020f0 [];
    NopN "nop.n" 0xf03d [] NARROW;
    Rer "rer" 0x406000 [AT, AS] PRIV;
    Wer "wer" 0x407000 [AT, AS] PRIV;
    Ritlb0 "ritlb0" 0x503000 [AT, AS] PRIV;
    Ritlb1 "ritlb1" 0x507000 [AT, AS] PRIV;
    Iitlb "iitlb" 0x504000 [AS] PRIV;
    Pitlb "pitlb" 0x505000 [AT, AS] PRIV;
    Witlb "witlb" 0x506000 [AT, AS] PRIV;
    Rdtlb0 "rdtlb0" 0x50b000 [AT, AS] PRIV;
    Rdtlb1 "rdtlb1" 0x50f000 [AT, AS] PRIV;
    Idtlb "idtlb" 0x50c000 [AS] PRIV;
    Pdtlb "pdtlb" 0x50d000 [AT, AS] PRIV;
    Wdtlb "wdtlb" 0x50e000 [AT, AS] PRIV;

    // --- boolean option
    Andb "andb" 0x020000 [BR, BS, BT];
    Andbc "andbc" 0x120000 [BR, BS, BT];
    Orb "orb" 0x220000 [BR, BS, BT];
    Orbc "orbc" 0x320000 [BR, BS, BT];
    Xorb "xorb" 0x420000 [BR, BS, BT];
    Any4 "any4" 0x008000 [BT, BS];
    All4 "all4" 0x009000 [BT, BS];
    Any8 "any8" 0x00a000 [BT, BS];
    All8 "all8" 0x00b000 [BT, BS];
    Bf "bf" 0x000076 [BS, Target(Br8)] JUMP;
    Bt "bt" 0x001076 [BS, Target(Br8)] JUMP;
    Movf "movf" 0xc30000 [AR, AS, BT];
    Movt "movt" 0xd30000 [AR, AS, BT];

    // --- single-precision FP coprocessor (CP0)
    AddS "add.s" 0x0a0000 [FR, FS, FT] CP0;
    SubS "sub.s" 0x1a0000 [FR, FS, FT] CP0;
    MulS "mul.s" 0x2a0000 [FR, FS, FT] CP0;
    MaddS "madd.s" 0x4a0000 [FR, FS, FT] CP0;
    MsubS "msub.s" 0x5a0000 [FR, FS, FT] CP0;
    MaddnS "maddn.s" 0x6a0000 [FR, FS, FT] CP0;
    DivnS "divn.s" 0x7a0000 [FR, FS, FT] CP0;
    RoundS "round.s" 0x8a0000 [AR, FS, NT] CP0;
    TruncS "trunc.s" 0x9a0000 [AR, FS, NT] CP0;
    FloorS "floor.s" 0xaa0000 [AR, FS, NT] CP0;
    CeilS "ceil.s" 0xba0000 [AR, FS, NT] CP0;
    FloatS "float.s" 0xca0000 [FR, AS, NT] CP0;
    UfloatS "ufloat.s" 0xda0000 [FR, AS, NT] CP0;
    UtruncS "utrunc.s" 0xea0000 [AR, FS, NT] CP0;
    MovS "mov.s" 0xfa0000 [FR, FS] CP0;
    AbsS "abs.s" 0xfa0010 [FR, FS] CP0;
    ConstS "const.s" 0xfa0030 [FR, NS] CP0;
    Rfr "rfr" 0xfa0040 [AR, FS] CP0;
    Wfr "wfr" 0xfa0050 [FR, AS] CP0;
    NegS "neg.s" 0xfa0060 [FR, FS] CP0;
    Div0S "div0.s" 0xfa0070 [FR, FS] CP0;
    Recip0S "recip0.s" 0xfa0080 [FR, FS] CP0;
    Sqrt0S "sqrt0.s" 0xfa0090 [FR, FS] CP0;
    Rsqrt0S "rsqrt0.s" 0xfa00a0 [FR, FS] CP0;
    Nexp01S "nexp01.s" 0xfa00b0 [FR, FS] CP0;
    MksadjS "mksadj.s" 0xfa00c0 [FR, FS] CP0;
    MkdadjS "mkdadj.s" 0xfa00d0 [FR, FS] CP0;
    AddexpS "addexp.s" 0xfa00e0 [FR, FS] CP0;
    AddexpmS "addexpm.s" 0xfa00f0 [FR, FS] CP0;
    UnS "un.s" 0x1b0000 [BR, FS, FT] CP0;
    OeqS "oeq.s" 0x2b0000 [BR, FS, FT] CP0;
    UeqS "ueq.s" 0x3b0000 [BR, FS, FT] CP0;
    OltS "olt.s" 0x4b0000 [BR, FS, FT] CP0;
    UltS "ult.s" 0x5b0000 [BR, FS, FT] CP0;
    OleS "ole.s" 0x6b0000 [BR, FS, FT] CP0;
    UleS "ule.s" 0x7b0000 [BR, FS, FT] CP0;
    MoveqzS "moveqz.s" 0x8b0000 [FR, FS, AT] CP0;
    MovnezS "movnez.s" 0x9b0000 [FR, FS, AT] CP0;
    MovltzS "movltz.s" 0xab0000 [FR, FS, AT] CP0;
    MovgezS "movgez.s" 0xbb0000 [FR, FS, AT] CP0;
    MovfS "movf.s" 0xcb0000 [FR, FS, BT] CP0;
    MovtS "movt.s" 0xdb0000 [FR, FS, BT] CP0;
    // The ESP32 has the post-increment forms at the encodings other cores use for the
    // pre-increment LSIU/SSIU/LSXU/SSXU; its toolchain calls them LSIP & co.
    Lsi "lsi" 0x000003 [FT, AS, Imm(U8(2))] CP0;
    Lsiu "lsip" | "lsiu" 0x008003 [FT, AS, Imm(U8(2))] CP0;
    Ssi "ssi" 0x004003 [FT, AS, Imm(U8(2))] CP0;
    Ssiu "ssip" | "ssiu" 0x00c003 [FT, AS, Imm(U8(2))] CP0;
    Lsx "lsx" 0x080000 [FR, AS, AT] CP0;
    Lsxu "lsxp" | "lsxu" 0x180000 [FR, AS, AT] CP0;
    Ssx "ssx" 0x480000 [FR, AS, AT] CP0;
    Ssxu "ssxp" | "ssxu" 0x580000 [FR, AS, AT] CP0;

    /// MAC16 option, in raw form: `imm` = op1 | op2 << 4, fields as encoded (sub-decoded
    /// and named in `mac16.rs`; the assembler takes `mac16 OP, r, s, t` or the real names).
    Mac16 "mac16" 0x000004 [Imm(Mac16), NR, NS, NT] WIN_S | WIN_T;
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
                Num5(..) => vec!["17".into()],
                Num(f) => vec![reg(f).to_string()],
                Imm(_) => vec!["8".into(), "16".into()],
                SImm(_) => vec!["-8".into(), "8".into(), "-256".into()],
                Target(_) => vec![format!("{:#x}", PC + 16)],
                Literal => vec![format!("{:#x}", PC - 4)],
                B4Const => vec!["4".into()],
                B4ConstU => vec!["32768".into()],
                MaskWidth => vec!["8".into()],
                Sr { .. } => {
                    head.push_str(".sar");
                    continue;
                }
                Ur(_) => {
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
