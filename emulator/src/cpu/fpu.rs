//! The FP coprocessor's (CP0) non-memory instructions: operands from and results to the
//! FP, address and boolean registers, sticky flags into FSR. The arithmetic is in
//! [`crate::softfloat`], whose module documentation states the model.

use super::*;
use crate::softfloat::{
    add, approx_recip, approx_rsqrt, compare, const_s, div, fma, from_int, mul, sqrt, sub, to_int,
    Rm, FSR_SHIFT, SIGN,
};

impl Cpu {
    /// Executes a non-memory FP instruction (CPENABLE already checked by the caller).
    pub(super) fn exec_fp(&mut self, i: Insn) -> Result<(), Exc> {
        let rm = Rm::from_fcr(self.fcr);
        let (r, s, t) = (i.r as usize, i.s as usize, i.t as usize);
        let mut flags = 0u32;
        match i.op {
            Op::AddS => self.fr[r] = add(self.fr[s], self.fr[t], rm, &mut flags),
            Op::SubS => self.fr[r] = sub(self.fr[s], self.fr[t], rm, &mut flags),
            Op::MulS => self.fr[r] = mul(self.fr[s], self.fr[t], rm, &mut flags),
            Op::MaddS => self.fr[r] = fma(self.fr[r], self.fr[s], self.fr[t], false, rm, &mut flags),
            Op::MsubS => self.fr[r] = fma(self.fr[r], self.fr[s], self.fr[t], true, rm, &mut flags),
            Op::MaddnS => {
                let mut ignored = 0;
                self.fr[r] = fma(self.fr[r], self.fr[s], self.fr[t], false, Rm::Nearest, &mut ignored);
            }
            Op::DivnS | Op::Nexp01S | Op::AddexpS => {}
            Op::AddexpmS => self.fr[r] = self.fr[s],
            Op::MkdadjS => self.fr[r] = div(self.fr[s], self.fr[r], rm, &mut flags),
            Op::MksadjS => self.fr[r] = sqrt(self.fr[s], rm, &mut flags),
            Op::Div0S | Op::Recip0S => self.fr[r] = approx_recip(self.fr[s]),
            Op::Sqrt0S | Op::Rsqrt0S => self.fr[r] = approx_rsqrt(self.fr[s]),
            Op::RoundS => self.set_ar(r, to_int(self.fr[s], i.t as i32, Rm::Nearest, false, &mut flags)),
            Op::TruncS => self.set_ar(r, to_int(self.fr[s], i.t as i32, Rm::Zero, false, &mut flags)),
            Op::FloorS => self.set_ar(r, to_int(self.fr[s], i.t as i32, Rm::Down, false, &mut flags)),
            Op::CeilS => self.set_ar(r, to_int(self.fr[s], i.t as i32, Rm::Up, false, &mut flags)),
            Op::UtruncS => self.set_ar(r, to_int(self.fr[s], i.t as i32, Rm::Zero, true, &mut flags)),
            Op::FloatS => self.fr[r] = from_int(self.ar(s), false, i.t as i32, rm, &mut flags),
            Op::UfloatS => self.fr[r] = from_int(self.ar(s), true, i.t as i32, rm, &mut flags),
            Op::MovS => self.fr[r] = self.fr[s],
            Op::AbsS => self.fr[r] = self.fr[s] & !SIGN,
            Op::NegS => self.fr[r] = self.fr[s] ^ SIGN,
            Op::ConstS => self.fr[r] = const_s(i.s),
            Op::Rfr => self.set_ar(r, self.fr[s]),
            Op::Wfr => self.fr[r] = self.ar(s),
            Op::UnS | Op::OeqS | Op::UeqS | Op::OltS | Op::UltS | Op::OleS | Op::UleS => {
                let v = compare(i.op, self.fr[s], self.fr[t], &mut flags);
                self.br = (self.br & !(1 << r)) | ((v as u32) << r);
            }
            Op::MoveqzS | Op::MovnezS | Op::MovltzS | Op::MovgezS => {
                let a = self.ar(t) as i32;
                let take = match i.op {
                    Op::MoveqzS => a == 0,
                    Op::MovnezS => a != 0,
                    Op::MovltzS => a < 0,
                    _ => a >= 0,
                };
                if take {
                    self.fr[r] = self.fr[s];
                }
            }
            Op::MovfS | Op::MovtS => {
                let b = (self.br >> t) & 1 != 0;
                if b == (i.op == Op::MovtS) {
                    self.fr[r] = self.fr[s];
                }
            }
            _ => return Err(Exc::new(cause::ILLEGAL)),
        }
        self.fsr |= flags << FSR_SHIFT;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::softfloat::*;

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
        c.exec_fp(ins(op, r, s, t)).unwrap();
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
        assert_eq!(c.exec_fp(ins(Op::Add, 0, 0, 0)).unwrap_err().cause, cause::ILLEGAL);
    }
}
