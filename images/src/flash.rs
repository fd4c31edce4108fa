//! A flash chip's contents as plain bytes, and where things lie in them.
//!
//! Pycom flash map (pycom-firmware.md §1):
//!
//! | what | 4 MB layout | 8 MB layout |
//! |---|---|---|
//! | second-stage bootloader | 0x1000 | 0x1000 |
//! | partition table | 0x8000 | 0x8000 |
//! | nvs | 0x9000 / 0x7000 | 0x9000 / 0x7000 |
//! | factory | 0x10000 / 0x1AE000 | 0x10000 / 0x1EF000 |
//! | otadata (`boot_info`) | 0x1BE000 / 0x1000 | 0x1FF000 / 0x1000 |
//! | ota_0 | 0x1C0000 / 0x1AE000 | 0x210000 / 0x1EF000 |
//! | config block | 0x3FF000 | 0x3FF000 |
//!
//! Composing an image for a board is [`crate::compose`]; reading one back is
//! [`crate::inspect`]. This module knows neither: bundles, composition and inspection all
//! build on it.

use crate::partition::{Partition, PartitionError, PartitionTable, TABLE_MAX_LEN, TABLE_OFFSET, TYPE_APP, TYPE_DATA};
use crate::util::{align_down, align_up};
use thiserror::Error;

pub const SECTOR: u64 = 0x1000;
pub const BOOTLOADER_OFFSET: u64 = 0x1000;
pub const DEFAULT_FACTORY_OFFSET: u64 = 0x10000;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FlashError {
    #[error("{what} at {offset:#x} (+{len:#x}) does not fit in the {size:#x}-byte flash")]
    OutOfRange {
        what: String,
        offset: u64,
        len: u64,
        size: u64,
    },
}

/// A flash chip's contents.
#[derive(Clone, PartialEq, Eq)]
pub struct Flash {
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Flash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flash({:#x} bytes)", self.data.len())
    }
}

impl Flash {
    pub fn erased(size: u64) -> Flash {
        Flash {
            data: vec![0xFF; size as usize],
        }
    }

    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn range(
        &self,
        what: &str,
        offset: u64,
        len: u64,
    ) -> Result<std::ops::Range<usize>, FlashError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size() => Ok(offset as usize..end as usize),
            _ => Err(FlashError::OutOfRange {
                what: what.into(),
                offset,
                len,
                size: self.size(),
            }),
        }
    }

    pub fn erase(&mut self, offset: u64, len: u64) -> Result<(), FlashError> {
        let r = self.range("erase", offset, len)?;
        self.data[r].fill(0xFF);
        Ok(())
    }

    /// Erases what lies inside the flash (an updater erase may run past the end of a small chip).
    pub fn erase_clamped(&mut self, offset: u64, len: u64) -> Result<(), FlashError> {
        if offset >= self.size() {
            return Ok(());
        }
        let len = len.min(self.size() - offset);
        self.erase(offset, len)
    }

    /// esptool `write_flash`: erase the touched 4 KB sectors, then write.
    pub fn write(&mut self, offset: u64, bytes: &[u8]) -> Result<(), FlashError> {
        let r = self.range("write", offset, bytes.len() as u64)?;
        let lo = align_down(offset, SECTOR);
        let hi = align_up(offset + bytes.len() as u64, SECTOR).min(self.size());
        self.data[lo as usize..hi as usize].fill(0xFF);
        self.data[r].copy_from_slice(bytes);
        Ok(())
    }

    /// Bytes at `offset`, clipped to the flash.
    pub fn read(&self, offset: u64, len: u64) -> &[u8] {
        let lo = (offset.min(self.size())) as usize;
        let hi = (offset.saturating_add(len).min(self.size())) as usize;
        &self.data[lo..hi]
    }

    pub fn partition_table(&self) -> Result<PartitionTable, PartitionError> {
        PartitionTable::parse(self.read(TABLE_OFFSET, TABLE_MAX_LEN as u64))
    }
}

/// Pycom's two flash layouts. The firmware picks one by the eFuse chip revision (> 0: 8 MB), not
/// by the flash chip (pycom-firmware.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    FourMb,
    EightMb,
}

/// otadata as Pycom's table has it: one sector, for Pycom's bootloader and updater.
pub const OTADATA_PYCOM: u32 = 0x1000;
/// otadata as an ESP-IDF bootloader requires it (two sectors: it refuses a smaller one with
/// `ota_info partition size 4096 is too small`). Both layouts have the room before ota_0.
pub const OTADATA_IDF: u32 = 0x2000;

/// Flag bit 0 as Pycom's CSVs set it on the app, otadata and fs partitions (`encrypted`; it has
/// effect only with flash encryption on).
const ENC: u32 = 1;

/// Pycom's partition table (`esp32/lib/partitions_4MB.csv` / `partitions_8MB.csv`), entry for
/// entry as the bundles' `partitions_*.bin`, with otadata `otadata_len` long.
pub fn pycom_partitions(layout: Layout, otadata_len: u32) -> Vec<Partition> {
    let p = Partition::new;
    // (app slot size, otadata offset, ota_0 offset)
    let (app, ota, ota0) = match layout {
        Layout::FourMb => (0x1AE000, 0x1BE000, 0x1C0000),
        Layout::EightMb => (0x1EF000, 0x1FF000, 0x210000),
    };
    let mut v = vec![
        p("nvs", TYPE_DATA, 0x02, 0x9000, 0x7000, 0),
        p("factory", TYPE_APP, 0x00, 0x10000, app, ENC),
        p("otadata", TYPE_DATA, 0x00, ota, otadata_len, ENC),
        p("ota_0", TYPE_APP, 0x10, ota0, app, ENC),
    ];
    if layout == Layout::FourMb {
        // The 8 MB layout's file system lies outside the table, at 0x400000.
        v.push(p("dummy", TYPE_DATA, 0x07, 0x36E000, 0x10000, 0));
        v.push(p("fs", TYPE_DATA, 0x05, 0x380000, 0x7F000, ENC));
    }
    v.push(p("config", TYPE_DATA, 0x06, 0x3FF000, 0x1000, 0));
    v
}

/// [`pycom_partitions`] as the 0xC00 bytes written at 0x8000, with its MD5 entry.
pub fn pycom_table(layout: Layout, otadata_len: u32) -> Vec<u8> {
    PartitionTable::to_bytes(&pycom_partitions(layout, otadata_len), true)
        .expect("Pycom's tables have short labels and few entries")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_erases_whole_sectors() {
        let mut f = Flash::erased(0x4000);
        f.data[0x1000..0x2000].fill(0);
        f.write(0x1010, &[1, 2]).unwrap();
        assert_eq!(f.read(0x100F, 4), &[0xFF, 1, 2, 0xFF]);
        assert_eq!(f.read(0x1FFF, 1), &[0xFF]);
        assert!(f.write(0x3FFF, &[0, 0]).is_err());
        assert!(f.erase(u64::MAX, 2).is_err());
    }

    #[test]
    fn pycom_tables_are_valid_and_idf_otadata_fits() {
        for layout in [Layout::FourMb, Layout::EightMb] {
            for ota in [OTADATA_PYCOM, OTADATA_IDF] {
                let t = PartitionTable::parse(&pycom_table(layout, ota)).unwrap();
                assert!(t.is_valid(), "{layout:?} {ota:#x}: {:?}", t.checks);
                assert_eq!(t.partitions[2].label, "otadata", "updater.c takes entry 2");
                assert_eq!(t.otadata().unwrap().size, ota);
            }
        }
    }
}
