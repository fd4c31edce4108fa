//! ESP32 app and bootloader images (the ROM's and ESP-IDF's `esp_image` format).
//!
//! Layout (little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | magic 0xE9 |
//! | 1 | 1 | segment count (the bootloader accepts at most 16) |
//! | 2 | 1 | SPI mode: 0 QIO, 1 QOUT, 2 DIO, 3 DOUT, 4 FAST_READ, 5 SLOW_READ |
//! | 3 | 1 | high nibble flash size (0 1MB, 1 2MB, 2 4MB, 3 8MB, 4 16MB), low nibble speed (0 40m, 1 26m, 2 20m, 0xF 80m) |
//! | 4 | 4 | entry address |
//! | 8 | 1 | WP pin (0xEE = disabled) |
//! | 9 | 3 | SPI pin drive strengths (two nibbles each) |
//! | 12 | 2 | chip id (0 = ESP32) |
//! | 14 | 1 | minimum chip revision (legacy) |
//! | 15 | 2 | minimum chip revision, major·100+minor |
//! | 17 | 2 | maximum chip revision, major·100+minor |
//! | 19 | 4 | reserved |
//! | 23 | 1 | hash appended (0/1) |
//! | 24 | … | segments: load address u32, length u32, data |
//! | … | … | zero padding so that the checksum byte is the last byte of a 16-byte block |
//! | … | 1 | checksum: XOR of every segment data byte, seed 0xEF |
//! | … | 32 | SHA-256 of everything before it (only when hash appended = 1) |
//!
//! Segment load addresses by region (ESP32 memory map):
//!
//! | range | region | loaded how |
//! |---|---|---|
//! | < 0x0001_0000 | padding | not loaded (esptool alignment filler) |
//! | 0x3F40_0000–0x3F80_0000 | DROM | flash, mapped by the cache MMU in 64 KB pages |
//! | 0x3F80_0000–0x3FC0_0000 | EXTRAM | PSRAM, cannot be loaded |
//! | 0x3FF8_0000–0x3FF8_2000 | RTC_FAST (data bus) | copied |
//! | 0x3FFA_E000–0x4000_0000 | DRAM | copied |
//! | 0x4000_0000–0x4007_0000 | ROM | mask ROM, cannot be loaded |
//! | 0x4007_0000–0x4008_0000 | CACHE | cache-as-IRAM, copied |
//! | 0x4008_0000–0x400C_0000 | IRAM | copied |
//! | 0x400C_0000–0x400C_2000 | RTC_FAST (instruction bus) | copied |
//! | 0x400D_0000–0x4040_0000 | IROM | flash, mapped by the cache MMU in 64 KB pages |
//! | 0x5000_0000–0x5000_2000 | RTC_SLOW | copied |
//!
//! The ESP-IDF app description (`esp_app_desc_t`, 256 bytes) sits at the start of the first DROM
//! segment: magic 0xABCD5432 u32, secure_version u32, reserved 8, version[32], project_name[32],
//! time[16], date[16], idf_ver[32], app_elf_sha256[32], min/max eFuse block revision u16 ×2,
//! mmu_page_size u8, reserved.

use crate::util::{c_string, hex, le_u16, le_u32};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub const IMAGE_MAGIC: u8 = 0xE9;
pub const CHECKSUM_SEED: u8 = 0xEF;
pub const HEADER_LEN: usize = 24;
pub const SEGMENT_HEADER_LEN: usize = 8;
pub const MAX_SEGMENTS: usize = 16;
pub const DIGEST_LEN: usize = 32;
pub const APP_DESC_MAGIC: u32 = 0xABCD_5432;
pub const APP_DESC_LEN: usize = 256;
/// Flash MMU page: mapped segments must sit at a flash offset congruent to their address.
pub const MMU_PAGE: u32 = 0x1_0000;
pub const ESP32_CHIP_ID: u16 = 0;
/// The bootloader refuses anything larger (`esp_image_format.c`).
pub const MAX_IMAGE_LEN: usize = 16 * 1024 * 1024;
pub const WP_PIN_DISABLED: u8 = 0xEE;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    #[error("truncated at offset {offset:#x}: {what} needs {need} bytes, only {have} left")]
    Truncated {
        offset: usize,
        what: String,
        need: usize,
        have: usize,
    },
    #[error("invalid magic byte {found:#04x} at offset 0x0 (an ESP32 image starts with 0xe9)")]
    BadMagic { found: u8 },
    #[error("segment count {count} at offset 0x1 exceeds the maximum of 16")]
    TooManySegments { count: u8 },
    #[error("invalid hash-appended flag {value:#04x} at offset 0x17 (must be 0 or 1)")]
    BadHashFlag { value: u8 },
    #[error(
        "segment {index} at offset {offset:#x}: length {len:#x} exceeds the 16 MB image limit"
    )]
    SegmentTooLarge {
        index: usize,
        offset: usize,
        len: u32,
    },
    #[error("{check} failed at offset {offset:#x}: {detail}")]
    CheckFailed {
        check: String,
        offset: usize,
        detail: String,
    },
}

/// Where a segment's load address lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Region {
    Padding,
    Drom,
    Extram,
    RtcFast,
    Dram,
    Rom,
    Cache,
    Iram,
    Irom,
    RtcSlow,
    Unknown,
}

impl Region {
    pub fn of(addr: u32) -> Region {
        match addr {
            0..=0xFFFF => Region::Padding,
            0x3F40_0000..=0x3F7F_FFFF => Region::Drom,
            0x3F80_0000..=0x3FBF_FFFF => Region::Extram,
            0x3FF8_0000..=0x3FF8_1FFF => Region::RtcFast,
            0x3FFA_E000..=0x3FFF_FFFF => Region::Dram,
            0x4000_0000..=0x4006_FFFF => Region::Rom,
            0x4007_0000..=0x4007_FFFF => Region::Cache,
            0x4008_0000..=0x400B_FFFF => Region::Iram,
            0x400C_0000..=0x400C_1FFF => Region::RtcFast,
            0x400D_0000..=0x403F_FFFF => Region::Irom,
            0x5000_0000..=0x5000_1FFF => Region::RtcSlow,
            _ => Region::Unknown,
        }
    }

    /// Mapped from flash through the cache MMU rather than copied to RAM.
    pub fn is_flash_mapped(self) -> bool {
        matches!(self, Region::Drom | Region::Irom)
    }

    /// A second-stage bootloader can place a segment here.
    pub fn is_loadable(self) -> bool {
        !matches!(self, Region::Extram | Region::Rom | Region::Unknown)
    }

    pub fn name(self) -> &'static str {
        match self {
            Region::Padding => "PADDING",
            Region::Drom => "DROM",
            Region::Extram => "EXTRAM",
            Region::RtcFast => "RTC_FAST",
            Region::Dram => "DRAM",
            Region::Rom => "ROM",
            Region::Cache => "CACHE",
            Region::Iram => "IRAM",
            Region::Irom => "IROM",
            Region::RtcSlow => "RTC_SLOW",
            Region::Unknown => "UNKNOWN",
        }
    }
}

/// esptool's ESP32 memory map (`targets/esp32.py` MEMORY_MAP), whose names `image-info` prints and
/// whose equality decides which ELF sections `elf2image` merges.
const ESPTOOL_MEMORY_MAP: &[(u32, u32, &str)] = &[
    (0x0000_0000, 0x0001_0000, "PADDING"),
    (0x3F40_0000, 0x3F80_0000, "DROM"),
    (0x3F80_0000, 0x3FC0_0000, "EXTRAM_DATA"),
    (0x3FF8_0000, 0x3FF8_2000, "RTC_DRAM"),
    (0x3FF9_0000, 0x4000_0000, "BYTE_ACCESSIBLE"),
    (0x3FFA_E000, 0x4000_0000, "DRAM"),
    (0x3FFE_0000, 0x3FFF_FFFC, "DIRAM_DRAM"),
    (0x4000_0000, 0x4007_0000, "IROM"),
    (0x4007_0000, 0x4007_8000, "CACHE_PRO"),
    (0x4007_8000, 0x4008_0000, "CACHE_APP"),
    (0x4008_0000, 0x400A_0000, "IRAM"),
    (0x400A_0000, 0x400B_FFFC, "DIRAM_IRAM"),
    (0x400C_0000, 0x400C_2000, "RTC_IRAM"),
    (0x400D_0000, 0x4040_0000, "IROM"),
    (0x5000_0000, 0x5000_2000, "RTC_DATA"),
];

/// The memory-type names esptool gives an address (possibly several, possibly none).
pub fn esptool_memory_types(addr: u32) -> Vec<&'static str> {
    ESPTOOL_MEMORY_MAP
        .iter()
        .filter(|(lo, hi, _)| *lo <= addr && addr < *hi)
        .map(|(_, _, n)| *n)
        .collect()
}

pub fn spi_mode_name(mode: u8) -> &'static str {
    match mode {
        0 => "QIO",
        1 => "QOUT",
        2 => "DIO",
        3 => "DOUT",
        4 => "FAST_READ",
        5 => "SLOW_READ",
        _ => "unknown",
    }
}

/// Flash size encoded in the high nibble of header byte 3.
pub fn flash_size_name(size_freq: u8) -> &'static str {
    match size_freq >> 4 {
        0 => "1MB",
        1 => "2MB",
        2 => "4MB",
        3 => "8MB",
        4 => "16MB",
        5 => "32MB",
        6 => "64MB",
        7 => "128MB",
        _ => "unknown",
    }
}

pub fn flash_freq_name(size_freq: u8) -> &'static str {
    match size_freq & 0xF {
        0x0 => "40m",
        0x1 => "26m",
        0x2 => "20m",
        0xF => "80m",
        _ => "unknown",
    }
}

/// The 24-byte header, raw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageHeader {
    pub segment_count: u8,
    pub spi_mode: u8,
    pub flash_size_freq: u8,
    pub entry: u32,
    pub wp_pin: u8,
    pub spi_pin_drv: [u8; 3],
    pub chip_id: u16,
    pub min_chip_rev: u8,
    pub min_chip_rev_full: u16,
    pub max_chip_rev_full: u16,
    pub reserved: [u8; 4],
    pub hash_appended: bool,
}

impl Default for ImageHeader {
    /// What esptool `elf2image --chip esp32` writes with its defaults (QIO, 1MB, 40m).
    fn default() -> Self {
        ImageHeader {
            segment_count: 0,
            spi_mode: 0,
            flash_size_freq: 0,
            entry: 0,
            wp_pin: WP_PIN_DISABLED,
            spi_pin_drv: [0; 3],
            chip_id: ESP32_CHIP_ID,
            min_chip_rev: 0,
            min_chip_rev_full: 0,
            max_chip_rev_full: 65535,
            reserved: [0; 4],
            hash_appended: true,
        }
    }
}

impl ImageHeader {
    fn parse(data: &[u8]) -> Result<ImageHeader, ImageError> {
        if data.is_empty() {
            return Err(ImageError::Truncated {
                offset: 0,
                what: "image header".into(),
                need: HEADER_LEN,
                have: 0,
            });
        }
        if data[0] != IMAGE_MAGIC {
            return Err(ImageError::BadMagic { found: data[0] });
        }
        if data.len() < HEADER_LEN {
            return Err(ImageError::Truncated {
                offset: 0,
                what: "image header".into(),
                need: HEADER_LEN,
                have: data.len(),
            });
        }
        let hash_flag = data[23];
        if hash_flag > 1 {
            return Err(ImageError::BadHashFlag { value: hash_flag });
        }
        let h = ImageHeader {
            segment_count: data[1],
            spi_mode: data[2],
            flash_size_freq: data[3],
            entry: le_u32(data, 4).unwrap_or(0),
            wp_pin: data[8],
            spi_pin_drv: [data[9], data[10], data[11]],
            chip_id: le_u16(data, 12).unwrap_or(0),
            min_chip_rev: data[14],
            min_chip_rev_full: le_u16(data, 15).unwrap_or(0),
            max_chip_rev_full: le_u16(data, 17).unwrap_or(0),
            reserved: [data[19], data[20], data[21], data[22]],
            hash_appended: hash_flag == 1,
        };
        if h.segment_count as usize > MAX_SEGMENTS {
            return Err(ImageError::TooManySegments {
                count: h.segment_count,
            });
        }
        Ok(h)
    }

    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = IMAGE_MAGIC;
        b[1] = self.segment_count;
        b[2] = self.spi_mode;
        b[3] = self.flash_size_freq;
        b[4..8].copy_from_slice(&self.entry.to_le_bytes());
        b[8] = self.wp_pin;
        b[9..12].copy_from_slice(&self.spi_pin_drv);
        b[12..14].copy_from_slice(&self.chip_id.to_le_bytes());
        b[14] = self.min_chip_rev;
        b[15..17].copy_from_slice(&self.min_chip_rev_full.to_le_bytes());
        b[17..19].copy_from_slice(&self.max_chip_rev_full.to_le_bytes());
        b[19..23].copy_from_slice(&self.reserved);
        b[23] = self.hash_appended as u8;
        b
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub index: usize,
    /// Offset of the 8-byte segment header (what esptool prints as "File offs").
    pub header_offset: usize,
    pub data_offset: usize,
    pub load_addr: u32,
    pub len: u32,
    pub region: Region,
    pub memory_types: Vec<&'static str>,
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// The ESP-IDF application description.
#[derive(Debug, Clone, Serialize)]
pub struct AppDesc {
    pub offset: usize,
    pub secure_version: u32,
    pub version: String,
    pub project_name: String,
    pub time: String,
    pub date: String,
    pub idf_version: String,
    pub app_elf_sha256: String,
}

impl AppDesc {
    /// Parses the description at the start of `data` (a segment's bytes), if the magic is there.
    pub fn parse(data: &[u8], offset: usize) -> Option<AppDesc> {
        if le_u32(data, 0)? != APP_DESC_MAGIC || data.len() < 0xB0 + 32 {
            return None;
        }
        Some(AppDesc {
            offset,
            secure_version: le_u32(data, 4)?,
            version: c_string(&data[0x10..0x30]),
            project_name: c_string(&data[0x30..0x50]),
            time: c_string(&data[0x50..0x60]),
            date: c_string(&data[0x60..0x70]),
            idf_version: c_string(&data[0x70..0x90]),
            app_elf_sha256: hex(&data[0x90..0xB0]),
        })
    }
}

/// One validation result: which check, where, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub offset: usize,
    pub detail: String,
}

impl Check {
    pub fn new(
        name: impl Into<String>,
        ok: bool,
        offset: usize,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            ok,
            offset,
            detail: detail.into(),
        }
    }
}

/// First failing check as an error, or Ok.
pub fn first_failure(checks: &[Check]) -> Result<(), ImageError> {
    match checks.iter().find(|c| !c.ok) {
        Some(c) => Err(ImageError::CheckFailed {
            check: c.name.clone(),
            offset: c.offset,
            detail: c.detail.clone(),
        }),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecksumInfo {
    pub offset: usize,
    pub stored: u8,
    pub computed: u8,
    pub valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestInfo {
    pub offset: usize,
    pub stored: String,
    pub computed: String,
    pub valid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageKind {
    /// Has flash-mapped (DROM/IROM) segments: an application.
    App,
    /// RAM segments only: what the ROM loads, i.e. a second-stage bootloader.
    Bootloader,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppImage {
    pub kind: ImageKind,
    pub header: ImageHeader,
    pub entry: u32,
    pub flash_mode: &'static str,
    pub flash_size: &'static str,
    pub flash_freq: &'static str,
    pub segments: Vec<Segment>,
    pub checksum: ChecksumInfo,
    pub sha256: Option<DigestInfo>,
    /// Bytes from the header to the end of the checksum or digest.
    pub length: usize,
    pub app_desc: Option<AppDesc>,
    /// The MicroPython banner ("Pycom MicroPython 1.20.2.r7 [...] on ...; LoPy4 with ESP32"), if found.
    pub banner: Option<String>,
    pub checks: Vec<Check>,
}

const BANNER_PREFIX: &[u8] = b"Pycom MicroPython ";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// XOR of all bytes, seeded with 0xEF (esptool's and the ROM's image checksum).
pub fn checksum(seed: u8, data: &[u8]) -> u8 {
    // Fold words first: the same result as byte-wise XOR, quicker on megabytes.
    let mut acc = 0u64;
    let chunks = data.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        acc ^= u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    let mut x = seed;
    for b in acc.to_le_bytes() {
        x ^= b;
    }
    for &b in rest {
        x ^= b;
    }
    x
}

impl AppImage {
    /// Parses an image at the start of `data` (trailing bytes, e.g. 0xFF flash, are ignored).
    pub fn parse(data: &[u8]) -> Result<AppImage, ImageError> {
        let header = ImageHeader::parse(data)?;
        let mut pos = HEADER_LEN;
        let mut segments = Vec::with_capacity(header.segment_count as usize);
        let mut sum = CHECKSUM_SEED;
        for index in 0..header.segment_count as usize {
            let have = data.len().saturating_sub(pos);
            if have < SEGMENT_HEADER_LEN {
                return Err(ImageError::Truncated {
                    offset: pos,
                    what: format!("segment {index} header"),
                    need: SEGMENT_HEADER_LEN,
                    have,
                });
            }
            let load_addr = le_u32(data, pos).unwrap_or(0);
            let len = le_u32(data, pos + 4).unwrap_or(0);
            if len as usize >= MAX_IMAGE_LEN {
                return Err(ImageError::SegmentTooLarge {
                    index,
                    offset: pos,
                    len,
                });
            }
            let data_offset = pos + SEGMENT_HEADER_LEN;
            let have = data.len().saturating_sub(data_offset);
            if have < len as usize {
                return Err(ImageError::Truncated {
                    offset: data_offset,
                    what: format!("segment {index} data ({len:#x} bytes for {load_addr:#010x})"),
                    need: len as usize,
                    have,
                });
            }
            let seg_data = data[data_offset..data_offset + len as usize].to_vec();
            sum = checksum(sum, &seg_data);
            segments.push(Segment {
                index,
                header_offset: pos,
                data_offset,
                load_addr,
                len,
                region: Region::of(load_addr),
                memory_types: esptool_memory_types(load_addr),
                data: seg_data,
            });
            pos = data_offset + len as usize;
        }
        // The checksum is the last byte of the 16-byte block that follows the segments.
        let checksum_offset = pos + (15 - pos % 16);
        let stored = *data
            .get(checksum_offset)
            .ok_or_else(|| ImageError::Truncated {
                offset: pos,
                what: "checksum padding and byte".into(),
                need: checksum_offset + 1 - pos,
                have: data.len().saturating_sub(pos),
            })?;
        let checksum_info = ChecksumInfo {
            offset: checksum_offset,
            stored,
            computed: sum,
            valid: stored == sum,
        };
        let mut length = checksum_offset + 1;
        let sha256 = if header.hash_appended {
            let stored =
                data.get(length..length + DIGEST_LEN)
                    .ok_or_else(|| ImageError::Truncated {
                        offset: length,
                        what: "appended SHA-256".into(),
                        need: DIGEST_LEN,
                        have: data.len().saturating_sub(length),
                    })?;
            let computed = Sha256::digest(&data[..length]);
            let info = DigestInfo {
                offset: length,
                stored: hex(stored),
                computed: hex(&computed),
                valid: stored == computed.as_slice(),
            };
            length += DIGEST_LEN;
            Some(info)
        } else {
            None
        };
        if length > MAX_IMAGE_LEN {
            return Err(ImageError::SegmentTooLarge {
                index: segments.len(),
                offset: 0,
                len: length as u32,
            });
        }

        let kind = if segments.iter().any(|s| s.region.is_flash_mapped()) {
            ImageKind::App
        } else {
            ImageKind::Bootloader
        };
        let app_desc = segments
            .iter()
            .find(|s| s.region == Region::Drom)
            .and_then(|s| AppDesc::parse(&s.data, s.data_offset));
        let banner = segments
            .iter()
            .filter(|s| s.region == Region::Drom)
            .find_map(|s| {
                let at = find(&s.data, BANNER_PREFIX)?;
                let rest = &s.data[at..];
                let end = rest
                    .iter()
                    .take(200)
                    .position(|&b| b == 0 || b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len().min(200));
                Some(c_string(&rest[..end]))
            });

        let mut img = AppImage {
            kind,
            entry: header.entry,
            flash_mode: spi_mode_name(header.spi_mode),
            flash_size: flash_size_name(header.flash_size_freq),
            flash_freq: flash_freq_name(header.flash_size_freq),
            header,
            segments,
            checksum: checksum_info,
            sha256,
            length,
            app_desc,
            banner,
            checks: Vec::new(),
        };
        img.checks = img.run_checks();
        Ok(img)
    }

    fn run_checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let h = &self.header;
        checks.push(Check::new(
            "chip id",
            h.chip_id == ESP32_CHIP_ID,
            12,
            format!(
                "chip id {} ({})",
                h.chip_id,
                if h.chip_id == 0 {
                    "ESP32"
                } else {
                    "not an ESP32 image"
                }
            ),
        ));
        for s in &self.segments {
            checks.push(Check::new(
                format!("segment {} length", s.index),
                s.len % 4 == 0,
                s.header_offset + 4,
                format!("length {:#x} must be a multiple of 4", s.len),
            ));
            checks.push(Check::new(
                format!("segment {} load address", s.index),
                s.region.is_loadable(),
                s.header_offset,
                format!("{:#010x} is in {}", s.load_addr, s.region.name()),
            ));
            if s.region.is_flash_mapped() {
                let ok = s.data_offset as u32 % MMU_PAGE == s.load_addr % MMU_PAGE;
                checks.push(Check::new(
                    format!("segment {} MMU alignment", s.index),
                    ok,
                    s.data_offset,
                    format!(
                        "data at image offset {:#x} must be congruent to {:#010x} modulo 64 KB to be mapped",
                        s.data_offset, s.load_addr
                    ),
                ));
            }
        }
        // Overlapping load ranges would let one segment overwrite another.
        for (i, a) in self.segments.iter().enumerate() {
            if a.region == Region::Padding || a.len == 0 {
                continue;
            }
            for b in &self.segments[i + 1..] {
                if b.region == Region::Padding || b.len == 0 {
                    continue;
                }
                let (a0, a1) = (a.load_addr as u64, a.load_addr as u64 + a.len as u64);
                let (b0, b1) = (b.load_addr as u64, b.load_addr as u64 + b.len as u64);
                if a0 < b1 && b0 < a1 {
                    checks.push(Check::new(
                        format!("segment {} overlap", b.index),
                        false,
                        b.header_offset,
                        format!(
                            "segment {} [{:#010x}..{:#010x}) overlaps segment {} [{:#010x}..{:#010x})",
                            b.index, b0, b1, a.index, a0, a1
                        ),
                    ));
                }
            }
        }
        checks.push(Check::new(
            "checksum",
            self.checksum.valid,
            self.checksum.offset,
            format!(
                "stored {:#04x}, calculated {:#04x}",
                self.checksum.stored, self.checksum.computed
            ),
        ));
        if let Some(d) = &self.sha256 {
            checks.push(Check::new(
                "sha256",
                d.valid,
                d.offset,
                format!("stored {}, calculated {}", d.stored, d.computed),
            ));
        }
        checks
    }

    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// Ok, or the first check that failed (name, offset, detail).
    pub fn verify(&self) -> Result<(), ImageError> {
        first_failure(&self.checks)
    }

    /// A version string: the app description's, else the one in the MicroPython banner.
    pub fn version(&self) -> Option<String> {
        if let Some(d) = &self.app_desc {
            if !d.version.is_empty() {
                return Some(d.version.clone());
            }
        }
        let b = self.banner.as_ref()?;
        b.strip_prefix("Pycom MicroPython ")?
            .split_whitespace()
            .next()
            .map(str::to_string)
    }

    /// Checks that need to know where the image will live: it must fit its partition.
    pub fn check_fits(&self, partition_size: u64) -> Check {
        Check::new(
            "image size",
            self.length as u64 <= partition_size,
            0,
            format!(
                "image is {:#x} bytes, partition holds {:#x}",
                self.length, partition_size
            ),
        )
    }
}

/// The image with the flash size in its header set to `flash_size` bytes and, if given, the
/// SPI mode and frequency (`(mode, freq nibble)`) too, as esptool's `write_flash --flash-size
/// --flash-mode --flash-freq` patch a bootloader: the header is not under the checksum but is
/// under the appended SHA-256, which is computed again. The image must be valid.
pub fn with_flash_params(
    data: &[u8],
    flash_size: u64,
    mode_freq: Option<(u8, u8)>,
) -> Result<Vec<u8>, ImageError> {
    let img = AppImage::parse(data)?;
    img.verify()?;
    let mb = (flash_size >> 20).max(1);
    // 1 MB → 0, 2 MB → 1, 4 MB → 2, … (a power of two).
    let code = mb.trailing_zeros().min(7) as u8;
    let mut out = data[..img.length].to_vec();
    out[3] = (out[3] & 0x0F) | (code << 4);
    if let Some((mode, freq)) = mode_freq {
        out[2] = mode;
        out[3] = (out[3] & 0xF0) | (freq & 0x0F);
    }
    if let Some(d) = &img.sha256 {
        let digest = Sha256::digest(&out[..d.offset]);
        out[d.offset..d.offset + DIGEST_LEN].copy_from_slice(&digest);
    }
    Ok(out)
}

/// Serialises an image: header (segment count and hash flag taken from the arguments), segments in
/// the order given, checksum and, if `header.hash_appended`, the SHA-256.
pub fn write_image(header: &ImageHeader, segments: &[(u32, &[u8])]) -> Vec<u8> {
    let mut h = header.clone();
    h.segment_count = segments.len().min(255) as u8;
    let mut out = Vec::new();
    out.extend_from_slice(&h.to_bytes());
    let mut sum = CHECKSUM_SEED;
    for (addr, data) in segments {
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        sum = checksum(sum, data);
    }
    append_checksum_and_digest(&mut out, sum, h.hash_appended);
    out
}

/// Pads with zeros so the checksum is the last byte of a 16-byte block, then appends the digest.
pub(crate) fn append_checksum_and_digest(out: &mut Vec<u8>, sum: u8, digest: bool) {
    let pad = 15 - out.len() % 16;
    out.extend(std::iter::repeat_n(0u8, pad));
    out.push(sum);
    if digest {
        let d = Sha256::digest(&out[..]);
        out.extend_from_slice(&d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let h = ImageHeader {
            entry: 0x4008_0000,
            spi_mode: 2,
            flash_size_freq: 0x2F,
            ..Default::default()
        };
        write_image(
            &h,
            &[(0x3FFB_0000, &[1, 2, 3, 4]), (0x4008_0000, &[0xAA; 16])],
        )
    }

    #[test]
    fn written_image_parses_and_validates() {
        let bytes = sample();
        let img = AppImage::parse(&bytes).unwrap();
        assert!(img.is_valid(), "{:?}", img.checks);
        assert_eq!(img.kind, ImageKind::Bootloader);
        assert_eq!(img.segments.len(), 2);
        assert_eq!(img.entry, 0x4008_0000);
        assert_eq!(img.flash_mode, "DIO");
        assert_eq!(img.flash_size, "4MB");
        assert_eq!(img.flash_freq, "80m");
        assert_eq!(img.length, bytes.len());
        assert_eq!((img.checksum.offset + 1) % 16, 0);
    }

    #[test]
    fn flash_size_patch_keeps_the_image_valid() {
        let bytes = sample();
        let patched = with_flash_params(&bytes, 8 << 20, None).unwrap();
        let img = AppImage::parse(&patched).unwrap();
        assert!(img.is_valid(), "{:?}", img.checks);
        assert_eq!(img.flash_size, "8MB");
        assert_eq!(img.flash_freq, "80m");
        assert_eq!(with_flash_params(&patched, 4 << 20, None).unwrap(), bytes);
        let qio40 = AppImage::parse(&with_flash_params(&bytes, 2 << 20, Some((0, 0))).unwrap()).unwrap();
        assert!(qio40.is_valid(), "{:?}", qio40.checks);
        assert_eq!((qio40.flash_mode, qio40.flash_size, qio40.flash_freq), ("QIO", "2MB", "40m"));
        let mut broken = bytes.clone();
        broken[30] ^= 1;
        assert!(with_flash_params(&broken, 8 << 20, None).is_err());
    }

    #[test]
    fn corrupt_checksum_is_reported_with_offset() {
        let mut bytes = sample();
        let off = AppImage::parse(&bytes).unwrap().checksum.offset;
        bytes[off] ^= 1;
        let img = AppImage::parse(&bytes).unwrap();
        match img.verify() {
            Err(ImageError::CheckFailed { check, offset, .. }) => {
                assert_eq!(check, "checksum");
                assert_eq!(offset, off);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn corrupt_data_fails_checksum_and_hash() {
        let mut bytes = sample();
        bytes[HEADER_LEN + 8] ^= 0x10;
        let img = AppImage::parse(&bytes).unwrap();
        let failed: Vec<_> = img
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["checksum", "sha256"]);
    }

    #[test]
    fn wrong_chip_and_truncation_and_overlap() {
        let h = ImageHeader {
            chip_id: 2,
            ..Default::default()
        };
        let img = AppImage::parse(&write_image(&h, &[(0x3FFB_0000, &[0; 8])])).unwrap();
        assert!(matches!(
            img.verify(),
            Err(ImageError::CheckFailed { offset: 12, .. })
        ));

        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(AppImage::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }

        let h = ImageHeader::default();
        let img = AppImage::parse(&write_image(
            &h,
            &[(0x3FFB_0000, &[0; 16]), (0x3FFB_0008, &[0; 8])],
        ))
        .unwrap();
        assert!(img
            .checks
            .iter()
            .any(|c| c.name == "segment 1 overlap" && !c.ok));
    }

    #[test]
    fn regions() {
        assert_eq!(Region::of(0x3F40_0020), Region::Drom);
        assert_eq!(Region::of(0x400D_0018), Region::Irom);
        assert_eq!(Region::of(0x4009_FA00), Region::Iram);
        assert_eq!(Region::of(0x5000_0000), Region::RtcSlow);
        assert_eq!(Region::of(0x400C_0000), Region::RtcFast);
        assert_eq!(
            esptool_memory_types(0x3FFF_8020),
            ["BYTE_ACCESSIBLE", "DRAM", "DIRAM_DRAM"]
        );
    }
}
