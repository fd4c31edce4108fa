//! Off-chip parts the boards wire to the SoC's pads and buses. The SPI parts (flash,
//! PSRAM, SX127x) meet the SPI controllers through one trait (`spi_bus::SpiDevice`); the
//! WS2812 LED is fed from the RMT's output pad, not over SPI; the LTE modem (GPy, FiPy) sits
//! on UART2.

pub mod flash;
pub mod lte_modem;
pub mod psram;
pub mod spi_bus;
pub mod sx127x;
pub mod ws2812;
