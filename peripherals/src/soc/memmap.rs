//! The ESP32 memory map (TRM §1.3): internal memories with their bus aliases, the flash
//! and PSRAM cache windows, and the peripheral space with its AHB alias.
//!
//! | address range | what | notes |
//! |---|---|---|
//! | 0x3F40_0000–0x3F7F_FFFF | DROM0: flash through the cache MMU | read-only |
//! | 0x3F80_0000–0x3FBF_FFFF | DRAM1: PSRAM through the cache MMU | |
//! | 0x3FF0_0000–0x3FF7_FFFF | peripherals (DPORT, MMU tables, AES…) | |
//! | 0x3FF8_0000–0x3FF8_1FFF | RTC FAST memory (data bus) | 8 KiB |
//! | 0x3FF9_0000–0x3FF9_FFFF | internal ROM 1 (data bus) | 64 KiB, ROM `.rodata` |
//! | 0x3FFA_E000–0x3FFD_FFFF | SRAM2 (data bus) | 200 KiB |
//! | 0x3FFE_0000–0x3FFF_FFFF | SRAM1 (data bus) | 128 KiB |
//! | 0x4000_0000–0x4005_FFFF | internal ROM 0 (instruction bus) | 384 KiB |
//! | 0x4006_0000–0x4006_FFFF | internal ROM 1 (instruction bus) | same bytes as 0x3FF9_0000 |
//! | 0x4007_0000–0x4009_FFFF | SRAM0 (instruction bus) | 192 KiB, 32-bit access only |
//! | 0x400A_0000–0x400B_FFFF | SRAM1 (instruction bus) | word order reversed vs. data bus |
//! | 0x400C_0000–0x400C_1FFF | RTC FAST memory (instruction bus) | |
//! | 0x400C_2000–0x40BF_FFFF | IROM0/IRAM1: flash through the cache MMU | |
//! | 0x5000_0000–0x5000_1FFF | RTC SLOW memory | 8 KiB |
//! | 0x6000_0000–0x6003_FFFF | AHB alias of 0x3FF4_0000–0x3FF7_FFFF | |

/// Offsets of each memory inside the SoC's single backing array.
pub const ROM0_OFF: u32 = 0x0_0000;
pub const ROM0_SIZE: u32 = 0x6_0000;
pub const ROM1_OFF: u32 = 0x6_0000;
pub const ROM1_SIZE: u32 = 0x1_0000;
pub const SRAM0_OFF: u32 = 0x7_0000;
pub const SRAM0_SIZE: u32 = 0x3_0000;
pub const SRAM1_OFF: u32 = 0xA_0000;
pub const SRAM1_SIZE: u32 = 0x2_0000;
pub const SRAM2_OFF: u32 = 0xC_0000;
pub const SRAM2_SIZE: u32 = 0x3_2000;
pub const RTCF_OFF: u32 = 0xF_2000;
pub const RTCF_SIZE: u32 = 0x2000;
pub const RTCS_OFF: u32 = 0xF_4000;
pub const RTCS_SIZE: u32 = 0x2000;
pub const MEM_TOTAL: u32 = 0xF_6000;

pub const ROM0_BASE: u32 = 0x4000_0000;
pub const ROM1_BASE: u32 = 0x3FF9_0000;
pub const ROM1_IBASE: u32 = 0x4006_0000;
pub const SRAM0_BASE: u32 = 0x4007_0000;
pub const SRAM1_DBASE: u32 = 0x3FFE_0000;
pub const SRAM1_IBASE: u32 = 0x400A_0000;
pub const SRAM2_BASE: u32 = 0x3FFA_E000;
pub const RTCF_DBASE: u32 = 0x3FF8_0000;
pub const RTCF_IBASE: u32 = 0x400C_0000;
pub const RTCS_BASE: u32 = 0x5000_0000;

pub const DROM_BASE: u32 = 0x3F40_0000;
pub const DROM_END: u32 = 0x3F80_0000;
pub const PSRAM_BASE: u32 = 0x3F80_0000;
pub const PSRAM_END: u32 = 0x3FC0_0000;
pub const IROM_BASE: u32 = 0x400C_2000;
pub const IROM_END: u32 = 0x40C0_0000;
pub const PERI_BASE: u32 = 0x3FF0_0000;
/// Bytes of one peripheral slot (a register block or part of one).
pub const SLOT_BYTES: u32 = 0x1000;
pub const PERI_END: u32 = 0x3FF8_0000;
pub const AHB_BASE: u32 = 0x6000_0000;
pub const AHB_END: u32 = 0x6004_0000;

/// Kind of a 4 KiB page of the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum PageKind {
    Unmapped,
    /// Backing array at `base` (+ page offset).
    Mem,
    /// SRAM1 seen on the instruction bus (reversed word order).
    Sram1Rev,
    Mmio,
    FlashData,
    FlashInstr,
    Psram,
}

#[derive(Clone, Copy, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Page {
    pub kind: PageKind,
    /// Only 32-bit accesses (instruction-bus memories).
    pub word_only: bool,
    pub writable: bool,
    pub base: u32,
}

impl Page {
    pub const UNMAPPED: Page = Page { kind: PageKind::Unmapped, word_only: false, writable: false, base: 0 };
}

/// Builds the page table of the whole 4 GiB space.
pub fn build_pages() -> Vec<Page> {
    let mut pages = vec![Page::UNMAPPED; 1 << 20];
    let mut map = |start: u32, size: u32, kind: PageKind, base: u32, word_only: bool, writable: bool| {
        let mut a = start;
        while a < start + size {
            pages[(a >> 12) as usize] = Page { kind, word_only, writable, base: base + (a - start) };
            a += 0x1000;
        }
    };
    use PageKind::*;
    map(ROM0_BASE, ROM0_SIZE, Mem, ROM0_OFF, true, false);
    map(ROM1_BASE, ROM1_SIZE, Mem, ROM1_OFF, false, false);
    map(ROM1_IBASE, ROM1_SIZE, Mem, ROM1_OFF, true, false);
    map(SRAM0_BASE, SRAM0_SIZE, Mem, SRAM0_OFF, true, true);
    map(SRAM1_DBASE, SRAM1_SIZE, Mem, SRAM1_OFF, false, true);
    map(SRAM1_IBASE, SRAM1_SIZE, Sram1Rev, 0, true, true);
    map(SRAM2_BASE, SRAM2_SIZE, Mem, SRAM2_OFF, false, true);
    map(RTCF_DBASE, RTCF_SIZE, Mem, RTCF_OFF, false, true);
    map(RTCF_IBASE, RTCF_SIZE, Mem, RTCF_OFF, true, true);
    map(RTCS_BASE, RTCS_SIZE, Mem, RTCS_OFF, false, true);
    map(DROM_BASE, DROM_END - DROM_BASE, FlashData, 0, false, false);
    map(PSRAM_BASE, PSRAM_END - PSRAM_BASE, Psram, 0, false, true);
    map(IROM_BASE, IROM_END - IROM_BASE, FlashInstr, 0, true, false);
    map(PERI_BASE, PERI_END - PERI_BASE, Mmio, 0, false, true);
    map(AHB_BASE, AHB_END - AHB_BASE, Mmio, 0, false, true);
    pages
}

/// Offset into SRAM1 of an instruction-bus address 0x400A_0000 + `ioff`: the two buses see
/// the 32-bit words in opposite order.
#[inline(always)]
pub fn sram1_rev(ioff: u32) -> u32 {
    (SRAM1_SIZE - 4 - (ioff & !3)) | (ioff & 3)
}

/// Canonical peripheral address (AHB alias folded onto 0x3FF4_0000).
#[inline(always)]
pub fn peri_addr(addr: u32) -> u32 {
    if addr >= AHB_BASE {
        addr - AHB_BASE + 0x3FF4_0000
    } else {
        addr
    }
}
