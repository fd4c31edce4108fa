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
use crate::regblock::{rw, rw_array, RegBlock, RegDef};
use crate::reset::ResetCause;
use crate::soc::SysRequest;
use crate::wdt::{StagedWdt, TickClock};

pub const OPTIONS0: u32 = 0x00;
pub const SLP_TIMER0: u32 = 0x04;
pub const SLP_TIMER1: u32 = 0x08;
pub const TIME_UPDATE: u32 = 0x0C;
pub const STATE0: u32 = 0x18;
pub const RESET_STATE: u32 = 0x34;
pub const WAKEUP_STATE: u32 = 0x38;
pub const INT_ENA: u32 = 0x3C;
pub const INT_RAW: u32 = 0x40;
pub const INT_ST: u32 = 0x44;
pub const INT_CLR: u32 = 0x48;
pub const CLK_CONF: u32 = 0x70;
pub const DIG_PWC: u32 = 0x84;
pub const WDTCONFIG0: u32 = 0x8C;
pub const WDTCONFIG1: u32 = 0x90;
pub const WDTFEED: u32 = 0xA0;
pub const WDTWPROTECT: u32 = 0xA4;
pub const SW_CPU_STALL: u32 = 0xAC;
/// The key that unlocks the RWDT registers.
pub const WDT_WKEY: u32 = 0x50D8_3AA1;
/// RTC slow clock: the internal 150 kHz RC oscillator, nominally (a board's own is
/// `Timing::slow_hz`).
pub const SLOW_CLK_HZ: u64 = crate::timing::SLOW_CLK_HZ;
/// The internal 8 MHz oscillator (its eFuse calibration byte, BLK0_RDATA4[7:0], is in
/// units of 100 kHz: the ROM's XTAL detection relies on that).
pub const CK8M_HZ: u64 = 8_000_000;

/// SENS_SAR_SLAVE_ADDR3 (temperature sensor output) and SENS_SAR_TSENS_CTRL.
const SENS_SLAVE_ADDR3: u32 = 0x844;
const SENS_TSENS_CTRL: u32 = 0x84C;
const TSENS_POWER_UP: u32 = 1 << 24;
/// The temperature sensor's raw reading: 113 (≈ 45 °C by the usual (raw − 32) / 1.8), a
/// plausible die temperature of an idle chip; not a measurement.
const TSENS_RAW: u32 = 113;
const SW_SYS_RST: u32 = 1 << 31;
const SW_PROCPU_RST: u32 = 1 << 5;
const SW_APPCPU_RST: u32 = 1 << 4;
const SLEEP_EN: u32 = 1 << 31;
const DG_WRAP_PD_EN: u32 = 1 << 31;
const TIMER_WAKEUP_EN: u32 = 1 << 17;
const INT_SLP_WAKEUP: u32 = 1 << 0;
const INT_WDT: u32 = 1 << 3;
const WDT_EN: u32 = 1 << 31;
const WDT_LEVEL_INT_EN: u32 = 1 << 17;
const WDT_FLASHBOOT: u32 = 1 << 10;

fn defs() -> Vec<RegDef> {
    let mut d = Vec::new();
    rw_array(&mut d, 0x00, 64, 0, "RTC_CNTL");
    // A few non-zero reset values that code reads back.
    d.retain(|r| !matches!(r.off, 0x70 | 0xFC | 0x7C | 0x34 | 0x84 | 0x8C..=0xA4));
    d.push(rw(CLK_CONF, 0x0000_2210, "CLK_CONF"));
    d.push(rw(0x7C, 0xB920_0000, "REG"));
    d.push(RegDef { off: RESET_STATE, reset: 0x3000 | 1 | (1 << 6), wmask: 0x3000, name: "RESET_STATE" });
    d.push(rw(DIG_PWC, 0x0015_5550, "DIG_PWC"));
    // EN 0, stages off, CPU/SYS reset length 1, FLASHBOOT_MOD_EN, PAUSE_IN_SLP.
    d.push(rw(WDTCONFIG0, 0x0000_4C80, "WDTCONFIG0"));
    d.push(rw(0x90, 128_000, "WDTCONFIG1"));
    d.push(rw(0x94, 80_000, "WDTCONFIG2"));
    d.push(rw(0x98, 0xFFF, "WDTCONFIG3"));
    d.push(rw(0x9C, 0xFFF, "WDTCONFIG4"));
    d.push(rw(WDTFEED, 0, "WDTFEED"));
    d.push(rw(WDTWPROTECT, WDT_WKEY, "WDTWPROTECT"));
    d.push(rw(0xFC, 0x0160_4280, "DATE"));
    rw_array(&mut d, 0x400, 51, 0, "RTCIO");
    rw_array(&mut d, 0x800, 64, 0, "SENS");
    d
}

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
    slow_hz: u64,
}

impl Default for RtcCntl {
    fn default() -> Self {
        Self::new()
    }
}

impl RtcCntl {
    pub fn new() -> RtcCntl {
        RtcCntl {
            regs: RegBlock::new("RTC_CNTL", 0x1000, defs()),
            wdt: StagedWdt::default(),
            requests: Vec::new(),
            flash_boot: true,
            slow_hz: SLOW_CLK_HZ,
        }
    }

    /// This board's slow clock runs at `hz` (set before power-on).
    pub fn set_slow_hz(&mut self, hz: u64) {
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
    pub fn power_on(&mut self, now: u64) {
        self.regs.reset();
        self.requests.clear();
        self.wdt = StagedWdt::restart(now);
        self.schedule_wdt();
    }

    /// A core reset of the digital system: the RTC domain keeps its registers, but the
    /// digital clock mux returns to XTAL (the ROM then runs at 40 MHz as after power-on)
    /// and software reset/stall requests are gone.
    pub fn digital_reset(&mut self) {
        let clk = self.regs.read(CLK_CONF).unwrap_or(0);
        let sel_mask = 3 << 27;
        let reset_clk = 0x0000_2210;
        self.regs.set(CLK_CONF, (clk & !sel_mask) | (reset_clk & sel_mask));
        let o = self.regs.get(OPTIONS0);
        self.regs.set(OPTIONS0, o & !0xF);
        self.regs.set(SW_CPU_STALL, 0);
        self.regs.set(STATE0, self.regs.get(STATE0) & !SLEEP_EN);
    }

    /// Sets the reset cause both cores will read.
    pub fn set_reset_cause(&mut self, cause: ResetCause) {
        let n = cause.number();
        let v = self.regs.get(RESET_STATE) & !0xFFF;
        self.regs.set(RESET_STATE, v | (n & 0x3F) | ((n & 0x3F) << 6));
    }

    /// Sets one core's reset cause, leaving the other's.
    pub fn set_core_reset_cause(&mut self, core: usize, cause: ResetCause) {
        let shift = 6 * core as u32;
        let v = self.regs.get(RESET_STATE) & !(0x3F << shift);
        self.regs.set(RESET_STATE, v | (cause.number() & 0x3F) << shift);
    }

    pub fn soc_clk_sel(&self) -> u32 {
        (self.regs.get(CLK_CONF) >> 27) & 3
    }

    /// True while the RTC software stall code {C1, C0} == 0x86 holds `core`.
    pub fn cpu_stalled(&self, core: usize) -> bool {
        let o = self.regs.get(OPTIONS0);
        let s = self.regs.get(SW_CPU_STALL);
        let (c0, c1) = if core == 0 { ((o >> 2) & 3, (s >> 26) & 0x3F) } else { (o & 3, (s >> 20) & 0x3F) };
        (c1 << 2 | c0) == 0x86
    }

    // ------------------------------------------------------------------ RWDT

    fn wdt_active(&self) -> bool {
        let c = self.regs.get(WDTCONFIG0);
        c & WDT_EN != 0 || (self.flash_boot && c & WDT_FLASHBOOT != 0)
    }

    /// Whether the chip boots from flash (the straps), which arms flash boot protection.
    pub fn set_flash_boot(&mut self, on: bool, now: u64) {
        self.wdt.rebase(now, self.wdt_active(), self.slow_clock());
        self.flash_boot = on;
        self.schedule_wdt();
    }

    fn wdt_action(&self, s: usize) -> u32 {
        let c = self.regs.get(WDTCONFIG0);
        if s == 0 && self.flash_boot && c & WDT_FLASHBOOT != 0 {
            return 4;
        }
        (c >> (28 - 3 * s as u32)) & 7
    }

    fn schedule_wdt(&mut self) {
        let hold = self.regs.get(WDTCONFIG1 + 4 * self.wdt.stage as u32) as u64;
        let clock = self.slow_clock();
        self.wdt.schedule(self.wdt_active(), hold, clock);
    }

    fn fire_wdt(&mut self, at: u64) {
        let stage = self.wdt.stage;
        match self.wdt_action(stage) {
            1 => self.regs.set(INT_RAW, self.regs.get(INT_RAW) | INT_WDT),
            2 => self.requests.push(SysRequest::CpuReset { pro: true, app: true, cause: ResetCause::RtcWdtCpu }),
            3 => self.requests.push(SysRequest::Reset(ResetCause::RtcWdtSys)),
            4 => self.requests.push(SysRequest::Reset(ResetCause::RtcWdtRtc)),
            _ => {}
        }
        tracing::debug!(stage, at, "RWDT stage expired");
        self.wdt.expire(at);
        self.schedule_wdt();
    }

    /// Fires RWDT stages due by `now`; returns the time of the next one.
    pub fn sync(&mut self, now: u64) -> Option<u64> {
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
        crate::source::spread(device::Device::lines(self, 0), crate::soc::sources_of("RTC_CNTL"))
    }

    // ------------------------------------------------------------------ sleep

    /// When the RTC timer reaches the programmed wake-up value, if the timer may wake us.
    fn timer_wake_at(&self) -> Option<u64> {
        if self.regs.get(WAKEUP_STATE) & TIMER_WAKEUP_EN == 0 {
            return None;
        }
        let target = self.regs.get(SLP_TIMER0) as u64 | ((self.regs.get(SLP_TIMER1) & 0xFFFF) as u64) << 32;
        self.slow_ticks_to_ps(target)
    }

    pub fn read(&mut self, off: u32, now: u64) -> Option<u32> {
        self.sync(now);
        match off {
            TIME_UPDATE => Some(self.regs.get(off) | (1 << 30)),
            INT_ST => Some(self.regs.get(INT_RAW) & self.regs.get(INT_ENA)),
            // SENS SAR measurement "done" bits: conversions complete at once.
            0x854 | 0x894 => Some(self.regs.get(off) | (1 << 16)),
            // SENS_SAR_SLAVE_ADDR3: the temperature sensor's TSENS_RDY_OUT (30) and TSENS_OUT
            // [29:22] once it is powered (SENS_SAR_TSENS_CTRL bit 24 TSENS_POWER_UP).
            SENS_SLAVE_ADDR3 if self.regs.get(SENS_TSENS_CTRL) & TSENS_POWER_UP != 0 => {
                Some(self.regs.get(off) & !(0x1FF << 22) | 1 << 30 | TSENS_RAW << 22)
            }
            _ => self.regs.read(off),
        }
    }

    /// Stores a write; resets and sleep go to `requests`. False if the offset is not modelled.
    pub fn write(&mut self, off: u32, v: u32, now: u64) -> bool {
        self.sync(now);
        match off {
            TIME_UPDATE if v & (1 << 31) != 0 => {
                let ticks = self.slow_ticks(now);
                self.regs.set(0x10, ticks as u32);
                self.regs.set(0x14, ((ticks >> 32) & 0xFFFF) as u32);
            }
            OPTIONS0 => {
                // The reset bits are write-only triggers.
                self.regs.write(off, v & !(SW_SYS_RST | SW_PROCPU_RST | SW_APPCPU_RST));
                if v & SW_SYS_RST != 0 {
                    self.requests.push(SysRequest::SystemReset);
                } else if v & (SW_PROCPU_RST | SW_APPCPU_RST) != 0 {
                    self.requests.push(SysRequest::CpuReset {
                        pro: v & SW_PROCPU_RST != 0,
                        app: v & SW_APPCPU_RST != 0,
                        cause: ResetCause::SwCpu,
                    });
                }
                return true;
            }
            STATE0 => {
                self.regs.write(off, v);
                if v & SLEEP_EN != 0 {
                    if self.regs.get(DIG_PWC) & DG_WRAP_PD_EN != 0 {
                        let wake_at = self.timer_wake_at().map(|t| t.max(now));
                        tracing::debug!(now, ?wake_at, "deep sleep");
                        self.requests.push(SysRequest::DeepSleep { wake_at });
                    } else {
                        // Light sleep is not modelled: it ends at once, as a wake-up.
                        self.regs.set(STATE0, v & !SLEEP_EN);
                        self.regs.set(INT_RAW, self.regs.get(INT_RAW) | INT_SLP_WAKEUP);
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
                    if v & (1 << 31) != 0 {
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
        let wdt_line = st & INT_WDT != 0 && self.regs.get(WDTCONFIG0) & WDT_LEVEL_INT_EN != 0;
        (st & !INT_WDT != 0 || wdt_line) as u32
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
        r.write(WDTCONFIG0, c & !WDT_FLASHBOOT, 10 * MS);
        assert_eq!(r.sync(10_000 * MS), None);
        assert!(r.requests.is_empty());
    }

    #[test]
    fn rwdt_interrupt_then_system_reset() {
        let mut r = RtcCntl::new();
        r.power_on(0);
        r.write(WDTCONFIG0, 0, 0); // flash boot protection off, as the bootloader does
        // 150 slow cycles = 1 ms per stage; stage 0 interrupt, stage 1 system reset.
        r.write(WDTCONFIG1, 150, 0);
        r.write(0x94, 150, 0);
        r.write(INT_ENA, INT_WDT, 0);
        r.write(WDTCONFIG0, WDT_EN | 1 << 28 | 3 << 25 | WDT_LEVEL_INT_EN, MS);
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
        r.write(OPTIONS0, SW_PROCPU_RST | SW_APPCPU_RST, 0);
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
        r.write(WAKEUP_STATE, TIMER_WAKEUP_EN, 0);
        r.write(DIG_PWC, DG_WRAP_PD_EN, 0);
        r.write(STATE0, SLEEP_EN, 500 * MS);
        assert_eq!(r.requests, vec![SysRequest::DeepSleep { wake_at: Some(1000 * MS) }]);
    }
}
