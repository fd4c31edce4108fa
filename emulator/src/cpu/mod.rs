//! The LX6 core: architectural state and the interpreter loop.
//!
//! Design for speed: instructions are decoded once into the bus's [`CodeCache`]; the loop
//! reads an [`Insn`] by value, dispatches on `op`, and touches nothing else unless
//! `cycles` reaches `next_event` (timer match, run budget, interrupt re-check). No
//! allocation, locking or formatting happens per instruction.
//!
//! Timing model: one cycle per instruction. CCOUNT is `cycles + ccount_offset`.
//!
//! Layout: this file holds the state ([`Cpu`], [`Config`]) and the outcome types
//! ([`Exit`], [`Trap`], [`Exc`]); each child module adds one section's `impl Cpu` and
//! depends on this parent only (the children reach each other through `Cpu` methods).
//! The FP arithmetic is the leaf [`crate::softfloat`], the MAC16 encodings [`crate::mac16`].

use crate::bus::{Bus, MemFault};
use crate::codecache::CodeCache;
use crate::decode::{decode, Insn, Op, B4CONST, B4CONSTU, WQ_ENTRY};
use crate::regs::{self, access, cause, debugcause, ps, sr, ur, vec};

// Sections, in the order a reader meets them.
mod registers;
mod time;
mod protection;
mod memory;
mod exceptions;
mod run;
mod windows;
mod execute;
mod fpu;
mod mac16;

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

/// Why an instruction did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// A guest exception: the core takes it through its vectors.
    Exc(Exc),
    /// The bus asked the host to stop before this access (`MemFault::Stop`). Nothing the
    /// guest can see has happened; the run loop returns `Exit::BusStop`.
    HostStop,
}

impl From<Exc> for Trap {
    #[inline(always)]
    fn from(e: Exc) -> Trap {
        Trap::Exc(e)
    }
}

/// Result of executing one instruction: `Ok(None)` falls through, `Ok(Some(t))` jumps.
pub type Flow = Result<Option<u32>, Trap>;

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

impl Cpu {
    pub fn new(config: Config) -> Cpu {
        // Zero everywhere; `reset` then sets what the ISA and the register table define.
        let mut cpu = Cpu {
            config,
            pc: 0,
            ar: [0; 64],
            windowbase: 0,
            windowstart: 0,
            ps: 0,
            sar: 0,
            lbeg: 0,
            lend: 0,
            lcount: 0,
            litbase: 0,
            scompare1: 0,
            atomctl: 0,
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
        // Special registers with a reset value, from the register table (CCOUNT among
        // them: it restarts at 0 and the timers are recomputed).
        for line in regs::SPECIAL {
            let v = match line.reset {
                regs::Reset::None => continue,
                regs::Reset::Value(v) => v,
                regs::Reset::Config => self.config.vecbase_reset,
            };
            self.reset_sr(line.num as u32, v);
        }
        self.itlb_attr = [RESET_ATTR; 8];
        self.dtlb_attr = [RESET_ATTR; 8];
        self.update_protection();
        self.waiting = false;
        self.next_event = 0;
    }
}
