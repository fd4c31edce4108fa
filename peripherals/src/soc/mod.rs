//! The ESP32 SoC as one bus: internal memories with their aliases, the flash cache and
//! its MMU, and every register block, dispatched by address. Both cores run on it (see
//! `machine/mod.rs`); `cur_core` says whose access is being served (caches and interrupt
//! routing are per core).
//!
//! Peripheral blocks (4 KiB slots, base 0x3FF0_0000 + n·0x1000; the AHB alias
//! 0x6000_0000 + x is the same as 0x3FF4_0000 + x) are listed once, in the block table
//! (`table.rs`; [`BLOCKS`] with its generated table in the documentation): a line per
//! block with its slots, name and interrupt sources, from which MMIO dispatch, the digital
//! reset, the interrupt scan, the next-event query and `--strict`'s names are generated.
//! Each block is a [`Device`] in its own module.
//!
//! External RAM (0x3F80_0000..0x3FBF_FFFF, TRM §3.3.x, the ROM's `cache_sram_mmu_set`):
//!
//! | register / table | bits | use here |
//! |---|---|---|
//! | DPORT PRO/APP_CACHE_CTRL (0x040 / 0x058) | 3 CACHE_ENABLE; DRAM_HL 16 (PRO) / 14 (APP); 11 DRAM_SPLIT | which cache serves an access |
//! | DPORT PRO/APP_CACHE_CTRL1 (0x044 / 0x05C) | 3 MASK_DRAM1; [8:6] CMMU_SRAM_PAGE_MODE (page 32 KiB >> mode) | |
//! | MMU entries 1152..1279 of each cache's table (0x3FF1_1200 / 0x3FF1_3200) | [7:0] PSRAM page, 8 invalid | entry = 1152 + (offset / page) mod 128 |
//! | SPI0 PIN bit 1, CACHE_SCTRL, SRAM_DRD_CMD / SRAM_DWR_CMD | | the cache reaches the chip only if CS1 is on and the chip decodes the commands as a read and a write |
//! | GPIO FUNC17_OUT_SEL_CFG (PSRAM CLK pad on D0WD) | [8:0] | 0 (SPICLK): direct clock; 224/225 (loop-back signals): IDF's DCLK routing, the chip misses the first two clocks; anything else: no PSRAM clock |
//!
//! Without the cache path the chip is not reached: reads return ones and writes are lost.
//! What a cache miss costs in time (flash and PSRAM alike) is `cache_timing.rs`.
//! Each core's cache serves its own accesses unless DRAM_HL (low 2 MiB PRO, high 2 MiB APP)
//! or DRAM_SPLIT (even 32-byte lines PRO, odd APP) share the window between the two.

pub mod cache_timing;
pub mod device;
pub mod memmap;
pub mod reset;
pub mod source;
pub mod table;

use crate::cache_timing::{CacheTiming, Target};
use crate::dport::{self, Dport};
use crate::efuse::{Efuse, EfuseConfig};
use crate::flash::Flash;
use crate::gpio::{self, Gpio};
use crate::memmap::{Page, PageKind};
use crate::device::{Access, Device, Effects};
use crate::misc::{self, ApbCtrl, I2s, Rng, Sha};
use crate::source::Source;
use crate::psram::Psram;
use crate::regblock::RegBlock;
use crate::rtc_cntl::RtcCntl;
use crate::spi::{self, Spi};
use crate::spi_bus::{NoDevice, SharedBus};
use crate::spi_gp::SpiGp;
use crate::sx127x::{Attached, RadioBus};
use crate::time::{cycles_to_ps, ps_to_cycles, Hz, Ps, Round};
use crate::timg::Timg;
use crate::uart::Uart;
pub use table::{block, sources_of, BlockInfo, BLOCKS};
pub use crate::reset::SysRequest;
use emulator::{Bus, CodeCache, MemFault};
use std::collections::{BTreeMap, BTreeSet};

/// The main crystal, nominally (a board's own is `Timing::xtal_hz`).
pub const XTAL_HZ: u64 = crate::timing::XTAL_HZ;
/// Cycles a core keeps running after storing to the word the other core polls (the
/// machine then interleaves the cores finely for a while; see `Machine::run_until`).
const WATCH_GRACE: u64 = 1;

/// An access to a register nobody models, or a write that sets bits its register's
/// declaration tags unmodelled, waiting to be reported with the PC.
#[derive(Clone, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Unmodelled {
    pub addr: u32,
    pub write: bool,
    pub value: u32,
    #[serde(with = "crate::snapshot::static_str")]
    pub block: crate::snapshot::Name,
    pub core: usize,
    /// For unmodelled bits of a declared register: which.
    pub bits: Option<BitsReport>,
}

/// Unmodelled bits a write set: the register, the field (None: bits no field names) and
/// the bits that differ from the reset value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BitsReport {
    #[serde(with = "crate::snapshot::static_str")]
    pub register: crate::snapshot::Name,
    pub field: Option<String>,
    pub mask: u32,
}

/// The bus's view of a running core's slice (`Soc::save_slice`).
#[derive(Clone, Copy, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SliceState {
    cur_core: usize,
    start_ps: Ps,
    start_cycles: u64,
    cycles_now: u64,
    attention: bool,
    end_slice: bool,
    watch: u32,
    watch_deadline: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Soc {
    /// The fixed memory map: rebuilt, not kept in a snapshot.
    #[serde(skip, default = "memmap::build_pages")]
    pages: Vec<Page>,
    #[serde(with = "crate::snapshot::sparse")]
    pub mem: Vec<u8>,
    /// Decoded instructions (the interpreter's cache, not the chip's flash cache).
    pub code_cache: CodeCache,
    pub flash: Flash,
    pub dport: Dport,
    pub uart: [Uart; 3],
    pub gpio: Gpio,
    pub rtc: RtcCntl,
    pub timg: [Timg; 2],
    pub efuse: Efuse,
    pub apb: ApbCtrl,
    pub spi0: Spi,
    pub spi1: Spi,
    /// External PSRAM on CS1 (second-generation boards), None on first-generation ones.
    pub psram: Option<Psram>,
    /// Whether the SPI0 cache path reaches the PSRAM (recomputed after SPI/GPIO writes).
    psram_path: Option<bool>,
    pub sha: Sha,
    pub rng: Rng,
    pub ana_i2c: crate::radio::AnaI2c,
    /// The Wi-Fi / BT radio's digital register blocks.
    pub wifi: crate::radio::Radio,
    pub i2s0: I2s,
    pub i2s1: I2s,
    pub frc: crate::frc::Frc,
    pub rmt: crate::rmt::Rmt,
    pub spi2: SpiGp,
    pub spi3: SpiGp,
    /// The LoRa chip (SX127x: LoPy4, FiPy) on its SPI controller and pads.
    pub lora: Option<Attached>,
    /// The LTE modem (GPy, FiPy) on UART2 and its pads.
    #[serde(default)]
    pub lte: Option<crate::lte_modem::Attached>,
    pub sdio_host: RegBlock,
    pub hinf: RegBlock,
    pub slc: misc::Slc,
    /// Whose access is being served.
    pub cur_core: usize,
    /// Hit/miss and stall bookkeeping of the two external-memory caches.
    pub ctiming: CacheTiming,
    /// This board's crystal, RC slow clock and line-fill overheads (`timing.rs`).
    pub timing: crate::timing::Timing,
    /// Virtual time at the start of the running slice, and the running core's cycle
    /// counter then and now.
    pub slice_start_ps: Ps,
    slice_start_cycles: u64,
    cycles_now: u64,
    pub cpu_hz: Hz,
    pub apb_hz: Hz,
    attention: bool,
    end_slice: bool,
    /// The word the *other* core spins on (u32::MAX: none). A store to it ends the running
    /// core's turn a short grace later, so the spinner sees the value before the writer can
    /// change it again — as on silicon, where both cores run at once.
    pub watch: u32,
    watch_deadline: u64,
    /// Set when a store hit `watch` (taken by the machine).
    pub watch_hit: bool,
    pub requests: Vec<SysRequest>,
    /// Unmodelled registers already reported (by address).
    reported: BTreeSet<u32>,
    pub pending_report: Option<Unmodelled>,
    /// Values written to unmodelled registers after they were reported.
    unknown_store: BTreeMap<u32, u32>,
    /// Unmodelled fields already reported (block slot address << 32 | the field's key).
    reported_bits: BTreeSet<u64>,
    /// Sources whose interrupt line is high (bit n = source n).
    sources: u128,
}

impl Soc {
    pub fn new(flash: Flash, efuse: &EfuseConfig, seed: u64) -> Soc {
        Soc {
            pages: memmap::build_pages(),
            mem: vec![0; memmap::MEM_TOTAL as usize],
            code_cache: CodeCache::new(),
            flash,
            dport: Dport::new(),
            uart: [Uart::new(0), Uart::new(1), Uart::new(2)],
            gpio: Gpio::new(),
            rtc: RtcCntl::new(),
            timg: [Timg::new("TIMG0"), Timg::new("TIMG1")],
            efuse: Efuse::new(efuse),
            apb: ApbCtrl::new(),
            spi0: Spi::new(0, "SPI0"),
            spi1: Spi::new(1, "SPI1"),
            psram: None,
            psram_path: None,
            sha: Sha::new(),
            rng: Rng::new(seed),
            ana_i2c: crate::radio::AnaI2c::new(),
            wifi: crate::radio::Radio::new(),
            i2s0: I2s::new("I2S0"),
            i2s1: I2s::new("I2S1"),
            frc: crate::frc::Frc::new(),
            rmt: crate::rmt::Rmt::new(),
            spi2: SpiGp::new(2),
            spi3: SpiGp::new(3),
            lora: None,
            lte: None,
            sdio_host: RegBlock::new("SDIO_HOST", &misc::storage::REGS_512),
            hinf: RegBlock::new("HINF", &misc::storage::REGS_512),
            slc: misc::Slc::new(),
            cur_core: 0,
            ctiming: CacheTiming::new(),
            timing: crate::timing::Timing::nominal(),
            slice_start_ps: 0,
            slice_start_cycles: 0,
            cycles_now: 0,
            cpu_hz: XTAL_HZ,
            apb_hz: XTAL_HZ,
            attention: false,
            end_slice: false,
            watch: u32::MAX,
            watch_deadline: u64::MAX,
            watch_hit: false,
            requests: Vec::new(),
            reported: BTreeSet::new(),
            pending_report: None,
            unknown_store: BTreeMap::new(),
            reported_bits: BTreeSet::new(),
            sources: 0,
        }
    }

    /// Gives the chip a board's timing (before power-on): the clocks derived from the
    /// crystal, the RC slow clock the RTC counts and TIMG calibrates, the line-fill costs.
    pub fn set_timing(&mut self, t: crate::timing::Timing) {
        self.timing = t;
        self.rtc.set_slow_hz(t.slow_hz);
        for g in &mut self.timg {
            g.set_timing(&t);
        }
        self.cpu_hz = t.xtal_hz;
        self.apb_hz = t.xtal_hz;
    }

    /// Host-side copy into memory (ROM image, test setup); ignores access rules.
    pub fn load(&mut self, addr: u32, bytes: &[u8]) -> Result<(), u32> {
        for (i, b) in bytes.iter().enumerate() {
            let a = addr + i as u32;
            let pg = self.pages[(a >> 12) as usize];
            let off = match pg.kind {
                PageKind::Mem => pg.base + (a & 0xFFF),
                PageKind::Sram1Rev => memmap::SRAM1_OFF + memmap::sram1_rev(a - memmap::SRAM1_IBASE),
                _ => return Err(a),
            };
            self.mem[off as usize] = *b;
        }
        self.code_cache.invalidate(addr, bytes.len() as u32);
        Ok(())
    }

    /// Host-side read of memory (tests, traces).
    pub fn peek(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        (0..len as u32)
            .map(|i| {
                let a = addr + i;
                let pg = self.pages[(a >> 12) as usize];
                match pg.kind {
                    PageKind::Mem => Some(self.mem[(pg.base + (a & 0xFFF)) as usize]),
                    PageKind::Sram1Rev => {
                        Some(self.mem[(memmap::SRAM1_OFF + memmap::sram1_rev(a - memmap::SRAM1_IBASE)) as usize])
                    }
                    _ => None,
                }
            })
            .collect()
    }

    // ------------------------------------------------------------------ time

    /// Starts serving `core`'s run slice that begins at virtual time `now_ps`.
    pub fn begin_slice(&mut self, core: usize, now_ps: Ps, cycles: u64) {
        self.cur_core = core;
        self.slice_start_ps = now_ps;
        self.slice_start_cycles = cycles;
        self.cycles_now = cycles;
        self.end_slice = false;
        self.watch_deadline = u64::MAX;
    }

    /// The running core's slice as the bus sees it, to set aside while the host looks at a
    /// machine paused in the middle of a turn (it may serve accesses of its own).
    pub fn save_slice(&self) -> SliceState {
        SliceState {
            cur_core: self.cur_core,
            start_ps: self.slice_start_ps,
            start_cycles: self.slice_start_cycles,
            cycles_now: self.cycles_now,
            attention: self.attention,
            end_slice: self.end_slice,
            watch: self.watch,
            watch_deadline: self.watch_deadline,
        }
    }

    /// Puts back a slice saved with `save_slice`, so the core continues as if never paused.
    pub fn restore_slice(&mut self, s: SliceState) {
        self.cur_core = s.cur_core;
        self.slice_start_ps = s.start_ps;
        self.slice_start_cycles = s.start_cycles;
        self.cycles_now = s.cycles_now;
        self.attention = s.attention;
        self.end_slice = s.end_slice;
        self.watch = s.watch;
        self.watch_deadline = s.watch_deadline;
    }

    /// Virtual time of the access being served (ps).
    #[inline]
    pub fn now(&self) -> Ps {
        let d = self.cycles_now.saturating_sub(self.slice_start_cycles) as u128;
        self.slice_start_ps + cycles_to_ps(d, self.cpu_hz, Round::Down) as u64
    }

    /// Picoseconds of `cycles` CPU cycles at the current frequency.
    pub fn cycles_to_ps(&self, cycles: u64) -> Ps {
        cycles_to_ps(cycles as u128, self.cpu_hz, Round::Down) as u64
    }

    pub fn ps_to_cycles(&self, ps: Ps) -> u64 {
        ps_to_cycles(ps as u128, self.cpu_hz, Round::Down) as u64
    }

    /// Cycles at the current frequency that take at least `ps`.
    pub fn ps_to_cycles_ceil(&self, ps: Ps) -> u64 {
        ps_to_cycles(ps as u128, self.cpu_hz, Round::Up) as u64
    }

    /// Recomputes CPU and APB frequencies from the clock registers. True if they changed.
    pub fn update_clocks(&mut self) -> bool {
        let (cpu, apb) = match self.rtc.soc_clk_sel() {
            0 => {
                let div = self.apb.xtal_div();
                (self.timing.xtal_hz / div, self.timing.xtal_hz / div)
            }
            1 => {
                let f = match self.dport.regs.field(dport::CPU_PER_CONF, dport::CPU_PER_CONF::CPUPERIOD_SEL) {
                    0 => 80_000_000,
                    1 => 160_000_000,
                    _ => 240_000_000,
                };
                (self.timing.pll(f), self.timing.pll(80_000_000))
            }
            // The 8 MHz RC oscillator does not follow the crystal.
            2 => (8_000_000, 8_000_000),
            _ => (self.timing.pll(80_000_000), self.timing.pll(80_000_000)),
        };
        let changed = cpu != self.cpu_hz || apb != self.apb_hz;
        self.cpu_hz = cpu;
        self.apb_hz = apb;
        changed
    }

    // ------------------------------------------------------------------ interrupts

    /// Recomputes the interrupt source lines from the devices (everything due fired first).
    pub fn update_sources(&mut self) {
        let now = self.now();
        self.sync_devices(now);
        self.gpio.sample_inputs();
        self.sources = self.scan_lines(now);
    }

    pub fn sources(&self) -> u128 {
        self.sources
    }

    /// Brings the RMT to `now`: its output signal changes reach the GPIO matrix.
    fn sync_rmt(&mut self, now: Ps) -> Option<Ps> {
        let next = self.rmt.sync(now);
        self.rmt_to_pads();
        next
    }

    fn rmt_to_pads(&mut self) {
        for (t, ch, level) in std::mem::take(&mut self.rmt.out) {
            self.gpio.set_signal(crate::rmt::SIG_OUT0 + ch, level, t);
        }
    }

    /// Fires every block's events due by `now` (in table order), then the off-chip parts';
    /// resets they ask for become requests. Returns the earliest next event.
    fn sync_devices(&mut self, now: Ps) -> Option<Ps> {
        // The modem first: its answers join UART2's input at the times it sent them.
        let lte = self.sync_lte(now);
        let mut next = self.sync_blocks(now);
        self.rmt_to_pads();
        if !self.requests.is_empty() {
            self.end_slice = true;
        }
        for t in [self.sync_lora(now), lte].into_iter().flatten() {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next
    }

    /// The next virtual time any block or part has an event (after firing those due by
    /// `now`): the machine ends its run slice there. Events of blocks that report only
    /// future ones (UARTs, FRC) are later than `now`; others may be due now.
    pub fn next_event(&mut self, now: Ps) -> Option<Ps> {
        let next = self.sync_devices(now);
        match (next, self.lazy_events(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Lands the bytes due on every UART by `now` and collects what they sent (end of a turn).
    pub fn sync_uarts(&mut self, now: Ps) {
        self.sync_lte(now);
        let apb = self.apb_hz;
        for u in &mut self.uart {
            u.sync(now, apb);
        }
    }

    /// An interrupt edge still on its way from a UART.
    fn irq_settling(&self, now: Ps) -> bool {
        self.uart.iter().any(|u| u.irq_settling(now))
    }

    /// Brings the LPWAN radio to `now` (its DIO0 level reaches the pad and the pin
    /// interrupts); returns its next event.
    fn sync_lora(&mut self, now: Ps) -> Option<Ps> {
        let r = self.lora.as_mut()?;
        r.sync(&mut self.gpio, now);
        self.gpio.sample_inputs();
        r.chip.next_event()
    }

    /// Brings the LTE modem to `now`: its answers due by then start arriving at UART2 (before
    /// UART2 itself moves on, so they land at the time the modem sent them); returns its
    /// next event.
    fn sync_lte(&mut self, now: Ps) -> Option<Ps> {
        let l = self.lte.as_mut()?;
        l.sync(now, &mut self.gpio, &mut self.uart[2], self.apb_hz)
    }

    /// The radio follows its NSS and reset pads after the firmware changed GPIO state.
    fn lora_pins(&mut self) {
        if let Some(r) = self.lora.as_mut() {
            r.pins(&self.gpio);
        }
    }

    /// A digital (core) reset at `now`: every register block of the digital domain back to
    /// its reset value (each block's `Device::reset_digital`, from the table), the flash MMU
    /// and caches reset, decoded code forgotten. Kept: memory, the flash chip and the PSRAM
    /// chip (outside the SoC), RTC_CNTL (the RTC domain: the machine resets what it must),
    /// eFuses, the outside world's pin drives.
    pub fn reset_digital(&mut self, now: Ps) {
        self.reset_blocks(now);
        self.code_cache.clear();
        self.ctiming.flush(0);
        self.ctiming.flush(1);
        self.psram_path = None;
        if let Some(r) = self.lora.as_mut() {
            r.soc_reset();
        }
        self.requests.clear();
        self.pending_report = None;
        self.sources = 0;
        self.cpu_hz = self.timing.xtal_hz;
        self.apb_hz = self.timing.xtal_hz;
    }

    fn lines_for(&self, core: usize) -> u32 {
        // CPU interrupts 6, 7, 11, 15, 16 and 29 are internal (timers, software, profiling):
        // the matrix cannot reach them, and every source not routed yet sits on 16.
        const INTERNAL: u32 = 1 << 6 | 1 << 7 | 1 << 11 | 1 << 15 | 1 << 16 | 1 << 29;
        let mut lines = 0u32;
        let mut s = self.sources;
        // The GPIO interrupt is one line per core (PCPU_INT / ACPU_INT and their NMIs).
        for (src, nmi) in [(Source::Gpio, false), (Source::GpioNmi, true)] {
            if s & src.bit() != 0 && !self.gpio.int_line(core, nmi) {
                s &= !src.bit();
            }
        }
        while s != 0 {
            let src = s.trailing_zeros();
            s &= s - 1;
            let n = self.dport.map(core, src);
            lines |= 1 << n;
        }
        lines & !INTERNAL
    }

    // ------------------------------------------------------------------ flash cache

    #[inline]
    fn flash_addr(&self, addr: u32) -> Result<u32, MemFault> {
        let core = self.cur_core;
        let idx = if addr < memmap::DROM_END {
            (addr - memmap::DROM_BASE) >> 16
        } else {
            64 + ((addr - 0x4000_0000) >> 16)
        } as usize;
        let e = self.dport.mmu[core][idx];
        if dport::MMU_INVALID.on(e) || !self.dport.cache_enabled(core) {
            return Err(MemFault::AccessError);
        }
        Ok((dport::MMU_PAGE.get(e) << 16) | (addr & 0xFFFF))
    }

    /// CPU cycles one line fill from `target` stalls a core, from SPI0's current setup.
    pub fn fill_cycles(&self, target: Target) -> u64 {
        let r = &self.spi0.regs;
        let clocks = match target {
            Target::Flash => cache_timing::flash_fill_clocks(r.get(spi::CTRL), r.get(spi::USER), r.get(spi::USER1), self.timing.flash_fill_overhead),
            Target::Psram => cache_timing::psram_fill_clocks(r.get(spi::CACHE_SCTRL), r.get(spi::SRAM_DRD_CMD), self.timing.psram_fill_overhead),
        };
        cache_timing::stall_cycles(clocks, cache_timing::spi_hz(r.get(spi::CLOCK), self.apb_hz), self.cpu_hz)
    }

    /// A data access to a cached window by the running core: a miss costs it a line fill.
    fn data_line(&mut self, addr: u32, target: Target) {
        let core = self.cur_core;
        if self.ctiming.enabled() && !self.ctiming.access(core, addr) {
            let c = self.fill_cycles(target);
            self.ctiming.owe(core, c);
        }
    }

    // ------------------------------------------------------------------ external RAM

    /// Clocks at the start of each PSRAM transaction the chip never sees, from how its CLK
    /// pad (GPIO17 on the D0WD package) is routed: None when no SPI clock reaches it.
    fn psram_clock_lag(&self) -> Option<usize> {
        const PSRAM_CLK_PAD: u32 = 17;
        let cfg = self.gpio.regs.get(gpio::FUNC_OUT_SEL_CFG::at(PSRAM_CLK_PAD));
        match gpio::FUNC_OUT_SEL_CFG::OUT_SEL.get(cfg) {
            // SPICLK_OUT_IDX straight to the pad.
            0 => Some(0),
            // SPICLK looped back through signals 224/225 (IDF's DCLK mode): the extra trip
            // through the matrix delays the chip's clock by two SPI clocks.
            224 | 225 => Some(2),
            _ => None,
        }
    }

    /// Whether SPI0's cache accesses reach the PSRAM: chip present and clocked, CS1 enabled
    /// on SPI0, and the configured cache read/write commands decode as a read and a write
    /// in the chip's current mode.
    fn psram_cache_path(&mut self) -> bool {
        if let Some(ok) = self.psram_path {
            return ok;
        }
        let ok = match (&self.psram, self.psram_clock_lag()) {
            (Some(chip), Some(lag)) if !self.spi0.regs.on(spi::PIN, spi::PIN::CS1_DIS) => {
                use spi::{CACHE_SCTRL, SRAM_DRD_CMD, SRAM_DWR_CMD};
                let sctrl = self.spi0.regs.get(CACHE_SCTRL);
                let lines = cache_timing::sram_lines(sctrl);
                // Without the user-command bits the cache sends plain READ / WRITE. (The
                // read and write command registers lay their fields out alike.)
                let cmd = |en: bool, reg: u32, default: u32| {
                    let (bits, val) = if en { (SRAM_DRD_CMD::BITLEN.get(reg) + 1, SRAM_DRD_CMD::VALUE.get(reg)) } else { (8, default) };
                    let mut c = Vec::new();
                    spi::command_clocks(&mut c, val, bits, lines);
                    chip.decode_command(c.get(lag..).unwrap_or(&[]))
                };
                let rd = cmd(CACHE_SCTRL::USR_RCMD.on(sctrl), self.spi0.regs.get(SRAM_DRD_CMD), crate::psram::READ as u32);
                let wr = cmd(CACHE_SCTRL::USR_WCMD.on(sctrl), self.spi0.regs.get(SRAM_DWR_CMD), crate::psram::WRITE as u32);
                rd.is_some_and(|c| chip.is_read(c)) && wr.is_some_and(|c| chip.is_write(c))
            }
            _ => false,
        };
        if !ok {
            tracing::debug!("PSRAM window accessed while the SPI0 cache path does not reach the chip");
        }
        self.psram_path = Some(ok);
        ok
    }

    /// Offset into the PSRAM of an access to the external-RAM window, through the serving
    /// cache's MMU; None when the cache path does not reach the chip (reads float high).
    #[inline]
    fn psram_addr(&mut self, addr: u32, size: u32) -> Result<Option<usize>, MemFault> {
        let off = addr - memmap::PSRAM_BASE;
        let core = self.cur_core;
        let (ctrl, hl) = if core == 0 {
            (self.dport.regs.get(dport::PRO_CACHE_CTRL), dport::PRO_CACHE_CTRL::DRAM_HL)
        } else {
            (self.dport.regs.get(dport::APP_CACHE_CTRL), dport::APP_CACHE_CTRL::DRAM_HL)
        };
        let serving = if hl.on(ctrl) {
            (off >> 21) as usize & 1
        } else if dport::PRO_CACHE_CTRL::DRAM_SPLIT.on(ctrl) {
            (off >> 5) as usize & 1
        } else {
            core
        };
        let ctrl1 = self.dport.regs.get(if serving == 0 { dport::PRO_CACHE_CTRL1 } else { dport::APP_CACHE_CTRL1 });
        if !self.dport.cache_enabled(serving) || dport::PRO_CACHE_CTRL1::MASK_DRAM1.on(ctrl1) {
            return Err(MemFault::AccessError);
        }
        let shift = 15 - dport::PRO_CACHE_CTRL1::CMMU_SRAM_PAGE_MODE.get(ctrl1).min(4);
        let e = self.dport.mmu[serving][1152 + ((off >> shift) & 127) as usize];
        if dport::MMU_INVALID.on(e) {
            return Err(MemFault::AccessError);
        }
        if !self.psram_cache_path() {
            return Ok(None);
        }
        let chip_size = self.psram.as_ref().map_or(0, |p| p.size());
        let pa = ((dport::MMU_PAGE.get(e) << shift) | (off & ((1 << shift) - 1))) & (chip_size - 1);
        // An access that straddles the end of the chip wraps like the chip does; keep it
        // simple by refusing the (never aligned) straddling case.
        if pa + size > chip_size {
            return Err(MemFault::AccessError);
        }
        Ok(Some(pa as usize))
    }

    // ------------------------------------------------------------------ MMIO

    fn report(&mut self, addr: u32, write: bool, value: u32, block: &'static str) -> Result<u32, MemFault> {
        if self.reported.insert(addr) {
            self.pending_report = Some(Unmodelled { addr, write, value, block, core: self.cur_core, bits: None });
            return Err(MemFault::Stop);
        }
        if write {
            self.unknown_store.insert(addr, value);
            Ok(0)
        } else {
            Ok(*self.unknown_store.get(&addr).unwrap_or(&0))
        }
    }

    // Register accesses are rare next to memory accesses: out of line, so the memory
    // paths the interpreter inlines stay small.
    #[inline(never)]
    fn mmio_read(&mut self, addr: u32) -> Result<u32, MemFault> {
        let a = memmap::peri_addr(addr) & !3;
        match self.device_read(a) {
            (Some(v), _) => Ok(v),
            (None, name) => self.report(a, false, 0, name),
        }
    }

    /// The context of an access to the register word at canonical address `a`.
    fn access(&self, a: u32) -> Access {
        Access {
            now: self.now(),
            apb_hz: self.apb_hz,
            slot: (a - memmap::PERI_BASE) >> 12,
            sources: self.sources,
            effects: Effects::default(),
        }
    }

    /// Carries out what an access asked of the SoC.
    fn apply(&mut self, e: Effects, now: Ps) {
        if e.end_slice {
            self.end_slice = true;
        }
        if e.attention {
            self.attention = true;
        }
        for core in 0..2 {
            if e.flush_cache[core] {
                self.ctiming.flush(core);
            }
        }
        if let Some((start, len)) = e.invalidate_code {
            self.code_cache.invalidate(start, len);
        }
        if e.clocks {
            // APB may change when this slice ends: running timers count at the old rate so far.
            for t in &mut self.timg {
                t.rebase_all(now, self.apb_hz);
            }
        }
    }

    /// The register word at canonical address `a` as its device answers it (None: nobody
    /// models it), with the block's name; reports nothing.
    fn device_read(&mut self, a: u32) -> (Option<u32>, &'static str) {
        let mut cx = self.access(a);
        let r = self.dispatch_read(a & !0xFFF, a & 0xFFF, &mut cx);
        self.apply(cx.effects, cx.now);
        r
    }

    /// A write of `v` to the declared register at `a` that sets unmodelled bits not yet
    /// reported: noted for the report, the access stopped before it happens (it is carried
    /// out when the core resumes, as for an unmodelled register).
    fn report_bits(&mut self, a: u32, v: u32) -> Result<(), MemFault> {
        let page = a & !0xFFF;
        let slot = (a - memmap::PERI_BASE) >> 12;
        let (hits, block) = match self.dispatch_regs(page, slot) {
            Some((r, name)) if r.unmodelled_bits(a & 0xFFF, v).is_some() => (r.unmodelled_fields(a & 0xFFF, v), name),
            _ => return Ok(()),
        };
        let reported = &mut self.reported_bits;
        if let Some(u) = hits.into_iter().find(|u| reported.insert((page as u64) << 32 | u.key)) {
            let bits = BitsReport { register: u.reg, field: u.field.map(str::to_string), mask: u.mask };
            self.pending_report = Some(Unmodelled { addr: a, write: true, value: v, block, core: self.cur_core, bits: Some(bits) });
            return Err(MemFault::Stop);
        }
        Ok(())
    }

    #[inline(never)]
    fn mmio_write(&mut self, addr: u32, v: u32) -> Result<(), MemFault> {
        let a = memmap::peri_addr(addr) & !3;
        self.report_bits(a, v)?;
        self.attention = true;
        let mut cx = self.access(a);
        let (ok, name) = self.dispatch_write(a & !0xFFF, a & 0xFFF, v, &mut cx);
        self.apply(cx.effects, cx.now);
        if ok {
            Ok(())
        } else {
            self.report(a, true, v, name).map(|_| ())
        }
    }

    // Wiring: where an access to one block reaches another block or an off-chip part.

    /// UART2 reads: the modem's answers due by now are on the line first.
    fn read_uart2(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        self.sync_lte(cx.now);
        Device::read(&mut self.uart[2], off, cx)
    }

    /// UART2 writes: a byte written to the FIFO reaches the modem when it is completely on
    /// the wire; an answer it schedules re-plans the slice.
    fn write_uart2(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        let before = self.sync_lte(cx.now);
        let sent = self.uart[2].tx_count;
        let ok = Device::write(&mut self.uart[2], off, v, cx);
        let Some(l) = self.lte.as_mut() else { return ok };
        if self.uart[2].tx_count != sent {
            // The wire is the modem's: the bytes are not the host's to collect.
            let done = self.uart[2].tx_done_at();
            for b in std::mem::take(&mut self.uart[2].tx_out) {
                l.from_esp32(b, done, &self.gpio, &self.uart[2], self.apb_hz);
            }
        }
        // RTS may have been released (CONF0 / CONF1): held answers go out.
        let after = self.sync_lte(cx.now);
        if after != before {
            cx.effects.end_slice = true;
        }
        ok
    }

    /// GPIO reads: pads routed to the RMT follow its output up to now, DIO0 the radio's.
    fn read_gpio(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        self.sync_rmt(cx.now);
        self.sync_lora(cx.now);
        self.gpio.read(off)
    }

    /// GPIO writes: the PSRAM clock routing and the radio's pads may change.
    fn write_gpio(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        self.psram_path = None;
        let ok = self.gpio.write(off, v, cx.now);
        self.lora_pins();
        ok
    }

    fn write_iomux(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        let ok = self.gpio.iomux.write(off, v);
        self.lora_pins();
        ok
    }

    /// RMT writes: a transmission that starts drives its pad at once.
    fn write_rmt(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        let ok = self.rmt.write(off, v, cx.now, cx.apb_hz);
        self.sync_rmt(cx.now);
        ok
    }

    /// SPI0 / SPI1 writes: the flash on CS0 and the PSRAM on CS1 take part in a command.
    fn write_spi0(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        self.write_spi01(0, off, v, cx)
    }

    fn write_spi1(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        self.write_spi01(1, off, v, cx)
    }

    fn write_spi01(&mut self, which: u8, off: u32, v: u32, cx: &mut Access) -> bool {
        let lag = self.psram_clock_lag();
        let cs1 = self.psram.as_mut().zip(lag).map(|(chip, lag)| crate::psram::OnBus { chip, lag });
        let spi = if which == 0 { &mut self.spi0 } else { &mut self.spi1 };
        let ok = spi.write(off, v, &mut SharedBus::new(&mut self.flash, cs1), cx.now);
        self.flash_dirty();
        self.psram_path = None;
        ok
    }

    /// SPI2 / SPI3 writes: a transaction reaches the LoRa chip when it is on that controller.
    fn write_spi2(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        self.write_spi_gp(2, off, v, cx)
    }

    fn write_spi3(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        self.write_spi_gp(3, off, v, cx)
    }

    fn write_spi_gp(&mut self, which: u8, off: u32, v: u32, cx: &mut Access) -> bool {
        let now = cx.now;
        let spi = if which == 2 { &mut self.spi2 } else { &mut self.spi3 };
        let ok = match self.lora.as_mut().filter(|r| r.wiring.spi == spi.index) {
            Some(radio) => spi.write(off, v, &mut RadioBus { radio, gpio: &self.gpio }, now),
            None => spi.write(off, v, &mut NoDevice, now),
        };
        let before = self.lora.as_ref().and_then(|r| r.chip.next_event());
        let after = self.sync_lora(now);
        if after != before {
            // The radio started something that ends by itself: re-plan the slice around it.
            cx.effects.end_slice = true;
        }
        ok
    }

    /// WDEV: the hardware RNG's word (`WDEV_RND_REG`) among the radio's stored registers.
    fn read_wdev(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        if cx.slot == crate::radio::WDEV && off == crate::radio::wdev::RND_REG {
            return Some(self.rng.next_u32());
        }
        Device::read(&mut self.wifi, off, cx)
    }

    /// After flash contents changed: decoded code mapped from the changed pages is stale.
    fn flash_dirty(&mut self) {
        let dirty = self.flash.take_dirty();
        if !dirty.is_empty() {
            self.code_cache.invalidate(memmap::IROM_BASE, memmap::IROM_END - memmap::IROM_BASE);
        }
    }

    // ------------------------------------------------------------------ generic access

    #[inline(always)]
    fn mem_off(&self, addr: u32, size: u32, write: bool) -> Result<Option<usize>, MemFault> {
        let pg = self.pages[(addr >> 12) as usize];
        match pg.kind {
            PageKind::Mem => {
                if pg.word_only && size != 4 {
                    return Err(MemFault::AccessError);
                }
                if write && !pg.writable {
                    return Err(MemFault::AccessError);
                }
                Ok(Some((pg.base + (addr & 0xFFF)) as usize))
            }
            PageKind::Sram1Rev => {
                if size != 4 {
                    return Err(MemFault::AccessError);
                }
                Ok(Some((memmap::SRAM1_OFF + memmap::sram1_rev(addr - memmap::SRAM1_IBASE)) as usize))
            }
            PageKind::Unmapped => Err(MemFault::Unmapped),
            _ => Ok(None),
        }
    }

    fn slow_read(&mut self, addr: u32, size: u32) -> Result<u32, MemFault> {
        let pg = self.pages[(addr >> 12) as usize];
        match pg.kind {
            PageKind::Mmio => {
                let w = self.mmio_read(addr)?;
                Ok(w >> (8 * (addr & 3)))
            }
            PageKind::FlashData | PageKind::FlashInstr => {
                if pg.word_only && size != 4 {
                    return Err(MemFault::AccessError);
                }
                self.data_line(addr, Target::Flash);
                let mut v = 0u32;
                for i in 0..size {
                    let fa = self.flash_addr(addr + i)?;
                    v |= (self.flash.read_byte(fa) as u32) << (8 * i);
                }
                Ok(v)
            }
            PageKind::Psram => {
                let Some(pa) = self.psram_addr(addr, size)? else { return Ok(u32::MAX >> (32 - 8 * size)) };
                self.data_line(addr, Target::Psram);
                let chip = self.psram.as_mut().expect("psram_addr checked the chip");
                chip.note_cache(pa as u32, false);
                let d = chip.data();
                let mut v = 0u32;
                for i in 0..size as usize {
                    v |= (d[pa + i] as u32) << (8 * i);
                }
                Ok(v)
            }
            _ => Err(MemFault::Unmapped),
        }
    }

    fn slow_write(&mut self, addr: u32, size: u32, v: u32) -> Result<(), MemFault> {
        let pg = self.pages[(addr >> 12) as usize];
        match pg.kind {
            PageKind::Mmio => {
                let shift = 8 * (addr & 3);
                if size == 4 || addr & !3 == 0x3FF4_0000 || addr & !3 == 0x6000_0000 {
                    // FIFO registers take the byte as written.
                    let val = if size == 4 { v } else { v & ((1u64 << (8 * size)) - 1) as u32 };
                    self.mmio_write(addr, val)
                } else {
                    let a = memmap::peri_addr(addr) & !3;
                    // The merge reads the word without reporting it: what the guest did is
                    // a store, and the store reports itself (as a write, at its own PC).
                    let cur = match self.device_read(a).0 {
                        Some(v) => v,
                        None => self.unknown_store.get(&a).copied().unwrap_or(0),
                    };
                    let mask = (((1u64 << (8 * size)) - 1) as u32) << shift;
                    self.mmio_write(a, (cur & !mask) | ((v << shift) & mask))
                }
            }
            PageKind::Psram => {
                if let Some(pa) = self.psram_addr(addr, size)? {
                    self.data_line(addr, Target::Psram);
                    let chip = self.psram.as_mut().expect("psram_addr checked the chip");
                    chip.note_cache(pa as u32, true);
                    chip.data_mut()[pa..pa + size as usize].copy_from_slice(&v.to_le_bytes()[..size as usize]);
                }
                Ok(())
            }
            _ => Err(MemFault::AccessError),
        }
    }

    #[inline(always)]
    fn check_watch(&mut self, addr: u32) {
        if addr & !3 == self.watch && self.watch_deadline == u64::MAX {
            self.watch_deadline = self.cycles_now + WATCH_GRACE;
            self.watch_hit = true;
            self.attention = true;
        }
    }

    fn code_alias_write(&mut self, addr: u32, len: u32) {
        // SRAM1 written through the data bus: the instruction-bus alias may hold code.
        if (memmap::SRAM1_DBASE..memmap::SRAM1_DBASE + memmap::SRAM1_SIZE).contains(&addr) {
            let doff = addr - memmap::SRAM1_DBASE;
            let ioff = memmap::sram1_rev(doff);
            self.code_cache.note_write(memmap::SRAM1_IBASE + (ioff & !3), 4);
        } else if (memmap::RTCF_DBASE..memmap::RTCF_DBASE + memmap::RTCF_SIZE).contains(&addr) {
            self.code_cache.note_write(addr - memmap::RTCF_DBASE + memmap::RTCF_IBASE, len);
        } else {
            self.code_cache.note_write(addr, len);
        }
    }
}

impl Bus for Soc {
    #[inline(always)]
    fn read8(&mut self, addr: u32) -> Result<u8, MemFault> {
        match self.mem_off(addr, 1, false)? {
            Some(o) => Ok(self.mem[o]),
            None => self.slow_read(addr, 1).map(|v| v as u8),
        }
    }
    #[inline(always)]
    fn read16(&mut self, addr: u32) -> Result<u16, MemFault> {
        match self.mem_off(addr, 2, false)? {
            Some(o) if o + 2 <= self.mem.len() => Ok(u16::from_le_bytes([self.mem[o], self.mem[o + 1]])),
            _ => self.slow_read(addr, 2).map(|v| v as u16),
        }
    }
    #[inline(always)]
    fn read32(&mut self, addr: u32) -> Result<u32, MemFault> {
        match self.mem_off(addr, 4, false)? {
            Some(o) if o + 4 <= self.mem.len() => {
                Ok(u32::from_le_bytes([self.mem[o], self.mem[o + 1], self.mem[o + 2], self.mem[o + 3]]))
            }
            _ => self.slow_read(addr, 4),
        }
    }
    #[inline(always)]
    fn write8(&mut self, addr: u32, val: u8) -> Result<(), MemFault> {
        match self.mem_off(addr, 1, true)? {
            Some(o) => {
                self.mem[o] = val;
                self.code_alias_write(addr, 1);
                self.check_watch(addr);
                Ok(())
            }
            None => self.slow_write(addr, 1, val as u32),
        }
    }
    #[inline(always)]
    fn write16(&mut self, addr: u32, val: u16) -> Result<(), MemFault> {
        match self.mem_off(addr, 2, true)? {
            Some(o) if o + 2 <= self.mem.len() => {
                self.mem[o..o + 2].copy_from_slice(&val.to_le_bytes());
                self.code_alias_write(addr, 2);
                self.check_watch(addr);
                Ok(())
            }
            _ => self.slow_write(addr, 2, val as u32),
        }
    }
    #[inline(always)]
    fn write32(&mut self, addr: u32, val: u32) -> Result<(), MemFault> {
        match self.mem_off(addr, 4, true)? {
            Some(o) if o + 4 <= self.mem.len() => {
                self.mem[o..o + 4].copy_from_slice(&val.to_le_bytes());
                self.code_alias_write(addr, 4);
                self.check_watch(addr);
                Ok(())
            }
            _ => self.slow_write(addr, 4, val),
        }
    }
    fn fetch(&mut self, addr: u32) -> Result<u32, MemFault> {
        let mut b = [0u8; 4];
        for (i, x) in b.iter_mut().enumerate() {
            let a = addr.wrapping_add(i as u32);
            let pg = self.pages[(a >> 12) as usize];
            *x = match pg.kind {
                PageKind::Mem => self.mem[(pg.base + (a & 0xFFF)) as usize],
                PageKind::Sram1Rev => self.mem[(memmap::SRAM1_OFF + memmap::sram1_rev(a - memmap::SRAM1_IBASE)) as usize],
                PageKind::FlashInstr => match self.flash_addr(a) {
                    Ok(fa) => self.flash.read_byte(fa),
                    Err(e) if i == 0 => return Err(e),
                    Err(_) => 0,
                },
                _ if i == 0 => return Err(MemFault::Unmapped),
                _ => 0,
            };
        }
        Ok(u32::from_le_bytes(b))
    }
    #[inline(always)]
    fn code_cache(&mut self) -> &mut CodeCache {
        &mut self.code_cache
    }
    fn rer(&mut self, addr: u32) -> Result<u32, MemFault> {
        // ERI 0x10_2000..: debug module. DSR (0x10200C) reads 0: no debugger attached.
        match addr {
            0x0010_2000..=0x0010_3FFF => Ok(0),
            _ => Err(MemFault::Unmapped),
        }
    }
    fn wer(&mut self, addr: u32, _val: u32) -> Result<(), MemFault> {
        match addr {
            0x0010_0000..=0x0010_3FFF => Ok(()),
            _ => Err(MemFault::Unmapped),
        }
    }
    #[inline(always)]
    fn set_cycles(&mut self, cycles: u64) {
        self.cycles_now = cycles;
    }
    #[inline(always)]
    fn take_attention(&mut self) -> bool {
        std::mem::take(&mut self.attention)
    }
    fn end_slice(&mut self) -> bool {
        self.end_slice || self.pending_report.is_some() || self.cycles_now >= self.watch_deadline
    }
    #[inline(always)]
    fn stop_at(&mut self) -> u64 {
        self.watch_deadline
    }
    #[inline(always)]
    fn fetch_line(&mut self, core: u8, pc: u32) -> u64 {
        if (memmap::IROM_BASE..memmap::IROM_END).contains(&pc) && self.ctiming.enabled() && !self.ctiming.access(core as usize, pc) {
            self.fill_cycles(Target::Flash)
        } else {
            0
        }
    }
    #[inline(always)]
    fn take_stall(&mut self, core: u8) -> u64 {
        self.ctiming.take_owed(core as usize)
    }
    fn irq_lines(&mut self, core: u8) -> u32 {
        self.update_sources();
        // An interrupt edge still on its way from a UART: look again after the next store.
        let now = self.now();
        if self.irq_settling(now) {
            self.attention = true;
        }
        self.lines_for(core as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_table_slots_are_distinct_peripheral_pages() {
        let mut seen = std::collections::HashSet::new();
        for b in BLOCKS {
            for &(base, _) in b.slots {
                assert_eq!(base & 0xFFF, 0, "{}: a 4 KiB slot", b.name);
                assert!((memmap::PERI_BASE..0x3FF8_0000).contains(&base), "{}: {base:#x}", b.name);
                assert!(seen.insert(base), "{}: slot {base:#x} twice", b.name);
            }
        }
    }

    #[test]
    fn table_sources_match_the_blocks_lines() {
        // Each block's local lines name a source; a block never raises more lines than its
        // table line names (a line past the end would be lost).
        let mut soc = Soc::new(Flash::new_in_memory(0x40_0000), &EfuseConfig { mac: [0; 6], revision: 1 }, 1);
        soc.dport.regs.set(dport::FROM_CPU0::at(3), 1);
        assert_eq!(soc.scan_lines(0), Source::FromCpu3.bit());
        assert_eq!(sources_of("TIMG1")[2], Source::Tg1WdtLevel);
        assert_eq!(sources_of("SPI3"), &[Source::Spi3, Source::Spi3Dma]);
    }

    fn soc() -> Soc {
        Soc::new(Flash::new_in_memory(0x40_0000), &EfuseConfig { mac: [0; 6], revision: 1 }, 1)
    }

    /// The blocks at their real addresses, through the bus the cores use.
    #[test]
    fn gpio_output_latch_set_and_clear() {
        let mut s = soc();
        s.write32(0x3FF4_4008, 1 << 5).unwrap(); // OUT_W1TS
        s.write32(0x3FF4_4008, 1 << 7).unwrap();
        s.write32(0x3FF4_400C, 1 << 5).unwrap(); // OUT_W1TC
        assert_eq!(s.read32(0x3FF4_4004).unwrap(), 1 << 7, "OUT");
        // The AHB alias is the same register.
        assert_eq!(s.read32(0x6000_4004).unwrap(), 1 << 7);
    }

    #[test]
    fn interrupt_matrix_routes_a_source_to_the_mapped_cpu_interrupt() {
        let mut s = soc();
        // FROM_CPU_INTR1 (source 25): PRO to CPU interrupt 2, APP to 3.
        s.write32(0x3FF0_0000 + dport::PRO_MAP0 + 4 * 25, 2).unwrap();
        s.write32(0x3FF0_0000 + dport::APP_MAP0 + 4 * 25, 3).unwrap();
        assert_eq!(s.irq_lines(0), 0, "nothing raised");
        s.write32(0x3FF0_0000 + dport::FROM_CPU0 + 4, 1).unwrap();
        assert_eq!(s.irq_lines(0), 1 << 2);
        assert_eq!(s.irq_lines(1), 1 << 3);
        // PRO_INTR_STATUS_0 shows the raised source.
        assert_eq!(s.read32(0x3FF0_00EC).unwrap(), 1 << 25);
    }

    #[test]
    fn frc2_alarm_raises_timer2_at_its_time() {
        let mut s = soc();
        s.begin_slice(0, 0, 0);
        s.write32(0x3FF4_7030, 400).unwrap(); // FRC2_ALARM: 400 ticks of 40 MHz APB = 10 µs
        s.write32(0x3FF4_7028, 1 << 7).unwrap(); // FRC2_CTRL: enable, prescaler 1
        assert_eq!(s.next_event(0), Some(10_000_000));
        s.update_sources();
        assert_eq!(s.sources() & Source::Timer2.bit(), 0);
        s.begin_slice(0, 10_000_000, 0);
        s.update_sources();
        assert_eq!(s.sources() & Source::Timer2.bit(), Source::Timer2.bit());
    }

    #[test]
    fn sha256_through_the_registers() {
        let mut s = soc();
        // One padded block of the empty message.
        s.write32(0x3FF0_3000, 0x8000_0000).unwrap();
        s.write32(0x3FF0_3090, 1).unwrap(); // SHA256_START
        s.write32(0x3FF0_3098, 1).unwrap(); // SHA256_LOAD
        assert_eq!(s.read32(0x3FF0_3000).unwrap(), 0xe3b0_c442, "SHA-256('') starts e3b0c442");
    }

    #[test]
    fn apb_ctrl_divides_the_xtal_cpu_clock() {
        let mut s = soc();
        s.write32(0x3FF6_6000, 1).unwrap(); // SYSCLK_CONF PRE_DIV_CNT 1: XTAL / 2
        assert!(s.update_clocks());
        assert_eq!((s.cpu_hz, s.apb_hz), (20_000_000, 20_000_000));
    }

    #[test]
    fn spi1_reads_the_flash_id() {
        let mut s = soc();
        s.write32(0x3FF4_2000, 1 << 28).unwrap(); // CMD: RDID
        let id = s.read32(0x3FF4_2080).unwrap(); // W0
        assert_ne!(id & 0xFF_FFFF, 0, "a JEDEC id");
    }

    #[test]
    fn spi2_user_read_with_nothing_attached_floats_high_and_interrupts() {
        let mut s = soc();
        s.write32(0x3FF6_4080, 0).unwrap(); // W0
        s.write32(0x3FF6_402C, 7).unwrap(); // MISO_DLEN: 8 bits
        s.write32(0x3FF6_401C, 1 << 28).unwrap(); // USER: USR_MISO only
        s.write32(0x3FF6_4038, 1 << 9).unwrap(); // SLAVE: TRANS_DONE interrupt enabled
        s.write32(0x3FF6_4000, 1 << 18).unwrap(); // CMD: USR
        assert_eq!(s.read32(0x3FF6_4000).unwrap() & 1 << 18, 0, "the transaction is over");
        assert_eq!(s.read32(0x3FF6_4080).unwrap() & 0xFF, 0xFF, "MISO floats high");
        assert_ne!(s.read32(0x3FF6_4038).unwrap() & 1 << 4, 0, "TRANS_DONE");
        s.update_sources();
        assert_eq!(s.sources() & (1 << 30), 1 << 30, "source 30 (SPI2)");
        assert_eq!(s.sources() & Source::Spi3.bit(), 0);
    }

    #[test]
    fn wdev_rng_word_changes_on_every_read() {
        let mut s = soc();
        let words: Vec<u32> = (0..4).map(|_| s.read32(0x3FF7_5144).unwrap()).collect();
        assert!(words.windows(2).all(|w| w[0] != w[1]), "{words:x?}");
        // The slot is the radio's WDEV block (the table's name for it).
        assert_eq!(s.device_read(0x3FF7_5000).1, "WDEV");
    }

    #[test]
    fn strict_names_come_from_the_table() {
        let mut soc = soc();
        assert_eq!(soc.device_read(0x3FF7_3FF0).1, "WMAC1");
        assert_eq!(soc.device_read(0x3FF1_2000).1, "MMU");
        assert_eq!(soc.device_read(0x3FF7_F000), (None, "unknown block"));
    }
}
