//! The external PSRAM of second-generation Pycom boards (LoPy4, WiPy3, FiPy, GPy): an
//! Espressif ESP-PSRAM32 (32 Mbit = 4 MiB pseudo-static RAM, 1.8 V, SPI/QPI), on SPI1/SPI0
//! chip select CS1 (GPIO16), sharing the data lines with the flash.
//!
//! Read ID (0x9F) answers MFID 0x0D, KGD 0x5D ("known good die"), then the 6-byte EID whose
//! first byte is 0x20: bits 7:5 = 001 give the density (32 Mbit), and ESP-IDF 3.2
//! (`PSRAM_IS_32MBIT_VER0`) recognises exactly 0x20 as the first ESP-PSRAM32 revision, which it
//! drives in "DCLK" mode. The other five EID bytes are die-specific; nothing reads them, they
//! are 0 here.
//!
//! | command | code | mode | phases after the command | effect |
//! |---|---|---|---|---|
//! | Read | 0x03 | SPI | addr 24 | data out from addr |
//! | Fast read | 0x0B | SPI, QPI | addr 24, wait | data out |
//! | Fast quad read | 0xEB | SPI, QPI | addr 24 and data on 4 lines, 6 waits | data out |
//! | Write | 0x02 | SPI, QPI | addr 24, data in | store |
//! | Quad write | 0x38 | SPI, QPI | addr 24 and data on 4 lines | store |
//! | Enter quad mode | 0x35 | SPI | | QPI: every phase on 4 lines |
//! | Exit quad mode | 0xF5 | QPI | | back to SPI |
//! | Reset enable / reset | 0x66 / 0x99 | SPI, QPI | | 0x99 right after 0x66: SPI mode, 1 KiB bursts |
//! | Set burst length | 0xC0 | SPI, QPI | | toggles 32-byte wrap / 1 KiB linear burst |
//! | Read ID | 0x9F | SPI | addr 24 (ignored) | MFID, KGD, EID… |
//!
//! The bus is modelled clock by clock: the host hands over what it drove on D3..D0 for each
//! clock (one-line phases drive D0 only), so a command sent in the wrong mode is misread as
//! on the real part (a chip in SPI mode samples D0 only). Wait (dummy) cycles are not part of
//! the stream: the host's dummy phase covers them, and extra host dummies that compensate
//! for the GPIO-matrix delay on silicon have no counterpart here. The clocks the chip never
//! sees because of the board's clock routing (IDF's "DCLK" mode, see `spi.rs`) are dropped
//! by the host before the stream gets here.
//!
//! The contents are plain RAM (lost at power-off; a digital system reset of the ESP32 keeps
//! them and the chip's mode, since the chip has no reset line). Reads and writes through the
//! cache go straight to `data`/`data_mut` (see `soc/mod.rs`); the cache-line bitmaps record which
//! 32-byte lines the cache wrote and read, for tests.

/// Manufacturer id (ESP-PSRAM parts).
pub const MFID: u8 = 0x0D;
/// Known-good-die byte that ESP-IDF checks (`PSRAM_ID_KGD`).
pub const KGD: u8 = 0x5D;
/// First EID byte of the ESP-PSRAM32 rev 0: density bits 7:5 = 001 (32 Mbit).
pub const EID_32MBIT: u8 = 0x20;
/// First EID byte of a 64 Mbit part (ESP-PSRAM64H): density bits 7:5 = 010.
pub const EID_64MBIT: u8 = 0x40;

pub const READ: u8 = 0x03;
pub const FAST_READ: u8 = 0x0B;
pub const FAST_READ_QUAD: u8 = 0xEB;
pub const WRITE: u8 = 0x02;
pub const QUAD_WRITE: u8 = 0x38;
pub const ENTER_QPI: u8 = 0x35;
pub const EXIT_QPI: u8 = 0xF5;
pub const RESET_ENABLE: u8 = 0x66;
pub const RESET: u8 = 0x99;
pub const SET_BURST_LEN: u8 = 0xC0;
pub const READ_ID: u8 = 0x9F;

/// Cache line size of the ESP32 external-RAM cache (bytes), the granule of the bitmaps.
pub const LINE: u32 = 32;

/// Appends `nbits` of `value` (most significant first) to a clock stream as the host drives
/// them on `lines` data lines (1: D0 only; 4: D3..D0 per clock, a trailing partial nibble
/// is padded with zeros).
pub fn push_bits(clocks: &mut Vec<u8>, value: u64, nbits: u32, lines: u32) {
    if lines == 4 {
        let mut left = nbits as i32;
        while left > 0 {
            let shift = left - 4;
            let nib = if shift >= 0 { value >> shift } else { value << -shift };
            clocks.push((nib & 0xF) as u8);
            left -= 4;
        }
    } else {
        for i in (0..nbits).rev() {
            clocks.push(((value >> i) & 1) as u8);
        }
    }
}

/// Appends bytes (first byte first, each most significant bit first) on `lines` lines.
pub fn push_bytes(clocks: &mut Vec<u8>, bytes: &[u8], lines: u32) {
    for b in bytes {
        push_bits(clocks, *b as u64, 8, lines);
    }
}

/// What the chip made of one transaction (for the host's log and for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// Fewer clocks than a command byte, or an unknown/misplaced command: ignored.
    Ignored,
    Read { cmd: u8, addr: u32 },
    Write { cmd: u8, addr: u32, len: usize },
    ReadId,
    EnterQpi,
    ExitQpi,
    ResetEnable,
    Reset,
    BurstToggle,
}

/// Reads bytes out of a clock stream, one line or four per clock.
struct Reader<'a> {
    clocks: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self, lines: u32) -> Option<u8> {
        let per = if lines == 4 { 2 } else { 8 };
        let c = self.clocks.get(self.pos..self.pos + per)?;
        self.pos += per;
        Some(c.iter().fold(0u8, |acc, &x| if lines == 4 { (acc << 4) | (x & 0xF) } else { (acc << 1) | (x & 1) }))
    }

    fn addr24(&mut self, lines: u32) -> Option<u32> {
        let mut a = 0u32;
        for _ in 0..3 {
            a = (a << 8) | self.byte(lines)? as u32;
        }
        Some(a)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Psram {
    #[serde(with = "crate::snapshot::sparse")]
    mem: Vec<u8>,
    size: u32,
    /// MFID, KGD, EID[0..6].
    id: [u8; 8],
    qpi: bool,
    reset_armed: bool,
    wrap32: bool,
    /// 32-byte lines written / read through the cache (bit per line).
    lines_written: Vec<u64>,
    lines_read: Vec<u64>,
    /// Transactions seen over SPI (any command), for diagnostics.
    pub transactions: u64,
    /// Read-ID commands answered.
    pub id_reads: u64,
}

impl Psram {
    /// A chip of `size` bytes (up to 4 MiB: ESP-PSRAM32 rev 0; 8 MiB: ESP-PSRAM64H), in SPI
    /// mode after power-on. Contents start as zeros (undefined on silicon).
    pub fn new(size: u32) -> Psram {
        assert!(size.is_power_of_two() && size >= 1 << 20, "PSRAM size must be a power of two ≥ 1 MiB");
        let eid = if size > 4 << 20 { EID_64MBIT } else { EID_32MBIT };
        let lines = (size / LINE) as usize;
        Psram {
            mem: vec![0; size as usize],
            size,
            id: [MFID, KGD, eid, 0, 0, 0, 0, 0],
            qpi: false,
            reset_armed: false,
            wrap32: false,
            lines_written: vec![0; lines.div_ceil(64)],
            lines_read: vec![0; lines.div_ceil(64)],
            transactions: 0,
            id_reads: 0,
        }
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    pub fn id(&self) -> [u8; 8] {
        self.id
    }

    /// True while the chip takes every phase on four lines.
    pub fn qpi(&self) -> bool {
        self.qpi
    }

    pub fn data(&self) -> &[u8] {
        &self.mem
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.mem
    }

    /// Lines the command byte takes in the current mode.
    fn cmd_lines(&self) -> u32 {
        if self.qpi {
            4
        } else {
            1
        }
    }

    /// The command byte the chip would decode from the start of `clocks`, without acting.
    pub fn decode_command(&self, clocks: &[u8]) -> Option<u8> {
        let mut r = Reader { clocks, pos: 0 };
        r.byte(self.cmd_lines())
    }

    /// True if `cmd` reads the array in the current mode.
    pub fn is_read(&self, cmd: u8) -> bool {
        matches!(cmd, FAST_READ | FAST_READ_QUAD) || (cmd == READ && !self.qpi)
    }

    /// True if `cmd` writes the array in the current mode.
    pub fn is_write(&self, cmd: u8) -> bool {
        matches!(cmd, WRITE | QUAD_WRITE)
    }

    /// Physical byte `i` of a burst that starts at `addr`: bursts wrap inside 1 KiB pages
    /// (or 32-byte lines after 0xC0), and the array wraps at its size.
    fn burst_addr(&self, addr: u32, i: usize) -> usize {
        let page = if self.wrap32 { 32 } else { 1024 };
        let base = addr & !(page - 1);
        ((base + ((addr.wrapping_add(i as u32)) & (page - 1))) & (self.size - 1)) as usize
    }

    /// One transaction (CS low to CS high): `clocks` are the host's outputs per clock; the
    /// chip's output bytes land in `miso` (which the host samples after its dummy phase).
    pub fn transaction(&mut self, clocks: &[u8], miso: &mut [u8]) -> Op {
        self.transactions += 1;
        let armed = std::mem::take(&mut self.reset_armed);
        let mut r = Reader { clocks, pos: 0 };
        let Some(cmd) = r.byte(self.cmd_lines()) else { return Op::Ignored };
        // Address and data lines: all four in QPI, and for the quad commands in SPI mode.
        let lines = if self.qpi || matches!(cmd, FAST_READ_QUAD | QUAD_WRITE) { 4 } else { 1 };
        match cmd {
            RESET_ENABLE => {
                self.reset_armed = true;
                Op::ResetEnable
            }
            RESET if armed => {
                self.qpi = false;
                self.wrap32 = false;
                Op::Reset
            }
            ENTER_QPI if !self.qpi => {
                self.qpi = true;
                Op::EnterQpi
            }
            EXIT_QPI if self.qpi => {
                self.qpi = false;
                Op::ExitQpi
            }
            SET_BURST_LEN => {
                self.wrap32 = !self.wrap32;
                Op::BurstToggle
            }
            READ_ID if !self.qpi => {
                // The 24 address bits are don't-care, but the ID only follows them.
                if r.addr24(1).is_none() {
                    return Op::Ignored;
                }
                self.id_reads += 1;
                for (i, b) in miso.iter_mut().enumerate() {
                    *b = self.id[i % self.id.len()];
                }
                Op::ReadId
            }
            c if self.is_read(c) => {
                let Some(addr) = r.addr24(lines) else { return Op::Ignored };
                for (i, b) in miso.iter_mut().enumerate() {
                    *b = self.mem[self.burst_addr(addr, i)];
                }
                Op::Read { cmd: c, addr }
            }
            c if self.is_write(c) => {
                let Some(addr) = r.addr24(lines) else { return Op::Ignored };
                let mut n = 0;
                while let Some(b) = r.byte(lines) {
                    let a = self.burst_addr(addr, n);
                    self.mem[a] = b;
                    n += 1;
                }
                Op::Write { cmd: c, addr, len: n }
            }
            _ => Op::Ignored,
        }
    }

    /// Notes a cache access to physical `addr` (bitmaps for tests).
    #[inline]
    pub fn note_cache(&mut self, addr: u32, write: bool) {
        let line = ((addr & (self.size - 1)) / LINE) as usize;
        let map = if write { &mut self.lines_written } else { &mut self.lines_read };
        map[line / 64] |= 1 << (line % 64);
    }

    /// Number of distinct 32-byte lines the cache has written and read so far.
    pub fn cache_lines(&self) -> (usize, usize) {
        let count = |m: &[u64]| m.iter().map(|w| w.count_ones() as usize).sum();
        (count(&self.lines_written), count(&self.lines_read))
    }

    /// Total 32-byte lines of the array.
    pub fn total_lines(&self) -> usize {
        (self.size / LINE) as usize
    }
}

/// The PSRAM on CS1 of SPI0/SPI1 as the bus presents it to a transaction.
pub struct OnBus<'a> {
    pub chip: &'a mut Psram,
    /// Leading clocks the chip never sees (IDF's DCLK clock routing, see `soc/mod.rs`).
    pub lag: usize,
}

impl crate::spi_bus::SpiDevice for OnBus<'_> {
    /// The frame's phases as clocks on the lines, minus the clocks lost to the routing.
    fn transfer(&mut self, f: &mut crate::spi_bus::SpiFrame<'_>, _now: u64) {
        let [cmd_lines, addr_lines, data_lines] = f.lines;
        let mut clocks = Vec::new();
        if let Some((v, bits)) = f.command_on_wire() {
            push_bits(&mut clocks, v as u64, bits, cmd_lines);
        }
        if let Some((a, bits)) = f.address_bits() {
            push_bits(&mut clocks, a as u64, bits, addr_lines);
        }
        for (i, b) in f.mosi.iter().enumerate() {
            // A last partial byte sends its top bits.
            let n = (f.mosi_bits - 8 * i as u32).min(8);
            push_bits(&mut clocks, (*b >> (8 - n)) as u64, n, data_lines);
        }
        let op = self.chip.transaction(clocks.get(self.lag..).unwrap_or(&[]), f.miso);
        tracing::trace!(?op, lag = self.lag, "PSRAM transaction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes on one line (SPI mode).
    fn spi(bytes: &[u8]) -> Vec<u8> {
        let mut c = Vec::new();
        push_bytes(&mut c, bytes, 1);
        c
    }

    /// Bytes on four lines (QPI mode).
    fn qpi(bytes: &[u8]) -> Vec<u8> {
        let mut c = Vec::new();
        push_bytes(&mut c, bytes, 4);
        c
    }

    #[test]
    fn read_id() {
        let mut p = Psram::new(4 << 20);
        let mut id = [0u8; 4];
        assert_eq!(p.transaction(&spi(&[READ_ID, 0, 0, 0]), &mut id), Op::ReadId);
        // As IDF reads it from W0: MFID in bits 7..0, KGD in 15..8, EID in 23..16.
        let v = u32::from_le_bytes(id);
        assert_eq!(v & 0xFF, 0x0D);
        assert_eq!((v >> 8) & 0xFF, 0x5D);
        assert_eq!((v >> 16) & 0xFF, 0x20, "EID: 32 Mbit, rev 0");
        assert_eq!((v >> 21) & 7, 1, "density bits 7:5 of the EID = 32 Mbit");
        assert_eq!(p.id_reads, 1);
    }

    #[test]
    fn read_id_needs_the_address_phase_and_spi_mode() {
        let mut p = Psram::new(4 << 20);
        let mut id = [0xEEu8; 3];
        assert_eq!(p.transaction(&spi(&[READ_ID]), &mut id), Op::Ignored);
        assert_eq!(id, [0xEE; 3]);
        p.transaction(&spi(&[ENTER_QPI]), &mut []);
        assert_eq!(p.transaction(&qpi(&[READ_ID, 0, 0, 0]), &mut id), Op::Ignored);
        assert_eq!(id, [0xEE; 3]);
    }

    #[test]
    fn qpi_enter_and_exit() {
        let mut p = Psram::new(4 << 20);
        // Exit-QPI on four lines while in SPI mode: the chip samples D0 only (0xF5 gives
        // bits 1,1 on D0 over two clocks) and sees no full command.
        assert_eq!(p.transaction(&qpi(&[EXIT_QPI]), &mut []), Op::Ignored);
        assert!(!p.qpi());
        assert_eq!(p.transaction(&spi(&[ENTER_QPI]), &mut []), Op::EnterQpi);
        assert!(p.qpi());
        // A one-line command now reads as nibbles 0/1 only.
        assert_eq!(p.transaction(&spi(&[ENTER_QPI]), &mut []), Op::Ignored);
        assert_eq!(p.transaction(&qpi(&[EXIT_QPI]), &mut []), Op::ExitQpi);
        assert!(!p.qpi());
    }

    #[test]
    fn spi_write_then_reads() {
        let mut p = Psram::new(4 << 20);
        let op = p.transaction(&spi(&[WRITE, 0x12, 0x34, 0x56, 1, 2, 3, 4]), &mut []);
        assert_eq!(op, Op::Write { cmd: WRITE, addr: 0x12_3456, len: 4 });
        let mut out = [0u8; 4];
        p.transaction(&spi(&[READ, 0x12, 0x34, 0x56]), &mut out);
        assert_eq!(out, [1, 2, 3, 4]);
        out = [0; 4];
        p.transaction(&spi(&[FAST_READ, 0x12, 0x34, 0x57]), &mut out);
        assert_eq!(out[..3], [2, 3, 4]);
        assert_eq!(&p.data()[0x12_3456..0x12_345A], &[1, 2, 3, 4]);
    }

    #[test]
    fn quad_commands_in_spi_mode_take_four_lines_after_the_command() {
        let mut p = Psram::new(4 << 20);
        let mut c = spi(&[QUAD_WRITE]);
        push_bytes(&mut c, &[0x00, 0x10, 0x00, 0xAB, 0xCD], 4);
        assert_eq!(p.transaction(&c, &mut []), Op::Write { cmd: QUAD_WRITE, addr: 0x1000, len: 2 });
        let mut c = spi(&[FAST_READ_QUAD]);
        push_bytes(&mut c, &[0x00, 0x10, 0x00], 4);
        let mut out = [0u8; 2];
        assert_eq!(p.transaction(&c, &mut out), Op::Read { cmd: FAST_READ_QUAD, addr: 0x1000 });
        assert_eq!(out, [0xAB, 0xCD]);
    }

    #[test]
    fn qpi_commands_and_wrapping() {
        let mut p = Psram::new(4 << 20);
        p.transaction(&spi(&[ENTER_QPI]), &mut []);
        assert_eq!(p.decode_command(&qpi(&[FAST_READ_QUAD])), Some(FAST_READ_QUAD));
        assert!(p.is_read(FAST_READ_QUAD) && p.is_write(QUAD_WRITE));
        assert!(!p.is_read(READ), "0x03 is SPI-only");
        p.transaction(&qpi(&[QUAD_WRITE, 0x3F, 0xFF, 0xFE, 7, 8, 9]), &mut []);
        // The burst wraps inside its 1 KiB page.
        assert_eq!(p.data()[0x3F_FFFE], 7);
        assert_eq!(p.data()[0x3F_FFFF], 8);
        assert_eq!(p.data()[0x3F_FC00], 9);
        // Address bits above the array size are ignored.
        let mut out = [0u8; 1];
        p.transaction(&qpi(&[FAST_READ_QUAD, 0xFF, 0xFF, 0xFE]), &mut out);
        assert_eq!(out, [7]);
    }

    #[test]
    fn reset_needs_reset_enable_right_before() {
        let mut p = Psram::new(4 << 20);
        p.transaction(&spi(&[ENTER_QPI]), &mut []);
        assert_eq!(p.transaction(&qpi(&[RESET]), &mut []), Op::Ignored);
        assert!(p.qpi());
        p.transaction(&qpi(&[RESET_ENABLE]), &mut []);
        assert_eq!(p.transaction(&qpi(&[RESET]), &mut []), Op::Reset);
        assert!(!p.qpi());
    }

    #[test]
    fn burst_length_toggle_wraps_at_32_bytes() {
        let mut p = Psram::new(4 << 20);
        assert_eq!(p.transaction(&spi(&[SET_BURST_LEN]), &mut []), Op::BurstToggle);
        p.transaction(&spi(&[WRITE, 0, 0, 0x1F, 1, 2]), &mut []);
        assert_eq!((p.data()[0x1F], p.data()[0x00], p.data()[0x20]), (1, 2, 0));
    }

    #[test]
    fn sixty_four_mbit_part() {
        let mut p = Psram::new(8 << 20);
        let mut id = [0u8; 3];
        p.transaction(&spi(&[READ_ID, 0, 0, 0]), &mut id);
        assert_eq!(id, [MFID, KGD, EID_64MBIT]);
    }

    #[test]
    fn push_bits_layouts() {
        let mut c = Vec::new();
        push_bits(&mut c, 0b10, 2, 1);
        push_bits(&mut c, 0xEB, 8, 4);
        push_bits(&mut c, 0x5, 3, 4);
        assert_eq!(c, [1, 0, 0xE, 0xB, 0xA]);
    }

    #[test]
    fn cache_line_bitmaps() {
        let mut p = Psram::new(1 << 20);
        p.note_cache(0, true);
        p.note_cache(31, true);
        p.note_cache(32, false);
        assert_eq!(p.cache_lines(), (1, 1));
        assert_eq!(p.total_lines(), (1 << 20) / 32);
    }
}
