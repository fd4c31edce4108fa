//! Raising exceptions and taking interrupts.

use super::*;

impl Cpu {
    /// Takes a general exception (XEA2) for the instruction at `pc`.
    pub fn raise(&mut self, e: Exc, pc: u32) {
        self.exccause = e.cause;
        if let Some(v) = e.vaddr {
            self.excvaddr = v;
        }
        if self.ps & ps::EXCM != 0 {
            self.depc = pc;
            self.pc = self.vecbase.wrapping_add(vec::DOUBLE);
        } else {
            self.epc[1] = pc;
            let off = if self.ps & ps::UM != 0 { vec::USER } else { vec::KERNEL };
            self.ps |= ps::EXCM;
            self.pc = self.vecbase.wrapping_add(off);
        }
        self.next_event = 0;
    }

    /// Debug exception (BREAK, IBREAK, …) if not masked by PS.INTLEVEL.
    pub(super) fn debug_exception(&mut self, why: u32, pc: u32) -> bool {
        let level = self.config.debug_level;
        if (self.ps & ps::INTLEVEL) >= level {
            return false;
        }
        self.debugcause = why;
        self.epc[level as usize] = pc;
        self.eps[level as usize] = self.ps;
        self.ps = (self.ps & !ps::INTLEVEL) | ps::EXCM | level;
        self.pc = self.vecbase.wrapping_add(vec::LEVEL2 + (level - 2) * 0x40);
        self.next_event = 0;
        true
    }

    /// Effective interrupt mask level.
    #[inline(always)]
    pub(super) fn mask_level(&self) -> u32 {
        let il = self.ps & ps::INTLEVEL;
        if self.ps & ps::EXCM != 0 {
            il.max(self.config.excm_level)
        } else {
            il
        }
    }

    /// Takes the highest-priority pending, enabled interrupt above the mask level, if any.
    pub(super) fn check_interrupts(&mut self) -> bool {
        let pending = (self.pending() & self.intenable) | (self.interrupt & self.config.int_nmi);
        if pending == 0 {
            return false;
        }
        let mut best_level = 0u32;
        let mut bits = pending;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            best_level = best_level.max(self.config.int_level[i as usize] as u32);
        }
        let nmi = best_level == self.config.nmi_level;
        if !nmi && best_level <= self.mask_level() {
            return false;
        }
        self.waiting = false;
        if best_level == 1 {
            self.raise(Exc::new(cause::LEVEL1_INTERRUPT), self.pc);
        } else {
            let l = best_level as usize;
            if nmi {
                // NMI is edge-triggered: consumed when taken.
                self.interrupt &= !self.config.int_nmi;
            }
            self.epc[l] = self.pc;
            self.eps[l] = self.ps;
            self.ps = (self.ps & !ps::INTLEVEL) | ps::EXCM | best_level;
            self.pc = self.vecbase.wrapping_add(vec::LEVEL2 + (best_level - 2) * 0x40);
        }
        true
    }

    /// Updates the external interrupt lines (edge-type lines latch on a rising edge).
    pub fn set_irq_lines(&mut self, lines: u32) {
        let rising = lines & !self.irq_lines;
        self.interrupt |= rising & (self.config.int_edge | self.config.int_nmi);
        self.irq_lines = lines;
        self.next_event = 0;
    }

    /// Raises software-visible interrupt bits directly (used by tests and the SoC).
    pub fn assert_interrupt(&mut self, mask: u32) {
        self.interrupt |= mask;
        self.next_event = 0;
    }
}
