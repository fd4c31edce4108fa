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
use crate::isa::{Enc, Field, Opd};
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

/// Encodes `i` as the instruction at `pc`: the opcode bits of its line in the instruction
/// table ([`crate::isa`]) and each operand in its place. Returns the instruction word
/// (little-endian bit order, as [`crate::decode::decode`] takes it) and its length in bytes.
pub fn encode(i: &Insn, pc: u32) -> Result<(u32, u8), AsmError> {
    match i.op {
        Op::Undecoded | Op::Hook => return err(format!("{:?} is not an instruction", i.op)),
        Op::Illegal => {
            let len = if i.len == 2 { 2 } else { 3 };
            let mask = if len == 2 { 0xFFFF } else { 0xFF_FFFF };
            return Ok((i.imm & mask, len));
        }
        _ => {}
    }
    let info = i.op.info();
    let mut w = info.enc;
    for &opd in info.operands {
        w |= operand_bits(opd, i, pc)?;
    }
    Ok((w, info.size()))
}

/// Bit position of a 4-bit register field in the instruction word (all formats agree).
fn at(f: Field) -> u32 {
    match f {
        Field::R => 12,
        Field::S => 8,
        Field::T => 4,
    }
}

/// The bits of one operand of `i`.
fn operand_bits(opd: Opd, i: &Insn, pc: u32) -> Result<u32, AsmError> {
    let get = |f: Field| match f {
        Field::R => (i.r, "r"),
        Field::S => (i.s, "s"),
        Field::T => (i.t, "t"),
    };
    let imm = i.imm;
    let simm = imm as i32 as i64;
    Ok(match opd {
        Opd::A(f) | Opd::F(f) | Opd::B(f) | Opd::Num(f) => {
            let (v, n) = get(f);
            f4(v, n)? << at(f)
        }
        Opd::Num5(f, hi) => {
            let (v, n) = get(f);
            if v > 31 {
                return err(format!("{n} field {v} out of range 0..=31"));
            }
            ((v as u32 & 15) << at(f)) | ((v as u32 >> 4) << hi)
        }
        Opd::B4Const | Opd::B4ConstU => f4(i.r, "r")? << 12,
        Opd::Literal => {
            in_range(simm, -262144, -4, "l32r offset")?;
            aligned(simm, 4, "l32r offset")?;
            ((imm >> 2) & 0xFFFF) << 8
        }
        Opd::MaskWidth => {
            let bits = imm.count_ones();
            if bits == 0 || bits > 16 || imm != (1u32 << bits) - 1 {
                return err(format!("extui mask {imm:#x} is not 1..=16 low ones"));
            }
            (bits - 1) << 20
        }
        Opd::Sr { .. } => {
            in_range(simm, 0, 255, "special register")?;
            ((imm >> 4) << 12) | ((imm & 15) << 8)
        }
        Opd::Ur(f) => {
            in_range(simm, 0, 255, "user register")?;
            ((imm >> 4) << at(f)) | ((imm & 15) << (at(f) - 4))
        }
        Opd::Imm(e) | Opd::SImm(e) | Opd::Target(e) => imm_bits(e, i, pc)?,
    })
}

/// The bits of an immediate or target operand, range-checked.
fn imm_bits(e: Enc, i: &Insn, pc: u32) -> Result<u32, AsmError> {
    let imm = i.imm;
    let simm = imm as i32 as i64;
    // Distance of the target from pc + 4 (branches, jumps, loops).
    let off = || dist(imm, pc.wrapping_add(4));
    Ok(match e {
        Enc::U8(n) => {
            in_range(simm, 0, 255 << n, "offset")?;
            aligned(simm, 1 << n, "offset")?;
            (imm >> n) << 16
        }
        Enc::NarrowOff => {
            in_range(simm, 0, 60, "offset")?;
            aligned(simm, 4, "offset")?;
            (imm >> 2) << 12
        }
        Enc::S8 => {
            in_range(simm, -128, 127, "addi immediate")?;
            (imm & 0xFF) << 16
        }
        Enc::S8x256 => {
            in_range(simm, -32768, 32512, "addmi immediate")?;
            aligned(simm, 256, "addmi immediate")?;
            ((imm >> 8) & 0xFF) << 16
        }
        Enc::S12 => {
            in_range(simm, -2048, 2047, "movi immediate")?;
            (((imm >> 8) & 15) << 8) | ((imm & 0xFF) << 16)
        }
        Enc::AddiN => match simm {
            -1 => 0,
            1..=15 => imm << 4,
            _ => return err(format!("addi.n immediate {simm} not in -1, 1..=15")),
        },
        Enc::MoviN => {
            in_range(simm, -32, 95, "movi.n immediate")?;
            let v = imm & 0x7F;
            ((v >> 4) << 4) | ((v & 15) << 12)
        }
        Enc::L32e => {
            in_range(simm, -64, -4, "l32e/s32e offset")?;
            aligned(simm, 4, "l32e/s32e offset")?;
            ((imm >> 2) & 15) << 12
        }
        Enc::Rotw => {
            in_range(simm, -8, 7, "rotw amount")?;
            (imm & 15) << 4
        }
        Enc::Slli => {
            in_range(simm, 1, 32, "slli amount")?;
            let sa = 32 - imm;
            ((sa >> 4) << 20) | ((sa & 15) << 4)
        }
        Enc::Srai => {
            in_range(simm, 0, 31, "srai amount")?;
            ((imm >> 4) << 20) | ((imm & 15) << 8)
        }
        Enc::Srli => {
            in_range(simm, 0, 15, "srli amount")?;
            imm << 8
        }
        Enc::Ssai => {
            in_range(simm, 0, 31, "ssai amount")?;
            ((imm & 15) << 8) | ((imm >> 4) << 4)
        }
        Enc::Sext => {
            in_range(simm, 7, 22, "bit position")?;
            (imm - 7) << 4
        }
        Enc::Entry => {
            in_range(simm, 0, 32760, "entry frame size")?;
            aligned(simm, 8, "entry frame size")?;
            (imm >> 3) << 12
        }
        Enc::Mac16 => {
            in_range(simm, 0, 255, "mac16 op1|op2<<4")?;
            imm << 16
        }
        Enc::Br8 => off8(imm, pc)? << 16,
        Enc::Br12 => {
            let off = off();
            in_range(off, -2048, 2047, "branch offset")?;
            ((off as u32) & 0xFFF) << 12
        }
        Enc::BrN => {
            let off = off();
            if !(0..=63).contains(&off) {
                return err(format!("{:?} target {imm:#x} out of reach from {pc:#x}", i.op));
            }
            let off = off as u32;
            ((off >> 4) << 4) | ((off & 15) << 12)
        }
        Enc::Loop => {
            let off = off();
            if !(0..=255).contains(&off) {
                return err(format!("loop end {imm:#x} out of reach from {pc:#x}"));
            }
            (off as u32) << 16
        }
        Enc::Jump => {
            let off = off();
            in_range(off, -(1 << 17), (1 << 17) - 1, "j offset")?;
            ((off as u32) & 0x3FFFF) << 6
        }
        Enc::Call => {
            if imm & 3 != 0 {
                return err(format!("call target {imm:#x} is not 4-byte aligned"));
            }
            let off = dist(imm, (pc & !3).wrapping_add(4));
            in_range(off, -(1 << 19), (1 << 19) - 4, "call offset")?;
            (((off >> 2) as u32) & 0x3FFFF) << 6
        }
    })
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
            if !name.is_empty() && matches!(op.info().operands.last(), Some(Opd::Sr { .. } | Opd::Ur(_))) {
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
                Some(Opd::Ur(_)) => ur_number(name),
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
            Opd::Num(f) | Opd::Num5(f, _) => {
                let max = if matches!(opd, Opd::Num5(..)) { 31 } else { 15 };
                let n = v()?;
                if n > max {
                    return err(format!("`{mnem}` operand {}: {n} out of range 0..={max}", k + 1));
                }
                *field(&mut i, f) = n as u8;
            }
            Opd::Imm(_) | Opd::SImm(_) | Opd::Target(_) => i.imm = v()?,
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
            Opd::Sr { .. } | Opd::Ur(_) => {
                i.imm = match suffix_reg {
                    Some(n) => n,
                    None => {
                        let s = ops[k].trim();
                        let named = if matches!(opd, Opd::Ur(_)) { ur_number(s) } else { sr_number(s) };
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
