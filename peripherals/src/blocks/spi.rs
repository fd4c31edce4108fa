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
use crate::regblock::RegBlock;

crate::regs! {
    /// SPI0..SPI3 (TRM "SPI Registers"): one layout for the four controllers, reset values
    /// of SPI0/1 (SPI2/3's differ where `spi_gp.rs` says; from IDF `soc/spi_reg.h`).
    pub static REGS: "SPI", 0x400;
    0x00 CMD rw 0 stored {
        READ 31 modelled;
        WREN 30 modelled;
        WRDI 29 modelled;
        RDID 28 modelled;
        RDSR 27 modelled;
        WRSR 26 modelled;
        PP 25 modelled;
        SE 24 modelled;
        BE 23 modelled;
        CE 22 modelled;
        /// Deep power-down, release, high-performance mode: no state here.
        DP 21 stored;
        RES 20 stored;
        HPM 19 stored;
        USR 18 modelled;
    };
    0x04 ADDR rw 0 modelled {
        /// Built-in commands: the address and the byte count.
        OFFSET 23:0 modelled;
        LEN 31:24 modelled;
    };
    0x08 CTRL rw 0x0020_8000 stored {
        /// SPI2/3: 1 = LSB first.
        WR_BIT_ORDER 26 modelled;
        RD_BIT_ORDER 25 modelled;
        FREAD_QIO 24 modelled;
        FREAD_DIO 23 modelled;
        FREAD_QUAD 20 modelled;
        FREAD_DUAL 14 modelled;
    };
    0x0C CTRL1 rw 0x5FFF_0000 stored;
    0x10 RD_STATUS rw 0 stored {
        STATUS 15:0 modelled;
    };
    0x14 CTRL2 rw 0x11 stored;
    0x18 CLOCK rw 0x8000_3043 stored {
        CLK_EQU_SYSCLK 31 modelled;
        CLKDIV_PRE 30:18 modelled;
        CLKCNT_N 17:12 modelled;
    };
    0x1C USER rw 0x8000_0064 stored {
        COMMAND 31 modelled;
        ADDR 30 modelled;
        DUMMY 29 modelled;
        MISO 28 modelled;
        MOSI 27 modelled;
        MOSI_HIGHPART 25 modelled;
        MISO_HIGHPART 24 modelled;
        FWRITE_QIO 15 modelled;
        /// SPI2/3: full duplex.
        DOUTDIN 0 modelled;
    };
    0x20 USER1 rw 0x5C00_0007 stored {
        ADDR_BITLEN 31:26 modelled;
        DUMMY_CYCLELEN 7:0 modelled;
    };
    0x24 USER2 rw 0x7000_0000 stored {
        COMMAND_BITLEN 31:28 modelled;
        COMMAND_VALUE 15:0 modelled;
    };
    0x28 MOSI_DLEN rw 0 stored {
        BITLEN 23:0 modelled;
    };
    0x2C MISO_DLEN rw 0 stored {
        BITLEN 23:0 modelled;
    };
    0x30 SLV_WR_STATUS rw 0 stored;
    0x34 PIN rw 0x6 stored {
        CS0_DIS 0 modelled;
        CS1_DIS 1 modelled;
        /// CS0..CS2 disable, as one field (SPI2/3).
        CS_DIS 2:0 modelled;
        CS_KEEP_ACTIVE 30 modelled;
    };
    /// TRANS_CNT, SLV_LAST_STATE and SLV_LAST_COMMAND are read-only; slave mode is not
    /// modelled.
    0x38 SLAVE rw 0x0000_0200 stored wmask 0xF801_FFFF {
        TRANS_DONE 4 modelled;
        TRANS_INTEN 9:5 modelled;
        TRANS_CNT 26:23 modelled;
    };
    0x3C SLAVE1 rw 0 stored;
    0x40 SLAVE2 rw 0 stored;
    0x44 SLAVE3 rw 0 stored;
    0x48 SLV_WRBUF_DLEN rw 0 stored;
    0x4C SLV_RDBUF_DLEN rw 0 stored;
    0x50 CACHE_FCTRL rw 0 stored;
    0x54 CACHE_SCTRL rw 0 stored {
        USR_WCMD 28 modelled;
        SRAM_ADDR_BITLEN 27:22 modelled;
        SRAM_DUMMY_CYCLELEN 21:14 modelled;
        USR_RCMD 5 modelled;
        USR_RD_SRAM_DUMMY 4 modelled;
        SRAM_QIO 2 modelled;
        SRAM_DIO 1 modelled;
    };
    0x58 SRAM_CMD rw 0 stored;
    0x5C SRAM_DRD_CMD rw 0 stored {
        BITLEN 31:28 modelled;
        VALUE 15:0 modelled;
    };
    0x60 SRAM_DWR_CMD rw 0 stored {
        BITLEN 31:28 modelled;
        VALUE 15:0 modelled;
    };
    0x64 SLV_RD_BIT rw 0 stored;
    /// The data buffer, little-endian bytes.
    0x80 W0[16] rw 0 modelled;
    0xC0 TX_CRC rw 0 stored;
    0xF0 EXT0 rw 0 stored;
    0xF4 EXT1 rw 0 stored;
    /// The controller's state: 0, idle.
    0xF8 EXT2 ro 0 modelled;
    0xFC EXT3 rw 0 stored;
    0x100 DMA_CONF rw 0 stored;
    0x104 DMA_OUT_LINK rw 0 stored {
        /// Starting a descriptor chain (SPI2/3: refused as an unmodelled access).
        START 29 modelled;
    };
    0x108 DMA_IN_LINK rw 0 stored {
        START 29 modelled;
    };
    0x10C DMA_STATUS ro 0 modelled;
    0x110 DMA_INT_ENA rw 0 modelled;
    0x114 DMA_INT_RAW ro 0 modelled;
    0x118 DMA_INT_ST ro 0 modelled;
    0x11C DMA_INT_CLR w1c 0 modelled;
    /// Descriptor and status registers: idle, 0.
    0x120 DMA_DSCR_STATUS[12] ro 0 modelled;
    0x3FC DATE ro 0x0160_1260 stored;
}

/// Clocks of a command phase of `bits` bits (1..=16) carrying `value`: bits 7..0 go out
/// first, most significant first, then the bits above 7.
/// The data buffer W0..W15 in bytes.
const BUF_BYTES: usize = W0::COUNT as usize * 4;

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
        Spi { regs: RegBlock::new(name, &REGS), index }
    }

    fn buf_bytes(&self, start_word: u32, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let w = self.regs.get(W0::at(start_word + (i as u32) / 4));
            out.push(w.to_le_bytes()[i % 4]);
        }
        out
    }

    fn set_buf(&mut self, start_word: u32, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(4).enumerate() {
            let word = start_word + i as u32;
            if word >= W0::COUNT {
                break;
            }
            let mut w = self.regs.get(W0::at(word)).to_le_bytes();
            w[..chunk.len()].copy_from_slice(chunk);
            self.regs.set(W0::at(word), u32::from_le_bytes(w));
        }
    }

    /// Register write with the chips on `bus` (the flash on CS0, the PSRAM on CS1);
    /// returns false for an unmodelled offset. `now` is virtual time (ps).
    pub fn write(&mut self, off: u32, v: u32, bus: &mut impl SpiDevice, now: Ps) -> bool {
        if off == CMD {
            self.command(v, bus, now);
            return true;
        }
        self.regs.write(off, v)
    }

    /// A built-in flash command: its opcode, 24-bit address and data, to the chip on CS0.
    fn flash_command(bus: &mut impl SpiDevice, op: u8, addr: Option<u32>, mosi: &[u8], miso: &mut [u8], now: Ps) {
        let mut f = SpiFrame::new(Some((op as u32, 8)), addr.map(|a| (a << 8, 24)), mosi, miso);
        bus.select(CS0);
        bus.transfer(&mut f, now);
        bus.deselect(CS0, false);
    }

    pub fn read(&mut self, off: u32) -> Option<u32> {
        self.regs.read(off)
    }

    fn command(&mut self, cmd: u32, bus: &mut impl SpiDevice, now: Ps) {
        let addr_reg = self.regs.get(ADDR);
        let (addr, count) = (ADDR::OFFSET.get(addr_reg), ADDR::LEN.get(addr_reg));
        tracing::trace!(spi = self.index, cmd = format_args!("{cmd:#x}"), addr = format_args!("{addr_reg:#x}"), user = format_args!("{:#x}", self.regs.get(USER)), user2 = format_args!("{:#x}", self.regs.get(USER2)), miso = self.regs.get(MISO_DLEN), "SPI command");
        // Only SPI1 (and SPI0 for its own commands) talk to the flash on CS0.
        let op = |bus: &mut _, op, addr, mosi: &[u8], miso: &mut [u8]| Self::flash_command(bus, op, addr, mosi, miso, now);
        if CMD::USR.on(cmd) {
            self.user_transaction(bus, now);
        } else if CMD::READ.on(cmd) {
            let n = (count as usize).min(BUF_BYTES);
            let mut b = vec![u8::MAX; n];
            op(bus, flash::op::READ, Some(addr), &[], &mut b);
            self.set_buf(0, &b);
        } else if CMD::WREN.on(cmd) {
            op(bus, flash::op::WREN, None, &[], &mut []);
        } else if CMD::WRDI.on(cmd) {
            op(bus, flash::op::WRDI, None, &[], &mut []);
        } else if CMD::RDID.on(cmd) {
            let mut id = [u8::MAX; 3];
            op(bus, flash::op::RDID, None, &[], &mut id);
            self.regs.set(W0, u32::from_le_bytes([id[0], id[1], id[2], 0]));
        } else if CMD::RDSR.on(cmd) {
            // RDSR: the controller polls until WIP clears; SR2 comes back in bits 15:8.
            let (mut sr1, mut sr2) = ([u8::MAX], [u8::MAX]);
            op(bus, flash::op::RDSR, None, &[], &mut sr1);
            op(bus, flash::op::RDSR2, None, &[], &mut sr2);
            let v = u16::from_le_bytes([sr1[0], sr2[0]]);
            self.regs.set_field(RD_STATUS, RD_STATUS::STATUS, v as u32);
        } else if CMD::WRSR.on(cmd) {
            let v = self.regs.get(RD_STATUS).to_le_bytes();
            op(bus, flash::op::WRSR, None, &v[..2], &mut []);
        } else if CMD::PP.on(cmd) {
            let n = (count as usize).min(BUF_BYTES);
            let b = self.buf_bytes(0, n);
            op(bus, flash::op::PP, Some(addr), &b, &mut []);
        } else if CMD::SE.on(cmd) {
            op(bus, flash::op::SE, Some(addr), &[], &mut []);
        } else if CMD::BE.on(cmd) {
            op(bus, flash::op::BE64, Some(addr), &[], &mut []);
        } else if CMD::CE.on(cmd) {
            op(bus, flash::op::CE2, None, &[], &mut []);
        }
        // Everything completes at once; busy time shows in the chip's status register.
        self.regs.set(CMD, 0);
    }

    /// The first buffer word of a phase: W8 for the high part, else W0.
    fn half(&self, high: bool) -> u32 {
        if high { W0::COUNT / 2 } else { 0 }
    }

    fn user_transaction(&mut self, bus: &mut impl SpiDevice, now: Ps) {
        let user = self.regs.get(USER);
        // CS0 disabled: the flash is not selected; the PSRAM is if CS1 is on.
        let cs = if !self.regs.on(PIN, PIN::CS0_DIS) {
            // A flash takes nothing without a command phase.
            if !USER::COMMAND.on(user) {
                return;
            }
            CS0
        } else if !self.regs.on(PIN, PIN::CS1_DIS) {
            CS1
        } else {
            return;
        };
        let user1 = self.regs.get(USER1);
        let user2 = self.regs.get(USER2);
        let has_miso = USER::MISO.on(user);
        let w_quad = USER::FWRITE_QIO.on(user);
        let r_quad = self.regs.on(CTRL, CTRL::FREAD_QIO);
        let command = USER::COMMAND.on(user).then_some((USER2::COMMAND_VALUE.get(user2), USER2::COMMAND_BITLEN.get(user2) + 1));
        // The address phase sends the top ADDR_BITLEN+1 bits of ADDR, MSB first.
        let address = USER::ADDR.on(user).then(|| (self.regs.get(ADDR), USER1::ADDR_BITLEN.get(user1) + 1));
        let (mosi, mosi_bits) = if USER::MOSI.on(user) {
            let bits = self.regs.field(MOSI_DLEN, MOSI_DLEN::BITLEN) + 1;
            let hi = self.half(USER::MOSI_HIGHPART.on(user));
            (self.buf_bytes(hi, (bits.div_ceil(8) as usize).min(BUF_BYTES)), bits)
        } else {
            (Vec::new(), 0)
        };
        let miso_n = if has_miso { ((self.regs.field(MISO_DLEN, MISO_DLEN::BITLEN) + 1).div_ceil(8) as usize).min(BUF_BYTES) } else { 0 };
        // Undriven data lines read as ones.
        let mut miso = vec![u8::MAX; miso_n];
        let mut f = SpiFrame::new(command, address, &mosi, &mut miso);
        f.mosi_bits = mosi_bits;
        let quad = |on: bool| if on { 4 } else { 1 };
        f.lines = [1, quad(if has_miso { r_quad } else { w_quad }), quad(w_quad)];
        bus.select(cs);
        bus.transfer(&mut f, now);
        bus.deselect(cs, false);
        if miso_n > 0 {
            self.set_buf(self.half(USER::MISO_HIGHPART.on(user)), &miso);
        }
    }
}

impl device::Device for Spi {
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

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
