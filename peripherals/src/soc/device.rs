//! What every register block is to the SoC: a [`Device`]. The SoC's block table
//! (`soc/table.rs`, `blocks!`) names each block once — its 4 KiB slots, name and interrupt
//! sources — and generates from that line the MMIO dispatch, the digital reset, the
//! interrupt scan, the next-event query and the names `--strict` reports. The calls are
//! static (a `match` per access), so nothing in the hot path goes through a `dyn`.

use crate::reset::SysRequest;
use crate::regblock::RegBlock;
use crate::time::{Hz, Ps};


/// The context of one register access, and what the access asks of the SoC in return.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    /// Virtual time of the access.
    pub now: Ps,
    /// The APB clock (the clock of most blocks' counters).
    pub apb_hz: Hz,
    /// Which of the block's 4 KiB slots (its index from 0x3FF0_0000) the access is in.
    pub slot: u32,
    /// The interrupt sources raised now (bit n = source n), for the matrix's status words.
    pub sources: u128,
    /// Effects the access asks of the SoC (set by the device).
    pub effects: Effects,
}

/// What a register access asks of the SoC besides its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// End the running core's slice: the machine re-plans time (an interrupt edge, a clock
    /// or reset request, an event that starts now).
    pub end_slice: bool,
    /// The block's interrupt output may have changed: the core re-reads its lines.
    pub attention: bool,
    /// Decoded instructions in this address range are stale (start, length).
    pub invalidate_code: Option<(u32, u32)>,
    /// Flush this core's external-memory cache (hit/miss state).
    pub flush_cache: [bool; 2],
    /// CPU or APB clock selection may change when the slice ends: counters must count the
    /// time so far at the old rate.
    pub clocks: bool,
}

/// A register block on the peripheral bus.
pub trait Device {
    /// The word at `off` in slot `cx.slot`; None if no register is modelled there (the SoC
    /// reports it under `--strict`).
    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32>;
    /// Stores a word; false if no register is modelled there.
    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool;
    /// The digital (core) reset at `now`: back to reset values. Blocks of the RTC domain and
    /// eFuses keep their state (the machine resets the RTC domain itself).
    fn reset_digital(&mut self, now: Ps);
    /// Fires what is due by `now`; returns the virtual time of the next event, if any
    /// (the machine ends its run slice there). Resets it asks for go to `requests`.
    fn sync(&mut self, _now: Ps, _apb_hz: Hz, _requests: &mut Vec<SysRequest>) -> Option<Ps> {
        None
    }
    /// The next event of a block whose events happen lazily (nothing to fire: its state is
    /// brought up to date on access), if later than `now`. Asked when the machine plans a
    /// turn, not at every interrupt scan.
    fn next_event(&self, _now: Ps, _apb_hz: Hz) -> Option<Ps> {
        None
    }
    /// The block's interrupt lines now (bit i = the i-th source of its table line).
    fn lines(&self, _now: Ps) -> u32 {
        0
    }
    /// The register file of slot `slot` (the block's 4 KiB slot index), whose declaration
    /// says which bits a write may set unreported; None: the block declares none.
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        None
    }
}

/// A plain register file: faithful storage (IO_MUX and blocks configured but not behaving).
impl Device for RegBlock {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        RegBlock::read(self, off)
    }

    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        RegBlock::write(self, off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        self.reset();
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(self)
    }
}
