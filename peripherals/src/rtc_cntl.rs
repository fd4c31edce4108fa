//! RTC_CNTL (0x3FF4_8000) with RTCIO (+0x400) and SENS (+0x800): reset cause, clock
//! selection, store registers, the RTC timer and the RTC watchdog's configuration.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 | OPTIONS0 | bit 31 SW_SYS_RST, bit 30 DG_WRAP_FORCE_RST: request a system reset |
//! | 0x0C | TIME_UPDATE | write bit 31: latch the RTC timer into TIME0/1; bit 30 VALID reads 1 |
//! | 0x10/0x14 | TIME0/TIME1 | latched 48-bit RTC slow-clock count |
//! | 0x34 | RESET_STATE | [5:0] PRO CPU reset cause, [11:6] APP CPU reset cause |
//! | 0x70 | CLK_CONF | [28:27] SOC_CLK_SEL (0 XTAL, 1 PLL, 2 CK8M, 3 APLL) |
//! | 0x8C..0xA4 | WDTCONFIG0..4, WDTFEED, WDTWPROTECT | stored |
//! | 0x4C..0x58, 0xB0..0xBC | STORE0..7 | survive resets other than power-on |
//! | everything else in 0x00..0xFC | stored |
//! | 0x400..0x4C8 | RTCIO | stored |
//! | 0x800..0x8FC | SENS | stored; SAR_MEAS_START done bits read set |

use crate::regblock::{rw, rw_array, RegBlock, RegDef};

pub const RESET_STATE: u32 = 0x34;
pub const CLK_CONF: u32 = 0x70;
pub const TIME_UPDATE: u32 = 0x0C;
/// RTC slow clock: the internal 150 kHz RC oscillator.
pub const SLOW_CLK_HZ: u64 = 150_000;
/// The internal 8 MHz oscillator (its eFuse calibration byte, BLK0_RDATA4[7:0], is in
/// units of 100 kHz: the ROM's XTAL detection relies on that).
pub const CK8M_HZ: u64 = 8_000_000;

fn defs() -> Vec<RegDef> {
    let mut d = Vec::new();
    rw_array(&mut d, 0x00, 64, 0, "RTC_CNTL");
    // A few non-zero reset values that code reads back.
    d.retain(|r| !matches!(r.off, 0x70 | 0xFC | 0x7C | 0x34));
    d.push(rw(0x70, 0x0000_2210, "CLK_CONF"));
    d.push(rw(0x7C, 0xB920_0000, "REG"));
    d.push(RegDef { off: 0x34, reset: 0x3000 | 1 | (1 << 6), wmask: 0x3000, name: "RESET_STATE" });
    d.push(rw(0xFC, 0x0160_4280, "DATE"));
    rw_array(&mut d, 0x400, 51, 0, "RTCIO");
    rw_array(&mut d, 0x800, 64, 0, "SENS");
    d
}

pub struct RtcCntl {
    pub regs: RegBlock,
}

impl Default for RtcCntl {
    fn default() -> Self {
        Self::new()
    }
}

impl RtcCntl {
    pub fn new() -> RtcCntl {
        RtcCntl { regs: RegBlock::new("RTC_CNTL", 0x1000, defs()) }
    }

    /// Sets the reset cause both cores will read (1 power-on, 12 SW CPU, 7 TG0 WDT, …).
    pub fn set_reset_cause(&mut self, pro: u32, app: u32) {
        let v = self.regs.get(RESET_STATE) & !0xFFF;
        self.regs.set(RESET_STATE, v | (pro & 0x3F) | ((app & 0x3F) << 6));
    }

    pub fn soc_clk_sel(&self) -> u32 {
        (self.regs.get(CLK_CONF) >> 27) & 3
    }

    pub fn read(&mut self, off: u32) -> Option<u32> {
        match off {
            TIME_UPDATE => Some(self.regs.get(off) | (1 << 30)),
            // SENS SAR measurement "done" bits: conversions complete at once.
            0x854 | 0x894 => Some(self.regs.get(off) | (1 << 16)),
            _ => self.regs.read(off),
        }
    }

    /// Returns Some(true) when the write requests a system reset.
    pub fn write(&mut self, off: u32, v: u32, now_ps: u64) -> Option<bool> {
        if off == TIME_UPDATE && v & (1 << 31) != 0 {
            let ticks = (now_ps as u128 * SLOW_CLK_HZ as u128 / 1_000_000_000_000) as u64;
            self.regs.set(0x10, ticks as u32);
            self.regs.set(0x14, ((ticks >> 32) & 0xFFFF) as u32);
        }
        if !self.regs.write(off, v) {
            return None;
        }
        Some(off == 0 && v & (1 << 31) != 0)
    }
}
