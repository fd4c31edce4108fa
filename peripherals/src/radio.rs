//! The Wi-Fi / Bluetooth radio as the PHY initialisation sees it: the undocumented RF,
//! baseband and MAC register blocks, and the analog I2C master through which the digital
//! side programs the analog blocks (PLLs, RF front end, bias).
//!
//! Espressif publishes no register descriptions for these blocks; the firmware's closed
//! PHY/RF library (`libphy.a`, `librtc.a`, `libnet80211.a`, `libpp.a` in the Pycom app) and
//! the mask ROM's `rom_*` PHY helpers program them. Names follow IDF's `soc.h` base
//! addresses where it has one. Each block is a register file (every word stored); only the
//! bits the firmware waits on have behaviour, each one justified below by the routine that
//! polls it. The model is a *settled, idle* radio: calibrations finish at once with
//! comparator outputs 0, PLLs are locked, nothing is received and the TX queues are empty.
//!
//! | block | base | what it is (inferred) |
//! |---|---|---|
//! | FE2 | 0x3FF4_5000 | RF front end, part 2 (`DR_REG_FE2_BASE`): TX/RX gain, DC-offset and IQ correction |
//! | FE | 0x3FF4_6000 | RF front end (`DR_REG_FE_BASE`) |
//! | ANA | 0x3FF4_E000 | analog I2C master and analog config (`DR_REG_ANA_BASE`): [`AnaI2c`] |
//! | BT | 0x3FF5_1000 | Bluetooth baseband (`DR_REG_BT_BASE`) |
//! | AGC | 0x3FF5_C000 | PHY: automatic gain control, with the RX chain NRX at +0xC00 (`DR_REG_NRX_BASE` 0x3FF5_CC00) |
//! | BB | 0x3FF5_D000 | baseband (`DR_REG_BB_BASE`) |
//! | BT_BUF | 0x3FF7_1000 | Bluetooth exchange memory / controller registers |
//! | WMAC0 / WMAC1 / WMAC2 | 0x3FF7_2000 / 0x3FF7_3000 / 0x3FF7_4000 | Wi-Fi MAC (the blob's `MAC` registers) |
//!
//! Registers with behaviour:
//!
//! | register | bits | behaviour | why |
//! |---|---|---|---|
//! | ANA +0x00.. (host *n* at +4·*n*) | [7:0] block, [15:8] register, [23:16] data, 24 write, 25 busy | a write performs the I2C transaction at once: writes store the byte in the addressed analog register, reads return it in [23:16]; busy reads 0 | the ROM's `rom_chip_i2c_readReg` / `rom_chip_i2c_writeReg` (reached through `rom_i2c_readReg(_Mask)` / `rom_i2c_writeReg(_Mask)`) write the command and poll bit 25 |
//! | ANA +0x4C | 1 start, 24 done, 31:30 comparator outputs | done reads 1 while start is set; comparators read 0 | the app's DC-offset search (`rom_txdc_cal_*` path) starts a comparison, polls bit 24 and branches on bits 31 and 30 |
//! | ANA +0x50 | 26:24 | read 0 | `get_fm_sar_dout` reads a SAR result there: an idle chip has no pending conversion bits |
//!
//! Analog registers (behind the I2C master) read back what was written, except:
//!
//! | analog block / register | bits | value | why |
//! |---|---|---|---|
//! | 0x62 (RF PLL) reg 0x07 | 1 | 1: PLL locked | the PHY's `pll_cal` polls it after its cap search and prints `phy: error: pll_cal exceeds 2ms!!!` when it stays 0 |

use crate::regblock::RegBlock;
use std::collections::HashMap;

/// Analog block id of the RF PLL (the `pll_cal` lock flag lives there).
pub const ANA_RFPLL: u8 = 0x62;
/// Offsets of ANA registers with behaviour.
pub const ANA_CMP: u32 = 0x4C;
pub const ANA_SAR: u32 = 0x50;
pub const ANA_MEAS: u32 = 0xC4;
/// Number of I2C host command registers at the start of ANA.
const ANA_HOSTS: u32 = 8;
const I2C_WRITE: u32 = 1 << 24;
/// RF PLL register 7 bit 7: locked.
const RFPLL_LOCKED: u8 = 1 << 7;
const I2C_BUSY: u32 = 1 << 25;
const CMP_START: u32 = 1 << 1;
const CMP_DONE: u32 = 1 << 24;
const CMP_OUT: u32 = 0b11 << 30;
const SAR_DOUT: u32 = 0b111 << 24;
const MEAS_START: u32 = 1 << 8;
const MEAS_DONE: u32 = 1 << 31;

/// The analog I2C master (0x3FF4_E000) and the analog registers behind it.
pub struct AnaI2c {
    pub regs: RegBlock,
    /// Analog register values by (block id, register).
    analog: HashMap<(u8, u8), u8>,
}

impl Default for AnaI2c {
    fn default() -> Self {
        Self::new()
    }
}

impl AnaI2c {
    pub fn new() -> AnaI2c {
        AnaI2c { regs: crate::misc::storage("ANA", 0x200), analog: HashMap::new() }
    }

    pub fn reset(&mut self) {
        self.regs.reset();
        self.analog.clear();
    }

    /// An analog register as the chip shows it (status bits of a settled chip included).
    pub fn analog(&self, block: u8, reg: u8) -> u8 {
        let v = self.analog.get(&(block, reg)).copied().unwrap_or(0);
        match (block, reg) {
            (ANA_RFPLL, 0x07) => v | RFPLL_LOCKED,
            _ => v,
        }
    }

    /// Sets an analog register (the slave side of an I2C write).
    pub fn set_analog(&mut self, block: u8, reg: u8, v: u8) {
        self.analog.insert((block, reg), v);
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        let v = self.regs.read(off)?;
        Some(match off {
            _ if off < 4 * ANA_HOSTS => v & !I2C_BUSY,
            ANA_CMP if v & CMP_START != 0 => (v | CMP_DONE) & !CMP_OUT,
            ANA_CMP => v & !(CMP_DONE | CMP_OUT),
            ANA_SAR => v & !SAR_DOUT,
            ANA_MEAS if v & MEAS_START != 0 => v | MEAS_DONE,
            ANA_MEAS => v & !MEAS_DONE,
            _ => v,
        })
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        if off < 4 * ANA_HOSTS {
            let (block, reg) = (v as u8, (v >> 8) as u8);
            let data = if v & I2C_WRITE != 0 {
                self.set_analog(block, reg, (v >> 16) as u8);
                (v >> 16) as u8
            } else {
                self.analog(block, reg)
            };
            tracing::trace!(host = off / 4, block, reg, data, write = v & I2C_WRITE != 0, "analog I2C");
            return self.regs.write(off, (v & !(0xFF << 16 | I2C_BUSY)) | (data as u32) << 16);
        }
        self.regs.write(off, v)
    }
}

/// Block numbers (address bits 23:12 above 0x3FF0_0000) of the radio register files.
pub const BLOCKS: [(u32, &str); 9] = [
    (0x45, "FE2"),
    (0x46, "FE"),
    (0x51, "BT"),
    (0x5C, "AGC"),
    (0x5D, "BB"),
    (0x71, "BT_BUF"),
    (0x72, "WMAC0"),
    (0x73, "WMAC1"),
    (0x74, "WMAC2"),
];

/// Whether peripheral block `block` is one of the radio's.
pub fn is_radio_block(block: u32) -> bool {
    BLOCKS.iter().any(|&(b, _)| b == block)
}

/// The radio's digital register blocks (everything but ANA).
pub struct Radio {
    blocks: Vec<RegBlock>,
}

impl Default for Radio {
    fn default() -> Self {
        Self::new()
    }
}

impl Radio {
    pub fn new() -> Radio {
        Radio { blocks: BLOCKS.iter().map(|&(_, name)| crate::misc::storage(name, 0x1000)).collect() }
    }

    pub fn reset(&mut self) {
        for b in &mut self.blocks {
            b.reset();
        }
    }

    fn index(block: u32) -> Option<usize> {
        BLOCKS.iter().position(|&(b, _)| b == block)
    }

    /// The block's name, for reports.
    pub fn name(block: u32) -> &'static str {
        Self::index(block).map_or("unknown block", |i| BLOCKS[i].1)
    }

    /// A register's stored value (tests, device code).
    pub fn get(&self, block: u32, off: u32) -> u32 {
        Self::index(block).map_or(0, |i| self.blocks[i].get(off))
    }

    pub fn read(&mut self, block: u32, off: u32) -> Option<u32> {
        let i = Self::index(block)?;
        let v = self.blocks[i].read(off)?;
        tracing::trace!(block = BLOCKS[i].1, off, v, "radio read");
        Some(v)
    }

    pub fn write(&mut self, block: u32, off: u32, v: u32) -> bool {
        let Some(i) = Self::index(block) else { return false };
        tracing::trace!(block = BLOCKS[i].1, off, v, "radio write");
        self.blocks[i].write(off, v)
    }
}
