//! SPI1 at its real address (0x3FF4_2000) reaches the flash chip on CS0 through the
//! `SpiDevice` bus: the controller's built-in commands and a user transaction.

use emulator::Bus;
use peripherals::efuse::EfuseConfig;
use peripherals::flash::{self, Flash};
use peripherals::soc::Soc;

/// SPI1 at its real address (0x3FF4_2000) reaches the chip on CS0 through the bus: the
/// controller's built-in commands and a user transaction (page program).
#[test]
fn spi1_commands_reach_the_chip() {
    let mut s = Soc::new(Flash::new_in_memory(0x40_0000), &EfuseConfig { mac: [0; 6], revision: 1 }, 1);
    let spi1 = |off: u32| 0x3FF4_2000 + off;
    s.write32(spi1(0x00), 1 << 28).unwrap(); // CMD.RDID
    assert_eq!(s.read32(spi1(0x80)).unwrap(), 0x16_40C8, "JEDEC id in W0");
    s.write32(spi1(0x00), 1 << 30).unwrap(); // CMD.WREN
    s.write32(spi1(0x00), 1 << 27).unwrap(); // CMD.RDSR
    assert_eq!(s.read32(spi1(0x10)).unwrap() & 0xFFFF, 2, "WEL in RD_STATUS");
    // User transaction: PP 0x1000, 4 bytes from W0.
    s.write32(spi1(0x1C), 1 << 31 | 1 << 30 | 1 << 27).unwrap(); // USER: COMMAND, ADDR, MOSI
    s.write32(spi1(0x20), 23 << 26).unwrap(); // USER1: 24 address bits
    s.write32(spi1(0x24), 7 << 28 | flash::op::PP as u32).unwrap(); // USER2: 8-bit command
    s.write32(spi1(0x04), 0x1000 << 8).unwrap(); // ADDR, top 24 bits
    s.write32(spi1(0x28), 31).unwrap(); // MOSI_DLEN
    s.write32(spi1(0x80), 0x4433_2211).unwrap();
    s.write32(spi1(0x00), 1 << 18).unwrap(); // CMD.USR
    assert_eq!(s.flash.data()[0x1000..0x1005], [0x11, 0x22, 0x33, 0x44, 0xFF]);
    s.write32(spi1(0x00), 1 << 27).unwrap();
    assert_eq!(s.read32(spi1(0x10)).unwrap() & 3, 1, "busy programming, WEL spent");
    // Built-in READ of 4 bytes back into W0.
    s.write32(spi1(0x80), 0).unwrap();
    s.write32(spi1(0x04), 4 << 24 | 0x1000).unwrap();
    s.write32(spi1(0x00), 1 << 31).unwrap();
    assert_eq!(s.read32(spi1(0x80)).unwrap(), 0x4433_2211);
    assert_eq!(s.read32(spi1(0x00)).unwrap(), 0, "commands complete at once");
}

