//! Pycom's config block (`esp32/pycom_config.h`, `pycom_config_block_t`), 1024 bytes at flash
//! 0x3FF000 on every board. `config_write()` erases the 4 KB sector and programs the 1024 bytes.
//!
//! | offset | size | field | erased (0xFF) reads as |
//! |---|---|---|---|
//! | 0 | 8 | `lpwan_mac` | – |
//! | 8 | 4 | `sigfox_id`; 12 `sigfox_pac`[8]; 20 `sigfox_private_key`[16]; 36 `sigfox_public_key`[16] | unset |
//! | 52 | 1 | `lora_region` | 0xFF unset |
//! | 53 | 1 | bit 0 `wifi_on_boot`, bits 1–2 `wifi_mode` (0 STA, 1 AP, 2 APSTA, 3 none), bit 3 `wifi_smart_config`, bits 4–6 `wifi_auth`, bit 7 `wifi_antenna` (1 internal) | on, 3, 7, internal |
//! | 54 | 33 + 65 | STA `ssid`, `pwd` | first byte 0xFF = none |
//! | 152 | 1 | bit 0 `heartbeat_on_boot` (bits 1–7 untouched by the firmware) | on |
//! | 153 | 9 | `rgb_error/safeboot/heartbeat_color`[3] | unused |
//! | 162 | 348 | pybytes: `device_token`[40], 202 `mqttServiceAddress`[40], 242 `userId`[100], 342 `network_preferences`[55], 397 `extra_preferences`[100], 497 `force_update`, 498 `auto_start`, 499 `reserved`[11] | auto_start on |
//! | 510 | 2 | padding | |
//! | 512 | 1 (+3) | `wdt_on_boot` | on (cleared at boot, timeout is erased) |
//! | 516 | 4 | `wdt_on_boot_timeout` (ms) | 0xFFFFFFFF |
//! | 520 | 1 | `lte_modem_en_on_boot` | on |
//! | 521 | 12 | `sw_version` | |
//! | 533 | 1 | `boot_fs_type` (0 FAT, 1 LittleFS) | LittleFS |
//! | 534 | 1 | `boot_partition` | 0 |
//! | 535 | 1 | `hw_type` | |
//! | 536 | 33 + 65 | AP `ssid`, `pwd` | none |
//! | 634 | 129 + 129 + 17 + 3 | pybytes LTE `carrier`, 763 `apn`, 892 `type`, 909 `cid`, 910 `band`, 911 `reset` | |
//! | 912 | 112 | reserved | |
//!
//! The block has no magic and no CRC. [`ConfigBlock::evidence`] checks what the firmware's writers
//! guarantee instead, so that a file is only called a config block when it could have been one:
//!
//! | check | why |
//! |---|---|
//! | 1024 bytes, or a 4 KB sector whose bytes from 1024 on are 0xFF | `config_write()` erases the sector and programs 1024 bytes |
//! | not one byte value repeated (other than an erased 0xFF) | the erased state is 0xFF; a zero-filled or other uniform file is no block |
//! | bytes 497, 498, 512, 520, 533 are 0, 1 or 0xFF | `force_update`, `auto_start`, `wdt_on_boot`, `lte_modem_en_on_boot`, `boot_fs_type`: the setters store a bool (or FAT 0 / LittleFS 1) |
//! | byte 52 is ≤ 15 or 0xFF | `lora_region`: LoRaMac region numbers are 0–9 |
//! | STA/AP `ssid` and `pwd` (54, 87, 536, 569) start 0xFF or hold a NUL | set as a C string (or erased to 0xFF for "none") |

use crate::app_image::Check;
use crate::util::{c_string, hex, le_u32, parse_number};
use serde::Serialize;
use thiserror::Error;

pub const CONFIG_OFFSET: u32 = 0x3FF000;
pub const CONFIG_LEN: usize = 1024;
pub const CONFIG_SECTOR: usize = 0x1000;
/// Highest `lora_region` accepted as plausible (LoRaMac's regions are 0–9; some room for forks).
pub const MAX_LORA_REGION: u8 = 15;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error("truncated: the config block is 1024 bytes, got {0}")]
    Truncated(usize),
    #[error("invalid config setting {0:?}: {1}")]
    Spec(String, String),
}

#[derive(Clone, PartialEq, Eq)]
pub struct ConfigBlock(pub [u8; CONFIG_LEN]);

impl std::fmt::Debug for ConfigBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigBlock")
            .field("fields", &self.fields())
            .finish()
    }
}

/// Byte offsets of the fields.
pub mod off {
    pub const LPWAN_MAC: usize = 0;
    pub const SIGFOX_ID: usize = 8;
    pub const SIGFOX_PAC: usize = 12;
    pub const LORA_REGION: usize = 52;
    pub const WIFI: usize = 53;
    pub const STA_SSID: usize = 54;
    pub const STA_PWD: usize = 87;
    pub const HEARTBEAT: usize = 152;
    pub const FORCE_UPDATE: usize = 497;
    pub const AUTO_START: usize = 498;
    pub const WDT_ON_BOOT: usize = 512;
    pub const WDT_TIMEOUT: usize = 516;
    pub const LTE_ON_BOOT: usize = 520;
    pub const SW_VERSION: usize = 521;
    pub const BOOT_FS_TYPE: usize = 533;
    pub const BOOT_PARTITION: usize = 534;
    pub const HW_TYPE: usize = 535;
    pub const AP_SSID: usize = 536;
    pub const AP_PWD: usize = 569;
}

/// Decoded view, for `info` output.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConfigFields {
    pub erased: bool,
    pub lpwan_mac: String,
    pub sigfox_id: String,
    pub lora_region: u8,
    pub wifi_on_boot: bool,
    pub wifi_mode: u8,
    pub wifi_smart_config: bool,
    pub wifi_auth: u8,
    pub wifi_antenna_internal: bool,
    pub wifi_sta_ssid: Option<String>,
    pub wifi_ap_ssid: Option<String>,
    pub heartbeat_on_boot: bool,
    pub pybytes_auto_start: u8,
    pub pybytes_force_update: u8,
    pub wdt_on_boot: u8,
    pub wdt_on_boot_timeout: u32,
    pub lte_modem_on_boot: u8,
    /// As `config_get_boot_fs_type()` reads it: 0xFF means LittleFS.
    pub boot_fs_type: String,
    pub boot_partition: u8,
    pub hw_type: u8,
}

/// Setting names accepted by [`ConfigBlock::apply_spec`].
pub const SETTINGS: &[&str] = &[
    "wifi_on_boot",
    "wifi_mode",
    "wifi_auth",
    "wifi_smart_config",
    "wifi_antenna",
    "wifi_ssid_sta",
    "wifi_pwd_sta",
    "wifi_ssid_ap",
    "wifi_pwd_ap",
    "heartbeat_on_boot",
    "wdt_on_boot",
    "wdt_on_boot_timeout",
    "lte_modem_on_boot",
    "pybytes_on_boot",
    "pybytes_force_update",
    "boot_fs_type",
    "boot_partition",
    "lora_region",
    "lpwan_mac",
    "quiet",
];

fn opt_string(field: &[u8]) -> Option<String> {
    if field.first() == Some(&0xFF) {
        None
    } else {
        Some(c_string(field))
    }
}

impl Default for ConfigBlock {
    fn default() -> Self {
        ConfigBlock::erased()
    }
}

impl ConfigBlock {
    pub fn erased() -> ConfigBlock {
        ConfigBlock([0xFF; CONFIG_LEN])
    }

    pub fn parse(data: &[u8]) -> Result<ConfigBlock, ConfigError> {
        let b = data
            .get(..CONFIG_LEN)
            .ok_or(ConfigError::Truncated(data.len()))?;
        let mut a = [0u8; CONFIG_LEN];
        a.copy_from_slice(b);
        Ok(ConfigBlock(a))
    }

    /// What says `data` (the 1024-byte block, or its 4 KB sector) is a block the firmware could have
    /// written: one [`Check`] per rule of the module table, failed ones with the offending offset.
    pub fn evidence(data: &[u8]) -> Vec<Check> {
        let mut checks = Vec::new();
        let size_ok = match data.len() {
            CONFIG_LEN => Check::new("size", true, 0, "1024 bytes"),
            CONFIG_SECTOR => match data[CONFIG_LEN..].iter().position(|&b| b != 0xFF) {
                None => Check::new("size", true, 0, "4 KB sector, erased after 1024 bytes"),
                Some(i) => Check::new(
                    "erased tail",
                    false,
                    CONFIG_LEN + i,
                    format!(
                        "byte {:#x} is {:#04x}; config_write() leaves the sector erased after 1024 bytes",
                        CONFIG_LEN + i,
                        data[CONFIG_LEN + i]
                    ),
                ),
            },
            n => Check::new(
                "size",
                false,
                0,
                format!("{n} bytes; a config block is 1024 bytes (or its 4096-byte sector)"),
            ),
        };
        checks.push(size_ok);
        let Some(b) = data.get(..CONFIG_LEN) else {
            return checks;
        };
        let first = b[0];
        let uniform = first != 0xFF && b.iter().all(|&x| x == first);
        checks.push(Check::new(
            "fill",
            !uniform,
            0,
            if uniform {
                format!("every byte is {first:#04x}: a fill, not a config block")
            } else {
                String::new()
            },
        ));
        for (at, name) in [
            (off::FORCE_UPDATE, "pybytes force_update"),
            (off::AUTO_START, "pybytes auto_start"),
            (off::WDT_ON_BOOT, "wdt_on_boot"),
            (off::LTE_ON_BOOT, "lte_modem_en_on_boot"),
            (off::BOOT_FS_TYPE, "boot_fs_type"),
        ] {
            let v = b[at];
            let ok = matches!(v, 0 | 1 | 0xFF);
            checks.push(Check::new(
                name,
                ok,
                at,
                if ok {
                    String::new()
                } else {
                    format!("{v:#04x} at offset {at}; the firmware stores 0, 1 or leaves 0xff")
                },
            ));
        }
        let region = b[off::LORA_REGION];
        let ok = region <= MAX_LORA_REGION || region == 0xFF;
        checks.push(Check::new(
            "lora_region",
            ok,
            off::LORA_REGION,
            if ok {
                String::new()
            } else {
                format!("{region:#04x} at offset 52 is no LoRaMac region (0-9, or 0xff unset)")
            },
        ));
        for (at, len, name) in [
            (off::STA_SSID, 33, "STA ssid"),
            (off::STA_PWD, 65, "STA pwd"),
            (off::AP_SSID, 33, "AP ssid"),
            (off::AP_PWD, 65, "AP pwd"),
        ] {
            let f = &b[at..at + len];
            let ok = f[0] == 0xFF || f.contains(&0);
            checks.push(Check::new(
                name,
                ok,
                at,
                if ok {
                    String::new()
                } else {
                    format!("{len} bytes at offset {at} with no NUL: not a C string, not erased")
                },
            ));
        }
        checks
    }

    /// True when every [`ConfigBlock::evidence`] check passes.
    pub fn looks_like(data: &[u8]) -> bool {
        Self::evidence(data).iter().all(|c| c.ok)
    }

    pub fn to_bytes(&self) -> &[u8; CONFIG_LEN] {
        &self.0
    }

    /// The 4 KB sector as `config_write()` leaves it.
    pub fn to_sector(&self) -> Vec<u8> {
        let mut v = vec![0xFF; CONFIG_SECTOR];
        v[..CONFIG_LEN].copy_from_slice(&self.0);
        v
    }

    pub fn is_erased(&self) -> bool {
        self.0.iter().all(|&b| b == 0xFF)
    }

    fn set_bits(&mut self, at: usize, shift: u8, width: u8, value: u8) {
        let mask = (((1u16 << width) - 1) as u8) << shift;
        self.0[at] = (self.0[at] & !mask) | ((value << shift) & mask);
    }

    fn bits(&self, at: usize, shift: u8, width: u8) -> u8 {
        (self.0[at] >> shift) & (((1u16 << width) - 1) as u8)
    }

    // Setters, each changing exactly the bytes the firmware's `config_set_*` changes.
    pub fn set_wifi_on_boot(&mut self, on: bool) {
        self.set_bits(off::WIFI, 0, 1, on as u8);
    }
    pub fn set_wifi_mode(&mut self, mode: u8) {
        self.set_bits(off::WIFI, 1, 2, mode);
    }
    pub fn set_wifi_smart_config(&mut self, on: bool) {
        self.set_bits(off::WIFI, 3, 1, on as u8);
    }
    pub fn set_wifi_auth(&mut self, auth: u8) {
        self.set_bits(off::WIFI, 4, 3, auth);
    }
    pub fn set_wifi_antenna_internal(&mut self, internal: bool) {
        self.set_bits(off::WIFI, 7, 1, internal as u8);
    }
    pub fn set_heartbeat_on_boot(&mut self, on: bool) {
        self.set_bits(off::HEARTBEAT, 0, 1, on as u8);
    }
    pub fn set_wdt_on_boot(&mut self, on: bool) {
        self.0[off::WDT_ON_BOOT] = on as u8;
    }
    pub fn set_wdt_on_boot_timeout(&mut self, ms: u32) {
        self.0[off::WDT_TIMEOUT..off::WDT_TIMEOUT + 4].copy_from_slice(&ms.to_le_bytes());
    }
    pub fn set_lte_modem_on_boot(&mut self, on: bool) {
        self.0[off::LTE_ON_BOOT] = on as u8;
    }
    pub fn set_pybytes_autostart(&mut self, on: bool) {
        self.0[off::AUTO_START] = on as u8;
    }
    pub fn set_boot_fs_type(&mut self, t: u8) {
        self.0[off::BOOT_FS_TYPE] = t;
    }
    /// A string field: copied and NUL-padded, or erased to 0xFF for `None` (the firmware's "unset").
    pub fn set_string(
        &mut self,
        at: usize,
        len: usize,
        value: Option<&str>,
    ) -> Result<(), ConfigError> {
        let field = &mut self.0[at..at + len];
        match value {
            None => field.fill(0xFF),
            Some(s) => {
                if s.len() >= len {
                    return Err(ConfigError::Spec(
                        s.into(),
                        format!("longer than {} bytes", len - 1),
                    ));
                }
                field.fill(0);
                field[..s.len()].copy_from_slice(s.as_bytes());
            }
        }
        Ok(())
    }

    pub fn fields(&self) -> ConfigFields {
        let b = &self.0;
        let fs = match b[off::BOOT_FS_TYPE] {
            0 => "FAT".to_string(),
            1 | 0xFF => "LittleFS".to_string(),
            v => format!("unknown ({v})"),
        };
        ConfigFields {
            erased: self.is_erased(),
            lpwan_mac: hex(&b[off::LPWAN_MAC..off::LPWAN_MAC + 8]),
            sigfox_id: hex(&b[off::SIGFOX_ID..off::SIGFOX_ID + 4]),
            lora_region: b[off::LORA_REGION],
            wifi_on_boot: self.bits(off::WIFI, 0, 1) == 1,
            wifi_mode: self.bits(off::WIFI, 1, 2),
            wifi_smart_config: self.bits(off::WIFI, 3, 1) == 1,
            wifi_auth: self.bits(off::WIFI, 4, 3),
            wifi_antenna_internal: self.bits(off::WIFI, 7, 1) == 1,
            wifi_sta_ssid: opt_string(&b[off::STA_SSID..off::STA_SSID + 33]),
            wifi_ap_ssid: opt_string(&b[off::AP_SSID..off::AP_SSID + 33]),
            heartbeat_on_boot: self.bits(off::HEARTBEAT, 0, 1) == 1,
            pybytes_auto_start: b[off::AUTO_START],
            pybytes_force_update: b[off::FORCE_UPDATE],
            wdt_on_boot: b[off::WDT_ON_BOOT],
            wdt_on_boot_timeout: le_u32(b, off::WDT_TIMEOUT).unwrap_or(0),
            lte_modem_on_boot: b[off::LTE_ON_BOOT],
            boot_fs_type: fs,
            boot_partition: b[off::BOOT_PARTITION],
            hw_type: b[off::HW_TYPE],
        }
    }

    /// Applies `key=value,...`. Booleans take 0/1/true/false/on/off. `quiet=1` sets what
    /// pycom-firmware.md §6.3 lists for a quiet boot (byte 53 = 0xB2: WiFi off, AP, no smart config,
    /// WPA2; no WDT, no LTE, no Pybytes).
    pub fn apply_spec(&mut self, spec: &str) -> Result<(), ConfigError> {
        let err = |m: String| ConfigError::Spec(spec.to_string(), m);
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| err(format!("{item:?} is not key=value")))?;
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            let boolean = || -> Result<bool, ConfigError> {
                match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "on" | "yes" => Ok(true),
                    "0" | "false" | "off" | "no" => Ok(false),
                    _ => Err(err(format!("{k}: {v:?} is not a boolean"))),
                }
            };
            let num = |max: u64| -> Result<u64, ConfigError> {
                parse_number(v)
                    .filter(|n| *n <= max)
                    .ok_or_else(|| err(format!("{k}: {v:?} is not a number ≤ {max}")))
            };
            let text = || {
                if v.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(v)
                }
            };
            match k.as_str() {
                "wifi_on_boot" => self.set_wifi_on_boot(boolean()?),
                "wifi_mode" => {
                    let m = match v.to_ascii_lowercase().as_str() {
                        "sta" => 0,
                        "ap" => 1,
                        "apsta" | "sta_ap" => 2,
                        "none" => 3,
                        _ => num(3)? as u8,
                    };
                    self.set_wifi_mode(m)
                }
                "wifi_auth" => self.set_wifi_auth(num(7)? as u8),
                "wifi_smart_config" => self.set_wifi_smart_config(boolean()?),
                "wifi_antenna" => {
                    let internal = match v.to_ascii_lowercase().as_str() {
                        "internal" | "int" | "1" => true,
                        "external" | "ext" | "0" => false,
                        _ => {
                            return Err(err(format!("wifi_antenna: {v:?} (internal or external)")))
                        }
                    };
                    self.set_wifi_antenna_internal(internal)
                }
                "wifi_ssid_sta" => self.set_string(off::STA_SSID, 33, text())?,
                "wifi_pwd_sta" => self.set_string(off::STA_PWD, 65, text())?,
                "wifi_ssid_ap" => self.set_string(off::AP_SSID, 33, text())?,
                "wifi_pwd_ap" => self.set_string(off::AP_PWD, 65, text())?,
                "heartbeat_on_boot" => self.set_heartbeat_on_boot(boolean()?),
                "wdt_on_boot" => self.set_wdt_on_boot(boolean()?),
                "wdt_on_boot_timeout" => self.set_wdt_on_boot_timeout(num(u32::MAX as u64)? as u32),
                "lte_modem_on_boot" | "lte_modem_en_on_boot" => {
                    self.set_lte_modem_on_boot(boolean()?)
                }
                "pybytes_on_boot" | "pybytes_autostart" | "auto_start" => {
                    self.set_pybytes_autostart(boolean()?)
                }
                "pybytes_force_update" => self.0[off::FORCE_UPDATE] = boolean()? as u8,
                "boot_fs_type" => {
                    let t = match v.to_ascii_lowercase().as_str() {
                        "fat" | "0" => 0,
                        "littlefs" | "lfs" | "1" => 1,
                        _ => return Err(err(format!("boot_fs_type: {v:?} (fat or littlefs)"))),
                    };
                    self.set_boot_fs_type(t)
                }
                "boot_partition" => self.0[off::BOOT_PARTITION] = num(255)? as u8,
                "lora_region" => {
                    // 255 is the erased "unset"; anything else must be a region number.
                    let r = if v.eq_ignore_ascii_case("none") {
                        0xFF
                    } else {
                        num(MAX_LORA_REGION as u64)? as u8
                    };
                    self.0[off::LORA_REGION] = r
                }
                "lpwan_mac" => {
                    let h: String = v.chars().filter(|c| c.is_ascii_hexdigit()).collect();
                    if h.len() != 16 {
                        return Err(err("lpwan_mac needs 8 bytes of hex".into()));
                    }
                    for i in 0..8 {
                        self.0[off::LPWAN_MAC + i] =
                            u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap_or(0xFF);
                    }
                }
                "quiet" => {
                    if boolean()? {
                        self.set_wifi_on_boot(false);
                        self.set_wifi_mode(1);
                        self.set_wifi_smart_config(false);
                        self.set_wifi_auth(3);
                        self.set_wdt_on_boot(false);
                        self.set_lte_modem_on_boot(false);
                        self.set_pybytes_autostart(false);
                    }
                }
                _ => {
                    return Err(err(format!(
                        "unknown setting {k:?}; known: {}",
                        SETTINGS.join(", ")
                    )))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erased_defaults_read_as_firmware_does() {
        let f = ConfigBlock::erased().fields();
        assert!(f.erased && f.wifi_on_boot && f.heartbeat_on_boot);
        assert_eq!((f.wifi_mode, f.wifi_auth), (3, 7));
        assert_eq!(f.boot_fs_type, "LittleFS");
        assert_eq!(f.wifi_sta_ssid, None);
    }

    #[test]
    fn quiet_byte_53_is_0xb2() {
        let mut c = ConfigBlock::erased();
        c.apply_spec("wifi_on_boot=0,wifi_mode=ap,wifi_auth=3")
            .unwrap();
        assert_eq!(c.0[53], 0xBA); // smart_config (bit 3) keeps its erased 1
        c.apply_spec("wifi_smart_config=0").unwrap();
        assert_eq!(c.0[53], 0xB2);
        c.apply_spec("heartbeat_on_boot=0,wdt_on_boot=0,lte_modem_on_boot=0,boot_fs_type=fat")
            .unwrap();
        assert_eq!(c.0[152], 0xFE); // only bit 0 changes, like the C bitfield store
        assert_eq!((c.0[512], c.0[520], c.0[533]), (0, 0, 0));
        let mut q = ConfigBlock::erased();
        q.apply_spec("quiet=1").unwrap();
        assert_eq!((q.0[53], q.0[512], q.0[520], q.0[498]), (0xB2, 0, 0, 0));
    }

    #[test]
    fn strings_and_errors() {
        let mut c = ConfigBlock::erased();
        c.apply_spec("wifi_ssid_sta=home,wifi_pwd_sta=secret")
            .unwrap();
        assert_eq!(c.fields().wifi_sta_ssid.as_deref(), Some("home"));
        assert_eq!(&c.0[54..59], b"home\0");
        assert!(c.apply_spec("wifi_on_boot=maybe").is_err());
        assert!(c.apply_spec("nonsense=1").is_err());
        assert!(c
            .apply_spec(&format!("wifi_ssid_sta={}", "x".repeat(33)))
            .is_err());
        assert_eq!(
            ConfigBlock::parse(&[0; 10]),
            Err(ConfigError::Truncated(10))
        );
    }

    #[test]
    fn only_plausible_blocks_count_as_config_blocks() {
        let mut c = ConfigBlock::erased();
        assert!(ConfigBlock::looks_like(&c.0));
        c.apply_spec("quiet=1,wifi_ssid_sta=home,lora_region=5,boot_fs_type=fat")
            .unwrap();
        assert!(ConfigBlock::looks_like(&c.0));
        assert!(ConfigBlock::looks_like(&c.to_sector()));
        let mut sector = c.to_sector();
        sector[2000] = 0;
        let bad: Vec<_> = ConfigBlock::evidence(&sector)
            .into_iter()
            .filter(|c| !c.ok)
            .collect();
        assert_eq!((bad[0].name.as_str(), bad[0].offset), ("erased tail", 2000));
        let text: Vec<u8> = b"lorem ipsum dolor sit amet\n"
            .iter()
            .copied()
            .cycle()
            .take(1024)
            .collect();
        assert!(!ConfigBlock::looks_like(&text));
        assert!(!ConfigBlock::looks_like(&[0u8; 1024]));
        assert!(!ConfigBlock::looks_like(&[0xFFu8; 1000]));
        let mut wdt = ConfigBlock::erased();
        wdt.0[off::WDT_ON_BOOT] = 7;
        assert!(!ConfigBlock::looks_like(&wdt.0));
        assert!(ConfigBlock::erased().apply_spec("lora_region=16").is_err());
    }
}
