//! CCOUNT, CCOMPARE timers and skipping idle time.

use super::*;

impl Cpu {
    pub(super) fn recompute_timers(&mut self) {
        let now = self.ccount();
        for i in 0..3 {
            let delta = self.ccompare[i].wrapping_sub(now) as u64;
            let delta = if delta == 0 { 1 << 32 } else { delta };
            self.timer_due[i] = self.cycles + delta;
        }
        self.next_event = 0;
    }

    /// Cycle of the next CCOMPARE match (for host-side fast paths that skip time).
    pub fn next_timer_due(&self) -> u64 {
        *self.timer_due.iter().min().unwrap()
    }

    /// True when an interrupt is pending that the core would take now.
    pub fn interrupt_ready(&self) -> bool {
        let pending = (self.pending() & self.intenable) | (self.interrupt & self.config.int_nmi);
        let mut bits = pending;
        let mut best = 0u32;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            best = best.max(self.config.int_level[i as usize] as u32);
        }
        best != 0 && (best == self.config.nmi_level || best > self.mask_level())
    }

    /// Skips `cycles` cycles of a busy-wait loop the host has proven to have no other effect
    /// (see the fast paths in the SoC), never past `next_check`: the run then goes on (`resume`)
    /// exactly as if it had executed them, timers and interrupts looked at when they would have been.
    pub fn skip_cycles(&mut self, cycles: u64) {
        debug_assert!(self.cycles + cycles <= self.next_check());
        self.cycles += cycles;
        self.instret += cycles;
    }

    /// Cycle at which the current run next looks at timers, interrupt lines and its budget.
    pub fn next_check(&self) -> u64 {
        self.next_event
    }

    /// Advances time without executing (a core in reset, or idle in WAITI).
    pub fn advance_idle(&mut self, cycles: u64) {
        self.cycles += cycles;
        self.fire_timers();
    }

    pub(super) fn fire_timers(&mut self) {
        for i in 0..3 {
            while self.cycles >= self.timer_due[i] {
                self.interrupt |= 1 << self.config.timer_int[i];
                self.timer_due[i] += 1 << 32;
            }
        }
    }
}
