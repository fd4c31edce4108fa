//! A plain RAM-backed bus: a few byte regions at fixed addresses and nothing else.
//! Used to call ROM routines directly and to run generated test programs; anything
//! outside the regions is unmapped (the core raises LoadStoreError/InstrFetchError).

use crate::bus::{Bus, MemFault};
use crate::codecache::CodeCache;

pub struct Region {
    pub base: u32,
    pub data: Vec<u8>,
    pub writable: bool,
}

#[derive(Default)]
pub struct FlatBus {
    pub regions: Vec<Region>,
    pub cache: CodeCache,
    /// Region index of the last hit: most accesses fall in the same region.
    last: usize,
}

impl FlatBus {
    pub fn new() -> Self {
        FlatBus { regions: Vec::new(), cache: CodeCache::new(), last: 0 }
    }

    /// Maps `size` zeroed bytes at `base`.
    pub fn add_ram(&mut self, base: u32, size: usize) {
        self.regions.push(Region { base, data: vec![0; size], writable: true });
    }

    /// Maps a copy of `bytes` at `base`; `writable` false makes stores fault.
    pub fn add_region(&mut self, base: u32, bytes: &[u8], writable: bool) {
        self.regions.push(Region { base, data: bytes.to_vec(), writable });
    }

    /// Host-side copy into memory (no fault checks beyond mapping; invalidates code).
    pub fn load(&mut self, addr: u32, bytes: &[u8]) -> Result<(), MemFault> {
        for (i, b) in bytes.iter().enumerate() {
            let a = addr.wrapping_add(i as u32);
            let (r, off) = self.find(a, 1).ok_or(MemFault::Unmapped)?;
            self.regions[r].data[off] = *b;
        }
        self.cache.note_write(addr, bytes.len() as u32);
        Ok(())
    }

    /// Host-side read of `len` bytes.
    pub fn peek(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, MemFault> {
        (0..len).map(|i| self.read8(addr.wrapping_add(i as u32))).collect()
    }

    #[inline(always)]
    fn find(&mut self, addr: u32, size: u32) -> Option<(usize, usize)> {
        if let Some(r) = self.regions.get(self.last) {
            let off = addr.wrapping_sub(r.base) as usize;
            if off + size as usize <= r.data.len() {
                return Some((self.last, off));
            }
        }
        for (i, r) in self.regions.iter().enumerate() {
            let off = addr.wrapping_sub(r.base) as usize;
            if off + size as usize <= r.data.len() {
                self.last = i;
                return Some((i, off));
            }
        }
        None
    }

    #[inline(always)]
    fn read_n<const N: usize>(&mut self, addr: u32) -> Result<[u8; N], MemFault> {
        let (r, off) = self.find(addr, N as u32).ok_or(MemFault::Unmapped)?;
        let mut b = [0u8; N];
        b.copy_from_slice(&self.regions[r].data[off..off + N]);
        Ok(b)
    }

    #[inline(always)]
    fn write_n<const N: usize>(&mut self, addr: u32, b: [u8; N]) -> Result<(), MemFault> {
        let (r, off) = self.find(addr, N as u32).ok_or(MemFault::Unmapped)?;
        let reg = &mut self.regions[r];
        if !reg.writable {
            return Err(MemFault::AccessError);
        }
        reg.data[off..off + N].copy_from_slice(&b);
        self.cache.note_write(addr, N as u32);
        Ok(())
    }
}

impl Bus for FlatBus {
    #[inline(always)]
    fn read8(&mut self, addr: u32) -> Result<u8, MemFault> {
        Ok(self.read_n::<1>(addr)?[0])
    }
    #[inline(always)]
    fn read16(&mut self, addr: u32) -> Result<u16, MemFault> {
        Ok(u16::from_le_bytes(self.read_n(addr)?))
    }
    #[inline(always)]
    fn read32(&mut self, addr: u32) -> Result<u32, MemFault> {
        Ok(u32::from_le_bytes(self.read_n(addr)?))
    }
    #[inline(always)]
    fn write8(&mut self, addr: u32, val: u8) -> Result<(), MemFault> {
        self.write_n(addr, [val])
    }
    #[inline(always)]
    fn write16(&mut self, addr: u32, val: u16) -> Result<(), MemFault> {
        self.write_n(addr, val.to_le_bytes())
    }
    #[inline(always)]
    fn write32(&mut self, addr: u32, val: u32) -> Result<(), MemFault> {
        self.write_n(addr, val.to_le_bytes())
    }
    fn fetch(&mut self, addr: u32) -> Result<u32, MemFault> {
        let (r, off) = self.find(addr, 2).ok_or(MemFault::Unmapped)?;
        let d = &self.regions[r].data;
        let mut b = [0u8; 4];
        for (i, x) in b.iter_mut().enumerate() {
            *x = d.get(off + i).copied().unwrap_or(0);
        }
        Ok(u32::from_le_bytes(b))
    }
    #[inline(always)]
    fn code_cache(&mut self) -> &mut CodeCache {
        &mut self.cache
    }
}
