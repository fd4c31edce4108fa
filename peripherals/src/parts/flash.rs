//! The SPI NOR flash chip: a real part's JEDEC id, status registers and NOR semantics
//! (erase sets bytes to 0xFF per 4 KiB sector / 32 or 64 KiB block; program ANDs bits),
//! backed by a memory-mapped state file so what the firmware writes survives the run.
//!
//! | command | code | effect |
//! |---|---|---|
//! | WREN / WRDI | 0x06 / 0x04 | set / clear WEL |
//! | RDSR / RDSR2 / RDSR3 | 0x05 / 0x35 / 0x15 | status bytes (WIP bit 0, WEL bit 1; QE = SR2 bit 1) |
//! | WRSR / WRSR2 | 0x01 / 0x31 | write status (needs WEL) |
//! | RDID | 0x9F | manufacturer, type, capacity |
//! | READ / FAST_READ / DOR / DIOR / QOR / QIOR | 0x03 / 0x0B / 0x3B / 0xBB / 0x6B / 0xEB | read |
//! | PP | 0x02 | page program (wraps within the 256-byte page), needs WEL |
//! | SE / BE32 / BE64 / CE | 0x20 / 0x52 / 0xD8 / 0x60,0xC7 | erase, needs WEL |
//!
//! Busy times follow a GD25Q64-class datasheet (typical values) in virtual time.
//!
//! The chip sits on CS0 of SPI0/SPI1 and takes their transactions through
//! [`SpiDevice`]: it decodes the command byte and the address (the first 24 bits of the
//! address phase; in dual/quad I/O reads the continuous-read mode bits follow them).

use crate::spi_bus::{SpiDevice, SpiFrame};
use memmap2::MmapMut;
use std::fs::OpenOptions;
use std::path::Path;
use crate::time::Ps;

pub const SECTOR: u32 = 0x1000;
pub const PAGE: u32 = 0x100;

/// Typical busy times (picoseconds). Programming n bytes takes tBP1 + (n−1)·tBP2, at most
/// tPP for a whole page (Winbond/GigaDevice datasheets).
pub const T_PAGE_PROGRAM: u64 = 700_000_000; // 0.7 ms
pub const T_BYTE_PROGRAM_FIRST: u64 = 30_000_000; // 30 µs
pub const T_BYTE_PROGRAM_NEXT: u64 = 2_500_000; // 2.5 µs
pub const T_SECTOR_ERASE: u64 = 45_000_000_000; // 45 ms
pub const T_BLOCK32_ERASE: u64 = 150_000_000_000; // 150 ms
pub const T_BLOCK64_ERASE: u64 = 200_000_000_000; // 200 ms
pub const T_WRITE_STATUS: u64 = 5_000_000_000; // 5 ms

enum Store {
    Mem(Vec<u8>),
    Map(MmapMut),
}

/// What a program/erase operation did, numbered from 1 in the order the firmware started
/// them (across resets and power cycles of one run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlashOp {
    pub n: u64,
    pub kind: OpKind,
    /// The bytes the operation acts on: the 256-byte page of a page program, the sector or
    /// block of an erase.
    pub addr: u32,
    pub len: u32,
    pub start_ps: Ps,
    pub end_ps: Ps,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OpKind {
    Program,
    Erase,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Program => "program",
            OpKind::Erase => "erase",
        }
    }
}

/// The operation last started, with the bytes it acts on as they were before: what a power
/// cut in its middle leaves half done.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct InFlight {
    op: FlashOp,
    #[serde(with = "serde_bytes")]
    before: Vec<u8>,
}

/// When the power goes (armed by the host; not part of a snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutPlan {
    /// At this virtual time (ps).
    At(u64),
    /// `after` ps into operation `n` (None: halfway through it).
    Op { n: u64, after: Option<u64> },
}

/// What a power cut did to the chip.
#[derive(Clone, Debug, PartialEq)]
pub struct CutReport {
    pub at_ps: Ps,
    /// Operations started before the cut.
    pub ops: u64,
    /// The operation the cut interrupted, how far it had got (0..1) and how many bits of
    /// its bytes it had changed of those it was to change.
    pub interrupted: Option<(FlashOp, f64, u64, u64)>,
}

pub struct Flash {
    store: Store,
    pub size: u32,
    /// JEDEC id bytes: manufacturer, memory type, capacity.
    pub jedec: [u8; 3],
    pub sr: [u8; 3],
    /// Busy until this virtual time (ps).
    pub busy_until: u64,
    /// Bytes changed since the last call of `take_dirty` (for cache coherence).
    dirty: Vec<(u32, u32)>,
    /// Program/erase operations started so far.
    pub ops: u64,
    last: Option<InFlight>,
    cut: Option<CutPlan>,
    /// The cut's time once known (at once for `CutPlan::At`, when operation n starts for
    /// `CutPlan::Op`): from then on the chip has no power and ignores every command.
    cut_at: Option<u64>,
    /// Every operation started, when the host asked for a log (not part of a snapshot).
    pub log: Option<Vec<FlashOp>>,
}

impl Flash {
    /// A RAM-backed chip of `size` bytes, erased.
    pub fn new_in_memory(size: u32) -> Flash {
        Flash::with_store(Store::Mem(vec![0xFF; size as usize]), size)
    }

    /// A RAM-backed chip holding `image` (its size is the image's).
    pub fn from_image(image: Vec<u8>) -> Flash {
        let size = image.len() as u32;
        Flash::with_store(Store::Mem(image), size)
    }

    /// A chip backed by `path` (created or resized to `size`, new bytes erased).
    pub fn open(path: &Path, size: u32) -> std::io::Result<Flash> {
        let f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let old = f.metadata()?.len();
        if old != size as u64 {
            f.set_len(size as u64)?;
        }
        // SAFETY: the file is ours for the run; nothing else maps it.
        let mut map = unsafe { MmapMut::map_mut(&f)? };
        if old < size as u64 {
            map[old as usize..].fill(0xFF);
        }
        Ok(Flash::with_store(Store::Map(map), size))
    }

    fn with_store(store: Store, size: u32) -> Flash {
        let jedec = match size {
            // GigaDevice GD25Q32 (4 MiB) / GD25Q64 (8 MiB), as on Pycom modules.
            0x40_0000 => [0xC8, 0x40, 0x16],
            0x80_0000 => [0xC8, 0x40, 0x17],
            0x100_0000 => [0xC8, 0x40, 0x18],
            _ => [0xC8, 0x40, 0x15],
        };
        Flash { store, size, jedec, sr: [0; 3], busy_until: 0, dirty: Vec::new(), ops: 0, last: None, cut: None, cut_at: None, log: None }
    }

    pub fn data(&self) -> &[u8] {
        match &self.store {
            Store::Mem(v) => v,
            Store::Map(m) => m,
        }
    }

    fn data_mut(&mut self) -> &mut [u8] {
        match &mut self.store {
            Store::Mem(v) => v,
            Store::Map(m) => m,
        }
    }

    /// Host-side write that bypasses NOR rules (used to build a fresh image).
    pub fn load(&mut self, offset: u32, bytes: &[u8]) {
        let o = offset as usize;
        self.data_mut()[o..o + bytes.len()].copy_from_slice(bytes);
    }

    pub fn flush(&self) -> std::io::Result<()> {
        if let Store::Map(m) = &self.store {
            m.flush()?;
        }
        Ok(())
    }

    #[inline]
    pub fn read_byte(&self, addr: u32) -> u8 {
        self.data()[(addr % self.size) as usize]
    }

    pub fn read(&self, addr: u32, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.read_byte(addr.wrapping_add(i as u32));
        }
    }

    pub fn is_busy(&self, now: Ps) -> bool {
        now < self.busy_until
    }

    /// Status register 1 as RDSR returns it at time `now`.
    pub fn status(&self, now: Ps) -> u8 {
        (self.sr[0] & !1) | self.is_busy(now) as u8
    }

    pub fn write_enable(&mut self, on: bool) {
        if on {
            self.sr[0] |= 2;
        } else {
            self.sr[0] &= !2;
        }
    }

    fn take_wel(&mut self, now: Ps) -> bool {
        if self.sr[0] & 2 == 0 || self.is_busy(now) || self.powered_off(now) {
            return false;
        }
        self.sr[0] &= !2;
        true
    }

    pub fn write_status(&mut self, now: Ps, idx: usize, bytes: &[u8]) {
        if !self.take_wel(now) {
            return;
        }
        for (i, b) in bytes.iter().enumerate() {
            if idx + i < 3 {
                // WIP and WEL are read-only.
                self.sr[idx + i] = if idx + i == 0 { b & !3 } else { *b };
            }
        }
        self.busy_until = now + T_WRITE_STATUS;
    }

    /// Page program: ANDs `bytes` in, wrapping inside the 256-byte page.
    pub fn program(&mut self, now: Ps, addr: u32, bytes: &[u8]) -> bool {
        if !self.take_wel(now) {
            return false;
        }
        let page = (addr % self.size) & !(PAGE - 1);
        let n = bytes.len().max(1) as u64;
        let t = (T_BYTE_PROGRAM_FIRST + (n - 1) * T_BYTE_PROGRAM_NEXT).min(T_PAGE_PROGRAM);
        self.begin_op(OpKind::Program, page, PAGE, now, t);
        for (i, b) in bytes.iter().enumerate() {
            let a = (page + ((addr + i as u32) & (PAGE - 1))) % self.size;
            self.data_mut()[a as usize] &= *b;
        }
        self.dirty.push((page, PAGE));
        self.busy_until = now + t;
        true
    }

    /// Erase of `len` bytes (4 KiB, 32 KiB or 64 KiB, aligned down) or the whole chip.
    pub fn erase(&mut self, now: Ps, addr: u32, len: u32, t: Ps) -> bool {
        if !self.take_wel(now) {
            return false;
        }
        let start = (addr % self.size) & !(len - 1);
        let end = (start + len).min(self.size);
        self.begin_op(OpKind::Erase, start, end - start, now, t);
        self.data_mut()[start as usize..end as usize].fill(0xFF);
        self.dirty.push((start, end - start));
        self.busy_until = now + t;
        true
    }

    pub fn chip_erase(&mut self, now: Ps) -> bool {
        let size = self.size;
        self.erase(now, 0, size, T_BLOCK64_ERASE * (size / 0x10000) as u64 / 4)
    }

    pub fn take_dirty(&mut self) -> Vec<(u32, u32)> {
        std::mem::take(&mut self.dirty)
    }

    /// Numbers an operation and keeps the bytes it is about to change.
    fn begin_op(&mut self, kind: OpKind, addr: u32, len: u32, now: Ps, t: Ps) {
        self.ops += 1;
        let op = FlashOp { n: self.ops, kind, addr, len, start_ps: now, end_ps: now + t };
        let before = self.data()[addr as usize..(addr + len) as usize].to_vec();
        self.last = Some(InFlight { op, before });
        if let Some(log) = &mut self.log {
            log.push(op);
        }
        if let Some(CutPlan::Op { n, after }) = self.cut {
            if n == op.n && self.cut_at.is_none() {
                self.cut_at = Some(now + after.unwrap_or(t / 2));
            }
        }
    }

    /// Arms a power cut (replacing any armed before).
    pub fn arm_cut(&mut self, plan: CutPlan) {
        self.cut = Some(plan);
        self.cut_at = match plan {
            CutPlan::At(t) => Some(t),
            CutPlan::Op { n, after } => match &self.last {
                // Operation n already started (a snapshot taken during it).
                Some(l) if l.op.n == n => Some(l.op.start_ps + after.unwrap_or((l.op.end_ps - l.op.start_ps) / 2)),
                _ if self.ops >= n => Some(0),
                _ => None,
            },
        };
    }

    /// The time of the armed cut, once known.
    pub fn cut_time(&self) -> Option<u64> {
        self.cut_at
    }

    fn powered_off(&self, now: Ps) -> bool {
        self.cut_at.is_some_and(|t| now >= t)
    }

    /// The power goes at the armed cut's time (or `now` if none is armed): operations
    /// finished by then stay; the one in flight leaves its bytes part way between before and
    /// after, as NOR cells do: each bit it was to change has changed with a probability of
    /// how far the operation had got, which bits chosen by `seed` (and the operation's
    /// number), so the same seed gives the same bytes. Volatile status bits clear.
    pub fn power_cut(&mut self, now: Ps, seed: u64) -> CutReport {
        use rand_pcg::rand_core::{Rng, SeedableRng};
        let at = self.cut_at.unwrap_or(now);
        let mut report = CutReport { at_ps: at, ops: self.ops, interrupted: None };
        if let Some(l) = self.last.take() {
            let op = l.op;
            if op.start_ps <= at && at < op.end_ps {
                let frac = (at - op.start_ps) as f64 / (op.end_ps - op.start_ps) as f64;
                let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ op.n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let threshold = (frac * (1u64 << 32) as f64) as u64;
                let (mut changed, mut total) = (0u64, 0u64);
                let base = op.addr as usize;
                for (i, &b) in l.before.iter().enumerate() {
                    let after = self.data()[base + i];
                    let diff = b ^ after;
                    if diff == 0 {
                        continue;
                    }
                    let mut mask = 0u8;
                    for bit in 0..8 {
                        if diff & (1 << bit) != 0 && (rng.next_u32() as u64) < threshold {
                            mask |= 1 << bit;
                        }
                    }
                    total += diff.count_ones() as u64;
                    changed += mask.count_ones() as u64;
                    self.data_mut()[base + i] = b ^ (diff & mask);
                }
                self.dirty.push((op.addr, op.len));
                report.interrupted = Some((op, frac, changed, total));
            }
        }
        self.cut = None;
        self.cut_at = None;
        self.busy_until = 0;
        self.sr[0] &= !3;
        report
    }
}

impl Flash {
    /// The same chip, its contents now backed by `path` (created or overwritten): a chip
    /// restored from a snapshot that is to persist in a flash state.
    pub fn into_file(self, path: &Path) -> std::io::Result<Flash> {
        let mut f = Flash::open(path, self.size)?;
        f.data_mut().copy_from_slice(self.data());
        Ok(Flash { store: f.store, ..self })
    }
}

/// What a snapshot keeps of the chip: its registers, busy time and every byte (the chip is
/// restored in memory; `into_file` puts it back in a state file).
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved<'a> {
    size: u32,
    jedec: [u8; 3],
    sr: [u8; 3],
    busy_until: u64,
    dirty: Vec<(u32, u32)>,
    ops: u64,
    last: Option<InFlight>,
    #[serde(with = "crate::snapshot::sparse")]
    data: std::borrow::Cow<'a, [u8]>,
}

impl serde::Serialize for Flash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Saved {
            size: self.size,
            jedec: self.jedec,
            sr: self.sr,
            busy_until: self.busy_until,
            dirty: self.dirty.clone(),
            ops: self.ops,
            last: self.last.clone(),
            data: std::borrow::Cow::Borrowed(self.data()),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Flash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Saved::deserialize(d)?;
        if v.data.len() != v.size as usize {
            return Err(serde::de::Error::custom("flash contents do not match the chip size"));
        }
        let Saved { size, jedec, sr, busy_until, dirty, ops, last, data } = v;
        Ok(Flash { store: Store::Mem(data.into_owned()), size, jedec, sr, busy_until, dirty, ops, last, cut: None, cut_at: None, log: None })
    }
}

/// Address bits the chip takes from the address phase (the rest are mode bits).
const ADDR_BITS: u32 = 24;

/// Command opcodes (see the table at the top).
pub mod op {
    pub const WRSR: u8 = 0x01;
    pub const PP: u8 = 0x02;
    pub const READ: u8 = 0x03;
    pub const WRDI: u8 = 0x04;
    pub const RDSR: u8 = 0x05;
    pub const WREN: u8 = 0x06;
    pub const FAST_READ: u8 = 0x0B;
    pub const WRSR3: u8 = 0x11;
    pub const RDSR3: u8 = 0x15;
    pub const SE: u8 = 0x20;
    pub const WRSR2: u8 = 0x31;
    pub const RDSR2: u8 = 0x35;
    pub const DOR: u8 = 0x3B;
    pub const BE32: u8 = 0x52;
    pub const CE: u8 = 0x60;
    pub const CE2: u8 = 0xC7;
    pub const QOR: u8 = 0x6B;
    pub const RDID: u8 = 0x9F;
    pub const DIOR: u8 = 0xBB;
    pub const BE64: u8 = 0xD8;
    pub const QIOR: u8 = 0xEB;
}

impl SpiDevice for Flash {
    /// One command, executed at once; busy time shows in the status register.
    fn transfer(&mut self, f: &mut SpiFrame<'_>, now: Ps) {
        let Some((cmd, _)) = f.command else { return };
        let a = f.address_bits().map_or(0, |(phase, bits)| if bits > ADDR_BITS { phase >> (bits - ADDR_BITS) } else { phase });
        let (mosi, miso) = (f.mosi, &mut *f.miso);
        match cmd as u8 {
            op::READ | op::FAST_READ | op::DOR | op::DIOR | op::QOR | op::QIOR => self.read(a, miso),
            op::RDSR => miso.fill(self.status(now)),
            op::RDSR2 => miso.fill(self.sr[1]),
            op::RDSR3 => miso.fill(self.sr[2]),
            op::RDID => {
                for (i, b) in miso.iter_mut().enumerate() {
                    *b = *self.jedec.get(i).unwrap_or(&0xFF);
                }
            }
            op::WREN => self.write_enable(true),
            op::WRDI => self.write_enable(false),
            op::WRSR => self.write_status(now, 0, mosi),
            op::WRSR2 => self.write_status(now, 1, mosi),
            op::WRSR3 => self.write_status(now, 2, mosi),
            op::PP => {
                self.program(now, a, mosi);
            }
            op::SE => {
                self.erase(now, a, SECTOR, T_SECTOR_ERASE);
            }
            op::BE32 => {
                self.erase(now, a, 0x8000, T_BLOCK32_ERASE);
            }
            op::BE64 => {
                self.erase(now, a, 0x10000, T_BLOCK64_ERASE);
            }
            op::CE | op::CE2 => {
                self.chip_erase(now);
            }
            // Continuous-read reset, release power-down, high-performance mode: no state.
            0xFF | 0xAB | 0xA3 | 0xB9 | 0x66 | 0x99 => {}
            cmd => tracing::debug!(cmd, "SPI flash: unknown command ignored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nor_semantics() {
        let mut f = Flash::new_in_memory(0x10000);
        f.write_enable(true);
        assert!(f.program(0, 0x10, &[0x0F]));
        assert_eq!(f.read_byte(0x10), 0x0F);
        // Without WEL nothing happens.
        assert!(!f.program(1_000_000_000_000, 0x10, &[0x00]));
        f.write_enable(true);
        // Busy: ignored.
        assert!(!f.program(1, 0x11, &[0x00]));
        f.write_enable(true);
        assert!(f.program(1_000_000_000, 0x10, &[0xF3]));
        assert_eq!(f.read_byte(0x10), 0x03, "program only clears bits");
        f.write_enable(true);
        assert!(f.erase(2_000_000_000, 0x10, SECTOR, T_SECTOR_ERASE));
        assert_eq!(f.read_byte(0x10), 0xFF);
        assert_eq!(f.status(2_000_000_001) & 1, 1, "busy while erasing");
    }

    #[test]
    fn page_program_wraps() {
        let mut f = Flash::new_in_memory(0x10000);
        f.write_enable(true);
        f.program(0, 0x1FE, &[0, 0, 0]);
        assert_eq!(f.read_byte(0x1FE), 0);
        assert_eq!(f.read_byte(0x1FF), 0);
        assert_eq!(f.read_byte(0x100), 0, "third byte wrapped to page start");
        assert_eq!(f.read_byte(0x200), 0xFF);
    }

    /// A chip that erased sector 0 and is half way through programming zeros into page 0.
    fn cut_mid_program(seed: u64) -> (Flash, CutReport) {
        let mut f = Flash::new_in_memory(0x10000);
        f.write_enable(true);
        assert!(f.erase(0, 0, SECTOR, T_SECTOR_ERASE));
        f.write_enable(true);
        assert!(f.program(T_SECTOR_ERASE, 0, &[0u8; 256]));
        assert_eq!(f.ops, 2);
        f.arm_cut(CutPlan::At(T_SECTOR_ERASE + T_PAGE_PROGRAM / 2));
        // From the cut on the chip has no power: nothing it is told happens.
        f.write_enable(true);
        assert!(!f.program(T_SECTOR_ERASE + T_PAGE_PROGRAM, 0x100, &[0]));
        let r = f.power_cut(T_SECTOR_ERASE + T_PAGE_PROGRAM, seed);
        (f, r)
    }

    #[test]
    fn a_cut_leaves_an_interrupted_program_part_done_by_its_seed() {
        let (a, r) = cut_mid_program(1);
        let (op, frac, changed, total) = r.interrupted.expect("op 2 was in flight");
        assert_eq!((op.n, op.kind, op.addr, op.len), (2, OpKind::Program, 0, PAGE));
        assert!((frac - 0.524).abs() < 0.01 && total == 2048 && changed > 850 && changed < 1300, "{frac} {changed}/{total}");
        let zeros: u32 = a.data()[..256].iter().map(|b| b.count_zeros()).sum();
        assert_eq!(zeros as u64, changed, "only bits the program was to clear are clear");
        assert_eq!(a.read_byte(0x100), 0xFF, "the command after the cut did nothing");
        let (b, _) = cut_mid_program(1);
        let (c, _) = cut_mid_program(2);
        assert_eq!(a.data(), b.data(), "same seed, same bytes");
        assert_ne!(a.data(), c.data(), "another seed, other bits");
    }

    #[test]
    fn a_cut_by_operation_number_and_after_it_finished() {
        let mut f = Flash::new_in_memory(0x10000);
        f.load(0, &[0u8; 0x1000]);
        f.arm_cut(CutPlan::Op { n: 1, after: Some(T_SECTOR_ERASE / 4) });
        assert_eq!(f.cut_time(), None, "not known before op 1 starts");
        f.write_enable(true);
        assert!(f.erase(1000, 0, SECTOR, T_SECTOR_ERASE));
        assert_eq!(f.cut_time(), Some(1000 + T_SECTOR_ERASE / 4));
        let r = f.power_cut(0, 9);
        let (_, frac, changed, total) = r.interrupted.unwrap();
        assert!((frac - 0.25).abs() < 0.01 && changed > 0 && changed < total / 2, "{frac} {changed}/{total}");
        assert!(f.data()[..0x1000].iter().any(|&b| b != 0xFF), "an interrupted erase leaves bits at 0");
        // A cut after the operation ended leaves it whole.
        let mut g = Flash::new_in_memory(0x10000);
        g.write_enable(true);
        g.program(0, 0, &[0]);
        g.arm_cut(CutPlan::At(T_PAGE_PROGRAM * 2));
        assert!(g.power_cut(0, 1).interrupted.is_none());
        assert_eq!(g.read_byte(0), 0);
    }
}
