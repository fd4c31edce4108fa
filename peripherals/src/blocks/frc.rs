//! FRC timers (0x3FF4_7000): two legacy 32-bit timers on the APB clock. ESP-IDF 3.x's
//! `esp_timer` runs on FRC2 (free-running up-counter with an alarm); FRC1 counts down.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 / 0x20 | FRCn_LOAD | value loaded into the counter on write |
//! | 0x04 / 0x24 | FRCn_COUNT | current count (FRC1 down, FRC2 up) |
//! | 0x08 / 0x28 | FRCn_CTRL | 7 enable, 6 autoload, [3:1] prescaler (0: /1, 2: /16, 4: /256), 0 level interrupt; 8 interrupt status (read) |
//! | 0x0C / 0x2C | FRCn_INT | write 1: clear the interrupt |
//! | 0x30 | FRC2_ALARM | FRC2 interrupts when the count reaches it |
//!
//! Interrupt sources: FRC1 = 56 (TIMER1), FRC2 = 57 (TIMER2).

use crate::device::{self, Access};
use crate::reset::SysRequest;
use crate::time::{cycles_to_ps, ps_to_cycles, Hz, Ps, Round};
use crate::regblock::RegBlock;

crate::regs! {
    /// The FRC timers (ESP8266-era "FRC1/FRC2", undocumented in the ESP32 TRM; IDF 3.x
    /// `frc_timer_reg.h`). FRC1 at 0x00, FRC2 at 0x20; the state lives in `Timer`.
    pub static REGS: "FRC", 0x100;
    0x00 LOAD[2 by 0x20] rw 0 modelled;
    0x04 COUNT[2 by 0x20] ro 0 modelled;
    0x08 CTRL[2 by 0x20] rw 0 stored {
        INT_STATUS 8 modelled;
        ENABLE 7 modelled;
        /// Reload from LOAD when FRC1 reaches zero: not modelled.
        AUTOLOAD 6 unmodelled;
        PRESCALER 3:1 modelled;
        /// Level (1) or edge interrupt: the line is a level here.
        LEVEL_INT 0 stored;
    };
    0x0C INT[2 by 0x20] wo 0 modelled;
    0x30 ALARM rw 0 modelled;
}

/// The FRC2 registers' distance from FRC1's.
const FRC2: u32 = LOAD::STRIDE;
#[derive(Clone, Copy, Default)]
#[derive(serde::Serialize, serde::Deserialize)]
struct Timer {
    load: u32,
    /// Count at `since` (ps).
    base: u32,
    since: Ps,
    ctrl: u32,
    alarm: u32,
    irq: bool,
    /// Virtual time of the next alarm match (FRC2), if enabled.
    due: Option<u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Frc {
    t: [Timer; 2],
    /// The declaration, for the bits `--strict` reports (the state is in `t`).
    #[serde(skip, default = "declared")]
    decl: RegBlock,
}

fn declared() -> RegBlock {
    RegBlock::new("FRC", &REGS)
}

impl Default for Frc {
    fn default() -> Self {
        Self::new()
    }
}

impl Frc {
    pub fn new() -> Frc {
        Frc { t: [Timer::default(); 2], decl: declared() }
    }

    fn div(ctrl: u32) -> u64 {
        match CTRL::PRESCALER.get(ctrl) {
            0 | 1 => 1,
            2 | 3 => 16,
            _ => 256,
        }
    }

    fn ticks(t: &Timer, now: Ps, apb: Hz) -> u64 {
        if !CTRL::ENABLE.on(t.ctrl) {
            return 0;
        }
        (ps_to_cycles(now.saturating_sub(t.since) as u128, apb, Round::Down) / Self::div(t.ctrl) as u128) as u64
    }

    fn count(&self, i: usize, now: Ps, apb: Hz) -> u32 {
        let t = &self.t[i];
        let n = Self::ticks(t, now, apb) as u32;
        if i == 0 {
            t.base.wrapping_sub(n)
        } else {
            t.base.wrapping_add(n)
        }
    }

    fn rebase(&mut self, i: usize, now: Ps, apb: Hz) {
        let c = self.count(i, now, apb);
        self.t[i].base = c;
        self.t[i].since = now;
    }

    /// Recomputes when FRC2's alarm fires next.
    fn schedule(&mut self, now: Ps, apb: Hz) {
        let c = self.count(1, now, apb);
        let t = &mut self.t[1];
        t.due = None;
        if CTRL::ENABLE.on(t.ctrl) {
            let d = t.alarm.wrapping_sub(c) as u64;
            // Equal now: the next match is a full wrap away.
            let d = if d == 0 { u32::MAX as u64 + 1 } else { d };
            let ps = cycles_to_ps(d as u128 * Self::div(t.ctrl) as u128, apb, Round::Up) as u64;
            t.due = Some(now + ps);
        }
    }

    /// Fires due alarms; returns the next event time.
    pub fn sync(&mut self, now: Ps, apb: Hz) -> Option<Ps> {
        if let Some(d) = self.t[1].due {
            if now >= d {
                self.t[1].irq = true;
                self.schedule(d.max(now), apb);
            }
        }
        self.t[1].due
    }

    /// Interrupt source lines (bit 56 = FRC1, 57 = FRC2).
    pub fn sources(&self) -> u128 {
        crate::source::spread(device::Device::lines(self, 0), crate::soc::table::sources_of("FRC"))
    }

    pub fn read(&mut self, off: u32, now: Ps, apb: Hz) -> Option<u32> {
        self.sync(now, apb);
        let i = (off >= FRC2) as usize;
        Some(match off % FRC2 {
            LOAD => self.t[i].load,
            COUNT => self.count(i, now, apb),
            CTRL => CTRL::INT_STATUS.set(self.t[i].ctrl, self.t[i].irq as u32),
            INT => 0,
            r if i == 1 && r == ALARM - FRC2 => self.t[1].alarm,
            _ => return None,
        })
    }

    pub fn write(&mut self, off: u32, v: u32, now: Ps, apb: Hz) -> bool {
        self.sync(now, apb);
        let i = (off >= FRC2) as usize;
        match off % FRC2 {
            LOAD => {
                self.t[i].load = v;
                self.t[i].base = v;
                self.t[i].since = now;
            }
            COUNT => {}
            CTRL => {
                self.rebase(i, now, apb);
                // The configuration bits, below INT_STATUS.
                self.t[i].ctrl = v & (CTRL::INT_STATUS.mask() - 1);
            }
            INT => self.t[i].irq = false,
            r if i == 1 && r == ALARM - FRC2 => self.t[1].alarm = v,
            _ => return false,
        }
        if i == 1 {
            self.schedule(now, apb);
        }
        true
    }
}

impl device::Device for Frc {
    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        Frc::read(self, off, cx.now, cx.apb_hz)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        Frc::write(self, off, v, cx.now, cx.apb_hz)
    }

    fn reset_digital(&mut self, _now: Ps) {
        *self = Frc::new();
    }

    fn sync(&mut self, now: Ps, apb_hz: Hz, _requests: &mut Vec<SysRequest>) -> Option<Ps> {
        Frc::sync(self, now, apb_hz).filter(|&t| t > now)
    }

    /// TIMER1 (FRC1), TIMER2 (FRC2).
    fn lines(&self, _now: Ps) -> u32 {
        self.t[0].irq as u32 | (self.t[1].irq as u32) << 1
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.decl)
    }
}
