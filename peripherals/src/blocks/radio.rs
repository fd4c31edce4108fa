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

use crate::device::{self, Access};
use crate::time::{ps_to_cycles, Hz, Ps, Round};
use crate::regblock::RegBlock;
use std::collections::BTreeMap;

/// Analog block id of the RF PLL (the `pll_cal` lock flag lives there).
pub const ANA_RFPLL: u8 = 0x62;
/// RF PLL register 7: the lock flag.
const RFPLL_LOCK_REG: u8 = 7;
const RFPLL_LOCKED: u8 = 1 << 7;

/// The analog I2C master's registers (ANA, 0x3FF4_E000).
pub mod ana {
    crate::regs! {
        pub static REGS: "ANA", 0x200;
        0x00 STORE[128] rw 0 stored;
        /// I2C host command registers: a write runs the command at once.
        0x00 HOST[8] rw 0 stored {
            SLAVE_ID 7:0 modelled;
            ADDR 15:8 modelled;
            DATA 23:16 modelled;
            WRITE 24 modelled;
            BUSY 25 modelled;
        };
        /// DC-offset comparison: START -> DONE, both comparators 0.
        0x4C CMP rw 0 stored {
            START 1 modelled;
            DONE 24 modelled;
            OUT 31:30 modelled;
        };
        0x50 SAR rw 0 stored {
            DOUT 26:24 modelled;
        };
        0xC4 MEAS rw 0 stored {
            START 8 modelled;
            DONE 31 modelled;
        };
    }
}
pub use ana::{CMP as ANA_CMP, MEAS as ANA_MEAS, SAR as ANA_SAR};

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
        AnaI2c { regs: RegBlock::new("ANA", &ana::REGS), analog: BTreeMap::new() }
    }

    pub fn reset(&mut self) {
        self.regs.reset();
        self.analog.clear();
    }

    /// An analog register as the chip shows it (status bits of a settled chip included).
    pub fn analog(&self, block: u8, reg: u8) -> u8 {
        let v = self.analog.get(&(block, reg)).copied().unwrap_or(0);
        match (block, reg) {
            (ANA_RFPLL, RFPLL_LOCK_REG) => v | RFPLL_LOCKED,
            _ => v,
        }
    }

    /// Sets an analog register (the slave side of an I2C write).
    pub fn set_analog(&mut self, block: u8, reg: u8, v: u8) {
        self.analog.insert((block, reg), v);
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        let v = self.regs.read(off)?;
        use ana::{CMP, HOST, MEAS, SAR};
        Some(match off {
            _ if off < HOST::at(HOST::COUNT) => HOST::BUSY.set(v, 0),
            CMP => CMP::OUT.set(CMP::DONE.set(v, CMP::START.get(v)), 0),
            SAR => SAR::DOUT.set(v, 0),
            MEAS => MEAS::DONE.set(v, MEAS::START.get(v)),
            _ => v,
        })
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        use ana::HOST;
        if off < HOST::at(HOST::COUNT) {
            let (block, reg) = (HOST::SLAVE_ID.get(v) as u8, HOST::ADDR.get(v) as u8);
            let write = HOST::WRITE.on(v);
            let data = if write {
                self.set_analog(block, reg, HOST::DATA.get(v) as u8);
                HOST::DATA.get(v) as u8
            } else {
                self.analog(block, reg)
            };
            tracing::trace!(host = off / HOST::STRIDE, block, reg, data, write, "analog I2C");
            return self.regs.write(off, HOST::BUSY.set(HOST::DATA.set(v, data as u32), 0));
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

pub const WDEV: u32 = 0x75;

/// The MAC's microsecond counter's clock.
const MAC_TIME_HZ: Hz = 1_000_000;

/// The radio's register files as the SoC's block table lists them: (block number, address
/// bits 23:12 above 0x3FF0_0000; name).
fn blocks() -> impl Iterator<Item = (u32, &'static str)> {
    crate::soc::table::block(NAME)
        .map_or(&[][..], |b| b.slots)
        .iter()
        .map(|&(base, name)| ((base - crate::memmap::PERI_BASE) / crate::memmap::SLOT_BYTES, name))
}

/// Whether peripheral block `block` is one of the radio's.
pub fn is_radio_block(block: u32) -> bool {
    blocks().any(|(b, _)| b == block)
}

/// The radio's line in the SoC's block table.
pub const NAME: &str = "Wi-Fi/BT radio";

/// The radio's digital blocks: stored, except the registers below.
pub mod storage {
    crate::regs! {
        pub static REGS: "RADIO", 0x1000;
        0x000 REG[1024] rw 0 stored;
    }
}

/// FE (0x3FF4_6000).
pub mod fe {
    crate::regs! {
        pub static REGS: "RADIO_FE", 0x1000;
        0x000 REG[1024] rw 0 stored;
        /// Measurement control.
        0x07C MEAS rw 0 stored {
            EN 0 stored;
            START 1 modelled;
            DONE 31 modelled;
        };
    }
}

/// AGC (0x3FF5_C000).
pub mod agc {
    crate::regs! {
        pub static REGS: "RADIO_AGC", 0x1000;
        0x000 REG[1024] rw 0 stored;
        0x018 MEAS rw 0 stored {
            START 23 modelled;
            DONE 24 modelled;
            RESET 25 stored;
        };
    }
}

/// WMAC1 (0x3FF7_3000).
pub mod wmac1 {
    crate::regs! {
        pub static REGS: "RADIO_WMAC1", 0x1000;
        0x000 REG[1024] rw 0 stored;
        /// Free-running microsecond counter.
        0xC00 TIME ro 0 modelled;
        0xD24 CTRL rw 0 stored {
            ACK 0 modelled;
            REQ 1 modelled;
        };
    }
}

/// WDEV (0x3FF7_5000).
pub mod wdev {
    crate::regs! {
        pub static REGS: "RADIO_WDEV", 0x1000;
        0x000 REG[1024] rw 0 stored;
        /// The hardware RNG's word (`WDEV_RND_REG`), served by the SoC's RNG.
        0x144 RND_REG rw 0 modelled;
    }
}

pub use agc::MEAS as AGC_MEAS;
pub use fe::MEAS as FE_MEAS;
pub use wmac1::{CTRL as MAC_CTRL, TIME as MAC_TIME};

/// The declaration of the radio block named `name`.
fn decl_of(name: &str) -> &'static crate::regblock::Decl {
    match name {
        "FE" => &fe::REGS,
        "AGC" => &agc::REGS,
        "WMAC1" => &wmac1::REGS,
        "WDEV" => &wdev::REGS,
        _ => &storage::REGS,
    }
}

/// What a settled, idle radio shows in a register that holds `v`.
fn status(block: u32, off: u32, v: u32) -> u32 {
    match (block, off) {
        (FE, fe::MEAS) => fe::MEAS::DONE.set(v, fe::MEAS::START.get(v)),
        (AGC, agc::MEAS) => agc::MEAS::DONE.set(v, agc::MEAS::START.get(v)),
        (WMAC1, wmac1::CTRL) => wmac1::CTRL::ACK.set(v, wmac1::CTRL::REQ.get(v)),
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
        Radio { blocks: blocks().map(|(_, name)| RegBlock::new(name, decl_of(name))).collect() }
    }

    pub fn reset(&mut self) {
        for b in &mut self.blocks {
            b.reset();
        }
    }

    fn index(block: u32) -> Option<usize> {
        blocks().position(|(b, _)| b == block)
    }

    /// The block's name, for reports.
    pub fn name(block: u32) -> &'static str {
        blocks().find(|&(b, _)| b == block).map_or("unknown block", |(_, n)| n)
    }

    /// A register's stored value (tests, device code).
    pub fn get(&self, block: u32, off: u32) -> u32 {
        Self::index(block).map_or(0, |i| self.blocks[i].get(off))
    }

    /// A register read at virtual time `now` (ps).
    pub fn read(&mut self, block: u32, off: u32, now: Ps) -> Option<u32> {
        let i = Self::index(block)?;
        let v = match (block, off) {
            // A 1 MHz count of virtual time (its 32 bits wrap).
            (WMAC1, MAC_TIME) => ps_to_cycles(now as u128, MAC_TIME_HZ, Round::Down) as u32,
            _ => status(block, off, self.blocks[i].read(off)?),
        };
        tracing::trace!(block = self.blocks[i].name, off, v, "radio read");
        Some(v)
    }

    pub fn write(&mut self, block: u32, off: u32, v: u32) -> bool {
        let Some(i) = Self::index(block) else { return false };
        tracing::trace!(block = self.blocks[i].name, off, v, "radio write");
        self.blocks[i].write(off, v)
    }
}


impl device::Device for AnaI2c {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        AnaI2c::read(self, off)
    }

    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        AnaI2c::write(self, off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        self.reset();
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }
}

impl device::Device for Radio {
    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        Radio::read(self, cx.slot, off, cx.now)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        Radio::write(self, cx.slot, off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        self.reset();
    }

    fn regs(&self, slot: u32) -> Option<&RegBlock> {
        Self::index(slot).map(|i| &self.blocks[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `rom_chip_i2c_writeReg` does: command word, then poll busy.
    fn i2c_write(a: &mut AnaI2c, host: u32, block: u8, reg: u8, data: u8) {
        assert!(a.write(4 * host, block as u32 | (reg as u32) << 8 | (data as u32) << 16 | ana::HOST::WRITE.mask()));
        assert_eq!(a.read(4 * host).unwrap() & ana::HOST::BUSY.mask(), 0, "never busy");
    }

    /// What `rom_chip_i2c_readReg` does: command word, poll busy, data from [23:16].
    fn i2c_read(a: &mut AnaI2c, host: u32, block: u8, reg: u8) -> u8 {
        assert!(a.write(4 * host, block as u32 | (reg as u32) << 8));
        let v = a.read(4 * host).unwrap();
        assert_eq!(v & ana::HOST::BUSY.mask(), 0, "never busy");
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
        a.write(ANA_CMP, 0x0011_3CF1 | ana::CMP::OUT.mask());
        assert_eq!(a.read(ANA_CMP).unwrap() & (ana::CMP::DONE.mask() | ana::CMP::OUT.mask()), 0, "not started");
        a.write(ANA_CMP, 0x0011_3CF3);
        let v = a.read(ANA_CMP).unwrap();
        assert_eq!(v & ana::CMP::DONE.mask(), ana::CMP::DONE.mask());
        assert_eq!(v & ana::CMP::OUT.mask(), 0);
        assert_eq!(v & 0xFF_FFFF, 0x11_3CF3, "configuration bits stored");
        // Measurement at +0xC4: bit 8 start -> bit 31 done.
        a.write(ANA_MEAS, 0x5300_2C18);
        assert!((a.read(ANA_MEAS).unwrap() as i32) >= 0);
        a.write(ANA_MEAS, 0x5300_2D18);
        assert!((a.read(ANA_MEAS).unwrap() as i32) < 0);
        // SAR output bits read clear.
        a.write(ANA_SAR, u32::MAX);
        assert_eq!(a.read(ANA_SAR).unwrap() & ana::SAR::DOUT.mask(), 0);
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
        assert_eq!(r.read(FE, FE_MEAS, 0).unwrap() & fe::MEAS::DONE.mask(), 0);
        r.write(FE, FE_MEAS, 3);
        assert_eq!(r.read(FE, FE_MEAS, 0), Some(3 | fe::MEAS::DONE.mask()));
        assert_eq!(r.read(FE, 0xDC, 0), Some(0), "no signal measured");
        // AGC +0x18: bit 23 start -> bit 24 done.
        r.write(AGC, AGC_MEAS, 1 << 25);
        assert_eq!(r.read(AGC, AGC_MEAS, 0).unwrap() & agc::MEAS::DONE.mask(), 0);
        r.write(AGC, AGC_MEAS, agc::MEAS::START.mask());
        assert_eq!(r.read(AGC, AGC_MEAS, 0).unwrap() & agc::MEAS::DONE.mask(), agc::MEAS::DONE.mask());
        // MAC control: request -> acknowledge.
        r.write(WMAC1, MAC_CTRL, 0);
        assert_eq!(r.read(WMAC1, MAC_CTRL, 0), Some(0));
        r.write(WMAC1, MAC_CTRL, wmac1::CTRL::REQ.mask());
        assert_eq!(r.read(WMAC1, MAC_CTRL, 0), Some(wmac1::CTRL::REQ.mask() | wmac1::CTRL::ACK.mask()));
        // The MAC microsecond counter follows virtual time.
        assert_eq!(r.read(WMAC1, MAC_TIME, 0), Some(0));
        assert_eq!(r.read(WMAC1, MAC_TIME, 2 * sec + 5_000_000), Some(2_000_005));
        // Every block is a register file; other blocks are not the radio's.
        for (b, _) in blocks() {
            assert!(r.write(b, 0xFFC, 0xA5A5_0000 | b));
            assert_eq!(r.get(b, 0xFFC), 0xA5A5_0000 | b);
        }
        assert!(r.read(0x47, 0, 0).is_none() && !is_radio_block(0x47));
        assert_eq!(Radio::name(0x5D), "BB");
        r.reset();
        assert_eq!(r.get(FE, FE_MEAS), 0);
    }
}
