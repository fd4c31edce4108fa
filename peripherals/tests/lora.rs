//! The LPWAN radio path: SPI3 (VSPI) as Pycom's LoRa driver programs it, the SX1276 behind
//! it with NSS on a GPIO, and DIO0 back through a GPIO interrupt.
//!
//! * `sx1276_over_spi3_register_level`: the register sequence of Pycom's `SpiInit`,
//!   `SX1276ReadBuffer` / `SX1276WriteBuffer` (esp32/lora/spi-board.c,
//!   drivers/sx127x/sx1276/sx1276.c) written through the bus: RegVersion reads 0x12, a LoRa
//!   packet goes out and TxDone on DIO0 raises GPIO23's rising-edge interrupt (source 22)
//!   on the PRO core's mapped line after the time on air.
//! * `lopy4_lora_init_at_boot`: the real LoPy4 r7 app boots for up to 3 s with no
//!   unmodelled access in SPI2/SPI3; once past `modlora_init0()` (`SpiInit`: SPI3
//!   configured, pins routed, NSS high) the set-up is checked. If the boot is held up
//!   before that by another block, the test says so and only the SPI2/SPI3 check applies.
//!
//! Firmware: `PYEMU_FIRMWARE_DIR` (default `<workspace>/../shared/firmware`); the firmware
//! test prints `skipping: ...` and passes when it is missing, unless
//! `PYEMU_REQUIRE_FIRMWARE=1`.

use test_support as support;

mod common;
use common::{at, r, w};

use emulator::Bus;
use peripherals::flash::Flash;
use peripherals::sx127x::Wiring;
use peripherals::{Machine, MachineConfig};

const MS: u64 = 1_000_000_000;

const SPI3: u32 = 0x3FF6_5000;
const SPI_CMD: u32 = SPI3;
const SPI_CTRL: u32 = SPI3 + 0x08;
const SPI_USER: u32 = SPI3 + 0x1C;
const SPI_USER1: u32 = SPI3 + 0x20;
const SPI_USER2: u32 = SPI3 + 0x24;
const SPI_MOSI_DLEN: u32 = SPI3 + 0x28;
const SPI_MISO_DLEN: u32 = SPI3 + 0x2C;
const SPI_SLAVE: u32 = SPI3 + 0x38;
const SPI_W0: u32 = SPI3 + 0x80;
const CMD_USR: u32 = 1 << 18;

const GPIO: u32 = 0x3FF4_4000;
const GPIO_OUT_W1TS: u32 = GPIO + 0x08;
const GPIO_OUT_W1TC: u32 = GPIO + 0x0C;
const GPIO_ENABLE_W1TS: u32 = GPIO + 0x24;
const GPIO_STATUS: u32 = GPIO + 0x44;
const GPIO_STATUS_W1TC: u32 = GPIO + 0x4C;
const GPIO_PCPU_INT: u32 = GPIO + 0x64;
const GPIO_PIN0: u32 = GPIO + 0x88;
const GPIO_FUNC_IN_SEL: u32 = GPIO + 0x130;
const GPIO_FUNC_OUT_SEL: u32 = GPIO + 0x530;
const DPORT_PRO_INTR_MAP0: u32 = 0x3FF0_0104;

const NCS: u32 = 18;
const DIO: u32 = 23;

fn bare_lopy4() -> Machine {
    let cfg = MachineConfig { radio: Some(peripherals::board::lora_wiring(1)), strict: true, ..MachineConfig::default() };
    Machine::new(images::rom::Rom::esp32(), Flash::new_in_memory(4 << 20), cfg).expect("machine")
}


fn modify(m: &mut Machine, a: u32, f: impl Fn(u32) -> u32) {
    let v = r(m, a);
    w(m, a, f(v));
}

/// Pycom's `SpiInOut`: one full-duplex byte through W0.
fn spi_in_out(m: &mut Machine, out: u8) -> u8 {
    w(m, SPI_MOSI_DLEN, 7);
    w(m, SPI_MISO_DLEN, 7);
    w(m, SPI_W0, out as u32);
    modify(m, SPI_CMD, |v| v | CMD_USR);
    assert_eq!(r(m, SPI_CMD) & CMD_USR, 0, "the transaction is over when CMD is read back");
    r(m, SPI_W0) as u8
}

/// `SX1276ReadBuffer` / `SX1276WriteBuffer` with one byte: NSS is GPIO18, driven by hand.
fn sx_read(m: &mut Machine, addr: u8) -> u8 {
    w(m, GPIO_OUT_W1TC, 1 << NCS);
    spi_in_out(m, addr & 0x7F);
    let v = spi_in_out(m, 0);
    w(m, GPIO_OUT_W1TS, 1 << NCS);
    v
}

fn sx_write(m: &mut Machine, addr: u8, data: &[u8]) {
    w(m, GPIO_OUT_W1TC, 1 << NCS);
    spi_in_out(m, addr | 0x80);
    for b in data {
        spi_in_out(m, *b);
    }
    w(m, GPIO_OUT_W1TS, 1 << NCS);
}

#[test]
fn sx1276_over_spi3_register_level() {
    let mut m = bare_lopy4();
    at(&mut m, 0);
    // SpiInit: full duplex, MOSI, no command or address, TRANS_INTEN off; routing as
    // pin_config() does it (MISO GPIO19 in, MOSI GPIO27 / SCLK GPIO5 out).
    modify(&mut m, SPI_SLAVE, |v| v & !(1 << 9));
    modify(&mut m, SPI_USER, |v| (v | 1 | 1 << 27 | 1 << 5 | 1 << 4) & !(3 << 30));
    w(&mut m, SPI_USER1, 0);
    w(&mut m, SPI_USER2, 0);
    modify(&mut m, SPI_CTRL, |v| v & !(3 << 25));
    w(&mut m, GPIO_FUNC_IN_SEL + 4 * 64, 0x80 | 19);
    w(&mut m, GPIO_FUNC_OUT_SEL + 4 * 27, 65);
    w(&mut m, GPIO_FUNC_OUT_SEL + 4 * 5, 63);
    // SX1276IoInit: NSS output high; DIO input.
    w(&mut m, GPIO_OUT_W1TS, 1 << NCS);
    w(&mut m, GPIO_ENABLE_W1TS, 1 << NCS);

    // Bytes while NSS is high reach nobody: MISO idles high.
    assert_eq!(spi_in_out(&mut m, 0x42), 0xFF);
    assert_eq!(sx_read(&mut m, 0x42), 0x12, "RegVersion of an SX1276");
    assert_eq!(sx_read(&mut m, 0x01), 0x09, "RegOpMode after reset: FSK standby, LF");

    // To LoRa (only from Sleep), standby, and a 4-byte packet at SF7/BW125/CR4/5 with CRC.
    sx_write(&mut m, 0x01, &[0x00]);
    sx_write(&mut m, 0x01, &[0x80]);
    sx_write(&mut m, 0x01, &[0x81]);
    assert_eq!(sx_read(&mut m, 0x01), 0x81);
    sx_write(&mut m, 0x1D, &[0x72, 0x74]);
    assert_eq!((sx_read(&mut m, 0x1D), sx_read(&mut m, 0x1E)), (0x72, 0x74), "burst write");
    sx_write(&mut m, 0x0D, &[0x80]);
    sx_write(&mut m, 0x00, b"ping");
    sx_write(&mut m, 0x22, &[4]);
    sx_write(&mut m, 0x40, &[0x40]); // DIO0 = TxDone

    // GPIO23: rising-edge interrupt to the PRO CPU; source 22 on CPU interrupt 1.
    w(&mut m, GPIO_PIN0 + 4 * DIO, 1 << 7 | 1 << 15);
    w(&mut m, DPORT_PRO_INTR_MAP0 + 4 * 22, 1);

    let t0 = 5 * MS;
    at(&mut m, t0);
    sx_write(&mut m, 0x01, &[0x83]);
    let toa_ps = m.lora().unwrap().chip.next_event().expect("transmitting") - t0;
    // Semtech's calculator: 4 bytes at SF7/BW125/CR4/5, CRC on, preamble 8 = 30.976 ms.
    assert_eq!(toa_ps, 30_976 * 1_000_000);

    // Just before the end nothing is pending; at the end DIO0 rises and the edge latches.
    m.soc.next_event(t0 + toa_ps - 1);
    at(&mut m, t0 + toa_ps - 1);
    assert_eq!(r(&mut m, GPIO_STATUS) >> DIO & 1, 0);
    assert_eq!(m.soc.irq_lines(0) & 2, 0);
    m.soc.next_event(t0 + toa_ps);
    at(&mut m, t0 + toa_ps);
    assert_eq!(r(&mut m, GPIO + 0x3C) >> DIO & 1, 1, "GPIO_IN shows DIO0 high");
    assert_eq!(r(&mut m, GPIO_STATUS) >> DIO & 1, 1);
    assert_eq!(r(&mut m, GPIO_PCPU_INT) >> DIO & 1, 1);
    assert_eq!(m.soc.irq_lines(0) & 2, 2, "source 22 reaches the PRO core's interrupt 1");
    assert_eq!(m.soc.irq_lines(1) & 2, 0, "not routed to the APP core");

    // The ISR: read and clear TxDone, clear the GPIO status: the line drops.
    assert_eq!(sx_read(&mut m, 0x12), 0x08);
    assert_eq!(sx_read(&mut m, 0x01), 0x81, "back to standby");
    sx_write(&mut m, 0x12, &[0xFF]);
    w(&mut m, GPIO_STATUS_W1TC, 1 << DIO);
    assert_eq!(m.soc.irq_lines(0) & 2, 0);
    let radio = &m.lora().unwrap().chip;
    assert_eq!(radio.sent.len(), 1);
    assert_eq!(radio.sent[0].payload, b"ping");
    assert!(m.reports.is_empty(), "{:?}", m.reports);
}

#[test]
fn lopy4_lora_init_at_boot() {
    let Some((image, board)) = support::lopy4_r7_image() else { return };
    let flash = peripherals::flash::Flash::from_image(image);
    let cfg = MachineConfig::for_board(&board, [0x70, 0xB3, 0xD5, 0x49, 0x01, 0x02]);
    assert_eq!(cfg.radio, Some(Wiring { spi: 3, ncs: 18, dio0: 23, reset: None }));
    assert_eq!(cfg.radio, peripherals::board::lora(&board));
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).expect("machine");
    m.power_on();
    // SpiInit + SX1276IoInit done: SPI3 in Pycom's full-duplex MOSI mode, MISO/MOSI/SCLK
    // routed through the matrix, NSS (GPIO18) an output held high.
    let lora_ready = |m: &Machine| {
        let user = m.soc.spi3.regs.get(0x1C);
        let g = &m.soc.gpio.regs;
        user & 1 != 0
            && user & (1 << 27) != 0
            && g.get(0x530 + 4 * 27) & 0x1FF == 65
            && g.get(0x530 + 4 * 5) & 0x1FF == 63
            && g.get(0x130 + 4 * 64) & 0xBF == 0x80 | 19
            && m.soc.gpio.pad_output(NCS as usize) == Some(true)
    };
    // The LoRa set-up comes after the Bluetooth/PHY bring-up in `TASK_Micropython`; give it
    // 3 s of virtual time.
    let mut t = 0;
    while !lora_ready(&m) && t < 3000 {
        t += 10;
        m.run_until(t * MS);
    }
    let ours = |m: &Machine| -> Vec<_> {
        m.reports.iter().filter(|r| matches!(r.block, "SPI2" | "SPI3") || (0x3FF6_4000..0x3FF6_6000).contains(&r.addr)).cloned().collect()
    };
    assert!(ours(&m).is_empty(), "unmodelled SPI2/SPI3 accesses: {:?}", ours(&m));
    if !lora_ready(&m) {
        // Held up before modlora_init0() by something outside SPI2/SPI3 and the radio.
        println!(
            "LoRa set-up not reached in 3 s (SPI3 USER {:#x}, NSS pad {:?}); unmodelled elsewhere: {:?}",
            m.soc.spi3.regs.get(0x1C),
            m.soc.gpio.pad_output(NCS as usize),
            m.reports
        );
        return;
    }
    // A little longer: whatever follows modlora_init0() (the LoRa tasks, Sigfox) runs.
    m.run_until((t + 200) * MS);
    assert!(ours(&m).is_empty(), "unmodelled SPI2/SPI3 accesses: {:?}", ours(&m));
    // SpiInit clock for 10 MHz from the 80 MHz APB: CLKCNT_N = 7.
    assert_eq!((m.soc.spi3.regs.get(0x18) >> 12) & 0x3F, 7);
    let radio = m.lora().unwrap();
    assert!(!radio.chip.selected(), "NSS idles high");
    println!("LoRa set up by {t} ms; SPI3 transactions {}, SX1276 frames {}", m.soc.spi3.transactions, radio.chip.frames);
}
