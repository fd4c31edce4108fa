//! Telling what a file is, from its bytes (and, for ambiguous erased sectors, its size).
//!
//! | test, in order | kind |
//! |---|---|
//! | starts 1F 8B (gzip) or has `ustar` at 257 | bundle |
//! | starts 7F `ELF` | ELF |
//! | ≥ 0x9000 bytes, and 0xE9 at 0x1000 or AA 50 at 0x8000 | merged flash dump from offset 0 |
//! | starts 0xE9 | app image (has DROM/IROM segments) or bootloader image (RAM only) |
//! | starts AA 50 | partition table |
//! | 40 bytes, or ≥ 40 with a matching boot_info CRC | otadata / boot_info |
//! | 1024 or 4096 bytes | config block |

use crate::app_image::{AppImage, ImageKind};
use crate::boot_info::BootInfo;
use serde::Serialize;

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
    if data.len() >= 0x9000 && (data[0x1000] == 0xE9 || data[0x8000..0x8002] == [0xAA, 0x50]) {
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
    if data.len() == 1024 || data.len() == 4096 {
        return FileKind::ConfigBlock;
    }
    FileKind::Unknown
}
