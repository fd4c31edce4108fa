//! How off-chip SPI parts meet the SoC's SPI controllers: one trait, [`SpiDevice`], for
//! every part on an SPI bus (the flash and the PSRAM on SPI0/SPI1, the SX127x on SPI2/SPI3).
//!
//! A controller runs a transaction as the ESP32's do: it asserts its chip selects
//! ([`SpiDevice::select`]), sends the phases of one [`SpiFrame`] — command, address, data
//! out, data in, each on one, two or four lines — ([`SpiDevice::transfer`]) and releases the
//! selects ([`SpiDevice::deselect`]). Each part takes the frame at the level it is modelled
//! at: the flash decodes command and address, the PSRAM replays the frame clock by clock
//! on its data lines, the SX127x exchanges it byte by byte ([`SpiFrame::exchange_bytes`]).
//! Dummy cycles carry no data and are not part of the frame. Transfers take no virtual
//! time; a part's busy time shows in its status (the flash's WIP bit).
//!
//! Dispatch is static: the controllers are generic over the bus they drive.
//!
//! The WS2812 LED is not an SPI part: the firmware drives it with the RMT, and it is fed
//! from the RMT's output pad (`parts/ws2812.rs`).

use crate::time::Ps;

/// Chip select bits of [`SpiDevice::select`]: bit n is CSn.
pub const CS0: u8 = 1;
pub const CS1: u8 = 2;

/// One transaction's phases as the controller drives them.
pub struct SpiFrame<'a> {
    /// Command phase: (value, bits). The ESP32's controllers send bits 7..0 of the value
    /// first (most significant first), then the bits above 7.
    pub command: Option<(u32, u32)>,
    /// Address phase: (register, bits): the top `bits` bits of the 32-bit register, most
    /// significant first.
    pub address: Option<(u32, u32)>,
    /// Data out, bytes in order, each most significant bit first.
    pub mosi: &'a [u8],
    /// Bits of `mosi` sent (a last partial byte sends its top bits).
    pub mosi_bits: u32,
    /// Data in, as the device drives it; where nothing drives the lines they idle high
    /// (the controller fills it with 0xFF first).
    pub miso: &'a mut [u8],
    /// MISO is sampled while MOSI goes out (full duplex), not after it.
    pub full_duplex: bool,
    /// Data lines of the command, address and data phases (1, 2 or 4).
    pub lines: [u32; 3],
    /// Bit order on the wire, out and in: least significant bit first (SPI2/SPI3's
    /// WR_BIT_ORDER / RD_BIT_ORDER).
    pub lsb_first: [bool; 2],
}

impl<'a> SpiFrame<'a> {
    /// A one-line, most-significant-bit-first frame: command, address, data out, data in.
    pub fn new(command: Option<(u32, u32)>, address: Option<(u32, u32)>, mosi: &'a [u8], miso: &'a mut [u8]) -> SpiFrame<'a> {
        SpiFrame { command, address, mosi, mosi_bits: 8 * mosi.len() as u32, miso, full_duplex: false, lines: [1; 3], lsb_first: [false; 2] }
    }

    /// The command phase's bits in the order they go out, right-aligned, and their count.
    pub fn command_on_wire(&self) -> Option<(u32, u32)> {
        self.command.map(|(v, bits)| (command_on_wire(v, bits), bits))
    }

    /// The address phase's bits right-aligned, and their count (at most 32).
    pub fn address_bits(&self) -> Option<(u32, u32)> {
        self.address.map(|(reg, bits)| (if bits >= 32 { reg } else { reg >> (32 - bits) }, bits.min(32)))
    }

    /// Runs the frame byte by byte through `byte` (one byte out, the byte that came in):
    /// the command and address phases rounded up to whole bytes, then the data, full or
    /// half duplex. For parts that frame whole bytes (the SX127x).
    pub fn exchange_bytes(&mut self, mut byte: impl FnMut(u8) -> u8) {
        let [lsb_out, lsb_in] = self.lsb_first;
        let out = |b: u8| if lsb_out { b.reverse_bits() } else { b };
        let inn = |b: u8| if lsb_in { b.reverse_bits() } else { b };
        if let Some((value, bits)) = self.command {
            for i in 0..bits.div_ceil(8) {
                byte(out((value >> (8 * i)) as u8));
            }
        }
        if let Some((reg, bits)) = self.address {
            for i in 0..bits.min(32).div_ceil(8) {
                byte(out((reg >> (24 - 8 * i)) as u8));
            }
        }
        if self.full_duplex {
            for (m, &b) in self.miso.iter_mut().zip(self.mosi) {
                *m = inn(byte(out(b)));
            }
        } else {
            for &b in self.mosi {
                byte(out(b));
            }
            for m in self.miso.iter_mut() {
                *m = inn(byte(0));
            }
        }
    }
}

/// A command value's `bits` (1..=16) in the order the ESP32's controllers send them: bits
/// 7..0 first, then the bits above 7; right-aligned.
pub fn command_on_wire(value: u32, bits: u32) -> u32 {
    if bits > 8 {
        ((value & 0xFF) << (bits - 8)) | ((value >> 8) & ((1 << (bits - 8)) - 1))
    } else {
        value
    }
}

/// An off-chip part on an SPI bus.
pub trait SpiDevice {
    /// The controller asserts chip selects `cs` (bit n = CSn): a transaction starts.
    fn select(&mut self, _cs: u8) {}

    /// One transaction's phases, at virtual time `now` (ps), while selected.
    fn transfer(&mut self, frame: &mut SpiFrame<'_>, now: Ps);

    /// The controller releases chip selects `cs`, unless `keep` (CS_KEEP_ACTIVE) holds them.
    fn deselect(&mut self, _cs: u8, _keep: bool) {}
}

/// A part borrowed for one access (the SoC owns its parts).
impl<T: SpiDevice + ?Sized> SpiDevice for &mut T {
    fn select(&mut self, cs: u8) {
        (**self).select(cs)
    }
    fn transfer(&mut self, frame: &mut SpiFrame<'_>, now: Ps) {
        (**self).transfer(frame, now)
    }
    fn deselect(&mut self, cs: u8, keep: bool) {
        (**self).deselect(cs, keep)
    }
}

/// Nothing on the bus: MISO idles high.
pub struct NoDevice;

impl SpiDevice for NoDevice {
    fn transfer(&mut self, _frame: &mut SpiFrame<'_>, _now: u64) {}
}

/// Two parts sharing a controller's clock and data lines, each on its own chip select: the
/// flash on CS0 and the PSRAM (if fitted) on CS1 of SPI0/SPI1. A transaction reaches the
/// parts whose select is asserted.
pub struct SharedBus<A, B> {
    pub cs0: A,
    pub cs1: Option<B>,
    selected: u8,
}

impl<A: SpiDevice, B: SpiDevice> SharedBus<A, B> {
    pub fn new(cs0: A, cs1: Option<B>) -> SharedBus<A, B> {
        SharedBus { cs0, cs1, selected: 0 }
    }
}

impl<A: SpiDevice, B: SpiDevice> SpiDevice for SharedBus<A, B> {
    fn select(&mut self, cs: u8) {
        self.selected = cs;
        if cs & CS0 != 0 {
            self.cs0.select(cs);
        }
        if let Some(b) = self.cs1.as_mut().filter(|_| cs & CS1 != 0) {
            b.select(cs);
        }
    }

    fn transfer(&mut self, frame: &mut SpiFrame<'_>, now: Ps) {
        if self.selected & CS0 != 0 {
            self.cs0.transfer(frame, now);
        }
        if let Some(b) = self.cs1.as_mut().filter(|_| self.selected & CS1 != 0) {
            b.transfer(frame, now);
        }
    }

    fn deselect(&mut self, cs: u8, keep: bool) {
        if cs & CS0 != 0 {
            self.cs0.deselect(cs, keep);
        }
        if let Some(b) = self.cs1.as_mut().filter(|_| cs & CS1 != 0) {
            b.deselect(cs, keep);
        }
        if !keep {
            self.selected &= !cs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_bits_go_out_low_byte_first() {
        assert_eq!(command_on_wire(0x05, 8), 0x05);
        assert_eq!(command_on_wire(0x12AB, 16), 0xAB12);
        assert_eq!(command_on_wire(0x0_3AB, 12), 0xAB3);
    }

    #[test]
    fn bytes_of_a_half_duplex_frame_and_bit_order() {
        let mut miso = [0xFF; 2];
        let mut f = SpiFrame::new(Some((0x0B, 8)), Some((0xABCD_0000, 16)), &[0x11, 0x22], &mut miso);
        let mut seen = Vec::new();
        f.exchange_bytes(|b| {
            seen.push(b);
            !b
        });
        assert_eq!(seen, [0x0B, 0xAB, 0xCD, 0x11, 0x22, 0, 0]);
        assert_eq!(miso, [0xFF, 0xFF], "complements of the zeros clocked out");
        let mut miso = [0; 1];
        let mut f = SpiFrame::new(None, None, &[0x01], &mut miso);
        f.full_duplex = true;
        f.lsb_first = [true, true];
        f.exchange_bytes(|b| {
            assert_eq!(b, 0x80, "LSB first on the wire");
            0x40
        });
        assert_eq!(miso, [0x02]);
    }

    /// Logs what reaches it.
    struct Probe(&'static str, Vec<String>);

    impl SpiDevice for Probe {
        fn select(&mut self, cs: u8) {
            self.1.push(format!("{} select {cs}", self.0));
        }
        fn transfer(&mut self, f: &mut SpiFrame<'_>, _now: u64) {
            self.1.push(format!("{} cmd {:?}", self.0, f.command));
        }
        fn deselect(&mut self, cs: u8, keep: bool) {
            self.1.push(format!("{} deselect {cs} {keep}", self.0));
        }
    }

    #[test]
    fn a_shared_bus_reaches_the_selected_part_only() {
        let mut bus = SharedBus::new(Probe("flash", vec![]), Some(Probe("psram", vec![])));
        for cs in [CS0, CS1] {
            bus.select(cs);
            bus.transfer(&mut SpiFrame::new(Some((cs as u32, 8)), None, &[], &mut []), 0);
            bus.deselect(cs, false);
        }
        assert_eq!(bus.cs0.1, ["flash select 1", "flash cmd Some((1, 8))", "flash deselect 1 false"]);
        assert_eq!(bus.cs1.unwrap().1, ["psram select 2", "psram cmd Some((2, 8))", "psram deselect 2 false"]);
    }
}
