//! SPI0/SPI1 controllers as the flash (and PSRAM) host: the built-in flash commands of
//! `SPI_CMD` and user-defined transactions (`SPI_USR`), executed against the flash chip.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 | CMD | bit 31 READ, 30 WREN, 29 WRDI, 28 RDID, 27 RDSR, 26 WRSR, 25 PP, 24 SE, 23 BE (64 KiB), 22 CE, 18 USR; bits clear when done |
//! | 0x04 | ADDR | built-in commands: address [23:0], byte count [31:24]; USR: address in the top ADDR_BITLEN+1 bits |
//! | 0x08 | CTRL | read mode bits (stored) |
//! | 0x0C | CTRL1 | |
//! | 0x10 | RD_STATUS | RDSR result / WRSR source |
//! | 0x14 | CTRL2 | |
//! | 0x18 | CLOCK | |
//! | 0x1C | USER | 31 COMMAND, 30 ADDR, 29 DUMMY, 28 MISO, 27 MOSI, 25 MOSI_HIGHPART, 24 MISO_HIGHPART |
//! | 0x20 | USER1 | [31:26] ADDR_BITLEN, [7:0] DUMMY_CYCLELEN |
//! | 0x24 | USER2 | [31:28] COMMAND_BITLEN, [15:0] COMMAND_VALUE |
//! | 0x28 | MOSI_DLEN | bits − 1 |
//! | 0x2C | MISO_DLEN | bits − 1 |
//! | 0x30 | SLV_WR_STATUS | |
//! | 0x34 | PIN | CS lines (bit 0 CS0 disable, bit 1 CS1 disable): CS0 flash, CS1 PSRAM |
//! | 0x38..0x50 | SLAVE*, CACHE_FCTRL | stored |
//! | 0x54 | CACHE_SCTRL | SPI0 cache to PSRAM: 28 USR_WCMD, 5 USR_RCMD, 2 SRAM_QIO (read by `soc/mod.rs`) |
//! | 0x58 | SRAM_CMD | stored |
//! | 0x5C / 0x60 | SRAM_DRD_CMD / SRAM_DWR_CMD | cache read/write command: [31:28] bits − 1, [15:0] value |
//! | 0x64 | SLV_RD_BIT | stored |
//! | 0x80..0xBC | W0..W15 | data buffer, little-endian bytes |
//! | 0xC0 | TX_CRC | |
//! | 0xF0..0xFC | EXT0..EXT3 | EXT2 state reads 0 (idle) |
//! | 0x100..0x148 | DMA_* | stored |
//! | 0x3FC | DATE | |
//!
//! The controller reaches the chips through [`SpiDevice`] (`parts/spi_bus.rs`): built-in
//! commands and user transactions with CS0 enabled go to the flash on CS0; user
//! transactions with CS0 disabled and CS1 enabled go to the PSRAM on CS1 when the board has
//! one: the command phase on one line (value bits 7..0 first, then 15..8), address and MOSI
//! on four lines with USER.FWRITE_QIO (bit 15) or, for reads, CTRL.FREAD_QIO (bit 24), dummy
//! cycles left out. Without a PSRAM nothing drives the data lines and MISO reads as ones.

use crate::device::{self, Access};
use crate::time::Ps;
use crate::flash;
use crate::psram;
use crate::spi_bus::{self, SpiDevice, SpiFrame, CS0, CS1};
use crate::regblock::{ro, rw, rw_array, RegBlock, RegDef};

pub const CMD: u32 = 0x00;
pub const ADDR: u32 = 0x04;
pub const CTRL: u32 = 0x08;
pub const CLOCK: u32 = 0x18;
pub const RD_STATUS: u32 = 0x10;
pub const USER: u32 = 0x1C;
pub const USER1: u32 = 0x20;
pub const USER2: u32 = 0x24;
pub const MOSI_DLEN: u32 = 0x28;
pub const MISO_DLEN: u32 = 0x2C;
pub const PIN: u32 = 0x34;
pub const CACHE_SCTRL: u32 = 0x54;
pub const SRAM_DRD_CMD: u32 = 0x5C;
pub const SRAM_DWR_CMD: u32 = 0x60;
pub const W0: u32 = 0x80;

fn defs() -> Vec<RegDef> {
    let mut d = vec![
        rw(0x00, 0, "CMD"),
        rw(0x04, 0, "ADDR"),
        rw(0x08, 0x0020_8000, "CTRL"),
        rw(0x0C, 0x5FFF_0000, "CTRL1"),
        rw(0x10, 0, "RD_STATUS"),
        rw(0x14, 0x11, "CTRL2"),
        rw(0x18, 0x8000_3043, "CLOCK"),
        rw(0x1C, 0x8000_0064, "USER"),
        rw(0x20, 0x5C00_0007, "USER1"),
        rw(0x24, 0x7000_0000, "USER2"),
        rw(0x28, 0, "MOSI_DLEN"),
        rw(0x2C, 0, "MISO_DLEN"),
        rw(0x30, 0, "SLV_WR_STATUS"),
        rw(0x34, 0x6, "PIN"),
        rw(0x38, 0x0000_0200, "SLAVE"),
        rw(0x3C, 0, "SLAVE1"),
        rw(0x40, 0, "SLAVE2"),
        rw(0x44, 0, "SLAVE3"),
        rw(0x48, 0, "SLV_WRBUF_DLEN"),
        rw(0x4C, 0, "SLV_RDBUF_DLEN"),
        rw(0x50, 0, "CACHE_FCTRL"),
        rw(0x54, 0x0000_0000, "CACHE_SCTRL"),
        rw(0x58, 0, "SRAM_CMD"),
        rw(0x5C, 0, "SRAM_DRD_CMD"),
        rw(0x60, 0, "SRAM_DWR_CMD"),
        rw(0x64, 0, "SLV_RD_BIT"),
        rw(0xC0, 0, "TX_CRC"),
        rw(0xF0, 0, "EXT0"),
        rw(0xF4, 0, "EXT1"),
        ro(0xF8, 0, "EXT2"),
        rw(0xFC, 0, "EXT3"),
        ro(0x3FC, 0x0160_1260, "DATE"),
    ];
    rw_array(&mut d, W0, 16, 0, "W");
    rw_array(&mut d, 0x100, 19, 0, "DMA");
    d
}

/// Clocks of a command phase of `bits` bits (1..=16) carrying `value`: bits 7..0 go out
/// first, most significant first, then the bits above 7.
pub fn command_clocks(clocks: &mut Vec<u8>, value: u32, bits: u32, lines: u32) {
    psram::push_bits(clocks, spi_bus::command_on_wire(value, bits) as u64, bits, lines);
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Spi {
    pub regs: RegBlock,
    /// Which controller (0 = cache SPI0, 1 = SPI1, …).
    pub index: u8,
}

impl Spi {
    pub fn new(index: u8, name: &'static str) -> Spi {
        Spi { regs: RegBlock::new(name, 0x400, defs()), index }
    }

    fn buf_bytes(&self, start_word: u32, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let w = self.regs.get(W0 + 4 * (start_word + (i as u32) / 4));
            out.push((w >> (8 * (i % 4))) as u8);
        }
        out
    }

    fn set_buf(&mut self, start_word: u32, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(4).enumerate() {
            let off = W0 + 4 * (start_word + i as u32);
            if off > W0 + 60 {
                break;
            }
            let mut w = self.regs.get(off);
            for (j, b) in chunk.iter().enumerate() {
                w = (w & !(0xFF << (8 * j))) | ((*b as u32) << (8 * j));
            }
            self.regs.set(off, w);
        }
    }

    /// Register write with the chips on `bus` (the flash on CS0, the PSRAM on CS1);
    /// returns false for an unmodelled offset. `now` is virtual time (ps).
    pub fn write(&mut self, off: u32, v: u32, bus: &mut impl SpiDevice, now: u64) -> bool {
        if off == CMD {
            self.command(v, bus, now);
            return true;
        }
        self.regs.write(off, v)
    }

    /// A built-in flash command: its opcode, 24-bit address and data, to the chip on CS0.
    fn flash_command(bus: &mut impl SpiDevice, op: u8, addr: Option<u32>, mosi: &[u8], miso: &mut [u8], now: u64) {
        let mut f = SpiFrame::new(Some((op as u32, 8)), addr.map(|a| (a << 8, 24)), mosi, miso);
        bus.select(CS0);
        bus.transfer(&mut f, now);
        bus.deselect(CS0, false);
    }

    pub fn read(&mut self, off: u32) -> Option<u32> {
        self.regs.read(off)
    }

    fn command(&mut self, cmd: u32, bus: &mut impl SpiDevice, now: u64) {
        let addr_reg = self.regs.get(ADDR);
        let (addr, count) = (addr_reg & 0xFF_FFFF, addr_reg >> 24);
        tracing::trace!(spi = self.index, cmd = format_args!("{cmd:#x}"), addr = format_args!("{addr_reg:#x}"), user = format_args!("{:#x}", self.regs.get(USER)), user2 = format_args!("{:#x}", self.regs.get(USER2)), miso = self.regs.get(MISO_DLEN), "SPI command");
        // Only SPI1 (and SPI0 for its own commands) talk to the flash on CS0.
        let op = |bus: &mut _, op, addr, mosi: &[u8], miso: &mut [u8]| Self::flash_command(bus, op, addr, mosi, miso, now);
        if cmd & (1 << 18) != 0 {
            self.user_transaction(bus, now);
        } else if cmd & (1 << 31) != 0 {
            let n = (count as usize).min(64);
            let mut b = vec![0xFFu8; n];
            op(bus, flash::op::READ, Some(addr), &[], &mut b);
            self.set_buf(0, &b);
        } else if cmd & (1 << 30) != 0 {
            op(bus, flash::op::WREN, None, &[], &mut []);
        } else if cmd & (1 << 29) != 0 {
            op(bus, flash::op::WRDI, None, &[], &mut []);
        } else if cmd & (1 << 28) != 0 {
            let mut id = [0xFF; 3];
            op(bus, flash::op::RDID, None, &[], &mut id);
            self.regs.set(W0, id[0] as u32 | (id[1] as u32) << 8 | (id[2] as u32) << 16);
        } else if cmd & (1 << 27) != 0 {
            // RDSR: the controller polls until WIP clears; SR2 comes back in bits 15:8.
            let (mut sr1, mut sr2) = ([0xFF], [0xFF]);
            op(bus, flash::op::RDSR, None, &[], &mut sr1);
            op(bus, flash::op::RDSR2, None, &[], &mut sr2);
            let v = sr1[0] as u32 | (sr2[0] as u32) << 8;
            self.regs.set(RD_STATUS, (self.regs.get(RD_STATUS) & !0xFFFF) | v);
        } else if cmd & (1 << 26) != 0 {
            let v = self.regs.get(RD_STATUS);
            op(bus, flash::op::WRSR, None, &[v as u8, (v >> 8) as u8], &mut []);
        } else if cmd & (1 << 25) != 0 {
            let n = (count as usize).min(64);
            let b = self.buf_bytes(0, n);
            op(bus, flash::op::PP, Some(addr), &b, &mut []);
        } else if cmd & (1 << 24) != 0 {
            op(bus, flash::op::SE, Some(addr), &[], &mut []);
        } else if cmd & (1 << 23) != 0 {
            op(bus, flash::op::BE64, Some(addr), &[], &mut []);
        } else if cmd & (1 << 22) != 0 {
            op(bus, flash::op::CE2, None, &[], &mut []);
        }
        // Everything completes at once; busy time shows in the chip's status register.
        self.regs.set(CMD, 0);
    }

    fn user_transaction(&mut self, bus: &mut impl SpiDevice, now: u64) {
        let user = self.regs.get(USER);
        // CS0 disabled (PIN bit 0): the flash is not selected; the PSRAM is if CS1 is on.
        let cs = if self.regs.get(PIN) & 1 == 0 {
            // A flash takes nothing without a command phase.
            if user & (1 << 31) == 0 {
                return;
            }
            CS0
        } else if self.regs.get(PIN) & 2 == 0 {
            CS1
        } else {
            return;
        };
        let user1 = self.regs.get(USER1);
        let user2 = self.regs.get(USER2);
        let has_miso = user & (1 << 28) != 0;
        let w_quad = user & (1 << 15) != 0;
        let r_quad = self.regs.get(CTRL) & (1 << 24) != 0;
        let command = (user & (1 << 31) != 0).then_some((user2 & 0xFFFF, (user2 >> 28) + 1));
        // The address phase sends the top ADDR_BITLEN+1 bits of ADDR, MSB first.
        let address = (user & (1 << 30) != 0).then(|| (self.regs.get(ADDR), (user1 >> 26) + 1));
        let (mosi, mosi_bits) = if user & (1 << 27) != 0 {
            let bits = (self.regs.get(MOSI_DLEN) & 0xFF_FFFF) + 1;
            let hi = if user & (1 << 25) != 0 { 8 } else { 0 };
            (self.buf_bytes(hi, (bits.div_ceil(8) as usize).min(64)), bits)
        } else {
            (Vec::new(), 0)
        };
        let miso_n = if has_miso { (((self.regs.get(MISO_DLEN) & 0xFF_FFFF) + 1).div_ceil(8) as usize).min(64) } else { 0 };
        // Undriven data lines read as ones.
        let mut miso = vec![0xFFu8; miso_n];
        let mut f = SpiFrame::new(command, address, &mosi, &mut miso);
        f.mosi_bits = mosi_bits;
        let quad = |on: bool| if on { 4 } else { 1 };
        f.lines = [1, quad(if has_miso { r_quad } else { w_quad }), quad(w_quad)];
        bus.select(cs);
        bus.transfer(&mut f, now);
        bus.deselect(cs, false);
        if miso_n > 0 {
            let hi = if user & (1 << 24) != 0 { 8 } else { 0 };
            self.set_buf(hi, &miso);
        }
    }
}

impl device::Device for Spi {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        Spi::read(self, off)
    }

    /// The controller alone, with no chip on its bus: a command completes and moves no
    /// data. The SoC wires SPI0/SPI1 to the flash and the PSRAM (`Soc::write_spi01`).
    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        off == CMD || self.regs.write(off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        self.regs.reset();
    }
}
