//! The run loop: budget, hooks, slow path, fetch and decode.

use super::*;

impl Cpu {
    /// Asks the next `run` to execute the instruction under the hook at `addr` instead of
    /// stopping there again.
    pub fn step_over_hook(&mut self, addr: u32) {
        self.resume_hook = Some(addr);
    }

    /// Runs until `max_cycles` more cycles have elapsed or a hook is reached.
    pub fn run<B: Bus>(&mut self, bus: &mut B, max_cycles: u64) -> Exit {
        self.budget_end = self.cycles.saturating_add(max_cycles);
        self.next_event = 0;
        self.resume(bus)
    }

    /// Continues a run that returned `Exit::Hook` or `Exit::BusStop`, with the same budget
    /// and without first re-reading interrupt lines or timers (`run` does): exactly as if
    /// the run had not stopped, so a host stopping there cannot change what runs when.
    pub fn resume<B: Bus>(&mut self, bus: &mut B) -> Exit {
        if self.halted {
            let n = self.budget_end.saturating_sub(self.cycles);
            self.advance_idle(n);
            return Exit::Budget;
        }
        if self.tracer.is_some() {
            self.run_inner::<B, true>(bus)
        } else {
            self.run_inner::<B, false>(bus)
        }
    }

    /// Executes exactly one instruction (or takes one pending interrupt).
    pub fn step<B: Bus>(&mut self, bus: &mut B) -> Exit {
        self.run(bus, 1)
    }

    /// Spin detection on taken backward branches (cheap: only branch targets are compared).
    #[inline(always)]
    pub(super) fn note_backward_branch(&mut self, target: u32) {
        if target == self.spin_target {
            self.spin_count = self.spin_count.saturating_add(1);
            if self.spin_count == SPIN_THRESHOLD {
                self.spin_addr = Some(self.last_load & !3);
            }
        } else {
            self.spin_target = target;
            self.spin_count = 0;
            self.spin_addr = None;
        }
    }

    /// The slow path: timers, interrupt lines, interrupts, WAITI, budget. Returns true when
    /// `run` must return.
    #[inline(never)]
    pub(super) fn slow_path<B: Bus>(&mut self, bus: &mut B) -> bool {
        self.fire_timers();
        let lines = bus.irq_lines(self.config.core_id);
        if lines != self.irq_lines {
            self.set_irq_lines(lines);
        }
        self.check_interrupts();
        if bus.end_slice() {
            return true;
        }
        while self.waiting {
            // Idle: skip to the next timer match or the end of the budget.
            let next_timer = *self.timer_due.iter().min().unwrap();
            let target = next_timer.min(self.budget_end);
            if target > self.cycles {
                self.cycles = target;
            }
            self.fire_timers();
            if self.check_interrupts() {
                break;
            }
            if self.cycles >= self.budget_end {
                return true;
            }
        }
        if self.cycles >= self.budget_end {
            return true;
        }
        let next_timer = *self.timer_due.iter().min().unwrap();
        self.next_event = next_timer.min(self.budget_end).min(bus.stop_at());
        false
    }

    #[inline(always)]
    pub(super) fn run_inner<B: Bus, const TRACE: bool>(&mut self, bus: &mut B) -> Exit {
        loop {
            if self.cycles >= self.next_event && self.slow_path(bus) {
                return Exit::Budget;
            }
            let pc = self.pc;
            let mut insn = bus.code_cache().get(pc);
            if insn.op == Op::Undecoded || insn.op == Op::Hook {
                if insn.op == Op::Hook || bus.code_cache().is_hook(pc) {
                    if self.resume_hook == Some(pc) {
                        self.resume_hook = None;
                        match self.fetch_decode(bus, pc) {
                            Ok(i) => insn = i,
                            Err(Trap::HostStop) => return Exit::BusStop(pc),
                            Err(Trap::Exc(e)) => {
                                self.raise(e, pc);
                                self.cycles += 1;
                                continue;
                            }
                        }
                    } else {
                        return Exit::Hook(pc);
                    }
                } else {
                    match self.fetch_decode(bus, pc) {
                        Ok(i) => {
                            bus.code_cache().insert(pc, i);
                            insn = i;
                        }
                        Err(Trap::HostStop) => return Exit::BusStop(pc),
                        Err(Trap::Exc(e)) => {
                            self.raise(e, pc);
                            self.cycles += 1;
                            continue;
                        }
                    }
                }
            }
            // Window overflow check (ISA 4.7.1.3): an instruction that references a register
            // in a window still owned by a live older frame first spills that frame.
            if insn.wq != 0 && self.ps & (ps::WOE | ps::EXCM) == ps::WOE {
                let need = if insn.wq == WQ_ENTRY {
                    (((self.ps & ps::CALLINC) >> ps::CALLINC_SHIFT) * 4 + (insn.s as u32 & 3)) >> 2
                } else {
                    insn.wq as u32
                };
                let above = (self.windowstart | (self.windowstart << 16)) >> ((self.windowbase & 15) + 1);
                if above & ((1 << need) - 1) != 0 && self.window_check(pc, need) {
                    self.cycles += 1;
                    continue;
                }
            }
            if pc & !31 != self.fetch_line {
                self.fetch_line = pc & !31;
                self.cycles += bus.fetch_line(self.config.core_id, pc);
            }
            if TRACE {
                if let Some(mut t) = self.tracer.take() {
                    t(self, pc, insn);
                    self.tracer = Some(t);
                }
            }
            self.cycles += 1;
            match self.execute(bus, insn, pc) {
                Ok(None) => {
                    let next = pc.wrapping_add(insn.len as u32);
                    self.pc = next;
                    if next == self.lend && self.lcount != 0 && self.ps & ps::EXCM == 0 {
                        self.lcount -= 1;
                        self.pc = self.lbeg;
                    }
                    self.instret += 1;
                }
                Ok(Some(target)) => {
                    self.pc = target;
                    self.instret += 1;
                    if target <= pc {
                        self.note_backward_branch(target);
                    }
                }
                Err(Trap::HostStop) => {
                    self.cycles -= 1;
                    return Exit::BusStop(pc);
                }
                Err(Trap::Exc(e)) => self.raise(e, pc),
            }
        }
    }

    pub(super) fn fetch_decode<B: Bus>(&self, bus: &mut B, pc: u32) -> Result<Insn, Trap> {
        if (self.iprot >> (pc >> 29)) & 1 != 0 {
            return Err(Exc::mem(cause::INST_FETCH_PROHIBITED, pc).into());
        }
        match bus.fetch(pc) {
            Ok(w) => Ok(decode(w, pc)),
            Err(MemFault::Stop) => Err(Trap::HostStop),
            Err(MemFault::Prohibited) => Err(Exc::mem(cause::INST_FETCH_PROHIBITED, pc).into()),
            Err(_) => Err(Exc::mem(cause::INSTR_FETCH_ERROR, pc).into()),
        }
    }
}
