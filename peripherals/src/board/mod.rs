//! Pycom boards: pin names (P0…P23 and the expansion-board G names) mapped to ESP32 GPIOs,
//! from Pycom's `pins.csv` (identical on WiPy, LoPy, LoPy4, SiPy, GPy and FiPy).
//!
//! | pin | GPIO | | pin | GPIO | | pin | GPIO |
//! |---|---|---|---|---|---|---|---|
//! | P0 (G2, RX0) | 3 | | P8 (G15) | 2 | | P16 (G8) | 39 |
//! | P1 (G1, TX0) | 1 | | P9 (G16) | 12 | | P17 (G31) | 35 |
//! | P2 (G23, LED) | 0 | | P10 (G17) | 13 | | P18 (G30) | 34 |
//! | P3 (G24) | 4 | | P11 (G22) | 22 | | P19 (G6) | 32 |
//! | P4 (G11) | 15 | | P12 (G28, safe boot) | 21 | | P20 (G7) | 33 |
//! | P5 (G14) | 5 | | P13 (G5) | 36 | | P21 (G8?) | 26 |
//! | P6 (G4) | 18 | | P14 (G4?) | 37 | | P22 (G9) | 25 |
//! | P7 (G13) | 19 | | P15 (G0) | 38 | | P23 (G10) | 14 |
//!
//! Names are matched case-insensitively; `GPIOn` is accepted for any pad.

/// The USB-UART bridge's DTR/RTS auto-reset circuit (EN and GPIO0).
pub mod autoreset;

use crate::sx127x::Wiring;
use thiserror::Error;

/// The RGB LED's data pad (P2, a WS2812 on every board).
pub const LED_GPIO: u8 = 0;

/// Pycom's LPWAN wiring (esp32/main.c `app_main`, esp32/lora/board.h): VSPI with MOSI
/// GPIO27, MISO GPIO19, SCLK GPIO5, DIO GPIO23; chips of revision > 0 have NSS on GPIO18
/// and no reset line, revision 0 has NSS on GPIO17 and NRESET on GPIO18.
pub fn lora_wiring(chip_revision: u8) -> Wiring {
    if chip_revision > 0 {
        Wiring { spi: 3, ncs: 18, dio0: 23, reset: None }
    } else {
        Wiring { spi: 3, ncs: 17, dio0: 23, reset: Some(18) }
    }
}

/// The SX1276 of a Pycom board, if it has one: LoPy4 and FiPy, where LoRa and Sigfox share
/// it. (The first-generation LoPy's SX1272 is another chip and is not modelled.)
pub fn lora(board: &images::board::Board) -> Option<Wiring> {
    (board.lora && board.generation == images::board::Generation::Second).then(|| lora_wiring(board.chip_revision))
}

/// The Sequans LTE modem's UART2 pads (Pycom's `esp32/boards/{GPY,FIPY}/mpconfigboard.h`,
/// `MICROPY_LTE_{TX,RX,RTS,CTS}_PIN`, with `pins.csv`): GPy TX P5 = GPIO5, RX P98 = GPIO23,
/// RTS P7 = GPIO19, CTS P99 = GPIO18; FiPy TX P20 = GPIO33, RX P18 = GPIO34, RTS P19 =
/// GPIO32, CTS P17 = GPIO35. (TX/RX/RTS/CTS as the ESP32 names them.)
pub fn lte(board: &images::board::Board) -> Option<crate::lte_modem::Wiring> {
    use crate::lte_modem::Wiring;
    match board.id {
        _ if !board.lte => None,
        "gpy" => Some(Wiring { tx: 5, rx: 23, rts: 19, cts: 18 }),
        "fipy" => Some(Wiring { tx: 33, rx: 34, rts: 32, cts: 35 }),
        _ => None,
    }
}

pub const PINS: [(&str, u8); 24] = [
    ("P0", 3),
    ("P1", 1),
    ("P2", 0),
    ("P3", 4),
    ("P4", 15),
    ("P5", 5),
    ("P6", 18),
    ("P7", 19),
    ("P8", 2),
    ("P9", 12),
    ("P10", 13),
    ("P11", 22),
    ("P12", 21),
    ("P13", 36),
    ("P14", 37),
    ("P15", 38),
    ("P16", 39),
    ("P17", 35),
    ("P18", 34),
    ("P19", 32),
    ("P20", 33),
    ("P21", 26),
    ("P22", 25),
    ("P23", 14),
];

/// ESP32 pads that exist (GPIO20, 24 and 28–31 are not bonded out).
pub fn gpio_exists(n: u32) -> bool {
    n < 40 && !matches!(n, 20 | 24 | 28..=31)
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown pin `{name}`; valid pins: {}, or GPIOn (n = 0..39)", PINS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))]
pub struct UnknownPin {
    pub name: String,
}

/// The GPIO number of a Pycom pin name (`P12`) or `GPIO21`.
pub fn gpio_of(name: &str) -> Result<u8, UnknownPin> {
    let up = name.trim().to_ascii_uppercase();
    if let Some(&(_, g)) = PINS.iter().find(|(p, _)| *p == up) {
        return Ok(g);
    }
    if let Some(n) = up.strip_prefix("GPIO").and_then(|n| n.parse::<u32>().ok()) {
        if gpio_exists(n) {
            return Ok(n as u8);
        }
    }
    Err(UnknownPin { name: name.to_string() })
}

/// The Pycom name of a GPIO, if it is on the header.
pub fn name_of(gpio: u8) -> Option<&'static str> {
    PINS.iter().find(|p| p.1 == gpio).map(|p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names() {
        assert_eq!(gpio_of("P12"), Ok(21));
        assert_eq!(gpio_of("p2"), Ok(0));
        assert_eq!(gpio_of("GPIO21"), Ok(21));
        let e = gpio_of("P99").unwrap_err().to_string();
        assert!(e.contains("P23") && e.contains("P99"), "{e}");
        assert!(gpio_of("GPIO20").is_err());
    }
}
