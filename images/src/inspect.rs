//! Reading a flash image back: bootloader, partition map and what each slot holds, the boot
//! record and the config block.

use crate::app_image::{AppImage, Check, ImageKind};
use crate::boot_info::{BootInfo, BootRecord};
use crate::config_block::{ConfigBlock, ConfigFields, CONFIG_LEN, CONFIG_OFFSET};
use crate::flash::{Flash, BOOTLOADER_OFFSET};
use crate::partition::{PartitionTable, TABLE_OFFSET};
use serde::Serialize;

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
