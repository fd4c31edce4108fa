//! Telling what a file is, from its bytes (and, for ambiguous erased sectors, its size).
//!
//! | test, in order | kind |
//! |---|---|
//! | starts 1F 8B (gzip) or has `ustar` at 257 | bundle |
//! | starts 7F `ELF` | ELF |
//! | ≥ 0x9000 bytes, and an image header that parses at 0x1000 or a partition table at 0x8000 | merged flash dump from offset 0 |
//! | starts 0xE9 | app image (has DROM/IROM segments) or bootloader image (RAM only) |
//! | starts AA 50 | partition table |
//! | 40 bytes, or ≥ 40 with a matching boot_info CRC | otadata / boot_info |
//! | 1024 or 4096 bytes that pass [`ConfigBlock::evidence`] (it has no magic) | config block |
//!
//! [`check_flash_dump`] is stricter, for `flash info`: a whole chip (a power of two from 64 KB to
//! 16 MB) that is a merged dump by the rules above, or entirely erased.

use crate::app_image::{AppImage, ImageKind};
use crate::boot_info::BootInfo;
use crate::config_block::ConfigBlock;
use crate::partition::{PartitionTable, TABLE_MAX_LEN};
use serde::Serialize;
use thiserror::Error;

/// Smallest and largest whole-chip flash dump (the ESP32 maps at most 16 MB).
pub const MIN_CHIP: usize = 0x10000;
pub const MAX_CHIP: usize = 0x100_0000;
/// A merged dump must reach past the partition table.
pub const MIN_DUMP: usize = 0x9000;

/// Why a file is not taken as a whole flash chip.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NotFlashDump {
    #[error("this is {}, not a flash dump", .0.with_article())]
    OtherKind(FileKind),
    #[error("{0} bytes is too small for a flash dump (the partition table alone ends at 0x8c00)")]
    TooSmall(usize),
    #[error("{0:#x} bytes is not the size of a flash chip (a power of two, 64 KB to 16 MB)")]
    NotChipSize(usize),
    #[error("neither an image at 0x1000 (bootloader) nor a partition table at 0x8000, and not erased: not a flash dump")]
    NoEvidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Bundle,
    Elf,
    FlashDump,
    AppImage,
    BootloaderImage,
    PartitionTable,
    BootInfo,
    ConfigBlock,
    Unknown,
}

impl FileKind {
    pub const NAMES: &'static [(&'static str, FileKind)] = &[
        ("bundle", FileKind::Bundle),
        ("elf", FileKind::Elf),
        ("flash", FileKind::FlashDump),
        ("app", FileKind::AppImage),
        ("bootloader", FileKind::BootloaderImage),
        ("partitions", FileKind::PartitionTable),
        ("boot-info", FileKind::BootInfo),
        ("config", FileKind::ConfigBlock),
    ];

    pub fn from_name(s: &str) -> Option<FileKind> {
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }

    /// "a …" or "an …".
    pub fn with_article(self) -> String {
        let d = self.describe();
        let an = d.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']);
        format!("{} {d}", if an { "an" } else { "a" })
    }

    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Bundle => "Pycom firmware bundle",
            FileKind::Elf => "ELF file",
            FileKind::FlashDump => "flash dump",
            FileKind::AppImage => "ESP32 app image",
            FileKind::BootloaderImage => "ESP32 bootloader image",
            FileKind::PartitionTable => "partition table",
            FileKind::BootInfo => "Pycom boot_info record (otadata)",
            FileKind::ConfigBlock => "Pycom config block",
            FileKind::Unknown => "unknown",
        }
    }
}

pub fn detect(data: &[u8]) -> FileKind {
    if data.starts_with(&[0x1F, 0x8B]) || data.get(257..262) == Some(b"ustar") {
        return FileKind::Bundle;
    }
    if data.starts_with(b"\x7FELF") {
        return FileKind::Elf;
    }
    if looks_like_merged_dump(data) {
        return FileKind::FlashDump;
    }
    if data.first() == Some(&0xE9) {
        return match AppImage::parse(data) {
            Ok(img) if img.kind == ImageKind::Bootloader => FileKind::BootloaderImage,
            _ => FileKind::AppImage,
        };
    }
    if data.starts_with(&[0xAA, 0x50]) {
        return FileKind::PartitionTable;
    }
    if data.len() == 40
        || (data.len() >= 40 && BootInfo::read(data).map(|r| r.crc_valid).unwrap_or(false))
    {
        return FileKind::BootInfo;
    }
    if ConfigBlock::looks_like(data) {
        return FileKind::ConfigBlock;
    }
    FileKind::Unknown
}

/// A bootloader image header that parses at 0x1000, or a partition table that parses at 0x8000.
fn looks_like_merged_dump(data: &[u8]) -> bool {
    if data.len() < MIN_DUMP {
        return false;
    }
    let boot = &data[0x1000..0x8000];
    let table = &data[0x8000..data.len().min(0x8000 + TABLE_MAX_LEN)];
    (boot[0] == 0xE9 && AppImage::parse(boot).is_ok())
        || (table.starts_with(&[0xAA, 0x50]) && PartitionTable::parse(table).is_ok())
}

/// Whether `data` is a whole flash chip's contents, as `flash info` wants; else why not.
pub fn check_flash_dump(data: &[u8]) -> Result<(), NotFlashDump> {
    let kind = detect(data);
    if !matches!(kind, FileKind::FlashDump | FileKind::Unknown) {
        return Err(NotFlashDump::OtherKind(kind));
    }
    if data.len() < MIN_DUMP {
        return Err(NotFlashDump::TooSmall(data.len()));
    }
    if !data.len().is_power_of_two() || !(MIN_CHIP..=MAX_CHIP).contains(&data.len()) {
        return Err(NotFlashDump::NotChipSize(data.len()));
    }
    if kind == FileKind::Unknown && data.iter().any(|&b| b != 0xFF) {
        return Err(NotFlashDump::NoEvidence);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_image::{write_image, ImageHeader};

    fn bootloader() -> Vec<u8> {
        write_image(&ImageHeader::default(), &[(0x3FFB_0000, &[1u8; 32])])
    }

    #[test]
    fn sizes_alone_make_no_config_block() {
        let text: Vec<u8> = b"plain text\n".iter().copied().cycle().take(4096).collect();
        assert_eq!(detect(&text), FileKind::Unknown);
        assert_eq!(detect(&text[..1024]), FileKind::Unknown);
        assert_eq!(detect(&[0u8; 1024]), FileKind::Unknown);
        assert_eq!(
            detect(&ConfigBlock::erased().to_sector()),
            FileKind::ConfigBlock
        );
    }

    #[test]
    fn flash_dumps_need_evidence_and_a_chip_size() {
        let mut f = vec![0xFFu8; 0x40_0000];
        assert_eq!(check_flash_dump(&f), Ok(()));
        f[0x1000] = 0xE9; // a magic byte alone is no image
        assert_eq!(detect(&f), FileKind::Unknown);
        assert_eq!(check_flash_dump(&f), Err(NotFlashDump::NoEvidence));
        let b = bootloader();
        f[0x1000..0x1000 + b.len()].copy_from_slice(&b);
        assert_eq!(detect(&f), FileKind::FlashDump);
        assert_eq!(check_flash_dump(&f), Ok(()));
        assert_eq!(
            check_flash_dump(&f[..0x12000]),
            Err(NotFlashDump::NotChipSize(0x12000))
        );
        assert_eq!(
            check_flash_dump(&f[..0x100]),
            Err(NotFlashDump::TooSmall(0x100))
        );
        let mut gz = vec![0u8; 0x10_0000];
        gz[..2].copy_from_slice(&[0x1F, 0x8B]);
        assert_eq!(
            check_flash_dump(&gz),
            Err(NotFlashDump::OtherKind(FileKind::Bundle))
        );
    }
}
