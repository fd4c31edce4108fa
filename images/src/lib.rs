//! Firmware and flash formats. No emulation here: pure formats.
//!
//! | module | format |
//! |---|---|
//! | [`app_image`] | ESP32 app and bootloader images (header, segments, checksum, SHA-256, app description) |
//! | [`partition`] | ESP-IDF partition tables (0x50AA entries, 0xEBEB MD5 entry) |
//! | [`boot_info`] | Pycom's `boot_info_t` record in otadata |
//! | [`config_block`] | Pycom's 1024-byte config block at 0x3FF000 |
//! | [`bundle`] | Pycom update bundles (`.tar.gz` + `script*` JSON) |
//! | [`elf`] | ELF files, and ELF → app image (esptool `elf2image`) |
//! | [`flash`] | a flash chip's contents (bytes) and the Pycom flash map |
//! | [`compose`] | composing a board's flash image from any firmware input and overrides |
//! | [`inspect`] | reading a flash image back: slots, boot record, config |
//! | [`board`] | the boards and their flash/PSRAM/chip-revision facts |
//! | [`detect`] | telling which of the above a file is |
//! | [`identify`] | which board a firmware file was built for, with the evidence |

pub mod app_image;
pub mod board;
pub mod boot_info;
pub mod bundle;
pub mod compose;
pub mod config_block;
pub mod detect;
pub mod elf;
pub mod flash;
pub mod identify;
pub mod inspect;
pub mod partition;
pub mod rom;
pub mod util;

pub use app_image::{AppImage, ImageError};
pub use board::Board;
pub use boot_info::BootInfo;
pub use bundle::Bundle;
pub use config_block::ConfigBlock;
pub use partition::PartitionTable;
