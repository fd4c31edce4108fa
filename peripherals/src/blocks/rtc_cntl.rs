//! RTC_CNTL (0x3FF4_8000) with RTCIO (+0x400) and SENS (+0x800): reset cause, software
//! resets and CPU stall, clock selection, store registers, the RTC timer, deep sleep and
//! the RTC watchdog (RWDT).
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 | OPTIONS0 | 31 SW_SYS_RST: core reset, cause 3 (SW_RESET); 5 SW_PROCPU_RST / 4 SW_APPCPU_RST: that CPU alone resets, cause 12 (SW_CPU_RESET); [3:2] / [1:0] SW_STALL_PRO/APPCPU_C0. The reset bits read 0 |
//! | 0x04 / 0x08 | SLP_TIMER0/1 | deep-sleep wake-up time in RTC timer ticks ([15:0] of TIMER1 are bits 47:32) |
//! | 0x0C | TIME_UPDATE | write bit 31: latch the RTC timer into TIME0/1; bit 30 VALID reads 1 |
//! | 0x10/0x14 | TIME0/TIME1 | latched 48-bit RTC slow-clock count |
//! | 0x18 | STATE0 | bit 31 SLEEP_EN: with DIG_PWC.DG_WRAP_PD_EN (0x84 bit 31) deep sleep, woken by the RTC timer if WAKEUP_STATE enables it; light sleep returns at once (SLP_WAKEUP raw) |
//! | 0x34 | RESET_STATE | [5:0] PRO CPU reset cause, [11:6] APP CPU reset cause |
//! | 0x38 | WAKEUP_STATE | [24:14] WAKEUP_ENA; bit 17 (= ENA bit 3) RTC timer |
//! | 0x3C/0x40/0x44/0x48 | INT_ENA/RAW/ST/CLR | bit 0 SLP_WAKEUP, bit 3 WDT; source 46 (RTC_CORE) while RAW & ENA |
//! | 0x70 | CLK_CONF | [28:27] SOC_CLK_SEL (0 XTAL, 1 PLL, 2 CK8M, 3 APLL) |
//! | 0x84 | DIG_PWC | bit 31 DG_WRAP_PD_EN: sleep powers the digital core down (deep sleep) |
//! | 0x8C | WDTCONFIG0 | 31 EN, [30:28] STG0, [27:25] STG1, [24:22] STG2, [21:19] STG3 (0 off, 1 interrupt, 2 CPU reset, 3 system reset, 4 RTC reset), 18 EDGE_INT_EN, 17 LEVEL_INT_EN, 10 FLASHBOOT_MOD_EN (reset 1: stage 0 = RTC reset) |
//! | 0x90..0x9C | WDTCONFIG1..4 | stage 0..3 timeouts in RTC slow-clock cycles (reset 128000, 80000, 0xFFF, 0xFFF) |
//! | 0xA0 | WDTFEED | bit 31: back to stage 0 |
//! | 0xA4 | WDTWPROTECT | WDT registers ignore writes unless this holds 0x50D8_3AA1 |
//! | 0xAC | SW_CPU_STALL | [31:26] PRO / [25:20] APP C1: {C1, C0} == 0x86 stalls that CPU |
//! | 0x4C..0x58, 0xB0..0xBC | STORE0..7 | survive every reset but power-on / RTC reset |
//! | everything else in 0x00..0xFC | stored |
//! | 0x400..0x4C8 | RTCIO | stored |
//! | 0x800..0x8FC | SENS | stored; SAR_MEAS_START done bits read set |
//! | 0x844 | SENS_SAR_SLAVE_ADDR3 | while SENS_SAR_TSENS_CTRL (0x84C) bit 24 TSENS_POWER_UP is set: 30 TSENS_RDY_OUT reads 1, [29:22] TSENS_OUT a fixed raw reading (113) |
//!
//! RWDT reset causes (ROM numbering): CPU reset 13 (RTCWDT_CPU_RESET), system reset 9
//! (RTCWDT_SYS_RESET), RTC reset 16 (RTCWDT_RTC_RESET). The RWDT counts the 150 kHz slow
//! clock from power-on; flash boot protection (FLASHBOOT_MOD_EN, set at reset) makes stage
//! 0 an RTC reset after 128000 cycles (0.85 s) unless the bootloader clears the bit (only
//! when the straps select SPI flash boot).

use crate::device::{self, Access};
use crate::time::{Hz, Ps};
use crate::regblock::RegBlock;
use crate::reset::ResetCause;
use crate::reset::SysRequest;
use crate::wdt::{StagedWdt, TickClock};

/// The key that unlocks the RWDT registers (also WDTWPROTECT's reset value).
pub const WDT_WKEY: u32 = 0x50D8_3AA1;

crate::regs! {
    /// RTC_CNTL, RTCIO and SENS (TRM "Low-Power Management", "RTC_MUX", "SAR ADC").
    pub static REGS: "RTC_CNTL", 0x1000;
    /// Everything in 0x00..0xFC not named below: stored (power and clock controls of
    /// analog parts that are always on here).
    0x00 CNTL[64] rw 0 stored;
    0x00 OPTIONS0 rw 0 stored {
        SW_SYS_RST 31 modelled;
        SW_PROCPU_RST 5 modelled;
        SW_APPCPU_RST 4 modelled;
        SW_STALL_PROCPU_C0 3:2 modelled;
        SW_STALL_APPCPU_C0 1:0 modelled;
    };
    0x04 SLP_TIMER0 rw 0 modelled;
    0x08 SLP_TIMER1 rw 0 stored {
        /// Bits 47:32 of the wake-up time.
        SLP_VAL_HI 15:0 modelled;
    };
    0x0C TIME_UPDATE rw 0 stored {
        UPDATE 31 modelled;
        VALID 30 modelled;
    };
    0x10 TIME0 rw 0 modelled;
    0x14 TIME1 rw 0 stored {
        TIME_HI 15:0 modelled;
    };
    0x18 STATE0 rw 0 stored {
        SLEEP_EN 31 modelled;
    };
    0x34 RESET_STATE rw 0x3041 stored wmask 0x3000 {
        PROCPU_CAUSE 5:0 modelled;
        APPCPU_CAUSE 11:6 modelled;
    };
    0x38 WAKEUP_STATE rw 0 stored {
        /// EXT0, EXT1, GPIO wake-up: not modelled (only the timer wakes the chip).
        WAKEUP_ENA_PADS 16:14 unmodelled;
        TIMER_WAKEUP_EN 17 modelled;
        /// SDIO, MAC, UART0/1, touch, ULP, BT wake-up: not modelled.
        WAKEUP_ENA_OTHERS 24:18 unmodelled;
    };
    0x3C INT_ENA rw 0 stored {
        SLP_WAKEUP 0 modelled;
        WDT 3 modelled;
    };
    0x40 INT_RAW rw 0 modelled;
    0x44 INT_ST ro 0 modelled;
    0x48 INT_CLR w1c 0 modelled;
    /// Survive every reset but power-on and RTC resets.
    0x4C STORE0[4] rw 0 modelled;
    0x70 CLK_CONF rw 0x0000_2210 stored {
        SOC_CLK_SEL 28:27 modelled;
    };
    0x7C REG rw 0xB920_0000 stored;
    0x84 DIG_PWC rw 0x0015_5550 stored {
        DG_WRAP_PD_EN 31 modelled;
    };
    /// EN 0, stages off, CPU/SYS reset length 1, FLASHBOOT_MOD_EN, PAUSE_IN_SLP.
    0x8C WDTCONFIG0 rw 0x0000_4C80 stored {
        EN 31 modelled;
        STG0 30:28 modelled;
        STG1 27:25 modelled;
        STG2 24:22 modelled;
        STG3 21:19 modelled;
        EDGE_INT_EN 18 stored;
        LEVEL_INT_EN 17 modelled;
        CPU_RESET_LENGTH 16:14 stored;
        SYS_RESET_LENGTH 13:11 stored;
        FLASHBOOT_MOD_EN 10 modelled;
        /// Which CPUs a CPU-reset stage (action 2) resets (TRM: "enables the RWDT to reset
        /// PRO_CPU / APP_CPU"); ESP-IDF ≥ 4 sets both before arming one.
        PROCPU_RESET_EN 9 modelled;
        APPCPU_RESET_EN 8 modelled;
        PAUSE_IN_SLP 7 stored;
    };
    /// Stage 0..3 timeouts (WDTCONFIG1..4), in RTC slow-clock cycles.
    0x90 WDTCONFIG1 rw 128_000 modelled;
    0x94 WDTCONFIG2 rw 80_000 modelled;
    0x98 WDTCONFIG3 rw 0xFFF modelled;
    0x9C WDTCONFIG4 rw 0xFFF modelled;
    0xA0 WDTFEED wo 0 stored {
        FEED 31 modelled;
    };
    0xA4 WDTWPROTECT rw WDT_WKEY modelled;
    0xAC SW_CPU_STALL rw 0 stored {
        PROCPU_C1 31:26 modelled;
        APPCPU_C1 25:20 modelled;
    };
    0xB0 STORE4[4] rw 0 modelled;
    0xFC DATE rw 0x0160_4280 stored;
    /// RTCIO (+0x400): stored.
    0x400 RTCIO[51] rw 0 stored;
    /// SENS (+0x800): stored except the registers below.
    0x800 SENS[64] rw 0 stored;
    /// SENS_SAR_SLAVE_ADDR3: the temperature sensor's output.
    0x844 SENS_SAR_SLAVE_ADDR3 rw 0 stored {
        TSENS_RDY_OUT 30 modelled;
        TSENS_OUT 29:22 modelled;
    };
    0x84C SENS_SAR_TSENS_CTRL rw 0 stored {
        TSENS_POWER_UP 24 modelled;
    };
    0x854 SENS_SAR_MEAS_START1 rw 0 stored {
        MEAS1_DONE_SAR 16 modelled;
    };
    0x894 SENS_SAR_MEAS_START2 rw 0 stored {
        MEAS2_DONE_SAR 16 modelled;
    };
}

/// RTC slow clock: the internal 150 kHz RC oscillator, nominally (a board's own is
/// `Timing::slow_hz`).
pub const SLOW_CLK_HZ: u64 = crate::timing::SLOW_CLK_HZ;
/// The internal 8 MHz oscillator (its eFuse calibration byte, BLK0_RDATA4[7:0], is in
/// units of 100 kHz: the ROM's XTAL detection relies on that).
pub const CK8M_HZ: u64 = 8_000_000;

/// The temperature sensor's raw reading: 113 (≈ 45 °C by the usual (raw − 32) / 1.8), a
/// plausible die temperature of an idle chip; not a measurement.
const TSENS_RAW: u32 = 113;
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RtcCntl {
    pub regs: RegBlock,
    wdt: StagedWdt,
    /// Resets and sleeps the firmware or the RWDT asked for, taken by the SoC.
    pub requests: Vec<SysRequest>,
    /// The chip booted in SPI flash mode (strap GPIO0 high): only then does flash boot
    /// protection run.
    flash_boot: bool,
    /// This board's RC slow clock (`Timing::slow_hz`).
    #[serde(default = "nominal_slow_hz")]
    slow_hz: Hz,
}

fn nominal_slow_hz() -> u64 {
    SLOW_CLK_HZ
}

impl Default for RtcCntl {
    fn default() -> Self {
        Self::new()
    }
}

/// {C1, C0} of a CPU's software stall code that stalls it (`esp_cpu_stall`).
const STALL_CODE: (u32, u32) = (0x21, 2);

impl RtcCntl {
    pub fn new() -> RtcCntl {
        RtcCntl { regs: RegBlock::new("RTC_CNTL", &REGS), wdt: StagedWdt::default(), requests: Vec::new(), flash_boot: true, slow_hz: SLOW_CLK_HZ }
    }

    /// This board's slow clock runs at `hz` (set before power-on).
    pub fn set_slow_hz(&mut self, hz: Hz) {
        self.slow_hz = hz;
    }

    /// The RTC slow clock, which the RWDT and the RTC timer count.
    fn slow_clock(&self) -> TickClock {
        TickClock { hz: self.slow_hz, prescale: 1 }
    }

    fn slow_ticks(&self, ps: u64) -> u64 {
        self.slow_clock().ticks_in(ps)
    }

    /// Virtual time (ps) at which `ticks` slow-clock cycles have passed.
    fn slow_ticks_to_ps(&self, ticks: u64) -> Option<u64> {
        self.slow_clock().span_of(ticks)
    }

    /// Power-on or RTC reset at virtual time `now`: every register back to its reset value
    /// and the RWDT counting from `now` (flash boot protection armed).
    pub fn power_on(&mut self, now: Ps) {
        self.regs.reset();
        self.requests.clear();
        self.wdt = StagedWdt::restart(now);
        self.schedule_wdt();
    }

    /// A core reset of the digital system: the RTC domain keeps its registers, but the
    /// digital clock mux returns to XTAL (the ROM then runs at 40 MHz as after power-on)
    /// and software reset/stall requests are gone.
    pub fn digital_reset(&mut self) {
        let sel = CLK_CONF::SOC_CLK_SEL.get(self.regs.reset_value(CLK_CONF));
        self.regs.set_field(CLK_CONF, CLK_CONF::SOC_CLK_SEL, sel);
        self.regs.set_field(OPTIONS0, OPTIONS0::SW_STALL_PROCPU_C0, 0);
        self.regs.set_field(OPTIONS0, OPTIONS0::SW_STALL_APPCPU_C0, 0);
        self.regs.set(SW_CPU_STALL, 0);
        self.regs.set_field(STATE0, STATE0::SLEEP_EN, 0);
    }

    /// Sets the reset cause both cores will read.
    pub fn set_reset_cause(&mut self, cause: ResetCause) {
        let n = cause.number();
        self.regs.set_field(RESET_STATE, RESET_STATE::PROCPU_CAUSE, n);
        self.regs.set_field(RESET_STATE, RESET_STATE::APPCPU_CAUSE, n);
    }

    /// Sets one core's reset cause, leaving the other's.
    pub fn set_core_reset_cause(&mut self, core: usize, cause: ResetCause) {
        let f = [RESET_STATE::PROCPU_CAUSE, RESET_STATE::APPCPU_CAUSE][core];
        self.regs.set_field(RESET_STATE, f, cause.number());
    }

    pub fn soc_clk_sel(&self) -> u32 {
        self.regs.field(CLK_CONF, CLK_CONF::SOC_CLK_SEL)
    }

    /// True while the RTC software stall code {C1, C0} == 0x86 holds `core`.
    pub fn cpu_stalled(&self, core: usize) -> bool {
        let o = self.regs.get(OPTIONS0);
        let s = self.regs.get(SW_CPU_STALL);
        let (c0, c1) = if core == 0 {
            (OPTIONS0::SW_STALL_PROCPU_C0.get(o), SW_CPU_STALL::PROCPU_C1.get(s))
        } else {
            (OPTIONS0::SW_STALL_APPCPU_C0.get(o), SW_CPU_STALL::APPCPU_C1.get(s))
        };
        (c1, c0) == STALL_CODE
    }

    // ------------------------------------------------------------------ RWDT

    fn wdt_active(&self) -> bool {
        let c = self.regs.get(WDTCONFIG0);
        WDTCONFIG0::EN.on(c) || (self.flash_boot && WDTCONFIG0::FLASHBOOT_MOD_EN.on(c))
    }

    /// Whether the chip boots from flash (the straps), which arms flash boot protection.
    pub fn set_flash_boot(&mut self, on: bool, now: Ps) {
        self.wdt.rebase(now, self.wdt_active(), self.slow_clock());
        self.flash_boot = on;
        self.schedule_wdt();
    }

    fn wdt_action(&self, s: usize) -> u32 {
        let c = self.regs.get(WDTCONFIG0);
        if s == 0 && self.flash_boot && WDTCONFIG0::FLASHBOOT_MOD_EN.on(c) {
            return 4;
        }
        [WDTCONFIG0::STG0, WDTCONFIG0::STG1, WDTCONFIG0::STG2, WDTCONFIG0::STG3][s].get(c)
    }

    fn schedule_wdt(&mut self) {
        let hold = self.regs.get(WDTCONFIG1 + 4 * self.wdt.stage as u32) as u64;
        self.wdt.schedule(self.wdt_active(), hold, self.slow_clock());
    }

    fn fire_wdt(&mut self, at: u64) {
        let stage = self.wdt.stage;
        match self.wdt_action(stage) {
            1 => self.regs.set_field(INT_RAW, INT_ENA::WDT, 1),
            2 => {
                let c = self.regs.get(WDTCONFIG0);
                let (pro, app) = (WDTCONFIG0::PROCPU_RESET_EN.on(c), WDTCONFIG0::APPCPU_RESET_EN.on(c));
                if pro || app {
                    self.requests.push(SysRequest::CpuReset { pro, app, cause: ResetCause::RtcWdtCpu });
                }
            }
            3 => self.requests.push(SysRequest::Reset(ResetCause::RtcWdtSys)),
            4 => self.requests.push(SysRequest::Reset(ResetCause::RtcWdtRtc)),
            _ => {}
        }
        tracing::debug!(stage, at, "RWDT stage expired");
        self.wdt.expire(at);
        self.schedule_wdt();
    }

    /// Fires RWDT stages due by `now`; returns the time of the next one.
    pub fn sync(&mut self, now: Ps) -> Option<Ps> {
        for _ in 0..16 {
            match self.wdt.due {
                Some(at) if at <= now && self.requests.is_empty() => self.fire_wdt(at),
                _ => break,
            }
        }
        self.wdt.due
    }

    /// The RTC_CORE interrupt line (source 46).
    pub fn sources(&self) -> u128 {
        crate::source::spread(device::Device::lines(self, 0), crate::soc::table::sources_of("RTC_CNTL"))
    }

    // ------------------------------------------------------------------ sleep

    /// When the RTC timer reaches the programmed wake-up value, if the timer may wake us.
    fn timer_wake_at(&self) -> Option<Ps> {
        if !self.regs.on(WAKEUP_STATE, WAKEUP_STATE::TIMER_WAKEUP_EN) {
            return None;
        }
        let target = self.regs.get(SLP_TIMER0) as u64 | (self.regs.field(SLP_TIMER1, SLP_TIMER1::SLP_VAL_HI) as u64) << 32;
        self.slow_ticks_to_ps(target)
    }

    pub fn read(&mut self, off: u32, now: Ps) -> Option<u32> {
        self.sync(now);
        match off {
            TIME_UPDATE => Some(TIME_UPDATE::VALID.set(self.regs.get(off), 1)),
            INT_ST => Some(self.regs.get(INT_RAW) & self.regs.get(INT_ENA)),
            // SENS SAR measurement "done" bits: conversions complete at once.
            SENS_SAR_MEAS_START1 => Some(SENS_SAR_MEAS_START1::MEAS1_DONE_SAR.set(self.regs.get(off), 1)),
            SENS_SAR_MEAS_START2 => Some(SENS_SAR_MEAS_START2::MEAS2_DONE_SAR.set(self.regs.get(off), 1)),
            // The temperature sensor's ready flag and reading once it is powered.
            SENS_SAR_SLAVE_ADDR3 if self.regs.on(SENS_SAR_TSENS_CTRL, SENS_SAR_TSENS_CTRL::TSENS_POWER_UP) => {
                let v = SENS_SAR_SLAVE_ADDR3::TSENS_OUT.set(self.regs.get(off), TSENS_RAW);
                Some(SENS_SAR_SLAVE_ADDR3::TSENS_RDY_OUT.set(v, 1))
            }
            _ => self.regs.read(off),
        }
    }

    /// Stores a write; resets and sleep go to `requests`. False if the offset is not modelled.
    pub fn write(&mut self, off: u32, v: u32, now: Ps) -> bool {
        self.sync(now);
        match off {
            TIME_UPDATE if TIME_UPDATE::UPDATE.on(v) => {
                let ticks = self.slow_ticks(now);
                self.regs.set(TIME0, ticks as u32);
                self.regs.set(TIME1, TIME1::TIME_HI.val((ticks >> 32) as u32));
            }
            OPTIONS0 => {
                // The reset bits are write-only triggers.
                let (sys, pro, app) = (OPTIONS0::SW_SYS_RST, OPTIONS0::SW_PROCPU_RST, OPTIONS0::SW_APPCPU_RST);
                self.regs.write(off, v & !(sys.mask() | pro.mask() | app.mask()));
                if sys.on(v) {
                    self.requests.push(SysRequest::SystemReset);
                } else if pro.on(v) || app.on(v) {
                    self.requests.push(SysRequest::CpuReset {
                        pro: pro.on(v),
                        app: app.on(v),
                        cause: ResetCause::SwCpu,
                    });
                }
                return true;
            }
            STATE0 => {
                self.regs.write(off, v);
                if STATE0::SLEEP_EN.on(v) {
                    if self.regs.on(DIG_PWC, DIG_PWC::DG_WRAP_PD_EN) {
                        let wake_at = self.timer_wake_at().map(|t| t.max(now));
                        tracing::debug!(now, ?wake_at, "deep sleep");
                        self.requests.push(SysRequest::DeepSleep { wake_at });
                    } else {
                        // Light sleep is not modelled: it ends at once, as a wake-up.
                        self.regs.set(STATE0, STATE0::SLEEP_EN.set(v, 0));
                        self.regs.set_field(INT_RAW, INT_ENA::SLP_WAKEUP, 1);
                    }
                }
                return true;
            }
            INT_CLR => {
                self.regs.set(INT_RAW, self.regs.get(INT_RAW) & !v);
                return true;
            }
            WDTCONFIG0..=WDTFEED => {
                if self.regs.get(WDTWPROTECT) != WDT_WKEY {
                    tracing::debug!(off, "RWDT write ignored: write-protected");
                    return true;
                }
                let was_active = self.wdt_active();
                self.wdt.rebase(now, was_active, self.slow_clock());
                if off == WDTFEED {
                    if WDTFEED::FEED.on(v) {
                        self.wdt = StagedWdt::restart(now);
                    }
                } else {
                    self.regs.write(off, v);
                    if !was_active && self.wdt_active() {
                        self.wdt = StagedWdt::restart(now);
                    }
                }
                self.schedule_wdt();
                return true;
            }
            _ => {}
        }
        self.regs.write(off, v)
    }
}


impl device::Device for RtcCntl {
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        RtcCntl::read(self, off, cx.now)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        let ok = RtcCntl::write(self, off, v, cx.now);
        if !self.requests.is_empty() {
            // A software reset or sleep: the machine carries it out when the slice ends.
            cx.effects.end_slice = true;
        }
        if off == CLK_CONF {
            cx.effects.end_slice = true;
            cx.effects.clocks = true;
        }
        ok
    }

    /// The RTC domain survives a digital reset (the machine resets it on power-on).
    fn reset_digital(&mut self, _now: Ps) {}

    fn sync(&mut self, now: Ps, _apb_hz: Hz, requests: &mut Vec<SysRequest>) -> Option<Ps> {
        let next = RtcCntl::sync(self, now);
        requests.append(&mut self.requests);
        next
    }

    /// RTC_CORE.
    fn lines(&self, _now: Ps) -> u32 {
        let st = self.regs.get(INT_RAW) & self.regs.get(INT_ENA);
        let wdt_line = INT_ENA::WDT.on(st) && self.regs.on(WDTCONFIG0, WDTCONFIG0::LEVEL_INT_EN);
        (st & !INT_ENA::WDT.mask() != 0 || wdt_line) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000_000;

    #[test]
    fn flash_boot_rwdt_is_an_rtc_reset_at_128000_slow_cycles() {
        let mut r = RtcCntl::new();
        r.power_on(0);
        let due = r.sync(0).unwrap();
        assert_eq!(due, r.slow_ticks_to_ps(128_000).unwrap());
        r.sync(due);
        assert_eq!(r.requests, vec![SysRequest::Reset(ResetCause::RtcWdtRtc)]);
        // The bootloader's REG_CLR_BIT(RTC_CNTL_WDTCONFIG0_REG, FLASHBOOT_MOD_EN) stops it.
        let mut r = RtcCntl::new();
        r.power_on(0);
        let c = r.regs.get(WDTCONFIG0);
        r.write(WDTCONFIG0, c & !WDTCONFIG0::FLASHBOOT_MOD_EN.mask(), 10 * MS);
        assert_eq!(r.sync(10_000 * MS), None);
        assert!(r.requests.is_empty());
    }

    #[test]
    fn rwdt_cpu_reset_resets_the_enabled_cpus() {
        for (bits, want) in [(3u32, Some((true, true))), (2, Some((true, false))), (1, Some((false, true))), (0, None)] {
            let mut r = RtcCntl::new();
            r.power_on(0);
            r.write(WDTCONFIG0, 0, 0);
            r.write(WDTCONFIG1, 150, 0);
            r.write(WDTCONFIG0, WDTCONFIG0::EN.mask() | 2 << 28 | bits << 8, 0);
            r.sync(2 * MS);
            let got = r.requests.first().map(|q| match q {
                SysRequest::CpuReset { pro, app, cause: ResetCause::RtcWdtCpu } => (*pro, *app),
                other => panic!("{other:?}"),
            });
            assert_eq!(got, want, "reset-enable bits {bits:#b}");
        }
    }

    #[test]
    fn rwdt_interrupt_then_system_reset() {
        let mut r = RtcCntl::new();
        r.power_on(0);
        r.write(WDTCONFIG0, 0, 0); // flash boot protection off, as the bootloader does
        // 150 slow cycles = 1 ms per stage; stage 0 interrupt, stage 1 system reset.
        r.write(WDTCONFIG1, 150, 0);
        r.write(0x94, 150, 0);
        r.write(INT_ENA, INT_ENA::WDT.mask(), 0);
        r.write(WDTCONFIG0, WDTCONFIG0::EN.mask() | 1 << 28 | 3 << 25 | WDTCONFIG0::LEVEL_INT_EN.mask(), MS);
        r.write(WDTWPROTECT, 0, MS);
        r.write(WDTFEED, 1 << 31, 3 * MS / 2); // locked: ignored
        assert_eq!(r.sync(3 * MS / 2), Some(2 * MS));
        r.sync(2 * MS);
        assert_eq!(r.sources(), 1 << 46);
        assert!(r.requests.is_empty());
        r.sync(3 * MS);
        assert_eq!(r.requests, vec![SysRequest::Reset(ResetCause::RtcWdtSys)]);
    }

    #[test]
    fn software_cpu_reset_and_stall() {
        let mut r = RtcCntl::new();
        r.write(OPTIONS0, OPTIONS0::SW_PROCPU_RST.mask() | OPTIONS0::SW_APPCPU_RST.mask(), 0);
        assert_eq!(r.requests, vec![SysRequest::CpuReset { pro: true, app: true, cause: ResetCause::SwCpu }]);
        assert_eq!(r.regs.get(OPTIONS0) & 0x30, 0, "trigger bits read 0");
        // esp_cpu_stall(1): C1 = 0x21 in SW_CPU_STALL[25:20], C0 = 2 in OPTIONS0[1:0].
        r.write(SW_CPU_STALL, 0x21 << 20, 0);
        r.write(OPTIONS0, 2, 0);
        assert!(r.cpu_stalled(1));
        assert!(!r.cpu_stalled(0));
    }

    #[test]
    fn deep_sleep_wakes_on_the_rtc_timer() {
        let mut r = RtcCntl::new();
        r.power_on(0);
        r.write(SLP_TIMER0, 150_000, 0); // RTC timer at 1 s
        r.write(WAKEUP_STATE, WAKEUP_STATE::TIMER_WAKEUP_EN.mask(), 0);
        r.write(DIG_PWC, DIG_PWC::DG_WRAP_PD_EN.mask(), 0);
        r.write(STATE0, STATE0::SLEEP_EN.mask(), 500 * MS);
        assert_eq!(r.requests, vec![SysRequest::DeepSleep { wake_at: Some(1000 * MS) }]);
    }
}
