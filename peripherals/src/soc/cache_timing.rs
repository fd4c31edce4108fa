//! Timing of the two external-memory caches (one per core, TRM §3.3.2 "Cache"): what a
//! flash or PSRAM access costs when its 32-byte line is not cached. Contents come from
//! `soc/mod.rs` as before (the cache is transparent to data); this module only decides hit or
//! miss and how many CPU cycles a line fill stalls the core that asked.
//!
//! Geometry: 32 KiB per core, two-way set associative, 32-byte lines (512 sets), no
//! prefetch; a fill reads one line over SPI0. Replacement: least recently used of the two
//! ways. Tags are virtual line addresses (the MMU maps 64 KiB pages; IDF flushes the cache
//! whenever it changes a mapping it has used, so virtual tags behave like physical ones).
//!
//! | register (read by `soc/mod.rs`) | field | use |
//! |---|---|---|
//! | DPORT PRO/APP_CACHE_CTRL | 4 FLUSH_ENA | writing 1 empties that core's cache |
//! | SPI0 CLOCK (0x18) | 31 CLK_EQU_SYSCLK; [30:18] CLKDIV_PRE, [17:12] CLKCNT_N | SPI clock = APB or APB / ((pre+1)(n+1)) |
//! | SPI0 CTRL (0x08) | 24 FREAD_QIO, 23 FREAD_DIO, 20 FREAD_QUAD, 14 FREAD_DUAL | data lines (and address lines for QIO/DIO) of a flash line fill |
//! | SPI0 USER (0x1C) / USER1 (0x20) | 29 USR_DUMMY; [31:26] ADDR_BITLEN, [7:0] DUMMY_CYCLELEN | address and dummy phases of a flash fill |
//! | SPI0 CACHE_SCTRL (0x54) | 2 SRAM_QIO, 4 USR_RD_SRAM_DUMMY, [27:22] SRAM_ADDR_BITLEN, [21:14] SRAM_DUMMY_CYCLELEN | PSRAM fill phases |
//! | SPI0 SRAM_DRD_CMD (0x5C) | [31:28] command bits − 1 | PSRAM read command length |
//!
//! When the stall is charged: an instruction fill when a core starts fetching from a new
//! line (`Bus::fetch_line`), a data fill (DROM, literals in IROM, PSRAM) as soon as the load
//! or store returns (`Bus::take_stall`).
//!
//! Not modelled: the two cores' fills queueing for SPI0 at the same moment (each core is
//! charged its own fill only), write-back of dirty PSRAM lines, and the other core's cache
//! serving PSRAM lines under DRAM_HL / DRAM_SPLIT (lines are looked up in the accessing
//! core's cache).

use crate::spi::{CACHE_SCTRL, CLOCK, CTRL, SRAM_DRD_CMD, USER, USER1};
use crate::time::Hz;

/// Sets per core: 32 KiB / 32-byte lines / 2 ways.
const SETS: usize = 512;
const LINE_SHIFT: u32 = 5;
/// Empty way.
const INVALID: u32 = u32::MAX;
/// SPI clocks the cache controller adds to a fill besides the transfer itself (CS set-up
/// and hold, the request crossing into the SPI clock domain), nominally; a board's own is
/// in `Timing` (`timing.rs`).
#[cfg(test)]
const FILL_OVERHEAD_CLOCKS: u64 = crate::timing::FILL_OVERHEAD_CLOCKS;

/// Which external memory a line comes from: they take different SPI0 transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum Target {
    Flash,
    Psram,
}

/// The shape of one SPI0 line read: clocks per phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct FillShape {
    pub spi_hz: Hz,
    pub clocks: u64,
}

/// Both cores' tag arrays and the stalls owed to each core.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CacheTiming {
    tags: Vec<[u32; 2]>,
    /// Per set: which way was used last (the other one is replaced next).
    #[serde(with = "serde_bytes")]
    mru: Vec<u8>,
    /// Data-side stall cycles a core has incurred but not yet been charged.
    owed: [u64; 2],
    pub hits: [u64; 2],
    pub misses: [u64; 2],
    enabled: bool,
}

impl Default for CacheTiming {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheTiming {
    pub fn new() -> CacheTiming {
        CacheTiming { tags: vec![[INVALID; 2]; 2 * SETS], mru: vec![0; 2 * SETS], owed: [0; 2], hits: [0; 2], misses: [0; 2], enabled: true }
    }

    /// Whether misses cost time at all (`--no-cache-timing` turns it off for comparisons).
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Looks the line holding `addr` up in `core`'s cache and fills it on a miss. Returns
    /// true on a hit.
    #[inline]
    pub fn access(&mut self, core: usize, addr: u32) -> bool {
        let line = addr >> LINE_SHIFT;
        let set = core * SETS + (line as usize & (SETS - 1));
        let ways = &mut self.tags[set];
        if ways[0] == line {
            self.mru[set] = 0;
            self.hits[core] += 1;
            return true;
        }
        if ways[1] == line {
            self.mru[set] = 1;
            self.hits[core] += 1;
            return true;
        }
        let victim = 1 - self.mru[set] as usize;
        ways[victim] = line;
        self.mru[set] = victim as u8;
        self.misses[core] += 1;
        false
    }

    /// Empties `core`'s cache (DPORT FLUSH_ENA, a CPU or system reset).
    pub fn flush(&mut self, core: usize) {
        for w in &mut self.tags[core * SETS..(core + 1) * SETS] {
            *w = [INVALID; 2];
        }
    }

    /// Records a data-side stall for `core`, charged when the access returns.
    #[inline]
    pub fn owe(&mut self, core: usize, cycles: u64) {
        self.owed[core] += cycles;
    }

    /// Takes the data-side stall `core` owes.
    #[inline]
    pub fn take_owed(&mut self, core: usize) -> u64 {
        std::mem::take(&mut self.owed[core])
    }
}

/// SPI0's clock from its CLOCK register and the APB clock.
pub fn spi_hz(clock_reg: u32, apb_hz: Hz) -> Hz {
    if CLOCK::CLK_EQU_SYSCLK.on(clock_reg) {
        return apb_hz;
    }
    let pre = CLOCK::CLKDIV_PRE.get(clock_reg) as u64 + 1;
    let n = CLOCK::CLKCNT_N.get(clock_reg) as u64 + 1;
    apb_hz / (pre * n)
}

/// SPI clocks of a 32-byte flash line read with SPI0's current read mode, `overhead`
/// clocks of CS and hand-over included.
pub fn flash_fill_clocks(ctrl: u32, user: u32, user1: u32, overhead: u64) -> u64 {
    let (addr_lines, data_lines) = if CTRL::FREAD_QIO.on(ctrl) {
        (4, 4)
    } else if CTRL::FREAD_DIO.on(ctrl) {
        (2, 2)
    } else if CTRL::FREAD_QUAD.on(ctrl) {
        (1, 4)
    } else if CTRL::FREAD_DUAL.on(ctrl) {
        (1, 2)
    } else {
        (1, 1)
    };
    let addr_bits = USER1::ADDR_BITLEN.get(user1) as u64 + 1;
    let dummy = if USER::DUMMY.on(user) { USER1::DUMMY_CYCLELEN.get(user1) as u64 + 1 } else { 0 };
    8 + addr_bits.div_ceil(addr_lines) + dummy + 256 / data_lines + overhead
}

/// SPI clocks of a 32-byte PSRAM line read with SPI0's cache-to-SRAM settings, `overhead`
/// as for flash.
pub fn psram_fill_clocks(cache_sctrl: u32, drd_cmd: u32, overhead: u64) -> u64 {
    let lines = sram_lines(cache_sctrl) as u64;
    let cmd_bits = if CACHE_SCTRL::USR_RCMD.on(cache_sctrl) { SRAM_DRD_CMD::BITLEN.get(drd_cmd) as u64 + 1 } else { 8 };
    let addr_bits = CACHE_SCTRL::SRAM_ADDR_BITLEN.get(cache_sctrl) as u64 + 1;
    let dummy = if CACHE_SCTRL::USR_RD_SRAM_DUMMY.on(cache_sctrl) {
        CACHE_SCTRL::SRAM_DUMMY_CYCLELEN.get(cache_sctrl) as u64 + 1
    } else {
        0
    };
    cmd_bits.div_ceil(lines) + addr_bits.div_ceil(lines) + dummy + 256 / lines + overhead
}

/// The data lines SPI0's cache uses towards the PSRAM (CACHE_SCTRL: QIO, DIO or one).
pub fn sram_lines(cache_sctrl: u32) -> u32 {
    if CACHE_SCTRL::SRAM_QIO.on(cache_sctrl) {
        4
    } else if CACHE_SCTRL::SRAM_DIO.on(cache_sctrl) {
        2
    } else {
        1
    }
}

/// CPU cycles a fill of `clocks` SPI clocks at `spi_hz` stalls a core running at `cpu_hz`.
pub fn stall_cycles(clocks: u64, spi_hz: Hz, cpu_hz: Hz) -> u64 {
    (clocks * cpu_hz).div_ceil(spi_hz.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_ways_then_least_recently_used_is_replaced() {
        let mut c = CacheTiming::new();
        let a = 0x400D_0000;
        let b = a + (SETS as u32) * 32; // same set
        let d = b + (SETS as u32) * 32; // same set again
        assert!(!c.access(0, a));
        assert!(c.access(0, a + 31), "same line");
        assert!(!c.access(0, b));
        assert!(c.access(0, a));
        assert!(!c.access(0, d), "third line in the set");
        assert!(c.access(0, a), "a was used more recently than b");
        assert!(!c.access(0, b), "b was evicted");
        assert!(!c.access(1, a), "the other core has its own cache");
        c.flush(0);
        assert!(!c.access(0, a));
        assert!(c.access(1, a));
    }

    #[test]
    fn fill_times_follow_the_spi0_mode() {
        // 80 MHz DIO (IDF bootloader: CLK_EQU_SYSCLK, FREAD_DIO, 28 address bits incl. the
        // mode byte nibble, no dummy): 8 + 14 + 128 + overhead.
        let dio = flash_fill_clocks(1 << 23, 0, 27 << 26, FILL_OVERHEAD_CLOCKS);
        assert_eq!(dio, 8 + 14 + 128 + FILL_OVERHEAD_CLOCKS);
        assert_eq!(spi_hz(1 << 31, 80_000_000), 80_000_000);
        // 40 MHz: APB / 2.
        assert_eq!(spi_hz(1 << 12 | 1 << 6, 80_000_000), 40_000_000);
        // QIO: 32 address+mode bits on four lines, 4 dummy clocks.
        let qio = flash_fill_clocks(1 << 24, 1 << 29, 31 << 26 | 3, FILL_OVERHEAD_CLOCKS);
        assert_eq!(qio, 8 + 8 + 4 + 64 + FILL_OVERHEAD_CLOCKS);
        assert!(qio < dio);
        // 154 clocks at 80 MHz from a 160 MHz core: 308 cycles.
        assert_eq!(stall_cycles(154, 80_000_000, 160_000_000), 308);
        // PSRAM in QPI: 8 command bits and 24 address bits on four lines, 6 dummy clocks.
        let ps = psram_fill_clocks(1 << 2 | 1 << 5 | 1 << 4 | 23 << 22 | 5 << 14, 7 << 28, FILL_OVERHEAD_CLOCKS);
        assert_eq!(ps, 2 + 6 + 6 + 64 + FILL_OVERHEAD_CLOCKS);
    }
}
