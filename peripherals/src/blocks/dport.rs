//! DPORT (0x3FF0_0000): APP CPU control, CPU clock period, cache control, the flash MMU
//! tables (0x3FF1_0000 PRO, 0x3FF1_2000 APP), cross-CPU interrupts and the interrupt
//! matrix that routes the 69 peripheral sources to each core's 32 interrupt inputs.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x000..0x028 | BOOT_REMAP, ACCESS_CHECK, APB masks, PERI_CLK/RST, WIFI_BB_CFG | stored |
//! | 0x02C | APPCPU_CTRL_A | bit 0 APPCPU_RESETTING (reset value 1) |
//! | 0x030 | APPCPU_CTRL_B | bit 0 clock gate enable |
//! | 0x034 | APPCPU_CTRL_C | bit 0 run-stall |
//! | 0x038 | APPCPU_CTRL_D | boot address |
//! | 0x03C | CPU_PER_CONF | [1:0] CPUPERIOD_SEL (0 80, 1 160, 2 240 MHz on PLL) |
//! | 0x040 / 0x058 | PRO/APP_CACHE_CTRL | bit 3 enable, bit 4 FLUSH_ENA, bit 5 FLUSH_DONE |
//! | 0x044 / 0x05C | PRO/APP_CACHE_CTRL1 | masks, MMU_IA_CLR |
//! | 0x048..0x0D8 | cache lock/debug, MEM_PD, ROM/SRAM PD/FO, AHB/TAG ctrl | stored |
//! | 0x0DC..0x0E8 | CPU_INTR_FROM_CPU_0..3 | bit 0 drives sources 24..27 |
//! | 0x0EC..0x100 | PRO/APP_INTR_STATUS_0..2 | raw source status |
//! | 0x104..0x214 | PRO_*_INTR_MAP (source n at 0x104 + 4n) | [4:0] CPU interrupt number |
//! | 0x218..0x328 | APP_*_INTR_MAP (source n at 0x218 + 4n) | |
//! | 0x3F0 / 0x418 | PRO/APP_DCACHE_DBUG0 | [18:7] CACHE_STATE reads 1 (idle): cache fills complete at once |
//! | 0x32C..0x5A4 | MPU, MMU_IA, cache IA, PRO/APP_CPU_RECORD, etc. | stored |
//! | 0xFFC | DATE | |
//! | 0x1_0000.. | PRO flash/SRAM MMU table (4 bytes per 64 KiB page, [8] invalid) | |
//! | 0x1_2000.. | APP MMU table | |

use crate::device::{self, Access};
use crate::time::Ps;
use crate::regblock::{Field, RegBlock};

pub const NUM_SOURCES: u32 = 69;
/// Entries per core MMU table (flash pages, then PSRAM pages).
pub const MMU_ENTRIES: usize = 2048;
/// The MMU tables' first 4 KiB slot (0x3FF1_0000: PRO's 2048 entries, then APP's).
pub const MMU_SLOT: u32 = 16;
/// An MMU entry: the page it maps, and the invalid flag (an entry's reset value).
pub const MMU_PAGE: Field = Field::bits(7, 0);
pub const MMU_INVALID: Field = Field::bits(8, 8);
/// Bytes an instruction-bus MMU page maps (64 KiB), and the first such entry of a table
/// (entries 64..256 map 0x4000_0000 + 64 KiB * (n - 64)).
const MMU_PAGE_BYTES: u32 = 64 * 1024;
const IBUS_ENTRIES: std::ops::Range<usize> = 64..256;

crate::regs! {
    /// DPORT (TRM "DPort Register"), as far as the model knows it.
    pub static REGS: "DPORT", 0x1000;
    /// Everything in 0x000..0x5A4 not named below: stored (clock gates, resets, power-down
    /// flags, MPU and cache debug: nothing to model).
    0x000 DPORT[362] rw 0 stored;
    0x02C APPCPU_CTRL_A rw 1 stored {
        APPCPU_RESETTING 0 modelled;
    };
    0x030 APPCPU_CTRL_B rw 0 stored {
        APPCPU_CLKGATE_EN 0 modelled;
    };
    0x034 APPCPU_CTRL_C rw 0 stored {
        APPCPU_RUNSTALL 0 modelled;
    };
    0x038 APPCPU_CTRL_D rw 0 modelled;
    0x03C CPU_PER_CONF rw 0 stored {
        CPUPERIOD_SEL 1:0 modelled;
    };
    0x040 PRO_CACHE_CTRL rw 0x10 stored {
        DRAM_HL 16 modelled;
        DRAM_SPLIT 11 modelled;
        FLUSH_DONE 5 modelled;
        FLUSH_ENA 4 modelled;
        CACHE_ENABLE 3 modelled;
    };
    0x044 PRO_CACHE_CTRL1 rw 0x0000_08FF stored {
        CMMU_SRAM_PAGE_MODE 8:6 modelled;
        MASK_DRAM1 3 modelled;
    };
    0x058 APP_CACHE_CTRL rw 0x10 stored {
        DRAM_HL 14 modelled;
        DRAM_SPLIT 11 modelled;
        FLUSH_DONE 5 modelled;
        FLUSH_ENA 4 modelled;
        CACHE_ENABLE 3 modelled;
    };
    0x05C APP_CACHE_CTRL1 rw 0x0000_08FF stored {
        CMMU_SRAM_PAGE_MODE 8:6 modelled;
        MASK_DRAM1 3 modelled;
    };
    /// Cross-CPU interrupts: bit 0 drives sources 24..27.
    0x0DC FROM_CPU0[4] rw 0 stored {
        INTR 0 modelled;
    };
    /// The raw source status words (PRO 0..2, APP 0..2).
    0x0EC PRO_INTR_STATUS[3] ro 0 modelled;
    0x0F8 APP_INTR_STATUS[3] ro 0 modelled;
    /// Source n's interrupt map at PRO_MAP0 + 4n.
    0x104 PRO_MAP0[69] rw 16 stored {
        CPU_INT 4:0 modelled;
    };
    0x218 APP_MAP0[69] rw 16 stored {
        CPU_INT 4:0 modelled;
    };
    0x3F0 PRO_DCACHE_DBUG0 rw 0 stored {
        /// Idle: cache fills complete at once.
        CACHE_STATE 18:7 modelled;
    };
    0x418 APP_DCACHE_DBUG0 rw 0 stored {
        CACHE_STATE 18:7 modelled;
    };
    0xFFC DATE ro 0x1605_0500 stored;
}

/// CACHE_STATE when the cache is idle.
const CACHE_IDLE: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Dport {
    pub regs: RegBlock,
    /// MMU tables of the PRO and APP caches.
    pub mmu: [Vec<u32>; 2],
}

impl Default for Dport {
    fn default() -> Self {
        Self::new()
    }
}

impl Dport {
    pub fn new() -> Dport {
        let invalid = MMU_INVALID.mask();
        Dport { regs: RegBlock::new("DPORT", &REGS), mmu: [vec![invalid; MMU_ENTRIES], vec![invalid; MMU_ENTRIES]] }
    }

    /// CPU interrupt number of `source` on `core`.
    pub fn map(&self, core: usize, source: u32) -> u32 {
        let off = if core == 0 { PRO_MAP0::at(source) } else { APP_MAP0::at(source) };
        PRO_MAP0::CPU_INT.get(self.regs.get(off))
    }



    pub fn cache_enabled(&self, core: usize) -> bool {
        let off = if core == 0 { PRO_CACHE_CTRL } else { APP_CACHE_CTRL };
        PRO_CACHE_CTRL::CACHE_ENABLE.on(self.regs.get(off))
    }

    pub fn read(&self, off: u32, status: u128) -> Option<u32> {
        match off {
            _ if (PRO_INTR_STATUS..APP_INTR_STATUS::at(APP_INTR_STATUS::COUNT)).contains(&off) => {
                let word = (off - PRO_INTR_STATUS) / PRO_INTR_STATUS::STRIDE % PRO_INTR_STATUS::COUNT;
                Some((status >> (u32::BITS * word)) as u32)
            }
            PRO_DCACHE_DBUG0 | APP_DCACHE_DBUG0 => Some(PRO_DCACHE_DBUG0::CACHE_STATE.set(self.regs.get(off), CACHE_IDLE)),
            PRO_CACHE_CTRL | APP_CACHE_CTRL => {
                let v = self.regs.get(off);
                // Flush completes at once: FLUSH_DONE follows FLUSH_ENA.
                Some(PRO_CACHE_CTRL::FLUSH_DONE.set(v, PRO_CACHE_CTRL::FLUSH_ENA.get(v)))
            }
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        self.regs.write(off, v)
    }
}

/// The MMU table entry a word at `off` in MMU slot `slot` is (PRO's entries, then APP's).
fn mmu_index(slot: u32, off: u32) -> usize {
    ((slot - MMU_SLOT) * crate::memmap::SLOT_BYTES + off) as usize / 4
}

impl device::Device for Dport {
    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        if cx.slot >= MMU_SLOT {
            // The MMU tables: PRO's entries, then APP's, a word each.
            let i = mmu_index(cx.slot, off);
            return Some(self.mmu[i / MMU_ENTRIES][i % MMU_ENTRIES]);
        }
        Dport::read(self, off, cx.sources)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        if cx.slot >= MMU_SLOT {
            let i = mmu_index(cx.slot, off);
            let idx = i % MMU_ENTRIES;
            self.mmu[i / MMU_ENTRIES][idx] = v & (MMU_PAGE.mask() | MMU_INVALID.mask());
            if IBUS_ENTRIES.contains(&idx) {
                // An instruction-window page remapped: code decoded from it is stale.
                let page = (idx - IBUS_ENTRIES.start) as u32;
                cx.effects.invalidate_code = Some((crate::memmap::ROM0_BASE + page * MMU_PAGE_BYTES, MMU_PAGE_BYTES));
            }
            return true;
        }
        let ok = Dport::write(self, off, v);
        if matches!(off, CPU_PER_CONF | APPCPU_CTRL_A..=APPCPU_CTRL_D) {
            cx.effects.end_slice = true;
        }
        if matches!(off, PRO_CACHE_CTRL | APP_CACHE_CTRL) {
            if PRO_CACHE_CTRL::FLUSH_ENA.on(v) {
                cx.effects.flush_cache[(off == APP_CACHE_CTRL) as usize] = true;
            }
            // Enabling, disabling or flushing a cache changes what the IROM window shows.
            cx.effects.invalidate_code = Some((crate::memmap::IROM_BASE, crate::memmap::IROM_END - crate::memmap::IROM_BASE));
        }
        ok
    }

    fn reset_digital(&mut self, _now: Ps) {
        *self = Dport::new();
    }

    /// FROM_CPU_INTR0..3: the software interrupts one core raises for the other.
    fn lines(&self, _now: Ps) -> u32 {
        (0..FROM_CPU0::COUNT).filter(|&i| self.regs.on(FROM_CPU0::at(i), FROM_CPU0::INTR)).fold(0, |l, i| l | 1 << i)
    }

    fn regs(&self, slot: u32) -> Option<&RegBlock> {
        (slot < MMU_SLOT).then_some(&self.regs)
    }
}
