//! Single-precision FP coprocessor (CP0) of the ESP32's LX6.
//!
//! The arithmetic behind every non-memory FP operation (`Op::AddS` … `Op::MovtS`), on raw
//! `f32` bits with the flags as FSR holds them. A leaf: it knows nothing of the core. The
//! instructions themselves (register access, FSR update) are in `cpu/fpu.rs`, the FP loads
//! and stores and the CPENABLE check in `cpu/execute.rs`.
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

use crate::decode::Op;

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

pub(crate) const SIGN: u32 = 0x8000_0000;

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


/// CONST.S immediate table (0.0, 1.0, 2.0, 0.5); indices 4..15 are reserved and wrap.
pub fn const_s(idx: u8) -> u32 {
    [0x0000_0000, 0x3F80_0000, 0x4000_0000, 0x3F00_0000][(idx & 3) as usize]
}

// ------------------------------------------------------------------ classification

#[inline(always)]
pub(crate) fn is_nan(a: u32) -> bool {
    a & 0x7FFF_FFFF > 0x7F80_0000
}

#[inline(always)]
pub(crate) fn is_inf(a: u32) -> bool {
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
pub(crate) fn exact_sum(a: f64, b: f64) -> Option<f64> {
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

pub(crate) fn approx_recip(a: u32) -> u32 {
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

pub(crate) fn approx_rsqrt(a: u32) -> u32 {
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
