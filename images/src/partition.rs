//! ESP-IDF partition tables (at flash 0x8000, 0xC00 bytes: at most 95 entries + MD5 entry).
//!
//! Each entry is 32 bytes, little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic 0x50AA (bytes AA 50) |
//! | 2 | 1 | type: 0 app, 1 data |
//! | 3 | 1 | subtype (tables below) |
//! | 4 | 4 | offset in flash |
//! | 8 | 4 | size |
//! | 12 | 16 | label, NUL-padded |
//! | 28 | 4 | flags: bit 0 encrypted |
//!
//! An entry with magic 0xEBEB (bytes EB EB, then 14 × 0xFF) carries at byte 16 the MD5 of all the
//! entries before it. An entry of 0xFF bytes ends the table.
//!
//! | type | subtypes |
//! |---|---|
//! | app (0) | 0x00 factory, 0x10–0x1F ota_0–ota_15, 0x20 test |
//! | data (1) | 0x00 ota, 0x01 phy, 0x02 nvs, 0x03 coredump, 0x04 nvs_keys, 0x80 esphttpd, 0x81 fat, 0x82 spiffs, 0x83 littlefs |
//!
//! Pycom's tables use data subtypes 5 (`fs`), 6 (`config`) and 7 (`dummy`), which IDF 3.3 leaves
//! unnamed (later IDF calls 5 `efuse` and 6 `undefined`); they are shown as numbers.

use crate::app_image::Check;
use crate::util::le_u32;
use md5::{Digest, Md5};
use serde::Serialize;
use thiserror::Error;

pub const TABLE_OFFSET: u64 = 0x8000;
pub const TABLE_MAX_LEN: usize = 0xC00;
pub const ENTRY_LEN: usize = 32;
pub const ENTRY_MAGIC: [u8; 2] = [0xAA, 0x50];
pub const MD5_MAGIC: [u8; 2] = [0xEB, 0xEB];
pub const FLAG_ENCRYPTED: u32 = 1;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PartitionError {
    #[error("entry {index} at offset {offset:#x} has invalid magic {found:#06x} (expected 0x50aa, 0xebeb or 0xffff)")]
    BadMagic {
        index: usize,
        offset: usize,
        found: u16,
    },
    #[error("truncated at offset {offset:#x}: a 32-byte entry is cut short")]
    Truncated { offset: usize },
    #[error("no end marker within {limit:#x} bytes")]
    NoEnd { limit: usize },
    #[error("empty partition table: the first entry at offset 0x0 is the end marker")]
    Empty,
    #[error("{check} failed at offset {offset:#x}: {detail}")]
    CheckFailed {
        check: String,
        offset: usize,
        detail: String,
    },
    #[error("too many partitions: {0} (at most 95 fit in 0xc00 bytes with the MD5 entry)")]
    TooMany(usize),
    #[error("partition label {0:?} is longer than 16 bytes")]
    LabelTooLong(String),
}

pub const TYPE_APP: u8 = 0;
pub const TYPE_DATA: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partition {
    pub label: String,
    pub ptype: u8,
    pub subtype: u8,
    pub offset: u32,
    pub size: u32,
    pub flags: u32,
    /// Offset of this entry inside the table.
    pub entry_offset: usize,
}

impl Partition {
    pub fn new(
        label: &str,
        ptype: u8,
        subtype: u8,
        offset: u32,
        size: u32,
        flags: u32,
    ) -> Partition {
        Partition {
            label: label.to_string(),
            ptype,
            subtype,
            offset,
            size,
            flags,
            entry_offset: 0,
        }
    }

    pub fn type_name(&self) -> String {
        match self.ptype {
            TYPE_APP => "app".into(),
            TYPE_DATA => "data".into(),
            t => format!("{t:#04x}"),
        }
    }

    pub fn subtype_name(&self) -> String {
        match (self.ptype, self.subtype) {
            (TYPE_APP, 0x00) => "factory".into(),
            (TYPE_APP, s @ 0x10..=0x1F) => format!("ota_{}", s - 0x10),
            (TYPE_APP, 0x20) => "test".into(),
            (TYPE_DATA, 0x00) => "ota".into(),
            (TYPE_DATA, 0x01) => "phy".into(),
            (TYPE_DATA, 0x02) => "nvs".into(),
            (TYPE_DATA, 0x03) => "coredump".into(),
            (TYPE_DATA, 0x04) => "nvs_keys".into(),
            (TYPE_DATA, 0x80) => "esphttpd".into(),
            (TYPE_DATA, 0x81) => "fat".into(),
            (TYPE_DATA, 0x82) => "spiffs".into(),
            (TYPE_DATA, 0x83) => "littlefs".into(),
            (_, s) => format!("{s:#04x}"),
        }
    }

    pub fn is_app(&self) -> bool {
        self.ptype == TYPE_APP
    }

    pub fn end(&self) -> u64 {
        self.offset as u64 + self.size as u64
    }

    pub fn encrypted(&self) -> bool {
        self.flags & FLAG_ENCRYPTED != 0
    }

    fn to_bytes(&self) -> Result<[u8; ENTRY_LEN], PartitionError> {
        let mut b = [0u8; ENTRY_LEN];
        b[0..2].copy_from_slice(&ENTRY_MAGIC);
        b[2] = self.ptype;
        b[3] = self.subtype;
        b[4..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.size.to_le_bytes());
        let label = self.label.as_bytes();
        if label.len() > 16 {
            return Err(PartitionError::LabelTooLong(self.label.clone()));
        }
        b[12..12 + label.len()].copy_from_slice(label);
        b[28..32].copy_from_slice(&self.flags.to_le_bytes());
        Ok(b)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Md5Entry {
    pub offset: usize,
    pub stored: String,
    pub computed: String,
    pub valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionTable {
    pub partitions: Vec<Partition>,
    pub md5: Option<Md5Entry>,
    /// Offset of the end marker.
    pub end_offset: usize,
    pub checks: Vec<Check>,
}

impl PartitionTable {
    /// Parses a table from the start of `data` (which may be a whole flash region: parsing stops at
    /// the end marker, and never reads past 0xC00 bytes).
    pub fn parse(data: &[u8]) -> Result<PartitionTable, PartitionError> {
        let mut partitions = Vec::new();
        let mut md5 = None;
        let mut off = 0;
        let end_offset = loop {
            if off + ENTRY_LEN > TABLE_MAX_LEN {
                return Err(PartitionError::NoEnd {
                    limit: TABLE_MAX_LEN,
                });
            }
            if off + ENTRY_LEN > data.len() {
                return Err(PartitionError::Truncated { offset: off });
            }
            let e = &data[off..off + ENTRY_LEN];
            match [e[0], e[1]] {
                ENTRY_MAGIC => {
                    let label = &e[12..28];
                    let end = label.iter().position(|&b| b == 0).unwrap_or(16);
                    partitions.push(Partition {
                        label: String::from_utf8_lossy(&label[..end]).into_owned(),
                        ptype: e[2],
                        subtype: e[3],
                        offset: le_u32(e, 4).unwrap_or(0),
                        size: le_u32(e, 8).unwrap_or(0),
                        flags: le_u32(e, 28).unwrap_or(0),
                        entry_offset: off,
                    });
                }
                MD5_MAGIC => {
                    let computed = Md5::digest(&data[..off]);
                    let stored = &e[16..32];
                    md5 = Some(Md5Entry {
                        offset: off,
                        stored: crate::util::hex(stored),
                        computed: crate::util::hex(&computed),
                        valid: stored == computed.as_slice(),
                    });
                }
                [0xFF, 0xFF] => break off,
                _ => {
                    return Err(PartitionError::BadMagic {
                        index: off / ENTRY_LEN,
                        offset: off,
                        found: u16::from_le_bytes([e[0], e[1]]),
                    })
                }
            }
            off += ENTRY_LEN;
        };
        if partitions.is_empty() {
            return Err(PartitionError::Empty);
        }
        let mut t = PartitionTable {
            partitions,
            md5,
            end_offset,
            checks: Vec::new(),
        };
        t.checks = t.run_checks(None);
        Ok(t)
    }

    /// Checks: MD5, overlaps, alignment, duplicate names and, given a flash size, the flash end.
    pub fn run_checks(&self, flash_size: Option<u64>) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(m) = &self.md5 {
            checks.push(Check::new(
                "partition table md5",
                m.valid,
                m.offset + 16,
                format!("stored {}, calculated {}", m.stored, m.computed),
            ));
        }
        for (i, p) in self.partitions.iter().enumerate() {
            // App partitions are mapped through the 64 KB MMU; everything is erased in 4 KB sectors.
            let align = if p.is_app() { 0x10000 } else { 0x1000 };
            checks.push(Check::new(
                format!("partition {} alignment", p.label),
                p.offset % align == 0,
                p.entry_offset + 4,
                format!("offset {:#x} must be a multiple of {:#x}", p.offset, align),
            ));
            if (p.offset as u64) < TABLE_OFFSET + TABLE_MAX_LEN as u64 {
                checks.push(Check::new(
                    format!("partition {} offset", p.label),
                    false,
                    p.entry_offset + 4,
                    format!("offset {:#x} overlaps the bootloader or the partition table (below 0x9000)", p.offset),
                ));
            }
            if let Some(fs) = flash_size {
                checks.push(Check::new(
                    format!("partition {} within flash", p.label),
                    p.end() <= fs,
                    p.entry_offset + 8,
                    format!(
                        "[{:#x}..{:#x}) must end within the {:#x}-byte flash",
                        p.offset,
                        p.end(),
                        fs
                    ),
                ));
            }
            for q in &self.partitions[..i] {
                if (p.offset as u64) < q.end() && (q.offset as u64) < p.end() {
                    checks.push(Check::new(
                        format!("partition {} overlap", p.label),
                        false,
                        p.entry_offset + 4,
                        format!(
                            "{} [{:#x}..{:#x}) overlaps {} [{:#x}..{:#x})",
                            p.label,
                            p.offset,
                            p.end(),
                            q.label,
                            q.offset,
                            q.end()
                        ),
                    ));
                }
                if !p.label.is_empty() && p.label == q.label {
                    checks.push(Check::new(
                        format!("partition {} name", p.label),
                        false,
                        p.entry_offset + 12,
                        format!("label {:?} is used twice", p.label),
                    ));
                }
            }
        }
        checks
    }

    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn verify(&self) -> Result<(), PartitionError> {
        match self.checks.iter().find(|c| !c.ok) {
            Some(c) => Err(PartitionError::CheckFailed {
                check: c.name.clone(),
                offset: c.offset,
                detail: c.detail.clone(),
            }),
            None => Ok(()),
        }
    }

    pub fn find(&self, label: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.label == label)
    }

    pub fn find_type(&self, ptype: u8, subtype: u8) -> Option<&Partition> {
        self.partitions
            .iter()
            .find(|p| p.ptype == ptype && p.subtype == subtype)
    }

    /// The factory app (or, failing that, the first app partition), where a plain app image goes.
    pub fn factory(&self) -> Option<&Partition> {
        self.find_type(TYPE_APP, 0)
            .or_else(|| self.partitions.iter().find(|p| p.is_app()))
    }

    pub fn ota0(&self) -> Option<&Partition> {
        self.find_type(TYPE_APP, 0x10)
    }

    /// otadata as Pycom finds it: `updater.c` takes entry index 2 without looking at its type; the
    /// bootloader takes the data/ota entry. When the two disagree the table is not Pycom-shaped.
    pub fn otadata(&self) -> Option<&Partition> {
        self.find_type(TYPE_DATA, 0)
    }

    /// Serialises to the 0xC00-byte image gen_esp32part.py writes: entries, the MD5 entry if
    /// asked, 0xFF fill.
    pub fn to_bytes(partitions: &[Partition], with_md5: bool) -> Result<Vec<u8>, PartitionError> {
        if partitions.len() > TABLE_MAX_LEN / ENTRY_LEN - 1 - with_md5 as usize {
            return Err(PartitionError::TooMany(partitions.len()));
        }
        let mut out = Vec::with_capacity(TABLE_MAX_LEN);
        for p in partitions {
            out.extend_from_slice(&p.to_bytes()?);
        }
        if with_md5 {
            let d = Md5::digest(&out);
            out.extend_from_slice(&MD5_MAGIC);
            out.extend_from_slice(&[0xFF; 14]);
            out.extend_from_slice(&d);
        }
        out.resize(TABLE_MAX_LEN, 0xFF);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pycom_8mb() -> Vec<Partition> {
        vec![
            Partition::new("nvs", 1, 2, 0x9000, 0x7000, 0),
            Partition::new("factory", 0, 0, 0x10000, 0x1EF000, 1),
            Partition::new("otadata", 1, 0, 0x1FF000, 0x1000, 1),
            Partition::new("ota_0", 0, 0x10, 0x210000, 0x1EF000, 1),
            Partition::new("config", 1, 6, 0x3FF000, 0x1000, 0),
        ]
    }

    #[test]
    fn round_trip_with_md5() {
        let bytes = PartitionTable::to_bytes(&pycom_8mb(), true).unwrap();
        assert_eq!(bytes.len(), TABLE_MAX_LEN);
        let t = PartitionTable::parse(&bytes).unwrap();
        assert!(t.is_valid(), "{:?}", t.checks);
        assert_eq!(t.partitions.len(), 5);
        assert_eq!(t.md5.as_ref().unwrap().offset, 0xA0);
        assert_eq!(t.otadata().unwrap().offset, 0x1FF000);
        assert_eq!(t.ota0().unwrap().subtype_name(), "ota_0");
    }

    #[test]
    fn md5_mismatch_and_overlap_are_reported() {
        let mut bytes = PartitionTable::to_bytes(&pycom_8mb(), true).unwrap();
        bytes[0x24] ^= 1; // factory offset
        let t = PartitionTable::parse(&bytes).unwrap();
        assert!(matches!(
            t.verify(),
            Err(PartitionError::CheckFailed { offset: 0xB0, .. })
        ));

        let mut parts = pycom_8mb();
        parts[3].offset = 0x1F0000;
        let t = PartitionTable::parse(&PartitionTable::to_bytes(&parts, false).unwrap()).unwrap();
        assert!(t.checks.iter().any(|c| !c.ok && c.name.contains("overlap")));
    }

    #[test]
    fn bad_magic_and_truncation() {
        let mut bytes = PartitionTable::to_bytes(&pycom_8mb(), true).unwrap();
        bytes[0x40] = 0x12;
        assert!(matches!(
            PartitionTable::parse(&bytes),
            Err(PartitionError::BadMagic { offset: 0x40, .. })
        ));
        let bytes = PartitionTable::to_bytes(&pycom_8mb(), true).unwrap();
        assert!(PartitionTable::parse(&bytes[..0x50]).is_err());
    }
}
