//! The LTE modem on UART2 as the SoC wires it (GPy pins: TX GPIO5, RX GPIO23, RTS GPIO19,
//! CTS GPIO18), without GPy firmware:
//!
//! * `uart2_register_level`: UART2 and the GPIO matrix programmed as lteppp's
//!   `connect_lte_uart` does (921600 8N1, U2 signals on the pads), through the bus: the
//!   modem's `+SYSSTART` waits while RTS is high, arrives once `uart_set_rts(true)`; a
//!   command written to the FIFO is answered a millisecond after its `\r` left; a UART2 at
//!   another rate or not routed to the pads reaches nobody.
//! * `guest_program_talks_at`: a hand-assembled program on the PRO core waits for
//!   `+SYSSTART`, sends `AT+CGMI` and copies everything UART2 receives to UART0; the same
//!   run sliced in one piece or in 997 pieces gives the same bytes at the same times.

mod common;
use common::{at, r, w};

use emulator::asm::assemble_with_symbols;
use images::rom::Rom;
use peripherals::flash::Flash;
use peripherals::lte_modem::{ModemConfig, Wiring, BOOT_TIME};
use peripherals::{Machine, MachineConfig};

const MS: u64 = 1_000_000_000;
const GPY: Wiring = Wiring { tx: 5, rx: 23, rts: 19, cts: 18 };

const GPIO: u32 = 0x3FF4_4000;
const UART0: u32 = 0x3FF4_0000;
const UART2: u32 = 0x3FF6_E000;
const FIFO: u32 = 0x00;
const CLKDIV: u32 = 0x14;
const STATUS: u32 = 0x1C;
const CONF0: u32 = 0x20;
const CONF0_RESET: u32 = 0x0800_001C;
const SW_RTS: u32 = 1 << 6;
/// 921600 baud from the 40 MHz APB clock: 43 + 6/16.
const DIV_921600: u32 = 43 | 6 << 20;
const U2_DATA: u32 = 198;
const U2_FLOW: u32 = 199;

fn out_sel(pad: u8) -> u32 {
    GPIO + 0x530 + 4 * pad as u32
}

fn in_sel(signal: u32) -> u32 {
    GPIO + 0x130 + 4 * signal
}

fn gpy_machine(net: ModemConfig) -> Machine {
    let cfg = MachineConfig { strict: true, lte: Some((net, GPY)), ..MachineConfig::default() };
    let mut m = Machine::new(Rom::esp32(), Flash::new_in_memory(4 << 20), cfg).expect("machine");
    m.power_on();
    m
}

/// Everything in UART2's RX FIFO now.
fn drain(m: &mut Machine) -> String {
    let n = r(m, UART2 + STATUS) & 0xFF;
    (0..n).map(|_| r(m, UART2 + FIFO) as u8 as char).collect()
}

/// `connect_lte_uart`'s routing: TX and RTS out, RX and CTS in, through the matrix.
fn route(m: &mut Machine) {
    w(m, out_sel(GPY.tx), U2_DATA);
    w(m, out_sel(GPY.rts), U2_FLOW);
    w(m, in_sel(U2_DATA), 0x80 | GPY.rx as u32);
    w(m, in_sel(U2_FLOW), 0x80 | GPY.cts as u32);
}

fn send(m: &mut Machine, s: &str) {
    for b in s.bytes() {
        w(m, UART2 + FIFO, b as u32);
    }
}

#[test]
fn uart2_register_level() {
    let mut m = gpy_machine(ModemConfig::default());
    at(&mut m, 0);
    route(&mut m);
    w(&mut m, UART2 + CLKDIV, DIV_921600);
    // RTS high (SW_RTS 0): the modem keeps +SYSSTART to itself.
    at(&mut m, BOOT_TIME + 100 * MS);
    assert_eq!(drain(&mut m), "");
    assert!(m.soc.gpio.level(GPY.rx as usize), "the modem's TXD idles high");
    assert!(!m.soc.gpio.level(GPY.cts as usize), "the modem is ready (its RTS low)");
    w(&mut m, UART2 + CONF0, CONF0_RESET | SW_RTS);
    at(&mut m, BOOT_TIME + 101 * MS);
    assert_eq!(drain(&mut m), "\r\n+SYSSTART\r\n");

    // A command: the answer starts 1 ms after the \r is on the wire.
    let t0 = BOOT_TIME + 200 * MS;
    at(&mut m, t0);
    send(&mut m, "AT+CGMI\r");
    let cr_done = m.soc.uart[2].tx_done_at();
    let ch = m.soc.uart[2].char_time(40_000_000);
    assert_eq!(cr_done, t0 + 8 * ch, "eight characters back to back");
    at(&mut m, cr_done + MS - 1);
    assert_eq!(drain(&mut m), "AT+CGMI\r", "only the echo so far");
    at(&mut m, cr_done + 2 * MS);
    assert_eq!(drain(&mut m), "\r\nSEQUANS Communications\r\n\r\nOK\r\n");
    assert_eq!(m.lte().unwrap().modem.log.last().map(|l| (l.0, l.1.as_str())), Some((cr_done, "AT+CGMI")));

    // lteppp's dialogue continues: echo off, CSQ before the radio is on.
    at(&mut m, t0 + 10 * MS);
    send(&mut m, "ATE0\r");
    at(&mut m, t0 + 20 * MS);
    drain(&mut m);
    send(&mut m, "AT+CSQ\r");
    at(&mut m, t0 + 30 * MS);
    assert_eq!(drain(&mut m), "\r\n+CSQ: 99,99\r\n\r\nOK\r\n");

    // 115200 (the firmware's recovery probe): the modem does not understand.
    w(&mut m, UART2 + CLKDIV, 347 | 4 << 20);
    send(&mut m, "AT\r");
    at(&mut m, t0 + 40 * MS);
    assert_eq!(drain(&mut m), "");
    assert_eq!(m.lte().unwrap().garbled, 3);
    // Back at 921600 but TX routed elsewhere: nothing reaches the modem either.
    w(&mut m, UART2 + CLKDIV, DIV_921600);
    w(&mut m, out_sel(GPY.tx), 0x100);
    send(&mut m, "AT\r");
    at(&mut m, t0 + 50 * MS);
    assert_eq!(drain(&mut m), "");
    assert_eq!(m.lte().unwrap().garbled, 6);
    assert!(m.reports.is_empty(), "{:?}", m.reports);
}

/// The program: both flash-boot watchdogs off, GPIO matrix and UART2 as lteppp sets them, RTS released; then it copies
/// every byte UART2 receives to UART0 and, after the second '\n' (the end of
/// `\r\n+SYSSTART\r\n`), sends the command at `msg`.
fn program(msg: u32, len: u32) -> String {
    format!(
        "
        j start
        .align 4
    lit_out5:   .word {out5:#x}
    lit_out19:  .word {out19:#x}
    lit_in198:  .word {in198:#x}
    lit_in199:  .word {in199:#x}
    lit_u2:     .word {UART2:#x}
    lit_u0:     .word {UART0:#x}
    lit_div:    .word {DIV_921600:#x}
    lit_conf0:  .word {conf0:#x}
    lit_msg:    .word {msg:#x}
    lit_tg0:    .word 0x3FF5F000
    lit_rtc:    .word 0x3FF48000
    lit_key:    .word 0x50D83AA1
    start:
        l32r a2, lit_tg0
        l32r a3, lit_key
        s32i a3, a2, 0x64
        movi a3, 0
        s32i a3, a2, 0x48
        l32r a2, lit_rtc
        l32r a3, lit_key
        s32i a3, a2, 0xA4
        movi a3, 0
        s32i a3, a2, 0x8C
        l32r a2, lit_out5
        movi a3, {U2_DATA}
        s32i a3, a2, 0
        l32r a2, lit_out19
        movi a3, {U2_FLOW}
        s32i a3, a2, 0
        l32r a2, lit_in198
        movi a3, {rx}
        s32i a3, a2, 0
        l32r a2, lit_in199
        movi a3, {cts}
        s32i a3, a2, 0
        l32r a5, lit_u2
        l32r a3, lit_div
        s32i a3, a5, {CLKDIV}
        l32r a3, lit_conf0
        s32i a3, a5, {CONF0}
        memw
        l32r a8, lit_u0
        movi a9, 0
    echo:
        l32i a3, a5, {STATUS}
        extui a3, a3, 0, 8
        beqz a3, echo
        l32i a3, a5, {FIFO}
        s32i a3, a8, {FIFO}
        movi a4, 10
        bne a3, a4, echo
        addi a9, a9, 1
        movi a4, 2
        bne a9, a4, echo
        l32r a6, lit_msg
        movi a7, {len}
    send:
        l8ui a3, a6, 0
        s32i a3, a5, {FIFO}
        addi a6, a6, 1
        addi a7, a7, -1
        bnez a7, send
        j echo
    ",
        out5 = out_sel(GPY.tx),
        out19 = out_sel(GPY.rts),
        in198 = in_sel(U2_DATA),
        in199 = in_sel(U2_FLOW),
        conf0 = CONF0_RESET | SW_RTS,
        rx = 0x80 | GPY.rx as u32,
        cts = 0x80 | GPY.cts as u32,
    )
}

/// Runs the program to `end`, in `slices` equal run_until calls; UART0's bytes and the
/// modem's command log.
fn run_program(slices: u64, end: u64) -> (Vec<u8>, Vec<(u64, String)>) {
    const IRAM: u32 = 0x4008_0000;
    const MSG: u32 = 0x3FFB_0000;
    let mut m = gpy_machine(ModemConfig::default());
    let cmd = b"AT+CGMI\r";
    let (code, _) = assemble_with_symbols(&program(MSG, cmd.len() as u32), IRAM).expect("assembling");
    m.soc.load(IRAM, &code).unwrap();
    m.soc.load(MSG, cmd).unwrap();
    m.cores[0].pc = IRAM;
    let mut out = Vec::new();
    for i in 1..=slices {
        let stop = m.run_until(end * i / slices);
        assert!(matches!(stop, peripherals::Stop::Deadline), "{stop:?} at pc {:#x}: {:?}", m.cores[0].pc, m.reports);
        out.extend(m.take_uart_output(0));
    }
    (out, m.lte().unwrap().modem.log.clone())
}

#[test]
fn guest_program_talks_at() {
    let end = BOOT_TIME + 20 * MS;
    let (out, log) = run_program(1, end);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text, "\r\n+SYSSTART\r\nAT+CGMI\r\r\nSEQUANS Communications\r\n\r\nOK\r\n");
    assert_eq!(log.len(), 1);
    assert!(log[0].0 > BOOT_TIME && log[0].0 < BOOT_TIME + MS, "the command followed +SYSSTART at once: {log:?}");
    // Host slicing changes nothing the guest sees.
    assert_eq!(run_program(997, end), (out, log));
}
