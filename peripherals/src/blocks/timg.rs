//! Timer groups TIMG0/TIMG1 (0x3FF5_F000 / 0x3FF6_0000): two 64-bit timers each, the
//! main-system watchdog (MWDT) and the RTC slow-clock calibration unit.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 / 0x24 | TnCONFIG | 31 EN, 30 INCREASE, 29 AUTORELOAD, [28:13] DIVIDER, 12 EDGE_INT_EN, 11 LEVEL_INT_EN, 10 ALARM_EN (cleared by the alarm) |
//! | 0x04,0x08 / 0x28,0x2C | TnLO, TnHI | value latched by TnUPDATE |
//! | 0x0C / 0x30 | TnUPDATE | write: latch the running count |
//! | 0x10,0x14 / 0x34,0x38 | TnALARMLO/HI | alarm when the count reaches it (equality, as on the ESP32) |
//! | 0x18,0x1C / 0x3C,0x40 | TnLOADLO/HI | reload value (TnLOAD, auto-reload) |
//! | 0x20 / 0x44 | TnLOAD | write: load the counter |
//! | 0x48 | WDTCONFIG0 | 31 EN, [30:29] STG0, [28:27] STG1, [26:25] STG2, [24:23] STG3 (0 off, 1 interrupt, 2 CPU reset, 3 system reset), 22 EDGE_INT_EN, 21 LEVEL_INT_EN, [20:18] CPU / [17:15] SYS reset length (stored), 14 FLASHBOOT_MOD_EN, 13/12 PRO/APP CPU reset enable (stored) |
//! | 0x4C | WDTCONFIG1 | [31:16] CLK_PRESCALE: one WDT tick is this many APB cycles |
//! | 0x50..0x5C | WDTCONFIG2..5 | stage 0..3 timeouts (ticks) |
//! | 0x60 | WDTFEED | any write: back to stage 0, count 0 |
//! | 0x64 | WDTWPROTECT | WDT registers (0x48..0x60) ignore writes unless this holds 0x50D8_3AA1 |
//! | 0x68 | RTCCALICFG | 31 START, [30:16] MAX, 15 RDY (set when START is written), [14:13] CLK_SEL (0 RC 150 kHz, 1 CK8M/256, 2 32 kHz XTAL), 12 START_CYCLING (reset 1: continuous) |
//! | 0x6C | RTCCALICFG1 | [31:7] XTAL cycles counted over MAX slow cycles |
//! | 0x70..0x94 | LACT* | stored |
//! | 0x98..0xA4 | INT_ENA/RAW/ST/CLR | bit 0 T0, bit 1 T1, bit 2 WDT; ST = RAW & ENA |
//! | 0xF8 | NTIMERS_DATE | |
//! | 0xFC | CLK | |
//!
//! Interrupt sources (level): TG0 T0 14, T1 15, WDT 16; TG1 T0 18, T1 19, WDT 20. Edge:
//! TG0 T0 58, T1 59, WDT 60; TG1 T0 62, T1 63, WDT 64. A level line is high while the
//! INT_ST bit is set and the block's LEVEL_INT_EN is on; an edge line pulses for
//! [`EDGE_PULSE_PS`] when the event happens with EDGE_INT_EN on.
//!
//! Flash boot protection (TRM, "Flash Boot Protection"): only TIMG0's MWDT has it. At reset
//! FLASHBOOT_MOD_EN is 1, which runs the watchdog even with EN clear and makes stage 0 a
//! system reset after 26 000 000 ticks (0.65 s at the 40 MHz XTAL APB): the ROM or the
//! second-stage bootloader must clear the bit in time, as on silicon. Only when the straps
//! select SPI flash boot (in download mode the ROM waits for the host without a watchdog).
//!
//! Time: every event (alarm match, WDT stage expiry) has an exact virtual time; `sync`
//! fires those that are due and returns the next one, so the machine ends a run slice
//! there.

use crate::device::{self, Access};
use crate::reset::ResetCause;
use crate::soc::SysRequest;
use crate::time::{Hz, Ps};
use crate::regblock::{ro, rw, rw_array, RegBlock, RegDef};
use crate::time::{cycles_to_ps, Round};
use crate::wdt::{StagedWdt, TickClock};

pub const WDTCONFIG0: u32 = 0x48;
pub const WDTCONFIG1: u32 = 0x4C;
pub const WDTCONFIG2: u32 = 0x50;
pub const WDTFEED: u32 = 0x60;
pub const WDTWPROTECT: u32 = 0x64;
pub const INT_ENA: u32 = 0x98;
pub const INT_RAW: u32 = 0x9C;
pub const INT_ST: u32 = 0xA0;
pub const INT_CLR: u32 = 0xA4;
/// The key that unlocks the watchdog registers.
pub const WDT_WKEY: u32 = 0x50D8_3AA1;

const EN: u32 = 1 << 31;
const INCREASE: u32 = 1 << 30;
const AUTORELOAD: u32 = 1 << 29;
const EDGE_INT_EN: u32 = 1 << 12;
const LEVEL_INT_EN: u32 = 1 << 11;
const ALARM_EN: u32 = 1 << 10;
const WDT_EDGE_INT_EN: u32 = 1 << 22;
const WDT_LEVEL_INT_EN: u32 = 1 << 21;
const WDT_FLASHBOOT: u32 = 1 << 14;

/// How long an edge-type interrupt line stays high after its event (ps). The machine ends
/// a slice at every event, so both cores sample the line within this window.
pub const EDGE_PULSE_PS: u64 = 1_000_000;

/// A reset the watchdog asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum WdtReset {
    /// Stage action 2: both CPUs reset (TGWDT_CPU_RESET, cause 11).
    Cpu,
    /// Stage action 3: core (digital system) reset (cause 7 for TIMG0, 8 for TIMG1).
    System,
}

fn defs() -> Vec<RegDef> {
    let mut d = Vec::new();
    for t in 0..2u32 {
        let b = t * 0x24;
        d.push(rw(b, 0x6000_2000, "TnCONFIG"));
        d.push(ro(b + 0x04, 0, "TnLO"));
        d.push(ro(b + 0x08, 0, "TnHI"));
        d.push(rw(b + 0x0C, 0, "TnUPDATE"));
        d.push(rw(b + 0x10, 0, "TnALARMLO"));
        d.push(rw(b + 0x14, 0, "TnALARMHI"));
        d.push(rw(b + 0x18, 0, "TnLOADLO"));
        d.push(rw(b + 0x1C, 0, "TnLOADHI"));
        d.push(rw(b + 0x20, 0, "TnLOAD"));
    }
    d.push(rw(WDTCONFIG0, 0x0004_C000, "WDTCONFIG0"));
    d.push(rw(WDTCONFIG1, 0x0001_0000, "WDTCONFIG1"));
    d.push(rw(0x50, 26_000_000, "WDTCONFIG2"));
    d.push(rw(0x54, 0x7FF_FFFF, "WDTCONFIG3"));
    d.push(rw(0x58, 0xF_FFFF, "WDTCONFIG4"));
    d.push(rw(0x5C, 0xF_FFFF, "WDTCONFIG5"));
    d.push(rw(WDTFEED, 0, "WDTFEED"));
    d.push(rw(WDTWPROTECT, WDT_WKEY, "WDTWPROTECT"));
    d.push(rw(0x68, 0x0001_3000, "RTCCALICFG"));
    d.push(ro(0x6C, 0, "RTCCALICFG1"));
    rw_array(&mut d, 0x70, 10, 0, "LACT");
    d.push(rw(INT_ENA, 0, "INT_ENA"));
    d.push(ro(INT_RAW, 0, "INT_RAW"));
    d.push(ro(INT_ST, 0, "INT_ST"));
    d.push(rw(INT_CLR, 0, "INT_CLR"));
    d.push(ro(0xF8, 0x1604_2900, "NTIMERS_DATE"));
    d.push(rw(0xFC, 0, "CLK"));
    d
}

/// Running state of one 64-bit timer: value = base ± ticks since `since`.
#[derive(Clone, Copy, Default)]
#[derive(serde::Serialize, serde::Deserialize)]
struct Counter {
    base: u64,
    since: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Timg {
    pub regs: RegBlock,
    /// 0 for TIMG0 (the one with flash boot protection), 1 for TIMG1.
    group: usize,
    counters: [Counter; 2],
    /// The APB frequency the running counts are measured at.
    apb_hz: u64,
    alarm_due: [Option<u64>; 2],
    wdt: StagedWdt,
    /// When the software last enabled or fed the watchdog.
    #[serde(default)]
    armed_at: u64,
    /// Times of the last edge pulses: T0, T1, WDT.
    edge_at: [Option<u64>; 3],
    /// A reset the watchdog asked for, taken by the SoC.
    pub reset: Option<WdtReset>,
    /// The chip booted in SPI flash mode (strap GPIO0 high): only then does flash boot
    /// protection run (download mode waits for the host indefinitely).
    flash_boot: bool,
}

/// A clock of `cycles_per_tick` APB cycles per tick.
fn clock(cycles_per_tick: u64, apb_hz: u64) -> TickClock {
    TickClock { hz: apb_hz, prescale: cycles_per_tick }
}

impl Timg {
    /// `name` is "TIMG0" or "TIMG1".
    pub fn new(name: &'static str) -> Timg {
        Timg {
            regs: RegBlock::new(name, 0x100, defs()),
            group: (name == "TIMG1") as usize,
            counters: [Counter::default(); 2],
            apb_hz: crate::soc::XTAL_HZ,
            alarm_due: [None; 2],
            // Flash boot protection runs from power-on (virtual time of the reset is set
            // by `start_at`).
            wdt: StagedWdt::default(),
            armed_at: 0,
            edge_at: [None; 3],
            reset: None,
            flash_boot: true,
        }
    }

    /// Whether the chip boots from flash (the straps), which arms flash boot protection.
    pub fn set_flash_boot(&mut self, on: bool, now: u64) {
        self.rebase_wdt(now);
        self.flash_boot = on;
        self.schedule_wdt();
    }

    /// The block comes out of reset at virtual time `now` (the watchdog starts counting).
    pub fn start_at(&mut self, now: u64, apb_hz: u64) {
        self.apb_hz = apb_hz;
        for c in &mut self.counters {
            c.since = now;
        }
        self.wdt = StagedWdt::restart(now);
        self.armed_at = now;
        self.schedule_wdt();
    }

    /// How long before `now` the software last enabled or fed the watchdog (or the block
    /// left reset): a watchdog reset that short after arming was asked for.
    pub fn wdt_armed_for(&self, now: u64) -> u64 {
        now.saturating_sub(self.armed_at)
    }

    fn cfg(&self, t: usize) -> u32 {
        self.regs.get(t as u32 * 0x24)
    }

    fn divider(&self, t: usize) -> u64 {
        match (self.cfg(t) >> 13) & 0xFFFF {
            0 => 65536,
            1 => 2,
            n => n as u64,
        }
    }

    fn elapsed_ticks(&self, t: usize, now: u64) -> u64 {
        let c = self.counters[t];
        clock(self.divider(t), self.apb_hz).ticks_in(now.saturating_sub(c.since))
    }

    fn count(&self, t: usize, now: u64) -> u64 {
        let c = self.counters[t];
        if self.cfg(t) & EN == 0 {
            return c.base;
        }
        let ticks = self.elapsed_ticks(t, now);
        if self.cfg(t) & INCREASE != 0 {
            c.base.wrapping_add(ticks)
        } else {
            c.base.wrapping_sub(ticks)
        }
    }

    /// Re-bases a timer at `now` (before its configuration or clock changes), keeping the
    /// prescaler's phase: the new origin is the last tick boundary, not `now`.
    fn rebase(&mut self, t: usize, now: u64) {
        let v = self.count(t, now);
        let since = if self.cfg(t) & EN != 0 {
            let k = self.elapsed_ticks(t, now) as u128;
            self.counters[t].since + cycles_to_ps(k * self.divider(t) as u128, self.apb_hz, Round::Down) as u64
        } else {
            now
        };
        self.counters[t] = Counter { base: v, since };
    }

    fn wdt_prescale(&self) -> u64 {
        ((self.regs.get(WDTCONFIG1) >> 16) & 0xFFFF).max(1) as u64
    }

    fn wdt_active(&self) -> bool {
        let c = self.regs.get(WDTCONFIG0);
        c & EN != 0 || (self.group == 0 && self.flash_boot && c & WDT_FLASHBOOT != 0)
    }

    fn wdt_clock(&self) -> TickClock {
        clock(self.wdt_prescale(), self.apb_hz)
    }

    fn rebase_wdt(&mut self, now: u64) {
        let (active, clock) = (self.wdt_active(), self.wdt_clock());
        self.wdt.rebase(now, active, clock);
    }

    /// Re-bases both timers and the watchdog at `now`, so time so far counts at the current rate.
    pub fn rebase_all(&mut self, now: u64, apb_hz: u64) {
        self.retime(now, apb_hz);
        for t in 0..2 {
            self.rebase(t, now);
        }
        self.rebase_wdt(now);
    }

    /// Follows an APB clock change: counts so far at the old rate, from now at the new one.
    fn retime(&mut self, now: u64, apb_hz: u64) {
        if apb_hz != self.apb_hz {
            for t in 0..2 {
                self.rebase(t, now);
            }
            self.rebase_wdt(now);
            self.apb_hz = apb_hz;
            for t in 0..2 {
                self.schedule_alarm(t, now);
            }
            self.schedule_wdt();
        }
    }

    /// Recomputes when timer `t`'s alarm matches.
    fn schedule_alarm(&mut self, t: usize, now: u64) {
        self.alarm_due[t] = None;
        let cfg = self.cfg(t);
        if cfg & EN == 0 || cfg & ALARM_EN == 0 {
            return;
        }
        let b = t as u32 * 0x24;
        let alarm = self.regs.get(b + 0x10) as u64 | (self.regs.get(b + 0x14) as u64) << 32;
        let cur = self.count(t, now);
        let d = if cfg & INCREASE != 0 { alarm.wrapping_sub(cur) } else { cur.wrapping_sub(alarm) };
        let k = self.elapsed_ticks(t, now).saturating_add(d);
        if let Some(ps) = clock(self.divider(t), self.apb_hz).span_of(k) {
            self.alarm_due[t] = Some((self.counters[t].since + ps).max(now));
        }
    }

    /// Action of watchdog stage `s` (flash boot mode forces a system reset at stage 0).
    fn wdt_action(&self, s: usize) -> u32 {
        let c = self.regs.get(WDTCONFIG0);
        if s == 0 && self.group == 0 && self.flash_boot && c & WDT_FLASHBOOT != 0 {
            return 3;
        }
        (c >> (29 - 2 * s as u32)) & 3
    }

    fn schedule_wdt(&mut self) {
        let hold = self.regs.get(WDTCONFIG2 + 4 * self.wdt.stage as u32) as u64;
        let (active, clock) = (self.wdt_active(), self.wdt_clock());
        self.wdt.schedule(active, hold, clock);
    }

    fn raise(&mut self, bit: usize, at: u64, edge_en: bool) {
        self.regs.set(INT_RAW, self.regs.get(INT_RAW) | 1 << bit);
        if edge_en {
            self.edge_at[bit] = Some(at);
        }
    }

    /// Fires every event due by `now` in time order; returns the time of the next one.
    pub fn sync(&mut self, now: u64, apb_hz: u64) -> Option<u64> {
        self.retime(now, apb_hz);
        // Bounded: an auto-reloading alarm equal to its reload value fires once per tick.
        for _ in 0..10_000 {
            if self.reset.is_some() {
                return None;
            }
            let next = [self.alarm_due[0], self.alarm_due[1], self.wdt.due]
                .into_iter()
                .enumerate()
                .filter_map(|(i, d)| d.map(|d| (d, i)))
                .min();
            match next {
                Some((at, i)) if at <= now => {
                    if i < 2 {
                        self.fire_alarm(i, at);
                    } else {
                        self.fire_wdt(at);
                    }
                }
                other => return other.map(|(at, _)| at),
            }
        }
        [self.alarm_due[0], self.alarm_due[1], self.wdt.due].into_iter().flatten().min()
    }

    fn fire_alarm(&mut self, t: usize, at: u64) {
        let cfg = self.cfg(t);
        self.raise(t, at, cfg & EDGE_INT_EN != 0);
        // The alarm disarms itself; auto-reload restarts the count from the load value.
        self.regs.set(t as u32 * 0x24, cfg & !ALARM_EN);
        if cfg & AUTORELOAD != 0 {
            let b = t as u32 * 0x24;
            let load = self.regs.get(b + 0x18) as u64 | (self.regs.get(b + 0x1C) as u64) << 32;
            self.counters[t] = Counter { base: load, since: at };
        }
        self.schedule_alarm(t, at);
    }

    fn fire_wdt(&mut self, at: u64) {
        let stage = self.wdt.stage;
        match self.wdt_action(stage) {
            1 => {
                let edge = self.regs.get(WDTCONFIG0) & WDT_EDGE_INT_EN != 0;
                self.raise(2, at, edge);
            }
            2 => self.reset = Some(WdtReset::Cpu),
            3 => self.reset = Some(WdtReset::System),
            _ => {}
        }
        tracing::debug!(group = self.group, stage, at, "MWDT stage expired");
        self.wdt.expire(at);
        self.schedule_wdt();
    }

    /// The block's interrupt lines as bits of the 69 sources.
    pub fn sources(&self, now: u64) -> u128 {
        crate::source::spread(device::Device::lines(self, now), crate::soc::sources_of(self.regs.name))
    }

    /// XTAL cycles counted over MAX cycles of the slow clock `cfg` selects.
    fn calibration(cfg: u32) -> u32 {
        let max = ((cfg >> 16) & 0x7FFF) as u64;
        let slow = match (cfg >> 13) & 3 {
            0 => crate::rtc_cntl::SLOW_CLK_HZ,
            1 => crate::rtc_cntl::CK8M_HZ / 256,
            _ => 32_768,
        };
        ((max * crate::soc::XTAL_HZ / slow) as u32 & 0x1FF_FFFF) << 7
    }

    pub fn read(&mut self, off: u32, now: u64, apb_hz: u64) -> Option<u32> {
        self.sync(now, apb_hz);
        let cfg = self.regs.get(0x68);
        match off {
            // START_CYCLING (bit 12, set at reset): the unit calibrates continuously.
            0x6C if cfg & (1 << 12) != 0 => Some(Self::calibration(cfg)),
            0x68 if cfg & (1 << 12) != 0 => Some(cfg | (1 << 15)),
            INT_ST => Some(self.regs.get(INT_RAW) & self.regs.get(INT_ENA)),
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32, now: u64, apb_hz: u64) -> bool {
        self.sync(now, apb_hz);
        if off < 0x48 {
            let t = (off >= 0x24) as usize;
            let b = t as u32 * 0x24;
            match off - b {
                0x00 => {
                    self.rebase(t, now);
                    self.regs.write(off, v);
                }
                0x0C => {
                    let c = self.count(t, now);
                    self.regs.set(b + 4, c as u32);
                    self.regs.set(b + 8, (c >> 32) as u32);
                }
                0x20 => {
                    let lo = self.regs.get(b + 0x18) as u64;
                    let hi = self.regs.get(b + 0x1C) as u64;
                    self.counters[t] = Counter { base: lo | hi << 32, since: now };
                }
                _ => {
                    self.regs.write(off, v);
                }
            }
            self.schedule_alarm(t, now);
            return true;
        }
        match off {
            WDTCONFIG0..=WDTFEED => {
                if self.regs.get(WDTWPROTECT) != WDT_WKEY {
                    tracing::debug!(group = self.group, off, "MWDT write ignored: write-protected");
                    return true;
                }
                let was_active = self.wdt_active();
                self.rebase_wdt(now);
                if off == WDTFEED {
                    self.wdt = StagedWdt::restart(now);
                    self.armed_at = now;
                } else {
                    self.regs.write(off, v);
                    if !was_active && self.wdt_active() {
                        // Enabling starts from stage 0 with a fresh count.
                        self.wdt = StagedWdt::restart(now);
                        self.armed_at = now;
                    }
                }
                self.schedule_wdt();
                true
            }
            INT_CLR => {
                self.regs.set(INT_RAW, self.regs.get(INT_RAW) & !v);
                true
            }
            0x68 => {
                if !self.regs.write(off, v) {
                    return false;
                }
                if v & (1 << 31) != 0 {
                    self.regs.set(0x6C, Self::calibration(v));
                    self.regs.set(0x68, self.regs.get(0x68) | (1 << 15));
                } else {
                    self.regs.set(0x68, self.regs.get(0x68) & !(1 << 15));
                }
                true
            }
            _ => self.regs.write(off, v),
        }
    }
}


impl device::Device for Timg {
    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        Timg::read(self, off, cx.now, cx.apb_hz)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        Timg::write(self, off, v, cx.now, cx.apb_hz)
    }

    /// Back to reset values, counting (the watchdog's flash boot stage) from `now`.
    fn reset_digital(&mut self, now: Ps) {
        *self = Timg::new(self.regs.name);
        self.start_at(now, crate::soc::XTAL_HZ);
    }

    fn sync(&mut self, now: Ps, apb_hz: Hz, requests: &mut Vec<SysRequest>) -> Option<Ps> {
        let next = Timg::sync(self, now, apb_hz);
        match self.reset.take() {
            Some(WdtReset::System) => {
                requests.push(SysRequest::Reset(if self.group == 0 { ResetCause::Tg0WdtSys } else { ResetCause::Tg1WdtSys }))
            }
            Some(WdtReset::Cpu) => requests.push(SysRequest::CpuReset { pro: true, app: true, cause: ResetCause::TgWdtCpu }),
            None => {}
        }
        next
    }

    /// T0, T1, WDT level lines, then T0, T1, WDT edge lines.
    fn lines(&self, now: Ps) -> u32 {
        let st = self.regs.get(INT_RAW) & self.regs.get(INT_ENA);
        let level_en = [
            self.cfg(0) & LEVEL_INT_EN != 0,
            self.cfg(1) & LEVEL_INT_EN != 0,
            self.regs.get(WDTCONFIG0) & WDT_LEVEL_INT_EN != 0,
        ];
        let mut l = 0u32;
        for (i, &en) in level_en.iter().enumerate() {
            if st >> i & 1 != 0 && en {
                l |= 1 << i;
            }
            if let Some(at) = self.edge_at[i] {
                if now >= at && now < at + EDGE_PULSE_PS {
                    l |= 1 << (3 + i);
                }
            }
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APB: u64 = 80_000_000;
    const NS: u64 = 1000;

    fn timer() -> Timg {
        let mut t = Timg::new("TIMG0");
        t.start_at(0, APB);
        // Leave flash boot mode, as the bootloader does.
        t.write(WDTCONFIG0, 0, 0, APB);
        t
    }

    #[test]
    fn alarm_fires_at_the_exact_tick() {
        let mut t = timer();
        // Divider 80: 1 µs ticks. Alarm at 1000 → 1 ms after enabling at 5 µs.
        t.write(0x10, 1000, 5 * 1000 * NS, APB);
        t.write(INT_ENA, 1, 5 * 1000 * NS, APB);
        let cfg = EN | INCREASE | (80 << 13) | LEVEL_INT_EN | ALARM_EN;
        t.write(0x00, cfg, 5 * 1000 * NS, APB);
        let due = t.sync(5 * 1000 * NS, APB).expect("alarm scheduled");
        assert_eq!(due, 1_005_000 * NS);
        assert_eq!(t.sources(due - 1), 0);
        assert_eq!(t.sync(due - 1, APB), Some(due));
        assert_eq!(t.regs.get(INT_RAW), 0);
        t.sync(due, APB);
        assert_eq!(t.regs.get(INT_RAW), 1);
        assert_eq!(t.sources(due), 1 << 14);
        // The alarm disarmed itself; the counter keeps going.
        assert_eq!(t.cfg(0) & ALARM_EN, 0);
        t.write(0x0C, 1, due + 3000 * NS, APB);
        assert_eq!(t.regs.get(0x04), 1003);
        t.write(INT_CLR, 1, due, APB);
        assert_eq!(t.sources(due), 0);
    }

    #[test]
    fn autoreload_repeats_and_edge_pulses() {
        let mut t = timer();
        // TIMG T1, divider 2 (25 ns ticks), count down from 100 to 0, reload 100.
        t.write(0x3C, 100, 0, APB);
        t.write(0x44, 1, 0, APB);
        t.write(0x34, 0, 0, APB);
        t.write(INT_ENA, 2, 0, APB);
        t.write(0x24, EN | AUTORELOAD | (2 << 13) | EDGE_INT_EN | ALARM_EN, 0, APB);
        let due = t.sync(0, APB).unwrap();
        assert_eq!(due, 100 * 25 * NS);
        t.sync(due, APB);
        assert_eq!(t.sources(due), 1 << 59, "edge line only (no LEVEL_INT_EN)");
        assert_eq!(t.sources(due + EDGE_PULSE_PS), 0, "the pulse ends");
        // Re-arm: the reloaded counter matches again 100 ticks later.
        t.write(0x24, EN | AUTORELOAD | (2 << 13) | EDGE_INT_EN | ALARM_EN, due + 10 * NS, APB);
        assert_eq!(t.sync(due + 10 * NS, APB), Some(2 * due));
    }

    #[test]
    fn flash_boot_watchdog_resets_the_system_unless_disabled() {
        let mut t = Timg::new("TIMG0");
        t.start_at(0, 40_000_000);
        let due = t.sync(0, 40_000_000).unwrap();
        assert_eq!(due, 650_000_000_000, "26e6 ticks of the 40 MHz APB");
        t.sync(due, 40_000_000);
        assert_eq!(t.reset, Some(WdtReset::System));
        // TIMG1 has no flash boot protection.
        let mut t1 = Timg::new("TIMG1");
        t1.start_at(0, 40_000_000);
        assert_eq!(t1.sync(0, 40_000_000), None);
        // Clearing FLASHBOOT_MOD_EN stops it.
        let mut t = Timg::new("TIMG0");
        t.start_at(0, 40_000_000);
        t.write(WDTCONFIG0, t.regs.get(WDTCONFIG0) & !WDT_FLASHBOOT, 1000, 40_000_000);
        assert_eq!(t.sync(10 * due, 40_000_000), None);
        assert_eq!(t.reset, None);
    }

    /// Pycom's `machine_wdt_start(1)` (what `machine.reset()` does): 0.5 ms ticks, stage 0
    /// interrupt after 1 tick, stage 1 system reset 1 tick later.
    #[test]
    fn stages_escalate_from_interrupt_to_system_reset() {
        let mut t = timer();
        let t0 = 10_000 * NS;
        t.write(WDTWPROTECT, WDT_WKEY, t0, APB);
        let c0 = t.regs.get(WDTCONFIG0);
        t.write(WDTCONFIG0, c0 & !EN, t0, APB);
        let c0 = (c0 & !(0xFF << 23)) | (7 << 18) | (7 << 15) | WDT_LEVEL_INT_EN | (1 << 29) | (3 << 27);
        t.write(WDTCONFIG0, c0, t0, APB);
        t.write(WDTCONFIG1, 40_000 << 16, t0, APB);
        t.write(WDTCONFIG2, 1, t0, APB);
        t.write(0x54, 1, t0, APB);
        t.write(WDTCONFIG0, c0 | EN, t0, APB);
        t.write(WDTFEED, 1, t0, APB);
        t.write(WDTWPROTECT, 0, t0, APB);
        t.write(INT_ENA, 4, t0, APB);
        // Locked now: a feed is ignored.
        t.write(WDTFEED, 1, t0 + 100_000 * NS, APB);
        let half_ms = 500_000 * NS;
        assert_eq!(t.sync(t0 + 100_000 * NS, APB), Some(t0 + half_ms));
        t.sync(t0 + half_ms, APB);
        assert_eq!(t.sources(t0 + half_ms), 1 << 16, "stage 0: WDT level interrupt");
        assert_eq!(t.reset, None);
        t.sync(t0 + 2 * half_ms - 1, APB);
        assert_eq!(t.reset, None);
        t.sync(t0 + 2 * half_ms, APB);
        assert_eq!(t.reset, Some(WdtReset::System), "stage 1: system reset");
    }

    #[test]
    fn feeding_restarts_stage_zero() {
        let mut t = timer();
        t.write(WDTCONFIG1, 80 << 16, 0, APB); // 1 µs ticks
        t.write(WDTCONFIG2, 100, 0, APB);
        t.write(WDTCONFIG0, EN | (3 << 29), 0, APB);
        for k in 1..10u64 {
            t.write(WDTFEED, 1, k * 90_000 * NS, APB);
        }
        // Last feed at 810 µs: stage 0 (100 µs) expires at 910 µs.
        assert_eq!(t.sync(900_000 * NS, APB), Some(910_000 * NS));
        assert_eq!(t.reset, None);
        t.sync(910_000 * NS, APB);
        assert_eq!(t.reset, Some(WdtReset::System));
    }
}
