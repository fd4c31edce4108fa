//! Register windows: ENTRY, RETW, CALLn, overflow and underflow checks.

use super::*;

impl Cpu {
    /// WINDOWSTART rotated so that bit 0 is the current window.
    #[inline(always)]
    pub(super) fn ws_rotated(&self) -> u32 {
        let ws = self.windowstart | (self.windowstart << 16);
        (ws >> self.windowbase) & 0xFFFF
    }

    #[inline(always)]
    pub(super) fn rotate_window(&mut self, delta: i32) {
        self.windowbase = (self.windowbase as i32 + delta) as u32 & 0xF;
    }

    /// Window overflow check for a frame needing windows `1..=n` above the current one
    /// (ENTRY with CALLINC = n). Takes the overflow exception and returns true if a live
    /// frame is in the way.
    pub(super) fn window_check(&mut self, pc: u32, n: u32) -> bool {
        // WINDOWSTART replicated so the frames above the current one, wrapping round to
        // it, appear as consecutive bits starting at WINDOWBASE + 1.
        let ws = (self.windowstart | (self.windowstart << 16)) >> (self.windowbase + 1);
        if ws & ((1 << n) - 1) == 0 {
            return false;
        }
        // The lowest live window above us is the frame to spill; its size is the distance
        // to the next live window above it.
        let k = ws.trailing_zeros() + 1;
        let owb = self.windowbase;
        self.rotate_window(k as i32);
        let off = match (ws >> k).trailing_zeros() {
            0 => vec::WINDOW_OVERFLOW4,
            1 => vec::WINDOW_OVERFLOW8,
            _ => vec::WINDOW_OVERFLOW12,
        };
        self.ps = (self.ps & !ps::OWB) | (owb << ps::OWB_SHIFT) | ps::EXCM;
        self.epc[1] = pc;
        self.pc = self.vecbase.wrapping_add(off);
        self.next_event = 0;
        true
    }

    pub(super) fn op_entry(&mut self, insn: Insn, pc: u32) -> Flow {
        let callinc = (self.ps & ps::CALLINC) >> ps::CALLINC_SHIFT;
        if insn.s > 3 || self.ps & (ps::WOE | ps::EXCM) != ps::WOE {
            return Err(Exc::new(cause::ILLEGAL).into());
        }
        if self.window_check(pc, callinc) {
            return Ok(Some(self.pc));
        }
        let sp = self.a(insn.s).wrapping_sub(insn.imm);
        self.set_a((callinc * 4) as u8 + insn.s, sp);
        self.rotate_window(callinc as i32);
        self.windowstart |= 1 << self.windowbase;
        Ok(None)
    }

    pub(super) fn op_retw(&mut self, pc: u32) -> Flow {
        let a0 = self.a(0);
        let n = a0 >> 30;
        let target = (pc & 0xC000_0000) | (a0 & 0x3FFF_FFFF);
        let ws = self.ws_rotated();
        // Distance (in 4-register units) to the caller's frame as WINDOWSTART records it.
        let m = if ws & (1 << 15) != 0 {
            1
        } else if ws & (1 << 14) != 0 {
            2
        } else if ws & (1 << 13) != 0 {
            3
        } else {
            0
        };
        if n == 0 || (m != 0 && m != n) || self.ps & (ps::WOE | ps::EXCM) != ps::WOE {
            return Err(Exc::new(cause::ILLEGAL).into());
        }
        let owb = self.windowbase;
        self.rotate_window(-(n as i32));
        if self.windowstart & (1 << self.windowbase) != 0 {
            self.windowstart &= !(1 << owb);
            Ok(Some(target))
        } else {
            // The caller's registers were spilled: underflow exception, re-executes RETW.
            self.ps = (self.ps & !ps::OWB) | (owb << ps::OWB_SHIFT) | ps::EXCM;
            self.epc[1] = pc;
            let off = match n {
                1 => vec::WINDOW_UNDERFLOW4,
                2 => vec::WINDOW_UNDERFLOW8,
                _ => vec::WINDOW_UNDERFLOW12,
            };
            self.next_event = 0;
            Ok(Some(self.vecbase.wrapping_add(off)))
        }
    }

    #[inline(always)]
    pub(super) fn op_call(&mut self, n: u32, next: u32, target: u32) -> Flow {
        if n > 0 {
            self.set_a((n * 4) as u8, (n << 30) | (next & 0x3FFF_FFFF));
            self.ps = (self.ps & !ps::CALLINC) | (n << ps::CALLINC_SHIFT);
        } else {
            self.set_a(0, next);
        }
        Ok(Some(target))
    }
}
