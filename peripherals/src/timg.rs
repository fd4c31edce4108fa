//! Timer groups TIMG0/TIMG1 (0x3FF5_F000 / 0x3FF6_0000): two 64-bit timers each, the
//! main-system watchdog and the RTC slow-clock calibration unit.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 / 0x24 | TnCONFIG | 31 EN, 30 INCREASE, 29 AUTORELOAD, [28:13] DIVIDER, 10 ALARM_EN |
//! | 0x04,0x08 / 0x28,0x2C | TnLO, TnHI | value latched by TnUPDATE |
//! | 0x0C / 0x30 | TnUPDATE | write: latch the running count |
//! | 0x10,0x14 / 0x34,0x38 | TnALARMLO/HI | |
//! | 0x18,0x1C / 0x3C,0x40 | TnLOADLO/HI | |
//! | 0x20 / 0x44 | TnLOAD | write: load the counter |
//! | 0x48..0x5C | WDTCONFIG0..5 | stored (timeouts: later work) |
//! | 0x60 | WDTFEED | |
//! | 0x64 | WDTWPROTECT | |
//! | 0x68 | RTCCALICFG | 31 START, [30:16] MAX, 15 RDY (set when START is written), [14:13] CLK_SEL (0 RC 150 kHz, 1 CK8M/256, 2 32 kHz XTAL), 12 START_CYCLING (reset 1: continuous) |
//! | 0x6C | RTCCALICFG1 | [31:7] XTAL cycles counted over MAX slow cycles |
//! | 0x70..0x94 | LACT* | stored |
//! | 0x98..0xA4 | INT_ENA/RAW/ST/CLR | |
//! | 0xF8 | NTIMERS_DATE | |
//! | 0xFC | CLK | |

use crate::regblock::{ro, rw, rw_array, RegBlock, RegDef};

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
    d.push(rw(0x48, 0x0004_C000, "WDTCONFIG0"));
    d.push(rw(0x4C, 1, "WDTCONFIG1"));
    d.push(rw(0x50, 26_000_000, "WDTCONFIG2"));
    d.push(rw(0x54, 0x7FF_FFFF, "WDTCONFIG3"));
    d.push(rw(0x58, 0xF_FFFF, "WDTCONFIG4"));
    d.push(rw(0x5C, 0xF_FFFF, "WDTCONFIG5"));
    d.push(rw(0x60, 0, "WDTFEED"));
    d.push(rw(0x64, 0x50D8_3AA1, "WDTWPROTECT"));
    d.push(rw(0x68, 0x0001_3000, "RTCCALICFG"));
    d.push(ro(0x6C, 0, "RTCCALICFG1"));
    rw_array(&mut d, 0x70, 10, 0, "LACT");
    d.push(rw(0x98, 0, "INT_ENA"));
    d.push(ro(0x9C, 0, "INT_RAW"));
    d.push(ro(0xA0, 0, "INT_ST"));
    d.push(rw(0xA4, 0, "INT_CLR"));
    d.push(ro(0xF8, 0x1604_2900, "NTIMERS_DATE"));
    d.push(rw(0xFC, 0, "CLK"));
    d
}

/// Running state of one 64-bit timer: value = base + (now − since) · rate.
#[derive(Clone, Copy, Default)]
struct Counter {
    base: u64,
    since: u64,
}

pub struct Timg {
    pub regs: RegBlock,
    counters: [Counter; 2],
}

impl Timg {
    pub fn new(name: &'static str) -> Timg {
        Timg { regs: RegBlock::new(name, 0x100, defs()), counters: [Counter::default(); 2] }
    }

    fn divider(&self, t: usize) -> u64 {
        let d = (self.regs.get(t as u32 * 0x24) >> 13) & 0xFFFF;
        match d {
            0 => 65536,
            1 => 2,
            n => n as u64,
        }
    }

    fn count(&self, t: usize, now: u64, apb_hz: u64) -> u64 {
        let cfg = self.regs.get(t as u32 * 0x24);
        let c = self.counters[t];
        if cfg & (1 << 31) == 0 {
            return c.base;
        }
        let ticks = ((now - c.since.min(now)) as u128 * apb_hz as u128
            / (1_000_000_000_000u128 * self.divider(t) as u128)) as u64;
        if cfg & (1 << 30) != 0 {
            c.base.wrapping_add(ticks)
        } else {
            c.base.wrapping_sub(ticks)
        }
    }

    /// Re-bases a running counter (before its configuration changes).
    fn rebase(&mut self, t: usize, now: u64, apb_hz: u64) {
        let v = self.count(t, now, apb_hz);
        self.counters[t] = Counter { base: v, since: now };
    }

    /// Re-bases both timers before the APB clock changes, so time so far counts at the old rate.
    pub fn rebase_all(&mut self, now: u64, apb_hz: u64) {
        for t in 0..2 {
            self.rebase(t, now, apb_hz);
        }
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

    pub fn read(&mut self, off: u32) -> Option<u32> {
        let cfg = self.regs.get(0x68);
        match off {
            // START_CYCLING (bit 12, set at reset): the unit calibrates continuously.
            0x6C if cfg & (1 << 12) != 0 => Some(Self::calibration(cfg)),
            0x68 if cfg & (1 << 12) != 0 => Some(cfg | (1 << 15)),
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32, now: u64, apb_hz: u64) -> bool {
        let t = if (0x24..0x48).contains(&off) { 1 } else { 0 };
        let local = off - t as u32 * 0x24;
        if off < 0x48 {
            match local {
                0x00 => {
                    self.rebase(t, now, apb_hz);
                    return self.regs.write(off, v);
                }
                0x0C => {
                    let c = self.count(t, now, apb_hz);
                    self.regs.set(t as u32 * 0x24 + 4, c as u32);
                    self.regs.set(t as u32 * 0x24 + 8, (c >> 32) as u32);
                    return true;
                }
                0x20 => {
                    let lo = self.regs.get(t as u32 * 0x24 + 0x18) as u64;
                    let hi = self.regs.get(t as u32 * 0x24 + 0x1C) as u64;
                    self.counters[t] = Counter { base: lo | hi << 32, since: now };
                    return true;
                }
                _ => {}
            }
        }
        if off == 0x68 {
            if !self.regs.write(off, v) {
                return false;
            }
            if v & (1 << 31) != 0 {
                self.regs.set(0x6C, Self::calibration(v));
                self.regs.set(0x68, self.regs.get(0x68) | (1 << 15));
            } else {
                self.regs.set(0x68, self.regs.get(0x68) & !(1 << 15));
            }
            return true;
        }
        self.regs.write(off, v)
    }
}
