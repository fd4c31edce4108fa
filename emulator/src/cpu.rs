//! The LX6 core: architectural state and the interpreter loop.
//!
//! Design for speed: instructions are decoded once into the bus's [`CodeCache`]; the loop
//! reads an [`Insn`] by value, dispatches on `op`, and touches nothing else unless
//! `cycles` reaches `next_event` (timer match, run budget, interrupt re-check). No
//! allocation, locking or formatting happens per instruction.
//!
//! Timing model: one cycle per instruction. CCOUNT is `cycles + ccount_offset`.

use crate::bus::{Bus, MemFault};
use crate::codecache::CodeCache;
use crate::decode::{decode, Insn, Op, B4CONST, B4CONSTU, WQ_ENTRY};
use crate::regs::{cause, debugcause, ps, sr, ur, vec};

/// Configuration options of a core that differ between the ESP32 and other LX cores
/// (used to compare against other Xtensa configurations in tests).
#[derive(Clone, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// Value of PRID: 0xCDCD on the ESP32's PRO core, 0xABAB on the APP core.
    pub prid: u32,
    /// Index used when asking the bus for interrupt lines.
    pub core_id: u8,
    /// Extended L32R (LITBASE register). The ESP32 does not have it.
    pub litbase: bool,
    /// Number of protection rings (1 on the ESP32: nothing is ever privileged).
    pub rings: u8,
    /// Unaligned loads/stores raise LoadStoreAlignment (the ESP32 handles them in hardware).
    pub unaligned_exception: bool,
    /// Level of each of the 32 interrupts.
    pub int_level: [u8; 32],
    /// Interrupt numbers by type.
    pub int_software: u32,
    pub int_edge: u32,
    pub int_nmi: u32,
    /// Interrupt numbers of CCOMPARE0..2.
    pub timer_int: [u8; 3],
    pub excm_level: u32,
    pub debug_level: u32,
    pub nmi_level: u32,
    pub reset_vector: u32,
    pub vecbase_reset: u32,
    pub configid0: u32,
    pub configid1: u32,
}

impl Config {
    /// The ESP32's LX6 (core-isa.h of esp32_v3_49_prod), PRO core.
    pub fn esp32_pro() -> Config {
        let levels = [
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 7, 3, 5, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 3, 4, 3, 4, 5,
        ];
        Config {
            prid: 0xCDCD,
            core_id: 0,
            litbase: false,
            rings: 1,
            unaligned_exception: false,
            int_level: levels,
            int_software: 0x2000_0080,
            int_edge: 0x5040_0400,
            int_nmi: 0x0000_4000,
            timer_int: [6, 15, 16],
            excm_level: 3,
            debug_level: 6,
            nmi_level: 7,
            reset_vector: 0x4000_0400,
            vecbase_reset: 0x4000_0000,
            configid0: 0xC2BC_FFFE,
            configid1: 0x1CC5_FE96,
        }
    }

    /// The ESP32's APP core.
    pub fn esp32_app() -> Config {
        Config { prid: 0xABAB, core_id: 1, ..Config::esp32_pro() }
    }
}

/// Why `run` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The cycle budget is used up.
    Budget,
    /// A host hook was reached; the instruction at the address has not run.
    Hook(u32),
    /// The bus asked to stop before the access of the instruction at this address
    /// (`MemFault::Stop`); the instruction has not run.
    BusStop(u32),
}

/// An exception raised while executing an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exc {
    pub cause: u32,
    /// EXCVADDR to set, for memory faults.
    pub vaddr: Option<u32>,
}

impl Exc {
    #[inline(always)]
    pub fn new(cause: u32) -> Exc {
        Exc { cause, vaddr: None }
    }
    #[inline(always)]
    pub fn mem(cause: u32, vaddr: u32) -> Exc {
        Exc { cause, vaddr: Some(vaddr) }
    }
}

/// Result of executing one instruction: `Ok(None)` falls through, `Ok(Some(t))` jumps.
pub type Flow = Result<Option<u32>, Exc>;

/// Callback invoked before each instruction when tracing: (core, pc, instruction).
pub type Tracer = Box<dyn FnMut(&Cpu, u32, Insn)>;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Cpu {
    pub config: Config,
    pub pc: u32,
    /// The 64 physical address registers.
    #[serde(with = "serde_big_array::BigArray")]
    pub ar: [u32; 64],
    pub windowbase: u32,
    pub windowstart: u32,
    pub ps: u32,
    pub sar: u32,
    pub lbeg: u32,
    pub lend: u32,
    pub lcount: u32,
    pub litbase: u32,
    pub scompare1: u32,
    pub atomctl: u32,
    /// MAC16 accumulator (40 bits) and M0..M3.
    pub acc: u64,
    pub m: [u32; 4],
    /// Boolean registers b0..b15.
    pub br: u32,
    /// FP registers f0..f15 (raw single-precision bits), FCR and FSR.
    pub fr: [u32; 16],
    pub fcr: u32,
    pub fsr: u32,
    pub threadptr: u32,
    pub f64r_lo: u32,
    pub f64r_hi: u32,
    pub f64s: u32,
    pub epc: [u32; 8],
    pub eps: [u32; 8],
    pub excsave: [u32; 8],
    pub depc: u32,
    pub exccause: u32,
    pub excvaddr: u32,
    pub vecbase: u32,
    pub cpenable: u32,
    pub intenable: u32,
    /// Latched interrupt bits (software, edge-triggered, timers). Level lines are separate.
    pub interrupt: u32,
    /// External interrupt lines as last reported by the bus.
    pub irq_lines: u32,
    pub ccompare: [u32; 3],
    pub ccount_offset: u32,
    pub debugcause: u32,
    pub ibreakenable: u32,
    pub ibreaka: [u32; 2],
    pub dbreaka: [u32; 2],
    pub dbreakc: [u32; 2],
    pub icount: u32,
    pub icountlevel: u32,
    pub ddr: u32,
    pub memctl: u32,
    pub misc: [u32; 4],
    /// Region protection attributes, 8 regions of 512 MiB, instruction and data side.
    pub itlb_attr: [u8; 8],
    pub dtlb_attr: [u8; 8],
    /// Cycles executed since reset (the virtual time base of this core).
    pub cycles: u64,
    /// Instructions retired since reset.
    pub instret: u64,
    /// Set by WAITI until an interrupt is taken.
    pub waiting: bool,
    /// When set, the core is held (e.g. the APP core in reset): `run` only advances time.
    pub halted: bool,
    /// Cycle at which the slow path must run.
    next_event: u64,
    /// End of the current `run` budget.
    budget_end: u64,
    /// Absolute cycle of each CCOMPARE's next match.
    timer_due: [u64; 3],
    /// Regions (bit per 512 MiB region) where loads/stores and fetches are prohibited.
    dprot: u8,
    iprot: u8,
    /// Address of a hook the host asked to step over.
    resume_hook: Option<u32>,
    /// Spin detection: the last data address loaded, the target of the last backward
    /// taken branch and how many times in a row it was taken.
    last_load: u32,
    /// The 32-byte line instructions were last fetched from (cache timing).
    fetch_line: u32,
    spin_target: u32,
    spin_count: u32,
    /// The word this core keeps polling in a tight loop, once it has looped long enough:
    /// a host running two cores lets the poller see another core's store to it at once.
    pub spin_addr: Option<u32>,
    /// Host-side observer: not part of a snapshot.
    #[serde(skip)]
    pub tracer: Option<Tracer>,
}

const RESET_ATTR: u8 = 2;

/// Iterations of the same backward branch, with no store in between, after which a loop
/// counts as spinning (polling memory another agent will change).
const SPIN_THRESHOLD: u32 = 1;

/// Pseudo-cause carried by `Exc` when the bus asked the host to stop (never reaches the
/// guest: the run loop turns it into `Exit::BusStop`).
pub const HOST_STOP: u32 = 0x100;

impl Cpu {
    pub fn new(config: Config) -> Cpu {
        let mut cpu = Cpu {
            config,
            pc: 0,
            ar: [0; 64],
            windowbase: 0,
            windowstart: 1,
            ps: 0x1F,
            sar: 0,
            lbeg: 0,
            lend: 0,
            lcount: 0,
            litbase: 0,
            scompare1: 0,
            atomctl: 0x28,
            acc: 0,
            m: [0; 4],
            br: 0,
            fr: [0; 16],
            fcr: 0,
            fsr: 0,
            threadptr: 0,
            f64r_lo: 0,
            f64r_hi: 0,
            f64s: 0,
            epc: [0; 8],
            eps: [0; 8],
            excsave: [0; 8],
            depc: 0,
            exccause: 0,
            excvaddr: 0,
            vecbase: 0,
            cpenable: 0,
            intenable: 0,
            interrupt: 0,
            irq_lines: 0,
            ccompare: [0; 3],
            ccount_offset: 0,
            debugcause: 0,
            ibreakenable: 0,
            ibreaka: [0; 2],
            dbreaka: [0; 2],
            dbreakc: [0; 2],
            icount: 0,
            icountlevel: 0,
            ddr: 0,
            memctl: 0,
            misc: [0; 4],
            itlb_attr: [RESET_ATTR; 8],
            dtlb_attr: [RESET_ATTR; 8],
            cycles: 0,
            instret: 0,
            waiting: false,
            halted: false,
            next_event: 0,
            budget_end: 0,
            timer_due: [u64::MAX; 3],
            dprot: 0,
            iprot: 0,
            resume_hook: None,
            last_load: 0,
            fetch_line: u32::MAX,
            spin_target: 0,
            spin_count: 0,
            spin_addr: None,
            tracer: None,
        };
        cpu.reset();
        cpu
    }

    /// Power-on / core reset: the state the ISA defines at reset. Time keeps running.
    pub fn reset(&mut self) {
        self.pc = self.config.reset_vector;
        self.fetch_line = u32::MAX;
        self.windowbase = 0;
        self.windowstart = 1;
        self.ps = 0x1F;
        self.vecbase = self.config.vecbase_reset;
        self.intenable = 0;
        self.interrupt = 0;
        self.cpenable = 0;
        self.lcount = 0;
        self.litbase = 0;
        self.ibreakenable = 0;
        self.dbreakc = [0; 2];
        self.icountlevel = 0;
        self.debugcause = 0;
        self.atomctl = 0x28;
        self.itlb_attr = [RESET_ATTR; 8];
        self.dtlb_attr = [RESET_ATTR; 8];
        self.update_protection();
        self.waiting = false;
        self.ccount_offset = 0u32.wrapping_sub(self.cycles as u32);
        self.recompute_timers();
        self.next_event = 0;
    }

    // ---------------------------------------------------------------- registers

    /// Logical address register `a{n}` through the current window.
    #[inline(always)]
    pub fn ar(&self, n: usize) -> u32 {
        self.ar[(self.windowbase as usize * 4 + n) & 63]
    }

    #[inline(always)]
    pub fn set_ar(&mut self, n: usize, v: u32) {
        self.ar[(self.windowbase as usize * 4 + n) & 63] = v;
    }

    #[inline(always)]
    fn a(&self, n: u8) -> u32 {
        self.ar[(self.windowbase as usize * 4 + n as usize) & 63]
    }

    #[inline(always)]
    fn set_a(&mut self, n: u8, v: u32) {
        self.ar[(self.windowbase as usize * 4 + n as usize) & 63] = v;
    }

    /// Current CCOUNT.
    #[inline(always)]
    pub fn ccount(&self) -> u32 {
        (self.cycles as u32).wrapping_add(self.ccount_offset)
    }

    /// Pending interrupts as INTERRUPT reads them.
    #[inline(always)]
    pub fn pending(&self) -> u32 {
        // NMI is edge-triggered: only its latched bit counts, never the raw line level.
        self.interrupt
            | (self.irq_lines
                & !(self.config.int_edge | self.config.int_software | self.config.int_nmi))
    }

    /// Ring the core currently runs in (0 while PS.EXCM is set).
    #[inline(always)]
    fn cring(&self) -> u32 {
        if self.ps & ps::EXCM != 0 {
            0
        } else {
            (self.ps & ps::RING) >> ps::RING_SHIFT
        }
    }

    #[inline(always)]
    fn privileged(&self) -> Result<(), Exc> {
        if self.cring() != 0 {
            Err(Exc::new(cause::PRIVILEGED))
        } else {
            Ok(())
        }
    }

    /// Reads a special register as RSR does (None: no such register in this configuration).
    pub fn read_sr(&self, n: u32) -> Option<u32> {
        Some(match n {
            sr::LBEG => self.lbeg,
            sr::LEND => self.lend,
            sr::LCOUNT => self.lcount,
            sr::SAR => self.sar,
            sr::BR => self.br,
            sr::LITBASE if self.config.litbase => self.litbase,
            sr::SCOMPARE1 => self.scompare1,
            sr::ACCLO => self.acc as u32,
            sr::ACCHI => (((self.acc >> 32) as u8) as i8) as i32 as u32,
            32..=35 => self.m[(n - 32) as usize],
            sr::WINDOWBASE => self.windowbase,
            sr::WINDOWSTART => self.windowstart,
            sr::IBREAKENABLE => self.ibreakenable,
            sr::MEMCTL => self.memctl,
            sr::ATOMCTL => self.atomctl,
            sr::DDR => self.ddr,
            128 | 129 => self.ibreaka[(n - 128) as usize],
            144 | 145 => self.dbreaka[(n - 144) as usize],
            160 | 161 => self.dbreakc[(n - 160) as usize],
            sr::CONFIGID0 => self.config.configid0,
            177..=183 => self.epc[(n - 176) as usize],
            sr::DEPC => self.depc,
            194..=199 => self.eps[(n - 192) as usize],
            sr::CONFIGID1 => self.config.configid1,
            209..=215 => self.excsave[(n - 208) as usize],
            sr::CPENABLE => self.cpenable,
            sr::INTERRUPT => self.pending(),
            sr::INTENABLE => self.intenable,
            sr::PS => self.ps,
            sr::VECBASE => self.vecbase,
            sr::EXCCAUSE => self.exccause,
            sr::DEBUGCAUSE => self.debugcause,
            sr::CCOUNT => self.ccount(),
            sr::PRID => self.config.prid,
            sr::ICOUNT => self.icount,
            sr::ICOUNTLEVEL => self.icountlevel,
            sr::EXCVADDR => self.excvaddr,
            240..=242 => self.ccompare[(n - 240) as usize],
            244..=247 => self.misc[(n - 244) as usize],
            _ => return None,
        })
    }

    /// Writes a special register as WSR does. Returns false if the register does not exist
    /// or cannot be written.
    pub fn write_sr(&mut self, n: u32, v: u32) -> bool {
        match n {
            sr::LBEG => self.lbeg = v,
            sr::LEND => self.lend = v,
            sr::LCOUNT => self.lcount = v,
            sr::SAR => self.sar = v & 0x3F,
            sr::BR => self.br = v & 0xFFFF,
            sr::LITBASE if self.config.litbase => self.litbase = v & 0xFFFF_F001,
            sr::SCOMPARE1 => self.scompare1 = v,
            sr::ACCLO => self.acc = (self.acc & !0xFFFF_FFFF) | v as u64,
            sr::ACCHI => self.acc = (self.acc & 0xFFFF_FFFF) | (((v & 0xFF) as u64) << 32),
            32..=35 => self.m[(n - 32) as usize] = v,
            sr::WINDOWBASE => self.windowbase = v & 0xF,
            sr::WINDOWSTART => self.windowstart = v & 0xFFFF,
            sr::IBREAKENABLE => self.ibreakenable = v & 3,
            sr::MEMCTL => self.memctl = v,
            sr::ATOMCTL => self.atomctl = v & 0x3F,
            sr::DDR => self.ddr = v,
            128 | 129 => self.ibreaka[(n - 128) as usize] = v,
            144 | 145 => self.dbreaka[(n - 144) as usize] = v,
            160 | 161 => self.dbreakc[(n - 160) as usize] = v & 0xC000_003F,
            177..=183 => self.epc[(n - 176) as usize] = v,
            sr::DEPC => self.depc = v,
            194..=199 => self.eps[(n - 192) as usize] = v & ps::MASK,
            209..=215 => self.excsave[(n - 208) as usize] = v,
            sr::CPENABLE => self.cpenable = v & 0xFF,
            sr::INTERRUPT => {
                self.interrupt |= v & self.config.int_software;
                self.next_event = 0;
            }
            sr::INTCLEAR => {
                self.interrupt &= !(v & (self.config.int_software | self.config.int_edge));
                self.next_event = 0;
            }
            sr::INTENABLE => {
                self.intenable = v;
                self.next_event = 0;
            }
            sr::PS => self.set_ps(v),
            sr::VECBASE => self.vecbase = v & !0x3FF,
            sr::EXCCAUSE => self.exccause = v & 0x3F,
            sr::DEBUGCAUSE => {}
            sr::CCOUNT => {
                self.ccount_offset = v.wrapping_sub(self.cycles as u32);
                self.recompute_timers();
            }
            sr::ICOUNT => self.icount = v,
            sr::ICOUNTLEVEL => self.icountlevel = v & 0xF,
            sr::EXCVADDR => self.excvaddr = v,
            240..=242 => {
                let i = (n - 240) as usize;
                self.ccompare[i] = v;
                // Writing CCOMPAREn clears its pending interrupt.
                self.interrupt &= !(1 << self.config.timer_int[i]);
                self.recompute_timers();
            }
            244..=247 => self.misc[(n - 244) as usize] = v,
            _ => return false,
        }
        true
    }

    #[inline(always)]
    fn set_ps(&mut self, v: u32) {
        let mut v = v & ps::MASK;
        if self.config.rings <= 1 {
            v &= !ps::RING;
        }
        self.ps = v;
        self.next_event = 0;
    }

    /// Reads a user register as RUR does.
    pub fn read_ur(&self, n: u32) -> Option<u32> {
        Some(match n {
            ur::THREADPTR => self.threadptr,
            ur::FCR => self.fcr,
            ur::FSR => self.fsr,
            ur::F64R_LO => self.f64r_lo,
            ur::F64R_HI => self.f64r_hi,
            ur::F64S => self.f64s,
            _ => return None,
        })
    }

    pub fn write_ur(&mut self, n: u32, v: u32) -> bool {
        match n {
            ur::THREADPTR => self.threadptr = v,
            ur::FCR => self.fcr = v & 0xFFF,
            ur::FSR => self.fsr = v & 0xF80,
            ur::F64R_LO => self.f64r_lo = v,
            ur::F64R_HI => self.f64r_hi = v,
            ur::F64S => self.f64s = v,
            _ => return false,
        }
        true
    }

    // ---------------------------------------------------------------- time

    fn recompute_timers(&mut self) {
        let now = self.ccount();
        for i in 0..3 {
            let delta = self.ccompare[i].wrapping_sub(now) as u64;
            let delta = if delta == 0 { 1 << 32 } else { delta };
            self.timer_due[i] = self.cycles + delta;
        }
        self.next_event = 0;
    }

    /// Cycle of the next CCOMPARE match (for host-side fast paths that skip time).
    pub fn next_timer_due(&self) -> u64 {
        *self.timer_due.iter().min().unwrap()
    }

    /// True when an interrupt is pending that the core would take now.
    pub fn interrupt_ready(&self) -> bool {
        let pending = (self.pending() & self.intenable) | (self.interrupt & self.config.int_nmi);
        let mut bits = pending;
        let mut best = 0u32;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            best = best.max(self.config.int_level[i as usize] as u32);
        }
        best != 0 && (best == self.config.nmi_level || best > self.mask_level())
    }

    /// Skips `cycles` cycles of a busy-wait loop the host has proven to have no other effect
    /// (see the fast paths in the SoC), never past `next_check`: the run then goes on (`resume`)
    /// exactly as if it had executed them, timers and interrupts looked at when they would have been.
    pub fn skip_cycles(&mut self, cycles: u64) {
        debug_assert!(self.cycles + cycles <= self.next_check());
        self.cycles += cycles;
        self.instret += cycles;
    }

    /// Cycle at which the current run next looks at timers, interrupt lines and its budget.
    pub fn next_check(&self) -> u64 {
        self.next_event
    }

    /// Advances time without executing (a core in reset, or idle in WAITI).
    pub fn advance_idle(&mut self, cycles: u64) {
        self.cycles += cycles;
        self.fire_timers();
    }

    fn fire_timers(&mut self) {
        for i in 0..3 {
            while self.cycles >= self.timer_due[i] {
                self.interrupt |= 1 << self.config.timer_int[i];
                self.timer_due[i] += 1 << 32;
            }
        }
    }

    // ---------------------------------------------------------------- protection

    fn update_protection(&mut self) {
        self.dprot = 0;
        self.iprot = 0;
        for i in 0..8 {
            // Attribute 15 is "illegal"; 14 (isolate) is not modelled separately.
            if self.dtlb_attr[i] == 15 {
                self.dprot |= 1 << i;
            }
            if self.itlb_attr[i] == 15 {
                self.iprot |= 1 << i;
            }
        }
    }

    // ---------------------------------------------------------------- memory

    #[inline(always)]
    fn load_fault(&self, f: MemFault, addr: u32) -> Exc {
        match f {
            MemFault::Stop => Exc::mem(HOST_STOP, addr),
            MemFault::Prohibited => Exc::mem(cause::LOAD_PROHIBITED, addr),
            _ => Exc::mem(cause::LOAD_STORE_ERROR, addr),
        }
    }

    #[inline(always)]
    fn store_fault(&self, f: MemFault, addr: u32) -> Exc {
        match f {
            MemFault::Stop => Exc::mem(HOST_STOP, addr),
            MemFault::Prohibited => Exc::mem(cause::STORE_PROHIBITED, addr),
            _ => Exc::mem(cause::LOAD_STORE_ERROR, addr),
        }
    }

    #[inline(always)]
    fn check_load(&self, addr: u32, align: u32) -> Result<(), Exc> {
        if (self.dprot >> (addr >> 29)) & 1 != 0 {
            return Err(Exc::mem(cause::LOAD_PROHIBITED, addr));
        }
        if self.config.unaligned_exception && addr & (align - 1) != 0 {
            return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
        }
        Ok(())
    }

    #[inline(always)]
    fn check_store(&self, addr: u32, align: u32) -> Result<(), Exc> {
        if (self.dprot >> (addr >> 29)) & 1 != 0 {
            return Err(Exc::mem(cause::STORE_PROHIBITED, addr));
        }
        if self.config.unaligned_exception && addr & (align - 1) != 0 {
            return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
        }
        Ok(())
    }

    #[inline(always)]
    pub fn load8<B: Bus>(&mut self, bus: &mut B, addr: u32) -> Result<u8, Exc> {
        self.check_load(addr, 1)?;
        self.last_load = addr;
        bus.set_cycles(self.cycles);
        let v = bus.read8(addr).map_err(|f| self.load_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        Ok(v)
    }

    #[inline(always)]
    pub fn load16<B: Bus>(&mut self, bus: &mut B, addr: u32) -> Result<u16, Exc> {
        self.check_load(addr, 2)?;
        self.last_load = addr;
        bus.set_cycles(self.cycles);
        let v = bus.read16(addr).map_err(|f| self.load_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        Ok(v)
    }

    #[inline(always)]
    pub fn load32<B: Bus>(&mut self, bus: &mut B, addr: u32) -> Result<u32, Exc> {
        self.check_load(addr, 4)?;
        self.last_load = addr;
        bus.set_cycles(self.cycles);
        let v = bus.read32(addr).map_err(|f| self.load_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        Ok(v)
    }

    #[inline(always)]
    pub fn store8<B: Bus>(&mut self, bus: &mut B, addr: u32, v: u8) -> Result<(), Exc> {
        self.check_store(addr, 1)?;
        self.spin_count = 0;
        self.spin_addr = None;
        bus.set_cycles(self.cycles);
        bus.write8(addr, v).map_err(|f| self.store_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        if bus.take_attention() {
            self.next_event = 0;
        }
        Ok(())
    }

    #[inline(always)]
    pub fn store16<B: Bus>(&mut self, bus: &mut B, addr: u32, v: u16) -> Result<(), Exc> {
        self.check_store(addr, 2)?;
        self.spin_count = 0;
        self.spin_addr = None;
        bus.set_cycles(self.cycles);
        bus.write16(addr, v).map_err(|f| self.store_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        if bus.take_attention() {
            self.next_event = 0;
        }
        Ok(())
    }

    #[inline(always)]
    pub fn store32<B: Bus>(&mut self, bus: &mut B, addr: u32, v: u32) -> Result<(), Exc> {
        self.check_store(addr, 4)?;
        self.spin_count = 0;
        self.spin_addr = None;
        bus.set_cycles(self.cycles);
        bus.write32(addr, v).map_err(|f| self.store_fault(f, addr))?;
        self.cycles += bus.take_stall(self.config.core_id);
        if bus.take_attention() {
            self.next_event = 0;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- exceptions

    /// Takes a general exception (XEA2) for the instruction at `pc`.
    pub fn raise(&mut self, e: Exc, pc: u32) {
        self.exccause = e.cause;
        if let Some(v) = e.vaddr {
            self.excvaddr = v;
        }
        if self.ps & ps::EXCM != 0 {
            self.depc = pc;
            self.pc = self.vecbase.wrapping_add(vec::DOUBLE);
        } else {
            self.epc[1] = pc;
            let off = if self.ps & ps::UM != 0 { vec::USER } else { vec::KERNEL };
            self.ps |= ps::EXCM;
            self.pc = self.vecbase.wrapping_add(off);
        }
        self.next_event = 0;
    }

    /// Debug exception (BREAK, IBREAK, …) if not masked by PS.INTLEVEL.
    fn debug_exception(&mut self, why: u32, pc: u32) -> bool {
        let level = self.config.debug_level;
        if (self.ps & ps::INTLEVEL) >= level {
            return false;
        }
        self.debugcause = why;
        self.epc[level as usize] = pc;
        self.eps[level as usize] = self.ps;
        self.ps = (self.ps & !ps::INTLEVEL) | ps::EXCM | level;
        self.pc = self.vecbase.wrapping_add(vec::LEVEL2 + (level - 2) * 0x40);
        self.next_event = 0;
        true
    }

    /// Effective interrupt mask level.
    #[inline(always)]
    fn mask_level(&self) -> u32 {
        let il = self.ps & ps::INTLEVEL;
        if self.ps & ps::EXCM != 0 {
            il.max(self.config.excm_level)
        } else {
            il
        }
    }

    /// Takes the highest-priority pending, enabled interrupt above the mask level, if any.
    fn check_interrupts(&mut self) -> bool {
        let pending = (self.pending() & self.intenable) | (self.interrupt & self.config.int_nmi);
        if pending == 0 {
            return false;
        }
        let mut best_level = 0u32;
        let mut bits = pending;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            best_level = best_level.max(self.config.int_level[i as usize] as u32);
        }
        let nmi = best_level == self.config.nmi_level;
        if !nmi && best_level <= self.mask_level() {
            return false;
        }
        self.waiting = false;
        if best_level == 1 {
            self.raise(Exc::new(cause::LEVEL1_INTERRUPT), self.pc);
        } else {
            let l = best_level as usize;
            if nmi {
                // NMI is edge-triggered: consumed when taken.
                self.interrupt &= !self.config.int_nmi;
            }
            self.epc[l] = self.pc;
            self.eps[l] = self.ps;
            self.ps = (self.ps & !ps::INTLEVEL) | ps::EXCM | best_level;
            self.pc = self.vecbase.wrapping_add(vec::LEVEL2 + (best_level - 2) * 0x40);
        }
        true
    }

    /// Updates the external interrupt lines (edge-type lines latch on a rising edge).
    pub fn set_irq_lines(&mut self, lines: u32) {
        let rising = lines & !self.irq_lines;
        self.interrupt |= rising & (self.config.int_edge | self.config.int_nmi);
        self.irq_lines = lines;
        self.next_event = 0;
    }

    /// Raises software-visible interrupt bits directly (used by tests and the SoC).
    pub fn assert_interrupt(&mut self, mask: u32) {
        self.interrupt |= mask;
        self.next_event = 0;
    }

    // ---------------------------------------------------------------- run loop

    /// Asks the next `run` to execute the instruction under the hook at `addr` instead of
    /// stopping there again.
    pub fn step_over_hook(&mut self, addr: u32) {
        self.resume_hook = Some(addr);
    }

    /// Runs until `max_cycles` more cycles have elapsed or a hook is reached.
    pub fn run<B: Bus>(&mut self, bus: &mut B, max_cycles: u64) -> Exit {
        self.budget_end = self.cycles.saturating_add(max_cycles);
        self.next_event = 0;
        self.resume(bus)
    }

    /// Continues a run that returned `Exit::Hook` or `Exit::BusStop`, with the same budget
    /// and without first re-reading interrupt lines or timers (`run` does): exactly as if
    /// the run had not stopped, so a host stopping there cannot change what runs when.
    pub fn resume<B: Bus>(&mut self, bus: &mut B) -> Exit {
        if self.halted {
            let n = self.budget_end.saturating_sub(self.cycles);
            self.advance_idle(n);
            return Exit::Budget;
        }
        if self.tracer.is_some() {
            self.run_inner::<B, true>(bus)
        } else {
            self.run_inner::<B, false>(bus)
        }
    }

    /// Executes exactly one instruction (or takes one pending interrupt).
    pub fn step<B: Bus>(&mut self, bus: &mut B) -> Exit {
        self.run(bus, 1)
    }

    /// Spin detection on taken backward branches (cheap: only branch targets are compared).
    #[inline(always)]
    fn note_backward_branch(&mut self, target: u32) {
        if target == self.spin_target {
            self.spin_count = self.spin_count.saturating_add(1);
            if self.spin_count == SPIN_THRESHOLD {
                self.spin_addr = Some(self.last_load & !3);
            }
        } else {
            self.spin_target = target;
            self.spin_count = 0;
            self.spin_addr = None;
        }
    }

    /// The slow path: timers, interrupt lines, interrupts, WAITI, budget. Returns true when
    /// `run` must return.
    #[inline(never)]
    fn slow_path<B: Bus>(&mut self, bus: &mut B) -> bool {
        self.fire_timers();
        let lines = bus.irq_lines(self.config.core_id);
        if lines != self.irq_lines {
            self.set_irq_lines(lines);
        }
        self.check_interrupts();
        if bus.end_slice() {
            return true;
        }
        while self.waiting {
            // Idle: skip to the next timer match or the end of the budget.
            let next_timer = *self.timer_due.iter().min().unwrap();
            let target = next_timer.min(self.budget_end);
            if target > self.cycles {
                self.cycles = target;
            }
            self.fire_timers();
            if self.check_interrupts() {
                break;
            }
            if self.cycles >= self.budget_end {
                return true;
            }
        }
        if self.cycles >= self.budget_end {
            return true;
        }
        let next_timer = *self.timer_due.iter().min().unwrap();
        self.next_event = next_timer.min(self.budget_end).min(bus.stop_at());
        false
    }

    #[inline(always)]
    fn run_inner<B: Bus, const TRACE: bool>(&mut self, bus: &mut B) -> Exit {
        loop {
            if self.cycles >= self.next_event && self.slow_path(bus) {
                return Exit::Budget;
            }
            let pc = self.pc;
            let mut insn = bus.code_cache().get(pc);
            if insn.op == Op::Undecoded || insn.op == Op::Hook {
                if insn.op == Op::Hook || bus.code_cache().is_hook(pc) {
                    if self.resume_hook == Some(pc) {
                        self.resume_hook = None;
                        match self.fetch_decode(bus, pc) {
                            Ok(i) => insn = i,
                            Err(e) if e.cause == HOST_STOP => return Exit::BusStop(pc),
                            Err(e) => {
                                self.raise(e, pc);
                                self.cycles += 1;
                                continue;
                            }
                        }
                    } else {
                        return Exit::Hook(pc);
                    }
                } else {
                    match self.fetch_decode(bus, pc) {
                        Ok(i) => {
                            bus.code_cache().insert(pc, i);
                            insn = i;
                        }
                        Err(e) if e.cause == HOST_STOP => return Exit::BusStop(pc),
                        Err(e) => {
                            self.raise(e, pc);
                            self.cycles += 1;
                            continue;
                        }
                    }
                }
            }
            // Window overflow check (ISA 4.7.1.3): an instruction that references a register
            // in a window still owned by a live older frame first spills that frame.
            if insn.wq != 0 && self.ps & (ps::WOE | ps::EXCM) == ps::WOE {
                let need = if insn.wq == WQ_ENTRY {
                    (((self.ps & ps::CALLINC) >> ps::CALLINC_SHIFT) * 4 + (insn.s as u32 & 3)) >> 2
                } else {
                    insn.wq as u32
                };
                let above = (self.windowstart | (self.windowstart << 16)) >> ((self.windowbase & 15) + 1);
                if above & ((1 << need) - 1) != 0 && self.window_check(pc, need) {
                    self.cycles += 1;
                    continue;
                }
            }
            if pc & !31 != self.fetch_line {
                self.fetch_line = pc & !31;
                self.cycles += bus.fetch_line(self.config.core_id, pc);
            }
            if TRACE {
                if let Some(mut t) = self.tracer.take() {
                    t(self, pc, insn);
                    self.tracer = Some(t);
                }
            }
            self.cycles += 1;
            match self.execute(bus, insn, pc) {
                Ok(None) => {
                    let next = pc.wrapping_add(insn.len as u32);
                    self.pc = next;
                    if next == self.lend && self.lcount != 0 && self.ps & ps::EXCM == 0 {
                        self.lcount -= 1;
                        self.pc = self.lbeg;
                    }
                    self.instret += 1;
                }
                Ok(Some(target)) => {
                    self.pc = target;
                    self.instret += 1;
                    if target <= pc {
                        self.note_backward_branch(target);
                    }
                }
                Err(e) if e.cause == HOST_STOP => {
                    self.cycles -= 1;
                    return Exit::BusStop(pc);
                }
                Err(e) => self.raise(e, pc),
            }
        }
    }

    fn fetch_decode<B: Bus>(&self, bus: &mut B, pc: u32) -> Result<Insn, Exc> {
        if (self.iprot >> (pc >> 29)) & 1 != 0 {
            return Err(Exc::mem(cause::INST_FETCH_PROHIBITED, pc));
        }
        match bus.fetch(pc) {
            Ok(w) => Ok(decode(w, pc)),
            Err(MemFault::Stop) => Err(Exc::mem(HOST_STOP, pc)),
            Err(MemFault::Prohibited) => Err(Exc::mem(cause::INST_FETCH_PROHIBITED, pc)),
            Err(_) => Err(Exc::mem(cause::INSTR_FETCH_ERROR, pc)),
        }
    }

    // ---------------------------------------------------------------- windows

    /// WINDOWSTART rotated so that bit 0 is the current window.
    #[inline(always)]
    fn ws_rotated(&self) -> u32 {
        let ws = self.windowstart | (self.windowstart << 16);
        (ws >> self.windowbase) & 0xFFFF
    }

    #[inline(always)]
    fn rotate_window(&mut self, delta: i32) {
        self.windowbase = (self.windowbase as i32 + delta) as u32 & 0xF;
    }

    /// Window overflow check for a frame needing windows `1..=n` above the current one
    /// (ENTRY with CALLINC = n). Takes the overflow exception and returns true if a live
    /// frame is in the way.
    fn window_check(&mut self, pc: u32, n: u32) -> bool {
        // WINDOWSTART replicated so the frames above the current one, wrapping round to
        // it, appear as consecutive bits starting at WINDOWBASE + 1.
        let ws = (self.windowstart | (self.windowstart << 16)) >> (self.windowbase + 1);
        if ws & ((1 << n) - 1) == 0 {
            return false;
        }
        // The lowest live window above us is the frame to spill; its size is the distance
        // to the next live window above it.
        let k = ws.trailing_zeros() + 1;
        let owb = self.windowbase;
        self.rotate_window(k as i32);
        let off = match (ws >> k).trailing_zeros() {
            0 => vec::WINDOW_OVERFLOW4,
            1 => vec::WINDOW_OVERFLOW8,
            _ => vec::WINDOW_OVERFLOW12,
        };
        self.ps = (self.ps & !ps::OWB) | (owb << ps::OWB_SHIFT) | ps::EXCM;
        self.epc[1] = pc;
        self.pc = self.vecbase.wrapping_add(off);
        self.next_event = 0;
        true
    }

    fn op_entry(&mut self, insn: Insn, pc: u32) -> Flow {
        let callinc = (self.ps & ps::CALLINC) >> ps::CALLINC_SHIFT;
        if insn.s > 3 || self.ps & (ps::WOE | ps::EXCM) != ps::WOE {
            return Err(Exc::new(cause::ILLEGAL));
        }
        if self.window_check(pc, callinc) {
            return Ok(Some(self.pc));
        }
        let sp = self.a(insn.s).wrapping_sub(insn.imm);
        self.set_a((callinc * 4) as u8 + insn.s, sp);
        self.rotate_window(callinc as i32);
        self.windowstart |= 1 << self.windowbase;
        Ok(None)
    }

    fn op_retw(&mut self, pc: u32) -> Flow {
        let a0 = self.a(0);
        let n = a0 >> 30;
        let target = (pc & 0xC000_0000) | (a0 & 0x3FFF_FFFF);
        let ws = self.ws_rotated();
        // Distance (in 4-register units) to the caller's frame as WINDOWSTART records it.
        let m = if ws & (1 << 15) != 0 {
            1
        } else if ws & (1 << 14) != 0 {
            2
        } else if ws & (1 << 13) != 0 {
            3
        } else {
            0
        };
        if n == 0 || (m != 0 && m != n) || self.ps & (ps::WOE | ps::EXCM) != ps::WOE {
            return Err(Exc::new(cause::ILLEGAL));
        }
        let owb = self.windowbase;
        self.rotate_window(-(n as i32));
        if self.windowstart & (1 << self.windowbase) != 0 {
            self.windowstart &= !(1 << owb);
            Ok(Some(target))
        } else {
            // The caller's registers were spilled: underflow exception, re-executes RETW.
            self.ps = (self.ps & !ps::OWB) | (owb << ps::OWB_SHIFT) | ps::EXCM;
            self.epc[1] = pc;
            let off = match n {
                1 => vec::WINDOW_UNDERFLOW4,
                2 => vec::WINDOW_UNDERFLOW8,
                _ => vec::WINDOW_UNDERFLOW12,
            };
            self.next_event = 0;
            Ok(Some(self.vecbase.wrapping_add(off)))
        }
    }

    #[inline(always)]
    fn op_call(&mut self, n: u32, next: u32, target: u32) -> Flow {
        if n > 0 {
            self.set_a((n * 4) as u8, (n << 30) | (next & 0x3FFF_FFFF));
            self.ps = (self.ps & !ps::CALLINC) | (n << ps::CALLINC_SHIFT);
        } else {
            self.set_a(0, next);
        }
        Ok(Some(target))
    }

    // ---------------------------------------------------------------- execute

    #[inline(always)]
    fn branch(&self, cond: bool, target: u32) -> Flow {
        Ok(if cond { Some(target) } else { None })
    }

    #[inline(always)]
    fn cp_enabled(&self, n: u32) -> Result<(), Exc> {
        if self.cpenable & (1 << n) == 0 {
            Err(Exc::new(cause::COPROCESSOR0_DISABLED + n))
        } else {
            Ok(())
        }
    }

    #[inline(always)]
    fn execute<B: Bus>(&mut self, bus: &mut B, i: Insn, pc: u32) -> Flow {
        let next = pc.wrapping_add(i.len as u32);
        match i.op {
            // ---------------- arithmetic / logic
            Op::Add | Op::AddN => self.set_a(i.r, self.a(i.s).wrapping_add(self.a(i.t))),
            Op::Addx2 => self.set_a(i.r, (self.a(i.s) << 1).wrapping_add(self.a(i.t))),
            Op::Addx4 => self.set_a(i.r, (self.a(i.s) << 2).wrapping_add(self.a(i.t))),
            Op::Addx8 => self.set_a(i.r, (self.a(i.s) << 3).wrapping_add(self.a(i.t))),
            Op::Sub => self.set_a(i.r, self.a(i.s).wrapping_sub(self.a(i.t))),
            Op::Subx2 => self.set_a(i.r, (self.a(i.s) << 1).wrapping_sub(self.a(i.t))),
            Op::Subx4 => self.set_a(i.r, (self.a(i.s) << 2).wrapping_sub(self.a(i.t))),
            Op::Subx8 => self.set_a(i.r, (self.a(i.s) << 3).wrapping_sub(self.a(i.t))),
            Op::And => self.set_a(i.r, self.a(i.s) & self.a(i.t)),
            Op::Or => self.set_a(i.r, self.a(i.s) | self.a(i.t)),
            Op::Xor => self.set_a(i.r, self.a(i.s) ^ self.a(i.t)),
            Op::Neg => self.set_a(i.r, self.a(i.t).wrapping_neg()),
            Op::Abs => self.set_a(i.r, (self.a(i.t) as i32).wrapping_abs() as u32),
            Op::Addi | Op::Addmi => self.set_a(i.t, self.a(i.s).wrapping_add(i.imm)),
            Op::AddiN => self.set_a(i.r, self.a(i.s).wrapping_add(i.imm)),
            Op::Movi => self.set_a(i.t, i.imm),
            Op::MoviN => self.set_a(i.s, i.imm),
            Op::MovN => self.set_a(i.t, self.a(i.s)),
            Op::Moveqz => {
                if self.a(i.t) == 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movnez => {
                if self.a(i.t) != 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movltz => {
                if (self.a(i.t) as i32) < 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movgez => {
                if (self.a(i.t) as i32) >= 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Extui => self.set_a(i.r, (self.a(i.t) >> i.s) & i.imm),
            Op::Slli => self.set_a(i.r, ((self.a(i.s) as u64) << i.imm) as u32),
            Op::Srai => self.set_a(i.r, ((self.a(i.t) as i32) >> i.imm) as u32),
            Op::Srli => self.set_a(i.r, self.a(i.t) >> i.imm),
            // The funnel shifter: every shift through SAR is a 64-bit value shifted right.
            Op::Src => {
                let v = ((self.a(i.s) as u64) << 32) | self.a(i.t) as u64;
                self.set_a(i.r, (v >> self.sar) as u32)
            }
            Op::Srl => self.set_a(i.r, ((self.a(i.t) as u64) >> self.sar) as u32),
            Op::Sll => self.set_a(i.r, (((self.a(i.s) as u64) << 32) >> self.sar) as u32),
            Op::Sra => self.set_a(i.r, ((self.a(i.t) as i32 as i64) >> self.sar) as u32),
            Op::Ssr => self.sar = self.a(i.s) & 31,
            Op::Ssl => self.sar = 32 - (self.a(i.s) & 31),
            Op::Ssa8l => self.sar = (self.a(i.s) & 3) << 3,
            Op::Ssa8b => self.sar = 32 - ((self.a(i.s) & 3) << 3),
            Op::Ssai => self.sar = i.imm,
            Op::Nsa => {
                let v = self.a(i.s) as i32;
                let x = if v < 0 { !v } else { v } as u32;
                self.set_a(i.t, if x == 0 { 31 } else { x.leading_zeros() - 1 })
            }
            Op::Nsau => self.set_a(i.t, self.a(i.s).leading_zeros()),
            Op::Min => self.set_a(i.r, (self.a(i.s) as i32).min(self.a(i.t) as i32) as u32),
            Op::Max => self.set_a(i.r, (self.a(i.s) as i32).max(self.a(i.t) as i32) as u32),
            Op::Minu => self.set_a(i.r, self.a(i.s).min(self.a(i.t))),
            Op::Maxu => self.set_a(i.r, self.a(i.s).max(self.a(i.t))),
            Op::Sext => {
                let sh = 31 - i.imm;
                self.set_a(i.r, (((self.a(i.s) << sh) as i32) >> sh) as u32)
            }
            Op::Clamps => {
                let v = self.a(i.s) as i32;
                let hi = (1i64 << i.imm) - 1;
                let lo = -(1i64 << i.imm);
                self.set_a(i.r, (v as i64).clamp(lo, hi) as i32 as u32)
            }
            Op::Mul16u => self.set_a(i.r, (self.a(i.s) & 0xFFFF) * (self.a(i.t) & 0xFFFF)),
            Op::Mul16s => self.set_a(
                i.r,
                ((self.a(i.s) as i16 as i32) * (self.a(i.t) as i16 as i32)) as u32,
            ),
            Op::Mull => self.set_a(i.r, self.a(i.s).wrapping_mul(self.a(i.t))),
            Op::Muluh => self.set_a(i.r, ((self.a(i.s) as u64 * self.a(i.t) as u64) >> 32) as u32),
            Op::Mulsh => self.set_a(
                i.r,
                ((self.a(i.s) as i32 as i64 * self.a(i.t) as i32 as i64) >> 32) as u32,
            ),
            Op::Quou | Op::Quos | Op::Remu | Op::Rems => {
                let (a, b) = (self.a(i.s), self.a(i.t));
                if b == 0 {
                    return Err(Exc::new(cause::INTEGER_DIVIDE_BY_ZERO));
                }
                let v = match i.op {
                    Op::Quou => a / b,
                    Op::Remu => a % b,
                    Op::Quos => (a as i32).wrapping_div(b as i32) as u32,
                    _ => (a as i32).wrapping_rem(b as i32) as u32,
                };
                self.set_a(i.r, v)
            }

            // ---------------- loads / stores
            Op::L8ui => {
                let v = self.load8(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v as u32)
            }
            Op::L16ui => {
                let v = self.load16(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v as u32)
            }
            Op::L16si => {
                let v = self.load16(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v as i16 as i32 as u32)
            }
            Op::L32i | Op::L32iN => {
                let v = self.load32(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v)
            }
            Op::L32ai => {
                let addr = self.a(i.s).wrapping_add(i.imm);
                if addr & 3 != 0 {
                    return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
                }
                let v = self.load32(bus, addr)?;
                self.set_a(i.t, v)
            }
            Op::L32r => {
                let base = if self.litbase & 1 != 0 {
                    self.litbase & 0xFFFF_F000
                } else {
                    pc.wrapping_add(3) & !3
                };
                let v = self.load32(bus, base.wrapping_add(i.imm))?;
                self.set_a(i.t, v)
            }
            Op::S8i => self.store8(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t) as u8)?,
            Op::S16i => self.store16(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t) as u16)?,
            Op::S32i | Op::S32iN => self.store32(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t))?,
            Op::S32ri => {
                let addr = self.a(i.s).wrapping_add(i.imm);
                if addr & 3 != 0 {
                    return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
                }
                self.store32(bus, addr, self.a(i.t))?
            }
            Op::S32c1i => {
                let addr = self.a(i.s).wrapping_add(i.imm);
                if addr & 3 != 0 {
                    return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr));
                }
                let old = self.load32(bus, addr)?;
                if old == self.scompare1 {
                    self.store32(bus, addr, self.a(i.t))?;
                }
                self.set_a(i.t, old)
            }
            Op::L32e => {
                self.privileged()?;
                let v = self.load32(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v)
            }
            Op::S32e => {
                self.privileged()?;
                self.store32(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t))?
            }

            // ---------------- branches
            Op::Beqz | Op::BeqzN => return self.branch(self.a(i.s) == 0, i.imm),
            Op::Bnez | Op::BnezN => return self.branch(self.a(i.s) != 0, i.imm),
            Op::Bltz => return self.branch((self.a(i.s) as i32) < 0, i.imm),
            Op::Bgez => return self.branch((self.a(i.s) as i32) >= 0, i.imm),
            Op::Beqi => return self.branch(self.a(i.s) as i32 == B4CONST[i.r as usize], i.imm),
            Op::Bnei => return self.branch(self.a(i.s) as i32 != B4CONST[i.r as usize], i.imm),
            Op::Blti => return self.branch((self.a(i.s) as i32) < B4CONST[i.r as usize], i.imm),
            Op::Bgei => return self.branch(self.a(i.s) as i32 >= B4CONST[i.r as usize], i.imm),
            Op::Bltui => return self.branch(self.a(i.s) < B4CONSTU[i.r as usize], i.imm),
            Op::Bgeui => return self.branch(self.a(i.s) >= B4CONSTU[i.r as usize], i.imm),
            Op::Bnone => return self.branch(self.a(i.s) & self.a(i.t) == 0, i.imm),
            Op::Bany => return self.branch(self.a(i.s) & self.a(i.t) != 0, i.imm),
            Op::Ball => {
                let t = self.a(i.t);
                return self.branch(!self.a(i.s) & t == 0, i.imm);
            }
            Op::Bnall => {
                let t = self.a(i.t);
                return self.branch(!self.a(i.s) & t != 0, i.imm);
            }
            Op::Beq => return self.branch(self.a(i.s) == self.a(i.t), i.imm),
            Op::Bne => return self.branch(self.a(i.s) != self.a(i.t), i.imm),
            Op::Blt => return self.branch((self.a(i.s) as i32) < (self.a(i.t) as i32), i.imm),
            Op::Bge => return self.branch((self.a(i.s) as i32) >= (self.a(i.t) as i32), i.imm),
            Op::Bltu => return self.branch(self.a(i.s) < self.a(i.t), i.imm),
            Op::Bgeu => return self.branch(self.a(i.s) >= self.a(i.t), i.imm),
            Op::Bbc => return self.branch(self.a(i.s) & (1 << (self.a(i.t) & 31)) == 0, i.imm),
            Op::Bbs => return self.branch(self.a(i.s) & (1 << (self.a(i.t) & 31)) != 0, i.imm),
            Op::Bbci => return self.branch(self.a(i.s) & (1 << i.t) == 0, i.imm),
            Op::Bbsi => return self.branch(self.a(i.s) & (1 << i.t) != 0, i.imm),
            Op::Bf => return self.branch(self.br & (1 << i.s) == 0, i.imm),
            Op::Bt => return self.branch(self.br & (1 << i.s) != 0, i.imm),

            // ---------------- jumps and calls
            Op::J => return Ok(Some(i.imm)),
            Op::Jx => return Ok(Some(self.a(i.s))),
            Op::Call0 => return self.op_call(0, next, i.imm),
            Op::Call4 => return self.op_call(1, next, i.imm),
            Op::Call8 => return self.op_call(2, next, i.imm),
            Op::Call12 => return self.op_call(3, next, i.imm),
            Op::Callx0 => {
                let t = self.a(i.s);
                return self.op_call(0, next, t);
            }
            Op::Callx4 => {
                let t = self.a(i.s);
                return self.op_call(1, next, t);
            }
            Op::Callx8 => {
                let t = self.a(i.s);
                return self.op_call(2, next, t);
            }
            Op::Callx12 => {
                let t = self.a(i.s);
                return self.op_call(3, next, t);
            }
            Op::Ret | Op::RetN => return Ok(Some(self.a(0))),
            Op::Retw | Op::RetwN => return self.op_retw(pc),
            Op::Entry => return self.op_entry(i, pc),
            Op::Movsp => {
                let ws = self.ws_rotated();
                // Live frames must not sit in the three windows below the current one.
                if ws & 0xE000 == 0 {
                    return Err(Exc::new(cause::ALLOCA));
                }
                self.set_a(i.t, self.a(i.s))
            }
            Op::Rotw => {
                self.privileged()?;
                self.rotate_window(i.imm as i32);
            }

            // ---------------- zero-overhead loops
            Op::Loop | Op::Loopnez | Op::Loopgtz => {
                let count = self.a(i.s);
                self.lbeg = next;
                self.lend = i.imm;
                self.lcount = count.wrapping_sub(1);
                let skip = match i.op {
                    Op::Loopnez => count == 0,
                    Op::Loopgtz => (count as i32) <= 0,
                    _ => false,
                };
                if skip {
                    return Ok(Some(i.imm));
                }
            }

            // ---------------- special registers
            Op::Rsr => {
                if i.imm >= 64 {
                    self.privileged()?;
                }
                let v = self.read_sr(i.imm).ok_or(Exc::new(cause::ILLEGAL))?;
                self.set_a(i.t, v)
            }
            Op::Wsr => {
                if i.imm >= 64 {
                    self.privileged()?;
                }
                // Validity comes from the write side: INTCLEAR is write-only (no RSR), PRID and
                // CONFIGIDn are read-only (ISA: WSR of them is illegal).
                let v = self.a(i.t);
                if !self.write_sr(i.imm, v) {
                    return Err(Exc::new(cause::ILLEGAL));
                }
            }
            Op::Xsr => {
                if i.imm >= 64 {
                    self.privileged()?;
                }
                // INTERRUPT/INTCLEAR cannot be exchanged; CCOUNT & co can.
                if matches!(i.imm, sr::INTERRUPT | sr::INTCLEAR | sr::PRID | sr::CONFIGID0 | sr::CONFIGID1) {
                    return Err(Exc::new(cause::ILLEGAL));
                }
                let old = self.read_sr(i.imm).ok_or(Exc::new(cause::ILLEGAL))?;
                let v = self.a(i.t);
                self.write_sr(i.imm, v);
                self.set_a(i.t, old)
            }
            Op::Rur => {
                if matches!(i.imm, ur::FCR | ur::FSR) {
                    self.cp_enabled(0)?;
                }
                let v = self.read_ur(i.imm).ok_or(Exc::new(cause::ILLEGAL))?;
                self.set_a(i.r, v)
            }
            Op::Wur => {
                if matches!(i.imm, ur::FCR | ur::FSR) {
                    self.cp_enabled(0)?;
                }
                let v = self.a(i.t);
                if !self.write_ur(i.imm, v) {
                    return Err(Exc::new(cause::ILLEGAL));
                }
            }
            Op::Rsil => {
                self.privileged()?;
                let old = self.ps;
                self.set_ps((self.ps & !ps::INTLEVEL) | i.s as u32);
                self.set_a(i.t, old)
            }
            Op::Waiti => {
                self.privileged()?;
                self.set_ps((self.ps & !ps::INTLEVEL) | i.s as u32);
                self.waiting = true;
            }
            Op::Rfe => {
                self.privileged()?;
                self.set_ps(self.ps & !ps::EXCM);
                return Ok(Some(self.epc[1]));
            }
            Op::Rfde => {
                self.privileged()?;
                return Ok(Some(self.depc));
            }
            Op::Rfwo | Op::Rfwu => {
                self.privileged()?;
                if i.op == Op::Rfwo {
                    self.windowstart &= !(1 << self.windowbase);
                } else {
                    self.windowstart |= 1 << self.windowbase;
                }
                self.windowbase = (self.ps & ps::OWB) >> ps::OWB_SHIFT;
                self.set_ps(self.ps & !ps::EXCM);
                return Ok(Some(self.epc[1]));
            }
            Op::Rfi => {
                self.privileged()?;
                let l = i.s as usize;
                if !(2..=7).contains(&l) {
                    return Err(Exc::new(cause::ILLEGAL));
                }
                let target = self.epc[l];
                self.set_ps(self.eps[l]);
                return Ok(Some(target));
            }
            Op::Break => {
                if self.debug_exception(debugcause::BREAK, pc) {
                    return Ok(Some(self.pc));
                }
            }
            Op::BreakN => {
                if self.debug_exception(debugcause::BREAKN, pc) {
                    return Ok(Some(self.pc));
                }
            }
            Op::Syscall => return Err(Exc::new(cause::SYSCALL)),
            Op::Isync | Op::Rsync | Op::Esync | Op::Dsync | Op::Excw | Op::Memw | Op::Extw => {}
            Op::Nop | Op::NopN => {}
            Op::Rer => {
                self.privileged()?;
                let addr = self.a(i.s);
                bus.set_cycles(self.cycles);
                let v = bus.rer(addr).map_err(|f| self.load_fault(f, addr))?;
                self.set_a(i.t, v)
            }
            Op::Wer => {
                self.privileged()?;
                let addr = self.a(i.s);
                bus.wer(addr, self.a(i.t)).map_err(|f| self.store_fault(f, addr))?;
                if bus.take_attention() {
                    self.next_event = 0;
                }
            }

            // ---------------- region protection (ESP32: 8 x 512 MiB, no translation)
            Op::Witlb | Op::Wdtlb => {
                self.privileged()?;
                let region = (self.a(i.s) >> 29) as usize;
                let attr = (self.a(i.t) & 0xF) as u8;
                if i.op == Op::Witlb {
                    self.itlb_attr[region] = attr;
                    // Fetch protection changes what may be decoded from where.
                    bus.code_cache().clear();
                } else {
                    self.dtlb_attr[region] = attr;
                }
                self.update_protection();
            }
            Op::Ritlb0 | Op::Rdtlb0 => {
                self.privileged()?;
                self.set_a(i.t, self.a(i.s) & 0xE000_0000)
            }
            Op::Ritlb1 | Op::Rdtlb1 => {
                self.privileged()?;
                let region = (self.a(i.s) >> 29) as usize;
                let attr = if i.op == Op::Ritlb1 { self.itlb_attr[region] } else { self.dtlb_attr[region] };
                self.set_a(i.t, (self.a(i.s) & 0xE000_0000) | attr as u32)
            }
            Op::Pitlb | Op::Pdtlb => {
                self.privileged()?;
                let region = self.a(i.s) >> 29;
                self.set_a(i.t, (self.a(i.s) & 0xE000_0000) | 1 | region)
            }
            Op::Iitlb | Op::Idtlb => self.privileged()?,

            // ---------------- booleans
            Op::Andb | Op::Andbc | Op::Orb | Op::Orbc | Op::Xorb => {
                let s = (self.br >> i.s) & 1;
                let t = (self.br >> i.t) & 1;
                let v = match i.op {
                    Op::Andb => s & t,
                    Op::Andbc => s & !t & 1,
                    Op::Orb => s | t,
                    Op::Orbc => (s | !t) & 1,
                    _ => s ^ t,
                };
                self.br = (self.br & !(1 << i.r)) | (v << i.r);
            }
            Op::Any4 | Op::All4 | Op::Any8 | Op::All8 => {
                let (width, all) = match i.op {
                    Op::Any4 => (4, false),
                    Op::All4 => (4, true),
                    Op::Any8 => (8, false),
                    _ => (8, true),
                };
                let mask = (1u32 << width) - 1;
                let bits = (self.br >> (i.s & !(width - 1) as u8)) & mask;
                let v = if all { (bits == mask) as u32 } else { (bits != 0) as u32 };
                self.br = (self.br & !(1 << i.t)) | (v << i.t);
            }
            Op::Movf => {
                if self.br & (1 << i.t) == 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movt => {
                if self.br & (1 << i.t) != 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }

            // ---------------- FP loads and stores (CP0)
            // The ESP32's update forms (LSIP/SSIP/LSXP/SSXP in its toolchain) post-increment:
            // access at AR[s], then AR[s] += offset.
            Op::Lsi | Op::Lsiu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(i.imm);
                if i.op == Op::Lsiu {
                    self.fr[i.t as usize] = self.load32(bus, base)?;
                    self.set_a(i.s, addr);
                } else {
                    self.fr[i.t as usize] = self.load32(bus, addr)?;
                }
            }
            Op::Ssi | Op::Ssiu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(i.imm);
                if i.op == Op::Ssiu {
                    self.store32(bus, base, self.fr[i.t as usize])?;
                    self.set_a(i.s, addr);
                } else {
                    self.store32(bus, addr, self.fr[i.t as usize])?;
                }
            }
            Op::Lsx | Op::Lsxu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(self.a(i.t));
                if i.op == Op::Lsxu {
                    self.fr[i.r as usize] = self.load32(bus, base)?;
                    self.set_a(i.s, addr);
                } else {
                    self.fr[i.r as usize] = self.load32(bus, addr)?;
                }
            }
            Op::Ssx | Op::Ssxu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(self.a(i.t));
                if i.op == Op::Ssxu {
                    self.store32(bus, base, self.fr[i.r as usize])?;
                    self.set_a(i.s, addr);
                } else {
                    self.store32(bus, addr, self.fr[i.r as usize])?;
                }
            }

            // ---------------- FP arithmetic (CP0)
            Op::AddS | Op::SubS | Op::MulS | Op::MaddS | Op::MsubS | Op::MaddnS | Op::DivnS
            | Op::RoundS | Op::TruncS | Op::FloorS | Op::CeilS | Op::FloatS | Op::UfloatS
            | Op::UtruncS | Op::MovS | Op::AbsS | Op::ConstS | Op::Rfr | Op::Wfr | Op::NegS
            | Op::Div0S | Op::Recip0S | Op::Sqrt0S | Op::Rsqrt0S | Op::Nexp01S | Op::MksadjS
            | Op::MkdadjS | Op::AddexpS | Op::AddexpmS | Op::UnS | Op::OeqS | Op::UeqS
            | Op::OltS | Op::UltS | Op::OleS | Op::UleS | Op::MoveqzS | Op::MovnezS
            | Op::MovltzS | Op::MovgezS | Op::MovfS | Op::MovtS => {
                self.cp_enabled(0)?;
                crate::fpu::exec(self, i)?;
            }

            Op::Mac16 => crate::mac16::exec(self, bus, i)?,

            // ---------------- everything else is illegal on the ESP32
            Op::Ill | Op::IllN | Op::Illegal | Op::Rfue | Op::Rfme | Op::Simcall => {
                return Err(Exc::new(cause::ILLEGAL))
            }
            Op::Undecoded | Op::Hook => return Err(Exc::new(cause::ILLEGAL)),
        }
        Ok(None)
    }

    /// The shared code cache of `bus` (convenience for hosts).
    pub fn cache<B: Bus>(bus: &mut B) -> &mut CodeCache {
        bus.code_cache()
    }
}
