//! The ESP32 mask ROM (rev 0/1 ELF), the esptool flasher stub and an ESP-IDF second-stage
//! bootloader, all taken at build time from the `espflash` package on crates.io (see
//! `build.rs`; nothing is committed), plus the ROM's layout and symbol table.
//!
//! Memory the ROM occupies (TRM §1.3):
//!
//! | range | what |
//! |---|---|
//! | 0x4000_0000..0x4006_0000 | ROM0, instruction bus: vectors, reset code, `.text`, BT `.bt_text` |
//! | 0x4006_0000..0x4007_0000 | ROM1 on the instruction bus (end of `.bt_text`, `.rodata` image) |
//! | 0x3FF9_0000..0x3FFA_0000 | the same ROM1 on the data bus: `.rodata` at 0x3FF9_6000 |
//! | 0x3FFA_E000.., 0x3FFE_0000.. | DRAM the ROM's reset code initialises from `_rom_store_table` |
//!
//! [`Rom::image`] is the whole 448 KiB as seen from 0x4000_0000, with each section at its load
//! address (`.rodata` at 0x4006_6000, the initial values of RAM data where the store table says
//! the reset code copies them from). [`Rom::ram_init`] lists what reset puts in DRAM.

use std::collections::HashMap;
use std::sync::OnceLock;

use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS};
use goblin::elf::sym::{STB_GLOBAL, STT_FILE, STT_FUNC, STT_OBJECT, STT_SECTION};
use goblin::elf::Elf;

/// The ESP32 rev 0/1 mask ROM as an ELF with symbols (`esp32_rev0_rom.elf`).
pub const ESP32_ROM_ELF: &[u8] = include_bytes!(env!("PYEMU_ESP32_ROM_ELF_PATH"));
/// esptool's flasher stub for the ESP32 (`esp-flasher-stub`, TOML with base64 text/data).
pub const ESP32_STUB_TOML: &str = include_str!(env!("PYEMU_ESP32_STUB_TOML_PATH"));
/// An ESP-IDF second-stage bootloader image for the ESP32 (40 MHz crystal, DIO).
pub const ESP32_BOOTLOADER: &[u8] = include_bytes!(env!("PYEMU_ESP32_BOOTLOADER_PATH"));

/// Base of the mask ROM on the instruction bus.
pub const ROM_BASE: u32 = 0x4000_0000;
/// Size of the mask ROM (ROM0 384 KiB + ROM1 64 KiB).
pub const ROM_SIZE: u32 = 0x7_0000;
/// ROM1 as seen on the data bus; it is `ROM_BASE + ROM1_OFFSET` on the instruction bus.
pub const ROM1_DBUS_BASE: u32 = 0x3FF9_0000;
pub const ROM1_OFFSET: u32 = 0x6_0000;
pub const ROM1_SIZE: u32 = 0x1_0000;

#[derive(Debug, thiserror::Error)]
pub enum RomError {
    #[error("ROM ELF: {0}")]
    Elf(#[from] goblin::error::Error),
    #[error("ROM ELF: section {name} at {addr:#010x}+{size:#x} lies outside the file")]
    BadSection { name: String, addr: u32, size: u32 },
    #[error("flasher stub: {0}")]
    Stub(String),
}

/// What a section of the ROM ELF is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// Instructions (and their literal pools) in ROM.
    Code,
    /// Read-only data in ROM (data-bus address).
    ReadOnly,
    /// Initial contents of RAM data, copied by the reset code.
    Data,
}

/// One section with contents.
#[derive(Clone, Debug)]
pub struct Segment {
    pub name: String,
    /// Run-time (virtual) address.
    pub addr: u32,
    /// Where the bytes sit in the ROM, when that differs from `addr` (RAM data: the source of
    /// the reset-time copy; `.rodata`: its instruction-bus alias). `None` if unknown.
    pub load_addr: Option<u32>,
    pub kind: SegmentKind,
    pub data: Vec<u8>,
}

impl Segment {
    pub fn end(&self) -> u32 {
        self.addr.wrapping_add(self.data.len() as u32)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Func,
    Object,
    Other,
}

#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    pub addr: u32,
    pub size: u32,
    pub kind: SymbolKind,
    pub global: bool,
}

/// Address ↔ name lookups over the ROM's symbols. Address lookups are a binary search over a
/// sorted vector; name lookups a hash map (globals win over same-named locals).
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    /// Sorted by address; at one address the preferred name (global function first) comes last,
    /// so the upper-bound search lands on it.
    by_addr: Vec<Symbol>,
    by_name: HashMap<String, usize>,
}

impl SymbolTable {
    pub fn new(mut syms: Vec<Symbol>) -> SymbolTable {
        let rank = |s: &Symbol| -> u8 {
            let k = match s.kind {
                SymbolKind::Func => 2,
                SymbolKind::Object => 1,
                SymbolKind::Other => 0,
            };
            k * 2 + s.global as u8
        };
        syms.sort_by(|a, b| {
            a.addr
                .cmp(&b.addr)
                .then(rank(a).cmp(&rank(b)))
                .then(b.name.cmp(&a.name))
        });
        let mut by_name: HashMap<String, usize> = HashMap::with_capacity(syms.len());
        for (i, s) in syms.iter().enumerate() {
            match by_name.get(&s.name) {
                Some(&j) if syms[j].global || !s.global => {}
                _ => {
                    by_name.insert(s.name.clone(), i);
                }
            }
        }
        SymbolTable {
            by_addr: syms,
            by_name,
        }
    }

    pub fn len(&self) -> usize {
        self.by_addr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Symbol> {
        self.by_addr.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.by_name.get(name).map(|&i| &self.by_addr[i])
    }

    /// Address of `name`.
    pub fn addr_of(&self, name: &str) -> Option<u32> {
        self.get(name).map(|s| s.addr)
    }

    /// The symbol at or before `addr` and the offset into it. A sized symbol only covers its
    /// own bytes (past its end the lookup fails rather than naming a far-away function); a
    /// zero-sized one (assembly entry points such as libgcc's) covers up to the next symbol.
    pub fn lookup(&self, addr: u32) -> Option<(&Symbol, u32)> {
        let i = self.by_addr.partition_point(|s| s.addr <= addr);
        let s = self.by_addr.get(i.checked_sub(1)?)?;
        let off = addr - s.addr;
        if s.size != 0 && off >= s.size {
            return None;
        }
        Some((s, off))
    }

    /// `name+0xoff` (or `name` at offset 0) for `addr`, if a symbol covers it.
    pub fn describe(&self, addr: u32) -> Option<String> {
        self.lookup(addr).map(|(s, off)| {
            if off == 0 {
                s.name.clone()
            } else {
                format!("{}+{off:#x}", s.name)
            }
        })
    }
}

/// An entry of the ROM's `_rom_store_table`: reset copies `[src, src + end - start)` to
/// `[start, end)`; `per_cpu` entries are copied for each core (the APP copy at the
/// matching `_app` section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreEntry {
    pub start: u32,
    pub end: u32,
    pub src: u32,
    pub per_cpu: bool,
}

/// The parsed mask ROM.
#[derive(Clone, Debug)]
pub struct Rom {
    pub entry: u32,
    pub segments: Vec<Segment>,
    /// Zero-initialised RAM (`.bss_*`, stacks): (address, size).
    pub bss: Vec<(u32, u32)>,
    pub store_table: Vec<StoreEntry>,
    /// Literal pools (L32R targets) inside the code, from the `.xt.lit` property section:
    /// (address, size). Lets a disassembler skip data and a relocator find absolute addresses.
    pub literal_ranges: Vec<(u32, u32)>,
    pub symbols: SymbolTable,
}

impl Rom {
    /// The ESP32 ROM embedded at build time, parsed once.
    pub fn esp32() -> &'static Rom {
        static ROM: OnceLock<Rom> = OnceLock::new();
        ROM.get_or_init(|| Rom::parse(ESP32_ROM_ELF).expect("embedded ESP32 ROM ELF parses"))
    }

    pub fn parse(bytes: &[u8]) -> Result<Rom, RomError> {
        let elf = Elf::parse(bytes)?;
        let mut segments = Vec::new();
        let mut bss = Vec::new();
        let mut literal_ranges = Vec::new();
        for sh in &elf.section_headers {
            let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("").to_string();
            let (addr, size) = (sh.sh_addr as u32, sh.sh_size as u32);
            if name == ".xt.lit" {
                let off = sh.sh_offset as usize;
                if let Some(b) = bytes.get(off..off + size as usize) {
                    for e in b.chunks_exact(8) {
                        let w = |i: usize| u32::from_le_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
                        if w(0) != 0 && w(4) != 0 {
                            literal_ranges.push((w(0), w(4)));
                        }
                    }
                }
                literal_ranges.sort_unstable();
                continue;
            }
            if addr == 0 || size == 0 {
                continue;
            }
            if sh.sh_type == SHT_NOBITS {
                bss.push((addr, size));
                continue;
            }
            if sh.sh_type != SHT_PROGBITS {
                continue;
            }
            let off = sh.sh_offset as usize;
            let data = bytes
                .get(off..off + size as usize)
                .ok_or_else(|| RomError::BadSection {
                    name: name.clone(),
                    addr,
                    size,
                })?
                .to_vec();
            let flags = sh.sh_flags as u32;
            let kind = if flags & SHF_EXECINSTR != 0 {
                SegmentKind::Code
            } else if flags & SHF_WRITE != 0 {
                SegmentKind::Data
            } else if flags & SHF_ALLOC != 0 {
                SegmentKind::ReadOnly
            } else {
                continue;
            };
            segments.push(Segment {
                name,
                addr,
                load_addr: None,
                kind,
                data,
            });
        }

        let mut syms = Vec::with_capacity(elf.syms.len());
        for s in elf.syms.iter() {
            let typ = s.st_type();
            if s.st_value == 0 || typ == STT_SECTION || typ == STT_FILE {
                continue;
            }
            let Some(name) = elf.strtab.get_at(s.st_name) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let kind = match typ {
                STT_FUNC => SymbolKind::Func,
                STT_OBJECT => SymbolKind::Object,
                _ => SymbolKind::Other,
            };
            syms.push(Symbol {
                name: name.to_string(),
                addr: s.st_value as u32,
                size: s.st_size as u32,
                kind,
                global: s.st_bind() == STB_GLOBAL,
            });
        }
        let symbols = SymbolTable::new(syms);

        let mut rom = Rom {
            entry: elf.entry as u32,
            segments,
            bss,
            store_table: Vec::new(),
            literal_ranges,
            symbols,
        };
        rom.store_table = rom.parse_store_table();
        for seg in rom.segments.iter_mut() {
            match seg.kind {
                SegmentKind::ReadOnly
                    if (ROM1_DBUS_BASE..ROM1_DBUS_BASE + ROM1_SIZE).contains(&seg.addr) =>
                {
                    seg.load_addr = Some(seg.addr - ROM1_DBUS_BASE + ROM_BASE + ROM1_OFFSET);
                }
                SegmentKind::Data => {
                    seg.load_addr = rom
                        .store_table
                        .iter()
                        .find(|e| e.start == seg.addr)
                        .map(|e| e.src);
                }
                _ => {}
            }
        }
        Ok(rom)
    }

    /// Reads `_rom_store_table` (four words per entry, up to `_data_end`) from the ROM code.
    fn parse_store_table(&self) -> Vec<StoreEntry> {
        let (Some(start), Some(end)) = (
            self.symbols.addr_of("_rom_store_table"),
            self.symbols.addr_of("_data_end"),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut a = start;
        while a + 16 <= end {
            let w = |i: u32| self.read_code_word(a + 4 * i);
            let (Some(s), Some(e), Some(src), Some(pc)) = (w(0), w(1), w(2), w(3)) else {
                break;
            };
            out.push(StoreEntry {
                start: s,
                end: e,
                src,
                per_cpu: pc != 0,
            });
            a += 16;
        }
        out
    }

    fn read_code_word(&self, addr: u32) -> Option<u32> {
        self.segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Code)
            .find_map(|s| {
                let off = addr.checked_sub(s.addr)? as usize;
                let b = s.data.get(off..off + 4)?;
                Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            })
    }

    /// The 448 KiB ROM as seen at [`ROM_BASE`]: code at its addresses, `.rodata` at its
    /// instruction-bus alias, RAM-data initial values at their store-table sources. Bytes no
    /// section covers read as zero.
    pub fn image(&self) -> Vec<u8> {
        let mut img = vec![0u8; ROM_SIZE as usize];
        for seg in &self.segments {
            let at = match seg.kind {
                SegmentKind::Code => Some(seg.addr),
                _ => seg.load_addr,
            };
            let Some(at) = at else { continue };
            let Some(off) = at.checked_sub(ROM_BASE) else {
                continue;
            };
            let off = off as usize;
            if off + seg.data.len() <= img.len() {
                img[off..off + seg.data.len()].copy_from_slice(&seg.data);
            }
        }
        img
    }

    /// What the ROM's reset code writes into RAM: (address, initial bytes), the per-core
    /// `_app` copies included (they are separate sections in the ELF).
    pub fn ram_init(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|s| s.kind == SegmentKind::Data)
    }

    /// Address of a ROM symbol.
    pub fn sym(&self, name: &str) -> Option<u32> {
        self.symbols.addr_of(name)
    }
}

/// The esptool flasher stub: code and data loaded to RAM, entered at `entry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlashStub {
    pub entry: u32,
    pub text_start: u32,
    pub text: Vec<u8>,
    pub data_start: u32,
    pub data: Vec<u8>,
    pub bss_start: Option<u32>,
}

#[derive(serde::Deserialize)]
struct StubToml {
    entry: u32,
    text: String,
    text_start: u32,
    data: String,
    data_start: u32,
    bss_start: Option<u32>,
}

impl FlashStub {
    /// The ESP32 stub embedded at build time.
    pub fn esp32() -> Result<FlashStub, RomError> {
        FlashStub::parse(ESP32_STUB_TOML)
    }

    pub fn parse(toml_text: &str) -> Result<FlashStub, RomError> {
        use base64::Engine as _;
        let t: StubToml = toml::from_str(toml_text).map_err(|e| RomError::Stub(e.to_string()))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = b64
            .decode(t.text.as_bytes())
            .map_err(|e| RomError::Stub(format!("text: {e}")))?;
        let data = b64
            .decode(t.data.as_bytes())
            .map_err(|e| RomError::Stub(format!("data: {e}")))?;
        Ok(FlashStub {
            entry: t.entry,
            text_start: t.text_start,
            text,
            data_start: t.data_start,
            data,
            bss_start: t.bss_start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rom_layout() {
        let rom = Rom::esp32();
        assert_eq!(rom.entry, 0x4000_0400);
        assert_eq!(rom.sym("_WindowOverflow4"), Some(0x4000_0000));
        assert_eq!(rom.sym("crc32_le"), Some(0x4005_cfec));
        assert_eq!(rom.sym("memcpy"), Some(0x4000_c2c8));
        assert_eq!(rom.sym("MD5Init"), Some(0x4005_da7c));
        let img = rom.image();
        assert_eq!(img.len(), ROM_SIZE as usize);
        // .rodata appears at both of its addresses.
        let ro = rom.segments.iter().find(|s| s.name == ".rodata").unwrap();
        assert_eq!(ro.addr, 0x3FF9_6000);
        assert_eq!(ro.load_addr, Some(0x4006_6000));
        assert_eq!(&img[0x6_6000..0x6_6000 + ro.data.len()], &ro.data[..]);
        // The reset vector's code is where the ELF says.
        let rv = rom
            .segments
            .iter()
            .find(|s| s.name == ".ResetVector.text")
            .unwrap();
        assert_eq!(&img[0x400..0x400 + rv.data.len()], &rv.data[..]);
        // RAM data has its copy source from the store table, and that copy is in the image.
        let c = rom.segments.iter().find(|s| s.name == ".data_c").unwrap();
        let src = c.load_addr.expect(".data_c has a load address");
        let off = (src - ROM_BASE) as usize;
        assert_eq!(&img[off..off + c.data.len()], &c.data[..]);
        assert!(rom.store_table.len() >= 8);
        // Literal pools lie in the code, word-aligned.
        assert!(rom.literal_ranges.len() > 500);
        for &(a, n) in &rom.literal_ranges {
            assert!(
                a % 4 == 0 && n % 4 == 0 && a >= ROM_BASE && a + n <= ROM_BASE + ROM_SIZE,
                "{a:#x}+{n}"
            );
        }
    }

    #[test]
    fn symbol_lookup() {
        let syms = &Rom::esp32().symbols;
        assert!(syms.len() > 2000);
        let md5 = syms.addr_of("MD5Update").unwrap();
        assert_eq!(syms.describe(md5).as_deref(), Some("MD5Update"));
        assert_eq!(syms.describe(md5 + 6).as_deref(), Some("MD5Update+0x6"));
        // Names resolve back to the same address for every global function.
        for s in syms
            .iter()
            .filter(|s| s.global && s.kind == SymbolKind::Func)
        {
            assert_eq!(syms.addr_of(&s.name), Some(s.addr), "{}", s.name);
        }
        assert!(syms.lookup(0x4000_0000).is_some());
    }

    #[test]
    fn stub_and_bootloader() {
        let stub = FlashStub::esp32().unwrap();
        assert!((0x4008_0000..0x400C_0000).contains(&stub.entry));
        assert!((stub.text_start..stub.text_start + stub.text.len() as u32).contains(&stub.entry));
        assert!(!stub.data.is_empty());
        assert_eq!(ESP32_BOOTLOADER[0], 0xE9, "ESP image magic");
    }
}
