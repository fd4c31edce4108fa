//! Special and user register numbers, PS fields and exception causes of the ESP32's LX6.
//!
//! | SR | name | | SR | name |
//! |---:|---|---|---:|---|
//! | 0 | LBEG | | 176 | CONFIGID0 |
//! | 1 | LEND | | 177..183 | EPC1..EPC7 |
//! | 2 | LCOUNT | | 192 | DEPC |
//! | 3 | SAR | | 194..199 | EPS2..EPS7 |
//! | 4 | BR | | 208 | CONFIGID1 |
//! | 5 | LITBASE (only with extended L32R) | | 209..215 | EXCSAVE1..EXCSAVE7 |
//! | 12 | SCOMPARE1 | | 224 | CPENABLE |
//! | 16, 17 | ACCLO, ACCHI | | 226 | INTERRUPT (read) / INTSET (write) |
//! | 32..35 | M0..M3 | | 227 | INTCLEAR |
//! | 72 | WINDOWBASE | | 228 | INTENABLE |
//! | 73 | WINDOWSTART | | 230 | PS |
//! | 96 | IBREAKENABLE | | 231 | VECBASE |
//! | 97 | MEMCTL | | 232 | EXCCAUSE |
//! | 99 | ATOMCTL | | 233 | DEBUGCAUSE |
//! | 104 | DDR | | 234 | CCOUNT |
//! | 128, 129 | IBREAKA0/1 | | 235 | PRID |
//! | 144, 145 | DBREAKA0/1 | | 236, 237 | ICOUNT, ICOUNTLEVEL |
//! | 160, 161 | DBREAKC0/1 | | 238 | EXCVADDR |
//! | | | | 240..242 | CCOMPARE0..2 |
//! | | | | 244..247 | MISC0..MISC3 |
//!
//! User registers (RUR/WUR): 231 THREADPTR, 232 FCR, 233 FSR, 234 F64R_LO, 235 F64R_HI, 236 F64S.

pub mod sr {
    pub const LBEG: u32 = 0;
    pub const LEND: u32 = 1;
    pub const LCOUNT: u32 = 2;
    pub const SAR: u32 = 3;
    pub const BR: u32 = 4;
    pub const LITBASE: u32 = 5;
    pub const SCOMPARE1: u32 = 12;
    pub const ACCLO: u32 = 16;
    pub const ACCHI: u32 = 17;
    pub const M0: u32 = 32;
    pub const WINDOWBASE: u32 = 72;
    pub const WINDOWSTART: u32 = 73;
    pub const IBREAKENABLE: u32 = 96;
    pub const MEMCTL: u32 = 97;
    pub const ATOMCTL: u32 = 99;
    pub const DDR: u32 = 104;
    pub const IBREAKA0: u32 = 128;
    pub const DBREAKA0: u32 = 144;
    pub const DBREAKC0: u32 = 160;
    pub const CONFIGID0: u32 = 176;
    pub const EPC1: u32 = 177;
    pub const DEPC: u32 = 192;
    pub const EPS2: u32 = 194;
    pub const CONFIGID1: u32 = 208;
    pub const EXCSAVE1: u32 = 209;
    pub const CPENABLE: u32 = 224;
    pub const INTERRUPT: u32 = 226;
    pub const INTCLEAR: u32 = 227;
    pub const INTENABLE: u32 = 228;
    pub const PS: u32 = 230;
    pub const VECBASE: u32 = 231;
    pub const EXCCAUSE: u32 = 232;
    pub const DEBUGCAUSE: u32 = 233;
    pub const CCOUNT: u32 = 234;
    pub const PRID: u32 = 235;
    pub const ICOUNT: u32 = 236;
    pub const ICOUNTLEVEL: u32 = 237;
    pub const EXCVADDR: u32 = 238;
    pub const CCOMPARE0: u32 = 240;
    pub const MISC0: u32 = 244;
}

pub mod ur {
    pub const THREADPTR: u32 = 231;
    pub const FCR: u32 = 232;
    pub const FSR: u32 = 233;
    pub const F64R_LO: u32 = 234;
    pub const F64R_HI: u32 = 235;
    pub const F64S: u32 = 236;
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
    /// Level 2..=7 interrupt vectors: `LEVEL2 + (level - 2) * 0x40` (6 = debug, 7 = NMI).
    pub const LEVEL2: u32 = 0x180;
    pub const KERNEL: u32 = 0x300;
    pub const USER: u32 = 0x340;
    pub const DOUBLE: u32 = 0x3C0;
}
