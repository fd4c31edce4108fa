//! Special and user registers, PS fields and exception causes of the ESP32's LX6.
//!
//! [`SPECIAL`] and [`USER`] are the register tables: one line per register with its number,
//! name (the constant's name in lower case), who may access it and its reset value. From
//! them come the `sr::*`/`ur::*` constants, the names the disassembler prints and the
//! assembler accepts (`rsr.ps`), and which RSR/WSR/XSR/RUR/WUR the interpreter allows
//! (everything else raises IllegalInstruction). The interpreter keeps the value semantics
//! (`cpu/registers.rs`); a test there checks every allowed register has them, and that
//! reset leaves the table's reset values.

/// Access to a register through RSR/WSR/XSR (RUR/WUR), per table line.
pub mod access {
    pub const NONE: u8 = 0;
    pub const R: u8 = 1;
    pub const W: u8 = 2;
    pub const RW: u8 = R | W;
    /// XSR: a line that is both readable and writable (never a pair of lines such as
    /// INTERRUPT/INTSET).
    pub const X: u8 = 4;
    /// In [`super::sr_access`]/[`super::ur_access`]: the line's [`super::regflag`] of the same name.
    pub const OPT_LITBASE: u8 = 8;
    pub const CP0: u8 = 16;
}

/// Register line flags.
pub mod regflag {
    /// Not in the ESP32's configuration: the assembler knows the name (other Xtensa cores
    /// have the register), the disassembler prints the number.
    pub const ABSENT: u8 = 1;
    /// The name is that of the read forms (RSR/XSR) only.
    pub const NAME_READ: u8 = 2;
    /// The name is that of WSR only.
    pub const NAME_WRITE: u8 = 4;
    /// Exists only with extended L32R (`Config::litbase`; the ESP32 has not).
    pub const OPT_LITBASE: u8 = 8;
    /// Needs coprocessor 0 enabled (CPENABLE bit 0): the FP unit's FCR/FSR.
    pub const CP0: u8 = 16;
}

/// Reset value of a register (ISA: registers without one are undefined after reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    None,
    Value(u32),
    /// `Config::vecbase_reset`.
    Config,
}

/// One line of [`SPECIAL`] or [`USER`].
#[derive(Clone, Copy, Debug)]
pub struct RegInfo {
    pub num: u8,
    /// Lower-case name as in `rsr.NAME`.
    pub name: &'static str,
    /// [`access`] bits.
    pub access: u8,
    /// [`regflag`] bits.
    pub flags: u8,
    pub reset: Reset,
}

/// `name` in lower case, as bytes (for names made from constant identifiers).
const fn lower<const N: usize>(name: &str) -> [u8; N] {
    let b = name.as_bytes();
    let mut out = [0u8; N];
    let mut k = 0;
    while k < N {
        out[k] = b[k].to_ascii_lowercase();
        k += 1;
    }
    out
}

macro_rules! registers {
    ($table:ident, $consts:ident: $( $(#[$doc:meta])* $id:ident $num:literal $acc:ident $reset:tt $($flag:ident)* ;)*) => {
        pub mod $consts {
            $($(#[$doc])* pub const $id: u32 = $num;)*
        }
        pub static $table: &[RegInfo] = &[$(RegInfo {
            num: $num,
            name: {
                const B: [u8; stringify!($id).len()] = lower(stringify!($id));
                const S: &str = match core::str::from_utf8(&B) {
                    Ok(s) => s,
                    Err(_) => panic!("register name"),
                };
                S
            },
            access: $acc,
            flags: 0 $(| $flag)*,
            reset: registers!(@reset $reset),
        }),*];
    };
    (@reset -) => { Reset::None };
    (@reset cfg) => { Reset::Config };
    (@reset $v:literal) => { Reset::Value($v) };
}

use access::{NONE, R, RW, W};
use regflag::{ABSENT, CP0, NAME_READ, NAME_WRITE, OPT_LITBASE};

registers! { SPECIAL, sr:
    // name        num  access      reset   flags
    LBEG           0    RW          -;
    LEND           1    RW          -;
    LCOUNT         2    RW          0;
    SAR            3    RW          -;
    BR             4    RW          -;
    LITBASE        5    RW          0       OPT_LITBASE;
    SCOMPARE1      12   RW          -;
    ACCLO          16   RW          -;
    ACCHI          17   RW          -;
    M0             32   RW          -;
    M1             33   RW          -;
    M2             34   RW          -;
    M3             35   RW          -;
    WINDOWBASE     72   RW          0;
    WINDOWSTART    73   RW          1;
    PTEVADDR       83   NONE        -       ABSENT;
    /// In the ESP32's configuration (write-only, trace), but not emulated: WSR raises
    /// IllegalInstruction.
    MMID           89   NONE        -       NAME_WRITE;
    RASID          90   NONE        -       ABSENT;
    ITLBCFG        91   NONE        -       ABSENT;
    DTLBCFG        92   NONE        -       ABSENT;
    IBREAKENABLE   96   RW          0;
    MEMCTL         97   RW          -;
    CACHEATTR      98   NONE        -       ABSENT;
    ATOMCTL        99   RW          0x28;
    DDR            104  RW          -;
    IBREAKA0       128  RW          -;
    IBREAKA1       129  RW          -;
    DBREAKA0       144  RW          -;
    DBREAKA1       145  RW          -;
    DBREAKC0       160  RW          0;
    DBREAKC1       161  RW          0;
    CONFIGID0      176  R           -;
    EPC1           177  RW          -;
    EPC2           178  RW          -;
    EPC3           179  RW          -;
    EPC4           180  RW          -;
    EPC5           181  RW          -;
    EPC6           182  RW          -;
    EPC7           183  RW          -;
    DEPC           192  RW          -;
    EPS2           194  RW          -;
    EPS3           195  RW          -;
    EPS4           196  RW          -;
    EPS5           197  RW          -;
    EPS6           198  RW          -;
    EPS7           199  RW          -;
    CONFIGID1      208  R           -;
    EXCSAVE1       209  RW          -;
    EXCSAVE2       210  RW          -;
    EXCSAVE3       211  RW          -;
    EXCSAVE4       212  RW          -;
    EXCSAVE5       213  RW          -;
    EXCSAVE6       214  RW          -;
    EXCSAVE7       215  RW          -;
    CPENABLE       224  RW          0;
    /// Pending interrupts (read); writes to 226 are INTSET.
    INTERRUPT      226  R           0       NAME_READ;
    /// Sets software interrupt bits.
    INTSET         226  W           -       NAME_WRITE;
    INTCLEAR       227  W           -;
    INTENABLE      228  RW          0;
    PS             230  RW          0x1F;
    VECBASE        231  RW          cfg;
    EXCCAUSE       232  RW          -;
    /// Writes are ignored.
    DEBUGCAUSE     233  RW          0;
    CCOUNT         234  RW          0;
    PRID           235  R           -;
    ICOUNT         236  RW          -;
    ICOUNTLEVEL    237  RW          0;
    EXCVADDR       238  RW          -;
    CCOMPARE0      240  RW          -;
    CCOMPARE1      241  RW          -;
    CCOMPARE2      242  RW          -;
    MISC0          244  RW          -;
    MISC1          245  RW          -;
    MISC2          246  RW          -;
    MISC3          247  RW          -;
}

registers! { USER, ur:
    /// In the ESP32's toolchain (a TIE register), not emulated: RUR/WUR raise
    /// IllegalInstruction.
    EXPSTATE       230  NONE        -;
    THREADPTR      231  RW          -;
    FCR            232  RW          -       CP0;
    FSR            233  RW          -       CP0;
    F64R_LO        234  RW          -;
    F64R_HI        235  RW          -;
    F64S           236  RW          -;
}

/// Access bits of register number `n` over all lines of `table` that have it ([`access::X`]
/// when one line is both readable and writable, plus the lines' option flags); 0 for a
/// number no line has.
const fn access_of(table: &[RegInfo], n: usize) -> u8 {
    let mut a = 0;
    let mut k = 0;
    while k < table.len() {
        let l = &table[k];
        if l.num as usize == n {
            a |= l.access;
            if l.access & RW == RW {
                a |= access::X;
            }
            if l.flags & OPT_LITBASE != 0 {
                a |= access::OPT_LITBASE;
            }
            if l.flags & CP0 != 0 {
                a |= access::CP0;
            }
        }
        k += 1;
    }
    a
}

const fn access_map(table: &[RegInfo]) -> [u8; 256] {
    let mut m = [0; 256];
    let mut n = 0;
    while n < 256 {
        m[n] = access_of(table, n);
        n += 1;
    }
    m
}

static SR_ACCESS: [u8; 256] = access_map(SPECIAL);
static UR_ACCESS: [u8; 256] = access_map(USER);

/// [`access`] bits of special register `n` (0: none on the ESP32).
#[inline(always)]
pub fn sr_access(n: u32) -> u8 {
    SR_ACCESS.get(n as usize).copied().unwrap_or(0)
}

/// [`access`] bits of user register `n`.
#[inline(always)]
pub fn ur_access(n: u32) -> u8 {
    UR_ACCESS.get(n as usize).copied().unwrap_or(0)
}

/// Name of special register `n` as the disassembler prints it in `rsr.*`/`wsr.*`/`xsr.*`
/// (`write` for WSR: INTSET rather than INTERRUPT for 226). None for numbers the ESP32
/// has no register at.
pub fn sr_name(n: u32, write: bool) -> Option<&'static str> {
    let other_dir = if write { NAME_READ } else { NAME_WRITE };
    SPECIAL.iter().find(|l| l.num as u32 == n && l.flags & (ABSENT | other_dir) == 0).map(|l| l.name)
}

/// Name of user register `n` as in `rur.*`/`wur.*`.
pub fn ur_name(n: u32) -> Option<&'static str> {
    USER.iter().find(|l| l.num as u32 == n && l.flags & ABSENT == 0).map(|l| l.name)
}

/// Number of a special register by name (any case; names of other cores' registers too).
pub fn sr_number(name: &str) -> Option<u32> {
    SPECIAL.iter().find(|l| l.name.eq_ignore_ascii_case(name)).map(|l| l.num as u32)
}

/// Number of a user register by name (any case).
pub fn ur_number(name: &str) -> Option<u32> {
    USER.iter().find(|l| l.name.eq_ignore_ascii_case(name)).map(|l| l.num as u32)
}

/// PS register fields.
pub mod ps {
    pub const INTLEVEL: u32 = 0xF;
    pub const EXCM: u32 = 1 << 4;
    pub const UM: u32 = 1 << 5;
    pub const RING_SHIFT: u32 = 6;
    pub const RING: u32 = 3 << 6;
    pub const OWB_SHIFT: u32 = 8;
    pub const OWB: u32 = 0xF << 8;
    pub const CALLINC_SHIFT: u32 = 16;
    pub const CALLINC: u32 = 3 << 16;
    pub const WOE: u32 = 1 << 18;
    /// Bits that exist in PS (others read as zero).
    pub const MASK: u32 = INTLEVEL | EXCM | UM | RING | OWB | CALLINC | WOE;
}

/// EXCCAUSE values.
pub mod cause {
    pub const ILLEGAL: u32 = 0;
    pub const SYSCALL: u32 = 1;
    pub const INSTR_FETCH_ERROR: u32 = 2;
    pub const LOAD_STORE_ERROR: u32 = 3;
    pub const LEVEL1_INTERRUPT: u32 = 4;
    pub const ALLOCA: u32 = 5;
    pub const INTEGER_DIVIDE_BY_ZERO: u32 = 6;
    pub const PRIVILEGED: u32 = 8;
    pub const LOAD_STORE_ALIGNMENT: u32 = 9;
    pub const INST_FETCH_PROHIBITED: u32 = 20;
    pub const LOAD_PROHIBITED: u32 = 28;
    pub const STORE_PROHIBITED: u32 = 29;
    /// Coprocessor n disabled is `COPROCESSOR0_DISABLED + n`.
    pub const COPROCESSOR0_DISABLED: u32 = 32;
}

/// DEBUGCAUSE bits.
pub mod debugcause {
    pub const ICOUNT: u32 = 1 << 0;
    pub const IBREAK: u32 = 1 << 1;
    pub const DBREAK: u32 = 1 << 2;
    pub const BREAK: u32 = 1 << 3;
    pub const BREAKN: u32 = 1 << 4;
    pub const DEBUGINT: u32 = 1 << 5;
}

/// Vector offsets from VECBASE (ESP32 core-isa.h).
pub mod vec {
    pub const WINDOW_OVERFLOW4: u32 = 0x000;
    pub const WINDOW_UNDERFLOW4: u32 = 0x040;
    pub const WINDOW_OVERFLOW8: u32 = 0x080;
    pub const WINDOW_UNDERFLOW8: u32 = 0x0C0;
    pub const WINDOW_OVERFLOW12: u32 = 0x100;
    pub const WINDOW_UNDERFLOW12: u32 = 0x140;
    /// The six window overflow/underflow vectors.
    pub const WINDOW: [u32; 6] = [WINDOW_OVERFLOW4, WINDOW_UNDERFLOW4, WINDOW_OVERFLOW8, WINDOW_UNDERFLOW8, WINDOW_OVERFLOW12, WINDOW_UNDERFLOW12];
    /// Level 2..=7 interrupt vectors: `LEVEL2 + (level - 2) * 0x40` (6 = debug, 7 = NMI).
    pub const LEVEL2: u32 = 0x180;
    pub const KERNEL: u32 = 0x300;
    pub const USER: u32 = 0x340;
    pub const DOUBLE: u32 = 0x3C0;
}
