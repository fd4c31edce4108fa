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

use crate::device::{self, Access};
use crate::time::Ps;
use crate::regblock::RegBlock;

crate::regs! {
    /// The eFuse controller (TRM "eFuse Controller").
    pub static REGS: "EFUSE", 0x200;
    /// Block 0 as burned; RDATA1..5 come from the board's configuration (`Efuse::new`).
    0x00 BLK0_RDATA0 ro 0 stored;
    0x04 BLK0_RDATA1 ro 0 stored;
    0x08 BLK0_RDATA2 ro 0 stored {
        MAC_HI 15:0 modelled;
        MAC_CRC 23:16 modelled;
    };
    0x0C BLK0_RDATA3 ro 0 stored {
        CHIP_VER_REV1 15 modelled;
        CHIP_VER_PKG 11:9 stored;
    };
    0x10 BLK0_RDATA4 ro 0 stored {
        /// CK8M calibration in 100 kHz units: 80 = 8.0 MHz (the ROM's XTAL detection
        /// divides by it).
        CK8M_FREQ 7:0 modelled;
    };
    0x14 BLK0_RDATA5 ro 0 stored {
        CHIP_VER_REV2 20 modelled;
    };
    0x18 BLK0_RDATA6 ro 0 stored;
    0x1C BLK0_WDATA[7] rw 0 stored;
    /// Blocks 1..3: nothing burned.
    0x38 BLKN_RDATA[24] ro 0 stored;
    0x98 BLKN_WDATA[24] rw 0 stored;
    0xF8 CLK rw 0x4052 stored;
    0xFC CONF rw 0 stored;
    0x100 STATUS ro 0 stored;
    0x104 CMD rw 0 stored {
        /// Reads complete at once.
        READ_CMD 0 modelled;
        /// Burning is not modelled.
        PGM_CMD 1 unmodelled;
    };
    0x108 INT_RAW ro 0 stored;
    0x10C INT_ST ro 0 stored;
    0x110 INT_ENA rw 0 stored;
    0x114 INT_CLR rw 0 stored;
    0x118 DAC_CONF rw 0x28 stored;
    0x11C DEC_STATUS ro 0 stored;
    0x1FC DATE ro 0x1604_2600 stored;
}

/// The CK8M calibration: 8.0 MHz.
const CK8M_100KHZ: u32 = 80;

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
        let rdata2 = BLK0_RDATA2::MAC_HI.val(u16::from_le_bytes([m[1], m[0]]) as u32) | BLK0_RDATA2::MAC_CRC.val(mac_crc8(&m) as u32);
        let rdata3 = BLK0_RDATA3::CHIP_VER_REV1.val((cfg.revision >= 1) as u32);
        let rdata5 = BLK0_RDATA5::CHIP_VER_REV2.val((cfg.revision >= 2) as u32);
        let regs = RegBlock::new("EFUSE", &REGS)
            .with_reset(BLK0_RDATA1, rdata1)
            .with_reset(BLK0_RDATA2, rdata2)
            .with_reset(BLK0_RDATA3, rdata3)
            .with_reset(BLK0_RDATA4, BLK0_RDATA4::CK8M_FREQ.val(CK8M_100KHZ))
            .with_reset(BLK0_RDATA5, rdata5);
        Efuse { regs }
    }

    pub fn read(&mut self, off: u32) -> Option<u32> {
        self.regs.read(off)
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        if off == CMD {
            // Commands complete immediately; burning is not modelled.
            return self.regs.has(off);
        }
        self.regs.write(off, v)
    }
}


impl device::Device for Efuse {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        Efuse::read(self, off)
    }

    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        Efuse::write(self, off, v)
    }

    /// eFuses are not reset: they are what the chip was burnt with.
    fn reset_digital(&mut self, _now: Ps) {}

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
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
