//! The guest fuzzer's engine, shared by `examples/guest_fuzz` (long runs) and
//! `tests/guest_fuzz.rs` (fixed seeds in the normal test run).
//!
//! Every case is a fresh `Machine` (real SoC, real ROM) driven by seeded random guest
//! activity and run inside `catch_unwind`, so one run finds every host panic the guest can
//! provoke. A seed always gives the same case, and a case always runs the same way.
//!
//! * [`Mode::Insn`]: random instruction words (24- and 16-bit, raw or biased to valid
//!   encodings, plus templates for the system instructions) in IRAM on both cores, from
//!   random register, PS and window state. The window vectors are guest code (RFWO / RFWU);
//!   every other vector is a host hook acting as a minimal handler: skip the faulting
//!   instruction (restart the sequence after a fetch fault) and mask interrupts it took.
//! * [`Mode::Mmio`]: a table of random 8/16/32-bit loads and stores (every peripheral block,
//!   the AHB alias, the MMU tables, cache windows, internal memories, unmapped holes, the
//!   whole 4 GiB) and busy delays, walked by a small driver on each core while virtual time
//!   runs on. Faults go through the same vector hooks.
//!
//! The machine is not strict: unmodelled registers are only counted.

#![allow(dead_code)]

use emulator::asm::assemble;
use emulator::decode::insn_len;
use emulator::disasm::disasm_bytes;
use emulator::regs::{cause, debugcause, ps, sr, vec};
use emulator::{decode, Bus, Op};
use images::board::Board;
use images::rom::{Rom, SymbolKind};
use peripherals::dport;
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use peripherals::{Machine, MachineConfig, Stop};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

// ------------------------------------------------------------------------------ random

/// SplitMix64: tiny, seedable, and good enough to spread fuzz choices.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo) as u64) as u32
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// One of the listed values; the list is built before the choice, so its items may draw
/// on the same generator.
macro_rules! pick {
    ($r:expr, [$($x:expr),* $(,)?]) => {{
        let xs = [$($x),*];
        $r.pick(&xs)
    }};
}

/// The seed of case `index` of a run seeded with `run_seed`.
pub fn case_seed(run_seed: u64, index: u64) -> u64 {
    Rng::new(run_seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next()
}

// ------------------------------------------------------------------------------ layout

/// Vector table (1 KiB), then each core's code and, in MMIO mode, its access table; all in
/// SRAM0 (IRAM), which no cache or MMU setting can take away.
const VECBASE: u32 = 0x4008_0000;
/// `j .`: where the PRO core waits while the APP core is released.
const IDLE: u32 = VECBASE + 0x3E0;
const CODE: [u32; 2] = [0x4008_1000, 0x4008_4000];
const CODE_MAX: u32 = 0x2F00;
const TABLE: [u32; 2] = [0x4008_8000, 0x4008_C000];
const TABLE_MAX_OPS: usize = 0x4000 / 12;
/// Stores the MMIO driver must not make: its own code and tables.
const PROTECTED: std::ops::Range<u32> = 0x4008_0000..0x4009_0000;
/// Host turns: a run slice never lasts longer than this (ps), so a VECBASE the guest moved
/// is put back soon.
const SLICE_PS: u64 = 20_000_000;
/// Vector hooks handled per case before it is cut short (a guest that faults forever).
const MAX_HOOKS: u32 = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Insn,
    Mmio,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Insn => "insn",
            Mode::Mmio => "mmio",
        }
    }
}

// ------------------------------------------------------------------------------ cases

/// A core's architectural state at the start of its sequence.
#[derive(Clone, Debug)]
pub struct CoreState {
    /// The 64 physical address registers.
    pub regs: Vec<u32>,
    pub windowbase: u32,
    pub windowstart: u32,
    pub ps: u32,
    /// Special registers written (WSR semantics) in this order.
    pub srs: Vec<(u32, u32)>,
    pub fr: [u32; 16],
}

#[derive(Clone, Debug)]
pub struct InsnCore {
    pub state: CoreState,
    /// The instructions, each 2 or 3 bytes, laid out from `CODE[core]` and followed by a
    /// jump back to the first.
    pub code: Vec<Vec<u8>>,
}

#[derive(Clone, Debug)]
pub struct InsnCase {
    pub lopy4: bool,
    pub time_ps: u64,
    pub cores: [Option<InsnCore>; 2],
}

/// One entry of the MMIO driver's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioOp {
    /// 1..=3 load 8/16/32, 4..=6 store 8/16/32, 7 busy delay of `value` iterations.
    pub kind: u32,
    pub addr: u32,
    pub value: u32,
}

#[derive(Clone, Debug)]
pub struct MmioCase {
    pub lopy4: bool,
    pub time_ps: u64,
    /// Table of each core; None: the APP core stays in reset.
    pub ops: [Option<Vec<MmioOp>>; 2],
    pub intenable: [u32; 2],
    /// Bytes the host sends to UART0 at the start.
    pub uart0_rx: Vec<u8>,
    /// Outside drives of pads: (time from the start in ps, GPIO, Float/Low/High as 0/1/2).
    pub pins: Vec<(u64, u8, u8)>,
}

// Only a handful of cases exist at once: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Case {
    Insn(InsnCase),
    Mmio(MmioCase),
}

/// What a case did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    pub instructions: u64,
    /// Vector hooks the host handled (exceptions and interrupts taken).
    pub exceptions: u64,
    pub unmodelled: u64,
    pub resets: u64,
}

impl Outcome {
    pub fn add(&mut self, o: &Outcome) {
        self.instructions += o.instructions;
        self.exceptions += o.exceptions;
        self.unmodelled += o.unmodelled;
        self.resets += o.resets;
    }
}

/// A host panic a case caused.
#[derive(Clone, Debug)]
pub struct Panic {
    pub message: String,
    /// `file:line:col`: what tells two panics apart.
    pub location: String,
    pub backtrace: String,
}

// ------------------------------------------------------------------------------ values

const SMALL: [u32; 24] = [
    0, 1, 2, 3, 4, 7, 8, 0x10, 0x1F, 0x20, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000,
    0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FFFC, 0xFFFF_FF00,
];

/// Blocks with a model (or storage) behind them, by number (base 0x3FF0_0000 + n·4 KiB).
const BLOCKS: [u32; 34] = [
    0x00, 0x03, 0x10, 0x12, 0x40, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4B, 0x4E, 0x4F, 0x50,
    0x51, 0x55, 0x56, 0x58, 0x5A, 0x5C, 0x5D, 0x5F, 0x60, 0x64, 0x65, 0x66, 0x6D, 0x6E, 0x72, 0x73, 0x75,
];

/// Registers that make things happen: clocks, resets, caches, APP CPU control, watchdogs,
/// SPI transactions, RMT transmissions, UART clocking and FIFOs, interrupts.
const KEY_REGS: [u32; 75] = [
    // DPORT
    0x3FF0_002C, 0x3FF0_0030, 0x3FF0_0034, 0x3FF0_0038, 0x3FF0_003C, 0x3FF0_0040, 0x3FF0_0044,
    0x3FF0_0058, 0x3FF0_005C, 0x3FF0_00DC, 0x3FF0_00E0, 0x3FF0_00E4, 0x3FF0_00E8, 0x3FF0_0104,
    0x3FF0_0218, 0x3FF0_03F0, 0x3FF0_0418,
    // MMU: first flash entries, IROM, PSRAM
    0x3FF1_0000, 0x3FF1_0100, 0x3FF1_1200, 0x3FF1_2000, 0x3FF1_3200,
    // UART0 / UART1
    0x3FF4_0000, 0x3FF4_000C, 0x3FF4_0010, 0x3FF4_0014, 0x3FF4_0018, 0x3FF4_0020, 0x3FF4_0024,
    0x3FF5_0000, 0x3FF5_0014, 0x3FF5_0020,
    // SPI1 / SPI0
    0x3FF4_2000, 0x3FF4_2004, 0x3FF4_2008, 0x3FF4_2018, 0x3FF4_201C, 0x3FF4_2020, 0x3FF4_2024,
    0x3FF4_2028, 0x3FF4_202C, 0x3FF4_2080, 0x3FF4_3000, 0x3FF4_3018, 0x3FF4_3034, 0x3FF4_3054,
    0x3FF4_305C, 0x3FF4_3060,
    // GPIO: output, enable, PSRAM clock routing, pin interrupts
    0x3FF4_4004, 0x3FF4_4020, 0x3FF4_4574, 0x3FF4_4088,
    // FRC
    0x3FF4_7000, 0x3FF4_7004, 0x3FF4_7008,
    // RTC_CNTL: options (resets, stall), sleep, clock, watchdog, CPU stall
    0x3FF4_8000, 0x3FF4_8004, 0x3FF4_8018, 0x3FF4_8070, 0x3FF4_8084, 0x3FF4_808C, 0x3FF4_8090,
    0x3FF4_80A4, 0x3FF4_80AC,
    // RMT
    0x3FF5_6020, 0x3FF5_6024, 0x3FF5_60F0,
    // TIMG0
    0x3FF5_F000, 0x3FF5_F00C, 0x3FF5_F048, 0x3FF5_F04C, 0x3FF5_F064, 0x3FF5_F068,
    // SPI2, APB_CTRL
    0x3FF6_4000, 0x3FF6_6000,
];

/// A random address in register space: modelled blocks mostly, any block sometimes, the
/// key registers often, the AHB alias for blocks at 0x3FF4_0000 and above.
fn mmio_addr(r: &mut Rng) -> u32 {
    let a = if r.percent(25) {
        r.pick(&KEY_REGS)
    } else {
        let block = match r.below(10) {
            0..=6 => r.pick(&BLOCKS),
            7 => r.below(0x80) as u32,
            8 => 0x10 + r.below(4) as u32,
            _ => 0x40 + r.below(0x40) as u32,
        };
        let off = match r.below(10) {
            0..=5 => r.below(0x80) as u32 * 4,
            6 | 7 => r.below(0x400) as u32 * 4,
            _ => r.below(0x1000) as u32,
        };
        0x3FF0_0000 + block * 0x1000 + off
    };
    if a >= 0x3FF4_0000 && r.percent(20) {
        a - 0x3FF4_0000 + 0x6000_0000
    } else {
        a
    }
}

/// A random address anywhere that matters: memories, cache windows, holes, or none of those.
fn any_addr(r: &mut Rng) -> u32 {
    let span = |r: &mut Rng, base: u32, len: u32| base.wrapping_add(r.below(len as u64) as u32);
    match r.below(16) {
        0..=5 => mmio_addr(r),
        6 => span(r, 0x3FFA_E000, 0x5_2000), // SRAM2 + SRAM1 (data bus)
        7 => pick!(r, [0x3FF8_0000u32, 0x400C_0000, 0x5000_0000]) + r.below(0x2000) as u32, // RTC memories
        8 => span(r, 0x3F40_0000, 0x40_0000), // DROM
        9 => span(r, 0x3F80_0000, 0x40_0000), // PSRAM window
        10 => span(r, 0x400C_2000, 0x10_0000), // IROM
        11 => span(r, 0x4000_0000, 0xC_0000),  // ROM, SRAM0, SRAM1 (instruction bus)
        12 => {
            // Just past the end (or before the start) of a region.
            let edge = pick!(r, [
                0x3F40_0000u32, 0x3F80_0000, 0x3FC0_0000, 0x3FF0_0000, 0x3FF8_0000, 0x3FF8_2000, 0x3FF9_0000,
                0x3FFA_0000, 0x3FFA_E000, 0x4000_0000, 0x4006_0000, 0x4007_0000, 0x400A_0000, 0x400C_0000,
                0x400C_2000, 0x40C0_0000, 0x5000_0000, 0x5000_2000, 0x6000_0000, 0x6004_0000,
            ]);
            edge.wrapping_add(r.below(16) as u32).wrapping_sub(8)
        }
        13 => span(r, 0x6000_0000, 0x4_0000), // AHB alias
        _ => r.u32(),
    }
}

/// A register value a program might plausibly hold: small numbers, bit patterns, addresses
/// of everything (memories, registers, code, ROM functions), return addresses.
fn value(r: &mut Rng, code: u32) -> u32 {
    match r.below(12) {
        0 => r.pick(&SMALL),
        1 => 1 << r.below(32),
        2 => r.u32(),
        3 | 4 => any_addr(r),
        5 => code + r.below(0x100) as u32,
        6 => rom_function(r),
        7 => (r.below(4) as u32) << 30 | ((code + r.below(0x100) as u32) & 0x3FFF_FFFF),
        8 => (r.below(64) as i32 - 32) as u32,
        9 => 0x3FFB_0000 + r.below(0x2_0000) as u32 * 4,
        10 => rtc_wdt_key(r),
        _ => r.u32() & r.u32(),
    }
}

fn rtc_wdt_key(r: &mut Rng) -> u32 {
    if r.percent(50) {
        peripherals::rtc_cntl::WDT_WKEY
    } else {
        r.u32()
    }
}

fn rom_function(r: &mut Rng) -> u32 {
    thread_local! {
        static FUNCS: Vec<u32> = Rom::esp32()
            .symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Func && (0x4000_0000..0x4007_0000).contains(&s.addr))
            .map(|s| s.addr)
            .collect();
    }
    FUNCS.with(|f| if f.is_empty() { 0x4000_0400 } else { r.pick(f) })
}

// ------------------------------------------------------------------------------ generation

pub fn generate(mode: Mode, seed: u64) -> Case {
    match mode {
        Mode::Insn => Case::Insn(gen_insn_case(seed)),
        Mode::Mmio => Case::Mmio(gen_mmio_case(seed)),
    }
}

fn gen_insn_case(seed: u64) -> InsnCase {
    let mut r = Rng::new(seed);
    let lopy4 = r.percent(50);
    let time_ps = r.range(20, 400) as u64 * 1_000_000;
    let app = r.percent(70);
    let core = |i: usize, r: &mut Rng| {
        let state = gen_state(r, CODE[i]);
        let max = if r.percent(20) { 200 } else { 40 };
        let n = 1 + r.below(max) as usize;
        let mut code = Vec::new();
        let mut pc = CODE[i];
        while code.len() < n && pc < CODE[i] + CODE_MAX - 3 {
            let b = gen_insn(r, pc, CODE[i]);
            pc += b.len() as u32;
            code.push(b);
        }
        InsnCore { state, code }
    };
    let c0 = core(0, &mut r);
    let c1 = app.then(|| core(1, &mut r));
    InsnCase { lopy4, time_ps, cores: [Some(c0), c1] }
}

fn gen_state(r: &mut Rng, code: u32) -> CoreState {
    let regs = (0..64).map(|_| value(r, code)).collect();
    let windowbase = r.below(16) as u32;
    let mut windowstart = r.u32() & 0xFFFF;
    if r.percent(80) || windowstart == 0 {
        windowstart |= 1 << windowbase;
    }
    let intlevel = pick!(r, [0u32, 0, 0, 1, 2, 3, 5, 15]) | if r.percent(10) { r.below(16) as u32 } else { 0 };
    let mut ps = intlevel & ps::INTLEVEL;
    if r.percent(15) {
        ps |= ps::EXCM;
    }
    if r.percent(50) {
        ps |= ps::UM;
    }
    if r.percent(80) {
        ps |= ps::WOE;
    }
    ps |= (r.below(4) as u32) << ps::CALLINC_SHIFT | (r.below(16) as u32) << ps::OWB_SHIFT;
    let mut srs = vec![(sr::SAR, r.below(64) as u32), (sr::BR, r.u32()), (sr::SCOMPARE1, value(r, code))];
    if r.percent(30) {
        let lbeg = code + r.below(0x40) as u32;
        srs.push((sr::LBEG, lbeg));
        srs.push((sr::LEND, lbeg + r.below(0x40) as u32));
        srs.push((sr::LCOUNT, r.below(8) as u32));
    }
    srs.push((sr::ACCLO, r.u32()));
    srs.push((sr::ACCHI, r.u32()));
    for m in 0..4 {
        srs.push((sr::M0 + m, value(r, code)));
    }
    srs.push((sr::CPENABLE, if r.percent(70) { 0xFF } else { r.u32() }));
    if r.percent(20) {
        srs.push((sr::INTENABLE, r.u32()));
    }
    for i in 0..3 {
        // Soon, late or random: CCOUNT starts near zero for a fresh core.
        let soon = r.below(2000) as u32;
        let any = r.u32();
        srs.push((sr::CCOMPARE0 + i, if r.percent(50) { soon } else { any }));
    }
    srs.push((sr::ATOMCTL, r.u32()));
    if r.percent(3) {
        srs.push((sr::ICOUNT, 0u32.wrapping_sub(r.below(20) as u32)));
        srs.push((sr::ICOUNTLEVEL, r.below(16) as u32));
    }
    if r.percent(3) {
        srs.push((sr::IBREAKA0, code + r.below(0x40) as u32));
        srs.push((sr::IBREAKENABLE, r.below(4) as u32));
    }
    if r.percent(3) {
        srs.push((sr::DBREAKA0, value(r, code)));
        srs.push((sr::DBREAKC0, r.u32()));
    }
    srs.push((sr::MISC0, r.u32()));
    let mut fr = [0u32; 16];
    for f in fr.iter_mut() {
        let any = r.u32();
        *f = if r.percent(50) { any } else { pick!(r, [0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x3F80_0000, 0, 0x8000_0000, 1, 0x0080_0000]) };
    }
    CoreState { regs, windowbase, windowstart, ps, srs, fr }
}

/// Special registers by number, existing or not: what the templates address.
const SRS: [u32; 36] = [
    0, 1, 2, 3, 4, 5, 12, 16, 17, 32, 35, 72, 73, 96, 97, 99, 104, 128, 144, 160, 176, 177, 183, 192, 194,
    199, 208, 209, 224, 226, 227, 228, 230, 231, 234, 240,
];

/// One instruction at `pc`: a raw random word, a random word biased to valid encodings, or
/// a template (system instructions random words rarely hit), as 2 or 3 bytes.
fn gen_insn(r: &mut Rng, pc: u32, code: u32) -> Vec<u8> {
    let w = match r.below(100) {
        0..=29 => r.u32(),
        30..=79 => {
            let mut w = r.u32();
            for _ in 0..16 {
                if !matches!(decode(w, pc).op, Op::Illegal | Op::Undecoded) {
                    break;
                }
                w = r.u32();
            }
            w
        }
        _ => {
            if let Some(b) = template(r, pc, code) {
                return b;
            }
            r.u32()
        }
    };
    w.to_le_bytes()[..insn_len(w as u8) as usize].to_vec()
}

fn template(r: &mut Rng, pc: u32, code: u32) -> Option<Vec<u8>> {
    let a = |r: &mut Rng| r.below(16);
    let sreg = |r: &mut Rng| if r.percent(85) { r.pick(&SRS) } else { r.below(256) as u32 };
    let target4 = |r: &mut Rng| (code + r.below(0x200) as u32) & !3;
    let text = match r.below(30) {
        0 => format!("wsr a{}, {}", a(r), sreg(r)),
        1 => format!("rsr a{}, {}", a(r), sreg(r)),
        2 => format!("xsr a{}, {}", a(r), sreg(r)),
        3 => {
            let ur = if r.percent(80) { 231 + r.below(6) } else { r.below(256) };
            format!("{} a{}, {}", pick!(r, ["rur", "wur"]), a(r), ur)
        }
        4 => {
            let s = if r.percent(75) { 1 } else { r.below(16) };
            format!("entry a{s}, {}", r.below(64) * 8)
        }
        5 => pick!(r, ["retw", "retw.n", "ret", "ret.n", "rfe", "rfde", "rfwo", "rfwu", "movsp a1, a2", "syscall", "ill", "ill.n", "simcall", "isync", "memw", "rfue", "rfme"]).into(),
        6 => format!("rfi {}", r.below(8)),
        7 => format!("waiti {}", r.below(16)),
        8 => format!("rsil a{}, {}", a(r), r.below(16)),
        9 => format!("call{} {}", pick!(r, [0, 4, 8, 12]), target4(r)),
        10 => format!("callx{} a{}", pick!(r, [0, 4, 8, 12]), a(r)),
        11 => format!("jx a{}", a(r)),
        12 => format!("movsp a{}, a{}", a(r), a(r)),
        13 => format!("rotw {}", r.below(16) as i32 - 8),
        14 => format!("{} a{}, .+{}", pick!(r, ["loop", "loopnez", "loopgtz"]), a(r), 3 + r.below(40)),
        15 => format!("{} a{}, a{}, {}", pick!(r, ["s32c1i", "l32ai", "s32ri"]), a(r), a(r), r.below(256) * 4),
        16 => format!("{} a{}, a{}, {}", pick!(r, ["l32e", "s32e"]), a(r), a(r), -4 * (1 + r.below(16) as i64)),
        17 => format!("{} a{}, a{}", pick!(r, ["witlb", "wdtlb", "ritlb0", "ritlb1", "rdtlb0", "rdtlb1", "pitlb", "pdtlb"]), a(r), a(r)),
        18 => format!("{} a{}", pick!(r, ["iitlb", "idtlb"]), a(r)),
        19 => format!("{} a{}, a{}", pick!(r, ["rer", "wer"]), a(r), a(r)),
        20 => format!("break {}, {}", r.below(16), r.below(16)),
        21 => format!("break.n {}", r.below(16)),
        22 => format!("l32r a{}, {}", a(r), (pc & !3).wrapping_sub(4 * r.below(64) as u32)),
        23 => format!("{} a{}, a{}, {}", pick!(r, ["l8ui", "l16ui", "l16si", "l32i", "s8i", "s16i", "s32i"]), a(r), a(r), r.below(256)),
        24 => format!("{} f{}, a{}, {}", pick!(r, ["lsi", "ssi", "lsiu", "ssiu"]), a(r), a(r), r.below(256) * 4),
        25 => format!("{} f{}, a{}, a{}", pick!(r, ["lsx", "ssx", "lsxu", "ssxu"]), a(r), a(r), a(r)),
        26 => format!("{} a{}, a{}, a{}", pick!(r, ["quou", "quos", "remu", "rems", "mull", "muluh", "mulsh", "min", "maxu", "src", "sll", "srl", "sra"]), a(r), a(r), a(r)),
        27 => format!("{} a{}, a{}, {}", pick!(r, ["clamps", "sext"]), a(r), a(r), 7 + r.below(16)),
        28 => format!("{} a{}", pick!(r, ["ssr", "ssl", "ssa8l", "ssa8b"]), a(r)),
        _ => format!("mac16 {}, {}, {}, {}", r.below(256), a(r), a(r), a(r)),
    };
    assemble(&text, pc).ok().filter(|b| b.len() == 2 || b.len() == 3)
}

fn gen_mmio_case(seed: u64) -> MmioCase {
    let mut r = Rng::new(seed);
    let lopy4 = r.percent(50);
    let time_ps = r.range(50, 3000) as u64 * 1_000_000;
    let app = r.percent(60);
    let table = |r: &mut Rng| {
        let max = if r.percent(20) { TABLE_MAX_OPS as u64 - 40 } else { 120 };
        let n = 1 + r.below(max) as usize;
        let mut ops = Vec::new();
        while ops.len() < n {
            if r.percent(25) {
                ops.extend(scenario(r));
            } else {
                ops.push(gen_op(r));
            }
        }
        ops.truncate(TABLE_MAX_OPS);
        ops
    };
    let t0 = table(&mut r);
    let t1 = app.then(|| table(&mut r));
    let ie = |r: &mut Rng| if r.percent(20) { r.u32() } else { 0 };
    let intenable = [ie(&mut r), ie(&mut r)];
    let n = if r.percent(30) { r.below(40) as usize } else { 0 };
    let uart0_rx = (0..n).map(|_| r.u32() as u8).collect();
    let n = if r.percent(30) { r.below(8) as usize } else { 0 };
    let pins = (0..n).map(|_| (r.below(time_ps), r.below(40) as u8, r.below(3) as u8)).collect();
    MmioCase { lopy4, time_ps, ops: [Some(t0), t1], intenable, uart0_rx, pins }
}

fn st(addr: u32, value: u32) -> MmioOp {
    MmioOp { kind: 6, addr, value }
}

fn ld(addr: u32) -> MmioOp {
    MmioOp { kind: 3, addr, value: 0 }
}

/// A burst of accesses that makes a block do something (start a transfer, arm a watchdog,
/// map and enable a cache, switch clocks, …) with random details, then looks at it.
fn scenario(r: &mut Rng) -> Vec<MmioOp> {
    let small = |r: &mut Rng| pick!(r, [0, 1, 2, 3, 7, 8, 100, 1000, r.below(5000) as u32]);
    let mut v = Vec::new();
    match r.below(16) {
        0 => {
            // Timer group watchdog.
            let b = pick!(r, [0x3FF5_F000u32, 0x3FF6_0000]);
            v.push(st(b + 0x64, rtc_wdt_key(r)));
            v.push(st(b + 0x48, r.u32() | if r.percent(60) { 1 << 31 } else { 0 }));
            for o in [0x4C, 0x50, 0x54, 0x58, 0x5C] {
                v.push(st(b + o, small(r)));
            }
            v.push(st(b + 0x60, r.u32()));
            v.push(st(b + 0x98, r.u32()));
        }
        1 => {
            // RTC watchdog.
            v.push(st(0x3FF4_80A4, rtc_wdt_key(r)));
            v.push(st(0x3FF4_808C, r.u32() | if r.percent(60) { 1 << 31 } else { 0 }));
            for o in [0x90, 0x94, 0x98, 0x9C] {
                v.push(st(0x3FF4_8000 + o, small(r)));
            }
            v.push(st(0x3FF4_80A0, r.u32()));
        }
        2 => {
            // A timer-group timer with an alarm.
            let b = pick!(r, [0x3FF5_F000u32, 0x3FF6_0000]) + pick!(r, [0, 0x24]);
            v.push(st(b, r.u32() & 0xFFFF_FC00 | pick!(r, [0u32, 1 << 10, 3 << 10, 7 << 10])));
            v.push(st(b + 0x10, small(r)));
            v.push(st(b + 0x14, pick!(r, [0, r.u32()])));
            v.push(st(b + 0x18, r.u32()));
            v.push(st(b + 0x20, r.u32()));
            v.push(st(b + 0x0C, r.u32()));
            v.push(ld(b + 0x04));
            v.push(st(b - (b & 0xFF) + 0x98, r.u32()));
        }
        3 | 4 => {
            // A user transaction on SPI1 (flash), SPI0 (flash / PSRAM on CS1), SPI2 or SPI3
            // (the LoRa radio on the LoPy4).
            let b = pick!(r, [0x3FF4_2000u32, 0x3FF4_3000, 0x3FF6_4000, 0x3FF6_5000]);
            v.push(st(b + 0x1C, r.u32()));
            v.push(st(b + 0x20, r.u32()));
            let cmd = pick!(r, [0x03u32, 0x0B, 0x05, 0x06, 0x04, 0x02, 0x20, 0x52, 0xD8, 0x60, 0x9F, 0x01, 0x35, 0xEB, 0x38, 0x66, 0x99, 0xC0, r.u32() & 0xFFFF]);
            v.push(st(b + 0x24, cmd | (r.below(16) as u32) << 28));
            v.push(st(b + 0x04, r.u32()));
            v.push(st(b + 0x28, small(r)));
            v.push(st(b + 0x2C, small(r)));
            v.push(st(b + 0x34, pick!(r, [0, 1, 2, 3, 6, r.u32()])));
            for w in 0..r.below(17) as u32 {
                v.push(st(b + 0x80 + 4 * w, r.u32()));
            }
            let go = if r.percent(70) { 1 << 18 } else { 1 << r.below(32) };
            v.push(st(b, go));
            v.push(ld(b));
            v.push(ld(b + 0x80));
            v.push(ld(b + 0x10));
        }
        5 => {
            // RMT: channel configuration, items, start.
            let n = r.below(8) as u32;
            v.push(st(0x3FF5_60F0, r.below(4) as u32));
            v.push(st(0x3FF5_6020 + 8 * n, r.u32()));
            for i in 0..r.below(70) as u32 {
                v.push(st(0x3FF5_6800 + 4 * ((64 * n + i) % 512), r.u32()));
            }
            v.push(st(0x3FF5_60A8, r.u32()));
            v.push(st(0x3FF5_6024 + 8 * n, r.u32() | 1));
            v.push(MmioOp { kind: 7, addr: 0, value: small(r) });
            v.push(ld(0x3FF5_60A0));
            v.push(ld(0x3FF5_6000 + 4 * n));
        }
        6 => {
            // UART: clocking, thresholds, bytes out.
            let b = pick!(r, [0x3FF4_0000u32, 0x3FF5_0000, 0x3FF6_E000]);
            v.push(st(b + 0x14, pick!(r, [0, 1, 16, 0x15B, r.u32()])));
            v.push(st(b + 0x20, r.u32()));
            v.push(st(b + 0x24, r.u32()));
            v.push(st(b + 0x0C, r.u32()));
            v.push(st(b + 0x18, r.below(2) as u32 | r.u32() & 0xFF00));
            for _ in 0..r.below(140) {
                v.push(MmioOp { kind: 4, addr: b, value: r.u32() });
            }
            v.push(ld(b + 0x1C));
            v.push(ld(b));
            v.push(st(b + 0x10, u32::MAX));
        }
        7 => {
            // Flash/PSRAM cache: MMU entries, enable, then reads through the windows.
            for _ in 0..r.below(6) {
                let idx = pick!(r, [r.below(64) as u32, 64 + r.below(192) as u32, 1152 + r.below(128) as u32, r.below(0x800) as u32]);
                let core = r.below(2) as u32;
                v.push(st(0x3FF1_0000 + core * 0x2000 + 4 * idx, pick!(r, [r.below(0x40) as u32, 0x100, r.u32()])));
            }
            v.push(st(pick!(r, [0x3FF0_0040u32, 0x3FF0_0058]), r.u32() | 1 << 3));
            v.push(st(pick!(r, [0x3FF0_0044u32, 0x3FF0_005C]), r.u32() & !0x3F));
            for _ in 0..r.below(8) {
                let a = pick!(r, [0x3F40_0000u32, 0x3F80_0000, 0x400D_0000, 0x400C_2000]) + r.below(0x40_0000) as u32;
                v.push(MmioOp { kind: 1 + r.below(6) as u32, addr: a, value: r.u32() });
            }
        }
        8 => {
            // Clocks: SoC clock source, XTAL divider, CPU period.
            v.push(st(0x3FF4_8070, r.u32()));
            v.push(st(0x3FF6_6000, pick!(r, [0, 1, 0x3FF, r.u32()])));
            v.push(st(0x3FF0_003C, r.u32()));
            v.push(MmioOp { kind: 7, addr: 0, value: small(r) });
        }
        9 => {
            // SHA-256 of whatever is in the text registers.
            for w in 0..r.below(32) as u32 {
                v.push(st(0x3FF0_3000 + 4 * w, r.u32()));
            }
            for _ in 0..r.below(4) {
                v.push(st(0x3FF0_3000 + pick!(r, [0x90u32, 0x94, 0x98, 0x80, 0x84, 0x88, 0xA0, 0xB0, 0xB4, 0xB8]), 1));
                v.push(ld(0x3FF0_309C));
            }
            v.push(ld(0x3FF0_3000));
        }
        10 => {
            // Analog I2C and the radio's digital blocks.
            for _ in 0..r.below(6) {
                v.push(st(0x3FF4_E000 + 4 * r.below(8) as u32, r.u32()));
                v.push(ld(0x3FF4_E000 + 4 * r.below(8) as u32));
            }
            let b = pick!(r, [0x3FF4_5000u32, 0x3FF4_6000, 0x3FF5_1000, 0x3FF5_C000, 0x3FF5_D000, 0x3FF7_1000, 0x3FF7_3000]);
            v.push(st(b + 4 * r.below(0x100) as u32, r.u32()));
            v.push(ld(b + 4 * r.below(0x100) as u32));
        }
        11 => {
            // Pads: matrix outputs, enables, levels, pin interrupts, pad config.
            for _ in 0..r.below(8) {
                let pin = r.below(40) as u32;
                v.push(st(0x3FF4_4530 + 4 * pin, pick!(r, [0x100, 87 + r.below(8) as u32, 224, r.u32()])));
                v.push(st(0x3FF4_4088 + 4 * pin, r.u32()));
                v.push(st(0x3FF4_9004 + 4 * r.below(36) as u32, r.u32()));
            }
            v.push(st(0x3FF4_4020, r.u32()));
            v.push(st(0x3FF4_4004, r.u32()));
            v.push(ld(0x3FF4_403C));
            v.push(ld(0x3FF4_4044));
        }
        12 => {
            // Sleep and CPU stall / reset requests.
            v.push(st(0x3FF4_8084, r.u32()));
            v.push(st(0x3FF4_8038, r.u32()));
            v.push(st(0x3FF4_8004, pick!(r, [0, 100, r.u32()])));
            v.push(st(0x3FF4_8008, pick!(r, [0, r.u32()])));
            v.push(st(0x3FF4_800C, 1 << 31));
            v.push(st(0x3FF4_80AC, r.u32()));
            v.push(st(pick!(r, [0x3FF4_8018u32, 0x3FF4_8000]), r.u32()));
        }
        13 => {
            // The APP core: release, stall, reset, boot address.
            v.push(st(0x3FF0_0038, pick!(r, [CODE[1] + 8, IDLE, r.u32()])));
            for o in [0x2C, 0x30, 0x34] {
                v.push(st(0x3FF0_0000 + o, r.u32()));
            }
            v.push(MmioOp { kind: 7, addr: 0, value: small(r) });
        }
        14 => {
            // Interrupt matrix and cross-CPU interrupts.
            for _ in 0..r.below(6) {
                v.push(st(0x3FF0_0104 + 4 * r.below(0x8A) as u32, r.u32()));
            }
            v.push(st(0x3FF0_00DC + 4 * r.below(4) as u32, r.u32()));
            v.push(ld(0x3FF0_00EC + 4 * r.below(6) as u32));
        }
        _ => {
            // FRC timers and SDIO/SLC DMA links.
            let b = pick!(r, [0x3FF4_7000u32, 0x3FF4_7020]);
            v.push(st(b, r.u32()));
            v.push(st(b + 8, r.u32()));
            v.push(st(0x3FF4_7030, small(r)));
            v.push(ld(b + 4));
            v.push(st(0x3FF5_8000 + pick!(r, [0x3Cu32, 0x40, 0x4C, 0x50]), r.u32()));
        }
    }
    v
}

fn gen_op(r: &mut Rng) -> MmioOp {
    let kind = match r.below(100) {
        0..=39 => 1 + r.below(3) as u32,
        40..=91 => 4 + r.below(3) as u32,
        _ => 7,
    };
    if kind == 7 {
        return MmioOp { kind, addr: 0, value: r.below(2000) as u32 };
    }
    let mut addr = if r.percent(70) { mmio_addr(r) } else { any_addr(r) };
    while kind >= 4 && PROTECTED.contains(&addr) {
        addr = any_addr(r);
    }
    let value = match r.below(6) {
        0 => r.pick(&SMALL),
        1 => 1 << r.below(32),
        2 => rtc_wdt_key(r),
        3 => r.u32() & r.u32(),
        _ => r.u32(),
    };
    MmioOp { kind, addr, value }
}

// ------------------------------------------------------------------------------ running

fn machine(lopy4: bool) -> Machine {
    let (cfg, flash) = if lopy4 {
        let board = Board::by_id("lopy4").expect("lopy4 board");
        (MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3]), board.flash_size)
    } else {
        (MachineConfig::default(), 4 << 20)
    };
    let mut m = Machine::new(Rom::esp32(), Flash::new_in_memory(flash), cfg).expect("machine");
    m.power_on();
    // Vector code for the window exceptions; every other vector is a host hook.
    for (off, text) in [
        (vec::WINDOW_OVERFLOW4, "rfwo"),
        (vec::WINDOW_UNDERFLOW4, "rfwu"),
        (vec::WINDOW_OVERFLOW8, "rfwo"),
        (vec::WINDOW_UNDERFLOW8, "rfwu"),
        (vec::WINDOW_OVERFLOW12, "rfwo"),
        (vec::WINDOW_UNDERFLOW12, "rfwu"),
        (IDLE - VECBASE, "j ."),
    ] {
        let code = assemble(text, VECBASE + off).expect("vector code");
        m.soc.load(VECBASE + off, &code).expect("IRAM");
    }
    for off in (0..6).map(|l| vec::LEVEL2 + l * 0x40).chain([vec::KERNEL, vec::USER, vec::DOUBLE]) {
        m.add_hook(VECBASE + off);
    }
    m
}

/// Releases the APP core through DPORT (as the ROM's `ets_set_appcpu_boot_addr` users do);
/// it leaves reset when the first slice ends, with the PRO core idling meanwhile.
fn release_app(m: &mut Machine) {
    m.cores[0].pc = IDLE;
    m.soc.dport.regs.set(dport::APPCPU_CTRL_D, IDLE);
    m.soc.dport.regs.set(dport::APPCPU_CTRL_B, 1);
    m.soc.dport.regs.set(dport::APPCPU_CTRL_C, 0);
    m.soc.dport.regs.set(dport::APPCPU_CTRL_A, 0);
    m.run_until(m.now_ps + 1_000_000);
}

fn apply(c: &mut emulator::Cpu, st: &CoreState, entry: u32) {
    c.ar.copy_from_slice(&st.regs);
    c.windowbase = st.windowbase & 15;
    c.windowstart = st.windowstart & 0xFFFF;
    c.write_sr(sr::PS, st.ps);
    for &(n, v) in &st.srs {
        c.write_sr(n, v);
    }
    c.fr = st.fr;
    c.vecbase = VECBASE;
    c.pc = entry;
    c.waiting = false;
}

/// The bytes at `pc` as core `core` fetches them, if it can.
fn fetch(m: &mut Machine, core: usize, pc: u32) -> Option<u32> {
    m.soc.cur_core = core;
    m.soc.fetch(pc).ok()
}

/// The address after the instruction at `pc` as core `core` fetches it, if it can.
fn after(m: &mut Machine, core: usize, pc: u32) -> Option<u32> {
    let w = fetch(m, core, pc)?;
    Some(pc.wrapping_add(insn_len(w as u8) as u32))
}

/// The host's stand-in for a handler at the vector `pc` core `core` entered.
fn handle_vector(m: &mut Machine, core: usize, pc: u32, entry: u32) {
    let off = pc.wrapping_sub(VECBASE);
    match off {
        vec::KERNEL | vec::USER | vec::DOUBLE => {
            let c = &m.cores[core];
            let (epc, why) = (if off == vec::DOUBLE { c.depc } else { c.epc[1] }, c.exccause);
            let next = match why {
                cause::LEVEL1_INTERRUPT => {
                    let c = &mut m.cores[core];
                    let level1: u32 = (0..32).filter(|&i| c.config.int_level[i] == 1).fold(0, |a, i| a | 1 << i);
                    c.intenable &= !level1;
                    epc
                }
                cause::INSTR_FETCH_ERROR | cause::INST_FETCH_PROHIBITED => entry,
                // Zeroed memory (ILL, 3 bytes at a time): start over rather than crawl it.
                cause::ILLEGAL if fetch(m, core, epc).is_none_or(|w| w & 0xFF_FFFF == 0) => entry,
                _ => after(m, core, epc).unwrap_or(entry),
            };
            let c = &mut m.cores[core];
            c.pc = next;
            let p = c.ps & !ps::EXCM;
            c.write_sr(sr::PS, p);
        }
        o if (vec::LEVEL2..vec::LEVEL2 + 6 * 0x40).contains(&o) && o % 0x40 == 0 => {
            let l = (2 + (o - vec::LEVEL2) / 0x40) as usize;
            let c = &m.cores[core];
            let epc = c.epc[l];
            let next = if l == c.config.debug_level as usize {
                if c.debugcause & (debugcause::BREAK | debugcause::BREAKN) != 0 {
                    after(m, core, epc).unwrap_or(entry)
                } else {
                    // Instruction count / breakpoints: disarm them, or they fire forever.
                    let c = &mut m.cores[core];
                    c.icountlevel = 0;
                    c.ibreakenable = 0;
                    c.dbreakc = [0; 2];
                    epc
                }
            } else {
                let c = &mut m.cores[core];
                let mask: u32 = (0..32).filter(|&i| c.config.int_level[i] as usize == l).fold(0, |a, i| a | 1 << i);
                c.intenable &= !mask;
                epc
            };
            let c = &mut m.cores[core];
            c.pc = next;
            let p = c.eps[l];
            c.write_sr(sr::PS, p);
        }
        _ => m.cores[core].step_over_hook(pc),
    }
}

/// Runs `m` to `until_ps`, playing the vector handlers, and tallies what happened.
fn drive(m: &mut Machine, entry: [u32; 2], until_ps: u64) -> Outcome {
    let resets0 = m.resets;
    let instret0 = m.cores[0].instret + m.cores[1].instret;
    let mut out = Outcome::default();
    while m.now_ps < until_ps {
        if m.resets == resets0 {
            // A guest that moved VECBASE gets ours back (until a reset hands it to the ROM).
            for c in &mut m.cores {
                c.vecbase = VECBASE;
            }
        }
        let end = until_ps.min(m.now_ps + SLICE_PS);
        match m.run_until(end) {
            Stop::Hook { core, pc } => {
                out.exceptions += 1;
                if out.exceptions > MAX_HOOKS as u64 {
                    break;
                }
                handle_vector(m, core, pc, entry[core]);
            }
            Stop::Deadline | Stop::Unmodelled(_) => {}
            // No cut is ever armed here; a board without power runs nothing more.
            Stop::PowerCut => break,
        }
    }
    out.instructions = m.cores[0].instret + m.cores[1].instret - instret0;
    out.unmodelled = m.reports.len() as u64;
    out.resets = (m.resets - resets0) as u64;
    out
}

fn run_insn(case: &InsnCase) -> Outcome {
    let mut m = machine(case.lopy4);
    for (i, c) in case.cores.iter().enumerate() {
        if let Some(c) = c {
            let mut bytes: Vec<u8> = c.code.concat();
            let back = assemble(&format!("j {}", CODE[i]), CODE[i] + bytes.len() as u32).expect("jump back");
            bytes.extend_from_slice(&back);
            m.soc.load(CODE[i], &bytes).expect("IRAM");
        }
    }
    if case.cores[1].is_some() {
        release_app(&mut m);
    }
    for (i, c) in case.cores.iter().enumerate() {
        if let Some(c) = c {
            apply(&mut m.cores[i], &c.state, CODE[i]);
        }
    }
    let until = m.now_ps + case.time_ps;
    drive(&mut m, CODE, until)
}

/// The MMIO driver of a core whose table is at `table` with `n` entries.
fn mmio_driver(base: u32, table: u32, n: usize) -> Vec<u8> {
    let src = format!(
        "
        .word {table}
        .word {end}
    start:
        l32r a2, {base}
        l32r a3, {w1}
    next:
        bgeu a2, a3, done
        l32i a4, a2, 0
        l32i a5, a2, 4
        l32i a6, a2, 8
        addi a2, a2, 12
        beqi a6, 1, k1
        beqi a6, 2, k2
        beqi a6, 3, k3
        beqi a6, 4, k4
        beqi a6, 5, k5
        beqi a6, 6, k6
        beqi a6, 7, k7
        j next
    k1: l8ui a7, a4, 0
        j next
    k2: l16ui a7, a4, 0
        j next
    k3: l32i a7, a4, 0
        j next
    k4: s8i a5, a4, 0
        j next
    k5: s16i a5, a4, 0
        j next
    k6: s32i a5, a4, 0
        j next
    k7: beqz a5, next
        addi a5, a5, -1
        j k7
    done:
        waiti 0
        j done
    ",
        end = table + 12 * n as u32,
        w1 = base + 4,
    );
    assemble(&src, base).expect("MMIO driver")
}

fn run_mmio(case: &MmioCase) -> Outcome {
    let mut m = machine(case.lopy4);
    for (i, ops) in case.ops.iter().enumerate() {
        if let Some(ops) = ops {
            m.soc.load(CODE[i], &mmio_driver(CODE[i], TABLE[i], ops.len())).expect("IRAM");
            let words: Vec<u8> = ops.iter().flat_map(|o| [o.addr, o.value, o.kind]).flat_map(u32::to_le_bytes).collect();
            m.soc.load(TABLE[i], &words).expect("IRAM");
        }
    }
    if case.ops[1].is_some() {
        release_app(&mut m);
    }
    for (i, ops) in case.ops.iter().enumerate() {
        if ops.is_some() {
            let c = &mut m.cores[i];
            c.windowbase = 0;
            c.windowstart = 1;
            c.write_sr(sr::PS, 0);
            c.write_sr(sr::INTENABLE, case.intenable[i]);
            c.vecbase = VECBASE;
            c.pc = CODE[i] + 8;
        }
    }
    let entry = [CODE[0] + 8, CODE[1] + 8];
    let t0 = m.now_ps;
    m.uart0_input(&case.uart0_rx);
    for &(t, gpio, d) in &case.pins {
        let d = [Drive::Float, Drive::Low, Drive::High][d as usize % 3];
        m.schedule_drive(t0 + t, gpio, d);
    }
    let until = t0 + case.time_ps;
    drive(&mut m, entry, until)
}

pub fn run(case: &Case) -> Outcome {
    match case {
        Case::Insn(c) => run_insn(c),
        Case::Mmio(c) => run_mmio(c),
    }
}

// ------------------------------------------------------------------------------ panics

thread_local! {
    /// Some while a case runs under `run_caught`: the panic it raised, if any.
    static CAUGHT: RefCell<Option<Option<Panic>>> = const { RefCell::new(None) };
}

/// A panic hook that records panics of cases run by `run_caught` (on this thread) instead
/// of printing them, and leaves every other panic to the previous hook.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mine = CAUGHT.with(|c| {
                let mut c = c.borrow_mut();
                let Some(slot) = c.as_mut() else { return false };
                let p = info.payload();
                let message = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic)".into());
                let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
                let backtrace = std::backtrace::Backtrace::force_capture().to_string();
                *slot = Some(Panic { message, location, backtrace });
                true
            });
            if !mine {
                prev(info);
            }
        }));
    });
}

/// Runs `case`; a host panic becomes `Err` (what, where, backtrace).
pub fn run_caught(case: &Case) -> Result<Outcome, Panic> {
    install_hook();
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let r = catch_unwind(AssertUnwindSafe(|| run(case)));
    let caught = CAUGHT.with(|c| c.borrow_mut().take()).flatten();
    r.map_err(|_| caught.unwrap_or(Panic { message: "(panic not recorded)".into(), location: String::new(), backtrace: String::new() }))
}

// ------------------------------------------------------------------------------ minimising

/// Deletes chunks of `items` (halves, quarters, … single items) as long as `fails` holds.
fn shrink<T: Clone>(items: Vec<T>, mut fails: impl FnMut(&[T]) -> bool, budget: &mut u32) -> Vec<T> {
    let mut items = items;
    let mut chunk = items.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < items.len() && *budget > 0 {
            let mut cand = items.clone();
            cand.drain(i..(i + chunk).min(items.len()));
            *budget -= 1;
            if fails(&cand) {
                items = cand;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 || *budget == 0 {
            return items;
        }
        chunk = chunk.div_ceil(2);
    }
}

/// A smaller case that panics at the same place: fewer cores, instructions or table
/// entries, less time. At most `tries` reruns.
pub fn minimize(case: &Case, location: &str, tries: u32) -> Case {
    let same = |c: &Case| matches!(run_caught(c), Err(p) if p.location == location);
    let mut budget = tries;
    let mut best = case.clone();
    // The APP core first (a whole core off is the biggest cut), then time, then contents.
    let without_app = match &best {
        Case::Insn(c) => Case::Insn(InsnCase { cores: [c.cores[0].clone(), None], ..c.clone() }),
        Case::Mmio(c) => Case::Mmio(MmioCase { ops: [c.ops[0].clone(), None], ..c.clone() }),
    };
    if same(&without_app) {
        best = without_app;
    }
    if let Case::Mmio(c) = &best {
        let quiet = Case::Mmio(MmioCase { uart0_rx: Vec::new(), pins: Vec::new(), ..c.clone() });
        if same(&quiet) {
            best = quiet;
        }
    }
    loop {
        let shorter = match &best {
            Case::Insn(c) => Case::Insn(InsnCase { time_ps: c.time_ps / 2, ..c.clone() }),
            Case::Mmio(c) => Case::Mmio(MmioCase { time_ps: c.time_ps / 2, ..c.clone() }),
        };
        let t = match &shorter {
            Case::Insn(c) => c.time_ps,
            Case::Mmio(c) => c.time_ps,
        };
        if t < 1_000_000 || budget == 0 || !same(&shorter) {
            break;
        }
        budget -= 1;
        best = shorter;
    }
    for core in 0..2 {
        match &mut best {
            Case::Insn(c) => {
                let Some(ic) = c.cores[core].clone() else { continue };
                let base = c.clone();
                let code = shrink(
                    ic.code.clone(),
                    |cand| {
                        let mut t = base.clone();
                        t.cores[core] = Some(InsnCore { code: cand.to_vec(), ..ic.clone() });
                        same(&Case::Insn(t))
                    },
                    &mut budget,
                );
                c.cores[core] = Some(InsnCore { code, ..ic });
            }
            Case::Mmio(c) => {
                let Some(ops) = c.ops[core].clone() else { continue };
                let base = c.clone();
                let ops = shrink(
                    ops,
                    |cand| {
                        let mut t = base.clone();
                        t.ops[core] = Some(cand.to_vec());
                        same(&Case::Mmio(t))
                    },
                    &mut budget,
                );
                c.ops[core] = Some(ops);
            }
        }
    }
    best
}

// ------------------------------------------------------------------------------ printing

fn op_text(o: &MmioOp) -> String {
    match o.kind {
        1 => format!("l8ui  [{:#010x}]", o.addr),
        2 => format!("l16ui [{:#010x}]", o.addr),
        3 => format!("l32i  [{:#010x}]", o.addr),
        4 => format!("s8i   [{:#010x}] = {:#04x}", o.addr, o.value as u8),
        5 => format!("s16i  [{:#010x}] = {:#06x}", o.addr, o.value as u16),
        6 => format!("s32i  [{:#010x}] = {:#010x}", o.addr, o.value),
        _ => format!("delay {}", o.value),
    }
}

/// A case spelled out: enough to rebuild it by hand or read what the guest did.
pub fn describe(case: &Case) -> String {
    let mut s = String::new();
    match case {
        Case::Insn(c) => {
            let _ = writeln!(s, "insn case: {}, {} us", if c.lopy4 { "LoPy4 (PSRAM, LoRa)" } else { "bare ESP32" }, c.time_ps / 1_000_000);
            for (i, core) in c.cores.iter().enumerate() {
                let Some(core) = core else { continue };
                let st = &core.state;
                let _ = writeln!(s, "core {i}: PS {:#x} WINDOWBASE {} WINDOWSTART {:#06x}", st.ps, st.windowbase, st.windowstart);
                let vis: Vec<String> = (0..16).map(|n| format!("a{n}={:#x}", st.regs[(st.windowbase as usize * 4 + n) & 63])).collect();
                let _ = writeln!(s, "  {}", vis.join(" "));
                let srs: Vec<String> = st.srs.iter().map(|(n, v)| format!("{}={v:#x}", emulator::disasm::sr_name(*n, true).unwrap_or("?"))).collect();
                let _ = writeln!(s, "  {}", srs.join(" "));
                let mut pc = CODE[i];
                for b in &core.code {
                    let (text, _) = disasm_bytes(b, pc);
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    let _ = writeln!(s, "  {pc:#010x}: {hex:<6}  {text}");
                    pc += b.len() as u32;
                }
                let _ = writeln!(s, "  {pc:#010x}: j {:#010x}", CODE[i]);
            }
        }
        Case::Mmio(c) => {
            let _ = writeln!(
                s,
                "mmio case: {}, {} us, INTENABLE {:#x}/{:#x}",
                if c.lopy4 { "LoPy4 (PSRAM, LoRa)" } else { "bare ESP32" },
                c.time_ps / 1_000_000,
                c.intenable[0],
                c.intenable[1]
            );
            if !c.uart0_rx.is_empty() {
                let _ = writeln!(s, "UART0 input: {:02x?}", c.uart0_rx);
            }
            for (t, gpio, d) in &c.pins {
                let _ = writeln!(s, "at {} ns GPIO{gpio} driven {}", t / 1000, ["floating", "low", "high"][*d as usize % 3]);
            }
            for (i, ops) in c.ops.iter().enumerate() {
                let Some(ops) = ops else { continue };
                let _ = writeln!(s, "core {i}: {} accesses", ops.len());
                for o in ops {
                    let _ = writeln!(s, "  {}", op_text(o));
                }
            }
        }
    }
    s
}

/// The frames of a panic's backtrace that are this workspace's code (not std, not the fuzzer).
pub fn our_frames(bt: &str) -> String {
    let lines: Vec<&str> = bt.lines().collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.starts_with("at ") && (t.contains("/peripherals/src/") || t.contains("/emulator/src/") || t.contains("/images/src/")) {
            let _ = writeln!(out, "    {} {}", lines[i - 1].trim(), t);
        }
    }
    out
}
