//! ESP32 peripherals, the SoC (memory map, both cores) and the Pycom boards, by role:
//!
//! * `soc/`: the SoC as one bus — memory map, the block table and `Device` trait, interrupt
//!   sources and reset causes, the caches' timing;
//! * `blocks/`: one module per ESP32 register block;
//! * `parts/`: off-chip parts (SPI flash, PSRAM, SX127x LoRa, WS2812 LED, Sequans LTE modem);
//! * `board/`: the Pycom boards (pins, wiring, sizes);
//! * `machine/`: both cores, the scheduler, resets, fast paths, snapshots.
//!
//! Every module is also reachable at the crate root (`peripherals::uart`, …).

pub mod blocks;
pub mod board;
pub mod machine;
pub mod parts;
pub mod soc;
pub mod time;
pub mod timing;

pub use blocks::{dport, efuse, frc, gpio, misc, radio, regblock, rmt, rtc_cntl, spi, spi_gp, timg, uart, wdt};
pub use machine::{fastpath, snapshot};
pub use board::autoreset;
pub use parts::{flash, lte_modem, psram, spi_bus, sx127x, ws2812};
pub use soc::{cache_timing, device, memmap, reset, source};

pub use machine::{HostInput, Machine, MachineConfig, Report, Stop};
pub use timing::Timing;
pub use machine::host::CacheStats;
