//! EN (CHIP_PU) as a host input: pulled low, the chip stops and stays in reset (bytes sent
//! to it are lost); released, it starts EN_RISE_PS later (the RC on EN) with a power-on reset
//! and latches its straps then, so GPIO0 low at that moment enters the ROM loader. A
//! release shorter than the RC delay resets nothing. No firmware needed: the mask ROM alone.

use peripherals::autoreset::EN_RISE_PS;
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use peripherals::{HostInput, Machine, MachineConfig};

const MS: u64 = 1_000_000_000;

fn text(m: &mut Machine) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut m.uart0_out)).into_owned()
}

#[test]
fn en_holds_the_chip_in_reset_and_its_release_latches_the_straps() {
    let mut m = Machine::new(images::rom::Rom::esp32(), Flash::new_in_memory(4 << 20), MachineConfig::default()).unwrap();
    m.power_on();
    m.run_until(50 * MS);
    let boot = text(&mut m);
    assert!(boot.contains("rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"), "{boot}");

    // EN low: nothing runs, input is lost.
    m.schedule_input(60 * MS, HostInput::En { low: true });
    m.uart_input_at(0, 70 * MS, b"lost");
    // A release shorter than the RC delay: no reset.
    m.schedule_input(80 * MS, HostInput::En { low: false });
    m.schedule_input(80 * MS + EN_RISE_PS / 2, HostInput::En { low: true });
    // GPIO0 low, then EN released for good.
    m.schedule_input(100 * MS, HostInput::Drive { gpio: 0, drive: Drive::Low });
    m.schedule_input(100 * MS, HostInput::En { low: false });
    m.run_until(100 * MS + EN_RISE_PS - MS);
    assert!(m.in_reset());
    assert_eq!(m.reset_log.len(), 1, "{:?}", m.reset_log);
    assert_eq!(text(&mut m), "", "a chip in reset prints nothing");
    m.run_until(100 * MS + EN_RISE_PS + 50 * MS);
    assert!(!m.in_reset());
    assert_eq!(m.reset_log[1], (100 * MS + EN_RISE_PS, 1), "a power-on reset when EN has risen");
    let out = text(&mut m);
    assert!(out.contains("rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))"), "{out}");
    assert!(out.contains("waiting for download"), "{out}");
    assert_eq!(m.uart_rx_queued(0), 0, "the bytes sent during reset are gone");
    let logged: Vec<_> = m.input_log.iter().filter(|(_, i)| matches!(i, HostInput::En { .. })).collect();
    assert_eq!(logged.len(), 4, "EN inputs are logged for replay");
}
