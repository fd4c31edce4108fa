//! Flash images: composing one for a board from any firmware input, and reading one back.
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
//! Composition order: start erased (0xFF) or from a flash dump; lay down the firmware (a bundle
//! runs its script as Pycom's updater does; a bare image goes to its usual offset); then the
//! overrides in the order bootloader, partitions, app, ota_0, boot_info, config. A write behaves
//! like esptool's `write_flash`: the 4 KB sectors it touches are erased first.

use crate::app_image::{AppImage, Check, ImageError, ImageKind};
use crate::board::Board;
use crate::boot_info::{BootInfo, BootInfoError, BootRecord};
use crate::bundle::{Bundle, BundleError, RunLog};
use crate::config_block::{ConfigBlock, ConfigError, ConfigFields, CONFIG_LEN, CONFIG_OFFSET};
use crate::elf::{elf_to_image, Elf2ImageOptions, ElfError};
use crate::partition::{PartitionError, PartitionTable, TABLE_MAX_LEN, TABLE_OFFSET};
use crate::util::{align_down, align_up};
use serde::Serialize;
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

#[derive(Debug, Error)]
pub enum BuildError {
    #[error(transparent)]
    Flash(#[from] FlashError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{name}: {err}")]
    Image { name: String, err: ImageError },
    #[error("{name}: {err}")]
    Partition { name: String, err: PartitionError },
    #[error("{name}: {err}")]
    Elf { name: String, err: ElfError },
    #[error(transparent)]
    BootInfo(#[from] BootInfoError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("flash dump {name} is {len:#x} bytes; the {board} has {size:#x} bytes of flash")]
    DumpSize {
        name: String,
        len: u64,
        board: String,
        size: u64,
    },
    #[error("{0}")]
    Layout(String),
}

/// A firmware input, already read.
#[derive(Debug, Clone)]
pub enum Firmware {
    Bundle(Bundle),
    /// An app image for the factory slot.
    App(Vec<u8>),
    /// A bootloader image for 0x1000.
    Bootloader(Vec<u8>),
    PartitionTable(Vec<u8>),
    /// An app ELF, converted as esptool elf2image would.
    Elf(Vec<u8>),
    /// A merged dump from flash offset 0.
    FlashDump(Vec<u8>),
}

/// What to do with otadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootInfoOverride {
    /// `key=value,...` over the bootloader's default record (factory, ready).
    Spec(String),
    /// Erase the otadata sector (the bootloader then writes its own record on first boot).
    Erased,
}

#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bootloader: Option<(String, Vec<u8>)>,
    pub partitions: Option<(String, Vec<u8>)>,
    pub app: Option<(String, Vec<u8>)>,
    pub ota0: Option<(String, Vec<u8>)>,
    pub boot_info: Option<BootInfoOverride>,
    pub config: Option<String>,
    pub erase_config: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuildLog {
    pub board: &'static str,
    pub flash_size: u64,
    pub steps: Vec<String>,
    pub script: Option<RunLog>,
}

fn parse_image(name: &str, data: &[u8]) -> Result<AppImage, BuildError> {
    let img = AppImage::parse(data).map_err(|err| BuildError::Image {
        name: name.into(),
        err,
    })?;
    img.verify().map_err(|err| BuildError::Image {
        name: name.into(),
        err,
    })?;
    Ok(img)
}

/// Where an app goes: the partition table in `flash` names the slot; without a table, 0x10000.
fn app_slot(flash: &Flash, ota0: bool) -> Result<(u64, u64), BuildError> {
    match flash.partition_table() {
        Ok(t) => {
            let p = if ota0 { t.ota0() } else { t.factory() };
            p.map(|p| (p.offset as u64, p.size as u64)).ok_or_else(|| {
                BuildError::Layout(format!(
                    "the partition table has no {} partition",
                    if ota0 { "ota_0" } else { "factory" }
                ))
            })
        }
        Err(_) if !ota0 => Ok((
            DEFAULT_FACTORY_OFFSET,
            flash.size() - DEFAULT_FACTORY_OFFSET,
        )),
        Err(e) => Err(BuildError::Layout(format!(
            "no usable partition table at 0x8000 to find ota_0: {e}"
        ))),
    }
}

fn write_app(
    flash: &mut Flash,
    name: &str,
    data: &[u8],
    ota0: bool,
    log: &mut Vec<String>,
) -> Result<(), BuildError> {
    let img = parse_image(name, data)?;
    if img.kind != ImageKind::App {
        return Err(BuildError::Layout(format!(
            "{name}: has no flash-mapped segments; it is not an app image"
        )));
    }
    let (off, size) = app_slot(flash, ota0)?;
    let c = img.check_fits(size);
    if !c.ok {
        return Err(BuildError::Layout(format!("{name}: {}", c.detail)));
    }
    flash.write(off, data)?;
    log.push(format!(
        "{name} → {} at {off:#x} ({:#x} bytes)",
        if ota0 { "ota_0" } else { "factory" },
        data.len()
    ));
    Ok(())
}

/// Builds the flash image of `board` from `fw` and the overrides.
pub fn build(
    name: &str,
    fw: &Firmware,
    board: &Board,
    ov: &Overrides,
) -> Result<(Flash, BuildLog), BuildError> {
    let size = board.flash_size as u64;
    let mut flash = Flash::erased(size);
    let mut steps = Vec::new();
    let mut script = None;
    match fw {
        Firmware::Bundle(b) => {
            script = Some(b.apply(&mut flash)?);
        }
        Firmware::App(data) => write_app(&mut flash, name, data, false, &mut steps)?,
        Firmware::Elf(data) => {
            let img = elf_to_image(data, &Elf2ImageOptions::default()).map_err(|err| {
                BuildError::Elf {
                    name: name.into(),
                    err,
                }
            })?;
            write_app(&mut flash, name, &img, false, &mut steps)?;
        }
        Firmware::Bootloader(data) => {
            parse_image(name, data)?;
            flash.write(BOOTLOADER_OFFSET, data)?;
            steps.push(format!("{name} → bootloader at 0x1000"));
        }
        Firmware::PartitionTable(data) => {
            let t = PartitionTable::parse(data).map_err(|err| BuildError::Partition {
                name: name.into(),
                err,
            })?;
            t.verify().map_err(|err| BuildError::Partition {
                name: name.into(),
                err,
            })?;
            flash.write(TABLE_OFFSET, data)?;
            steps.push(format!("{name} → partition table at 0x8000"));
        }
        Firmware::FlashDump(data) => {
            if data.len() as u64 > size {
                return Err(BuildError::DumpSize {
                    name: name.into(),
                    len: data.len() as u64,
                    board: board.id.into(),
                    size,
                });
            }
            flash.data[..data.len()].copy_from_slice(data);
            steps.push(format!(
                "{name} → flash dump at 0x0 ({:#x} bytes)",
                data.len()
            ));
        }
    }
    if let Some((n, data)) = &ov.bootloader {
        let img = parse_image(n, data)?;
        if img.kind != ImageKind::Bootloader {
            return Err(BuildError::Layout(format!(
                "{n}: has flash-mapped segments; it is an app, not a bootloader"
            )));
        }
        if BOOTLOADER_OFFSET + data.len() as u64 > TABLE_OFFSET {
            return Err(BuildError::Layout(format!(
                "{n}: {:#x} bytes at 0x1000 would overwrite the partition table at 0x8000",
                data.len()
            )));
        }
        flash.write(BOOTLOADER_OFFSET, data)?;
        steps.push(format!("{n} → bootloader at 0x1000"));
    }
    if let Some((n, data)) = &ov.partitions {
        let t = PartitionTable::parse(data).map_err(|err| BuildError::Partition {
            name: n.clone(),
            err,
        })?;
        t.verify().map_err(|err| BuildError::Partition {
            name: n.clone(),
            err,
        })?;
        flash.write(TABLE_OFFSET, &data[..data.len().min(TABLE_MAX_LEN)])?;
        steps.push(format!("{n} → partition table at 0x8000"));
    }
    if let Some((n, data)) = &ov.app {
        write_app(&mut flash, n, data, false, &mut steps)?;
    }
    if let Some((n, data)) = &ov.ota0 {
        write_app(&mut flash, n, data, true, &mut steps)?;
    }
    if let Some(bi) = &ov.boot_info {
        let t = flash.partition_table().map_err(|e| {
            BuildError::Layout(format!(
                "--boot-info needs a partition table at 0x8000: {e}"
            ))
        })?;
        let p = t.otadata().ok_or_else(|| {
            BuildError::Layout("the partition table has no otadata (data/ota) partition".into())
        })?;
        match bi {
            BootInfoOverride::Erased => {
                flash.erase(p.offset as u64, p.size as u64)?;
                steps.push(format!("otadata at {:#x} erased", p.offset));
            }
            BootInfoOverride::Spec(spec) => {
                let info = BootInfo::default().apply_spec(spec)?;
                flash.write(p.offset as u64, &info.to_sector(SECTOR as usize))?;
                steps.push(format!(
                    "boot_info at {:#x}: {spec} (crc {:#010x})",
                    p.offset,
                    info.crc()
                ));
            }
        }
    }
    if ov.erase_config || ov.config.is_some() {
        let mut cb = if ov.erase_config {
            ConfigBlock::erased()
        } else {
            ConfigBlock::parse(flash.read(CONFIG_OFFSET as u64, CONFIG_LEN as u64))?
        };
        if let Some(spec) = &ov.config {
            cb.apply_spec(spec)?;
            flash.write(CONFIG_OFFSET as u64, &cb.to_sector())?;
            steps.push(format!("config block at 0x3ff000: {spec}"));
        } else {
            flash.erase(CONFIG_OFFSET as u64, SECTOR)?;
            steps.push("config block at 0x3ff000 erased".into());
        }
    }
    // The result must make sense for the board: a table whose partitions fit the flash.
    if let Ok(t) = flash.partition_table() {
        if let Some(c) = t.run_checks(Some(size)).into_iter().find(|c| !c.ok) {
            return Err(BuildError::Layout(format!(
                "partition table at 0x8000: {} failed at table offset {:#x}: {}",
                c.name, c.offset, c.detail
            )));
        }
        // A recipe whose partition map disagrees with the table it writes leaves the app where the
        // bootloader does not look.
        if let Some(s) = &script {
            check_boot_slot(&flash, &t, &s.script)?;
        }
    }
    Ok((
        flash,
        BuildLog {
            board: board.id,
            flash_size: size,
            steps,
            script,
        },
    ))
}

/// The slot the bootloader would start (by the boot record, else factory) must hold an app image.
fn check_boot_slot(flash: &Flash, t: &PartitionTable, recipe: &str) -> Result<(), BuildError> {
    let ota0 = t
        .otadata()
        .and_then(|p| BootInfo::read(flash.read(p.offset as u64, 40)).ok())
        .is_some_and(|r| r.valid && r.info.active_img == 1);
    let Some(p) = (if ota0 { t.ota0() } else { t.factory() }) else {
        return Ok(());
    };
    let problem = match AppImage::parse(flash.read(p.offset as u64, p.size as u64)) {
        Ok(img) if img.kind == ImageKind::App => return Ok(()),
        Ok(_) => "a bootloader image, not an app".to_string(),
        Err(e) => e.to_string(),
    };
    Err(BuildError::Layout(format!(
        "after running {recipe}, partition {} at {:#x} (where the bootloader looks) holds no app image ({problem}): the board would not boot",
        p.label, p.offset
    )))
}

/// Short description of an app or bootloader image found in flash.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    pub kind: ImageKind,
    pub entry: u32,
    pub length: usize,
    pub segments: usize,
    pub valid: bool,
    pub failed_checks: Vec<Check>,
    pub version: Option<String>,
    pub banner: Option<String>,
    pub idf_version: Option<String>,
}

impl ImageSummary {
    pub fn of(img: &AppImage) -> ImageSummary {
        ImageSummary {
            kind: img.kind,
            entry: img.entry,
            length: img.length,
            segments: img.segments.len(),
            valid: img.is_valid(),
            failed_checks: img.checks.iter().filter(|c| !c.ok).cloned().collect(),
            version: img.version(),
            banner: img.banner.clone(),
            idf_version: img.app_desc.as_ref().map(|d| d.idf_version.clone()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SlotContent {
    Erased,
    Image(ImageSummary),
    BadImage { error: String },
    Data,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotReport {
    pub label: String,
    pub type_name: String,
    pub subtype_name: String,
    pub offset: u32,
    pub size: u32,
    pub flags: u32,
    pub content: SlotContent,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlashReport {
    pub size: u64,
    pub bootloader: SlotContent,
    pub partition_table: Option<PartitionTable>,
    pub partition_table_error: Option<String>,
    pub slots: Vec<SlotReport>,
    pub boot_info: Option<BootRecord>,
    /// The partition the bootloader would start (ignoring the safe-boot pin).
    pub boot_choice: Option<String>,
    pub config: ConfigFields,
}

fn erased(data: &[u8]) -> bool {
    data.iter().all(|&b| b == 0xFF)
}

fn image_content(data: &[u8]) -> SlotContent {
    if data.first().is_none_or(|&b| b == 0xFF) && erased(&data[..data.len().min(4096)]) {
        return SlotContent::Erased;
    }
    match AppImage::parse(data) {
        Ok(img) => SlotContent::Image(ImageSummary::of(&img)),
        Err(e) => SlotContent::BadImage {
            error: e.to_string(),
        },
    }
}

/// Inspects a flash dump: bootloader, partition map and what is in each slot, boot record, config.
pub fn inspect(flash: &Flash) -> FlashReport {
    let bootloader = image_content(flash.read(BOOTLOADER_OFFSET, TABLE_OFFSET - BOOTLOADER_OFFSET));
    let (table, table_err) = match flash.partition_table() {
        Ok(mut t) => {
            t.checks = t.run_checks(Some(flash.size()));
            (Some(t), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let mut slots = Vec::new();
    let mut boot_info = None;
    let mut boot_choice = None;
    if let Some(t) = &table {
        for p in &t.partitions {
            let data = flash.read(p.offset as u64, p.size as u64);
            let content = if p.is_app() {
                image_content(data)
            } else if erased(data) {
                SlotContent::Erased
            } else {
                SlotContent::Data
            };
            slots.push(SlotReport {
                label: p.label.clone(),
                type_name: p.type_name(),
                subtype_name: p.subtype_name(),
                offset: p.offset,
                size: p.size,
                flags: p.flags,
                content,
            });
        }
        if let Some(p) = t.otadata() {
            if let Ok(r) = BootInfo::read(flash.read(p.offset as u64, 40)) {
                // find_active_image(): invalid → factory (and the record is rewritten); 2 → factory.
                let name = |v: u32| match v {
                    0 | 2 => "factory".to_string(),
                    1 => "ota_0".to_string(),
                    v => format!("undefined (ActiveImg {v})"),
                };
                // A slot's image as the bootloader's verification sees it.
                let verifies = |label: &str| {
                    slots.iter().find(|s| s.label == label).is_some_and(|s| matches!(&s.content, SlotContent::Image(i) if i.valid && i.kind == ImageKind::App))
                };
                boot_choice = Some(if !r.valid {
                    "factory (record invalid: the bootloader rewrites it)".to_string()
                } else if r.info.status == 0 && r.info.active_img <= 2 && !verifies(&name(r.info.active_img)) {
                    // CHECK: a new image that fails verification is swapped for the previous one.
                    format!("{} ({} fails verification: roll-back, the record saved)", name(r.info.prev_img), name(r.info.active_img))
                } else {
                    name(r.info.active_img)
                });
                boot_info = Some(r);
            }
        }
    }
    let config = ConfigBlock::parse(flash.read(CONFIG_OFFSET as u64, CONFIG_LEN as u64))
        .unwrap_or_else(|_| ConfigBlock::erased())
        .fields();
    FlashReport {
        size: flash.size(),
        bootloader,
        partition_table: table,
        partition_table_error: table_err,
        slots,
        boot_info,
        boot_choice,
        config,
    }
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
}
