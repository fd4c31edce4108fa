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

use crate::regblock::{ro, rw, rw_array, RegBlock, RegDef};

pub const APPCPU_CTRL_A: u32 = 0x02C;
pub const APPCPU_CTRL_B: u32 = 0x030;
pub const APPCPU_CTRL_C: u32 = 0x034;
pub const APPCPU_CTRL_D: u32 = 0x038;
pub const CPU_PER_CONF: u32 = 0x03C;
pub const PRO_CACHE_CTRL: u32 = 0x040;
pub const APP_CACHE_CTRL: u32 = 0x058;
pub const FROM_CPU0: u32 = 0x0DC;
pub const PRO_MAP0: u32 = 0x104;
pub const APP_MAP0: u32 = 0x218;
pub const NUM_SOURCES: u32 = 69;
/// Entries per core MMU table (flash pages, then PSRAM pages).
pub const MMU_ENTRIES: usize = 0x800;

fn defs() -> Vec<RegDef> {
    let mut d = Vec::new();
    rw_array(&mut d, 0x000, 0x5A8 / 4, 0, "DPORT");
    d.retain(|r| !matches!(r.off, 0x02C | 0x040 | 0x044 | 0x058 | 0x05C | 0x0EC..=0x100) && !(0x104..0x32C).contains(&r.off));
    d.push(rw(0x02C, 1, "APPCPU_CTRL_A"));
    d.push(rw(0x040, 0x10, "PRO_CACHE_CTRL"));
    d.push(rw(0x044, 0x0000_08FF, "PRO_CACHE_CTRL1"));
    d.push(rw(0x058, 0x10, "APP_CACHE_CTRL"));
    d.push(rw(0x05C, 0x0000_08FF, "APP_CACHE_CTRL1"));
    for i in 0..6 {
        d.push(ro(0x0EC + 4 * i, 0, "INTR_STATUS"));
    }
    for i in 0..NUM_SOURCES {
        d.push(rw(PRO_MAP0 + 4 * i, 16, "PRO_INTR_MAP"));
        d.push(rw(APP_MAP0 + 4 * i, 16, "APP_INTR_MAP"));
    }
    d.push(ro(0xFFC, 0x1605_0500, "DATE"));
    d
}

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
        Dport { regs: RegBlock::new("DPORT", 0x1000, defs()), mmu: [vec![0x100; MMU_ENTRIES], vec![0x100; MMU_ENTRIES]] }
    }

    /// CPU interrupt number of `source` on `core`.
    pub fn map(&self, core: usize, source: u32) -> u32 {
        let base = if core == 0 { PRO_MAP0 } else { APP_MAP0 };
        self.regs.get(base + 4 * source) & 0x1F
    }

    pub fn from_cpu_sources(&self) -> u128 {
        let mut s = 0u128;
        for i in 0..4 {
            if self.regs.get(FROM_CPU0 + 4 * i) & 1 != 0 {
                s |= 1 << (24 + i);
            }
        }
        s
    }

    pub fn cache_enabled(&self, core: usize) -> bool {
        let off = if core == 0 { PRO_CACHE_CTRL } else { APP_CACHE_CTRL };
        self.regs.get(off) & (1 << 3) != 0
    }

    pub fn read(&self, off: u32, status: u128) -> Option<u32> {
        match off {
            0x0EC..=0x0F4 => Some((status >> (32 * ((off - 0x0EC) / 4))) as u32),
            0x0F8..=0x100 => Some((status >> (32 * ((off - 0x0F8) / 4))) as u32),
            0x3F0 | 0x418 => Some((self.regs.get(off) & !(0xFFF << 7)) | (1 << 7)),
            PRO_CACHE_CTRL | APP_CACHE_CTRL => {
                let v = self.regs.get(off);
                // Flush completes at once: FLUSH_DONE follows FLUSH_ENA.
                Some((v & !(1 << 5)) | ((v >> 4) & 1) << 5)
            }
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        self.regs.write(off, v)
    }
}
