//! What silicon varies from board to board, as one seeded draw (`pyemu campaign timing`,
//! `--timing-seed`). The default, [`Timing::nominal`], is the emulator as it always ran:
//! every value below at its nominal figure and the calibration unit ready at once, so a run
//! without a seed is byte-for-byte what it was before this module existed.
//!
//! | quantity | nominal | seeded draw | why that spread |
//! |---|---|---|---|
//! | main crystal | 40 MHz | ±10 ppm (±400 Hz) | the ESP32 datasheet / hardware design guidelines require a 40 MHz crystal of ±10 ppm frequency stability; CPU, APB, PLL and every counter derived from them follow it |
//! | RTC slow clock (150 kHz RC) | 150 kHz | ±5 % | an uncalibrated RC: the chip only promises it can be calibrated against the crystal (IDF measures it at every boot, `rtc_clk_cal`, and waits up to twice the nominal time for the result) |
//! | flash line-fill overhead | 4 SPI clocks | 2..=12 | what a fill costs beyond its command, address, dummy and data clocks: CS set-up and hold (SPI_CS_SETUP/HOLD_TIME, 0..15 SPI clocks each in the register; the flash needs tSLCH/tCHSH ≥ 5 ns), the request crossing from the cache into SPI0's clock domain. No datasheet gives the total; 4 is the emulator's estimate, the range what the parts allow |
//! | PSRAM line-fill overhead | 4 SPI clocks | 2..=12 | the same path to the PSRAM on CS1 |
//! | APP CPU start | at DPORT's release | 0..=2000 cycles later | the release crosses reset synchronisers and clock gating, and the emulator interleaves the cores in 19 µs turns: where the APP core's first instruction falls relative to the PRO core's is the least certain phase in the model (`docs/known-issues.md`); up to 2000 cycles is 8–25 µs at 240–80 MHz, about one turn |
//!
//! The calibration unit reports the drawn frequencies (TIMG RTCCALICFG1 counts crystal
//! cycles over MAX cycles of the drawn RC), but gives its result at once, as it always has:
//! `timed_calibration` (RDY only MAX slow cycles after START, as on silicon) stays off in
//! every draw because the firmware's own wait is too short in the emulator — IDF's
//! `rtc_clk_cal` waits `ets_delay_us(6826)` before polling, which lasts about 1.1 ms here
//! (as if the ROM's ticks-per-µs said 40 with the core at 240 MHz at that point of
//! `esp_clk_init`), so a timed calibration never finishes and the boot retries it for
//! ever (docs/known-issues.md).
//!
//! A draw is a pure function of the seed: the same seed is the same board.

use rand_pcg::rand_core::{Rng, SeedableRng};
use crate::time::Hz;

/// The crystal the ESP32's clocks are derived from (Hz).
pub const XTAL_HZ: u64 = 40_000_000;
/// The RTC slow clock's nominal frequency (the internal RC oscillator).
pub const SLOW_CLK_HZ: u64 = 150_000;
/// SPI clocks a line fill spends besides its transfer, nominally (`cache_timing.rs`).
pub const FILL_OVERHEAD_CLOCKS: u64 = 4;

/// Bounds of a seeded draw (see the table above).
pub const XTAL_PPM: i64 = 10;
pub const SLOW_PERCENT: i64 = 5;
pub const FILL_OVERHEAD_RANGE: (u64, u64) = (2, 12);
pub const APP_START_MAX_CYCLES: u64 = 2000;

/// Which quantities a draw varies (`--timing-vary xtal,slow,fill,app`): to find which of
/// them moves a scenario's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vary {
    pub xtal: bool,
    pub slow: bool,
    pub fill: bool,
    pub app: bool,
}

impl Vary {
    pub const ALL: Vary = Vary { xtal: true, slow: true, fill: true, app: true };
    pub const NAMES: [&'static str; 4] = ["xtal", "slow", "fill", "app"];

    pub const NONE: Vary = Vary { xtal: false, slow: false, fill: false, app: false };

    /// `xtal,slow,fill,app` (any subset, comma-separated), `all` or `none`.
    pub fn parse(s: &str) -> Result<Vary, String> {
        match s.trim() {
            "all" => return Ok(Vary::ALL),
            "none" => return Ok(Vary::NONE),
            _ => {}
        }
        let mut v = Vary::NONE;
        for w in s.split(',').map(str::trim) {
            match w {
                "xtal" => v.xtal = true,
                "slow" => v.slow = true,
                "fill" => v.fill = true,
                "app" => v.app = true,
                _ => return Err(format!("`{w}` is not a timing quantity: xtal (crystal), slow (RC slow clock), fill (line fills), app (APP CPU start), all or none")),
            }
        }
        Ok(v)
    }

    /// As given on the command line.
    pub fn arg(&self) -> String {
        if *self == Vary::ALL {
            return "all".into();
        }
        if *self == Vary::NONE {
            return "none".into();
        }
        let on = [self.xtal, self.slow, self.fill, self.app];
        Vary::NAMES.iter().zip(on).filter(|(_, o)| *o).map(|(n, _)| *n).collect::<Vec<_>>().join(",")
    }
}

/// One board's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// The seed this was drawn from (None: nominal).
    pub seed: Option<u64>,
    pub xtal_hz: Hz,
    pub slow_hz: Hz,
    pub flash_fill_overhead: u64,
    pub psram_fill_overhead: u64,
    /// CPU cycles between DPORT releasing the APP core and its first instruction.
    pub app_start_delay: u64,
    /// The slow-clock calibration takes MAX slow cycles (else it is ready at once).
    pub timed_calibration: bool,
}

impl Default for Timing {
    fn default() -> Self {
        Self::nominal()
    }
}

impl Timing {
    /// The emulator as it always ran.
    pub const fn nominal() -> Timing {
        Timing {
            seed: None,
            xtal_hz: XTAL_HZ,
            slow_hz: SLOW_CLK_HZ,
            flash_fill_overhead: FILL_OVERHEAD_CLOCKS,
            psram_fill_overhead: FILL_OVERHEAD_CLOCKS,
            app_start_delay: 0,
            timed_calibration: false,
        }
    }

    /// A board drawn from `seed`: each quantity uniform within its bounds.
    pub fn from_seed(seed: u64) -> Timing {
        Self::draw(seed, Vary::ALL)
    }

    /// A board drawn from `seed` with only the quantities in `vary` off nominal; each has
    /// the value the full draw gives it (the same seed, another subset: the same board with
    /// fewer of its deviations).
    pub fn draw(seed: u64, vary: Vary) -> Timing {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ 0x7131_11A6_0000_0000);
        let mut pick = |lo: i64, hi: i64| lo + (rng.next_u64() % (hi - lo + 1) as u64) as i64;
        let xtal_step = XTAL_HZ as i64 / 1_000_000;
        let xtal_hz = (XTAL_HZ as i64 + pick(-XTAL_PPM * xtal_step, XTAL_PPM * xtal_step)) as u64;
        let slow_span = SLOW_CLK_HZ as i64 * SLOW_PERCENT / 100;
        let slow_hz = (SLOW_CLK_HZ as i64 + pick(-slow_span, slow_span)) as u64;
        let (lo, hi) = (FILL_OVERHEAD_RANGE.0 as i64, FILL_OVERHEAD_RANGE.1 as i64);
        let flash_fill_overhead = pick(lo, hi) as u64;
        let psram_fill_overhead = pick(lo, hi) as u64;
        let app_start_delay = pick(0, APP_START_MAX_CYCLES as i64) as u64;
        let n = Timing::nominal();
        Timing {
            seed: Some(seed),
            xtal_hz: if vary.xtal { xtal_hz } else { n.xtal_hz },
            slow_hz: if vary.slow { slow_hz } else { n.slow_hz },
            flash_fill_overhead: if vary.fill { flash_fill_overhead } else { n.flash_fill_overhead },
            psram_fill_overhead: if vary.fill { psram_fill_overhead } else { n.psram_fill_overhead },
            app_start_delay: if vary.app { app_start_delay } else { n.app_start_delay },
            timed_calibration: false,
        }
    }

    /// A clock the PLL (or the APLL at its reset setting) makes: `nominal_hz` when the
    /// crystal is exactly 40 MHz, scaled with it otherwise (exact: every PLL output is a
    /// whole multiple of 20 MHz).
    pub fn pll(&self, nominal_hz: Hz) -> Hz {
        nominal_hz * self.xtal_hz / XTAL_HZ
    }

    /// The crystal's deviation in ppm.
    pub fn xtal_ppm(&self) -> f64 {
        (self.xtal_hz as f64 - XTAL_HZ as f64) / XTAL_HZ as f64 * 1e6
    }

    /// One line: every quantity and its deviation.
    pub fn describe(&self) -> String {
        format!(
            "crystal {:.6} MHz ({:+.1} ppm), RTC slow clock {:.3} kHz ({:+.2} %), line-fill overhead flash {} / PSRAM {} SPI clocks, APP CPU starts {} cycles after its release",
            self.xtal_hz as f64 / 1e6,
            self.xtal_ppm(),
            self.slow_hz as f64 / 1e3,
            (self.slow_hz as f64 - SLOW_CLK_HZ as f64) / SLOW_CLK_HZ as f64 * 100.0,
            self.flash_fill_overhead,
            self.psram_fill_overhead,
            self.app_start_delay
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_bounds_and_repeat() {
        for seed in 0..500 {
            let t = Timing::from_seed(seed);
            assert_eq!(t, Timing::from_seed(seed));
            assert!(t.xtal_ppm().abs() <= XTAL_PPM as f64);
            assert!(t.slow_hz.abs_diff(SLOW_CLK_HZ) <= SLOW_CLK_HZ * SLOW_PERCENT as u64 / 100);
            assert!((FILL_OVERHEAD_RANGE.0..=FILL_OVERHEAD_RANGE.1).contains(&t.flash_fill_overhead));
            assert!((FILL_OVERHEAD_RANGE.0..=FILL_OVERHEAD_RANGE.1).contains(&t.psram_fill_overhead));
            assert!(t.app_start_delay <= APP_START_MAX_CYCLES);
        }
        assert_ne!(Timing::from_seed(1), Timing::from_seed(2));
        // A subset keeps the full draw's values for what it varies, nominal for the rest.
        let (all, fill) = (Timing::from_seed(7), Timing::draw(7, Vary::parse("fill").unwrap()));
        assert_eq!((fill.flash_fill_overhead, fill.psram_fill_overhead), (all.flash_fill_overhead, all.psram_fill_overhead));
        assert_eq!((fill.xtal_hz, fill.slow_hz, fill.app_start_delay), (XTAL_HZ, SLOW_CLK_HZ, 0));
        assert_eq!(Vary::parse("app, xtal").unwrap().arg(), "xtal,app");
        assert_eq!(Vary::parse("all").unwrap(), Vary::ALL);
        let none = Timing::draw(7, Vary::parse("none").unwrap());
        assert_eq!(none, Timing { seed: Some(7), ..Timing::nominal() }, "nothing varied: nominal");
        assert!(Vary::parse("cpu").is_err());
        let n = Timing::nominal();
        assert_eq!((n.pll(240_000_000), n.pll(80_000_000)), (240_000_000, 80_000_000));
        let t = Timing { xtal_hz: XTAL_HZ + 400, ..n };
        assert_eq!(t.pll(240_000_000), 240_002_400);
    }
}
