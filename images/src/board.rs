//! Boards pyemu knows, with the facts that decide how the firmware behaves (pycom-firmware.md §0–§1).
//! [`BOARDS`] is the one place a board is declared: adding a board is adding an entry there.
//!
//! | id | name | flash | eFuse revision | PSRAM | radios beyond WiFi/BT |
//! |---|---|---|---|---|---|
//! | lopy4 | LoPy4 | 8 MB | 1 (second generation) | 4 MB | LoRa, Sigfox |
//! | wipy3 | WiPy 3.0 | 8 MB | 1 | 4 MB | – |
//! | fipy | FiPy | 8 MB | 1 | 4 MB | LoRa, Sigfox, LTE |
//! | gpy | GPy | 8 MB | 1 | 4 MB | LTE |
//! | sipy | SiPy | 4 MB | 0 (first generation) | – | Sigfox |
//! | lopy | LoPy | 4 MB | 0 | – | LoRa |
//! | wipy2 | WiPy 2.0 | 4 MB | 0 | – | – |
//! | esp32-4mb | generic ESP32 module | 4 MB | 0 | – | – |
//! | esp32-4mb-psram | generic ESP32 module (WROVER-type) | 4 MB | 0 | 4 MB | – |
//! | esp32-8mb | generic ESP32 module | 8 MB | 1 | 4 MB | – |
//! | esp32-8mb-nopsram | generic ESP32 module | 8 MB | 1 | – | – |
//! | heltec-ws | Heltec Wireless Stick | 4 MB | 0 | – | LoRa |
//!
//! The Pycom firmware keys its 4 MB / 8 MB layout on the eFuse chip revision (> 0 means 8 MB and
//! PSRAM), so an 8 MB board must also report revision ≥ 1 and have PSRAM to run it; a 4 MB board
//! must report revision 0. `esp32-8mb-nopsram` breaks that rule on purpose (it is what a plain 8 MB
//! WROOM module is): a Pycom-format build there hangs at `GC pool malloc failed!`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// eFuse revision 0, 4 MB flash, no PSRAM.
    First,
    /// eFuse revision ≥ 1, 8 MB flash, 4 MB PSRAM.
    Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Board {
    pub id: &'static str,
    pub name: &'static str,
    pub flash_size: u32,
    pub generation: Generation,
    pub chip_revision: u8,
    pub psram_size: u32,
    pub lora: bool,
    pub sigfox: bool,
    pub lte: bool,
    /// Pycom's WS2812 RGB LED on GPIO0 (P2).
    pub rgb_led: bool,
    /// The names its firmware prints before ` with ESP32` in the banner (`MICROPY_HW_BOARD_NAME`).
    pub banners: &'static [&'static str],
    /// The app image's member name in its Pycom bundle.
    pub app_files: &'static [&'static str],
    /// Which of the facts above are assumptions, and what pyemu does not model of the board.
    pub notes: &'static str,
}

const MB: u32 = 1024 * 1024;

/// The facts of one board; `rev` is the eFuse chip revision (the firmware's "generation").
struct Facts {
    flash_mb: u32,
    rev: u8,
    psram_mb: u32,
    lora: bool,
    sigfox: bool,
    lte: bool,
    rgb_led: bool,
}

const fn board(
    id: &'static str,
    name: &'static str,
    f: Facts,
    banners: &'static [&'static str],
    app_files: &'static [&'static str],
    notes: &'static str,
) -> Board {
    Board {
        id,
        name,
        flash_size: f.flash_mb * MB,
        generation: if f.rev > 0 {
            Generation::Second
        } else {
            Generation::First
        },
        chip_revision: f.rev,
        psram_size: f.psram_mb * MB,
        lora: f.lora,
        sigfox: f.sigfox,
        lte: f.lte,
        rgb_led: f.rgb_led,
        banners,
        app_files,
        notes,
    }
}

/// A Pycom board of the second generation (8 MB, 4 MB PSRAM, revision 1) with these radios.
const fn pycom2(lora: bool, sigfox: bool, lte: bool) -> Facts {
    Facts { flash_mb: 8, rev: 1, psram_mb: 4, lora, sigfox, lte, rgb_led: true }
}

/// A Pycom board of the first generation (4 MB, no PSRAM, revision 0).
const fn pycom1(lora: bool, sigfox: bool) -> Facts {
    Facts { flash_mb: 4, rev: 0, psram_mb: 0, lora, sigfox, lte: false, rgb_led: true }
}

const fn generic(flash_mb: u32, rev: u8, psram_mb: u32) -> Facts {
    Facts { flash_mb, rev, psram_mb, lora: false, sigfox: false, lte: false, rgb_led: false }
}

/// Banners of builds for no particular board (the Pycom tree's generic target, upstream MicroPython).
pub(crate) const GENERIC: &[&str] = &["Generic Module", "ESP32 module", "Generic ESP32 module", "ESP32"];

/// Every board, in the order identification prefers among boards the content fits equally
/// (WiPy 3.0 before WiPy 2.0, the plain module before its variants).
pub const BOARDS: &[Board] = &[
    board("lopy4", "LoPy4", pycom2(true, true, false), &["LoPy4"], &["lopy4.bin"], ""),
    board("wipy3", "WiPy 3.0", pycom2(false, false, false), &["WiPy"], &["wipy.bin"],
        "one WiPy build serves WiPy 2.0 and 3.0; the eFuse revision picks the layout"),
    board("fipy", "FiPy", pycom2(true, true, true), &["FiPy"], &["fipy.bin"],
        "Sequans LTE modem on UART2 (P20/P18/P19/P17): an AT model with a simulated network, no PPP peer"),
    board("gpy", "GPy", pycom2(false, false, true), &["GPy"], &["gpy.bin"],
        "Sequans LTE modem on UART2 (P5/P98/P7/P99): an AT model with a simulated network, no PPP peer"),
    board("sipy", "SiPy", pycom1(false, true), &["SiPy"], &["sipy.bin"],
        "Sigfox radio not modelled"),
    board("lopy", "LoPy", pycom1(true, false), &["LoPy"], &["lopy.bin"],
        "its SX1272 LoRa chip is not modelled"),
    board("wipy2", "WiPy 2.0", pycom1(false, false), &["WiPy"], &["wipy.bin"], ""),
    board("esp32-4mb", "generic ESP32 module, 4 MB", generic(4, 0, 0), GENERIC, &[],
        "revision 0 assumed: Pycom-format generic builds take their 4 MB layout only on revision 0"),
    board("esp32-4mb-psram", "generic ESP32 module, 4 MB + PSRAM", generic(4, 0, 4), GENERIC, &[],
        "revision 0 assumed (as esp32-4mb); Pycom-format builds use PSRAM only on revision ≥ 1, so theirs stays unused"),
    board("esp32-8mb", "generic ESP32 module, 8 MB + PSRAM", generic(8, 1, 4), GENERIC, &[], ""),
    board("esp32-8mb-nopsram", "generic ESP32 module, 8 MB", generic(8, 1, 0), GENERIC, &[],
        "revision 1 assumed (current WROOM modules); Pycom-format builds hang there at `GC pool malloc failed!`"),
    board("heltec-ws", "Heltec Wireless Stick", Facts { flash_mb: 4, rev: 0, psram_mb: 0, lora: true, sigfox: false, lte: false, rgb_led: false },
        &["Heltec Wireless Stick"], &[],
        "ESP32-PICO-D4 (4 MB, no PSRAM); revision 0 assumed as for esp32-4mb; its SX1276 wiring and I2C OLED are not modelled yet"),
];

impl Board {
    /// The radios beyond WiFi and Bluetooth, for listings.
    pub fn radios(&self) -> Vec<&'static str> {
        [(self.lora, "LoRa"), (self.sigfox, "Sigfox"), (self.lte, "LTE")]
            .into_iter()
            .filter_map(|(has, n)| has.then_some(n))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    #[error("unknown board {0:?}; boards: {list}", list = board_list())]
    Unknown(String),
    #[error("cannot tell the board from the file name {0:?}{1}; pass --board (boards: {list})", list = board_list())]
    NotInName(String, String),
}

pub fn board_list() -> String {
    BOARDS.iter().map(|b| b.id).collect::<Vec<_>>().join(", ")
}

impl Board {
    pub fn has_psram(&self) -> bool {
        self.psram_size > 0
    }

    pub fn by_id(id: &str) -> Result<Board, BoardError> {
        let key = id.trim().to_ascii_lowercase().replace('_', "-");
        let key = match key.as_str() {
            "wipy3.0" | "wipy-3" => "wipy3",
            "wipy2.0" | "wipy-2" => "wipy2",
            k => k,
        };
        BOARDS
            .iter()
            .find(|b| b.id == key)
            .copied()
            .ok_or_else(|| BoardError::Unknown(id.to_string()))
    }

    /// The board named by a bundle file name, e.g. `LoPy4-1.20.2.r7.tar.gz` → lopy4,
    /// `HELTEC-WS-1.20.2.r4.tar.gz` → heltec-ws. A bare `WiPy-…` is ambiguous (WiPy 2.0 has
    /// 4 MB, WiPy 3.0 8 MB) and is refused. Only a hint: [`crate::identify`] reads the content.
    pub fn from_file_name(file_name: &str) -> Result<Board, BoardError> {
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let lower = base.to_ascii_lowercase().replace('_', "-");
        let mut ids: Vec<&Board> = BOARDS.iter().collect();
        // Longest first, so `esp32-4mb-psram-…` is not taken for esp32-4mb.
        ids.sort_by_key(|b| std::cmp::Reverse(b.id.len()));
        for b in ids {
            if let Some(rest) = lower.strip_prefix(b.id) {
                if rest.is_empty() || rest.starts_with(['-', '.']) {
                    return Ok(*b);
                }
            }
        }
        let hint = if lower.starts_with("wipy") {
            " (WiPy 2.0 = wipy2, WiPy 3.0 = wipy3)".to_string()
        } else {
            String::new()
        };
        Err(BoardError::NotInName(base.to_string(), hint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            Board::from_file_name("/x/LoPy4-1.20.2.r7.tar.gz")
                .unwrap()
                .id,
            "lopy4"
        );
        assert_eq!(
            Board::from_file_name("SiPy-1.20.2.rc3.tar.gz")
                .unwrap()
                .flash_size,
            4 * MB
        );
        assert!(Board::from_file_name("WiPy-1.20.2.tar.gz").is_err());
        assert!(Board::from_file_name("firmware.tar.gz")
            .unwrap_err()
            .to_string()
            .contains("lopy4, wipy3"));
        let b = Board::by_id("ESP32-8MB").unwrap();
        assert!(b.has_psram() && b.chip_revision == 1);
    }
}
