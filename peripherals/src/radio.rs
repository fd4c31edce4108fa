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
//! | WDEV | 0x3FF7_5000 | Wi-Fi device control (`DR_REG_WDEV_BASE`); its RNG word (+0x144) stays with `misc::Rng` |
//!
//! Registers with behaviour (found by running the LoPy4 1.20.2.r7 app and disassembling the
//! loops it waits in; addresses of the app code are for that build):
//!
//! | register | bits | behaviour | why |
//! |---|---|---|---|
//! | ANA +0x00..+0x1C (host *n* at +4·*n*) | [7:0] analog block, [15:8] register, [23:16] data, 24 write, 25 busy | a write performs the transaction at once: a write stores the byte in the addressed analog register, a read returns it in [23:16]; busy reads 0 | the ROM's `rom_chip_i2c_readReg` / `rom_chip_i2c_writeReg` (behind `rom_i2c_readReg(_Mask)` / `rom_i2c_writeReg(_Mask)`) and the app's own copy in IRAM (0x4008_70DA) write the command, poll bit 25 and take [23:16]. The firmware uses host 0 (blocks 0x63, 0x64), host 1 (0x62) and host 4 (0x66, BBPLL) |
//! | ANA +0x4C | 1 start, 24 done, 31:30 comparator outputs | done reads 1 while start is set; comparators read 0 | the PHY's DC-offset search (app 0x4015_1B84..) sets start, polls bit 24, then steps its offset by the signs in bits 31 and 30 |
//! | ANA +0x50 | 26:24 | read 0 | SAR output bits read by the PHY's `get_fm_sar_dout` (from notes on the PHY blob; not seen polled in this boot) |
//! | ANA +0xC4 | 8 start, 31 done | done reads 1 while start is set | a PHY measurement loop (app 0x4014_E877) sets bit 8 and waits for bit 31 or bit 8 clearing, 12 times per call |
//! | FE +0x7C | 0 enable, 1 start, 31 done | done reads 1 while start is set; results (FE +0xDC/+0xE0/+0xE4) stay 0: no signal | the PHY's power / IQ estimation (app 0x4015_2341) sets bits 0 and 1 and spins on bit 31 without a timeout |
//! | AGC +0x18 | 23 start, 24 done | done reads 1 while start is set | the PHY (app 0x4014_EED5) pulses bit 25, sets bit 23 and polls bit 24 for up to 50 000 µs of the MAC timer |
//! | WMAC1 +0xC00 | [31:0] | virtual time in µs, wrapping | the MAC's free-running microsecond counter: the AGC wait above times out on it (so it must advance), and the PHY reads it for time stamps |
//! | WMAC1 +0xD24 | 1 request, 0 acknowledge | acknowledge reads 1 while request is set | the Wi-Fi MAC set-up (app 0x4016_00AF) sets bit 1 and spins on bit 0 |
//!
//! Analog registers (behind the I2C master) read back what was written, except:
//!
//! | analog block / register | bits | value | why |
//! |---|---|---|---|
//! | 0x62 (RF PLL) reg 0x07 | 7 | 1: PLL locked | after each cap search the PHY polls `rom_i2c_readReg_Mask(0x62, 1, 7, 7, 7)` every 20 µs, 100 times (app 0x4014_D266), and reports `pll_cal exceeds 2ms` if it never reads 1 |
//!
//! Everything else in the blocks is stored as written: the idle radio has no received
//! frames, empty TX queues and zero measurement results, which is what zeroed storage reads.

use crate::regblock::RegBlock;
use std::collections::BTreeMap;

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
#[derive(serde::Serialize, serde::Deserialize)]
pub struct AnaI2c {
    pub regs: RegBlock,
    /// Analog register values by (block id, register).
    analog: BTreeMap<(u8, u8), u8>,
}

impl Default for AnaI2c {
    fn default() -> Self {
        Self::new()
    }
}

impl AnaI2c {
    pub fn new() -> AnaI2c {
        AnaI2c { regs: crate::misc::storage("ANA", 0x200), analog: BTreeMap::new() }
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

pub const FE2: u32 = 0x45;
pub const FE: u32 = 0x46;
pub const BT: u32 = 0x51;
pub const AGC: u32 = 0x5C;
pub const BB: u32 = 0x5D;
pub const WMAC1: u32 = 0x73;

/// Block numbers (address bits 23:12 above 0x3FF0_0000) of the radio register files.
pub const BLOCKS: [(u32, &str); 10] = [
    (0x45, "FE2"),
    (0x46, "FE"),
    (0x51, "BT"),
    (0x5C, "AGC"),
    (0x5D, "BB"),
    (0x71, "BT_BUF"),
    (0x72, "WMAC0"),
    (0x73, "WMAC1"),
    (0x74, "WMAC2"),
    (0x75, "WDEV"),
];

/// Whether peripheral block `block` is one of the radio's.
pub fn is_radio_block(block: u32) -> bool {
    BLOCKS.iter().any(|&(b, _)| b == block)
}

/// FE (0x3FF4_6000) measurement control: 0 enable, 1 start, 31 done.
pub const FE_MEAS: u32 = 0x7C;
const FE_MEAS_START: u32 = 1 << 1;
const FE_MEAS_DONE: u32 = 1 << 31;
/// AGC (0x3FF5_C000) +0x18: 23 start, 24 done (with 25 a reset pulse).
pub const AGC_MEAS: u32 = 0x18;
const AGC_MEAS_START: u32 = 1 << 23;
const AGC_MEAS_DONE: u32 = 1 << 24;
/// WMAC1 (0x3FF7_3000) +0xC00: free-running microsecond counter.
pub const MAC_TIME: u32 = 0xC00;
/// WMAC1 +0xD24: 1 request, 0 acknowledge.
pub const MAC_CTRL: u32 = 0xD24;
const MAC_CTRL_REQ: u32 = 1 << 1;
const MAC_CTRL_ACK: u32 = 1 << 0;

/// What a settled, idle radio shows in a register that holds `v`.
fn status(block: u32, off: u32, v: u32) -> u32 {
    match (block, off) {
        (FE, FE_MEAS) if v & FE_MEAS_START != 0 => v | FE_MEAS_DONE,
        (FE, FE_MEAS) => v & !FE_MEAS_DONE,
        (AGC, AGC_MEAS) if v & AGC_MEAS_START != 0 => v | AGC_MEAS_DONE,
        (AGC, AGC_MEAS) => v & !AGC_MEAS_DONE,
        (WMAC1, MAC_CTRL) if v & MAC_CTRL_REQ != 0 => v | MAC_CTRL_ACK,
        (WMAC1, MAC_CTRL) => v & !MAC_CTRL_ACK,
        _ => v,
    }
}

/// The radio's digital register blocks (everything but ANA).
#[derive(serde::Serialize, serde::Deserialize)]
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

    /// A register read at virtual time `now` (ps).
    pub fn read(&mut self, block: u32, off: u32, now: u64) -> Option<u32> {
        let i = Self::index(block)?;
        let v = match (block, off) {
            (WMAC1, MAC_TIME) => (now / 1_000_000) as u32,
            _ => status(block, off, self.blocks[i].read(off)?),
        };
        tracing::trace!(block = BLOCKS[i].1, off, v, "radio read");
        Some(v)
    }

    pub fn write(&mut self, block: u32, off: u32, v: u32) -> bool {
        let Some(i) = Self::index(block) else { return false };
        tracing::trace!(block = BLOCKS[i].1, off, v, "radio write");
        self.blocks[i].write(off, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `rom_chip_i2c_writeReg` does: command word, then poll busy.
    fn i2c_write(a: &mut AnaI2c, host: u32, block: u8, reg: u8, data: u8) {
        assert!(a.write(4 * host, block as u32 | (reg as u32) << 8 | (data as u32) << 16 | I2C_WRITE));
        assert_eq!(a.read(4 * host).unwrap() & I2C_BUSY, 0, "never busy");
    }

    /// What `rom_chip_i2c_readReg` does: command word, poll busy, data from [23:16].
    fn i2c_read(a: &mut AnaI2c, host: u32, block: u8, reg: u8) -> u8 {
        assert!(a.write(4 * host, block as u32 | (reg as u32) << 8));
        let v = a.read(4 * host).unwrap();
        assert_eq!(v & I2C_BUSY, 0, "never busy");
        (v >> 16) as u8
    }

    #[test]
    fn i2c_reads_back_per_block_and_register() {
        let mut a = AnaI2c::new();
        i2c_write(&mut a, 4, 0x66, 5, 0xC6);
        i2c_write(&mut a, 0, 0x63, 5, 0x11);
        i2c_write(&mut a, 0, 0x63, 4, 0x22);
        assert_eq!(i2c_read(&mut a, 4, 0x66, 5), 0xC6);
        assert_eq!(i2c_read(&mut a, 0, 0x63, 5), 0x11);
        assert_eq!(i2c_read(&mut a, 0, 0x63, 4), 0x22);
        assert_eq!(i2c_read(&mut a, 0, 0x64, 4), 0, "never written");
        // The analog registers sit behind the master: any host reaches them.
        assert_eq!(i2c_read(&mut a, 1, 0x66, 5), 0xC6);
        // A read command leaves the register alone; the command word keeps block and register.
        assert_eq!(a.read(4).unwrap() & 0xFFFF, 0x0566);
        assert_eq!(i2c_read(&mut a, 4, 0x66, 5), 0xC6);
        a.reset();
        assert_eq!(i2c_read(&mut a, 4, 0x66, 5), 0);
    }

    #[test]
    fn rf_pll_reads_locked() {
        let mut a = AnaI2c::new();
        // rom_i2c_readReg_Mask(0x62, 1, 7, 7, 7): bit 7 of the read value.
        assert_eq!(i2c_read(&mut a, 1, ANA_RFPLL, 7) >> 7 & 1, 1);
        i2c_write(&mut a, 1, ANA_RFPLL, 7, 0x01);
        assert_eq!(i2c_read(&mut a, 1, ANA_RFPLL, 7), 0x81, "written bits kept, lock stays set");
        // Other RF PLL registers are plain storage (the cap search reads back its bits).
        i2c_write(&mut a, 1, ANA_RFPLL, 0, 0x5F);
        assert_eq!(i2c_read(&mut a, 1, ANA_RFPLL, 0), 0x5F);
    }

    #[test]
    fn ana_measurements_finish_with_zero_comparators() {
        let mut a = AnaI2c::new();
        // DC-offset comparison: start (bit 1) -> done (24), both comparators 0.
        a.write(ANA_CMP, 0x0011_3CF1 | CMP_OUT);
        assert_eq!(a.read(ANA_CMP).unwrap() & (CMP_DONE | CMP_OUT), 0, "not started");
        a.write(ANA_CMP, 0x0011_3CF3);
        let v = a.read(ANA_CMP).unwrap();
        assert_eq!(v & CMP_DONE, CMP_DONE);
        assert_eq!(v & CMP_OUT, 0);
        assert_eq!(v & 0xFF_FFFF, 0x11_3CF3, "configuration bits stored");
        // Measurement at +0xC4: bit 8 start -> bit 31 done.
        a.write(ANA_MEAS, 0x5300_2C18);
        assert!((a.read(ANA_MEAS).unwrap() as i32) >= 0);
        a.write(ANA_MEAS, 0x5300_2D18);
        assert!((a.read(ANA_MEAS).unwrap() as i32) < 0);
        // SAR output bits read clear.
        a.write(ANA_SAR, u32::MAX);
        assert_eq!(a.read(ANA_SAR).unwrap() & SAR_DOUT, 0);
        // ANA_CONFIG and the rest: storage.
        a.write(0x44, 0x0003_F000);
        assert_eq!(a.read(0x44), Some(0x0003_F000));
        assert_eq!(a.read(0x200), None, "outside the modelled registers");
    }

    #[test]
    fn radio_status_bits() {
        let mut r = Radio::new();
        let sec = 1_000_000_000_000u64;
        // FE measurement: enable, then start -> done.
        r.write(FE, FE_MEAS, 1);
        assert_eq!(r.read(FE, FE_MEAS, 0).unwrap() & FE_MEAS_DONE, 0);
        r.write(FE, FE_MEAS, 3);
        assert_eq!(r.read(FE, FE_MEAS, 0), Some(3 | FE_MEAS_DONE));
        assert_eq!(r.read(FE, 0xDC, 0), Some(0), "no signal measured");
        // AGC +0x18: bit 23 start -> bit 24 done.
        r.write(AGC, AGC_MEAS, 1 << 25);
        assert_eq!(r.read(AGC, AGC_MEAS, 0).unwrap() & AGC_MEAS_DONE, 0);
        r.write(AGC, AGC_MEAS, AGC_MEAS_START);
        assert_eq!(r.read(AGC, AGC_MEAS, 0).unwrap() & AGC_MEAS_DONE, AGC_MEAS_DONE);
        // MAC control: request -> acknowledge.
        r.write(WMAC1, MAC_CTRL, 0);
        assert_eq!(r.read(WMAC1, MAC_CTRL, 0), Some(0));
        r.write(WMAC1, MAC_CTRL, MAC_CTRL_REQ);
        assert_eq!(r.read(WMAC1, MAC_CTRL, 0), Some(MAC_CTRL_REQ | MAC_CTRL_ACK));
        // The MAC microsecond counter follows virtual time.
        assert_eq!(r.read(WMAC1, MAC_TIME, 0), Some(0));
        assert_eq!(r.read(WMAC1, MAC_TIME, 2 * sec + 5_000_000), Some(2_000_005));
        // Every block is a register file; other blocks are not the radio's.
        for &(b, _) in &BLOCKS {
            assert!(r.write(b, 0xFFC, 0xA5A5_0000 | b));
            assert_eq!(r.get(b, 0xFFC), 0xA5A5_0000 | b);
        }
        assert!(r.read(0x47, 0, 0).is_none() && !is_radio_block(0x47));
        assert_eq!(Radio::name(0x5D), "BB");
        r.reset();
        assert_eq!(r.get(FE, FE_MEAS), 0);
    }
}
