//! The ESP32's register blocks, one module each; every block is a `soc::device::Device`
//! and has one line in the SoC's block table (`soc/mod.rs`).

pub mod dport;
pub mod efuse;
pub mod frc;
pub mod gpio;
pub mod misc;
pub mod radio;
pub mod regblock;
pub mod rmt;
pub mod rtc_cntl;
pub mod spi;
pub mod spi_gp;
pub mod timg;
pub mod uart;
pub mod wdt;
