//! The bus a core runs on. The SoC (peripherals crate) and the plain-RAM [`crate::FlatBus`]
//! implement it; the core is generic over it so memory accesses inline into the interpreter.

use crate::codecache::CodeCache;

/// Why a bus access failed. The core turns it into the Xtensa exception the silicon raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemFault {
    /// Nothing answers at this address: LoadStoreError / InstrFetchError.
    Unmapped,
    /// The memory exists but not for this kind of access (e.g. byte loads from IRAM on the
    /// ESP32): LoadStoreError.
    AccessError,
    /// Forbidden by region protection: LoadProhibited / StoreProhibited / InstFetchProhibited.
    Prohibited,
    /// Not a guest fault: the host must look at this access before it happens (e.g. to
    /// report an unmodelled register with the PC). The core stops with `Exit::BusStop`
    /// without executing the instruction; running again retries it.
    Stop,
}

/// Memory and external-register interface of one or more cores.
///
/// Writes must call [`CodeCache::note_write`] for every executable alias of the bytes
/// written, so decoded instructions never go stale (the bus knows the aliases; the core
/// does not).
pub trait Bus {
    fn read8(&mut self, addr: u32) -> Result<u8, MemFault>;
    fn read16(&mut self, addr: u32) -> Result<u16, MemFault>;
    fn read32(&mut self, addr: u32) -> Result<u32, MemFault>;
    fn write8(&mut self, addr: u32, val: u8) -> Result<(), MemFault>;
    fn write16(&mut self, addr: u32, val: u16) -> Result<(), MemFault>;
    fn write32(&mut self, addr: u32, val: u32) -> Result<(), MemFault>;
    /// Instruction fetch: the (up to) four bytes at `addr`, little-endian. Only the first
    /// two or three are used. Bytes past the end of a region may read as zero.
    fn fetch(&mut self, addr: u32) -> Result<u32, MemFault>;
    /// The decoded-instruction cache shared by every core on this bus.
    fn code_cache(&mut self) -> &mut CodeCache;
    /// RER: read an external (ERI) register.
    fn rer(&mut self, _addr: u32) -> Result<u32, MemFault> {
        Err(MemFault::Unmapped)
    }
    /// WER: write an external (ERI) register.
    fn wer(&mut self, _addr: u32, _val: u32) -> Result<(), MemFault> {
        Err(MemFault::Unmapped)
    }
    /// Called before every data access with the running core's cycle counter, so devices
    /// see exact virtual time inside a run slice. A no-op for plain memory.
    #[inline(always)]
    fn set_cycles(&mut self, _cycles: u64) {}
    /// Polled after every store: true when device state changed in a way the core must
    /// look at now (interrupt lines, a stop request). Cleared by the call.
    #[inline(always)]
    fn take_attention(&mut self) -> bool {
        false
    }
    /// Checked on the core's slow path: true ends the current `run` early (e.g. the clock
    /// configuration changed and the host must re-plan time).
    #[inline(always)]
    fn end_slice(&mut self) -> bool {
        false
    }
    /// Absolute cycle (of the running core) at which the current `run` should end, if the
    /// bus wants it to end early (`u64::MAX`: no such wish). Consulted on the slow path.
    #[inline(always)]
    fn stop_at(&mut self) -> u64 {
        u64::MAX
    }
    /// Called when core `core` starts fetching from a new 32-byte line at `pc`: the cycles
    /// the fetch stalls it (an instruction-cache miss).
    #[inline(always)]
    fn fetch_line(&mut self, _core: u8, _pc: u32) -> u64 {
        0
    }
    /// Data-side stall cycles core `core` owes (cache misses of loads and stores), taken
    /// right after each load and store.
    #[inline(always)]
    fn take_stall(&mut self, _core: u8) -> u64 {
        0
    }
    /// Level of the external interrupt lines of core `core`, as a mask over the core's
    /// 32 interrupt numbers (only external-type bits are used).
    #[inline(always)]
    fn irq_lines(&mut self, _core: u8) -> u32 {
        0
    }
}
