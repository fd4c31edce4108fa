//! Places the ESP32 mask ROM (`esp32_rev0_rom.elf`) into the SoC's memories as it sits in
//! silicon: code at 0x4000_0000, `.rodata` at 0x3FF9_6000, and the images of the ROM's
//! initialised data at their load addresses inside ROM, where the reset code's
//! `_rom_store_table` (start, end, source, core) finds and copies them into RAM.

use goblin::elf::Elf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RomError {
    #[error("ROM ELF: {0}")]
    Parse(String),
    #[error("ROM ELF: symbol `{0}` missing")]
    Missing(&'static str),
}

/// A loadable piece of the ROM: bytes at an address.
pub struct RomSegment {
    pub addr: u32,
    pub bytes: Vec<u8>,
}

/// The ROM's contents as placed in silicon, plus its symbols.
pub struct RomImage {
    pub segments: Vec<RomSegment>,
    /// (address, size, name) sorted by address: functions and data objects.
    pub symbols: Vec<(u32, u32, String)>,
}

impl RomImage {
    pub fn parse(data: &[u8]) -> Result<RomImage, RomError> {
        let elf = Elf::parse(data).map_err(|e| RomError::Parse(e.to_string()))?;
        let mut segments = Vec::new();
        for ph in &elf.program_headers {
            if ph.p_type == goblin::elf::program_header::PT_LOAD && ph.p_filesz > 0 {
                let off = ph.p_offset as usize;
                let len = ph.p_filesz as usize;
                let bytes = data.get(off..off + len).ok_or_else(|| RomError::Parse("segment past end".into()))?;
                // Segments whose VMA lies in RAM are copies of ROM data: they are placed by
                // the store table below, not at their VMA.
                let vaddr = ph.p_vaddr as u32;
                if (0x3FFA_0000..0x4000_0000).contains(&vaddr) {
                    continue;
                }
                segments.push(RomSegment { addr: vaddr, bytes: bytes.to_vec() });
            }
        }
        let mut symbols = Vec::new();
        let mut store_table = None;
        for sym in elf.syms.iter() {
            let name = elf.strtab.get_at(sym.st_name).unwrap_or("");
            if name == "_rom_store_table" {
                store_table = Some(sym.st_value as u32);
            }
            if !name.is_empty() && sym.st_value != 0 && (sym.is_function() || sym.st_type() == goblin::elf::sym::STT_OBJECT || sym.st_type() == goblin::elf::sym::STT_NOTYPE) {
                symbols.push((sym.st_value as u32, sym.st_size as u32, name.to_string()));
            }
        }
        symbols.sort();
        let table = store_table.ok_or(RomError::Missing("_rom_store_table"))?;
        let rom_word = |addr: u32| -> Option<u32> {
            segments.iter().find_map(|s| {
                let o = addr.checked_sub(s.addr)? as usize;
                s.bytes.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            })
        };
        // Entries of 4 words until the table's end (`_bss_start` follows it).
        let mut placed = Vec::new();
        let mut a = table;
        loop {
            let (Some(start), Some(end), Some(src)) = (rom_word(a), rom_word(a + 4), rom_word(a + 8)) else { break };
            if !(0x3FF8_0000..0x4000_0000).contains(&start) || end < start || !(0x4000_0000..0x4007_0000).contains(&src) {
                break;
            }
            if end > start {
                // Find the initialised-data section that starts there.
                for sh in &elf.section_headers {
                    if sh.sh_addr as u32 == start && sh.sh_type == goblin::elf::section_header::SHT_PROGBITS && sh.sh_size > 0 {
                        let off = sh.sh_offset as usize;
                        let len = (sh.sh_size as usize).min((end - start) as usize);
                        if let Some(b) = data.get(off..off + len) {
                            placed.push(RomSegment { addr: src, bytes: b.to_vec() });
                        }
                    }
                }
            }
            a += 16;
        }
        segments.extend(placed);
        Ok(RomImage { segments, symbols })
    }

    /// `name+0xoff` for an address inside a known symbol.
    pub fn symbolize(&self, addr: u32) -> Option<String> {
        let i = self.symbols.partition_point(|s| s.0 <= addr);
        let (a, size, name) = self.symbols.get(i.checked_sub(1)?)?;
        let off = addr - a;
        if *size != 0 && off >= *size && off > 0x1000 {
            return None;
        }
        Some(if off == 0 { name.clone() } else { format!("{name}+0x{off:x}") })
    }

    pub fn symbol(&self, name: &str) -> Option<u32> {
        self.symbols.iter().find(|s| s.2 == name).map(|s| s.0)
    }
}
