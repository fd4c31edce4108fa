//! Virtual time agrees with the configured clocks: a hand-assembled program on the PRO core
//! (no ROM boot) selects a CPU/APB clock, starts TIMG0 timer 0 with a divider, and samples
//! CCOUNT, the timer and the RTC timer before and after a delay loop. The host then checks
//!
//! * Δtimer = Δccount · apb_hz / (cpu_hz · divider) within one timer tick,
//! * ΔRTC time = Δccount · 150 kHz / cpu_hz within one slow-clock tick,
//! * the machine's `now_ps` advanced by exactly Δccount / cpu_hz (CCOUNT counts one cycle
//!   per instruction, so Δccount also equals the core's Δcycles),
//!
//! for XTAL 40 MHz (and XTAL/2 through APB_CTRL's divider), PLL 80, 160 and 240 MHz, and
//! that a timer keeps counting continuously (old rate before, new rate after) across a
//! clock switch.

use emulator::asm::assemble_with_symbols;
use images::rom::Rom;
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig, Stop};
use std::collections::HashMap;

const IRAM: u32 = 0x4008_0000;
/// Where the program stores its samples (SRAM2, data bus).
const OUT: u32 = 0x3FFB_0000;
const PS_PER_S: u128 = 1_000_000_000_000;
const RTC_SLOW_HZ: u64 = 150_000;

const DPORT_CPU_PER_CONF: u32 = 0x3FF0_003C;
const RTC_CNTL: u32 = 0x3FF4_8000;
const APB_SYSCLK_CONF: u32 = 0x3FF6_6000;
const TIMG0: u32 = 0x3FF5_F000;

/// One clock configuration, as firmware would program it.
#[derive(Clone, Copy, Debug)]
struct Clocks {
    /// RTC_CNTL_CLK_CONF SOC_CLK_SEL: 0 XTAL, 1 PLL.
    soc_clk_sel: u32,
    /// DPORT CPU_PER_CONF CPUPERIOD_SEL: 0 80, 1 160, 2 240 MHz (on PLL).
    cpu_period: u32,
    /// APB_CTRL SYSCLK_CONF PRE_DIV_CNT (on XTAL: CPU = APB = 40 MHz / (n + 1)).
    pre_div: u32,
    /// What the hardware runs at with those settings.
    cpu_hz: u64,
    apb_hz: u64,
}

const XTAL_40: Clocks = Clocks { soc_clk_sel: 0, cpu_period: 0, pre_div: 0, cpu_hz: 40_000_000, apb_hz: 40_000_000 };
const XTAL_20: Clocks = Clocks { soc_clk_sel: 0, cpu_period: 0, pre_div: 1, cpu_hz: 20_000_000, apb_hz: 20_000_000 };
const PLL_80: Clocks = Clocks { soc_clk_sel: 1, cpu_period: 0, pre_div: 0, cpu_hz: 80_000_000, apb_hz: 80_000_000 };
const PLL_160: Clocks = Clocks { soc_clk_sel: 1, cpu_period: 1, pre_div: 0, cpu_hz: 160_000_000, apb_hz: 80_000_000 };
const PLL_240: Clocks = Clocks { soc_clk_sel: 1, cpu_period: 2, pre_div: 0, cpu_hz: 240_000_000, apb_hz: 80_000_000 };

fn machine() -> Machine {
    let cfg = MachineConfig {
        efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 0x01, 0x02, 0x03], revision: 1 },
        strict: true,
        seed: 1,
        psram_size: 0,
        radio: None,
        lte: None,
        timing: Default::default(),
    };
    let mut m = Machine::new(Rom::esp32(), Flash::new_in_memory(4 << 20), cfg).expect("machine");
    m.power_on();
    m
}

/// Assembles `src` at IRAM, loads it, points the PRO core at it and plants a hook on every
/// label starting with `mark`. Returns the label addresses.
fn load(m: &mut Machine, src: &str) -> HashMap<String, u32> {
    let (bytes, syms) = assemble_with_symbols(src, IRAM).unwrap_or_else(|e| panic!("assembling: {e}\n{src}"));
    m.soc.load(IRAM, &bytes).expect("program fits IRAM");
    for (name, &addr) in &syms {
        if name.starts_with("mark") {
            m.add_hook(addr);
        }
    }
    // Power-on state: PS.EXCM set and INTLEVEL 15 (no interrupts), window 0.
    m.cores[0].pc = IRAM;
    syms
}

/// Where the PRO core stopped, and when.
#[derive(Clone, Copy, Debug)]
struct Mark {
    now_ps: u64,
    cycles: u64,
}

/// Runs to the hook at `addr` (and steps over it for the next run).
fn run_to(m: &mut Machine, addr: u32) -> Mark {
    let stop = m.run_until(m.now_ps + 5 * PS_PER_S as u64);
    match stop {
        Stop::Hook { core: 0, pc } if pc == addr => {}
        other => panic!("expected to reach {addr:#010x}, got {other:?} (pc {:#010x}, reports {:?})", m.cores[0].pc, m.reports),
    }
    m.cores[0].step_over_hook(addr);
    Mark { now_ps: m.now_ps, cycles: m.cores[0].cycles }
}

fn word(m: &Machine, addr: u32) -> u32 {
    let b = m.soc.peek(addr, 4).expect("readable");
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// One sample as the program stored it at `OUT + 16·i`.
#[derive(Clone, Copy, Debug)]
struct Sample {
    ccount: u32,
    timer: u64,
    rtc: u32,
}

fn sample(m: &Machine, i: u32) -> Sample {
    let at = OUT + 16 * i;
    Sample {
        ccount: word(m, at),
        timer: word(m, at + 4) as u64 | (word(m, at + 8) as u64) << 32,
        rtc: word(m, at + 12),
    }
}

/// Literals and the clock-programming sequence shared by the programs below. Registers:
/// a2 = TIMG0, a10 = RTC_CNTL, a11 = TIME_UPDATE bit, a12 = OUT.
fn prologue(c: Clocks, divider: u32) -> String {
    let t0config = 1u32 << 31 | 1 << 30 | (divider & 0xFFFF) << 13;
    format!(
        "
        j start
        .align 4
    lit_per:   .word {DPORT_CPU_PER_CONF:#x}
    lit_rtc:   .word {RTC_CNTL:#x}
    lit_mask:  .word 0xE7FFFFFF
    lit_sel:   .word {sel:#x}
    lit_apb:   .word {APB_SYSCLK_CONF:#x}
    lit_timg:  .word {TIMG0:#x}
    lit_cfg:   .word {t0config:#x}
    lit_upd:   .word 0x80000000
    lit_out:   .word {OUT:#x}
    lit_n:     .word {{loops}}
    lit_n2:    .word {{loops2}}
    start:
        l32r a10, lit_rtc
        l32r a11, lit_upd
        l32r a12, lit_out
        l32r a2, lit_timg
    ",
        sel = c.soc_clk_sel << 27,
    )
}

/// Sets the clocks `c` selects: CPU period and APB pre-divider first, then SOC_CLK_SEL.
fn set_clocks(c: Clocks) -> String {
    format!(
        "
        l32r a3, lit_per
        movi a4, {per}
        s32i a4, a3, 0
        l32r a3, lit_apb
        movi a4, {pre}
        s32i a4, a3, 0
        l32i a4, a10, 0x70
        l32r a5, lit_mask
        and a4, a4, a5
        l32r a5, lit_sel
        or a4, a4, a5
        s32i a4, a10, 0x70
        memw
    ",
        per = c.cpu_period,
        pre = c.pre_div,
    )
}

/// Loads 0 into TIMG0 timer 0 and starts it with the configuration in `lit_cfg`.
const START_TIMER: &str = "
        movi a3, 0
        s32i a3, a2, 0x18
        s32i a3, a2, 0x1c
        s32i a3, a2, 0x20
        l32r a3, lit_cfg
        s32i a3, a2, 0
        memw
";

/// Samples CCOUNT, TIMG0 T0 (T0UPDATE, then T0LO/HI) and the RTC timer (TIME_UPDATE, then
/// TIME0) into OUT + 16·`slot`. Every sample takes the same instructions.
fn take_sample(slot: u32) -> String {
    let o = slot * 16;
    format!(
        "
        rsr.ccount a4
        s32i a11, a2, 0x0c
        s32i a11, a10, 0x0c
        l32i a5, a2, 4
        l32i a6, a2, 8
        l32i a7, a10, 0x10
        s32i a4, a12, {o0}
        s32i a5, a12, {o1}
        s32i a6, a12, {o2}
        s32i a7, a12, {o3}
    ",
        o0 = o,
        o1 = o + 4,
        o2 = o + 8,
        o3 = o + 12
    )
}

/// A delay of 2·n + 1 cycles, n from the literal `lit`.
fn delay(label: &str, lit: &str) -> String {
    format!(
        "
        l32r a9, {lit}
    {label}:
        addi a9, a9, -1
        bnez a9, {label}
    "
    )
}

/// The divisor a T0CONFIG DIVIDER field selects: 0 means 65536, 1 means 2.
fn divisor(field: u32) -> u64 {
    match field {
        0 => 65536,
        1 => 2,
        n => n as u64,
    }
}

/// Ticks of a `hz` clock in `cycles` cycles of a `cpu_hz` clock (exact rational, floored).
fn ticks(cycles: u64, hz: u64, cpu_hz: u64) -> u64 {
    (cycles as u128 * hz as u128 / cpu_hz as u128) as u64
}

fn check_clocks(name: &str, c: Clocks, divider: u32) {
    let loops = c.cpu_hz / 100; // 2·loops cycles = 20 ms
    let src = prologue(c, divider).replace("{loops}", &loops.to_string()).replace("{loops2}", "1")
        + &set_clocks(c)
        + "
        nop
        nop
        nop
        nop
    "
        + START_TIMER
        + &take_sample(0)
        + "mark1: nop\n"
        + &delay("d1", "lit_n")
        + &take_sample(1)
        + "mark2: nop\n done: j done\n";
    let mut m = machine();
    let syms = load(&mut m, &src);
    let m1 = run_to(&mut m, syms["mark1"]);
    assert_eq!((m.soc.cpu_hz, m.soc.apb_hz), (c.cpu_hz, c.apb_hz), "{name}: clocks after the switch");
    let m2 = run_to(&mut m, syms["mark2"]);
    assert!(m.reports.is_empty(), "{name}: unmodelled registers: {:?}", m.reports);

    let (s0, s1) = (sample(&m, 0), sample(&m, 1));
    let dcc = s1.ccount.wrapping_sub(s0.ccount) as u64;
    // One cycle per instruction: the loop is 2 per pass, plus one sample and the l32r/nop.
    let sample_len = 10;
    assert_eq!(dcc, 2 * loops + sample_len + 2, "{name}: Δccount");
    assert_eq!(m2.cycles - m1.cycles, dcc, "{name}: Δccount vs the core's Δcycles");

    // Virtual time: Δccount cycles at cpu_hz (to the picosecond, give or take a rounding
    // per run slice).
    let dps = m2.now_ps - m1.now_ps;
    let want_ps = (dcc as u128 * PS_PER_S / c.cpu_hz as u128) as u64;
    assert!(dps.abs_diff(want_ps) <= 100, "{name}: now_ps advanced {dps} ps, Δccount {dcc} at {} Hz is {want_ps} ps", c.cpu_hz);

    // TIMG0 T0 counts APB / divider.
    let dt = s1.timer - s0.timer;
    let want = ticks(dcc, c.apb_hz, c.cpu_hz * divisor(divider));
    assert!(
        dt.abs_diff(want) <= 1,
        "{name}: Δtimer {dt}, want {want} (Δccount {dcc} · {} / ({} · {divider}))",
        c.apb_hz,
        c.cpu_hz
    );
    // RTC timer at 150 kHz.
    let drtc = s1.rtc.wrapping_sub(s0.rtc) as u64;
    let want_rtc = ticks(dcc, RTC_SLOW_HZ, c.cpu_hz);
    assert!(drtc.abs_diff(want_rtc) <= 1, "{name}: ΔRTC {drtc}, want {want_rtc}");
    // ... and absolutely: TIME0 is the slow-clock count since power-on.
    let want_abs = (m1.now_ps as u128 * RTC_SLOW_HZ as u128 / PS_PER_S) as u64;
    assert!((s0.rtc as u64).abs_diff(want_abs) <= 1, "{name}: RTC time {} at {} ps", s0.rtc, m1.now_ps);
}

#[test]
fn xtal_40mhz() {
    check_clocks("XTAL 40 MHz", XTAL_40, 2);
    check_clocks("XTAL 40 MHz, divider 40", XTAL_40, 40);
    check_clocks("XTAL 40 MHz, divider field 1 (= 2)", XTAL_40, 1);
}

#[test]
fn xtal_divided_20mhz() {
    check_clocks("XTAL/2 20 MHz", XTAL_20, 5);
}

#[test]
fn pll_80mhz() {
    check_clocks("PLL 80 MHz", PLL_80, 80);
    check_clocks("PLL 80 MHz, divider 3", PLL_80, 3);
}

#[test]
fn pll_160mhz() {
    check_clocks("PLL 160 MHz", PLL_160, 16);
    check_clocks("PLL 160 MHz, divider 2", PLL_160, 2);
}

#[test]
fn pll_240mhz() {
    check_clocks("PLL 240 MHz", PLL_240, 7);
}

/// Divider field 0 means 65536 (a 24-tick count over the 20 ms delay).
#[test]
fn divider_zero_is_65536() {
    check_clocks("PLL 80 MHz, divider 65536", PLL_80, 0);
}

/// A timer running while the firmware switches XTAL 40 MHz → PLL 160 MHz (APB 40 → 80 MHz)
/// keeps its count: ticks at 40 MHz / divider up to the switch, at 80 MHz / divider after.
#[test]
fn timer_continuous_across_clock_switch() {
    let divider = 40;
    let xtal_loops = XTAL_40.cpu_hz / 200; // 10 ms
    let pll_loops = PLL_160.cpu_hz / 200; // 10 ms
    let src = prologue(PLL_160, divider)
        .replace("{loops}", &xtal_loops.to_string())
        .replace("{loops2}", &pll_loops.to_string())
        + START_TIMER
        + &take_sample(0)
        + "mark1: nop\n"
        + &delay("d1", "lit_n")
        + &take_sample(1)
        + &set_clocks(PLL_160)
        + "mark_switch: nop\n"
        + &take_sample(2)
        + &delay("d2", "lit_n2")
        + &take_sample(3)
        + "mark2: nop\n done: j done\n";
    let mut m = machine();
    let syms = load(&mut m, &src);
    let m1 = run_to(&mut m, syms["mark1"]);
    assert_eq!(m.soc.apb_hz, XTAL_40.apb_hz);
    let msw = run_to(&mut m, syms["mark_switch"]);
    let m2 = run_to(&mut m, syms["mark2"]);
    assert_eq!((m.soc.cpu_hz, m.soc.apb_hz), (PLL_160.cpu_hz, PLL_160.apb_hz));
    assert!(m.reports.is_empty(), "unmodelled registers: {:?}", m.reports);

    let s: Vec<Sample> = (0..4).map(|i| sample(&m, i)).collect();
    // Before the switch: 1 MHz.
    let d01 = s[1].timer - s[0].timer;
    let cc01 = s[1].ccount.wrapping_sub(s[0].ccount) as u64;
    let want01 = ticks(cc01, XTAL_40.apb_hz, XTAL_40.cpu_hz * divisor(divider));
    assert!(d01.abs_diff(want01) <= 1, "before the switch: Δtimer {d01}, want {want01}");
    // Across the switch (a few instructions): no jump.
    let d12 = s[2].timer - s[1].timer;
    assert!(d12 <= 2, "the switch made the timer jump by {d12} ticks (from {} to {})", s[1].timer, s[2].timer);
    // After the switch: 2 MHz.
    let d23 = s[3].timer - s[2].timer;
    let cc23 = s[3].ccount.wrapping_sub(s[2].ccount) as u64;
    let want23 = ticks(cc23, PLL_160.apb_hz, PLL_160.cpu_hz * divisor(divider));
    assert!(d23.abs_diff(want23) <= 1, "after the switch: Δtimer {d23}, want {want23}");
    // The whole span against virtual time, piecewise.
    let total = s[3].timer - s[0].timer;
    let want_total = ((msw.now_ps - m1.now_ps) as u128 * XTAL_40.apb_hz as u128 / (PS_PER_S * divisor(divider) as u128)
        + (m2.now_ps - msw.now_ps) as u128 * PLL_160.apb_hz as u128 / (PS_PER_S * divisor(divider) as u128)) as u64;
    assert!(total.abs_diff(want_total) <= 2, "Δtimer {total} over the run, want {want_total}");
    // CCOUNT keeps one count per cycle at either frequency; time follows the frequency.
    let want_ps = (cc01 as u128 * PS_PER_S / XTAL_40.cpu_hz as u128) as u64;
    assert!((msw.now_ps - m1.now_ps).abs_diff(want_ps) < 1_000_000, "XTAL part: {} ps, want about {want_ps}", msw.now_ps - m1.now_ps);
    let want_ps = (cc23 as u128 * PS_PER_S / PLL_160.cpu_hz as u128) as u64;
    assert!((m2.now_ps - msw.now_ps).abs_diff(want_ps) < 1_000_000, "PLL part: {} ps, want about {want_ps}", m2.now_ps - msw.now_ps);
    // RTC slow clock: unaffected by the switch.
    let drtc = s[3].rtc.wrapping_sub(s[0].rtc) as u64;
    let want_rtc = ((m2.now_ps - m1.now_ps) as u128 * RTC_SLOW_HZ as u128 / PS_PER_S) as u64;
    assert!(drtc.abs_diff(want_rtc) <= 1, "ΔRTC {drtc}, want {want_rtc}");
}
