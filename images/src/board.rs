//! Boards pyemu knows, with the facts that decide how the firmware behaves (pycom-firmware.md §0–§1).
//!
//! | id | name | flash | chip revision | PSRAM | radios beyond WiFi/BT |
//! |---|---|---|---|---|---|
//! | lopy4 | LoPy4 | 8 MB | 1 (second generation) | 4 MB | LoRa, Sigfox |
//! | wipy3 | WiPy 3.0 | 8 MB | 1 | 4 MB | – |
//! | fipy | FiPy | 8 MB | 1 | 4 MB | LoRa, Sigfox, LTE |
//! | gpy | GPy | 8 MB | 1 | 4 MB | LTE |
//! | sipy | SiPy | 4 MB | 0 (first generation) | – | Sigfox |
//! | lopy | LoPy | 4 MB | 0 | – | LoRa |
//! | wipy2 | WiPy 2.0 | 4 MB | 0 | – | – |
//! | esp32-4mb | generic ESP32 | 4 MB | 0 | – | – |
//! | esp32-8mb | generic ESP32 | 8 MB | 1 | 4 MB | – |
//!
//! The firmware keys its 4 MB / 8 MB layout on the eFuse chip revision (> 0 means 8 MB and PSRAM), so
//! an 8 MB board must also report revision ≥ 1 and have PSRAM; `esp32-8mb` follows that rule.

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
}

const MB: u32 = 1024 * 1024;

const fn board(
    id: &'static str,
    name: &'static str,
    second: bool,
    lora: bool,
    sigfox: bool,
    lte: bool,
) -> Board {
    Board {
        id,
        name,
        flash_size: if second { 8 * MB } else { 4 * MB },
        generation: if second {
            Generation::Second
        } else {
            Generation::First
        },
        chip_revision: if second { 1 } else { 0 },
        psram_size: if second { 4 * MB } else { 0 },
        lora,
        sigfox,
        lte,
    }
}

pub const BOARDS: &[Board] = &[
    board("lopy4", "LoPy4", true, true, true, false),
    board("wipy3", "WiPy", true, false, false, false),
    board("fipy", "FiPy", true, true, true, true),
    board("gpy", "GPy", true, false, false, true),
    board("sipy", "SiPy", false, false, true, false),
    board("lopy", "LoPy", false, true, false, false),
    board("wipy2", "WiPy", false, false, false, false),
    board("esp32-4mb", "ESP32", false, false, false, false),
    board("esp32-8mb", "ESP32", true, false, false, false),
];

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

    /// The board named by a Pycom bundle file name, e.g. `LoPy4-1.20.2.r7.tar.gz` → lopy4. A bare
    /// `WiPy-…` is ambiguous (WiPy 2.0 has 4 MB, WiPy 3.0 8 MB) and is refused.
    pub fn from_file_name(file_name: &str) -> Result<Board, BoardError> {
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let prefix = base
            .split(['-', '_', '.'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let hint = if prefix == "wipy" {
            " (WiPy 2.0 = wipy2, WiPy 3.0 = wipy3)".to_string()
        } else {
            String::new()
        };
        match prefix.as_str() {
            "lopy4" | "fipy" | "gpy" | "sipy" | "lopy" | "wipy3" | "wipy2" => Board::by_id(&prefix),
            _ => Err(BoardError::NotInName(base.to_string(), hint)),
        }
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
