//! Off-chip parts the boards wire to the SoC's pads and buses.

pub mod flash;
pub mod psram;
pub mod sx127x;
pub mod ws2812;
