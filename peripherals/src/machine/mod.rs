//! A whole board: the SoC, both cores and virtual time.
//!
//! Time advances in turns: the PRO core runs a turn's span of virtual time, then the APP
//! core runs the same span, then devices catch up. Which instruction runs when is a function
//! of virtual time and guest-visible inputs only (`docs/architecture.md`, "Time"):
//!
//! * A turn ends at the next line of a fixed grid of virtual time (every turn length from
//!   each whole millisecond on) or earlier at a device event; a turn ends early, too, when
//!   the firmware changes clocks or APP CPU control (time is re-planned). The host's deadline
//!   plays no part: a `run_until` returns at the first turn boundary at or after it
//!   (`now_ps` says where), a state an uninterrupted run passes through as well.
//! * The PRO core overshooting a turn (its last instruction stalled on a cache fill) is ahead
//!   by that many cycles next turn, so turn boundaries stay on plan; the APP core stopping
//!   short makes the cycles up next turn.
//! * A stop the host asked for (a hook, `strict`) pauses in the middle of a turn; the next
//!   `run_until` continues that turn exactly where it stopped.
//! * Host inputs (UART bytes, pad drives) carry a virtual time, are applied at the first turn
//!   boundary at or after it (a future one becomes a boundary) and are logged with the time
//!   they took effect (`input_log`), so a session can be replayed.
//!
//! Idle cores (WAITI) skip to the end of the turn at no cost.

pub mod fastpath;
pub mod host;
pub mod snapshot;

use crate::dport;
use crate::fastpath::{DelayLoop, Seen};
use crate::ws2812::Ws2812;
use crate::efuse::EfuseConfig;
use crate::flash::Flash;
use crate::gpio::Drive;
use images::rom::Rom;
use crate::reset::ResetCause;
use crate::soc::{Soc, SysRequest, Unmodelled};
use emulator::{Config, Cpu, Exit};
use thiserror::Error;
use crate::time::Ps;

#[derive(Debug, Error)]
pub enum MachineError {
    #[error("ROM image does not fit the memory map at {0:#010x}")]
    RomPlacement(u32),
}


/// Turn length (ps) while both cores run, and while only the PRO core does. Turns end on a
/// grid of these that restarts at every whole millisecond (of the board's crystal: with a
/// crystal some ppm off, the grid stretches with it, as every clock derived from it does,
/// so the cores' interleaving is the same in cycles). 19 µs is one of the lengths with
/// which every start-up path the tests take wins the firmware's LED/idle race
/// (docs/known-issues.md); any length is an approximation of two cores running at once.
const TURN_DUAL_PS: u64 = 19_000_000;
const TURN_SINGLE_PS: u64 = 500_000_000;
const MS_PS: u64 = 1_000_000_000;
/// A watchdog that resets the chip within this long of being enabled or fed was set up to
/// reset it: Pycom's `machine.reset()` and `pycom.bootmgr()` arm TIMG0's watchdog for ~1 ms.
const DELIBERATE_WDT_PS: u64 = 10 * MS_PS;
/// Cycles per turn during a cross-core handshake…
const FINE_QUANTUM: u64 = 2;
/// …which lasts this many cycles after the last store to a polled word.
const FINE_EPISODE: u64 = 2000;

/// Why `run_until` returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The deadline was reached.
    Deadline,
    /// A core reached a planted hook (stop address).
    Hook { core: usize, pc: u32 },
    /// `strict` is set and the firmware touched a register nobody models.
    Unmodelled(Report),
    /// The flash chip's armed power cut is due (`Flash::arm_cut`): the board has no power
    /// from the cut's time; the host applies it (`Flash::power_cut`) and powers on again.
    PowerCut,
}

/// An input from outside the board, applied at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum HostInput {
    /// A pad driven from outside (wins over pulls, loses to an output).
    Drive { gpio: u8, drive: Drive },
    /// Bytes on a UART's RX line; the first starts arriving at the input's time.
    Uart { uart: usize, bytes: Vec<u8> },
    /// EN (CHIP_PU) pulled low (`true`: the chip is held in reset) or released (`false`:
    /// the chip leaves reset `autoreset::EN_RISE_PS` later, straps latched then, unless EN
    /// is pulled low again first).
    En { low: bool },
    /// A power-on reset at once (a scenario's `reset` step): unlike an EN pulse it has no
    /// release delay, so a recording that replays it restarts the chip at the same instant.
    Reset,
}

/// A turn under way: both cores run the same span of virtual time, one after the other.
#[derive(Clone, Copy, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
struct Turn {
    /// Virtual time at the turn's start (ps) and each core's cycle counter then.
    start: u64,
    base: [u64; 2],
    /// Cycles planned; the PRO core stopping early (end of slice) shortens the turn.
    planned: u64,
    /// The turn's length in cycles, once the PRO core's part is over.
    len: Option<u64>,
    /// A core whose part a host stop interrupted: continue it rather than start it anew…
    interrupted: Option<usize>,
    /// …with the bus's view of its slice as it was.
    slice: Option<crate::soc::SliceState>,
}

/// An unmodelled register access, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Report {
    #[serde(with = "crate::snapshot::static_str")]
    pub block: crate::snapshot::Name,
    pub addr: u32,
    pub offset: u32,
    pub write: bool,
    pub value: u32,
    pub core: usize,
    pub pc: u32,
    pub symbol: Option<String>,
    /// For a declared register: the unmodelled bits the write set (None: the register
    /// itself is unmodelled).
    #[serde(default)]
    pub bits: Option<crate::soc::BitsReport>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.write { format!("write of {:#010x} to", self.value) } else { "read of".into() };
        match &self.bits {
            None => write!(
                f,
                "unmodelled register: {what} {} +{:#05x} ({:#010x}) by core {} at pc {:#010x}",
                self.block, self.offset, self.addr, self.core, self.pc
            )?,
            Some(b) => {
                let field = b.field.as_deref().map_or_else(|| "bits no field names".to_string(), |n| format!("field {n}"));
                write!(
                    f,
                    "unmodelled {field} (bits {:#010x}): {what} {} {} +{:#05x} ({:#010x}) by core {} at pc {:#010x}",
                    b.mask, self.block, b.register, self.offset, self.addr, self.core, self.pc
                )?
            }
        }
        if let Some(s) = &self.symbol {
            write!(f, " ({s})")?;
        }
        Ok(())
    }
}

pub struct MachineConfig {
    pub efuse: EfuseConfig,
    /// Stop on the first unmodelled register access.
    pub strict: bool,
    /// Seed of the deterministic RNG.
    pub seed: u64,
    /// External PSRAM on SPI CS1 in bytes (4 MiB on second-generation boards), 0 for none.
    pub psram_size: u32,
    /// The LPWAN radio and its wiring (`board::lora(board)`), None for none.
    pub radio: Option<crate::sx127x::Wiring>,
    /// The LTE modem, its network and its wiring (`board::lte(board)`), None for none.
    pub lte: Option<(crate::lte_modem::ModemConfig, crate::lte_modem::Wiring)>,
    /// What this board's silicon varies (crystal, RC slow clock, line fills, the APP core's
    /// start); `Timing::nominal()` unless a timing seed is given.
    pub timing: crate::timing::Timing,
}

impl Default for MachineConfig {
    /// A bare first-generation ESP32 module: chip revision 0, no PSRAM, no radio.
    fn default() -> Self {
        MachineConfig {
            efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 0, 0, 1], revision: 0 },
            strict: false,
            seed: 1,
            psram_size: 0,
            radio: None,
            lte: None,
            timing: crate::timing::Timing::nominal(),
        }
    }
}

impl MachineConfig {
    /// A Pycom board as shipped: its chip revision, PSRAM and LPWAN radio, with `mac`.
    pub fn for_board(board: &images::board::Board, mac: [u8; 6]) -> MachineConfig {
        MachineConfig {
            efuse: EfuseConfig { mac, revision: board.chip_revision },
            psram_size: board.psram_size,
            radio: crate::board::lora(board),
            lte: crate::board::lte(board).map(|w| (crate::lte_modem::ModemConfig::default(), w)),
            ..MachineConfig::default()
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Machine {
    pub cores: [Cpu; 2],
    pub soc: Soc,
    /// The mask ROM is the same on every board: a snapshot does not carry it.
    #[serde(skip, default = "Rom::esp32")]
    pub rom: &'static Rom,
    /// Virtual time (ps).
    pub now_ps: Ps,
    pub strict: bool,
    app_running: bool,
    /// Cycles each core is ahead of `now_ps` (the PRO core: its last instruction stalled past
    /// the turn's end) or, negative, behind it (the APP core: its part ended early).
    lead: [i64; 2],
    /// The turn under way when a host stop paused the machine in the middle of one.
    turn: Option<Turn>,
    /// Fine-grained turns until this virtual time (a cross-core handshake is under way).
    fine_until: u64,
    /// Every unmodelled access seen, in order.
    pub reports: Vec<Report>,
    /// UART0 bytes not yet taken by the host.
    pub uart0_out: Vec<u8>,
    /// Power-on and resets so far.
    pub resets: u32,
    /// Host inputs waiting for their virtual time (ps), in time order (ties: as scheduled).
    inputs: Vec<(u64, HostInput)>,
    /// Every host input applied so far, with the virtual time it took effect: scheduling
    /// these again on a fresh machine replays the session.
    pub input_log: Vec<(u64, HostInput)>,
    /// ROM busy-wait fast path (None when disabled or not recognised).
    delay_loop: Option<DelayLoop>,
    seen: [Seen; 2],
    /// The RGB LED on its data pin.
    pub led: Ws2812,
    pub led_pin: u8,
    /// Every output level change of every pad when `record_pins` is set: (ps, gpio, level).
    pub pin_trace: Vec<(u64, u8, bool)>,
    /// Every outside drive applied to a pad (power-on and scheduled): (ps, gpio, drive).
    pub drive_trace: Vec<(u64, u8, Drive)>,
    pub record_pins: bool,
    /// Pads where an outside drive fought an output (first time, per pad).
    pub contention: Vec<(u64, u8)>,
    /// In deep sleep: until this time (None: no wake-up source).
    deep_sleep: Option<Option<u64>>,
    /// Every reset since power-on: (virtual time ps, ROM reset cause of the PRO CPU).
    pub reset_log: Vec<(u64, u32)>,
    /// Indices into `reset_log` of watchdog resets the software asked for (the watchdog was
    /// armed ≤ 10 ms before): a reboot, not a hang.
    #[serde(default)]
    pub deliberate_resets: Vec<usize>,
    /// Held in reset by EN: until this time (None: EN still low).
    en_hold: Option<Option<u64>>,
    /// Cycles the APP core still waits after its release before its first instruction
    /// (`Timing::app_start_delay`).
    app_hold: u64,
}

impl Machine {
    /// A board with the given ROM (usually `Rom::esp32()`) and flash chip, powered on.
    pub fn new(rom: &'static Rom, flash: Flash, cfg: MachineConfig) -> Result<Machine, MachineError> {
        let mut soc = Soc::new(flash, &cfg.efuse, cfg.seed);
        soc.set_timing(cfg.timing);
        soc.psram = (cfg.psram_size > 0).then(|| crate::psram::Psram::new(cfg.psram_size));
        soc.lora = cfg.radio.map(crate::sx127x::Attached::new);
        soc.lte = cfg.lte.map(|(net, w)| crate::lte_modem::Attached::new(net, w));
        let mut m = Machine {
            cores: [Cpu::new(Config::esp32_pro()), Cpu::new(Config::esp32_app())],
            soc,
            rom,
            now_ps: 0,
            strict: cfg.strict,
            app_running: false,
            lead: [0; 2],
            turn: None,
            fine_until: 0,
            reports: Vec::new(),
            uart0_out: Vec::new(),
            resets: 0,
            inputs: Vec::new(),
            input_log: Vec::new(),
            delay_loop: None,
            seen: [Seen::default(); 2],
            led: Ws2812::new(),
            led_pin: crate::board::LED_GPIO,
            pin_trace: Vec::new(),
            drive_trace: Vec::new(),
            record_pins: false,
            contention: Vec::new(),
            deep_sleep: None,
            reset_log: Vec::new(),
            deliberate_resets: Vec::new(),
            en_hold: None,
            app_hold: 0,
        };
        m.set_fastpath(true);
        // The ROM as in silicon: ROM0 and the instruction-bus view of ROM1 (which also
        // backs ROM1's data-bus view), initialised-data images included.
        let image = m.rom.image();
        m.soc.load(images::rom::ROM_BASE, &image).map_err(MachineError::RomPlacement)?;
        Ok(m)
    }

    /// Turns the ROM busy-wait fast paths on or off (`--no-fastpath`).
    pub fn set_fastpath(&mut self, on: bool) {
        if let Some(d) = self.delay_loop.take() {
            self.soc.code_cache.remove_hook(d.head);
        }
        if on {
            self.delay_loop = fastpath::ets_delay_us(self.rom);
            if let Some(d) = self.delay_loop {
                self.soc.code_cache.add_hook(d.head);
            }
        }
    }

    /// Drives a pad from outside (wins over pulls, loses to an output), now; in the middle
    /// of a turn (a host stop), at the turn's end.
    pub fn set_drive(&mut self, gpio: u8, d: Drive) {
        self.schedule_input(self.now_ps, HostInput::Drive { gpio, drive: d });
    }

    /// Schedules a pad drive change at virtual time `at_ps`.
    pub fn schedule_drive(&mut self, at_ps: Ps, gpio: u8, d: Drive) {
        self.schedule_input(at_ps, HostInput::Drive { gpio, drive: d });
    }

    /// Sends bytes to UART `uart`'s receiver from virtual time `at_ps` on (one character
    /// time apart, at the rate the UART is set to then), whatever way the host slices time.
    pub fn uart_input_at(&mut self, uart: usize, at_ps: Ps, bytes: &[u8]) {
        assert!(uart < 3, "the ESP32 has UART0..UART2, not UART{uart}");
        self.schedule_input(at_ps, HostInput::Uart { uart, bytes: bytes.to_vec() });
    }

    /// Sends bytes to UART0's receiver, now (see `uart_input_at`).
    pub fn uart0_input(&mut self, bytes: &[u8]) {
        self.uart_input_at(0, self.now_ps, bytes);
    }

    /// Queues a host input for time `at` (after any queued for the same time); one due now
    /// is applied at once unless a turn is under way.
    pub fn schedule_input(&mut self, at: u64, input: HostInput) {
        let i = self.inputs.partition_point(|e| e.0 <= at);
        self.inputs.insert(i, (at, input));
        if self.turn.is_none() {
            self.apply_inputs();
        }
    }

    /// Applies the host inputs due by `now_ps`, at `now_ps` (a turn boundary).
    fn apply_inputs(&mut self) {
        let n = self.inputs.partition_point(|e| e.0 <= self.now_ps);
        if n == 0 {
            return;
        }
        let now = self.now_ps;
        // A UART's character time follows the clocks as the registers set them now.
        self.soc.update_clocks();
        for (_, input) in self.inputs.drain(..n).collect::<Vec<_>>() {
            match &input {
                HostInput::Drive { gpio, drive } => {
                    self.soc.gpio.drive[*gpio as usize] = *drive;
                    self.drive_trace.push((now, *gpio, *drive));
                }
                // A chip held in reset receives nothing.
                HostInput::Uart { .. } if self.en_hold.is_some() => {}
                HostInput::Uart { uart, bytes } => {
                    let apb = self.soc.apb_hz;
                    self.soc.uart[*uart].push_rx(bytes, now, apb);
                }
                HostInput::En { low: true } => {
                    if self.en_hold != Some(None) {
                        tracing::info!(now, "EN low: chip held in reset");
                    }
                    // Everything stops where it is; bytes on their way in are lost.
                    for c in &mut self.cores {
                        c.halted = true;
                    }
                    self.app_running = false;
                    self.deep_sleep = None;
                    for u in &mut self.soc.uart {
                        u.drop_rx();
                    }
                    self.en_hold = Some(None);
                }
                HostInput::En { low: false } => {
                    if self.en_hold == Some(None) {
                        self.en_hold = Some(Some(now + crate::autoreset::EN_RISE_PS));
                    }
                }
                HostInput::Reset => self.power_on(),
            }
            self.input_log.push((now, input));
        }
    }

    /// Power-on reset: every block (RTC domain included) at its reset value, watchdogs
    /// armed for flash boot, straps latched, cores reset, PRO core running, APP core held.
    pub fn power_on(&mut self) {
        self.system_reset(ResetCause::PowerOn);
    }

    /// Both cores from their reset vectors after a digital or chip reset: straps re-latched,
    /// the PRO core runs, the APP core is held in reset by DPORT (as the ROM expects).
    fn start_cores(&mut self, cause: ResetCause) {
        self.soc.gpio.latch_strap();
        self.soc.rtc.set_reset_cause(cause);
        for c in &mut self.cores {
            c.reset();
        }
        self.cores[0].halted = false;
        self.cores[1].halted = true;
        self.app_running = false;
        // A stall under way when the chip reset is gone with it; a turn a host stop paused
        // belongs to the old system.
        self.lead = [0; 2];
        self.turn = None;
        self.deep_sleep = None;
        self.resets += 1;
        self.reset_log.push((self.now_ps, cause.number()));
    }

    /// `name+off` for an address in the ROM.
    pub fn symbolize(&self, addr: u32) -> Option<String> {
        if (0x4000_0000..0x4007_0000).contains(&addr) {
            self.rom.symbols.describe(addr)
        } else {
            None
        }
    }

    fn take_report(&mut self, pc: u32) -> Option<Report> {
        let u: Unmodelled = self.soc.pending_report.take()?;
        let offset = u.addr & 0xFFF;
        let r = Report {
            block: u.block,
            addr: u.addr,
            offset,
            write: u.write,
            value: u.value,
            core: u.core,
            pc,
            symbol: self.symbolize(pc),
            bits: u.bits,
        };
        tracing::warn!("{r}");
        self.reports.push(r.clone());
        Some(r)
    }

    fn app_cpu_should_run(&self) -> bool {
        let d = &self.soc.dport.regs;
        !d.on(dport::APPCPU_CTRL_A, dport::APPCPU_CTRL_A::APPCPU_RESETTING)
            && d.on(dport::APPCPU_CTRL_B, dport::APPCPU_CTRL_B::APPCPU_CLKGATE_EN)
            && !d.on(dport::APPCPU_CTRL_C, dport::APPCPU_CTRL_C::APPCPU_RUNSTALL)
            && !self.soc.rtc.cpu_stalled(1)
    }

    /// Runs core `i` until its cycle counter reaches `target` or its part of the turn ends
    /// early (the firmware changed clocks, a store hit the other core's polled word); cycle
    /// `origin` is at virtual time `origin_ps`. `resume`: continue the run a host stop
    /// interrupted. Returns a stop the host must see.
    fn run_core(&mut self, i: usize, target: u64, origin_ps: Ps, origin: u64, mut resume: bool) -> Option<Stop> {
        if i == 0 && self.soc.rtc.cpu_stalled(0) {
            // Stalled through RTC_CNTL (esp_cpu_stall): time passes, nothing runs.
            let n = target.saturating_sub(self.cores[0].cycles);
            self.cores[0].advance_idle(n);
            return None;
        }
        loop {
            let exit = if std::mem::take(&mut resume) {
                // Even at the budget's end: the run looks at interrupts there first.
                self.cores[i].resume(&mut self.soc)
            } else {
                if self.cores[i].cycles >= target {
                    return None;
                }
                let at = origin_ps + self.soc.cycles_to_ps(self.cores[i].cycles - origin);
                self.soc.begin_slice(i, at, self.cores[i].cycles);
                self.cores[i].run(&mut self.soc, target - self.cores[i].cycles)
            };
            match exit {
                Exit::Budget => {
                    // The part is over unless an access that went through reported an
                    // unmodelled register on the way.
                    self.soc.pending_report.as_ref()?;
                    let pc = self.cores[i].pc;
                    if let Some(r) = self.take_report(pc) {
                        if self.strict {
                            return Some(Stop::Unmodelled(r));
                        }
                    }
                    resume = true;
                }
                Exit::BusStop(pc) => {
                    if let Some(r) = self.take_report(pc) {
                        if self.strict {
                            return Some(Stop::Unmodelled(r));
                        }
                    }
                    resume = true;
                }
                Exit::Hook(pc) => {
                    if let Some(d) = self.delay_loop.filter(|d| d.head == pc) {
                        // Not a stop: the loop's idle iterations skipped, the run goes on.
                        d.apply(&mut self.cores[i], &mut self.seen[i], target);
                        self.cores[i].step_over_hook(pc);
                        resume = true;
                        continue;
                    }
                    return Some(Stop::Hook { core: i, pc });
                }
            }
        }
    }

    /// Runs until virtual time `deadline_ps` or an earlier stop. Returns at the first turn
    /// boundary at or after the deadline (`now_ps`), whatever deadlines came before: how the
    /// host slices time changes nothing the guest does.
    pub fn run_until(&mut self, deadline_ps: Ps) -> Stop {
        while self.now_ps < deadline_ps {
            if self.turn.is_none() {
                if self.soc.flash.cut_time().is_some_and(|t| self.now_ps >= t) {
                    return Stop::PowerCut;
                }
                if let Some(release) = self.en_hold {
                    // Held in reset by EN: nothing runs; host inputs still arrive. The chip
                    // starts (a power-on reset, straps latched) once EN has risen.
                    let next_input = self.inputs.first().map(|e| e.0);
                    let until = [release, next_input, Some(deadline_ps)].into_iter().flatten().min().unwrap_or(deadline_ps);
                    self.now_ps = self.now_ps.max(until);
                    self.apply_inputs();
                    if let Some(Some(t)) = self.en_hold {
                        if t <= self.now_ps {
                            tracing::info!(t, "EN high: chip leaves reset");
                            self.en_hold = None;
                            self.system_reset(crate::reset::ResetCause::PowerOn);
                        }
                    }
                    continue;
                }
                if let Some(wake) = self.deep_sleep {
                    // Deep sleep: nothing runs until the wake-up time, then a deep-sleep reset;
                    // host inputs still arrive at their times.
                    let next_input = self.inputs.first().map(|e| e.0);
                    let cut = self.soc.flash.cut_time();
                    let until = [wake, next_input, Some(deadline_ps), cut].into_iter().flatten().min().unwrap_or(deadline_ps);
                    self.now_ps = self.now_ps.max(until);
                    self.apply_inputs();
                    if wake.is_some_and(|t| t <= self.now_ps) {
                        self.system_reset(ResetCause::DeepSleep);
                    }
                    continue;
                }
                self.turn = Some(self.plan_turn());
            }
            if let Some(stop) = self.run_turn() {
                return stop;
            }
        }
        Stop::Deadline
    }

    /// The next turn from `now_ps`: host inputs due now applied, its end planned.
    fn plan_turn(&mut self) -> Turn {
        self.soc.update_clocks();
        self.apply_inputs();
        let now = self.now_ps;
        // Both cores run in turns: long ones normally, ending on a fixed grid of virtual time;
        // while they hand something to each other (a store hit the word the other core spins
        // on) short ones for a while, so each sees the other's stores within a few
        // instructions, as on silicon.
        let grid = self.crystal_ps(if self.app_running { TURN_DUAL_PS } else { TURN_SINGLE_PS });
        // The grid restarts at every whole millisecond, so round times are turn boundaries.
        let ms_ps = self.crystal_ps(MS_PS);
        let ms = now / ms_ps * ms_ps;
        let mut end = (ms + ((now - ms) / grid + 1) * grid).min(ms + ms_ps);
        if self.app_running && now < self.fine_until {
            end = end.min(now + self.soc.cycles_to_ps(FINE_QUANTUM));
        }
        if let Some(&(t, _)) = self.inputs.first() {
            end = end.min(t.max(now + 1));
        }
        // Every block's and part's next event, from the SoC's table.
        if let Some(t) = self.soc.next_event(now) {
            end = end.min(t.max(now + 1));
        }
        Turn {
            start: now,
            base: [self.cores[0].cycles, self.cores[1].cycles],
            planned: self.soc.ps_to_cycles_ceil(end - now).max(1),
            len: None,
            interrupted: None,
            slice: None,
        }
    }

    /// A span of `ps` at the nominal 40 MHz crystal, in this board's crystal cycles.
    fn crystal_ps(&self, ps: u64) -> u64 {
        let x = self.soc.timing.xtal_hz;
        if x == crate::soc::XTAL_HZ {
            ps
        } else {
            (ps as u128 * crate::soc::XTAL_HZ as u128 / x as u128) as u64
        }
    }

    /// Virtual time `lead` cycles after (negative: before) `t`.
    fn lead_ps(&self, t: u64, lead: i64) -> u64 {
        let d = self.soc.cycles_to_ps(lead.unsigned_abs());
        if lead >= 0 {
            t + d
        } else {
            t.saturating_sub(d)
        }
    }

    /// Runs the turn under way to its end; returns a host stop that paused it instead.
    fn run_turn(&mut self) -> Option<Stop> {
        let mut t = self.turn.expect("a turn is under way");
        // Each core's part watches the word the other core spins on (see `Soc::watch`).
        let shared = |a: Option<u32>| a.filter(|a| (0x3FFA_E000..0x4000_0000).contains(a) || (0x3F80_0000..0x3FC0_0000).contains(a)).unwrap_or(u32::MAX);
        if t.len.is_none() {
            let lead = self.lead[0];
            let target = t.base[0] + (t.planned as i64 - lead).max(0) as u64;
            let origin_ps = self.lead_ps(t.start, lead);
            let resume = self.begin_part(&t, 0, if self.app_running { shared(self.cores[1].spin_addr) } else { u32::MAX });
            if let Some(s) = self.run_core(0, target, origin_ps, t.base[0], resume) {
                return Some(self.pause_turn(t, 0, origin_ps, s));
            }
            let ran = (self.cores[0].cycles - t.base[0]) as i64;
            // The PRO core stopping short ends the turn there (time is re-planned).
            let len = if self.cores[0].cycles < target { lead + ran } else { t.planned as i64 };
            self.lead[0] = lead + ran - len;
            t.len = Some(len as u64);
            t.interrupted = None;
        }
        let len = t.len.expect("the PRO core's part is over");
        if self.app_running {
            // The APP core runs the same span (less what remains of its start delay).
            let hold = self.app_hold.min(len);
            let lead = self.lead[1] + hold as i64;
            let target = t.base[1] + (len as i64 - lead).max(0) as u64;
            let origin_ps = self.lead_ps(t.start, lead);
            let resume = self.begin_part(&t, 1, shared(self.cores[0].spin_addr));
            if let Some(s) = self.run_core(1, target, origin_ps, t.base[1], resume) {
                return Some(self.pause_turn(t, 1, origin_ps, s));
            }
            self.app_hold -= hold;
            // It makes up cycles it owes (its part ended early), but a stall that carried it
            // past the turn's end is not charged: as before, its CCOUNT gains those cycles
            // (docs/known-issues.md: charging them loses the firmware's start-up race).
            self.lead[1] = (lead + (self.cores[1].cycles - t.base[1]) as i64 - len as i64).min(0);
            self.soc.watch = u32::MAX;
        } else {
            self.cores[1].advance_idle(len);
        }
        self.turn = None;
        self.advance(t.start, len);
        if std::mem::take(&mut self.soc.watch_hit) {
            self.fine_until = self.now_ps + self.soc.cycles_to_ps(FINE_EPISODE);
        }
        None
    }

    /// Before core `i`'s part of turn `t`: true when it continues after a host stop (its
    /// slice as the bus saw it put back), else the part starts watching `watch`.
    fn begin_part(&mut self, t: &Turn, i: usize, watch: u32) -> bool {
        match (t.interrupted, t.slice) {
            (Some(c), Some(slice)) if c == i => {
                self.soc.restore_slice(slice);
                true
            }
            _ => {
                self.soc.watch = watch;
                false
            }
        }
    }

    /// A host stop in core `i`'s part of turn `t`: keep the turn to continue it, and show the
    /// host the stopped core's time.
    fn pause_turn(&mut self, mut t: Turn, i: usize, origin_ps: Ps, s: Stop) -> Stop {
        t.interrupted = Some(i);
        t.slice = Some(self.soc.save_slice());
        self.turn = Some(t);
        self.now_ps = origin_ps + self.soc.cycles_to_ps(self.cores[i].cycles - t.base[i]);
        s
    }

    fn advance(&mut self, start: u64, cycles: u64) {
        self.now_ps = start + self.soc.cycles_to_ps(cycles);
        let now = self.now_ps;
        self.soc.sync_uarts(now);
        self.uart0_out.append(&mut self.soc.uart[0].tx_out);
        // Timers, watchdogs and the RMT up to now (a watchdog due now resets below).
        self.soc.next_event(now);
        self.collect_pins(now);
        // APP CPU released from (or put back into) reset through DPORT.
        let run = self.app_cpu_should_run();
        if run && !self.app_running {
            self.cores[1].reset();
            self.cores[1].halted = false;
            self.lead[1] = 0;
            self.app_hold = self.soc.timing.app_start_delay;
        } else if !run && self.app_running {
            self.cores[1].halted = true;
        }
        self.app_running = run;
        for req in std::mem::take(&mut self.soc.requests) {
            tracing::debug!(now, ?req, "system request");
            match req {
                SysRequest::SystemReset => self.system_reset(ResetCause::Sw),
                SysRequest::Reset(cause) => {
                    let group = match cause {
                        ResetCause::Tg0WdtSys => Some(0),
                        ResetCause::Tg1WdtSys => Some(1),
                        _ => None,
                    };
                    if group.is_some_and(|g| self.soc.timg[g].wdt_armed_for(now) <= DELIBERATE_WDT_PS) {
                        self.deliberate_resets.push(self.reset_log.len());
                    }
                    self.system_reset(cause)
                }
                SysRequest::CpuReset { pro, app, cause } => self.cpu_reset(pro, app, cause),
                SysRequest::DeepSleep { wake_at } => {
                    for c in &mut self.cores {
                        c.halted = true;
                    }
                    self.app_running = false;
                    self.deep_sleep = Some(wake_at);
                }
            }
            if !matches!(req, SysRequest::CpuReset { .. }) {
                // Whatever else was asked in the same slice belongs to the old system.
                break;
            }
        }
    }

    /// Feeds pad output changes to the LED and the pin trace; notes contention.
    fn collect_pins(&mut self, now: Ps) {
        for (t, pin, level) in std::mem::take(&mut self.soc.gpio.edges) {
            if pin == self.led_pin {
                self.led.edge(t, level);
            }
            if self.record_pins {
                self.pin_trace.push((t, pin, level));
            }
        }
        self.led.idle(now);
        let en = self.soc.gpio.enable_bits();
        let out = self.soc.gpio.out_bits();
        for p in 0..crate::gpio::NUM_PINS {
            let want = match self.soc.gpio.drive[p] {
                Drive::Float => continue,
                Drive::High => true,
                Drive::Low => false,
            };
            if en >> p & 1 != 0 && (out >> p & 1 != 0) != want && !self.contention.iter().any(|c| c.1 == p as u8) {
                tracing::warn!(gpio = p, "pin contention: an outside drive fights the chip's output (the output wins)");
                self.contention.push((now, p as u8));
            }
        }
    }

    /// Stops the cores before the instruction at `addr` (a host stop, `Stop::Hook`).
    pub fn add_hook(&mut self, addr: u32) {
        self.soc.code_cache.add_hook(addr);
    }

    /// Takes the hook at `addr` away.
    pub fn remove_hook(&mut self, addr: u32) {
        self.soc.code_cache.remove_hook(addr);
    }

    /// Whether `addr` has a hook.
    pub fn is_hook(&self, addr: u32) -> bool {
        self.soc.code_cache.is_hook(addr)
    }

    /// The board's LTE modem and its wiring, if it has one.
    pub fn lte(&self) -> Option<&crate::lte_modem::Attached> {
        self.soc.lte.as_ref()
    }

    /// The board's LoRa chip and its wiring, if it has one.
    pub fn lora(&self) -> Option<&crate::sx127x::Attached> {
        self.soc.lora.as_ref()
    }

    /// The Pycom boot record in otadata (the third partition-table entry), if readable.
    pub fn boot_record(&self) -> Option<images::boot_info::BootRecord> {
        let data = self.soc.flash.data();
        let table = images::partition::PartitionTable::parse(data.get(0x8000..0x8C00)?).ok()?;
        let p = table.otadata()?;
        let off = p.offset as usize;
        images::boot_info::BootInfo::read(data.get(off..off + images::boot_info::RECORD_LEN)?).ok()
    }

    /// Flash offset of the app image the PRO core's cache maps at 0x3F40_0000 (the
    /// bootloader maps the booted image's first data segment there), if any.
    pub fn booted_image_offset(&self) -> Option<u32> {
        let e = self.soc.dport.mmu[0][0];
        (!crate::dport::MMU_INVALID.on(e)).then_some(crate::dport::MMU_PAGE.get(e) << 16)
    }

    /// A reset with ROM reset cause `cause`, at the current virtual time, as the chip does it
    /// (TRM "Reset and Clock"):
    ///
    /// * 1 POWERON, 16 RTCWDT_RTC_RESET (chip/system reset): everything, the RTC domain
    ///   included, back to reset values; flash boot watchdogs armed.
    /// * 3 SW_RESET, 7/8 TG0/TG1WDT_SYS_RESET, 9 RTCWDT_SYS_RESET, 15 RTCWDT_BROWN_OUT_RESET
    ///   (core reset): the digital domain reset (`Soc::reset_digital`: peripherals, DPORT,
    ///   flash MMU and caches, decoded code); RTC_CNTL keeps its registers (store registers,
    ///   RWDT configuration, RTC timer) except the clock mux, which returns to XTAL; SRAM and
    ///   RTC memories kept, as on silicon.
    /// * 5 DEEPSLEEP_RESET: a core reset after the digital domain was powered down: internal
    ///   SRAM is lost (zeroed here), RTC memories kept.
    /// * 11..14 (CPU resets): see `cpu_reset`; both cores.
    ///
    /// In every case the straps are re-latched and the PRO core starts at its reset vector
    /// with the APP core held. The cause is readable in RTC_CNTL RESET_STATE (both cores).
    pub fn system_reset(&mut self, cause: ResetCause) {
        let now = self.now_ps;
        tracing::info!(?cause, now, "reset");
        match cause {
            c if c.is_cpu_reset() => return self.cpu_reset(true, true, cause),
            ResetCause::PowerOn | ResetCause::RtcWdtRtc => {
                self.soc.reset_digital(now);
                self.soc.rtc.power_on(now);
            }
            _ => {
                self.soc.reset_digital(now);
                self.soc.rtc.digital_reset();
                if cause == ResetCause::DeepSleep {
                    let sram = crate::memmap::SRAM0_OFF as usize..(crate::memmap::SRAM2_OFF + crate::memmap::SRAM2_SIZE) as usize;
                    self.soc.mem[sram].fill(0);
                }
            }
        }
        // Flash boot protection runs only when the straps select SPI flash boot (GPIO0 high).
        self.soc.gpio.latch_strap();
        let spi_boot = crate::gpio::STRAP::GPIO0.on(self.soc.gpio.strap);
        self.soc.timg[0].set_flash_boot(spi_boot, now);
        self.soc.rtc.set_flash_boot(spi_boot, now);
        self.soc.update_clocks();
        self.start_cores(cause);
    }

    /// A CPU reset (software `RTC_CNTL_SW_PROCPU_RST`/`SW_APPCPU_RST`, or a watchdog's CPU
    /// reset stage): only the named cores restart from their reset vectors; peripherals,
    /// DPORT (so whether the APP core may run) and memory are untouched. Each reset core
    /// reads `cause` as its reset reason.
    pub fn cpu_reset(&mut self, pro: bool, app: bool, cause: ResetCause) {
        tracing::info!(pro, app, ?cause, now = self.now_ps, "CPU reset");
        for (i, on) in [(0, pro), (1, app)] {
            if on {
                self.cores[i].reset();
                self.lead[i] = 0;
                self.soc.rtc.set_core_reset_cause(i, cause);
            }
        }
        self.resets += 1;
        self.reset_log.push((self.now_ps, if pro { cause.number() } else { 0 }));
    }

    /// Held in reset by EN (low, or released and still rising).
    pub fn in_reset(&self) -> bool {
        self.en_hold.is_some()
    }

    /// Takes the host inputs scheduled and not yet applied (to carry them over to a
    /// rebuilt machine).
    pub fn take_scheduled_inputs(&mut self) -> Vec<(u64, HostInput)> {
        std::mem::take(&mut self.inputs)
    }
}
