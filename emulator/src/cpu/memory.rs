//! Loads and stores with alignment and protection checks.

use super::*;

impl Cpu {
    #[inline(always)]
    pub(super) fn load_fault(&self, f: MemFault, addr: u32) -> Trap {
        match f {
            MemFault::Stop => Trap::HostStop,
            MemFault::Prohibited => Exc::mem(cause::LOAD_PROHIBITED, addr).into(),
            _ => Exc::mem(cause::LOAD_STORE_ERROR, addr).into(),
        }
    }

    #[inline(always)]
    pub(super) fn store_fault(&self, f: MemFault, addr: u32) -> Trap {
        match f {
            MemFault::Stop => Trap::HostStop,
            MemFault::Prohibited => Exc::mem(cause::STORE_PROHIBITED, addr).into(),
            _ => Exc::mem(cause::LOAD_STORE_ERROR, addr).into(),
        }
    }

    #[inline(always)]
    pub(super) fn check_load(&self, addr: u32, align: u32) -> Result<(), Exc> {
        if (self.dprot >> (addr >> 29)) & 1 != 0 {
            return Err(Exc::mem(cause::LOAD_PROHIBITED, addr));
        }
        if self.config.unaligned_exception && addr & (align - 1) != 0 {
            return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
        }
        Ok(())
    }

    #[inline(always)]
    pub(super) fn check_store(&self, addr: u32, align: u32) -> Result<(), Exc> {
        if (self.dprot >> (addr >> 29)) & 1 != 0 {
            return Err(Exc::mem(cause::STORE_PROHIBITED, addr));
        }
        if self.config.unaligned_exception && addr & (align - 1) != 0 {
            return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
        }
        Ok(())
    }

    #[inline(always)]
    pub fn load8<B: Bus>(&mut self, bus: &mut B, addr: u32) -> Result<u8, Trap> {
        self.check_load(addr, 1)?;
        self.last_load = addr;
        bus.set_cycles(self.cycles);
        let v = bus.read8(addr).map_err(|f| self.load_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        Ok(v)
    }

    #[inline(always)]
    pub fn load16<B: Bus>(&mut self, bus: &mut B, addr: u32) -> Result<u16, Trap> {
        self.check_load(addr, 2)?;
        self.last_load = addr;
        bus.set_cycles(self.cycles);
        let v = bus.read16(addr).map_err(|f| self.load_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        Ok(v)
    }

    #[inline(always)]
    pub fn load32<B: Bus>(&mut self, bus: &mut B, addr: u32) -> Result<u32, Trap> {
        self.check_load(addr, 4)?;
        self.last_load = addr;
        bus.set_cycles(self.cycles);
        let v = bus.read32(addr).map_err(|f| self.load_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        Ok(v)
    }

    #[inline(always)]
    pub fn store8<B: Bus>(&mut self, bus: &mut B, addr: u32, v: u8) -> Result<(), Trap> {
        self.check_store(addr, 1)?;
        self.spin_count = 0;
        self.spin_addr = None;
        bus.set_cycles(self.cycles);
        bus.write8(addr, v).map_err(|f| self.store_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        if bus.take_attention() {
            self.next_event = 0;
        }
        Ok(())
    }

    #[inline(always)]
    pub fn store16<B: Bus>(&mut self, bus: &mut B, addr: u32, v: u16) -> Result<(), Trap> {
        self.check_store(addr, 2)?;
        self.spin_count = 0;
        self.spin_addr = None;
        bus.set_cycles(self.cycles);
        bus.write16(addr, v).map_err(|f| self.store_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        if bus.take_attention() {
            self.next_event = 0;
        }
        Ok(())
    }

    #[inline(always)]
    pub fn store32<B: Bus>(&mut self, bus: &mut B, addr: u32, v: u32) -> Result<(), Trap> {
        self.check_store(addr, 4)?;
        self.spin_count = 0;
        self.spin_addr = None;
        bus.set_cycles(self.cycles);
        bus.write32(addr, v).map_err(|f| self.store_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        if bus.take_attention() {
            self.next_event = 0;
        }
        Ok(())
    }
}
