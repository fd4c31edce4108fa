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

#[derive(Clone, Copy, Default)]
#[derive(serde::Serialize, serde::Deserialize)]
struct Timer {
    load: u32,
    /// Count at `since` (ps).
    base: u32,
    since: u64,
    ctrl: u32,
    alarm: u32,
    irq: bool,
    /// Virtual time of the next alarm match (FRC2), if enabled.
    due: Option<u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Frc {
    t: [Timer; 2],
}

impl Default for Frc {
    fn default() -> Self {
        Self::new()
    }
}

impl Frc {
    pub fn new() -> Frc {
        Frc { t: [Timer::default(); 2] }
    }

    fn div(ctrl: u32) -> u64 {
        match (ctrl >> 1) & 7 {
            0 | 1 => 1,
            2 | 3 => 16,
            _ => 256,
        }
    }

    fn ticks(t: &Timer, now: u64, apb: u64) -> u64 {
        if t.ctrl & (1 << 7) == 0 {
            return 0;
        }
        ((now.saturating_sub(t.since)) as u128 * apb as u128 / (1_000_000_000_000u128 * Self::div(t.ctrl) as u128)) as u64
    }

    fn count(&self, i: usize, now: u64, apb: u64) -> u32 {
        let t = &self.t[i];
        let n = Self::ticks(t, now, apb) as u32;
        if i == 0 {
            t.base.wrapping_sub(n)
        } else {
            t.base.wrapping_add(n)
        }
    }

    fn rebase(&mut self, i: usize, now: u64, apb: u64) {
        let c = self.count(i, now, apb);
        self.t[i].base = c;
        self.t[i].since = now;
    }

    /// Recomputes when FRC2's alarm fires next.
    fn schedule(&mut self, now: u64, apb: u64) {
        let c = self.count(1, now, apb);
        let t = &mut self.t[1];
        t.due = None;
        if t.ctrl & (1 << 7) != 0 {
            let d = t.alarm.wrapping_sub(c) as u64;
            let d = if d == 0 { 1 << 32 } else { d };
            let ps = (d as u128 * Self::div(t.ctrl) as u128 * 1_000_000_000_000u128).div_ceil(apb as u128) as u64;
            t.due = Some(now + ps);
        }
    }

    /// Fires due alarms; returns the next event time.
    pub fn sync(&mut self, now: u64, apb: u64) -> Option<u64> {
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
        (self.t[0].irq as u128) << 56 | (self.t[1].irq as u128) << 57
    }

    pub fn read(&mut self, off: u32, now: u64, apb: u64) -> Option<u32> {
        self.sync(now, apb);
        let i = (off >= 0x20) as usize;
        Some(match off & 0x1F {
            0x00 => self.t[i].load,
            0x04 => self.count(i, now, apb),
            0x08 => self.t[i].ctrl | ((self.t[i].irq as u32) << 8),
            0x0C => 0,
            0x10 if i == 1 => self.t[1].alarm,
            _ => return None,
        })
    }

    pub fn write(&mut self, off: u32, v: u32, now: u64, apb: u64) -> bool {
        self.sync(now, apb);
        let i = (off >= 0x20) as usize;
        match off & 0x1F {
            0x00 => {
                self.t[i].load = v;
                self.t[i].base = v;
                self.t[i].since = now;
            }
            0x04 => {}
            0x08 => {
                self.rebase(i, now, apb);
                self.t[i].ctrl = v & 0xFF;
            }
            0x0C => self.t[i].irq = false,
            0x10 if i == 1 => self.t[1].alarm = v,
            _ => return false,
        }
        if i == 1 {
            self.schedule(now, apb);
        }
        true
    }
}
