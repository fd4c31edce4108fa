//! Fast paths for hot ROM busy-waits. A fast path only skips whole loop iterations that
//! provably change nothing but time, so registers, memory, CCOUNT and every later output
//! are identical to interpreting the ROM code (a test compares both; `--no-fastpath` turns
//! them off).
//!
//! `ets_delay_us` (ROM 0x40008534):
//! ```text
//! loop: call8 xthal_get_ccount   ; entry a1,16 / rsr.ccount a2 / retw.n
//!       sub   a10, a10, a3       ; elapsed = ccount - start
//!       bltu  a10, a2, loop      ; until elapsed >= ticks
//! ```
//! Six instructions (cycles) per iteration; CCOUNT is read by the third. Iteration 0 runs
//! interpreted (its CALL8/ENTRY may spill a window); later iterations are identical, so the
//! ones that would loop back are skipped in one step.

use emulator::Cpu;

/// A recognised busy-wait loop head in the ROM.
#[derive(Clone, Copy, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DelayLoop {
    /// Address of the loop's first instruction (the CALL8).
    pub head: u32,
    /// Instructions per iteration.
    pub period: u64,
    /// Cycle offset, within an iteration, of the CCOUNT read (counting the CALL8 as 1).
    pub read_at: u64,
}

/// `ets_delay_us`'s loop in the ESP32 rev0 ROM, located by symbol so a different ROM
/// simply gets no fast path.
pub fn ets_delay_us(rom: &images::rom::Rom) -> Option<DelayLoop> {
    let f = rom.sym("ets_delay_us")?;
    let g = rom.sym("xthal_get_ccount")?;
    // Check the code is what this fast path assumes before trusting it.
    let img = rom.image();
    let at = |a: u32| img.get((a - images::rom::ROM_BASE) as usize..(a - images::rom::ROM_BASE) as usize + 3);
    let head = f + 0x10;
    let call = at(head)?;
    let target = emulator::decode(u32::from_le_bytes([call[0], call[1], call[2], 0]), head);
    if target.op != emulator::Op::Call8 || target.imm != g {
        return None;
    }
    Some(DelayLoop { head, period: 6, read_at: 3 })
}

/// Per-core memory of the last loop-head visit: (pc, start register) — iteration 0 must
/// have run before anything is skipped.
#[derive(Default, Clone, Copy)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Seen {
    last: Option<(u32, u32)>,
}

impl DelayLoop {
    /// Called with the core stopped at `head`. Returns the cycles skipped (a multiple of
    /// the period), never past `limit` (absolute cycle) or the run's next look at timers and
    /// interrupts, so the core continues exactly as if it had run them.
    pub fn apply(&self, cpu: &mut Cpu, seen: &mut Seen, limit: u64) -> u64 {
        let start = cpu.ar(3);
        let ticks = cpu.ar(2);
        let key = (self.head, start);
        if seen.last != Some(key) {
            seen.last = Some(key);
            return 0;
        }
        if cpu.interrupt_ready() || ticks > u32::MAX - 64 {
            return 0;
        }
        let read = cpu.ccount().wrapping_add(self.read_at as u32);
        let elapsed = read.wrapping_sub(start);
        if elapsed >= ticks {
            return 0;
        }
        // Iterations that will still loop back after this one.
        let needed = ((ticks - elapsed) as u64).div_ceil(self.period);
        let bound = limit.min(cpu.next_timer_due()).min(cpu.next_check()).saturating_sub(cpu.cycles) / self.period;
        let n = needed.min(bound);
        let skip = n * self.period;
        if skip > 0 {
            cpu.skip_cycles(skip);
        }
        skip
    }
}
