//! Single-precision FP coprocessor (CP0) of the ESP32's LX6.
//!
//! Every non-memory FP operation (`Op::AddS` … `Op::MovtS`); the FP loads and stores and the
//! CPENABLE check live in `cpu.rs`.
//!
//! # Model
//!
//! * **Rounding**: FCR[1:0] selects the mode of ADD/SUB/MUL/MADD/MSUB.S, FLOAT/UFLOAT.S and
//!   MKDADJ/MKSADJ.S: 0 nearest-even, 1 toward zero, 2 toward +inf, 3 toward −inf.
//!   ROUND/TRUNC/FLOOR/CEIL/UTRUNC.S use their own fixed mode; MADDN.S always rounds to nearest.
//! * **Flags**: sticky in FSR[11:7] — bit 7 inexact, 8 underflow, 9 overflow, 10 divide-by-zero,
//!   11 invalid (the ESP32 configuration has the InexactFlag…InvalidFlag states; the layout is
//!   the Xtensa FP option's). Underflow is signalled for tiny *and* inexact results, tininess
//!   detected after rounding. FCR's enable bits never trap (there is no FP exception cause).
//! * **MADD.S / MSUB.S** (`fr ± fs·ft`) are fused: one rounding.
//! * **NaNs**: every NaN is treated as quiet (the FPU2000-style model QEMU applies to this
//!   configuration: `no_signaling_nans`), so NaN operands never raise invalid except in the
//!   ordered compares OLT/OLE. A NaN operand is returned unchanged, the first one in operand
//!   order (`fs` before `ft`; `fs`, `ft`, `fr` for MADD/MSUB); invalid operations produce the
//!   default NaN 0x7FC00000. Set [`SIGNALING_NANS`] to get IEEE sNaN behaviour instead.
//! * **Float → int** saturates: NaN and +overflow → 0x7FFFFFFF (UTRUNC: 0xFFFFFFFF),
//!   −overflow → 0x80000000, raising only invalid. UTRUNC.S of a negative value converts as a
//!   signed number (−1.0 → 0xFFFFFFFF) and raises invalid when the result is non-zero.
//! * **Divide / square-root helpers**: DIV0.S/RECIP0.S write an approximation of 1/fs and
//!   SQRT0.S/RSQRT0.S one of 1/√fs (exact to f32 here; the hardware's is coarser), NEXP01.S,
//!   ADDEXP.S and DIVN.S leave `fr` unchanged, ADDEXPM.S copies `fs` to `fr`, MKDADJ.S computes
//!   `fs / fr` and MKSADJ.S `√fs` (FCR rounding, IEEE flags), MADDN.S is a fused multiply-add
//!   in round-to-nearest that sets no flags. With these, the compiler/libgcc division and
//!   square-root sequences (DIV0 … MKDADJ … ADDEXPM … DIVN) yield the correctly rounded IEEE
//!   quotient / root with the right flags — the same scheme QEMU uses for these ops. The
//!   intermediate register values of those sequences differ from the hardware's.
//!
//! The arithmetic is a small exact soft-float (integer mantissas, one final rounding) with a
//! fast path through host `f64` when the mode is round-to-nearest and the exact result is
//! representable in an `f64` (then a single host rounding to `f32` is exact).

use crate::cpu::{Cpu, Exc};
use crate::decode::{Insn, Op};
use crate::regs::cause;

/// Treat NaNs with a clear quiet bit as signalling (IEEE) instead of the FPU2000 model.
pub const SIGNALING_NANS: bool = false;

/// The NaN produced by invalid operations.
pub const DEFAULT_NAN: u32 = 0x7FC0_0000;

/// Flag bits as they sit in FSR once shifted left by [`FSR_SHIFT`].
pub const FLAG_INEXACT: u32 = 1;
pub const FLAG_UNDERFLOW: u32 = 2;
pub const FLAG_OVERFLOW: u32 = 4;
pub const FLAG_DIVZERO: u32 = 8;
pub const FLAG_INVALID: u32 = 16;
pub const FSR_SHIFT: u32 = 7;

const SIGN: u32 = 0x8000_0000;

/// Rounding modes, numbered as FCR[1:0].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rm {
    Nearest = 0,
    Zero = 1,
    Up = 2,
    Down = 3,
}

impl Rm {
    pub fn from_fcr(fcr: u32) -> Rm {
        match fcr & 3 {
            0 => Rm::Nearest,
            1 => Rm::Zero,
            2 => Rm::Up,
            _ => Rm::Down,
        }
    }
}

/// Executes a non-memory FP instruction (CPENABLE already checked by the caller).
pub fn exec(cpu: &mut Cpu, i: Insn) -> Result<(), Exc> {
    let rm = Rm::from_fcr(cpu.fcr);
    let (r, s, t) = (i.r as usize, i.s as usize, i.t as usize);
    let mut flags = 0u32;
    match i.op {
        Op::AddS => cpu.fr[r] = add(cpu.fr[s], cpu.fr[t], rm, &mut flags),
        Op::SubS => cpu.fr[r] = sub(cpu.fr[s], cpu.fr[t], rm, &mut flags),
        Op::MulS => cpu.fr[r] = mul(cpu.fr[s], cpu.fr[t], rm, &mut flags),
        Op::MaddS => cpu.fr[r] = fma(cpu.fr[r], cpu.fr[s], cpu.fr[t], false, rm, &mut flags),
        Op::MsubS => cpu.fr[r] = fma(cpu.fr[r], cpu.fr[s], cpu.fr[t], true, rm, &mut flags),
        Op::MaddnS => {
            let mut ignored = 0;
            cpu.fr[r] = fma(cpu.fr[r], cpu.fr[s], cpu.fr[t], false, Rm::Nearest, &mut ignored);
        }
        Op::DivnS | Op::Nexp01S | Op::AddexpS => {}
        Op::AddexpmS => cpu.fr[r] = cpu.fr[s],
        Op::MkdadjS => cpu.fr[r] = div(cpu.fr[s], cpu.fr[r], rm, &mut flags),
        Op::MksadjS => cpu.fr[r] = sqrt(cpu.fr[s], rm, &mut flags),
        Op::Div0S | Op::Recip0S => cpu.fr[r] = approx_recip(cpu.fr[s]),
        Op::Sqrt0S | Op::Rsqrt0S => cpu.fr[r] = approx_rsqrt(cpu.fr[s]),
        Op::RoundS => cpu.set_ar(r, to_int(cpu.fr[s], i.t as i32, Rm::Nearest, false, &mut flags)),
        Op::TruncS => cpu.set_ar(r, to_int(cpu.fr[s], i.t as i32, Rm::Zero, false, &mut flags)),
        Op::FloorS => cpu.set_ar(r, to_int(cpu.fr[s], i.t as i32, Rm::Down, false, &mut flags)),
        Op::CeilS => cpu.set_ar(r, to_int(cpu.fr[s], i.t as i32, Rm::Up, false, &mut flags)),
        Op::UtruncS => cpu.set_ar(r, to_int(cpu.fr[s], i.t as i32, Rm::Zero, true, &mut flags)),
        Op::FloatS => cpu.fr[r] = from_int(cpu.ar(s), false, i.t as i32, rm, &mut flags),
        Op::UfloatS => cpu.fr[r] = from_int(cpu.ar(s), true, i.t as i32, rm, &mut flags),
        Op::MovS => cpu.fr[r] = cpu.fr[s],
        Op::AbsS => cpu.fr[r] = cpu.fr[s] & !SIGN,
        Op::NegS => cpu.fr[r] = cpu.fr[s] ^ SIGN,
        Op::ConstS => cpu.fr[r] = const_s(i.s),
        Op::Rfr => cpu.set_ar(r, cpu.fr[s]),
        Op::Wfr => cpu.fr[r] = cpu.ar(s),
        Op::UnS | Op::OeqS | Op::UeqS | Op::OltS | Op::UltS | Op::OleS | Op::UleS => {
            let v = compare(i.op, cpu.fr[s], cpu.fr[t], &mut flags);
            cpu.br = (cpu.br & !(1 << r)) | ((v as u32) << r);
        }
        Op::MoveqzS | Op::MovnezS | Op::MovltzS | Op::MovgezS => {
            let a = cpu.ar(t) as i32;
            let take = match i.op {
                Op::MoveqzS => a == 0,
                Op::MovnezS => a != 0,
                Op::MovltzS => a < 0,
                _ => a >= 0,
            };
            if take {
                cpu.fr[r] = cpu.fr[s];
            }
        }
        Op::MovfS | Op::MovtS => {
            let b = (cpu.br >> t) & 1 != 0;
            if b == (i.op == Op::MovtS) {
                cpu.fr[r] = cpu.fr[s];
            }
        }
        _ => return Err(Exc::new(cause::ILLEGAL)),
    }
    cpu.fsr |= flags << FSR_SHIFT;
    Ok(())
}

/// CONST.S immediate table (0.0, 1.0, 2.0, 0.5); indices 4..15 are reserved and wrap.
pub fn const_s(idx: u8) -> u32 {
    [0x0000_0000, 0x3F80_0000, 0x4000_0000, 0x3F00_0000][(idx & 3) as usize]
}

// ------------------------------------------------------------------ classification

#[inline(always)]
fn is_nan(a: u32) -> bool {
    a & 0x7FFF_FFFF > 0x7F80_0000
}

#[inline(always)]
fn is_inf(a: u32) -> bool {
    a & 0x7FFF_FFFF == 0x7F80_0000
}

#[inline(always)]
fn is_zero(a: u32) -> bool {
    a & 0x7FFF_FFFF == 0
}

#[inline(always)]
fn is_snan(a: u32) -> bool {
    SIGNALING_NANS && is_nan(a) && a & 0x0040_0000 == 0
}

/// Finite non-zero value as (mantissa, exponent): value = m · 2^e.
#[inline(always)]
fn unpack(a: u32) -> (u64, i32) {
    let e = ((a >> 23) & 0xFF) as i32;
    let f = (a & 0x7F_FFFF) as u64;
    if e == 0 {
        (f, -149)
    } else {
        (f | 0x80_0000, e - 150)
    }
}

/// The NaN result for NaN operands: the first NaN in `ops`, quieted when sNaNs exist.
fn pick_nan(ops: &[u32], flags: &mut u32) -> u32 {
    if ops.iter().any(|&x| is_snan(x)) {
        *flags |= FLAG_INVALID;
    }
    let n = ops.iter().copied().find(|&x| is_nan(x)).unwrap_or(DEFAULT_NAN);
    if SIGNALING_NANS {
        n | 0x0040_0000
    } else {
        n
    }
}

// ------------------------------------------------------------------ rounding

/// Rounds the magnitude `mant · 2^exp` (+ a positive amount below one unit of `mant` when
/// `sticky`) to an f32 with sign `neg`. `mant` must be non-zero.
fn round_pack(neg: bool, mant: u128, exp: i32, sticky: bool, rm: Rm, flags: &mut u32) -> u32 {
    debug_assert!(mant != 0);
    let sign = if neg { SIGN } else { 0 };
    let msb = 127 - mant.leading_zeros() as i32;
    let top = msb + exp; // value in [2^top, 2^(top+1))
    let shift = if top < -126 { -149 - exp } else { msb - 23 };
    let (mut q, inexact) = shift_round(mant, shift, sticky, neg, rm);
    let mut k = exp + shift;
    if q >> 24 != 0 {
        q >>= 1;
        k += 1;
    }
    if inexact {
        *flags |= FLAG_INEXACT;
        if top < -126 {
            // Tiny after rounding unless rounding with unbounded exponent reaches 2^-126.
            let (q2, _) = shift_round(mant, msb - 23, sticky, neg, rm);
            let reaches = q2 >> 24 != 0 && top + 1 == -126;
            if !reaches {
                *flags |= FLAG_UNDERFLOW;
            }
        }
    }
    if q == 0 {
        return sign;
    }
    if q < 0x80_0000 {
        // Subnormal (k == -149).
        return sign | q as u32;
    }
    let biased = k + 150;
    if biased >= 255 {
        *flags |= FLAG_OVERFLOW | FLAG_INEXACT;
        let to_inf = match rm {
            Rm::Nearest => true,
            Rm::Zero => false,
            Rm::Up => !neg,
            Rm::Down => neg,
        };
        return sign | if to_inf { 0x7F80_0000 } else { 0x7F7F_FFFF };
    }
    sign | (biased as u32) << 23 | (q as u32 & 0x7F_FFFF)
}

/// `mant >> shift` rounded per `rm` (the sign matters for directed modes); returns the rounded
/// value and whether anything non-zero was discarded.
fn shift_round(mant: u128, shift: i32, sticky: bool, neg: bool, rm: Rm) -> (u128, bool) {
    use std::cmp::Ordering;
    let (q, half_cmp, lost) = if shift <= 0 {
        let q = mant << (-shift) as u32;
        (q, if sticky { Ordering::Less } else { Ordering::Equal }, sticky)
    } else if shift >= 128 {
        (0, Ordering::Less, true)
    } else {
        let q = mant >> shift;
        let rem = mant & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let cmp = match rem.cmp(&half) {
            Ordering::Equal if sticky => Ordering::Greater,
            c => c,
        };
        (q, cmp, rem != 0 || sticky)
    };
    if !lost {
        return (q, false);
    }
    let up = match rm {
        Rm::Nearest => half_cmp == Ordering::Greater || (half_cmp == Ordering::Equal && q & 1 == 1),
        Rm::Zero => false,
        Rm::Up => !neg,
        Rm::Down => neg,
    };
    (q + up as u128, true)
}

/// The exact sum `x + y` of two terms (sign, mantissa < 2^50, exponent), rounded.
/// Returns `None` for an exact zero result (caller chooses the zero's sign).
fn add_terms(x: (bool, u64, i32), y: (bool, u64, i32), rm: Rm, flags: &mut u32) -> Option<u32> {
    // Order so that x has the larger exponent.
    let (x, y) = if x.2 >= y.2 { (x, y) } else { (y, x) };
    let d = (x.2 - y.2) as u32;
    let (xm, ym, exp, sticky) = if d <= 72 {
        ((x.1 as u128) << d, y.1 as u128, y.2, false)
    } else {
        let sh = d - 72;
        let (ym, st) = if sh >= 128 {
            (0, y.1 != 0)
        } else {
            ((y.1 as u128) >> sh, (y.1 as u128) & ((1u128 << sh) - 1) != 0)
        };
        ((x.1 as u128) << 72, ym, x.2 - 72, st)
    };
    if x.0 == y.0 {
        return Some(round_pack(x.0, xm + ym, exp, sticky, rm, flags));
    }
    // Opposite signs: subtract the smaller magnitude (with sticky, y is always the smaller).
    if sticky {
        return Some(round_pack(x.0, xm - ym - 1, exp, true, rm, flags));
    }
    match xm.cmp(&ym) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(round_pack(x.0, xm - ym, exp, false, rm, flags)),
        std::cmp::Ordering::Less => Some(round_pack(y.0, ym - xm, exp, false, rm, flags)),
    }
}

#[inline(always)]
fn zero_sum_sign(rm: Rm) -> u32 {
    if rm == Rm::Down {
        SIGN
    } else {
        0
    }
}

/// Round-to-nearest fast path: `v` is the exact result held in an f64.
#[inline(always)]
fn fast_nearest(v: f64, flags: &mut u32) -> Option<u32> {
    let r = v as f32;
    if r.is_normal() {
        if r as f64 != v {
            *flags |= FLAG_INEXACT;
        }
        Some(r.to_bits())
    } else {
        None
    }
}

/// Exact f64 sum of two f64s, if there is one (TwoSum error term zero).
#[inline(always)]
fn exact_sum(a: f64, b: f64) -> Option<f64> {
    let s = a + b;
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    if err == 0.0 && s.is_finite() {
        Some(s)
    } else {
        None
    }
}

#[inline(always)]
fn finite(a: u32) -> bool {
    a & 0x7F80_0000 != 0x7F80_0000
}

// ------------------------------------------------------------------ arithmetic

pub fn add(a: u32, b: u32, rm: Rm, flags: &mut u32) -> u32 {
    if rm == Rm::Nearest && finite(a) && finite(b) {
        if let Some(v) = exact_sum(f32::from_bits(a) as f64, f32::from_bits(b) as f64) {
            if let Some(r) = fast_nearest(v, flags) {
                return r;
            }
        }
    }
    if is_nan(a) || is_nan(b) {
        return pick_nan(&[a, b], flags);
    }
    if is_inf(a) || is_inf(b) {
        if is_inf(a) && is_inf(b) && (a ^ b) & SIGN != 0 {
            *flags |= FLAG_INVALID;
            return DEFAULT_NAN;
        }
        return if is_inf(a) { a } else { b };
    }
    if is_zero(a) && is_zero(b) {
        return if (a ^ b) & SIGN == 0 { a } else { zero_sum_sign(rm) };
    }
    if is_zero(a) {
        return b;
    }
    if is_zero(b) {
        return a;
    }
    let (am, ae) = unpack(a);
    let (bm, be) = unpack(b);
    add_terms((a & SIGN != 0, am, ae), (b & SIGN != 0, bm, be), rm, flags)
        .unwrap_or_else(|| zero_sum_sign(rm))
}

pub fn sub(a: u32, b: u32, rm: Rm, flags: &mut u32) -> u32 {
    if is_nan(a) || is_nan(b) {
        return pick_nan(&[a, b], flags);
    }
    add(a, b ^ SIGN, rm, flags)
}

pub fn mul(a: u32, b: u32, rm: Rm, flags: &mut u32) -> u32 {
    if rm == Rm::Nearest && finite(a) && finite(b) {
        let v = f32::from_bits(a) as f64 * f32::from_bits(b) as f64;
        if let Some(r) = fast_nearest(v, flags) {
            return r;
        }
    }
    if is_nan(a) || is_nan(b) {
        return pick_nan(&[a, b], flags);
    }
    let sign = (a ^ b) & SIGN;
    if is_inf(a) || is_inf(b) {
        if is_zero(a) || is_zero(b) {
            *flags |= FLAG_INVALID;
            return DEFAULT_NAN;
        }
        return sign | 0x7F80_0000;
    }
    if is_zero(a) || is_zero(b) {
        return sign;
    }
    let (am, ae) = unpack(a);
    let (bm, be) = unpack(b);
    round_pack(sign != 0, (am * bm) as u128, ae + be, false, rm, flags)
}

/// `acc + s·t` (or `acc − s·t` when `negate`), rounded once.
pub fn fma(acc: u32, s: u32, t: u32, negate: bool, rm: Rm, flags: &mut u32) -> u32 {
    if rm == Rm::Nearest && finite(acc) && finite(s) && finite(t) {
        let p = f32::from_bits(s) as f64 * f32::from_bits(t) as f64;
        let p = if negate { -p } else { p };
        if let Some(v) = exact_sum(f32::from_bits(acc) as f64, p) {
            if let Some(r) = fast_nearest(v, flags) {
                return r;
            }
        }
    }
    let inf_zero = (is_inf(s) && is_zero(t)) || (is_zero(s) && is_inf(t));
    if is_nan(s) || is_nan(t) || is_nan(acc) {
        if inf_zero {
            *flags |= FLAG_INVALID;
        }
        return pick_nan(&[s, t, acc], flags);
    }
    if inf_zero {
        *flags |= FLAG_INVALID;
        return DEFAULT_NAN;
    }
    let psign = (s ^ t ^ if negate { SIGN } else { 0 }) & SIGN;
    if is_inf(s) || is_inf(t) {
        if is_inf(acc) && (acc & SIGN) != psign {
            *flags |= FLAG_INVALID;
            return DEFAULT_NAN;
        }
        return psign | 0x7F80_0000;
    }
    if is_inf(acc) {
        return acc;
    }
    if is_zero(s) || is_zero(t) {
        if is_zero(acc) {
            return if acc & SIGN == psign { acc } else { zero_sum_sign(rm) };
        }
        return acc;
    }
    let (sm, se) = unpack(s);
    let (tm, te) = unpack(t);
    if is_zero(acc) {
        return round_pack(psign != 0, (sm * tm) as u128, se + te, false, rm, flags);
    }
    let (am, ae) = unpack(acc);
    add_terms((psign != 0, sm * tm, se + te), (acc & SIGN != 0, am, ae), rm, flags)
        .unwrap_or_else(|| zero_sum_sign(rm))
}

/// IEEE division `a / b`.
pub fn div(a: u32, b: u32, rm: Rm, flags: &mut u32) -> u32 {
    if is_nan(a) || is_nan(b) {
        return pick_nan(&[a, b], flags);
    }
    let sign = (a ^ b) & SIGN;
    if is_inf(a) {
        if is_inf(b) {
            *flags |= FLAG_INVALID;
            return DEFAULT_NAN;
        }
        return sign | 0x7F80_0000;
    }
    if is_inf(b) {
        return sign;
    }
    if is_zero(b) {
        if is_zero(a) {
            *flags |= FLAG_INVALID;
            return DEFAULT_NAN;
        }
        *flags |= FLAG_DIVZERO;
        return sign | 0x7F80_0000;
    }
    if is_zero(a) {
        return sign;
    }
    let (am, ae) = unpack(a);
    let (bm, be) = unpack(b);
    let n = (am as u128) << 64;
    let q = n / bm as u128;
    let rem = n % bm as u128;
    round_pack(sign != 0, q, ae - be - 64, rem != 0, rm, flags)
}

/// IEEE square root.
pub fn sqrt(a: u32, rm: Rm, flags: &mut u32) -> u32 {
    if is_nan(a) {
        return pick_nan(&[a], flags);
    }
    if is_zero(a) {
        return a;
    }
    if a & SIGN != 0 {
        *flags |= FLAG_INVALID;
        return DEFAULT_NAN;
    }
    if is_inf(a) {
        return a;
    }
    let (mut m, mut e) = unpack(a);
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    let n = (m as u128) << 80;
    let root = isqrt(n);
    round_pack(false, root, (e - 80) / 2, root * root != n, rm, flags)
}

fn isqrt(n: u128) -> u128 {
    // Start from the f64 estimate, then correct exactly.
    let mut x = (n as f64).sqrt() as u128;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

fn approx_recip(a: u32) -> u32 {
    let v = 1.0f64 / f32::from_bits(a) as f64;
    if v.is_nan() {
        if is_nan(a) {
            a
        } else {
            DEFAULT_NAN
        }
    } else {
        (v as f32).to_bits()
    }
}

fn approx_rsqrt(a: u32) -> u32 {
    let x = f32::from_bits(a) as f64;
    if is_nan(a) {
        return a;
    }
    if x < 0.0 {
        return DEFAULT_NAN;
    }
    if x == 0.0 {
        return (a & SIGN) | 0x7F80_0000;
    }
    ((1.0 / x.sqrt()) as f32).to_bits()
}

// ------------------------------------------------------------------ conversions

/// `a · 2^scale` converted to a 32-bit integer with mode `rm` (signed, or UTRUNC semantics).
pub fn to_int(a: u32, scale: i32, rm: Rm, unsigned: bool, flags: &mut u32) -> u32 {
    let neg = a & SIGN != 0;
    if is_nan(a) {
        *flags |= FLAG_INVALID;
        return if unsigned { u32::MAX } else { i32::MAX as u32 };
    }
    if is_zero(a) {
        return 0;
    }
    // Magnitude after rounding, or None if far out of range (including infinities).
    let mut local = 0u32;
    let mag: Option<u128> = if is_inf(a) {
        None
    } else {
        let (m, e) = unpack(a);
        let k = e + scale;
        if k >= 0 {
            if k > 40 {
                None
            } else {
                Some((m as u128) << k)
            }
        } else {
            let (q, inexact) = shift_round(m as u128, -k, false, neg, rm);
            if inexact {
                local |= FLAG_INEXACT;
            }
            Some(q)
        }
    };
    let signed = |flags: &mut u32| -> u32 {
        match mag {
            Some(q) if !neg && q <= i32::MAX as u128 => {
                *flags |= local;
                q as u32
            }
            Some(q) if neg && q <= 1u128 << 31 => {
                *flags |= local;
                (q as u32).wrapping_neg()
            }
            _ => {
                *flags |= FLAG_INVALID;
                if neg {
                    0x8000_0000
                } else {
                    i32::MAX as u32
                }
            }
        }
    };
    if !unsigned {
        return signed(flags);
    }
    if neg {
        let mut f = 0;
        let v = signed(&mut f);
        *flags |= if v != 0 { FLAG_INVALID } else { f };
        return v;
    }
    match mag {
        Some(q) if q <= u32::MAX as u128 => {
            *flags |= local;
            q as u32
        }
        _ => {
            *flags |= FLAG_INVALID;
            u32::MAX
        }
    }
}

/// FLOAT.S / UFLOAT.S: `v · 2^-scale` rounded per `rm`.
pub fn from_int(v: u32, unsigned: bool, scale: i32, rm: Rm, flags: &mut u32) -> u32 {
    let (neg, mag) = if !unsigned && (v as i32) < 0 { (true, (v as i32).unsigned_abs()) } else { (false, v) };
    if mag == 0 {
        return 0;
    }
    round_pack(neg, mag as u128, -scale, false, rm, flags)
}

// ------------------------------------------------------------------ compares

/// The FP compares; OLT/OLE are signalling (invalid on any NaN operand).
pub fn compare(op: Op, a: u32, b: u32, flags: &mut u32) -> bool {
    let un = is_nan(a) || is_nan(b);
    if un && (matches!(op, Op::OltS | Op::OleS) || is_snan(a) || is_snan(b)) {
        *flags |= FLAG_INVALID;
    }
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    match op {
        Op::UnS => un,
        Op::OeqS => !un && x == y,
        Op::UeqS => un || x == y,
        Op::OltS => !un && x < y,
        Op::UltS => un || x < y,
        Op::OleS => !un && x <= y,
        _ => un || x <= y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::Config;

    const ONE: u32 = 0x3F80_0000;
    const TWO: u32 = 0x4000_0000;
    const INF: u32 = 0x7F80_0000;
    const NINF: u32 = 0xFF80_0000;
    const MAXF: u32 = 0x7F7F_FFFF;
    const MINN: u32 = 0x0080_0000; // smallest normal
    const DEN1: u32 = 0x0000_0001; // smallest subnormal
    const I: u32 = FLAG_INEXACT;
    const U: u32 = FLAG_UNDERFLOW;
    const O: u32 = FLAG_OVERFLOW;
    const Z: u32 = FLAG_DIVZERO;
    const V: u32 = FLAG_INVALID;
    const RMS: [Rm; 4] = [Rm::Nearest, Rm::Zero, Rm::Up, Rm::Down];

    fn f(x: f32) -> u32 {
        x.to_bits()
    }

    fn cpu() -> Cpu {
        let mut c = Cpu::new(Config::esp32_pro());
        c.cpenable = 1;
        c
    }

    fn ins(op: Op, r: u8, s: u8, t: u8) -> Insn {
        Insn { op, len: 3, r, s, t, imm: 0, wq: 0 }
    }

    fn run(c: &mut Cpu, op: Op, r: u8, s: u8, t: u8) {
        exec(c, ins(op, r, s, t)).unwrap();
    }

    /// Reference: round an f64 that holds the exact value to f32 in mode `rm`.
    fn ref_round(v: f64, rm: Rm) -> u32 {
        let r = v as f32; // nearest
        if r as f64 == v || rm == Rm::Nearest || v.is_nan() {
            return r.to_bits();
        }
        let next_up = |x: f32| -> f32 {
            if x.is_infinite() && x > 0.0 {
                x
            } else if x == 0.0 {
                f32::from_bits(1)
            } else if x > 0.0 {
                f32::from_bits(x.to_bits() + 1)
            } else {
                f32::from_bits(x.to_bits() - 1)
            }
        };
        let next_down = |x: f32| -> f32 { -next_up(-x) };
        let (lo, hi) = if (r as f64) < v { (r, next_up(r)) } else { (next_down(r), r) };
        let pick = match rm {
            Rm::Up => hi,
            Rm::Down => lo,
            _ => {
                if v > 0.0 {
                    lo
                } else {
                    hi
                }
            }
        };
        // Directed modes never produce an infinity from a finite value unless rounding away.
        let pick = if pick.is_infinite() && rm != Rm::Up && pick > 0.0 {
            f32::MAX
        } else if pick.is_infinite() && rm != Rm::Down && pick < 0.0 {
            f32::MIN
        } else {
            pick
        };
        pick.to_bits()
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 16) as u32
        }
        /// Random f32 bits biased toward interesting exponents.
        fn float(&mut self) -> u32 {
            let x = self.next();
            match x % 8 {
                0 => x & 0x807F_FFFF,                          // subnormal
                1 => (x & 0x80FF_FFFF) | 0x3F00_0000,          // around 1
                2 => (x & 0x807F_FFFF) | 0x7F00_0000,          // huge
                3 => (x & 0x807F_FFFF) | 0x0080_0000,          // tiny normal
                _ => x,
            }
        }
    }

    #[test]
    fn basic_arithmetic() {
        let mut fl = 0;
        assert_eq!(add(f(1.5), f(2.25), Rm::Nearest, &mut fl), f(3.75));
        assert_eq!(sub(f(1.5), f(2.25), Rm::Nearest, &mut fl), f(-0.75));
        assert_eq!(mul(f(1.5), f(-2.0), Rm::Nearest, &mut fl), f(-3.0));
        assert_eq!(fl, 0);
        let mut c = cpu();
        c.fr[1] = f(3.0);
        c.fr[2] = f(4.0);
        run(&mut c, Op::AddS, 0, 1, 2);
        assert_eq!(c.fr[0], f(7.0));
        run(&mut c, Op::SubS, 0, 1, 2);
        assert_eq!(c.fr[0], f(-1.0));
        run(&mut c, Op::MulS, 0, 1, 2);
        assert_eq!(c.fr[0], f(12.0));
        c.fr[0] = f(1.0);
        run(&mut c, Op::MaddS, 0, 1, 2);
        assert_eq!(c.fr[0], f(13.0));
        run(&mut c, Op::MsubS, 0, 1, 2);
        assert_eq!(c.fr[0], f(1.0));
        assert_eq!(c.fsr, 0);
    }

    #[test]
    fn rounding_modes_add() {
        // 1 + 2^-24 is a tie between 1 and 1+2^-23; 1 + 3·2^-25 is above the tie.
        let tiny = f(2f32.powi(-24));
        let cases = [
            (Rm::Nearest, ONE, ONE),
            (Rm::Zero, ONE, ONE),
            (Rm::Up, ONE + 1, ONE),
            (Rm::Down, ONE, 0),
        ];
        for (rm, pos, _) in cases {
            let mut fl = 0;
            assert_eq!(add(ONE, tiny, rm, &mut fl), pos, "{rm:?}");
            assert_eq!(fl, I);
        }
        // Negative: -1 - 2^-24
        let mut fl = 0;
        assert_eq!(add(ONE | SIGN, tiny | SIGN, Rm::Down, &mut fl), (ONE + 1) | SIGN);
        assert_eq!(add(ONE | SIGN, tiny | SIGN, Rm::Up, &mut fl), ONE | SIGN);
        assert_eq!(add(ONE | SIGN, tiny | SIGN, Rm::Zero, &mut fl), ONE | SIGN);
        // Tie to even upward: (1+2^-23) + 2^-24 -> 1+2^-22
        assert_eq!(add(ONE + 1, tiny, Rm::Nearest, &mut fl), ONE + 2);
        // Far-apart operands: sticky must reach directed rounding.
        let far = f(2f32.powi(-100));
        assert_eq!(add(ONE, far, Rm::Up, &mut fl), ONE + 1);
        assert_eq!(add(ONE, far, Rm::Nearest, &mut fl), ONE);
        assert_eq!(add(ONE, far | SIGN, Rm::Down, &mut fl), 0x3F7F_FFFF);
        assert_eq!(add(ONE, far | SIGN, Rm::Zero, &mut fl), 0x3F7F_FFFF);
        assert_eq!(add(ONE, far | SIGN, Rm::Nearest, &mut fl), ONE);
    }

    #[test]
    fn fcr_selects_rounding_mode() {
        let mut c = cpu();
        c.fr[1] = ONE;
        c.fr[2] = f(2f32.powi(-24) * 3.0);
        for (mode, want) in [(0, ONE + 2), (1, ONE + 1), (2, ONE + 2), (3, ONE + 1)] {
            c.fcr = mode;
            run(&mut c, Op::AddS, 0, 1, 2);
            assert_eq!(c.fr[0], want, "mode {mode}");
        }
        assert_eq!(c.fsr, I << FSR_SHIFT);
    }

    #[test]
    fn signed_zeros() {
        let mut fl = 0;
        assert_eq!(add(f(1.0), f(-1.0), Rm::Nearest, &mut fl), 0);
        assert_eq!(add(f(1.0), f(-1.0), Rm::Down, &mut fl), SIGN);
        assert_eq!(add(SIGN, SIGN, Rm::Nearest, &mut fl), SIGN);
        assert_eq!(add(SIGN, 0, Rm::Nearest, &mut fl), 0);
        assert_eq!(add(SIGN, 0, Rm::Down, &mut fl), SIGN);
        assert_eq!(sub(0, 0, Rm::Nearest, &mut fl), 0);
        assert_eq!(sub(0, 0, Rm::Down, &mut fl), SIGN);
        assert_eq!(mul(SIGN, f(3.0), Rm::Nearest, &mut fl), SIGN);
        assert_eq!(fma(0, SIGN, f(3.0), false, Rm::Nearest, &mut fl), 0);
        assert_eq!(fma(SIGN, SIGN, f(3.0), false, Rm::Nearest, &mut fl), SIGN);
        assert_eq!(fma(SIGN, f(3.0), f(3.0), true, Rm::Nearest, &mut fl), f(-9.0));
        assert_eq!(fma(f(-9.0), f(3.0), f(3.0), false, Rm::Down, &mut fl), SIGN);
        assert_eq!(fl, 0);
    }

    #[test]
    fn nan_and_infinity_rules() {
        let qa = 0x7FC0_1234;
        let qb = 0xFFC0_0042;
        let sn = 0x7F80_0001; // quiet in the FPU2000 model
        let mut fl = 0;
        assert_eq!(add(qa, qb, Rm::Nearest, &mut fl), qa);
        assert_eq!(add(ONE, qb, Rm::Nearest, &mut fl), qb);
        assert_eq!(sub(qb, qa, Rm::Nearest, &mut fl), qb);
        assert_eq!(sub(ONE, qa, Rm::Nearest, &mut fl), qa, "NaN sign is not flipped by sub");
        assert_eq!(mul(sn, qa, Rm::Nearest, &mut fl), sn);
        assert_eq!(fma(qa, qb, ONE, false, Rm::Nearest, &mut fl), qb, "fs is first");
        assert_eq!(fma(qa, ONE, sn, false, Rm::Nearest, &mut fl), sn, "then ft");
        assert_eq!(fma(qa, ONE, ONE, true, Rm::Nearest, &mut fl), qa, "then fr");
        assert_eq!(fl, 0, "NaN operands are quiet");
        // inf·0 + NaN: the NaN, plus invalid.
        assert_eq!(fma(qa, INF, 0, false, Rm::Nearest, &mut fl), qa);
        assert_eq!(fl, V);
        let invalid = |r: u32, fl: u32| {
            assert_eq!(r, DEFAULT_NAN);
            assert_eq!(fl, V);
        };
        let mut fl = 0;
        invalid(add(INF, NINF, Rm::Nearest, &mut fl), fl);
        let mut fl = 0;
        invalid(sub(INF, INF, Rm::Nearest, &mut fl), fl);
        let mut fl = 0;
        invalid(mul(INF, SIGN, Rm::Nearest, &mut fl), fl);
        let mut fl = 0;
        invalid(fma(ONE, 0, NINF, false, Rm::Nearest, &mut fl), fl);
        let mut fl = 0;
        invalid(fma(INF, INF, ONE, true, Rm::Nearest, &mut fl), fl);
        let mut fl = 0;
        assert_eq!(add(INF, MAXF, Rm::Nearest, &mut fl), INF);
        assert_eq!(mul(NINF, f(-2.0), Rm::Nearest, &mut fl), INF);
        assert_eq!(fma(NINF, INF, ONE, false, Rm::Nearest, &mut fl), DEFAULT_NAN);
        fl = 0;
        assert_eq!(fma(NINF, ONE, ONE, false, Rm::Nearest, &mut fl), NINF);
        assert_eq!(fma(ONE, INF, f(2.0), true, Rm::Nearest, &mut fl), NINF);
        assert_eq!(fl, 0);
    }

    #[test]
    fn overflow_per_mode() {
        for (rm, pos, neg) in [
            (Rm::Nearest, INF, NINF),
            (Rm::Zero, MAXF, MAXF | SIGN),
            (Rm::Up, INF, MAXF | SIGN),
            (Rm::Down, MAXF, NINF),
        ] {
            let mut fl = 0;
            assert_eq!(mul(MAXF, TWO, rm, &mut fl), pos, "{rm:?}");
            assert_eq!(fl, O | I);
            assert_eq!(mul(MAXF | SIGN, TWO, rm, &mut fl), neg, "{rm:?}");
            assert_eq!(add(MAXF, MAXF, rm, &mut fl), pos);
        }
        // MAX + half an ulp rounds to infinity in nearest (tie to even).
        let mut fl = 0;
        assert_eq!(add(MAXF, f(2f32.powi(103)), Rm::Nearest, &mut fl), INF);
        assert_eq!(fl, O | I);
        fl = 0;
        assert_eq!(add(MAXF, f(2f32.powi(102)), Rm::Nearest, &mut fl), MAXF);
        assert_eq!(fl, I);
    }

    #[test]
    fn underflow_and_subnormals() {
        let mut fl = 0;
        // Exact subnormal results raise nothing.
        assert_eq!(sub(MINN, DEN1, Rm::Nearest, &mut fl), 0x007F_FFFF);
        assert_eq!(add(DEN1, DEN1, Rm::Nearest, &mut fl), 2);
        assert_eq!(mul(f(0.5), 2, Rm::Nearest, &mut fl), 1);
        assert_eq!(fl, 0);
        // Tiny and inexact: underflow + inexact.
        assert_eq!(mul(f(0.5), DEN1, Rm::Nearest, &mut fl), 0, "tie to even -> 0");
        assert_eq!(fl, U | I);
        fl = 0;
        assert_eq!(mul(f(0.5), DEN1, Rm::Up, &mut fl), DEN1);
        assert_eq!(mul(f(-0.5), DEN1, Rm::Down, &mut fl), DEN1 | SIGN);
        assert_eq!(mul(f(0.75), DEN1, Rm::Nearest, &mut fl), DEN1);
        assert_eq!(mul(f(0.75), 3, Rm::Zero, &mut fl), 2);
        assert_eq!(fl, U | I);
        // Rounds up to the smallest normal: not tiny after rounding -> inexact only.
        fl = 0;
        let just_below = f(1.0 - 2f32.powi(-24)); // 0x3F7FFFFF
        assert_eq!(mul(just_below, MINN, Rm::Nearest, &mut fl), MINN);
        assert_eq!(fl, I);
        fl = 0;
        assert_eq!(mul(just_below, MINN, Rm::Zero, &mut fl), 0x007F_FFFF);
        assert_eq!(fl, U | I);
        // FSR accumulates in the CPU.
        let mut c = cpu();
        c.fr[1] = DEN1;
        c.fr[2] = f(0.5);
        run(&mut c, Op::MulS, 0, 1, 2);
        assert_eq!(c.fsr, (U | I) << FSR_SHIFT);
        c.fr[2] = f(0.0);
        c.fr[1] = f(1.0);
        run(&mut c, Op::MkdadjS, 2, 1, 0); // f2 = f1 / f2 = 1/0
        assert_eq!(c.fr[2], INF);
        assert_eq!(c.fsr, (U | I | Z) << FSR_SHIFT);
    }

    #[test]
    fn fused_multiply_add_is_single_rounding() {
        // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: unfused rounding gives 1 + 2^-11 exactly, and
        // subtracting that gives 0; fused gives 2^-24.
        let a = f(1.0 + 2f32.powi(-12));
        let p = f(1.0 + 2f32.powi(-11));
        let mut fl = 0;
        assert_eq!(fma(p | SIGN, a, a, false, Rm::Nearest, &mut fl), f(2f32.powi(-24)));
        assert_eq!(fl, 0);
        assert_eq!(fma(p, a, a, true, Rm::Nearest, &mut fl), f(-(2f32.powi(-24))));
        let mut r = Rng(0x1234_5678_9abc_def1);
        for _ in 0..200_000 {
            let (x, y, z) = (r.float(), r.float(), r.float());
            let host = f32::from_bits(y).mul_add(f32::from_bits(z), f32::from_bits(x));
            let mut fl = 0;
            let got = fma(x, y, z, false, Rm::Nearest, &mut fl);
            if host.is_nan() {
                assert!(is_nan(got));
            } else {
                assert_eq!(got, host.to_bits(), "{x:08x} + {y:08x}*{z:08x}");
            }
            let host = (-f32::from_bits(y)).mul_add(f32::from_bits(z), f32::from_bits(x));
            let got = fma(x, y, z, true, Rm::Nearest, &mut fl);
            if !host.is_nan() {
                assert_eq!(got, host.to_bits(), "{x:08x} - {y:08x}*{z:08x}");
            }
        }
    }

    #[test]
    fn random_against_host_nearest() {
        let mut r = Rng(0xdead_beef_cafe_f00d);
        for _ in 0..300_000 {
            let (a, b) = (r.float(), r.float());
            let (x, y) = (f32::from_bits(a), f32::from_bits(b));
            let mut fl = 0;
            for (got, want) in [
                (add(a, b, Rm::Nearest, &mut fl), x + y),
                (sub(a, b, Rm::Nearest, &mut fl), x - y),
                (mul(a, b, Rm::Nearest, &mut fl), x * y),
                (div(a, b, Rm::Nearest, &mut fl), ((x as f64) / (y as f64)) as f32),
                (sqrt(a, Rm::Nearest, &mut fl), (x as f64).sqrt() as f32),
            ] {
                if want.is_nan() {
                    assert!(is_nan(got));
                } else {
                    assert_eq!(got, want.to_bits(), "{a:08x} {b:08x}");
                }
            }
        }
    }

    #[test]
    fn random_directed_modes_and_flags() {
        let mut r = Rng(0x0123_4567_89ab_cdef);
        for _ in 0..200_000 {
            let (a, b) = (r.float(), r.float());
            if is_nan(a) || is_nan(b) || is_inf(a) || is_inf(b) {
                continue;
            }
            let (x, y) = (f32::from_bits(a) as f64, f32::from_bits(b) as f64);
            for rm in RMS {
                // Products are exact in f64.
                let mut fl = 0;
                let got = mul(a, b, rm, &mut fl);
                let want = ref_round(x * y, rm);
                assert_eq!(got, want, "mul {a:08x} {b:08x} {rm:?}");
                let exact = f32::from_bits(got) as f64 == x * y;
                assert_eq!(fl & I != 0, !exact, "inexact flag mul {a:08x} {b:08x} {rm:?}");
                // Sums only when exact in f64.
                if let Some(s) = exact_sum(x, y) {
                    if s != 0.0 {
                        let mut fl = 0;
                        assert_eq!(add(a, b, rm, &mut fl), ref_round(s, rm), "add {a:08x} {b:08x} {rm:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn division_and_sqrt() {
        let mut fl = 0;
        assert_eq!(div(f(1.0), f(3.0), Rm::Nearest, &mut fl), f(1.0 / 3.0));
        assert_eq!(fl, I);
        assert_eq!(div(f(1.0), f(3.0), Rm::Up, &mut fl), f(1.0 / 3.0));
        assert_eq!(div(f(1.0), f(3.0), Rm::Zero, &mut fl), f(1.0 / 3.0) - 1);
        assert_eq!(div(f(-1.0), f(3.0), Rm::Up, &mut fl), f(-1.0 / 3.0) - 1);
        fl = 0;
        assert_eq!(div(f(-6.0), f(3.0), Rm::Nearest, &mut fl), f(-2.0));
        assert_eq!(div(ONE, SIGN, Rm::Nearest, &mut fl), NINF);
        assert_eq!(fl, Z);
        fl = 0;
        assert_eq!(div(0, 0, Rm::Nearest, &mut fl), DEFAULT_NAN);
        assert_eq!(div(INF, INF, Rm::Nearest, &mut fl), DEFAULT_NAN);
        assert_eq!(fl, V);
        fl = 0;
        assert_eq!(sqrt(f(2.0), Rm::Nearest, &mut fl), f(2f32.sqrt()));
        assert_eq!(fl, I);
        fl = 0;
        assert_eq!(sqrt(f(16.0), Rm::Nearest, &mut fl), f(4.0));
        assert_eq!(sqrt(SIGN, Rm::Nearest, &mut fl), SIGN);
        assert_eq!(sqrt(INF, Rm::Nearest, &mut fl), INF);
        assert_eq!(sqrt(DEN1, Rm::Nearest, &mut fl), f(2f64.powf(-74.5) as f32));
        assert_eq!(fl, I);
        fl = 0;
        assert_eq!(sqrt(f(-1.0), Rm::Nearest, &mut fl), DEFAULT_NAN);
        assert_eq!(fl, V);
        // Directed sqrt: 2 is irrational -> Up is one ulp above Down.
        let mut fl = 0;
        assert_eq!(sqrt(TWO, Rm::Up, &mut fl), sqrt(TWO, Rm::Down, &mut fl) + 1);
    }

    #[test]
    fn float_to_int_conversions() {
        let mut c = cpu();
        let conv = |c: &mut Cpu, op: Op, v: f32, scale: u8| -> (u32, u32) {
            c.fsr = 0;
            c.fr[3] = v.to_bits();
            run(c, op, 4, 3, scale);
            (c.ar(4), c.fsr >> FSR_SHIFT)
        };
        assert_eq!(conv(&mut c, Op::TruncS, 2.75, 0), (2, I));
        assert_eq!(conv(&mut c, Op::TruncS, -2.75, 0), (-2i32 as u32, I));
        assert_eq!(conv(&mut c, Op::RoundS, 2.5, 0), (2, I));
        assert_eq!(conv(&mut c, Op::RoundS, 3.5, 0), (4, I));
        assert_eq!(conv(&mut c, Op::RoundS, -2.5, 0), (-2i32 as u32, I));
        assert_eq!(conv(&mut c, Op::FloorS, -2.25, 0), (-3i32 as u32, I));
        assert_eq!(conv(&mut c, Op::CeilS, -2.25, 0), (-2i32 as u32, I));
        assert_eq!(conv(&mut c, Op::CeilS, 2.25, 0), (3, I));
        assert_eq!(conv(&mut c, Op::FloorS, 7.0, 0), (7, 0));
        // Scale multiplies by 2^t before converting.
        assert_eq!(conv(&mut c, Op::TruncS, 1.5, 4), (24, 0));
        assert_eq!(conv(&mut c, Op::RoundS, 0.0078125, 15), (256, 0));
        assert_eq!(conv(&mut c, Op::TruncS, 0.3, 15), (9830, I));
        // FCR rounding mode does not matter for these.
        c.fcr = 2;
        assert_eq!(conv(&mut c, Op::TruncS, 2.75, 0), (2, I));
        c.fcr = 0;
        // Saturation.
        assert_eq!(conv(&mut c, Op::TruncS, 3e9, 0), (0x7FFF_FFFF, V));
        assert_eq!(conv(&mut c, Op::TruncS, -3e9, 0), (0x8000_0000, V));
        assert_eq!(conv(&mut c, Op::TruncS, -2147483648.0, 0), (0x8000_0000, 0));
        assert_eq!(conv(&mut c, Op::TruncS, 2147483648.0, 0), (0x7FFF_FFFF, V));
        assert_eq!(conv(&mut c, Op::TruncS, 1.0, 31), (0x7FFF_FFFF, V));
        assert_eq!(conv(&mut c, Op::TruncS, -1.0, 15), (-32768i32 as u32, 0));
        assert_eq!(conv(&mut c, Op::TruncS, f32::INFINITY, 0), (0x7FFF_FFFF, V));
        assert_eq!(conv(&mut c, Op::TruncS, f32::NEG_INFINITY, 0), (0x8000_0000, V));
        assert_eq!(conv(&mut c, Op::TruncS, f32::NAN, 0), (0x7FFF_FFFF, V));
        assert_eq!(conv(&mut c, Op::RoundS, -f32::NAN, 0), (0x7FFF_FFFF, V));
        assert_eq!(conv(&mut c, Op::TruncS, f32::from_bits(DEN1), 0), (0, I));
        assert_eq!(conv(&mut c, Op::CeilS, f32::from_bits(DEN1), 0), (1, I));
        assert_eq!(conv(&mut c, Op::FloorS, -f32::from_bits(DEN1), 0), (u32::MAX, I));
        assert_eq!(conv(&mut c, Op::TruncS, -0.0, 0), (0, 0));
        // UTRUNC.S
        assert_eq!(conv(&mut c, Op::UtruncS, 3e9, 0), (3_000_000_000, 0));
        assert_eq!(conv(&mut c, Op::UtruncS, 5e9, 0), (u32::MAX, V));
        assert_eq!(conv(&mut c, Op::UtruncS, 2.5, 1), (5, 0));
        assert_eq!(conv(&mut c, Op::UtruncS, 4294967040.0, 0), (4294967040, 0));
        assert_eq!(conv(&mut c, Op::UtruncS, f32::NAN, 0), (u32::MAX, V));
        assert_eq!(conv(&mut c, Op::UtruncS, f32::INFINITY, 0), (u32::MAX, V));
        assert_eq!(conv(&mut c, Op::UtruncS, -1.0, 0), (u32::MAX, V));
        assert_eq!(conv(&mut c, Op::UtruncS, -1.5, 0), (u32::MAX, V));
        assert_eq!(conv(&mut c, Op::UtruncS, -0.5, 0), (0, I));
        assert_eq!(conv(&mut c, Op::UtruncS, -3e9, 0), (0x8000_0000, V));
        assert_eq!(conv(&mut c, Op::UtruncS, f32::NEG_INFINITY, 0), (0x8000_0000, V));
    }

    #[test]
    fn int_to_float_conversions() {
        let mut c = cpu();
        let conv = |c: &mut Cpu, op: Op, v: u32, scale: u8| -> (u32, u32) {
            c.fsr = 0;
            c.set_ar(5, v);
            run(c, op, 6, 5, scale);
            (c.fr[6], c.fsr >> FSR_SHIFT)
        };
        assert_eq!(conv(&mut c, Op::FloatS, 3, 0), (f(3.0), 0));
        assert_eq!(conv(&mut c, Op::FloatS, -3i32 as u32, 0), (f(-3.0), 0));
        assert_eq!(conv(&mut c, Op::FloatS, 0, 7), (0, 0));
        assert_eq!(conv(&mut c, Op::FloatS, 3, 1), (f(1.5), 0));
        assert_eq!(conv(&mut c, Op::FloatS, 1, 15), (f(2f32.powi(-15)), 0));
        assert_eq!(conv(&mut c, Op::FloatS, 0x8000_0000, 0), (f(-2147483648.0), 0));
        assert_eq!(conv(&mut c, Op::FloatS, 0x7FFF_FFFF, 0), (f(2147483648.0), I));
        assert_eq!(conv(&mut c, Op::UfloatS, 0xFFFF_FFFF, 0), (f(4294967296.0), I));
        assert_eq!(conv(&mut c, Op::UfloatS, 0x8000_0000, 31), (ONE, 0));
        assert_eq!(conv(&mut c, Op::FloatS, 16_777_217, 0), (f(16_777_216.0), I));
        // Rounding follows FCR.
        c.fcr = 2;
        assert_eq!(conv(&mut c, Op::FloatS, 16_777_217, 0), (f(16_777_218.0), I));
        c.fcr = 3;
        assert_eq!(conv(&mut c, Op::FloatS, -16_777_217i32 as u32, 0), (f(-16_777_218.0), I));
        c.fcr = 1;
        assert_eq!(conv(&mut c, Op::UfloatS, 0xFFFF_FFFF, 0), (0x4F7F_FFFF, I));
    }

    #[test]
    fn compares() {
        let mut c = cpu();
        let nan = DEFAULT_NAN;
        let table: [(Op, [bool; 4]); 7] = [
            // (1<2, 2<1, 1==1, NaN)
            (Op::UnS, [false, false, false, true]),
            (Op::OeqS, [false, false, true, false]),
            (Op::UeqS, [false, false, true, true]),
            (Op::OltS, [true, false, false, false]),
            (Op::UltS, [true, false, false, true]),
            (Op::OleS, [true, false, true, false]),
            (Op::UleS, [true, false, true, true]),
        ];
        for (op, want) in table {
            for (k, (a, b)) in [(f(1.0), f(2.0)), (f(2.0), f(1.0)), (f(1.0), f(1.0)), (nan, f(1.0))]
                .into_iter()
                .enumerate()
            {
                c.fsr = 0;
                c.br = 0xFFFF ^ (1 << 7);
                c.fr[1] = a;
                c.fr[2] = b;
                run(&mut c, op, 7, 1, 2);
                assert_eq!(c.br >> 7 & 1 != 0, want[k], "{op:?} case {k}");
                assert_eq!(c.br | (1 << 7), 0xFFFF, "other booleans untouched");
                let invalid = k == 3 && matches!(op, Op::OltS | Op::OleS);
                assert_eq!(c.fsr, if invalid { V << FSR_SHIFT } else { 0 }, "{op:?}");
            }
        }
        let mut fl = 0;
        assert!(compare(Op::OeqS, 0, SIGN, &mut fl), "+0 == -0");
        assert!(!compare(Op::OltS, SIGN, 0, &mut fl));
        assert!(compare(Op::OltS, NINF, MAXF | SIGN, &mut fl));
        assert!(compare(Op::UnS, ONE, 0x7F80_0001, &mut fl));
        assert_eq!(fl, 0);
    }

    #[test]
    fn moves_and_register_transfers() {
        let mut c = cpu();
        c.fr[1] = f(-2.5);
        run(&mut c, Op::MovS, 0, 1, 0);
        assert_eq!(c.fr[0], f(-2.5));
        run(&mut c, Op::AbsS, 0, 1, 0);
        assert_eq!(c.fr[0], f(2.5));
        run(&mut c, Op::NegS, 0, 1, 0);
        assert_eq!(c.fr[0], f(2.5));
        c.fr[1] = 0xFFC0_0001;
        run(&mut c, Op::AbsS, 0, 1, 0);
        assert_eq!(c.fr[0], 0x7FC0_0001, "abs clears the sign of NaNs too");
        run(&mut c, Op::NegS, 0, 1, 0);
        assert_eq!(c.fr[0], 0x7FC0_0001);
        for (k, v) in [0.0f32, 1.0, 2.0, 0.5].into_iter().enumerate() {
            run(&mut c, Op::ConstS, 3, k as u8, 0);
            assert_eq!(c.fr[3], f(v));
        }
        c.set_ar(2, 0x1234_5678);
        run(&mut c, Op::Wfr, 9, 2, 0);
        assert_eq!(c.fr[9], 0x1234_5678);
        run(&mut c, Op::Rfr, 3, 9, 0);
        assert_eq!(c.ar(3), 0x1234_5678);
        // Conditional moves on an a-register.
        for (op, a, moves) in [
            (Op::MoveqzS, 0u32, true),
            (Op::MoveqzS, 5, false),
            (Op::MovnezS, 5, true),
            (Op::MovnezS, 0, false),
            (Op::MovltzS, -1i32 as u32, true),
            (Op::MovltzS, 0, false),
            (Op::MovgezS, 0, true),
            (Op::MovgezS, -7i32 as u32, false),
        ] {
            c.fr[4] = ONE;
            c.fr[5] = TWO;
            c.set_ar(6, a);
            run(&mut c, op, 4, 5, 6);
            assert_eq!(c.fr[4], if moves { TWO } else { ONE }, "{op:?} {a}");
        }
        // On a boolean.
        for (op, b, moves) in
            [(Op::MovfS, false, true), (Op::MovfS, true, false), (Op::MovtS, true, true), (Op::MovtS, false, false)]
        {
            c.fr[4] = ONE;
            c.br = (b as u32) << 11;
            run(&mut c, op, 4, 5, 11);
            assert_eq!(c.fr[4], if moves { TWO } else { ONE }, "{op:?} {b}");
        }
        assert_eq!(c.fsr, 0);
    }

    /// The libgcc `__divsf3` sequence for cores with XCHAL_HAVE_FP_DIV.
    fn div_sequence(c: &mut Cpu, a: u32, b: u32) -> u32 {
        use Op::*;
        c.fr[1] = a;
        c.fr[2] = b;
        let seq: &[(Op, u8, u8, u8)] = &[
            (Div0S, 3, 2, 0), (Nexp01S, 4, 2, 0), (ConstS, 5, 1, 0), (MaddnS, 5, 4, 3),
            (MovS, 6, 3, 0), (MovS, 7, 2, 0), (Nexp01S, 2, 1, 0), (MaddnS, 6, 5, 6),
            (ConstS, 5, 1, 0), (ConstS, 0, 0, 0), (NegS, 8, 2, 0), (MaddnS, 5, 4, 6),
            (MaddnS, 0, 8, 3), (MkdadjS, 7, 1, 0), (MaddnS, 6, 5, 6), (MaddnS, 8, 4, 0),
            (ConstS, 3, 1, 0), (MaddnS, 3, 4, 6), (MaddnS, 0, 8, 6), (NegS, 2, 2, 0),
            (MaddnS, 6, 3, 6), (MaddnS, 2, 4, 0), (AddexpmS, 0, 7, 0), (AddexpS, 6, 7, 0),
            (DivnS, 0, 2, 6),
        ];
        for &(op, r, s, t) in seq {
            run(c, op, r, s, t);
        }
        c.fr[0]
    }

    #[test]
    fn divide_sequence_gives_ieee_quotient() {
        let mut c = cpu();
        let mut r = Rng(77);
        for _ in 0..20_000 {
            let (a, b) = (r.float(), r.float());
            for rm in RMS {
                c.fcr = rm as u32;
                c.fsr = 0;
                let got = div_sequence(&mut c, a, b);
                let mut fl = 0;
                let want = div(a, b, rm, &mut fl);
                assert_eq!(got, want, "{a:08x}/{b:08x} {rm:?}");
                assert_eq!(c.fsr, fl << FSR_SHIFT, "flags {a:08x}/{b:08x} {rm:?}");
            }
        }
    }

    #[test]
    fn divide_sqrt_helpers() {
        let mut c = cpu();
        c.fr[1] = f(4.0);
        run(&mut c, Op::Recip0S, 0, 1, 0);
        assert_eq!(c.fr[0], f(0.25));
        run(&mut c, Op::Div0S, 0, 1, 0);
        assert_eq!(c.fr[0], f(0.25));
        run(&mut c, Op::Rsqrt0S, 0, 1, 0);
        assert_eq!(c.fr[0], f(0.5));
        run(&mut c, Op::Sqrt0S, 0, 1, 0);
        assert_eq!(c.fr[0], f(0.5));
        c.fr[2] = f(9.0);
        run(&mut c, Op::MksadjS, 0, 2, 0);
        assert_eq!(c.fr[0], f(3.0));
        c.fr[0] = f(3.0);
        run(&mut c, Op::MkdadjS, 0, 2, 0);
        assert_eq!(c.fr[0], f(3.0), "fr = fs / fr");
        c.fr[0] = f(7.0);
        run(&mut c, Op::Nexp01S, 0, 2, 0);
        run(&mut c, Op::AddexpS, 0, 2, 0);
        run(&mut c, Op::DivnS, 0, 1, 2);
        assert_eq!(c.fr[0], f(7.0));
        run(&mut c, Op::AddexpmS, 0, 2, 0);
        assert_eq!(c.fr[0], f(9.0));
        // MADDN.S: round to nearest whatever FCR says, no flags.
        c.fcr = 1;
        c.fr[0] = ONE;
        c.fr[1] = f(2f32.powi(-12) * 3.0);
        c.fr[2] = f(2f32.powi(-12));
        run(&mut c, Op::MaddnS, 0, 1, 2);
        assert_eq!(c.fr[0], ONE + 2, "1.5 ulp: tie to even");
        c.fr[0] = ONE;
        c.fr[1] = f(1.5 * 2f32.powi(-12));
        run(&mut c, Op::MaddnS, 0, 1, 2);
        assert_eq!(c.fr[0], ONE + 1, "rounded to nearest despite FCR = toward zero");
        assert_eq!(c.fsr, 0);
        c.fr[1] = INF;
        c.fr[2] = 0;
        run(&mut c, Op::MaddnS, 0, 1, 2);
        assert_eq!(c.fr[0], DEFAULT_NAN);
        assert_eq!(c.fsr, 0);
        // Negative and zero inputs of the approximation ops.
        c.fr[1] = f(-4.0);
        run(&mut c, Op::Rsqrt0S, 0, 1, 0);
        assert_eq!(c.fr[0], DEFAULT_NAN);
        c.fr[1] = SIGN;
        run(&mut c, Op::Recip0S, 0, 1, 0);
        assert_eq!(c.fr[0], NINF);
    }

    #[test]
    fn non_fp_ops_are_illegal() {
        let mut c = cpu();
        assert_eq!(exec(&mut c, ins(Op::Add, 0, 0, 0)).unwrap_err().cause, cause::ILLEGAL);
    }
}
