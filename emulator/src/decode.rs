//! Instruction decoder for the ESP32's Xtensa LX6 configuration.
//!
//! Decoding happens once per instruction address (see `codecache.rs`); the interpreter,
//! the disassembler and the assembler used by tests all share the [`Insn`] form defined
//! here, so the three cannot drift apart.
//!
//! Instruction formats (little-endian bit positions of the 24-bit word):
//!
//! | format | fields |
//! |---|---|
//! | RRR   | op0[3:0] t[7:4] s[11:8] r[15:12] op1[19:16] op2[23:20] |
//! | RRI8  | op0 t s r imm8[23:16] |
//! | RI16  | op0 t imm16[23:8] |
//! | CALL  | op0 n[5:4] offset[23:6] |
//! | BRI8  | op0 n[5:4] m[7:6] s r imm8[23:16] |
//! | BRI12 | op0 n m s imm12[23:12] |
//! | RRRN  | op0 t s r (16 bits) |
//!
//! Operand conventions of [`Insn`] (what `r`, `s`, `t` and `imm` mean for each family):
//! - ALU RRR ops: `r` = destination `ar`, `s` = `as`, `t` = `at`.
//! - Loads/stores (RRI8, narrow, L32E/S32E, LSI…): `t` = data register, `s` = base, `imm` = byte
//!   offset, already scaled (wrapping u32).
//! - `L32R`: `t` = `at`, `imm` = the (negative) scaled offset; the base is `(pc + 3) & !3`, or
//!   LITBASE when extended literals are enabled.
//! - `MOVI`/`MOVI.N`: `t` (MOVI) or `s` (MOVI.N) = destination, `imm` = value.
//! - `ADDI`/`ADDMI`: `t` = `at`, `s` = `as`, `imm` = addend. `ADDI.N`: `r` = `ar`, `s`, `imm`.
//! - Branches: `s` = `as`, `t` = `at` (or the bit number for BBCI/BBSI), `imm` = absolute target.
//!   For BxxI/BxxUI the compared constant is `r` as an index into [`B4CONST`]/[`B4CONSTU`].
//! - `J`/`CALLn`/`LOOP*`: `imm` = absolute target (for loops: LEND). `CALLXn`/`JX`: `s`.
//! - `ENTRY`: `s` = `as`, `imm` = frame size in bytes.
//! - `SLLI`: `r` = `ar`, `s` = `as`, `imm` = shift amount 1..=32. `SRAI`/`SRLI`: `r` = `ar`,
//!   `t` = `at`, `imm` = shift. `SSAI`: `imm`. `EXTUI`: `r`, `t`, `s` = shift, `imm` = mask.
//! - `SEXT`/`CLAMPS`: `r` = `ar`, `s` = `as`, `imm` = bit position (t + 7).
//! - `RSR`/`WSR`/`XSR`: `t` = `at`, `imm` = special register number. `RUR`: `r` = `ar`,
//!   `imm` = user register. `WUR`: `t` = `at`, `imm` = user register.
//! - `NSA`/`NSAU`/`MOVSP`: `t` = destination, `s` = source. `MOV.N`: `t` = destination, `s` = source.
//! - `ROTW`: `imm` = signed rotation (as u32). `RSIL`: `t` = `at`, `s` = level. `WAITI`/`RFI`:
//!   `s` = level. `BREAK`: `s`, `t`. `BREAK.N`: `s`.
//! - FP (CP0): RRR ops `r` = `fr`, `s` = `fs`, `t` = `ft`. Conversions `FLOAT.S`/`UFLOAT.S`:
//!   `r` = `fr`, `s` = `as`, `t` = scale; `TRUNC.S` & co: `r` = `ar`, `s` = `fs`, `t` = scale.
//!   Compares: `r` = `br`. Conditional moves: `t` = `at` or `bt`. `RFR`: `r` = `ar`, `s` = `fs`.
//!   `WFR`: `r` = `fr`, `s` = `as`. `CONST.S`: `r` = `fr`, `s` = constant index. `LSI`/`SSI`/
//!   `LSIU`/`SSIU`: `t` = `ft`, `s` = `as`, `imm` = offset. `LSX`…: `r` = `fr`, `s` = `as`, `t` = `at`.
//! - Booleans: `r` = `br`, `s` = `bs`, `t` = `bt`; `ANY4`…: `t` = `bt`, `s` = `bs`; `BF`/`BT`:
//!   `s` = `bs`; `MOVF`/`MOVT`: `r` = `ar`, `s` = `as`, `t` = `bt`.
//! - `Mac16`: raw fields `r`, `s`, `t`; `imm` = op1 | op2 << 4 (sub-decoded in `mac16.rs`).

pub use crate::isa::{window_quads, Op, WQ_ENTRY};

/// A decoded instruction. 12 bytes; `Copy` so the interpreter reads it by value.
#[derive(Clone, Copy, Debug, Eq, Default)]
pub struct Insn {
    pub imm: u32,
    pub op: Op,
    /// Length in bytes: 2 or 3 (0 only for `Undecoded`).
    pub len: u8,
    pub r: u8,
    pub s: u8,
    pub t: u8,
    /// Register quads above a0..a3 the instruction references (0..=3), i.e. how many windows
    /// above the current one must be free of live frames; [`WQ_ENTRY`] for ENTRY, whose need
    /// depends on PS.CALLINC. Derived from the other fields by [`decode`], so it takes no part
    /// in equality.
    pub wq: u8,
}

impl PartialEq for Insn {
    fn eq(&self, o: &Insn) -> bool {
        (self.imm, self.op, self.len, self.r, self.s, self.t) == (o.imm, o.op, o.len, o.r, o.s, o.t)
    }
}

/// Signed constants of BEQI/BNEI/BLTI/BGEI, indexed by the `r` field.
pub const B4CONST: [i32; 16] = [-1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 32, 64, 128, 256];
/// Unsigned constants of BLTUI/BGEUI, indexed by the `r` field.
pub const B4CONSTU: [u32; 16] = [32768, 65536, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 32, 64, 128, 256];

#[inline(always)]
fn sext(v: u32, bits: u32) -> u32 {
    let sh = 32 - bits;
    (((v << sh) as i32) >> sh) as u32
}

/// Length of the instruction whose first byte is `b0` (the ESP32 has no FLIX formats).
#[inline(always)]
pub fn insn_len(b0: u8) -> u8 {
    if b0 & 0x08 != 0 {
        2
    } else {
        3
    }
}

impl Insn {
    #[inline(always)]
    fn new(op: Op, len: u8, r: u32, s: u32, t: u32, imm: u32) -> Insn {
        let (r, s, t) = (r as u8, s as u8, t as u8);
        Insn { imm, op, len, r, s, t, wq: window_quads(op, r, s, t) }
    }
}

/// Decodes the instruction at `pc` from its little-endian bytes `w` (at least the first
/// three bytes valid; bits beyond the instruction's length are ignored).
///
/// A decision tree written for speed; the instruction table's own decoder (`by_table`,
/// test builds) must agree with it on every 24-bit word (`decode::tests`).
pub fn decode(w: u32, pc: u32) -> Insn {
    let op0 = w & 0xF;
    let t = (w >> 4) & 0xF;
    let s = (w >> 8) & 0xF;
    let r = (w >> 12) & 0xF;
    if op0 >= 8 {
        return decode_narrow(w & 0xFFFF, pc, op0, t, s, r);
    }
    let op1 = (w >> 16) & 0xF;
    let op2 = (w >> 20) & 0xF;
    let imm8 = (w >> 16) & 0xFF;
    let n = (w >> 4) & 3;
    let m = (w >> 6) & 3;
    let rrr = |op: Op| Insn::new(op, 3, r, s, t, 0);
    let ill = Insn::new(Op::Illegal, 3, r, s, t, w & 0xFF_FFFF);
    let b8 = pc.wrapping_add(4).wrapping_add(sext(imm8, 8));
    match op0 {
        0 => match op1 {
            0 => match op2 {
                0 => decode_st0(w, r, s, t, m, n),
                1 => rrr(Op::And),
                2 => rrr(Op::Or),
                3 => rrr(Op::Xor),
                4 => match r {
                    0 if t == 0 => rrr(Op::Ssr),
                    1 if t == 0 => rrr(Op::Ssl),
                    2 if t == 0 => rrr(Op::Ssa8l),
                    3 if t == 0 => rrr(Op::Ssa8b),
                    4 if t & 0xE == 0 => Insn::new(Op::Ssai, 3, r, s, t, s | ((t & 1) << 4)),
                    6 => rrr(Op::Rer),
                    7 => rrr(Op::Wer),
                    8 if s == 0 => Insn::new(Op::Rotw, 3, r, s, t, sext(t, 4)),
                    14 => rrr(Op::Nsa),
                    15 => rrr(Op::Nsau),
                    _ => ill,
                },
                5 => match r {
                    3 => rrr(Op::Ritlb0),
                    4 if t == 0 => rrr(Op::Iitlb),
                    5 => rrr(Op::Pitlb),
                    6 => rrr(Op::Witlb),
                    7 => rrr(Op::Ritlb1),
                    11 => rrr(Op::Rdtlb0),
                    12 if t == 0 => rrr(Op::Idtlb),
                    13 => rrr(Op::Pdtlb),
                    14 => rrr(Op::Wdtlb),
                    15 => rrr(Op::Rdtlb1),
                    _ => ill,
                },
                6 => match s {
                    0 => rrr(Op::Neg),
                    1 => rrr(Op::Abs),
                    _ => ill,
                },
                8 => rrr(Op::Add),
                9 => rrr(Op::Addx2),
                10 => rrr(Op::Addx4),
                11 => rrr(Op::Addx8),
                12 => rrr(Op::Sub),
                13 => rrr(Op::Subx2),
                14 => rrr(Op::Subx4),
                15 => rrr(Op::Subx8),
                _ => ill,
            },
            1 => match op2 {
                0 | 1 => Insn::new(Op::Slli, 3, r, s, t, 32 - (((op2 & 1) << 4) | t)),
                2 | 3 => Insn::new(Op::Srai, 3, r, s, t, ((op2 & 1) << 4) | s),
                4 => Insn::new(Op::Srli, 3, r, s, t, s),
                6 => Insn::new(Op::Xsr, 3, r, s, t, (r << 4) | s),
                8 => rrr(Op::Src),
                9 if s == 0 => rrr(Op::Srl),
                10 if t == 0 => rrr(Op::Sll),
                11 if s == 0 => rrr(Op::Sra),
                12 => rrr(Op::Mul16u),
                13 => rrr(Op::Mul16s),
                _ => ill,
            },
            2 => match op2 {
                0 => rrr(Op::Andb),
                1 => rrr(Op::Andbc),
                2 => rrr(Op::Orb),
                3 => rrr(Op::Orbc),
                4 => rrr(Op::Xorb),
                8 => rrr(Op::Mull),
                10 => rrr(Op::Muluh),
                11 => rrr(Op::Mulsh),
                12 => rrr(Op::Quou),
                13 => rrr(Op::Quos),
                14 => rrr(Op::Remu),
                15 => rrr(Op::Rems),
                _ => ill,
            },
            3 => match op2 {
                0 => Insn::new(Op::Rsr, 3, r, s, t, (r << 4) | s),
                1 => Insn::new(Op::Wsr, 3, r, s, t, (r << 4) | s),
                2 => Insn::new(Op::Sext, 3, r, s, t, t + 7),
                3 => Insn::new(Op::Clamps, 3, r, s, t, t + 7),
                4 => rrr(Op::Min),
                5 => rrr(Op::Max),
                6 => rrr(Op::Minu),
                7 => rrr(Op::Maxu),
                8 => rrr(Op::Moveqz),
                9 => rrr(Op::Movnez),
                10 => rrr(Op::Movltz),
                11 => rrr(Op::Movgez),
                12 => rrr(Op::Movf),
                13 => rrr(Op::Movt),
                14 => Insn::new(Op::Rur, 3, r, s, t, (s << 4) | t),
                15 => Insn::new(Op::Wur, 3, r, s, t, (r << 4) | s),
                _ => ill,
            },
            4 | 5 => {
                let sa = ((op1 & 1) << 4) | s;
                let bits = op2 + 1;
                Insn::new(Op::Extui, 3, r, sa, t, ((1u64 << bits) - 1) as u32)
            }
            8 => match op2 {
                0 => rrr(Op::Lsx),
                1 => rrr(Op::Lsxu),
                4 => rrr(Op::Ssx),
                5 => rrr(Op::Ssxu),
                _ => ill,
            },
            9 => match op2 {
                0 => Insn::new(Op::L32e, 3, r, s, t, 0xFFFF_FFC0 | (r << 2)),
                4 => Insn::new(Op::S32e, 3, r, s, t, 0xFFFF_FFC0 | (r << 2)),
                _ => ill,
            },
            10 => match op2 {
                0 => rrr(Op::AddS),
                1 => rrr(Op::SubS),
                2 => rrr(Op::MulS),
                4 => rrr(Op::MaddS),
                5 => rrr(Op::MsubS),
                6 => rrr(Op::MaddnS),
                7 => rrr(Op::DivnS),
                8 => rrr(Op::RoundS),
                9 => rrr(Op::TruncS),
                10 => rrr(Op::FloorS),
                11 => rrr(Op::CeilS),
                12 => rrr(Op::FloatS),
                13 => rrr(Op::UfloatS),
                14 => rrr(Op::UtruncS),
                15 => match t {
                    0 => rrr(Op::MovS),
                    1 => rrr(Op::AbsS),
                    3 => rrr(Op::ConstS),
                    4 => rrr(Op::Rfr),
                    5 => rrr(Op::Wfr),
                    6 => rrr(Op::NegS),
                    7 => rrr(Op::Div0S),
                    8 => rrr(Op::Recip0S),
                    9 => rrr(Op::Sqrt0S),
                    10 => rrr(Op::Rsqrt0S),
                    11 => rrr(Op::Nexp01S),
                    12 => rrr(Op::MksadjS),
                    13 => rrr(Op::MkdadjS),
                    14 => rrr(Op::AddexpS),
                    15 => rrr(Op::AddexpmS),
                    _ => ill,
                },
                _ => ill,
            },
            11 => match op2 {
                1 => rrr(Op::UnS),
                2 => rrr(Op::OeqS),
                3 => rrr(Op::UeqS),
                4 => rrr(Op::OltS),
                5 => rrr(Op::UltS),
                6 => rrr(Op::OleS),
                7 => rrr(Op::UleS),
                8 => rrr(Op::MoveqzS),
                9 => rrr(Op::MovnezS),
                10 => rrr(Op::MovltzS),
                11 => rrr(Op::MovgezS),
                12 => rrr(Op::MovfS),
                13 => rrr(Op::MovtS),
                _ => ill,
            },
            _ => ill,
        },
        1 => {
            // L32R: offset is ones-extended (always negative), scaled by 4.
            let imm16 = (w >> 8) & 0xFFFF;
            Insn::new(Op::L32r, 3, r, s, t, (0xFFFF_0000 | imm16) << 2)
        }
        2 => match r {
            0 => Insn::new(Op::L8ui, 3, r, s, t, imm8),
            1 => Insn::new(Op::L16ui, 3, r, s, t, imm8 << 1),
            2 => Insn::new(Op::L32i, 3, r, s, t, imm8 << 2),
            4 => Insn::new(Op::S8i, 3, r, s, t, imm8),
            5 => Insn::new(Op::S16i, 3, r, s, t, imm8 << 1),
            6 => Insn::new(Op::S32i, 3, r, s, t, imm8 << 2),
            9 => Insn::new(Op::L16si, 3, r, s, t, imm8 << 1),
            10 => Insn::new(Op::Movi, 3, r, s, t, sext((s << 8) | imm8, 12)),
            11 => Insn::new(Op::L32ai, 3, r, s, t, imm8 << 2),
            12 => Insn::new(Op::Addi, 3, r, s, t, sext(imm8, 8)),
            13 => Insn::new(Op::Addmi, 3, r, s, t, sext(imm8, 8) << 8),
            14 => Insn::new(Op::S32c1i, 3, r, s, t, imm8 << 2),
            15 => Insn::new(Op::S32ri, 3, r, s, t, imm8 << 2),
            // r = 7: cache option instructions; the ESP32 has no caches in its core.
            _ => ill,
        },
        3 => match r {
            0 => Insn::new(Op::Lsi, 3, r, s, t, imm8 << 2),
            4 => Insn::new(Op::Ssi, 3, r, s, t, imm8 << 2),
            8 => Insn::new(Op::Lsiu, 3, r, s, t, imm8 << 2),
            12 => Insn::new(Op::Ssiu, 3, r, s, t, imm8 << 2),
            _ => ill,
        },
        4 => Insn::new(Op::Mac16, 3, r, s, t, op1 | (op2 << 4)),
        5 => {
            let off = sext(w >> 6, 18) << 2;
            let target = (pc & !3).wrapping_add(off).wrapping_add(4);
            let op = [Op::Call0, Op::Call4, Op::Call8, Op::Call12][n as usize];
            Insn::new(op, 3, r, s, t, target)
        }
        6 => match n {
            0 => Insn::new(Op::J, 3, r, s, t, pc.wrapping_add(4).wrapping_add(sext(w >> 6, 18))),
            1 => {
                let target = pc.wrapping_add(4).wrapping_add(sext(w >> 12, 12));
                let op = [Op::Beqz, Op::Bnez, Op::Bltz, Op::Bgez][m as usize];
                Insn::new(op, 3, r, s, t, target)
            }
            2 => {
                let op = [Op::Beqi, Op::Bnei, Op::Blti, Op::Bgei][m as usize];
                Insn::new(op, 3, r, s, t, b8)
            }
            _ => match m {
                0 => Insn::new(Op::Entry, 3, r, s, t, ((w >> 12) & 0xFFF) << 3),
                1 => match r {
                    0 => Insn::new(Op::Bf, 3, r, s, t, b8),
                    1 => Insn::new(Op::Bt, 3, r, s, t, b8),
                    8..=10 => {
                        let op = [Op::Loop, Op::Loopnez, Op::Loopgtz][(r - 8) as usize];
                        Insn::new(op, 3, r, s, t, pc.wrapping_add(4).wrapping_add(imm8))
                    }
                    _ => ill,
                },
                2 => Insn::new(Op::Bltui, 3, r, s, t, b8),
                _ => Insn::new(Op::Bgeui, 3, r, s, t, b8),
            },
        },
        7 => {
            let op = match r {
                0 => Op::Bnone,
                1 => Op::Beq,
                2 => Op::Blt,
                3 => Op::Bltu,
                4 => Op::Ball,
                5 => Op::Bbc,
                6 | 7 => Op::Bbci,
                8 => Op::Bany,
                9 => Op::Bne,
                10 => Op::Bge,
                11 => Op::Bgeu,
                12 => Op::Bnall,
                13 => Op::Bbs,
                _ => Op::Bbsi,
            };
            let t = if matches!(op, Op::Bbci | Op::Bbsi) { ((r & 1) << 4) | t } else { t };
            Insn::new(op, 3, r, s, t, b8)
        }
        _ => ill,
    }
}

fn decode_st0(w: u32, r: u32, s: u32, t: u32, m: u32, n: u32) -> Insn {
    let rrr = |op: Op| Insn::new(op, 3, r, s, t, 0);
    let ill = Insn::new(Op::Illegal, 3, r, s, t, w & 0xFF_FFFF);
    match r {
        0 => match (m, n) {
            (0, 0) if s == 0 => rrr(Op::Ill),
            (2, 0) if s == 0 => rrr(Op::Ret),
            (2, 1) if s == 0 => rrr(Op::Retw),
            (2, 2) => rrr(Op::Jx),
            (3, 0) => rrr(Op::Callx0),
            (3, 1) => rrr(Op::Callx4),
            (3, 2) => rrr(Op::Callx8),
            (3, 3) => rrr(Op::Callx12),
            _ => ill,
        },
        1 => rrr(Op::Movsp),
        2 if s == 0 => match t {
            0 => rrr(Op::Isync),
            1 => rrr(Op::Rsync),
            2 => rrr(Op::Esync),
            3 => rrr(Op::Dsync),
            8 => rrr(Op::Excw),
            12 => rrr(Op::Memw),
            13 => rrr(Op::Extw),
            15 => rrr(Op::Nop),
            _ => ill,
        },
        3 => match t {
            0 => match s {
                0 => rrr(Op::Rfe),
                1 => rrr(Op::Rfue),
                2 => rrr(Op::Rfde),
                4 => rrr(Op::Rfwo),
                5 => rrr(Op::Rfwu),
                _ => ill,
            },
            1 => rrr(Op::Rfi),
            2 if s == 0 => rrr(Op::Rfme),
            _ => ill,
        },
        4 => rrr(Op::Break),
        5 => match (s, t) {
            (0, 0) => rrr(Op::Syscall),
            (1, 0) => rrr(Op::Simcall),
            _ => ill,
        },
        6 => rrr(Op::Rsil),
        7 if t == 0 => rrr(Op::Waiti),
        8 => rrr(Op::Any4),
        9 => rrr(Op::All4),
        10 => rrr(Op::Any8),
        11 => rrr(Op::All8),
        _ => ill,
    }
}

fn decode_narrow(w: u32, pc: u32, op0: u32, t: u32, s: u32, r: u32) -> Insn {
    let ill = Insn::new(Op::Illegal, 2, r, s, t, w);
    match op0 {
        8 => Insn::new(Op::L32iN, 2, r, s, t, r << 2),
        9 => Insn::new(Op::S32iN, 2, r, s, t, r << 2),
        10 => Insn::new(Op::AddN, 2, r, s, t, 0),
        11 => Insn::new(Op::AddiN, 2, r, s, t, if t == 0 { u32::MAX } else { t }),
        12 => {
            if t & 8 == 0 {
                let v = ((t & 7) << 4) | r;
                let v = if v >= 96 { v.wrapping_sub(128) } else { v };
                Insn::new(Op::MoviN, 2, r, s, t, v)
            } else {
                let off = ((t & 3) << 4) | r;
                let op = if t & 4 == 0 { Op::BeqzN } else { Op::BnezN };
                Insn::new(op, 2, r, s, t, pc.wrapping_add(4).wrapping_add(off))
            }
        }
        13 => match r {
            0 => Insn::new(Op::MovN, 2, r, s, t, 0),
            15 => match t {
                0 if s == 0 => Insn::new(Op::RetN, 2, r, s, t, 0),
                1 if s == 0 => Insn::new(Op::RetwN, 2, r, s, t, 0),
                2 => Insn::new(Op::BreakN, 2, r, s, t, 0),
                3 if s == 0 => Insn::new(Op::NopN, 2, r, s, t, 0),
                6 if s == 0 => Insn::new(Op::IllN, 2, r, s, t, 0),
                _ => ill,
            },
            _ => ill,
        },
        _ => ill,
    }
}

/// The instruction table's decoder: what [`decode`] must do, derived from the opcode bits
/// and operand encodings of `isa.rs` (slower than the tree, which is why the tree runs and
/// this checks it).
#[cfg(test)]
pub(crate) mod by_table {
    use super::*;
    use crate::isa::{flag, Enc, Field, Opd, OP_COUNT, TABLE};

    /// Decodes like [`super::decode`], from the table alone: the line whose opcode bits the
    /// word has (every bit outside its operands), with its operands read out of the word.
    pub fn decode(w: u32, pc: u32) -> Insn {
        let (w, len) = if w & 0x8 != 0 { (w & 0xFFFF, 2) } else { (w & 0xFF_FFFF, 3) };
        let key = key_of(w, w & 0xF);
        for &k in &INDEX.lines[INDEX.start[key] as usize..INDEX.start[key + 1] as usize] {
            let (mask, enc, _, _) = MATCH[k as usize];
            if w & mask == enc {
                return decode_operands(k as usize, w, pc);
            }
        }
        Insn::new(Op::Illegal, len, (w >> 12) & 0xF, (w >> 8) & 0xF, (w >> 4) & 0xF, w)
    }

    /// An [`Insn`] of line `k` from the word `w` at `pc`: the raw `r`/`s`/`t` fields (BBCI's
    /// bit number and EXTUI's shift with their fifth bit) and the immediate as the line's
    /// operand that has one defines it.
    #[inline]
    fn decode_operands(k: usize, w: u32, pc: u32) -> Insn {
        let (r, s, mut t) = ((w >> 12) & 0xF, (w >> 8) & 0xF, (w >> 4) & 0xF);
        let mut s5 = s;
        let imm8 = (w >> 16) & 0xFF;
        let (op1, op2) = ((w >> 16) & 0xF, (w >> 20) & 0xF);
        let next = pc.wrapping_add(4);
        let (imm_opd, fifth) = RECIPE[k];
        match fifth {
            Some((Field::T, hi)) => t |= ((w >> hi) & 1) << 4,
            Some((_, hi)) => s5 |= ((w >> hi) & 1) << 4,
            None => {}
        }
        let imm = match imm_opd {
            Some(Opd::Literal) => (0xFFFF_0000 | (w >> 8)) << 2,
            Some(Opd::MaskWidth) => ((1u64 << (op2 + 1)) - 1) as u32,
            Some(Opd::Ur(Field::S)) => (s << 4) | t,
            Some(Opd::Sr { .. } | Opd::Ur(_)) => (r << 4) | s,
            Some(Opd::Imm(e) | Opd::SImm(e) | Opd::Target(e)) => match e {
                Enc::U8(n) => imm8 << n,
                Enc::NarrowOff => r << 2,
                Enc::S8 => sext(imm8, 8),
                Enc::S8x256 => sext(imm8, 8) << 8,
                Enc::S12 => sext((s << 8) | imm8, 12),
                Enc::AddiN if t == 0 => u32::MAX,
                Enc::AddiN => t,
                Enc::MoviN => {
                    let v = ((t & 7) << 4) | r;
                    if v >= 96 {
                        v.wrapping_sub(128)
                    } else {
                        v
                    }
                }
                Enc::L32e => 0xFFFF_FFC0 | (r << 2),
                Enc::Rotw => sext(t, 4),
                Enc::Slli => 32 - (((op2 & 1) << 4) | t),
                Enc::Srai => ((op2 & 1) << 4) | s,
                Enc::Srli => s,
                Enc::Ssai => s | ((t & 1) << 4),
                Enc::Sext => t + 7,
                Enc::Entry => (w >> 12) << 3,
                Enc::Mac16 => op1 | (op2 << 4),
                Enc::Br8 => next.wrapping_add(sext(imm8, 8)),
                Enc::Br12 => next.wrapping_add(sext(w >> 12, 12)),
                Enc::BrN => next.wrapping_add(((t & 3) << 4) | r),
                Enc::Loop => next.wrapping_add(imm8),
                Enc::Jump => next.wrapping_add(sext(w >> 6, 18)),
                Enc::Call => (pc & !3).wrapping_add(sext(w >> 6, 18) << 2).wrapping_add(4),
            },
            _ => 0,
        };
        let (_, _, op, len) = MATCH[k];
        Insn::new(op, len, r, s5, t, imm)
    }

    /// Per line: the operand that defines `imm` (if any), and the field with a fifth bit (and
    /// where that bit is in the word).
    #[allow(clippy::type_complexity)]
    static RECIPE: [(Option<Opd>, Option<(Field, u32)>); OP_COUNT] = {
        let mut rec = [(None, None); OP_COUNT];
        let mut k = 0;
        while k < OP_COUNT {
            let ops = TABLE[k].operands;
            let mut j = 0;
            while j < ops.len() {
                match ops[j] {
                    Opd::Num5(f, hi) => rec[k].1 = Some((f, hi as u32)),
                    Opd::A(_) | Opd::F(_) | Opd::B(_) | Opd::Num(_) | Opd::B4Const | Opd::B4ConstU => {}
                    opd => rec[k].0 = Some(opd),
                }
                j += 1;
            }
            k += 1;
        }
        rec
    };

    /// The index key of word `w` whose op0 is `op0`: for op0 = 0 (the RRR group) op1, op2 and
    /// r; otherwise r and t (RRI8 and branch groups, narrow forms), after the 4096 keys of
    /// op0 = 0 in blocks of 256 per op0.
    #[inline(always)]
    const fn key_of(w: u32, op0: u32) -> usize {
        key_base(op0) + sub_key(w, op0)
    }

    const fn key_base(op0: u32) -> usize {
        if op0 == 0 {
            0
        } else {
            4096 + (op0 as usize - 1) * 256
        }
    }

    #[inline(always)]
    const fn sub_key(w: u32, op0: u32) -> usize {
        (if op0 == 0 {
            ((w >> 16) & 0xFF) | (((w >> 12) & 0xF) << 8)
        } else {
            ((w >> 12) & 0xF) | (((w >> 4) & 0xF) << 4)
        }) as usize
    }

    /// The word bits an operand occupies.
    const fn operand_bits(opd: Opd) -> u32 {
        const fn at(f: Field) -> u32 {
            match f {
                Field::R => 12,
                Field::S => 8,
                Field::T => 4,
            }
        }
        match opd {
            Opd::A(f) | Opd::F(f) | Opd::B(f) | Opd::Num(f) => 0xF << at(f),
            Opd::Num5(f, hi) => (0xF << at(f)) | (1 << hi),
            Opd::B4Const | Opd::B4ConstU => 0xF << 12,
            Opd::Literal => 0xFFFF << 8,
            Opd::MaskWidth => 0xF << 20,
            Opd::Sr { .. } | Opd::Ur(Field::R) => 0xFF << 8,
            Opd::Ur(_) => 0xFF << 4,
            Opd::Imm(e) | Opd::SImm(e) | Opd::Target(e) => match e {
                Enc::U8(_) | Enc::S8 | Enc::S8x256 | Enc::Mac16 | Enc::Br8 | Enc::Loop => 0xFF << 16,
                Enc::NarrowOff | Enc::L32e => 0xF << 12,
                Enc::S12 => (0xF << 8) | (0xFF << 16),
                Enc::AddiN | Enc::Rotw | Enc::Sext => 0xF << 4,
                Enc::MoviN => (0x7 << 4) | (0xF << 12),
                Enc::Slli => (1 << 20) | (0xF << 4),
                Enc::Srai => (1 << 20) | (0xF << 8),
                Enc::Srli => 0xF << 8,
                Enc::Ssai => (0xF << 8) | (1 << 4),
                Enc::Entry | Enc::Br12 => 0xFFF << 12,
                Enc::BrN => (0x3 << 4) | (0xF << 12),
                Enc::Jump | Enc::Call => 0x3FFFF << 6,
            },
        }
    }

    /// Per line, compactly: the bits that must equal its opcode bits (all but the operands'),
    /// the opcode bits, the op and its length. Sentinels have an empty mask; the index never
    /// offers them.
    static MATCH: [(u32, u32, Op, u8); OP_COUNT] = {
        let mut m = [(0, 0, Op::Undecoded, 0); OP_COUNT];
        let mut k = 0;
        while k < OP_COUNT {
            m[k] = (MASKS[k], TABLE[k].enc, TABLE[k].op, TABLE[k].size());
            k += 1;
        }
        m
    };

    /// Per line, the bits that must equal its opcode bits: all but the operands'.
    const MASKS: [u32; OP_COUNT] = {
        let mut masks = [0; OP_COUNT];
        let mut k = 0;
        while k < OP_COUNT {
            let info = &TABLE[k];
            let mut m = if info.has(flag::NARROW) { 0xFFFF } else { 0xFF_FFFF };
            let mut j = 0;
            while j < info.operands.len() {
                m &= !operand_bits(info.operands[j]);
                j += 1;
            }
            masks[k] = if info.has(flag::SENTINEL) { 0 } else { m };
            k += 1;
        }
        masks
    };

    /// Candidate lines per index key ([`key_of`]): a line is a candidate under every key its
    /// opcode bits allow, in table order.
    struct Index {
        start: [u16; KEYS + 1],
        lines: [u8; INDEX_LEN],
    }

    const KEYS: usize = 4096 + 15 * 256;

    /// Line `k`'s keys: (its op0's first key, the sub-key bits its opcode fixes, their values,
    /// all sub-key bits). None for sentinels.
    const fn key_rule(k: usize) -> Option<(usize, usize, usize, usize)> {
        let info = &TABLE[k];
        if info.has(flag::SENTINEL) {
            return None;
        }
        let op0 = info.enc & 0xF;
        let width = if op0 == 0 { 0xFFF } else { 0xFF };
        Some((key_base(op0), sub_key(MASKS[k], op0), sub_key(info.enc, op0), width))
    }

    /// Calls `each(k, key)` for every line `k` and every key it is a candidate under, in line
    /// order (a macro: const fns cannot take closures).
    macro_rules! for_each_candidate {
        (|$k:ident, $key:ident| $body:block) => {{
            let mut $k = 0;
            while $k < OP_COUNT {
                if let Some((base, fixed, value, width)) = key_rule($k) {
                    let free = !fixed & width;
                    let mut sub = free;
                    loop {
                        let $key = base + (value | sub);
                        $body
                        if sub == 0 {
                            break;
                        }
                        sub = (sub - 1) & free;
                    }
                }
                $k += 1;
            }
        }};
    }

    const INDEX_LEN: usize = {
        let mut n = 0;
        for_each_candidate!(|k, key| {
            let _ = (k, key);
            n += 1;
        });
        n
    };

    static INDEX: Index = {
        let mut ix = Index { start: [0; KEYS + 1], lines: [0; INDEX_LEN] };
        // Counts per key, then bucket starts, then fill (lines in table order within a bucket).
        let mut count = [0u16; KEYS];
        for_each_candidate!(|k, key| {
            let _ = k;
            count[key] += 1;
        });
        let mut key = 0;
        while key < KEYS {
            ix.start[key + 1] = ix.start[key] + count[key];
            key += 1;
        }
        let mut fill = [0u16; KEYS];
        for_each_candidate!(|k, key| {
            ix.lines[(ix.start[key] + fill[key]) as usize] = k as u8;
            fill[key] += 1;
        });
        ix
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rrr(op0: u32, op1: u32, op2: u32, r: u32, s: u32, t: u32) -> u32 {
        op0 | (t << 4) | (s << 8) | (r << 12) | (op1 << 16) | (op2 << 20)
    }

    #[test]
    fn decodes_core_alu() {
        let i = decode(rrr(0, 0, 8, 3, 4, 5), 0);
        assert_eq!((i.op, i.r, i.s, i.t, i.len), (Op::Add, 3, 4, 5, 3));
        assert_eq!(decode(rrr(0, 0, 12, 1, 2, 3), 0).op, Op::Sub);
        assert_eq!(decode(rrr(0, 2, 15, 1, 2, 3), 0).op, Op::Rems);
    }

    #[test]
    fn narrow_forms() {
        // movi.n a2, -32 : op0=0xC, t=0b0110 (bit3 clear, t[2:0]=6), r=0 -> 0x60 -> -32
        let w = 0xC | (6 << 4) | (2 << 8);
        let i = decode(w, 0);
        assert_eq!((i.op, i.s, i.imm as i32, i.len), (Op::MoviN, 2, -32, 2));
        // nop.n = 0xF03D
        assert_eq!(decode(0xF03D, 0).op, Op::NopN);
        assert_eq!(decode(0xF01D, 0).op, Op::RetwN);
        // addi.n with t=0 means -1
        assert_eq!(decode(0x000B | (1 << 12) | (1 << 8), 0).imm, u32::MAX);
    }

    #[test]
    fn l32r_offset_is_negative() {
        let i = decode(0x1 | (2 << 4) | (0xFFFF << 8), 0x1000);
        assert_eq!(i.imm as i32, -4);
    }

    #[test]
    fn call_targets() {
        // call8 with offset 1 from pc 0x101 -> (0x100) + 4 + 4
        let w = 5 | (2 << 4) | (1 << 6);
        let i = decode(w, 0x4000_0101);
        assert_eq!((i.op, i.imm), (Op::Call8, 0x4000_0108));
    }

    /// The decision tree and the table agree on every 24-bit word (with junk above it), at
    /// PCs of each alignment and near the top of the address space.
    #[test]
    fn decoder_agrees_with_the_instruction_table_on_every_word() {
        for w in 0..(1u32 << 24) {
            let pc = [0x4008_0000, 0x4008_0003, 0xFFFF_FFF1, 0x3FFF_FFFE][(w & 3) as usize] + (w >> 20);
            let a = decode(w | 0xA500_0000, pc);
            let b = by_table::decode(w, pc);
            assert_eq!((a, a.wq), (b, b.wq), "{w:06x} at {pc:#x}");
        }
    }

    #[test]
    fn insn_is_compact() {
        assert!(std::mem::size_of::<Insn>() <= 12);
    }
}
