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
use crate::reset::SysRequest;
use crate::time::{Hz, Ps};
use crate::regblock::RegBlock;
use crate::time::{cycles_to_ps, Round};
use crate::wdt::{StagedWdt, TickClock};

/// The key that unlocks the watchdog registers (also WDTWPROTECT's reset value).
pub const WDT_WKEY: u32 = 0x50D8_3AA1;

crate::regs! {
    /// The timer groups' registers (TRM "Timer Group Registers").
    pub static REGS: "TIMG", 0x100;
    0x00 TCONFIG[2 by 0x24] rw 0x6000_2000 stored {
        EN 31 modelled;
        INCREASE 30 modelled;
        AUTORELOAD 29 modelled;
        DIVIDER 28:13 modelled;
        EDGE_INT_EN 12 modelled;
        LEVEL_INT_EN 11 modelled;
        ALARM_EN 10 modelled;
    };
    0x04 TLO[2 by 0x24] ro 0 modelled;
    0x08 THI[2 by 0x24] ro 0 modelled;
    0x0C TUPDATE[2 by 0x24] wo 0 modelled;
    0x10 TALARMLO[2 by 0x24] rw 0 modelled;
    0x14 TALARMHI[2 by 0x24] rw 0 modelled;
    0x18 TLOADLO[2 by 0x24] rw 0 modelled;
    0x1C TLOADHI[2 by 0x24] rw 0 modelled;
    0x20 TLOAD[2 by 0x24] wo 0 modelled;
    0x48 WDTCONFIG0 rw 0x0004_C000 stored {
        EN 31 modelled;
        STG0 30:29 modelled;
        STG1 28:27 modelled;
        STG2 26:25 modelled;
        STG3 24:23 modelled;
        EDGE_INT_EN 22 modelled;
        LEVEL_INT_EN 21 modelled;
        /// Reset pulse lengths: a reset here is instantaneous.
        CPU_RESET_LENGTH 20:18 stored;
        SYS_RESET_LENGTH 17:15 stored;
        FLASHBOOT_MOD_EN 14 modelled;
        /// Which CPUs a CPU-reset stage resets: the model resets both.
        PROCPU_RESET_EN 13 unmodelled;
        APPCPU_RESET_EN 12 unmodelled;
    };
    0x4C WDTCONFIG1 rw 0x0001_0000 stored {
        CLK_PRESCALE 31:16 modelled;
    };
    /// Stage 0..3 timeouts (WDTCONFIG2..5), in watchdog ticks.
    0x50 WDTCONFIG2 rw 26_000_000 modelled;
    0x54 WDTCONFIG3 rw 0x7FF_FFFF modelled;
    0x58 WDTCONFIG4 rw 0xF_FFFF modelled;
    0x5C WDTCONFIG5 rw 0xF_FFFF modelled;
    0x60 WDTFEED wo 0 modelled;
    0x64 WDTWPROTECT rw WDT_WKEY modelled;
    0x68 RTCCALICFG rw 0x0001_3000 stored {
        START 31 modelled;
        MAX 30:16 modelled;
        RDY 15 modelled;
        CLK_SEL 14:13 modelled;
        START_CYCLING 12 modelled;
    };
    0x6C RTCCALICFG1 ro 0 stored {
        VALUE 31:7 modelled;
    };
    /// The legacy ("LACT") timer: stored.
    0x70 LACT[10] rw 0 stored;
    0x98 INT_ENA rw 0 stored {
        T0 0 modelled;
        T1 1 modelled;
        WDT 2 modelled;
    };
    0x9C INT_RAW ro 0 modelled;
    0xA0 INT_ST ro 0 modelled;
    0xA4 INT_CLR w1c 0 modelled;
    0xF8 NTIMERS_DATE ro 0x1604_2900 modelled;
    0xFC CLK rw 0 stored;
}

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

/// Running state of one 64-bit timer: value = base ± ticks since `since`.
#[derive(Clone, Copy, Default)]
#[derive(serde::Serialize, serde::Deserialize)]
struct Counter {
    base: u64,
    since: Ps,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Timg {
    pub regs: RegBlock,
    /// 0 for TIMG0 (the one with flash boot protection), 1 for TIMG1.
    group: usize,
    counters: [Counter; 2],
    /// The APB frequency the running counts are measured at.
    apb_hz: Hz,
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
    /// This board's crystal and RC slow clock, and whether a calibration takes the time
    /// silicon takes (`Timing`; kept across resets).
    #[serde(default = "nominal_xtal")]
    xtal_hz: Hz,
    #[serde(default = "nominal_slow")]
    slow_hz: Hz,
    #[serde(default)]
    timed_calibration: bool,
    /// A one-shot calibration under way: RDY from this time.
    #[serde(default)]
    cal_ready_at: Option<u64>,
}

fn nominal_xtal() -> u64 {
    crate::timing::XTAL_HZ
}

fn nominal_slow() -> u64 {
    crate::rtc_cntl::SLOW_CLK_HZ
}

/// A clock of `cycles_per_tick` APB cycles per tick.
fn clock(cycles_per_tick: u64, apb_hz: Hz) -> TickClock {
    TickClock { hz: apb_hz, prescale: cycles_per_tick }
}

impl Timg {
    /// `name` is "TIMG0" or "TIMG1".
    pub fn new(name: &'static str) -> Timg {
        Timg {
            regs: RegBlock::new(name, &REGS),
            group: (name == "TIMG1") as usize,
            counters: [Counter::default(); 2],
            apb_hz: crate::timing::XTAL_HZ,
            alarm_due: [None; 2],
            // Flash boot protection runs from power-on (virtual time of the reset is set
            // by `start_at`).
            wdt: StagedWdt::default(),
            armed_at: 0,
            edge_at: [None; 3],
            reset: None,
            flash_boot: true,
            xtal_hz: crate::timing::XTAL_HZ,
            slow_hz: crate::rtc_cntl::SLOW_CLK_HZ,
            timed_calibration: false,
            cal_ready_at: None,
        }
    }

    /// Whether the chip boots from flash (the straps), which arms flash boot protection.
    /// This board's clocks (set before power-on; a reset keeps them).
    pub fn set_timing(&mut self, t: &crate::timing::Timing) {
        self.xtal_hz = t.xtal_hz;
        self.apb_hz = t.xtal_hz;
        self.slow_hz = t.slow_hz;
        self.timed_calibration = t.timed_calibration;
    }

    pub fn set_flash_boot(&mut self, on: bool, now: Ps) {
        self.rebase_wdt(now);
        self.flash_boot = on;
        self.schedule_wdt();
    }

    /// The block comes out of reset at virtual time `now` (the watchdog starts counting).
    pub fn start_at(&mut self, now: Ps, apb_hz: Hz) {
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
    pub fn wdt_armed_for(&self, now: Ps) -> Ps {
        now.saturating_sub(self.armed_at)
    }

    fn cfg(&self, t: usize) -> u32 {
        self.regs.get(TCONFIG::at(t as u32))
    }

    fn divider(&self, t: usize) -> u64 {
        match TCONFIG::DIVIDER.get(self.cfg(t)) {
            0 => 65536,
            1 => 2,
            n => n as u64,
        }
    }

    fn elapsed_ticks(&self, t: usize, now: Ps) -> u64 {
        let c = self.counters[t];
        clock(self.divider(t), self.apb_hz).ticks_in(now.saturating_sub(c.since))
    }

    fn count(&self, t: usize, now: Ps) -> u64 {
        let c = self.counters[t];
        if !TCONFIG::EN.on(self.cfg(t)) {
            return c.base;
        }
        let ticks = self.elapsed_ticks(t, now);
        if TCONFIG::INCREASE.on(self.cfg(t)) {
            c.base.wrapping_add(ticks)
        } else {
            c.base.wrapping_sub(ticks)
        }
    }

    /// Re-bases a timer at `now` (before its configuration or clock changes), keeping the
    /// prescaler's phase: the new origin is the last tick boundary, not `now`.
    fn rebase(&mut self, t: usize, now: Ps) {
        let v = self.count(t, now);
        let since = if TCONFIG::EN.on(self.cfg(t)) {
            let k = self.elapsed_ticks(t, now) as u128;
            self.counters[t].since + cycles_to_ps(k * self.divider(t) as u128, self.apb_hz, Round::Down) as u64
        } else {
            now
        };
        self.counters[t] = Counter { base: v, since };
    }

    fn wdt_prescale(&self) -> u64 {
        self.regs.field(WDTCONFIG1, WDTCONFIG1::CLK_PRESCALE).max(1) as u64
    }

    fn wdt_active(&self) -> bool {
        let c = self.regs.get(WDTCONFIG0);
        WDTCONFIG0::EN.on(c) || (self.group == 0 && self.flash_boot && WDTCONFIG0::FLASHBOOT_MOD_EN.on(c))
    }

    fn wdt_clock(&self) -> TickClock {
        clock(self.wdt_prescale(), self.apb_hz)
    }

    fn rebase_wdt(&mut self, now: Ps) {
        let (active, clock) = (self.wdt_active(), self.wdt_clock());
        self.wdt.rebase(now, active, clock);
    }

    /// Re-bases both timers and the watchdog at `now`, so time so far counts at the current rate.
    pub fn rebase_all(&mut self, now: Ps, apb_hz: Hz) {
        self.retime(now, apb_hz);
        for t in 0..2 {
            self.rebase(t, now);
        }
        self.rebase_wdt(now);
    }

    /// Follows an APB clock change: counts so far at the old rate, from now at the new one.
    fn retime(&mut self, now: Ps, apb_hz: Hz) {
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
    fn schedule_alarm(&mut self, t: usize, now: Ps) {
        self.alarm_due[t] = None;
        let cfg = self.cfg(t);
        if !TCONFIG::EN.on(cfg) || !TCONFIG::ALARM_EN.on(cfg) {
            return;
        }
        let t32 = t as u32;
        let alarm = self.regs.get(TALARMLO::at(t32)) as u64 | (self.regs.get(TALARMHI::at(t32)) as u64) << 32;
        let cur = self.count(t, now);
        let d = if TCONFIG::INCREASE.on(cfg) { alarm.wrapping_sub(cur) } else { cur.wrapping_sub(alarm) };
        let k = self.elapsed_ticks(t, now).saturating_add(d);
        if let Some(ps) = clock(self.divider(t), self.apb_hz).span_of(k) {
            self.alarm_due[t] = Some((self.counters[t].since + ps).max(now));
        }
    }

    /// Timer `t`'s reload value (TnLOADLO/HI).
    fn load_value(&self, t: usize) -> u64 {
        let t = t as u32;
        self.regs.get(TLOADLO::at(t)) as u64 | (self.regs.get(TLOADHI::at(t)) as u64) << 32
    }

    /// Action of watchdog stage `s` (flash boot mode forces a system reset at stage 0).
    fn wdt_action(&self, s: usize) -> u32 {
        let c = self.regs.get(WDTCONFIG0);
        if s == 0 && self.group == 0 && self.flash_boot && WDTCONFIG0::FLASHBOOT_MOD_EN.on(c) {
            return 3;
        }
        [WDTCONFIG0::STG0, WDTCONFIG0::STG1, WDTCONFIG0::STG2, WDTCONFIG0::STG3][s].get(c)
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
    pub fn sync(&mut self, now: Ps, apb_hz: Hz) -> Option<Ps> {
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
        self.raise(t, at, TCONFIG::EDGE_INT_EN.on(cfg));
        // The alarm disarms itself; auto-reload restarts the count from the load value.
        self.regs.set(TCONFIG::at(t as u32), TCONFIG::ALARM_EN.set(cfg, 0));
        if TCONFIG::AUTORELOAD.on(cfg) {
            let load = self.load_value(t);
            self.counters[t] = Counter { base: load, since: at };
        }
        self.schedule_alarm(t, at);
    }

    fn fire_wdt(&mut self, at: u64) {
        let stage = self.wdt.stage;
        match self.wdt_action(stage) {
            1 => {
                let edge = self.regs.on(WDTCONFIG0, WDTCONFIG0::EDGE_INT_EN);
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
    pub fn sources(&self, now: Ps) -> u128 {
        crate::source::spread(device::Device::lines(self, now), crate::soc::table::sources_of(self.regs.name))
    }

    /// XTAL cycles counted over MAX cycles of the slow clock `cfg` selects.
    fn calibration(&self, cfg: u32) -> u32 {
        let max = RTCCALICFG::MAX.get(cfg) as u64;
        RTCCALICFG1::VALUE.val((max * self.xtal_hz / self.cal_clock_hz(cfg)) as u32)
    }

    /// The frequency of the slow clock `cfg` selects (the RC slow clock, 8 MHz / 256, the
    /// 32 kHz crystal).
    fn cal_clock_hz(&self, cfg: u32) -> u64 {
        match RTCCALICFG::CLK_SEL.get(cfg) {
            0 => self.slow_hz,
            1 => crate::rtc_cntl::CK8M_HZ / 256,
            _ => 32_768,
        }
    }

    pub fn read(&mut self, off: u32, now: Ps, apb_hz: Hz) -> Option<u32> {
        self.sync(now, apb_hz);
        let cfg = self.regs.get(RTCCALICFG);
        let cycling = RTCCALICFG::START_CYCLING.on(cfg);
        match off {
            // START_CYCLING (set at reset): the unit calibrates continuously.
            RTCCALICFG1 if cycling => Some(self.calibration(cfg)),
            RTCCALICFG if cycling => Some(RTCCALICFG::RDY.set(cfg, 1)),
            RTCCALICFG if self.cal_ready_at.is_some_and(|t| now >= t) => {
                self.cal_ready_at = None;
                self.regs.set_field(RTCCALICFG, RTCCALICFG::RDY, 1);
                Some(RTCCALICFG::RDY.set(cfg, 1))
            }
            INT_ST => Some(self.regs.get(INT_RAW) & self.regs.get(INT_ENA)),
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32, now: Ps, apb_hz: Hz) -> bool {
        self.sync(now, apb_hz);
        if off < WDTCONFIG0 {
            let t = ((off - TCONFIG) / TCONFIG::STRIDE).min(TCONFIG::COUNT - 1);
            let first = off - t * TCONFIG::STRIDE;
            let t = t as usize;
            match first {
                TCONFIG => {
                    self.rebase(t, now);
                    self.regs.write(off, v);
                }
                TUPDATE => {
                    let c = self.count(t, now);
                    self.regs.set(TLO::at(t as u32), c as u32);
                    self.regs.set(THI::at(t as u32), (c >> 32) as u32);
                }
                TLOAD => {
                    self.counters[t] = Counter { base: self.load_value(t), since: now };
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
            RTCCALICFG => {
                if !self.regs.write(off, v) {
                    return false;
                }
                let start = RTCCALICFG::START.on(v);
                self.cal_ready_at = None;
                let mut ready = start;
                if start {
                    self.regs.set(RTCCALICFG1, self.calibration(v));
                    if self.timed_calibration {
                        // RDY once MAX cycles of the measured clock have passed, as on silicon.
                        let max = RTCCALICFG::MAX.get(v) as u128;
                        let span = crate::time::cycles_to_ps(max, self.cal_clock_hz(v), Round::Up) as u64;
                        self.cal_ready_at = Some(now + span);
                        ready = false;
                    }
                }
                self.regs.set_field(RTCCALICFG, RTCCALICFG::RDY, ready as u32);
                true
            }
            _ => self.regs.write(off, v),
        }
    }
}


impl device::Device for Timg {
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        Timg::read(self, off, cx.now, cx.apb_hz)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        Timg::write(self, off, v, cx.now, cx.apb_hz)
    }

    /// Back to reset values, counting (the watchdog's flash boot stage) from `now`.
    fn reset_digital(&mut self, now: Ps) {
        let (xtal, slow, timed) = (self.xtal_hz, self.slow_hz, self.timed_calibration);
        *self = Timg::new(self.regs.name);
        (self.xtal_hz, self.slow_hz, self.timed_calibration) = (xtal, slow, timed);
        self.start_at(now, xtal);
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
            TCONFIG::LEVEL_INT_EN.on(self.cfg(0)),
            TCONFIG::LEVEL_INT_EN.on(self.cfg(1)),
            self.regs.on(WDTCONFIG0, WDTCONFIG0::LEVEL_INT_EN),
        ];
        let mut l = 0u32;
        for (i, &en) in level_en.iter().enumerate() {
            if st >> i & 1 != 0 && en {
                l |= 1 << i;
            }
            if let Some(at) = self.edge_at[i] {
                if now >= at && now < at + EDGE_PULSE_PS {
                    l |= 1 << (level_en.len() + i);
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
        let cfg = TCONFIG::EN.mask() | TCONFIG::INCREASE.mask() | TCONFIG::DIVIDER.val(80) | TCONFIG::LEVEL_INT_EN.mask() | TCONFIG::ALARM_EN.mask();
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
        assert_eq!(t.cfg(0) & TCONFIG::ALARM_EN.mask(), 0);
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
        t.write(0x24, TCONFIG::EN.mask() | TCONFIG::AUTORELOAD.mask() | TCONFIG::DIVIDER.val(2) | TCONFIG::EDGE_INT_EN.mask() | TCONFIG::ALARM_EN.mask(), 0, APB);
        let due = t.sync(0, APB).unwrap();
        assert_eq!(due, 100 * 25 * NS);
        t.sync(due, APB);
        assert_eq!(t.sources(due), 1 << 59, "edge line only (no LEVEL_INT_EN)");
        assert_eq!(t.sources(due + EDGE_PULSE_PS), 0, "the pulse ends");
        // Re-arm: the reloaded counter matches again 100 ticks later.
        t.write(0x24, TCONFIG::EN.mask() | TCONFIG::AUTORELOAD.mask() | TCONFIG::DIVIDER.val(2) | TCONFIG::EDGE_INT_EN.mask() | TCONFIG::ALARM_EN.mask(), due + 10 * NS, APB);
        assert_eq!(t.sync(due + 10 * NS, APB), Some(2 * due));
    }

    #[test]
    fn calibration_counts_the_boards_crystal_over_its_rc() {
        // IDF's rtc_clk_cal: one-shot, RC slow clock, MAX 1024: START cleared, then set.
        let cfg = 1024 << 16;
        let read_cal = |t: &mut Timg, now| (t.read(0x68, now, APB).unwrap() & 1 << 15 != 0, t.read(0x6C, now, APB).unwrap() >> 7);
        let mut t = timer();
        t.write(0x68, cfg, 0, APB);
        t.write(0x68, cfg | 1 << 31, 0, APB);
        assert_eq!(read_cal(&mut t, 0), (true, (1024 * 40_000_000u64 / 150_000) as u32), "nominal: ready at once");
        // A board whose RC runs 5 % slow and whose crystal is 10 ppm fast.
        let board = crate::timing::Timing { xtal_hz: 40_000_400, slow_hz: 142_500, timed_calibration: true, ..crate::timing::Timing::nominal() };
        t.set_timing(&board);
        t.write(0x68, cfg, 0, APB);
        t.write(0x68, cfg | 1 << 31, 0, APB);
        let span = 1024 * 1_000_000_000_000u64 / 142_500 + 1;
        assert!(!read_cal(&mut t, span - 1).0, "not ready before MAX slow cycles");
        assert_eq!(read_cal(&mut t, span), (true, (1024 * 40_000_400u64 / 142_500) as u32));
        // A digital reset keeps the board's clocks.
        device::Device::reset_digital(&mut t, span);
        assert_eq!((t.xtal_hz, t.slow_hz, t.timed_calibration), (40_000_400, 142_500, true));
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
        t.write(WDTCONFIG0, t.regs.get(WDTCONFIG0) & !WDTCONFIG0::FLASHBOOT_MOD_EN.mask(), 1000, 40_000_000);
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
        t.write(WDTCONFIG0, c0 & !WDTCONFIG0::EN.mask(), t0, APB);
        let c0 = (c0 & !(0xFF << 23)) | (7 << 18) | (7 << 15) | WDTCONFIG0::LEVEL_INT_EN.mask() | (1 << 29) | (3 << 27);
        t.write(WDTCONFIG0, c0, t0, APB);
        t.write(WDTCONFIG1, 40_000 << 16, t0, APB);
        t.write(WDTCONFIG2, 1, t0, APB);
        t.write(0x54, 1, t0, APB);
        t.write(WDTCONFIG0, c0 | WDTCONFIG0::EN.mask(), t0, APB);
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
        t.write(WDTCONFIG0, WDTCONFIG0::EN.mask() | (3 << 29), 0, APB);
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
