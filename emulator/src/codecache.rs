//! Decoded-instruction cache: decode once per address, invalidate on writes to code.
//!
//! Pages of 4 KiB, one [`Insn`] per byte address (Xtensa instructions are 2 or 3 bytes at
//! any byte alignment). A page exists only once code was decoded in it, so a store into a
//! page that never held code costs one table lookup. Host hooks (stop addresses,
//! breakpoints) are planted as [`Op::Hook`] entries and survive invalidation.

use crate::decode::{Insn, Op};

pub const PAGE_BITS: u32 = 12;
pub const PAGE_SIZE: usize = 1 << PAGE_BITS;
const PAGE_MASK: u32 = (PAGE_SIZE as u32) - 1;

pub type Page = [Insn; PAGE_SIZE];

const NUM_PAGES: usize = 1 << (32 - PAGE_BITS);

pub struct CodeCache {
    /// Fixed size, so indexing by `pc >> PAGE_BITS` needs no bounds check.
    pages: Box<[Option<Box<Page>>; NUM_PAGES]>,
    /// Indices of pages created since the last `clear` (with repeats), so `clear` visits
    /// those rather than all 2^20 slots: a guest stuck in a reset loop clears on every reset.
    live: Vec<u32>,
    hooks: Vec<u32>,
    /// Bumped on every invalidation, so a core holding a page pointer knows to drop it.
    pub generation: u64,
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CodeCache {
    pub fn new() -> Self {
        // A zeroed allocation: the kernel hands out zero pages lazily, so the 8 MiB table costs
        // nothing until code is decoded in a page (every machine built — each power cycle,
        // each campaign cut — used to write it all).
        // SAFETY: all-zero bits are `None` for `Option<Box<_>>` (the null-pointer niche is
        // guaranteed by the language), so every element is initialised.
        let pages = unsafe { Box::<[Option<Box<Page>>]>::new_zeroed_slice(NUM_PAGES).assume_init() };
        let pages: Box<[Option<Box<Page>>; NUM_PAGES]> = pages.try_into().expect("NUM_PAGES entries");
        CodeCache { pages, live: Vec::new(), hooks: Vec::new(), generation: 0 }
    }

    /// The cached decoding at `pc`, or an `Undecoded` entry.
    #[inline(always)]
    pub fn get(&self, pc: u32) -> Insn {
        match &self.pages[(pc >> PAGE_BITS) as usize] {
            Some(p) => p[(pc & PAGE_MASK) as usize],
            None => Insn::default(),
        }
    }

    /// Pointer to the page holding `pc`, if any code was decoded there. Valid until
    /// `generation` changes.
    #[inline(always)]
    pub fn page_ptr(&self, pc: u32) -> Option<*const Insn> {
        self.pages[(pc >> PAGE_BITS) as usize].as_ref().map(|p| p.as_ptr())
    }

    /// Stores a decoding; a hooked address keeps its hook.
    pub fn insert(&mut self, pc: u32, insn: Insn) {
        let insn = if self.hooks.contains(&pc) { Insn { op: Op::Hook, ..insn } } else { insn };
        let idx = pc >> PAGE_BITS;
        if self.pages[idx as usize].is_none() {
            self.note_live(idx);
        }
        let page = self.pages[idx as usize].get_or_insert_with(|| Box::new([Insn::default(); PAGE_SIZE]));
        page[(pc & PAGE_MASK) as usize] = insn;
    }

    fn note_live(&mut self, idx: u32) {
        if self.live.len() >= 1 << 16 {
            // Code rewritten over and over (pages dropped and re-created): keep the list to
            // the pages that exist.
            let pages = &self.pages;
            self.live.retain(|&i| pages[i as usize].is_some());
            self.live.sort_unstable();
            self.live.dedup();
        }
        self.live.push(idx);
    }

    /// Must be called for every byte range written that may hold code.
    #[inline(always)]
    pub fn note_write(&mut self, addr: u32, len: u32) {
        let first = addr.wrapping_sub(2) >> PAGE_BITS;
        let last = addr.wrapping_add(len.max(1) - 1) >> PAGE_BITS;
        if self.pages[first as usize].is_some() || self.pages[last as usize].is_some() {
            self.invalidate(addr, len);
        }
    }

    /// Forgets decoded instructions overlapping `[addr, addr+len)` (including instructions
    /// that start up to two bytes before and run into it).
    pub fn invalidate(&mut self, addr: u32, len: u32) {
        let start = addr.wrapping_sub(2) >> PAGE_BITS;
        let end = addr.wrapping_add(len.max(1) - 1) >> PAGE_BITS;
        let mut p = start;
        loop {
            if self.pages[p as usize].take().is_some() {
                self.generation += 1;
            }
            if p == end {
                break;
            }
            p = p.wrapping_add(1) & ((1 << (32 - PAGE_BITS)) - 1);
        }
    }

    /// Forgets everything (e.g. after the flash MMU was reprogrammed wholesale).
    pub fn clear(&mut self) {
        for i in std::mem::take(&mut self.live) {
            self.pages[i as usize] = None;
        }
        self.generation += 1;
    }

    /// Plants a hook: the core stops with `Exit::Hook(addr)` before executing `addr`.
    pub fn add_hook(&mut self, addr: u32) {
        if !self.hooks.contains(&addr) {
            self.hooks.push(addr);
        }
        self.invalidate(addr, 1);
    }

    pub fn remove_hook(&mut self, addr: u32) {
        self.hooks.retain(|&a| a != addr);
        self.invalidate(addr, 1);
    }

    pub fn is_hook(&self, addr: u32) -> bool {
        self.hooks.contains(&addr)
    }
}

/// A snapshot keeps the hooks only: decodings are a function of memory and are made again.
impl serde::Serialize for CodeCache {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.hooks.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for CodeCache {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let hooks = Vec::<u32>::deserialize(d)?;
        Ok(CodeCache { hooks, ..CodeCache::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn() -> Insn {
        Insn { op: Op::Nop, len: 3, ..Insn::default() }
    }

    #[test]
    fn clear_forgets_every_page_and_keeps_hooks() {
        let mut c = CodeCache::new();
        c.add_hook(0x4008_0010);
        for pc in [0x4000_0000, 0x4008_0010, 0x4008_0020, 0xFFFF_F000, 0] {
            c.insert(pc, insn());
        }
        // Pages dropped and re-created many times over (self-modifying code).
        for _ in 0..70_000 {
            c.invalidate(0x400A_0000, 4);
            c.insert(0x400A_0000, insn());
        }
        c.clear();
        for pc in [0x4000_0000, 0x4008_0020, 0xFFFF_F000, 0, 0x400A_0000] {
            assert_eq!(c.get(pc).op, Op::Undecoded, "{pc:#x}");
        }
        assert!(c.is_hook(0x4008_0010));
        c.insert(0x4008_0010, insn());
        assert_eq!(c.get(0x4008_0010).op, Op::Hook);
        assert!(c.live.len() <= 2, "{}", c.live.len());
    }
}
