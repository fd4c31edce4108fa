//! eFuse controller (0x3FF5_A000): the read registers of blocks 0–3 as a given chip has
//! them burned (MAC address, chip revision, package, SPI pad configuration).
//!
//! | off | register | |
//! |---|---|---|
//! | 0x00..0x18 | BLK0_RDATA0..6 | RDATA1/2: MAC (+CRC8 in [23:16] of RDATA2: IDF efuse field MAC_FACTORY_CRC at bit 80); RDATA3 bit 15: REV1, [11:9] package; RDATA4 [7:0] CK8M calibration; RDATA5 bit 20: REV2 |
//! | 0x1C..0x34 | BLK0_WDATA0..6 | stored |
//! | 0x38..0x94 | BLK1..3 RDATA | zero |
//! | 0x98..0xF4 | BLK1..3 WDATA | stored |
//! | 0xF8 | CLK | |
//! | 0xFC | CONF | |
//! | 0x100 | STATUS | |
//! | 0x104 | CMD | read/program commands complete at once |
//! | 0x108..0x114 | INT_RAW/ST/ENA/CLR | |
//! | 0x118 | DAC_CONF | |
//! | 0x11C | DEC_STATUS | |
//! | 0x1FC | DATE | |

use crate::regblock::{ro, rw, rw_array, RegBlock, RegDef};

/// The burned contents that matter for a board.
#[derive(Clone, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct EfuseConfig {
    pub mac: [u8; 6],
    /// Chip revision: 0 (first-generation Pycom boards) or 1 (second generation).
    pub revision: u8,
}

/// CRC-8 of the factory MAC as the ROM checks it (polynomial 0x8C reflected, init 0).
pub fn mac_crc8(mac: &[u8; 6]) -> u8 {
    let mut crc = 0u8;
    for &b in mac {
        let mut x = b;
        for _ in 0..8 {
            let mix = (crc ^ x) & 1;
            crc >>= 1;
            if mix != 0 {
                crc ^= 0x8C;
            }
            x >>= 1;
        }
    }
    crc
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Efuse {
    pub regs: RegBlock,
}

impl Efuse {
    pub fn new(cfg: &EfuseConfig) -> Efuse {
        let m = cfg.mac;
        let rdata1 = u32::from_le_bytes([m[5], m[4], m[3], m[2]]);
        let rdata2 = (m[1] as u32) | (m[0] as u32) << 8 | (mac_crc8(&m) as u32) << 16;
        let rdata3 = if cfg.revision >= 1 { 1 << 15 } else { 0 };
        let rdata5 = if cfg.revision >= 2 { 1 << 20 } else { 0 };
        let mut d: Vec<RegDef> = vec![
            ro(0x00, 0, "BLK0_RDATA0"),
            ro(0x04, rdata1, "BLK0_RDATA1"),
            ro(0x08, rdata2, "BLK0_RDATA2"),
            ro(0x0C, rdata3, "BLK0_RDATA3"),
            // [7:0] CK8M calibration in 100 kHz units: 80 = 8.0 MHz (the ROM's XTAL
            // detection divides by it).
            ro(0x10, 80, "BLK0_RDATA4"),
            ro(0x14, rdata5, "BLK0_RDATA5"),
            ro(0x18, 0, "BLK0_RDATA6"),
        ];
        rw_array(&mut d, 0x1C, 7, 0, "BLK0_WDATA");
        for i in 0..24 {
            d.push(ro(0x38 + 4 * i, 0, "BLKn_RDATA"));
        }
        rw_array(&mut d, 0x98, 24, 0, "BLKn_WDATA");
        d.extend([
            rw(0xF8, 0x4052, "CLK"),
            rw(0xFC, 0, "CONF"),
            ro(0x100, 0, "STATUS"),
            rw(0x104, 0, "CMD"),
            ro(0x108, 0, "INT_RAW"),
            ro(0x10C, 0, "INT_ST"),
            rw(0x110, 0, "INT_ENA"),
            rw(0x114, 0, "INT_CLR"),
            rw(0x118, 0x28, "DAC_CONF"),
            ro(0x11C, 0, "DEC_STATUS"),
            ro(0x1FC, 0x1604_2600, "DATE"),
        ]);
        Efuse { regs: RegBlock::new("EFUSE", 0x200, d) }
    }

    pub fn read(&mut self, off: u32) -> Option<u32> {
        self.regs.read(off)
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        if off == 0x104 {
            // Read (bit 0) / program (bit 1) complete immediately; burning is not modelled.
            return self.regs.has(off);
        }
        self.regs.write(off, v)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc8_known_value() {
        // The ROM's crc8 of an all-zero MAC is 0.
        assert_eq!(super::mac_crc8(&[0; 6]), 0);
    }
}
