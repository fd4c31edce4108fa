//! SPI2 (HSPI, 0x3FF6_4000) and SPI3 (VSPI, 0x3FF6_5000) as general-purpose masters: user
//! transactions built from the command, address, dummy and data phases of `SPI_USER`,
//! exchanged with whatever part listens (a [`SpiDevice`]: the SX127x byte by byte), at once.
//!
//! Register map (ESP32 TRM ch. 7; reset values from IDF `soc/spi_reg.h`):
//!
//! | off | register | reset | modelled behaviour |
//! |---|---|---|---|
//! | 0x00 | CMD | 0 | bit 18 USR starts a user transaction; reads 0 once done (at once) |
//! | 0x04 | ADDR | 0 | address phase, sent MSB first from bit 31 |
//! | 0x08 | CTRL | 0x0020_A400 | bit 26 WR_BIT_ORDER, 25 RD_BIT_ORDER (1 = LSB first) |
//! | 0x0C | CTRL1 | 0x5FFF_0000 | stored |
//! | 0x10 | RD_STATUS | 0 | stored |
//! | 0x14 | CTRL2 | 0x0000_0011 | stored (delays) |
//! | 0x18 | CLOCK | 0x8000_3043 | stored; transfers take no time |
//! | 0x1C | USER | 0x8000_0040 | 31 COMMAND, 30 ADDR, 29 DUMMY, 28 MISO, 27 MOSI, 25 MOSI_HIGHPART, 24 MISO_HIGHPART, 0 DOUTDIN (full duplex) |
//! | 0x20 | USER1 | 0x5C00_0007 | [31:26] ADDR_BITLEN, [7:0] DUMMY_CYCLELEN |
//! | 0x24 | USER2 | 0x7000_0000 | [31:28] COMMAND_BITLEN, [15:0] COMMAND_VALUE (bits 7:0 go out first) |
//! | 0x28 / 0x2C | MOSI_DLEN / MISO_DLEN | 0 | data bits − 1 |
//! | 0x30 | SLV_WR_STATUS | 0 | stored |
//! | 0x34 | PIN | 0x0000_0006 | bits 2:0 CSn_DIS, 30 CS_KEEP_ACTIVE |
//! | 0x38 | SLAVE | 0x0000_0200 | 4 TRANS_DONE (set by each transaction), [9:5] INT_EN, [26:23] TRANS_CNT; slave mode not modelled |
//! | 0x3C | SLAVE1 | 0x0200_0000 | stored |
//! | 0x40..0x4C | SLAVE2, SLAVE3, SLV_WRBUF_DLEN, SLV_RDBUF_DLEN | 0 | stored |
//! | 0x50 / 0x54 | CACHE_FCTRL / CACHE_SCTRL | 0 / 0x15C0_4830 | stored |
//! | 0x58..0x64 | SRAM_CMD, SRAM_DRD_CMD, SRAM_DWR_CMD, SLV_RD_BIT | 0 | stored |
//! | 0x80..0xBC | W0..W15 | 0 | data buffer; byte k = W[k/4] bits 8(k%4)+7..8(k%4) |
//! | 0xC0 | TX_CRC | 0 | stored |
//! | 0xF0 / 0xF4 | EXT0 / EXT1 | 0x800A_0050 / 0x800F_0000 | stored |
//! | 0xF8 | EXT2 | 0 | read-only: state machine idle |
//! | 0xFC | EXT3 | 0 | stored |
//! | 0x100 | DMA_CONF | 0x200 | stored |
//! | 0x104 / 0x108 | DMA_OUT_LINK / DMA_IN_LINK | 0 | starting a link (bit 29) is refused as unmodelled |
//! | 0x10C | DMA_STATUS | 0 | read-only, idle |
//! | 0x110 / 0x114 / 0x118 / 0x11C | DMA_INT_ENA / RAW / ST / CLR | 0 | ST = RAW & ENA; CLR clears RAW |
//! | 0x120..0x14C | DMA descriptor and status registers | 0 | read-only, 0 |
//! | 0x3FC | DATE | 0x0160_4270 | read-only (IDF's DPORT access code reads it to let the APB bus settle) |
//!
//! Interrupt sources: SPI2 30 / SPI3 31 = SLAVE[4:0] & SLAVE[9:5]; SPI2_DMA 53 /
//! SPI3_DMA 54 = DMA_INT_ST ≠ 0.

use crate::device::{self, Access};
use crate::time::Ps;
use crate::regblock::RegBlock;
use crate::spi_bus::{NoDevice, SpiDevice, SpiFrame};

use crate::spi::{
    ADDR, CACHE_SCTRL, CMD, CTRL, DATE, DMA_CONF, DMA_INT_CLR, DMA_INT_ENA, DMA_INT_RAW, DMA_INT_ST, DMA_IN_LINK, DMA_OUT_LINK, EXT0,
    EXT1, MISO_DLEN, MOSI_DLEN, PIN, REGS, SLAVE, SLAVE1, USER, USER1, USER2, W0,
};

/// Where SPI2/3's reset values differ from SPI0/1's (the declaration's).
const RESETS: [(u32, u32); 8] = [
    (CTRL, 0x0020_A400), // SPI2/3 reset value
    (USER, 0x8000_0040), // SPI2/3 reset value
    (SLAVE1, 0x0200_0000), // SPI2/3 reset value
    (CACHE_SCTRL, 0x15C0_4830), // SPI2/3 reset value
    (EXT0, 0x800A_0050), // SPI2/3 reset value
    (EXT1, 0x800F_0000), // SPI2/3 reset value
    (DMA_CONF, 0x200), // SPI2/3 reset value
    (DATE, 0x0160_4270), // SPI2/3 reset value
];

/// The data buffer W0..W15 in bytes.
const BUF_BYTES: usize = W0::COUNT as usize * 4;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct SpiGp {
    pub regs: RegBlock,
    /// 2 (HSPI) or 3 (VSPI).
    pub index: u8,
    /// User transactions run so far.
    pub transactions: u64,
}

impl SpiGp {
    pub fn new(index: u8) -> SpiGp {
        let name = if index == 2 { "SPI2" } else { "SPI3" };
        let regs = RESETS.iter().fold(RegBlock::new(name, &REGS), |r, &(off, v)| r.with_reset(off, v));
        SpiGp { regs, index, transactions: 0 }
    }

    /// Interrupt source numbers: (SPIn, SPIn_DMA).
    pub fn sources(&self) -> (u32, u32) {
        let s = crate::soc::table::sources_of(if self.index == 2 { "SPI2" } else { "SPI3" });
        (s[0] as u32, s[1] as u32)
    }

    /// The SPIn interrupt line.
    pub fn irq(&self) -> bool {
        let s = self.regs.get(SLAVE);
        s & SLAVE::TRANS_INTEN.get(s) != 0
    }

    /// The SPIn_DMA interrupt line.
    pub fn dma_irq(&self) -> bool {
        self.regs.get(DMA_INT_RAW) & self.regs.get(DMA_INT_ENA) != 0
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        match off {
            DMA_INT_ST => Some(self.regs.get(DMA_INT_RAW) & self.regs.get(DMA_INT_ENA)),
            _ => self.regs.read(off),
        }
    }

    /// Register write; false for an unmodelled offset or an unmodelled operation (DMA).
    pub fn write(&mut self, off: u32, v: u32, bus: &mut impl SpiDevice, now: Ps) -> bool {
        match off {
            CMD => {
                self.regs.set(CMD, CMD::USR.set(v, 0));
                if CMD::USR.on(v) {
                    self.user_transaction(bus, now);
                }
                true
            }
            DMA_INT_CLR => {
                let raw = self.regs.get(DMA_INT_RAW);
                self.regs.set(DMA_INT_RAW, raw & !v);
                true
            }
            // DMA descriptor chains are not modelled: refuse to start one rather than lose
            // the data silently.
            DMA_OUT_LINK | DMA_IN_LINK if DMA_OUT_LINK::START.on(v) => false,
            _ => self.regs.write(off, v),
        }
    }

    fn buf_byte(&self, k: usize) -> u8 {
        self.regs.get(Self::buf_word(k)).to_le_bytes()[k % 4]
    }

    fn set_buf_byte(&mut self, k: usize, b: u8) {
        let off = Self::buf_word(k);
        let mut w = self.regs.get(off).to_le_bytes();
        w[k % 4] = b;
        self.regs.set(off, u32::from_le_bytes(w));
    }

    /// The buffer word that holds byte `k` (the buffer wraps).
    fn buf_word(k: usize) -> u32 {
        W0::at(k as u32 / 4 % W0::COUNT)
    }

    fn bits_to_bytes(bits: u32) -> usize {
        bits.div_ceil(8) as usize
    }

    /// Runs the phases of `SPI_USER` against `bus`. Byte-framed parts see partial bytes
    /// rounded up.
    fn user_transaction(&mut self, bus: &mut impl SpiDevice, now: Ps) {
        let user = self.regs.get(USER);
        let ctrl = self.regs.get(CTRL);
        let pin = self.regs.get(PIN);
        let lsb_out = CTRL::WR_BIT_ORDER.on(ctrl);
        let lsb_in = CTRL::RD_BIT_ORDER.on(ctrl);
        let hw_cs = PIN::CS_DIS.get(!pin) as u8;
        let command = USER::COMMAND.on(user).then(|| (self.regs.field(USER2, USER2::COMMAND_VALUE), self.regs.field(USER2, USER2::COMMAND_BITLEN) + 1));
        let address = USER::ADDR.on(user).then(|| (self.regs.get(ADDR), (self.regs.field(USER1, USER1::ADDR_BITLEN) + 1).min(u32::BITS)));
        // Dummy cycles carry no data.
        let half = |high: bool| if high { BUF_BYTES / 2 } else { 0 };
        let out_base = half(USER::MOSI_HIGHPART.on(user));
        let in_base = half(USER::MISO_HIGHPART.on(user));
        let mosi_n = Self::bits_to_bytes(self.regs.field(MOSI_DLEN, MOSI_DLEN::BITLEN) + 1).min(BUF_BYTES);
        let miso_n = Self::bits_to_bytes(self.regs.field(MISO_DLEN, MISO_DLEN::BITLEN) + 1).min(BUF_BYTES);
        let full_duplex = USER::DOUTDIN.on(user);
        // Full duplex: what comes in while the data goes out lands in the buffer too
        // (Pycom's SpiInOut reads its answer from W0 with only USR_MOSI set).
        let (out_n, in_n) = match (full_duplex, USER::MOSI.on(user), USER::MISO.on(user)) {
            (true, true, _) => (mosi_n, mosi_n),
            (true, false, true) => (miso_n, miso_n),
            (true, false, false) => (0, 0),
            (false, mo, mi) => (if mo { mosi_n } else { 0 }, if mi { miso_n } else { 0 }),
        };
        let out: Vec<u8> = (0..out_n).map(|k| self.buf_byte(out_base + k)).collect();
        let mut miso = vec![u8::MAX; in_n];
        let mut frame = SpiFrame::new(command, address, &out, &mut miso);
        frame.full_duplex = full_duplex;
        frame.lsb_first = [lsb_out, lsb_in];
        bus.select(hw_cs);
        bus.transfer(&mut frame, now);
        bus.deselect(hw_cs, PIN::CS_KEEP_ACTIVE.on(pin));
        for (k, b) in miso.into_iter().enumerate() {
            self.set_buf_byte(in_base + k, b);
        }
        self.transactions += 1;
        let slave = self.regs.get(SLAVE);
        let slave = SLAVE::TRANS_CNT.set(slave, SLAVE::TRANS_CNT.get(slave) + 1);
        self.regs.set(SLAVE, SLAVE::TRANS_DONE.set(slave, 1));
    }
}


impl device::Device for SpiGp {
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        SpiGp::read(self, off)
    }

    /// With nothing on the bus; the SoC wires the LoRa chip in (`Soc::write_spi_gp`).
    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        SpiGp::write(self, off, v, &mut NoDevice, cx.now)
    }

    fn reset_digital(&mut self, _now: Ps) {
        *self = SpiGp::new(self.index);
    }

    /// SPIn, SPIn_DMA.
    fn lines(&self, _now: Ps) -> u32 {
        self.irq() as u32 | (self.dma_irq() as u32) << 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the bus and answers each byte with its complement.
    #[derive(Default)]
    struct Probe {
        log: Vec<String>,
    }

    impl SpiDevice for Probe {
        fn select(&mut self, cs: u8) {
            self.log.push(format!("begin {cs}"));
        }
        fn transfer(&mut self, f: &mut SpiFrame<'_>, _now: u64) {
            f.exchange_bytes(|b| {
                self.log.push(format!("{b:02x}"));
                !b
            });
        }
        fn deselect(&mut self, cs: u8, keep: bool) {
            self.log.push(format!("end {cs} {keep}"));
        }
    }

    #[test]
    fn reset_values_and_date() {
        let s = SpiGp::new(3);
        assert_eq!(s.read(DATE), Some(0x0160_4270));
        assert_eq!(s.read(USER), Some(0x8000_0040));
        assert_eq!(s.read(PIN), Some(6));
        assert_eq!(s.read(0x200), None, "a hole in the map stays unmodelled");
        assert_eq!(SpiGp::new(2).sources(), (30, 53));
    }

    /// The register sequence of Pycom's `SpiInit` + `SpiInOut` (esp32/lora/spi-board.c):
    /// full duplex, MOSI only, one byte; the answer is read back from W0.
    #[test]
    fn pycom_spi_in_out() {
        let mut s = SpiGp::new(3);
        let mut p = Probe::default();
        let user = s.read(USER).unwrap();
        s.write(USER, (user | USER::DOUTDIN.mask() | USER::MOSI.mask() | (1 << 5) | (1 << 4)) & !USER::COMMAND.mask() & !USER::ADDR.mask(), &mut p, 0);
        s.write(SLAVE, s.read(SLAVE).unwrap() & !(1 << 9), &mut p, 0);
        s.write(MOSI_DLEN, 7, &mut p, 0);
        s.write(MISO_DLEN, 7, &mut p, 0);
        s.write(W0, 0x42, &mut p, 0);
        s.write(CMD, CMD::USR.mask(), &mut p, 0);
        assert_eq!(s.read(CMD), Some(0), "done at once");
        assert_eq!(s.read(W0), Some(0xBD), "the answer replaces byte 0");
        assert_eq!(p.log, ["begin 1", "42", "end 1 false"]);
        assert_eq!(s.read(SLAVE).unwrap() & (SLAVE::TRANS_DONE.mask() | 0xF << 23), SLAVE::TRANS_DONE.mask() | 1 << 23);
        assert!(!s.irq(), "TRANS_INTEN was cleared");
        // SpiOut: 16 bits from W0, little-endian bytes.
        p.log.clear();
        s.write(MOSI_DLEN, 15, &mut p, 0);
        s.write(W0, 0x1234, &mut p, 0);
        s.write(CMD, CMD::USR.mask(), &mut p, 0);
        assert_eq!(p.log[1..3], ["34", "12"]);
    }

    #[test]
    fn half_duplex_phases_and_bit_order() {
        let mut s = SpiGp::new(2);
        let mut p = Probe::default();
        s.write(USER, USER::COMMAND.mask() | USER::ADDR.mask() | USER::MOSI.mask() | USER::MISO.mask() | USER::MISO_HIGHPART.mask(), &mut p, 0);
        s.write(USER1, 15 << 26, &mut p, 0); // 16-bit address
        s.write(USER2, (7 << 28) | 0x0B, &mut p, 0);
        s.write(ADDR, 0xABCD_0000, &mut p, 0);
        s.write(MOSI_DLEN, 15, &mut p, 0);
        s.write(MISO_DLEN, 7, &mut p, 0);
        s.write(PIN, 0x5, &mut p, 0); // CS1 only
        s.write(W0, 0x2211, &mut p, 0);
        s.write(CMD, CMD::USR.mask(), &mut p, 0);
        assert_eq!(p.log, ["begin 2", "0b", "ab", "cd", "11", "22", "00", "end 2 false"]);
        assert_eq!(s.read(W0 + 32), Some(0xFF));
        assert!(s.irq(), "TRANS_DONE with TRANS_INTEN at its reset value");
        s.write(SLAVE, s.read(SLAVE).unwrap() & !SLAVE::TRANS_DONE.mask(), &mut p, 0);
        assert!(!s.irq());
        // LSB-first output reverses each byte on the wire.
        p.log.clear();
        s.write(USER, USER::MOSI.mask(), &mut p, 0);
        s.write(MOSI_DLEN, 7, &mut p, 0);
        s.write(CTRL, 1 << 26, &mut p, 0);
        s.write(W0, 0x01, &mut p, 0);
        s.write(CMD, CMD::USR.mask(), &mut p, 0);
        assert_eq!(p.log[1], "80");
    }

    #[test]
    fn dma_start_is_refused_and_interrupts_clear() {
        let mut s = SpiGp::new(3);
        assert!(!s.write(DMA_OUT_LINK, DMA_OUT_LINK::START.mask() | 0x1234, &mut NoDevice, 0));
        assert!(s.write(DMA_OUT_LINK, 0x1234, &mut NoDevice, 0));
        s.regs.set(DMA_INT_RAW, 0x3);
        s.write(DMA_INT_ENA, 0x2, &mut NoDevice, 0);
        assert_eq!(s.read(DMA_INT_ST), Some(2));
        assert!(s.dma_irq());
        s.write(DMA_INT_CLR, 0x2, &mut NoDevice, 0);
        assert!(!s.dma_irq());
        assert_eq!(s.read(DMA_INT_RAW), Some(1));
    }
}
