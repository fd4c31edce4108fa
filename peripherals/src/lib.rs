//! ESP32 peripherals, the SoC (memory map, both cores) and the Pycom boards.

pub mod autoreset;
pub mod board;
pub mod cache_timing;
pub mod dport;
pub mod efuse;
pub mod fastpath;
pub mod flash;
pub mod frc;
pub mod gpio;
pub mod machine;
pub mod memmap;
pub mod misc;
pub mod psram;
pub mod radio;
pub mod regblock;
pub mod rmt;
pub mod rtc_cntl;
pub mod soc;
pub mod spi;
pub mod spi_gp;
pub mod snapshot;
pub mod sx127x;
pub mod timg;
pub mod uart;
pub mod ws2812;

pub use machine::{HostInput, Machine, MachineConfig, Report, Stop};
