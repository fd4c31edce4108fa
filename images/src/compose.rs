//! Composing the flash image of a board from any firmware input.
//!
//! Composition order: start erased (0xFF) or from a flash dump; lay down the firmware (a bundle
//! runs its script as Pycom's updater does; a bare image goes to its usual offset); then the
//! overrides in the order bootloader, partitions, app, ota_0, boot_info, config. A write behaves
//! like esptool's `write_flash`: the 4 KB sectors it touches are erased first (see
//! [`Flash::write`]; the flash map is in [`crate::flash`]).

use crate::app_image::{AppImage, ImageError, ImageKind};
use crate::board::Board;
use crate::boot_info::{BootInfo, BootInfoError};
use crate::bundle::{Bundle, BundleError, RunLog};
use crate::config_block::{ConfigBlock, ConfigError, CONFIG_LEN, CONFIG_OFFSET};
use crate::elf::{elf_to_image, Elf2ImageOptions, ElfError};
use crate::flash::{
    pycom_table, Flash, FlashError, BOOTLOADER_OFFSET, DEFAULT_FACTORY_OFFSET, OTADATA_IDF,
    OTADATA_PYCOM, SECTOR,
};
use crate::partition::{PartitionError, PartitionTable, TABLE_MAX_LEN, TABLE_OFFSET};
use serde::Serialize;
use thiserror::Error;

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
    /// (where it came from, image). Under a bare app: the bootloader it gets instead of the
    /// ESP-IDF one (Pycom's, from `--bootloader`, a bundle beside it or a flash state).
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
    /// What the user must know about the result (e.g. a bootloader that is not Pycom's).
    pub notices: Vec<String>,
}

/// A string only Pycom's bootloader carries (`esp32/bootloader/bootloader.c`, its fallback when
/// the active image does not verify): ESP-IDF's own bootloaders lack it.
const PYCOM_BOOTLOADER_MARK: &[u8] = b"Defaulting back to previous partition";

/// Whether `data` is Pycom's second-stage bootloader (which reads Pycom's boot record and does
/// safe boot), rather than another one.
pub fn is_pycom_bootloader(data: &[u8]) -> bool {
    data.windows(PYCOM_BOOTLOADER_MARK.len())
        .any(|w| w == PYCOM_BOOTLOADER_MARK)
}

/// The notice a bare app gets when it boots under a bootloader that is not Pycom's; `lead` says
/// which bootloader.
pub fn foreign_bootloader_notice(lead: &str) -> String {
    format!(
        "{lead}: safe boot and the OTA slot choice follow it, not Pycom's \
         (holding P12 gives no safe-boot windows or orange LED, the app never sees safe boot, and \
         the slot it starts follows ESP-IDF's otadata, which Pycom's updater does not write); its \
         otadata is two sectors, as ESP-IDF requires. For Pycom's: --bootloader FILE (a \
         bootloader.bin or a Pycom bundle), or a Pycom bundle beside the image"
    )
}

/// Checks a bootloader image for 0x1000: valid, RAM-only, ending before the table at 0x8000.
pub fn check_bootloader(name: &str, data: &[u8]) -> Result<(), BuildError> {
    let img = parse_image(name, data)?;
    if img.kind != ImageKind::Bootloader {
        return Err(BuildError::Layout(format!(
            "{name}: has flash-mapped segments; it is an app, not a bootloader"
        )));
    }
    if BOOTLOADER_OFFSET + data.len() as u64 > TABLE_OFFSET {
        return Err(BuildError::Layout(format!(
            "{name}: {:#x} bytes at 0x1000 would overwrite the partition table at 0x8000",
            data.len()
        )));
    }
    Ok(())
}

/// Why the ROM and bootloader could not start an app from `flash`, if they could not: the
/// bootloader at 0x1000, the partition table, the slot the boot record (or factory) names.
pub fn boot_problem(flash: &Flash) -> Option<String> {
    let bl = flash.read(BOOTLOADER_OFFSET, TABLE_OFFSET - BOOTLOADER_OFFSET);
    match AppImage::parse(bl) {
        Ok(img) if img.kind == ImageKind::Bootloader => {
            if let Err(e) = img.verify() {
                return Some(format!("the bootloader at 0x1000 is damaged ({e}): the ROM will not start it and resets"));
            }
        }
        Ok(_) => return Some("0x1000 holds an app image, not a bootloader: the ROM would start it without its flash mapping".into()),
        Err(e) => {
            return Some(format!(
                "no bootloader at 0x1000 ({e}): the ROM prints `flash read err, 1000` and its watchdog resets it for ever"
            ))
        }
    }
    let t = match flash.partition_table() {
        Ok(t) => t,
        Err(e) => return Some(format!("no partition table at 0x8000 ({e}): the bootloader has nothing to load")),
    };
    if let Some(c) = t.checks.iter().find(|c| !c.ok) {
        return Some(format!("the partition table at 0x8000 fails {} ({}): the bootloader refuses it", c.name, c.detail));
    }
    let ota0 = t
        .otadata()
        .and_then(|p| BootInfo::read(flash.read(p.offset as u64, 40)).ok())
        .is_some_and(|r| r.valid && r.info.active_img == 1);
    let p = if ota0 { t.ota0() } else { t.factory() }?;
    let problem = match AppImage::parse(flash.read(p.offset as u64, p.size as u64)) {
        Ok(img) if img.kind == ImageKind::App => match img.verify() {
            Ok(()) => return None,
            Err(e) => e.to_string(),
        },
        Ok(_) => "a bootloader image, not an app".to_string(),
        Err(e) => e.to_string(),
    };
    Some(format!(
        "partition {} at {:#x}, where the bootloader looks, holds no bootable app ({problem})",
        p.label, p.offset
    ))
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

/// Writes an app to its slot; returns the SPI mode and frequency its header asks for.
fn write_app(
    flash: &mut Flash,
    name: &str,
    data: &[u8],
    ota0: bool,
    log: &mut Vec<String>,
) -> Result<Option<(u8, u8)>, BuildError> {
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
    Ok(Some((img.header.spi_mode, img.header.flash_size_freq & 0x0F)))
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
    let mut notices = Vec::new();
    let mut script = None;
    // An app alone needs what the board's flash holds around it: a partition table, and a
    // bootloader (the one given, else ESP-IDF's). Pycom's bootloader takes Pycom's table as is;
    // any other wants two sectors of otadata.
    let bare = matches!(fw, Firmware::App(_) | Firmware::Elf(_));
    let pycom_bl = ov.bootloader.as_ref().is_some_and(|(_, d)| is_pycom_bootloader(d));
    if bare && ov.partitions.is_none() {
        let ota = if pycom_bl { OTADATA_PYCOM } else { OTADATA_IDF };
        flash.write(TABLE_OFFSET, &pycom_table(board.layout(), ota))?;
        steps.push(format!(
            "Pycom's {} partition table → 0x8000{}",
            match board.layout() {
                crate::flash::Layout::FourMb => "4 MB",
                crate::flash::Layout::EightMb => "8 MB",
            },
            if pycom_bl { "" } else { " (otadata two sectors, for an ESP-IDF bootloader)" }
        ));
    }
    // A bare app's flash mode and frequency, for the bootloader put under it.
    let mut app_mode_freq = None;
    match fw {
        Firmware::Bundle(b) => {
            script = Some(b.apply(&mut flash)?);
        }
        Firmware::App(data) => {
            app_mode_freq = write_app(&mut flash, name, data, false, &mut steps)?;
        }
        Firmware::Elf(data) => {
            let img = elf_to_image(data, &Elf2ImageOptions::default()).map_err(|err| {
                BuildError::Elf {
                    name: name.into(),
                    err,
                }
            })?;
            app_mode_freq = write_app(&mut flash, name, &img, false, &mut steps)?;
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
        check_bootloader(n, data)?;
        flash.write(BOOTLOADER_OFFSET, data)?;
        steps.push(format!("{n} → bootloader at 0x1000"));
        if bare && !pycom_bl {
            notices.push(foreign_bootloader_notice(&format!("{n} is not Pycom's bootloader")));
        }
    } else if bare {
        // The header's flash size set to the board's, and the flash mode and frequency to the
        // app's (what it was built for: Pycom's are DIO at 80 MHz), as esptool writes a
        // bootloader for a project; the bootloader sets up SPI0 by them, and the app keeps that.
        let bl = crate::app_image::with_flash_params(crate::rom::ESP32_BOOTLOADER, size, app_mode_freq)
            .map_err(|err| BuildError::Image {
                name: "the ESP-IDF bootloader".into(),
                err,
            })?;
        flash.write(BOOTLOADER_OFFSET, &bl)?;
        let h = AppImage::parse(&bl).map_err(|err| BuildError::Image {
            name: "the ESP-IDF bootloader".into(),
            err,
        })?;
        steps.push(format!(
            "the ESP-IDF bootloader (espflash's; {} {} {}) → bootloader at 0x1000",
            h.flash_mode, h.flash_freq, h.flash_size
        ));
        notices.push(foreign_bootloader_notice(
            "no Pycom bootloader at hand: booting with the ESP-IDF bootloader from the espflash crate",
        ));
    }
    // Pycom's bootloader writes its default boot record on the first boot; no other does, and the
    // app reads the record (safe boot, the active slot), so it is written here.
    if bare && !pycom_bl && ov.boot_info.is_none() {
        if let Some(p) = flash.partition_table().ok().and_then(|t| t.otadata().cloned()) {
            let info = BootInfo::default();
            flash.write(p.offset as u64, &info.to_sector(SECTOR as usize))?;
            steps.push(format!(
                "Pycom's default boot record (factory, ready) → otadata at {:#x}",
                p.offset
            ));
        }
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
            notices,
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

