//! Pycom's `boot_info_t` record, at offset 0 of the otadata partition (`esp32/bootloader/bootloader.h`).
//!
//! 40 bytes, little-endian:
//!
//! | offset | field | values |
//! |---|---|---|
//! | 0 | `ActiveImg` u32 | 0 factory, 1 ota_0 (`IMG_ACT_UPDATE1`), 2 `IMG_ACT_UPDATE2` (the bootloader reads it as factory) |
//! | 4 | `Status` u32 | 0 check (verify on next boot), 1 ready, 2 patch (bsdiff pending) |
//! | 8 | `PrevImg` u32 | as `ActiveImg` |
//! | 12 | `size` u32 | bytes of the last OTA; the bootloader ignores it |
//! | 16 | `safeboot` u32 | 0 none, 1 hardware (P12), 2 software (`pycom.bootmgr`) |
//! | 20 | `signature` [16] | unused, normally 0xFF × 16 |
//! | 36 | `crc` u32 | ROM `crc32_le(UINT32_MAX, bytes 0..36)` |
//!
//! Valid means `Status != 0xFFFFFFFF` and the CRC matches (there is no magic number, so erased
//! flash is invalid). Writers erase the 4 KB sector, then program the 40 bytes.

use crate::util::{le_u32, parse_number, rom_crc32_le};
use serde::Serialize;
use thiserror::Error;

pub const RECORD_LEN: usize = 40;
pub const CRC_OFFSET: usize = 36;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BootInfoError {
    #[error("truncated: a boot_info record needs 40 bytes, got {0}")]
    Truncated(usize),
    #[error(
        "boot_info crc failed at offset 0x24: stored {stored:#010x}, calculated {computed:#010x}"
    )]
    BadCrc { stored: u32, computed: u32 },
    #[error("boot_info status at offset 0x4 is 0xffffffff (erased): no valid record")]
    Erased,
    #[error("invalid boot-info spec {0:?}: {1}")]
    Spec(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootInfo {
    pub active_img: u32,
    pub status: u32,
    pub prev_img: u32,
    pub size: u32,
    pub safeboot: u32,
    pub signature: [u8; 16],
}

pub const IMG_FACTORY: u32 = 0;
pub const IMG_UPDATE1: u32 = 1;
pub const IMG_UPDATE2: u32 = 2;
pub const STATUS_CHECK: u32 = 0;
pub const STATUS_READY: u32 = 1;
pub const STATUS_PATCH: u32 = 2;

impl Default for BootInfo {
    /// What the bootloader writes over an invalid record: factory, ready, no safe boot; `size` and
    /// `signature` keep the erased 0xFF.
    fn default() -> Self {
        BootInfo {
            active_img: IMG_FACTORY,
            status: STATUS_READY,
            prev_img: IMG_FACTORY,
            size: 0xFFFF_FFFF,
            safeboot: 0,
            signature: [0xFF; 16],
        }
    }
}

pub fn image_name(v: u32) -> String {
    match v {
        IMG_FACTORY => "factory".into(),
        IMG_UPDATE1 => "ota_0".into(),
        IMG_UPDATE2 => "update2 (factory)".into(),
        0xFFFF_FFFF => "erased".into(),
        v => format!("invalid ({v:#x})"),
    }
}

pub fn status_name(v: u32) -> String {
    match v {
        STATUS_CHECK => "check".into(),
        STATUS_READY => "ready".into(),
        STATUS_PATCH => "patch".into(),
        0xFFFF_FFFF => "erased".into(),
        v => format!("invalid ({v:#x})"),
    }
}

pub fn safeboot_name(v: u32) -> String {
    match v {
        0 => "none".into(),
        1 => "hardware".into(),
        2 => "software".into(),
        v => format!("invalid ({v:#x})"),
    }
}

/// The record as parsed from flash, with its stored CRC and verdict.
#[derive(Debug, Clone, Serialize)]
pub struct BootRecord {
    pub info: BootInfo,
    pub active: String,
    pub status: String,
    pub prev: String,
    pub safeboot: String,
    pub crc: u32,
    pub computed_crc: u32,
    pub crc_valid: bool,
    /// What the bootloader's `ota_select_valid()` says.
    pub valid: bool,
}

impl BootInfo {
    pub fn payload(&self) -> [u8; CRC_OFFSET] {
        let mut b = [0u8; CRC_OFFSET];
        b[0..4].copy_from_slice(&self.active_img.to_le_bytes());
        b[4..8].copy_from_slice(&self.status.to_le_bytes());
        b[8..12].copy_from_slice(&self.prev_img.to_le_bytes());
        b[12..16].copy_from_slice(&self.size.to_le_bytes());
        b[16..20].copy_from_slice(&self.safeboot.to_le_bytes());
        b[20..36].copy_from_slice(&self.signature);
        b
    }

    /// CRC as `ota_select_crc()` and `updater_write_boot_info()` compute it.
    pub fn crc(&self) -> u32 {
        rom_crc32_le(u32::MAX, &self.payload())
    }

    /// The 40 bytes the firmware programs.
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[..CRC_OFFSET].copy_from_slice(&self.payload());
        b[CRC_OFFSET..].copy_from_slice(&self.crc().to_le_bytes());
        b
    }

    /// The whole otadata sector as written: the record, then erased bytes.
    pub fn to_sector(&self, sector_len: usize) -> Vec<u8> {
        let mut v = vec![0xFF; sector_len.max(RECORD_LEN)];
        v[..RECORD_LEN].copy_from_slice(&self.to_bytes());
        v
    }

    /// Reads the record without judging it.
    pub fn read(data: &[u8]) -> Result<BootRecord, BootInfoError> {
        if data.len() < RECORD_LEN {
            return Err(BootInfoError::Truncated(data.len()));
        }
        let mut signature = [0u8; 16];
        signature.copy_from_slice(&data[20..36]);
        let info = BootInfo {
            active_img: le_u32(data, 0).unwrap_or(0),
            status: le_u32(data, 4).unwrap_or(0),
            prev_img: le_u32(data, 8).unwrap_or(0),
            size: le_u32(data, 12).unwrap_or(0),
            safeboot: le_u32(data, 16).unwrap_or(0),
            signature,
        };
        let crc = le_u32(data, CRC_OFFSET).unwrap_or(0);
        let computed_crc = info.crc();
        Ok(BootRecord {
            active: image_name(info.active_img),
            status: status_name(info.status),
            prev: image_name(info.prev_img),
            safeboot: safeboot_name(info.safeboot),
            crc,
            computed_crc,
            crc_valid: crc == computed_crc,
            valid: crc == computed_crc && info.status != 0xFFFF_FFFF,
            info,
        })
    }

    /// Reads and insists on a valid record (the bootloader's test).
    pub fn parse(data: &[u8]) -> Result<BootInfo, BootInfoError> {
        let r = BootInfo::read(data)?;
        if r.info.status == 0xFFFF_FFFF {
            return Err(BootInfoError::Erased);
        }
        if !r.crc_valid {
            return Err(BootInfoError::BadCrc {
                stored: r.crc,
                computed: r.computed_crc,
            });
        }
        Ok(r.info)
    }

    /// Applies `key=value,...` with keys active, status, prev, size, safeboot, signature (hex),
    /// starting from `self`. Image names: factory, ota_0 (or ota0/update1), update2, or a number.
    pub fn apply_spec(mut self, spec: &str) -> Result<BootInfo, BootInfoError> {
        let err = |m: String| BootInfoError::Spec(spec.to_string(), m);
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| err(format!("{item:?} is not key=value")))?;
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            let num = |v: &str| -> Result<u32, BootInfoError> {
                parse_number(v)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| err(format!("{v:?} is not a 32-bit number")))
            };
            let img = |v: &str| -> Result<u32, BootInfoError> {
                match v {
                    "factory" => Ok(IMG_FACTORY),
                    "ota_0" | "ota0" | "update1" => Ok(IMG_UPDATE1),
                    "update2" => Ok(IMG_UPDATE2),
                    _ => num(v).map_err(|_| {
                        err(format!(
                            "image {v:?}: use factory, ota_0, update2 or a number"
                        ))
                    }),
                }
            };
            match k.as_str() {
                "active" | "active_img" => self.active_img = img(&v)?,
                "prev" | "prev_img" => self.prev_img = img(&v)?,
                "status" => {
                    self.status = match v.as_str() {
                        "check" => STATUS_CHECK,
                        "ready" => STATUS_READY,
                        "patch" => STATUS_PATCH,
                        _ => num(&v).map_err(|_| {
                            err(format!("status {v:?}: use check, ready, patch or a number"))
                        })?,
                    }
                }
                "safeboot" => {
                    self.safeboot = match v.as_str() {
                        "none" => 0,
                        "hw" | "hardware" => 1,
                        "sw" | "software" => 2,
                        _ => num(&v)?,
                    }
                }
                "size" => self.size = num(&v)?,
                "signature" => {
                    let h = v.trim_start_matches("0x");
                    if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(err("signature must be 32 hex digits".into()));
                    }
                    for i in 0..16 {
                        self.signature[i] =
                            u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap_or(0xFF);
                    }
                }
                _ => {
                    return Err(err(format!(
                        "unknown key {k:?} (active, status, prev, size, safeboot, signature)"
                    )))
                }
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_pycom_vector() {
        let b = BootInfo::default();
        assert_eq!(b.crc(), 0x8113_42C5);
        let bytes = b.to_bytes();
        assert_eq!(&bytes[36..], &0x8113_42C5u32.to_le_bytes());
        assert_eq!(BootInfo::parse(&bytes).unwrap(), b);
    }

    #[test]
    fn crc_equals_binascii_form() {
        // binascii.crc32(b'\xff'*4 + rec) is standard CRC-32 over the prefixed bytes.
        let b = BootInfo {
            active_img: 1,
            status: 0,
            size: 1_730_864,
            ..Default::default()
        };
        let mut prefixed = vec![0xFF; 4];
        prefixed.extend_from_slice(&b.payload());
        assert_eq!(b.crc(), rom_crc32_le(0, &prefixed));
    }

    #[test]
    fn erased_and_corrupt_records_are_invalid() {
        assert_eq!(BootInfo::parse(&[0xFF; 40]), Err(BootInfoError::Erased));
        let mut bytes = BootInfo::default().to_bytes();
        bytes[0] = 1;
        assert!(matches!(
            BootInfo::parse(&bytes),
            Err(BootInfoError::BadCrc { .. })
        ));
        assert_eq!(
            BootInfo::parse(&bytes[..39]),
            Err(BootInfoError::Truncated(39))
        );
    }

    #[test]
    fn spec() {
        let b = BootInfo::default()
            .apply_spec("active=ota_0,status=check,prev=factory,safeboot=0")
            .unwrap();
        assert_eq!(
            (b.active_img, b.status, b.prev_img, b.safeboot),
            (1, 0, 0, 0)
        );
        assert!(BootInfo::default().apply_spec("active=moon").is_err());
        assert!(BootInfo::default().apply_spec("colour=red").is_err());
    }
}
