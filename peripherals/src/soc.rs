//! The ESP32 SoC as one bus: internal memories with their aliases, the flash cache and
//! its MMU, and every register block, dispatched by address. Both cores run on it (see
//! `machine.rs`); `cur_core` says whose access is being served (caches and interrupt
//! routing are per core).
//!
//! Peripheral blocks (4 KiB each, base 0x3FF0_0000 + n·0x1000; the AHB alias
//! 0x6000_0000 + x is the same as 0x3FF4_0000 + x):
//!
//! | block | base | module |
//! |---|---|---|
//! | DPORT | 0x3FF0_0000 | `dport.rs` (+ MMU tables at 0x3FF1_0000..0x3FF1_3FFF) |
//! | SHA | 0x3FF0_3000 | `misc.rs` |
//! | UART0 / UART1 / UART2 | 0x3FF4_0000 / 0x3FF5_0000 / 0x3FF6_E000 | `uart.rs` |
//! | SPI1 / SPI0 | 0x3FF4_2000 / 0x3FF4_3000 | `spi.rs` (PSRAM on CS1: `psram.rs`) |
//! | GPIO | 0x3FF4_4000 | `gpio.rs` |
//! | FRC timers | 0x3FF4_7000 | `frc.rs` |
//! | RTC_CNTL, RTCIO, SENS | 0x3FF4_8000 | `rtc_cntl.rs` |
//! | IO_MUX | 0x3FF4_9000 | `gpio.rs` |
//! | analog I2C master (ANA) | 0x3FF4_E000 | `radio.rs` (`AnaI2c`) |
//! | Wi-Fi/BT radio: FE2, FE, BT, AGC/NRX, BB, BT_BUF, Wi-Fi MAC | 0x3FF4_5000, 0x3FF4_6000, 0x3FF5_1000, 0x3FF5_C000, 0x3FF5_D000, 0x3FF7_1000, 0x3FF7_2000..0x3FF7_4000 | `radio.rs` |
//! | I2S0 / I2S1 | 0x3FF4_F000 / 0x3FF6_D000 | storage |
//! | SDIO slave: HOST, HINF, SLC | 0x3FF4_B000, 0x3FF5_5000, 0x3FF5_8000 | storage; SLC DMA idle (`misc.rs`) |
//! | EFUSE | 0x3FF5_A000 | `efuse.rs` |
//! | RMT (+ RAM at +0x800) | 0x3FF5_6000 | `rmt.rs` |
//! | TIMG0 / TIMG1 | 0x3FF5_F000 / 0x3FF6_0000 | `timg.rs` |
//! | SPI2 / SPI3 | 0x3FF6_4000 / 0x3FF6_5000 | `spi_gp.rs`; an SX127x on its NSS pad: `sx127x.rs` |
//! | APB_CTRL | 0x3FF6_6000 | `misc.rs` |
//! | RNG (WDEV) | 0x3FF7_5000 | `misc.rs` (`WDEV_RND_REG` at +0x144) |
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

use crate::cache_timing::{self, CacheTiming, Target};
use crate::dport::{self, Dport};
use crate::efuse::{Efuse, EfuseConfig};
use crate::flash::Flash;
use crate::gpio::Gpio;
use crate::memmap::{self, Page, PageKind};
use crate::misc::{self, Rng, Sha};
use crate::psram::Psram;
use crate::regblock::RegBlock;
use crate::rtc_cntl::RtcCntl;
use crate::spi::{self, Cs1, Spi};
use crate::spi_gp::{NoTarget, SpiGp};
use crate::sx127x::{Attached, RadioBus};
use crate::timg::Timg;
use crate::uart::Uart;
use emulator::{Bus, CodeCache, MemFault};
use std::collections::{BTreeMap, BTreeSet};

pub const XTAL_HZ: u64 = 40_000_000;
/// Cycles a core keeps running after storing to the word the other core polls (the
/// machine then interleaves the cores finely for a while; see `Machine::run_until`).
const WATCH_GRACE: u64 = 1;
const PS_PER_S: u128 = 1_000_000_000_000;

/// An access to a register nobody models, waiting to be reported with the PC.
#[derive(Clone, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Unmodelled {
    pub addr: u32,
    pub write: bool,
    pub value: u32,
    #[serde(with = "crate::snapshot::static_str")]
    pub block: crate::snapshot::Name,
    pub core: usize,
}

/// The bus's view of a running core's slice (`Soc::save_slice`).
#[derive(Clone, Copy, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SliceState {
    cur_core: usize,
    start_ps: u64,
    start_cycles: u64,
    cycles_now: u64,
    attention: bool,
    end_slice: bool,
    watch: u32,
    watch_deadline: u64,
}

/// What the firmware asked of the system that the machine must carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum SysRequest {
    /// RTC_CNTL SW_SYS_RST: reset both cores and the digital peripherals (cause 3).
    SystemReset,
    /// Reset with this ROM reset cause (7/8 TG0/TG1 WDT, 9 RTC WDT system, 16 RTC WDT RTC):
    /// see `Machine::system_reset`.
    Reset(u32),
    /// Reset only these cores, with this cause (12 software, 11 TIMG WDT, 13 RTC WDT).
    CpuReset { pro: bool, app: bool, cause: u32 },
    /// Deep sleep until `wake_at` (ps; None: no wake-up source modelled), then a deep-sleep reset.
    DeepSleep { wake_at: Option<u64> },
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Soc {
    /// The fixed memory map: rebuilt, not kept in a snapshot.
    #[serde(skip, default = "memmap::build_pages")]
    pages: Vec<Page>,
    #[serde(with = "serde_bytes")]
    pub mem: Vec<u8>,
    pub cache: CodeCache,
    pub flash: Flash,
    pub dport: Dport,
    pub uart: [Uart; 3],
    pub gpio: Gpio,
    pub rtc: RtcCntl,
    pub timg: [Timg; 2],
    pub efuse: Efuse,
    pub apb: RegBlock,
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
    pub rf: crate::radio::Radio,
    pub i2s0: RegBlock,
    pub i2s1: RegBlock,
    pub frc: crate::frc::Frc,
    pub rmt: crate::rmt::Rmt,
    pub spi2: SpiGp,
    pub spi3: SpiGp,
    /// The LPWAN radio (LoPy4, FiPy) on its SPI controller and pads.
    pub radio: Option<Attached>,
    pub sdio_host: RegBlock,
    pub hinf: RegBlock,
    pub slc: misc::Slc,
    /// Whose access is being served.
    pub cur_core: usize,
    /// Hit/miss and stall bookkeeping of the two external-memory caches.
    pub ctiming: CacheTiming,
    /// Virtual time at the start of the running slice, and the running core's cycle
    /// counter then and now.
    pub slice_start_ps: u64,
    slice_start_cycles: u64,
    cycles_now: u64,
    pub cpu_hz: u64,
    pub apb_hz: u64,
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
    /// Sources whose interrupt line is high (bit n = source n).
    sources: u128,
}

impl Soc {
    pub fn new(flash: Flash, efuse: &EfuseConfig, seed: u64) -> Soc {
        Soc {
            pages: memmap::build_pages(),
            mem: vec![0; memmap::MEM_TOTAL as usize],
            cache: CodeCache::new(),
            flash,
            dport: Dport::new(),
            uart: [Uart::new(0), Uart::new(1), Uart::new(2)],
            gpio: Gpio::new(),
            rtc: RtcCntl::new(),
            timg: [Timg::new("TIMG0"), Timg::new("TIMG1")],
            efuse: Efuse::new(efuse),
            apb: misc::apb_ctrl(),
            spi0: Spi::new(0, "SPI0"),
            spi1: Spi::new(1, "SPI1"),
            psram: None,
            psram_path: None,
            sha: Sha::new(),
            rng: Rng::new(seed),
            ana_i2c: crate::radio::AnaI2c::new(),
            rf: crate::radio::Radio::new(),
            i2s0: misc::storage("I2S0", 0x100),
            i2s1: misc::storage("I2S1", 0x100),
            frc: crate::frc::Frc::new(),
            rmt: crate::rmt::Rmt::new(),
            spi2: SpiGp::new(2),
            spi3: SpiGp::new(3),
            radio: None,
            sdio_host: misc::storage("SDIO_HOST", 0x200),
            hinf: misc::storage("HINF", 0x200),
            slc: misc::Slc::new(),
            cur_core: 0,
            ctiming: CacheTiming::new(),
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
            sources: 0,
        }
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
        self.cache.invalidate(addr, bytes.len() as u32);
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
    pub fn begin_slice(&mut self, core: usize, now_ps: u64, cycles: u64) {
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
    pub fn now(&self) -> u64 {
        let d = self.cycles_now.saturating_sub(self.slice_start_cycles) as u128;
        self.slice_start_ps + (d * PS_PER_S / self.cpu_hz as u128) as u64
    }

    /// Picoseconds of `cycles` CPU cycles at the current frequency.
    pub fn cycles_to_ps(&self, cycles: u64) -> u64 {
        (cycles as u128 * PS_PER_S / self.cpu_hz as u128) as u64
    }

    pub fn ps_to_cycles(&self, ps: u64) -> u64 {
        (ps as u128 * self.cpu_hz as u128 / PS_PER_S) as u64
    }

    /// Cycles at the current frequency that take at least `ps`.
    pub fn ps_to_cycles_ceil(&self, ps: u64) -> u64 {
        (ps as u128 * self.cpu_hz as u128).div_ceil(PS_PER_S) as u64
    }

    /// Recomputes CPU and APB frequencies from the clock registers. True if they changed.
    pub fn update_clocks(&mut self) -> bool {
        let (cpu, apb) = match self.rtc.soc_clk_sel() {
            0 => {
                let div = (self.apb.get(0x00) & 0x3FF) as u64 + 1;
                (XTAL_HZ / div, XTAL_HZ / div)
            }
            1 => {
                let f = match self.dport.regs.get(dport::CPU_PER_CONF) & 3 {
                    0 => 80_000_000,
                    1 => 160_000_000,
                    _ => 240_000_000,
                };
                (f, 80_000_000)
            }
            2 => (8_000_000, 8_000_000),
            _ => (80_000_000, 80_000_000),
        };
        let changed = cpu != self.cpu_hz || apb != self.apb_hz;
        self.cpu_hz = cpu;
        self.apb_hz = apb;
        changed
    }

    // ------------------------------------------------------------------ interrupts

    /// Recomputes the interrupt source lines from the devices.
    pub fn update_sources(&mut self) {
        let (now, apb) = (self.now(), self.apb_hz);
        self.frc.sync(now, apb);
        let mut s = self.dport.from_cpu_sources() | self.frc.sources();
        let now = self.now();
        self.sync_timers(now);
        s |= self.timg[0].sources(now) | self.timg[1].sources(now) | self.rtc.sources() | self.rmt.sources();
        s |= self.gpio_spi_sources(now);
        for (i, u) in self.uart.iter().enumerate() {
            if u.irq(now) {
                s |= 1 << (34 + i);
            }
        }
        self.sources = s;
    }

    pub fn sources(&self) -> u128 {
        self.sources
    }

    /// Brings the RMT to `now`: its output signal changes reach the GPIO matrix.
    fn sync_rmt(&mut self, now: u64) -> Option<u64> {
        let next = self.rmt.sync(now);
        for (t, ch, level) in std::mem::take(&mut self.rmt.out) {
            self.gpio.set_signal(crate::rmt::SIG_OUT0 + ch, level, t);
        }
        next
    }

    /// Fires the timer groups', RTC's and RMT's events due by `now`; resets they ask for
    /// become requests. Returns the earliest next event.
    fn sync_timers(&mut self, now: u64) -> Option<u64> {
        let apb = self.apb_hz;
        let mut next = self.sync_rmt(now);
        let mut earliest = |t: Option<u64>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n: u64| n.min(t)));
            }
        };
        for (g, t) in self.timg.iter_mut().enumerate() {
            earliest(t.sync(now, apb));
            match t.reset.take() {
                Some(crate::timg::WdtReset::System) => self.requests.push(SysRequest::Reset(7 + g as u32)),
                Some(crate::timg::WdtReset::Cpu) => self.requests.push(SysRequest::CpuReset { pro: true, app: true, cause: 11 }),
                None => {}
            }
        }
        earliest(self.rtc.sync(now));
        if !self.rtc.requests.is_empty() {
            self.requests.append(&mut self.rtc.requests);
        }
        if !self.requests.is_empty() {
            self.end_slice = true;
        }
        next
    }

    /// The next virtual time a timer, watchdog or RMT transmission has an event (fires
    /// those due by `now` first); the machine ends its run slice there.
    pub fn next_event(&mut self, now: u64) -> Option<u64> {
        let t = self.sync_timers(now);
        match (t, self.sync_radio(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Brings the LPWAN radio to `now` (its DIO0 level reaches the pad and the pin
    /// interrupts); returns its next event.
    fn sync_radio(&mut self, now: u64) -> Option<u64> {
        let r = self.radio.as_mut()?;
        r.sync(&mut self.gpio, now);
        self.gpio.sample_inputs();
        r.chip.next_event()
    }

    /// The radio follows its NSS and reset pads after the firmware changed GPIO state.
    fn radio_pins(&mut self) {
        if let Some(r) = self.radio.as_mut() {
            r.pins(&self.gpio);
        }
    }

    /// GPIO (22, NMI 23) and SPI2 / SPI3 (30 / 31, DMA 53 / 54) interrupt sources.
    fn gpio_spi_sources(&mut self, now: u64) -> u128 {
        self.sync_radio(now);
        self.gpio.sample_inputs();
        let mut s = 0u128;
        for core in 0..2 {
            s |= (self.gpio.int_line(core, false) as u128) << 22 | (self.gpio.int_line(core, true) as u128) << 23;
        }
        for spi in [&self.spi2, &self.spi3] {
            let (a, b) = spi.sources();
            s |= (spi.irq() as u128) << a | (spi.dma_irq() as u128) << b;
        }
        s
    }

    /// A register write to SPI2 (`which` 0) or SPI3 (1); a transaction reaches the radio
    /// when it is on that controller.
    fn spi_gp_write(&mut self, which: usize, off: u32, v: u32, now: u64) -> bool {
        let spi = if which == 0 { &mut self.spi2 } else { &mut self.spi3 };
        let ok = match self.radio.as_mut().filter(|r| r.wiring.spi == spi.index) {
            Some(radio) => spi.write(off, v, &mut RadioBus { radio, gpio: &self.gpio, now }),
            None => spi.write(off, v, &mut NoTarget),
        };
        let before = self.radio.as_ref().and_then(|r| r.chip.next_event());
        let after = self.sync_radio(now);
        if after != before {
            // The radio started something that ends by itself: re-plan the slice around it.
            self.end_slice = true;
        }
        ok
    }

    /// A digital (core) reset at `now`: every register block of the digital domain back to
    /// its reset value, the flash MMU and caches reset, decoded code forgotten. Kept: memory,
    /// the flash chip and the PSRAM chip (outside the SoC), RTC_CNTL (the RTC domain: the
    /// machine resets what it must), eFuses, the outside world's pin drives. A block added
    /// to the SoC must be reset here.
    pub fn reset_digital(&mut self, now: u64) {
        self.dport = Dport::new();
        self.cache.clear();
        self.ctiming.flush(0);
        self.ctiming.flush(1);
        for u in &mut self.uart {
            // Register state only: bytes the host already put on the wire keep arriving.
            u.regs.reset();
        }
        self.gpio.reset(now);
        self.timg = [Timg::new("TIMG0"), Timg::new("TIMG1")];
        for t in &mut self.timg {
            t.start_at(now, XTAL_HZ);
        }
        self.apb = misc::apb_ctrl();
        self.spi0 = Spi::new(0, "SPI0");
        self.spi1 = Spi::new(1, "SPI1");
        self.psram_path = None;
        self.sha = Sha::new();
        self.ana_i2c.reset();
        self.rf.reset();
        self.i2s0.reset();
        self.i2s1.reset();
        self.frc = crate::frc::Frc::new();
        self.rmt = crate::rmt::Rmt::new();
        self.sdio_host.reset();
        self.hinf.reset();
        self.slc = misc::Slc::new();
        self.spi2 = SpiGp::new(2);
        self.spi3 = SpiGp::new(3);
        if let Some(r) = self.radio.as_mut() {
            r.soc_reset();
        }
        self.requests.clear();
        self.pending_report = None;
        self.sources = 0;
        self.cpu_hz = XTAL_HZ;
        self.apb_hz = XTAL_HZ;
    }

    fn lines_for(&self, core: usize) -> u32 {
        // CPU interrupts 6, 7, 11, 15, 16 and 29 are internal (timers, software, profiling):
        // the matrix cannot reach them, and every source not routed yet sits on 16.
        const INTERNAL: u32 = 1 << 6 | 1 << 7 | 1 << 11 | 1 << 15 | 1 << 16 | 1 << 29;
        let mut lines = 0u32;
        let mut s = self.sources;
        // The GPIO interrupt is one line per core (PCPU_INT / ACPU_INT and their NMIs).
        for (src, nmi) in [(22, false), (23, true)] {
            if s >> src & 1 != 0 && !self.gpio.int_line(core, nmi) {
                s &= !(1u128 << src);
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
        if e & 0x100 != 0 || !self.dport.cache_enabled(core) {
            return Err(MemFault::AccessError);
        }
        Ok(((e & 0xFF) << 16) | (addr & 0xFFFF))
    }

    /// CPU cycles one line fill from `target` stalls a core, from SPI0's current setup.
    pub fn fill_cycles(&self, target: Target) -> u64 {
        let r = &self.spi0.regs;
        let clocks = match target {
            Target::Flash => cache_timing::flash_fill_clocks(r.get(spi::CTRL), r.get(spi::USER), r.get(spi::USER1)),
            Target::Psram => cache_timing::psram_fill_clocks(r.get(spi::CACHE_SCTRL), r.get(spi::SRAM_DRD_CMD)),
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
        match self.gpio.regs.get(0x530 + 4 * PSRAM_CLK_PAD) & 0x1FF {
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
            (Some(chip), Some(lag)) if self.spi0.regs.get(spi::PIN) & 2 == 0 => {
                let sctrl = self.spi0.regs.get(spi::CACHE_SCTRL);
                let lines = if sctrl & (1 << 2) != 0 { 4 } else { 1 };
                // Without the user-command bits the cache sends plain READ / WRITE.
                let cmd = |en: bool, reg: u32, default: u32| {
                    let (bits, val) = if en { ((reg >> 28) + 1, reg & 0xFFFF) } else { (8, default) };
                    let mut c = Vec::new();
                    spi::command_clocks(&mut c, val, bits, lines);
                    chip.decode_command(c.get(lag..).unwrap_or(&[]))
                };
                let rd = cmd(sctrl & (1 << 5) != 0, self.spi0.regs.get(spi::SRAM_DRD_CMD), 0x03);
                let wr = cmd(sctrl & (1 << 28) != 0, self.spi0.regs.get(spi::SRAM_DWR_CMD), 0x02);
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
        let ctrl = self.dport.regs.get(if core == 0 { dport::PRO_CACHE_CTRL } else { dport::APP_CACHE_CTRL });
        let hl_bit = if core == 0 { 16 } else { 14 };
        let serving = if ctrl & (1 << hl_bit) != 0 {
            (off >> 21) as usize & 1
        } else if ctrl & (1 << 11) != 0 {
            (off >> 5) as usize & 1
        } else {
            core
        };
        let ctrl1 = self.dport.regs.get(if serving == 0 { dport::PRO_CACHE_CTRL + 4 } else { dport::APP_CACHE_CTRL + 4 });
        if !self.dport.cache_enabled(serving) || ctrl1 & (1 << 3) != 0 {
            return Err(MemFault::AccessError);
        }
        let shift = 15 - ((ctrl1 >> 6) & 7).min(4);
        let e = self.dport.mmu[serving][1152 + ((off >> shift) & 127) as usize];
        if e & 0x100 != 0 {
            return Err(MemFault::AccessError);
        }
        if !self.psram_cache_path() {
            return Ok(None);
        }
        let chip_size = self.psram.as_ref().map_or(0, |p| p.size());
        let pa = (((e & 0xFF) << shift) | (off & ((1 << shift) - 1))) & (chip_size - 1);
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
            self.pending_report = Some(Unmodelled { addr, write, value, block, core: self.cur_core });
            return Err(MemFault::Stop);
        }
        if write {
            self.unknown_store.insert(addr, value);
            Ok(0)
        } else {
            Ok(*self.unknown_store.get(&addr).unwrap_or(&0))
        }
    }

    fn mmio_read(&mut self, addr: u32) -> Result<u32, MemFault> {
        let a = memmap::peri_addr(addr) & !3;
        match self.device_read(a) {
            (Some(v), _) => Ok(v),
            (None, name) => self.report(a, false, 0, name),
        }
    }

    /// The register word at canonical address `a` as its device answers it (None: nobody
    /// models it), with the block's name; reports nothing.
    fn device_read(&mut self, a: u32) -> (Option<u32>, &'static str) {
        let off = a & 0xFFF;
        let now = self.now();
        let block = (a - memmap::PERI_BASE) >> 12;
        match block {
            0x00 => (self.dport.read(off, self.sources), "DPORT"),
            0x03 => (self.sha.read(off), "SHA"),
            0x10..=0x13 => {
                let i = ((a - 0x3FF1_0000) / 4) as usize;
                let core = i / dport::MMU_ENTRIES;
                (Some(self.dport.mmu[core][i % dport::MMU_ENTRIES]), "MMU")
            }
            0x40 | 0x50 | 0x6E => {
                let i = match block {
                    0x40 => 0,
                    0x50 => 1,
                    _ => 2,
                };
                // Reads have side effects (popping the RX FIFO, bytes landing): when the
                // interrupt output changes, the core re-reads its lines after its next store.
                let before = self.uart[i].irq(now);
                let v = self.uart[i].read(off, now, self.apb_hz);
                if self.uart[i].irq(now) != before {
                    self.attention = true;
                }
                (v, ["UART0", "UART1", "UART2"][i])
            }
            0x42 => {
                let busy = self.flash.status(now);
                let _ = busy;
                (self.spi1.read(off), "SPI1")
            }
            0x43 => (self.spi0.read(off), "SPI0"),
            0x44 => {
                // Pads routed to the RMT follow its output up to now, DIO0 the radio's.
                self.sync_rmt(now);
                self.sync_radio(now);
                (self.gpio.read(off), "GPIO")
            }
            0x47 => (self.frc.read(off, now, self.apb_hz), "FRC"),
            0x48 => (self.rtc.read(off, now), "RTC_CNTL"),
            0x49 => (self.gpio.iomux.read(off), "IO_MUX"),
            0x4B => (self.sdio_host.read(off), "SDIO_HOST"),
            0x55 => (self.hinf.read(off), "HINF"),
            0x58 => (self.slc.read(off), "SLC"),
            0x4E => (self.ana_i2c.read(off), "ANA"),
            0x75 if off == 0x144 => (Some(self.rng.next_u32()), "RNG"),
            b if crate::radio::is_radio_block(b) => (self.rf.read(b, off, now), crate::radio::Radio::name(b)),
            0x4F => (self.i2s0.read(off & 0xFF), "I2S0"),
            0x6D => (self.i2s1.read(off & 0xFF), "I2S1"),
            0x5A => (self.efuse.read(off), "EFUSE"),
            0x56 => (self.rmt.read(off, now), "RMT"),
            0x5F => (self.timg[0].read(off, now, self.apb_hz), "TIMG0"),
            0x60 => (self.timg[1].read(off, now, self.apb_hz), "TIMG1"),
            0x64 => (self.spi2.read(off), "SPI2"),
            0x65 => (self.spi3.read(off), "SPI3"),
            0x66 => (self.apb.read(off), "APB_CTRL"),
            _ => (None, "unknown block"),
        }
    }

    fn mmio_write(&mut self, addr: u32, v: u32) -> Result<(), MemFault> {
        let a = memmap::peri_addr(addr) & !3;
        let off = a & 0xFFF;
        let now = self.now();
        let block = (a - memmap::PERI_BASE) >> 12;
        self.attention = true;
        if matches!((block, off), (0x48, crate::rtc_cntl::CLK_CONF) | (0x66, 0)) {
            // APB may change when this slice ends: running timers count at the old rate so far.
            for t in &mut self.timg {
                t.rebase_all(now, self.apb_hz);
            }
        }
        let (ok, name) = match block {
            0x00 => {
                let ok = self.dport.write(off, v);
                if matches!(off, dport::CPU_PER_CONF | dport::APPCPU_CTRL_A..=dport::APPCPU_CTRL_D) {
                    self.end_slice = true;
                }
                if matches!(off, dport::PRO_CACHE_CTRL | dport::APP_CACHE_CTRL) && v & (1 << 4) != 0 {
                    self.ctiming.flush(if off == dport::PRO_CACHE_CTRL { 0 } else { 1 });
                }
                if matches!(off, dport::PRO_CACHE_CTRL | dport::APP_CACHE_CTRL) {
                    // Enabling, disabling or flushing a cache changes what the IROM window
                    // shows: forget decoded code there.
                    self.cache.invalidate(memmap::IROM_BASE, memmap::IROM_END - memmap::IROM_BASE);
                }
                (ok, "DPORT")
            }
            0x03 => (self.sha.write(off, v), "SHA"),
            0x10..=0x13 => {
                let i = ((a - 0x3FF1_0000) / 4) as usize;
                let core = i / dport::MMU_ENTRIES;
                let idx = i % dport::MMU_ENTRIES;
                self.dport.mmu[core][idx] = v & 0x1FF;
                if (64..256).contains(&idx) {
                    let va = 0x4000_0000 + ((idx as u32 - 64) << 16);
                    self.cache.invalidate(va, 0x10000);
                }
                (true, "MMU")
            }
            0x40 | 0x50 | 0x6E => {
                let i = match block {
                    0x40 => 0,
                    0x50 => 1,
                    _ => 2,
                };
                let ok = self.uart[i].write(off, v, now, self.apb_hz);
                // The write raised the interrupt output, which reaches the CPU a few
                // cycles later: end the slice so the machine plans time around the edge.
                if self.uart[i].take_irq_edge() {
                    self.end_slice = true;
                }
                (ok, ["UART0", "UART1", "UART2"][i])
            }
            0x42 => {
                let lag = self.psram_clock_lag();
                let cs1 = self.psram.as_mut().zip(lag).map(|(chip, lag)| Cs1 { chip, lag });
                let ok = self.spi1.write_with_cs1(off, v, &mut self.flash, cs1, now);
                self.flash_dirty();
                self.psram_path = None;
                (ok, "SPI1")
            }
            0x43 => {
                let lag = self.psram_clock_lag();
                let cs1 = self.psram.as_mut().zip(lag).map(|(chip, lag)| Cs1 { chip, lag });
                let ok = self.spi0.write_with_cs1(off, v, &mut self.flash, cs1, now);
                self.flash_dirty();
                self.psram_path = None;
                (ok, "SPI0")
            }
            0x44 => {
                self.psram_path = None;
                let ok = self.gpio.write(off, v, now);
                self.radio_pins();
                (ok, "GPIO")
            }
            0x47 => (self.frc.write(off, v, now, self.apb_hz), "FRC"),
            0x48 => {
                let ok = self.rtc.write(off, v, now);
                if !self.rtc.requests.is_empty() {
                    // A software reset or sleep: the machine carries it out when the slice ends.
                    self.requests.append(&mut self.rtc.requests);
                    self.end_slice = true;
                }
                if off == crate::rtc_cntl::CLK_CONF {
                    self.end_slice = true;
                }
                (ok, "RTC_CNTL")
            }
            0x49 => {
                let ok = self.gpio.iomux.write(off, v);
                self.radio_pins();
                (ok, "IO_MUX")
            }
            0x4B => (self.sdio_host.write(off, v), "SDIO_HOST"),
            0x55 => (self.hinf.write(off, v), "HINF"),
            0x58 => (self.slc.write(off, v), "SLC"),
            0x4E => (self.ana_i2c.write(off, v), "ANA"),
            b if crate::radio::is_radio_block(b) => (self.rf.write(b, off, v), crate::radio::Radio::name(b)),
            0x4F => (self.i2s0.write(off & 0xFF, v), "I2S0"),
            0x6D => (self.i2s1.write(off & 0xFF, v), "I2S1"),
            0x5A => (self.efuse.write(off, v), "EFUSE"),
            0x56 => {
                let ok = self.rmt.write(off, v, now, self.apb_hz);
                self.sync_rmt(now);
                (ok, "RMT")
            }
            0x64 => (self.spi_gp_write(0, off, v, now), "SPI2"),
            0x65 => (self.spi_gp_write(1, off, v, now), "SPI3"),
            0x5F => (self.timg[0].write(off, v, now, self.apb_hz), "TIMG0"),
            0x60 => (self.timg[1].write(off, v, now, self.apb_hz), "TIMG1"),
            0x66 => {
                if off == 0 {
                    self.end_slice = true;
                }
                (self.apb.write(off, v), "APB_CTRL")
            }
            _ => (false, "unknown block"),
        };
        if ok {
            Ok(())
        } else {
            self.report(a, true, v, name).map(|_| ())
        }
    }

    /// After flash contents changed: decoded code mapped from the changed pages is stale.
    fn flash_dirty(&mut self) {
        let dirty = self.flash.take_dirty();
        if !dirty.is_empty() {
            self.cache.invalidate(memmap::IROM_BASE, memmap::IROM_END - memmap::IROM_BASE);
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
            self.cache.note_write(memmap::SRAM1_IBASE + (ioff & !3), 4);
        } else if (memmap::RTCF_DBASE..memmap::RTCF_DBASE + memmap::RTCF_SIZE).contains(&addr) {
            self.cache.note_write(addr - memmap::RTCF_DBASE + memmap::RTCF_IBASE, len);
        } else {
            self.cache.note_write(addr, len);
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
        &mut self.cache
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
        if self.uart.iter().any(|u| u.irq_settling(now)) {
            self.attention = true;
        }
        self.lines_for(core as usize)
    }
}
