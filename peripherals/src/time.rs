//! Virtual time: picoseconds since power-on, and the one pair of conversions between a
//! clock's cycles and picoseconds that every block uses.
//!
//! Rounding is stated once, here, by the caller's choice of [`Round`]: `Down` for "how far
//! has a counter got by now" (a tick that has not completed is not counted), `Up` for "when
//! does an event happen" (never before the last cycle it needs has completed). Products
//! such as `ticks × prescaler` are passed as the cycle count, so the result is exact for
//! the whole product, not rounded per step.

/// Virtual time in picoseconds (since power-on, or a span).
pub type Ps = u64;
/// A clock frequency in hertz.
pub type Hz = u64;

/// Picoseconds in one second.
pub const PS_PER_S: u128 = 1_000_000_000_000;

/// How a conversion rounds a result that is not a whole number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Towards zero: the cycles completed within a span, the start of a partial span.
    Down,
    /// Away from zero: the time by which a number of cycles has certainly completed.
    Up,
}

fn div(n: u128, d: u128, r: Round) -> u128 {
    match r {
        Round::Down => n / d,
        Round::Up => n.div_ceil(d),
    }
}

/// The time `cycles` periods of a `hz` clock take. A zero frequency counts as 1 Hz.
#[inline]
pub fn cycles_to_ps(cycles: u128, hz: Hz, r: Round) -> u128 {
    div(cycles * PS_PER_S, hz.max(1) as u128, r)
}

/// The periods of a `hz` clock in `ps` picoseconds.
#[inline]
pub fn ps_to_cycles(ps: u128, hz: Hz, r: Round) -> u128 {
    div(ps * hz as u128, PS_PER_S, r)
}

/// Seconds as virtual time (analogue quantities such as a LoRa airtime, times read back
/// from a report), to the nearest ps.
pub fn secs_to_ps(s: f64) -> Ps {
    (s * PS_PER_S as f64).round() as Ps
}

/// Virtual time in seconds, for reports and display (exact to the picosecond up to 2⁵³ ps,
/// about 2.5 hours; never used for arithmetic on time).
pub fn ps_to_secs(ps: Ps) -> f64 {
    ps as f64 / PS_PER_S as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_as_asked() {
        // 3 cycles of 40 MHz = 75 ns exactly; 1 cycle of 3 Hz is 333.33… ms.
        assert_eq!(cycles_to_ps(3, 40_000_000, Round::Down), 75_000);
        assert_eq!(cycles_to_ps(1, 3, Round::Down), 333_333_333_333);
        assert_eq!(cycles_to_ps(1, 3, Round::Up), 333_333_333_334);
        assert_eq!(ps_to_cycles(333_333_333_333, 3, Round::Down), 0);
        assert_eq!(ps_to_cycles(333_333_333_333, 3, Round::Up), 1);
        // Dividing the cycle count afterwards is the same as dividing by the product.
        let (ps, hz, div) = (987_654_321u128, 80_000_000u64, 16u128);
        assert_eq!(ps_to_cycles(ps, hz, Round::Down) / div, ps * hz as u128 / (PS_PER_S * div));
        assert_eq!(secs_to_ps(1.5e-6), 1_500_000);
        assert_eq!(secs_to_ps(ps_to_secs(123_456_789_012_345)), 123_456_789_012_345);
    }
}
