//! The LTE modem through real MicroPython, without GPy/FiPy firmware: the LoPy4 r7 app on a
//! LoPy4 with the modem wired where the FiPy has it (TX P20, RX P18, RTS P19, CTS P17 —
//! pins the LoPy4 leaves free; a FiPy is a LoPy4 plus this modem). MicroPython's
//! `machine.UART(2, 921600, pins=…)` (hardware flow control, as lteppp sets it) talks AT:
//! identity, CFUN=1, the `+CEREG` URCs as the simulated
//! network registers after the configured delay (virtual time: `time.sleep`), CGATT, CSQ.
//! What only a GPy/FiPy bundle can show (lteppp's own dialogue at boot, `network.LTE()`)
//! is replayed byte for byte in `peripherals/src/parts/lte_modem.rs`'s unit tests.

use test_support as firmware;

mod common;
use common::{Dut, S};

use images::board::Board;
use images::compose::{build, Firmware, Overrides};
use peripherals::lte_modem::{ModemConfig, Wiring};
use peripherals::{Machine, MachineConfig};

const FIPY_WIRING: Wiring = Wiring { tx: 33, rx: 34, rts: 32, cts: 35 };

#[test]
fn micropython_uart2_talks_to_the_modem() {
    let Some(path) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let data = std::fs::read(&path).unwrap();
    let fw = Firmware::Bundle(images::bundle::Bundle::from_bytes(&data).unwrap());
    let board = Board::by_id("lopy4").unwrap();
    let ov = Overrides { config: Some("wifi_on_boot=0,wdt_on_boot=0".into()), ..Default::default() };
    let (flash, _) = build("LoPy4-1.20.2.r7.tar.gz", &fw, &board, &ov).unwrap();
    let mut f = peripherals::flash::Flash::new_in_memory(board.flash_size);
    f.load(0, &flash.data);
    let net = ModemConfig { attach_delay: Some(3 * S), ..ModemConfig::default() };
    let cfg = MachineConfig { lte: Some((net, FIPY_WIRING)), ..MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3]) };
    let mut m = Machine::new(images::rom::Rom::esp32(), f, cfg).unwrap();
    m.power_on();
    let mut d = Dut::new(m);
    d.until(">>> ", 20);

    d.cmd("from machine import UART; import time");
    d.cmd("u = UART(2, baudrate=921600, pins=('P20', 'P18', 'P19', 'P17'))");
    d.cmd("at = lambda c, ms=50: (u.write(c + '\\r'), time.sleep_ms(ms), u.read())[2]");
    // The modem's +SYSSTART went out at 1 s, before UART2 was routed to its pads: lost.
    assert_eq!(d.cmd("time.sleep_ms(10); print(u.read())"), "None");
    assert_eq!(d.cmd("at('AT+CGMI')"), r"b'AT+CGMI\r\r\nSEQUANS Communications\r\n\r\nOK\r\n'");
    assert_eq!(d.cmd("at('ATE0')"), r"b'ATE0\r\r\nOK\r\n'");
    assert_eq!(d.cmd("at('AT+CEREG=1')"), r"b'\r\nOK\r\n'");
    assert_eq!(d.cmd("at('AT+CSQ')"), r"b'\r\n+CSQ: 99,99\r\n\r\nOK\r\n'");
    // attach(): the radio on, searching; registered 3 s (virtual) later.
    assert_eq!(d.cmd("at('AT+CFUN=1')"), r"b'\r\nOK\r\n\r\n+CEREG: 2\r\n'");
    assert_eq!(d.cmd("at('AT+CGATT?')"), r"b'\r\n+CGATT: 0\r\n\r\nOK\r\n'");
    assert_eq!(d.cmd("time.sleep(3); u.read()"), r"b'\r\n+CEREG: 1\r\n'");
    assert_eq!(d.cmd("at('AT+CGATT?')"), r"b'\r\n+CGATT: 1\r\n\r\nOK\r\n'");
    assert_eq!(d.cmd("at('AT+CSQ')"), r"b'\r\n+CSQ: 18,99\r\n\r\nOK\r\n'");
    let lte = d.m.lte().unwrap();
    assert_eq!(lte.garbled, "\r\n+SYSSTART\r\n".len() as u64, "only the boot banner nobody listened to");
    let cmds: Vec<&str> = lte.modem.log.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(cmds, ["AT+CGMI", "ATE0", "AT+CEREG=1", "AT+CSQ", "AT+CFUN=1", "AT+CGATT?", "AT+CGATT?", "AT+CSQ"]);
    let uart2: Vec<_> = d.m.reports.iter().filter(|r| r.to_string().contains("UART2")).map(|r| r.to_string()).collect();
    assert!(uart2.is_empty(), "unmodelled UART2 accesses: {uart2:?}");
}

/// `--lte` where it cannot apply is a clear error before anything runs.
#[test]
fn lte_options_on_a_board_without_the_modem_are_refused() {
    let Some(path) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let out = firmware::run(&[path.to_str().unwrap(), "--lte-attach-delay", "5s", "--timeout", "1ms"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the LoPy4 has no LTE modem (the GPy and FiPy have one)"), "{err}");
    let out = firmware::run(&[path.to_str().unwrap(), "--lte", "maybe"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected on, off, no-sim or no-coverage"));
}
