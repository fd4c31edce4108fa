//! The app's LED path through the whole SoC: RMT channel 1 programmed as IDF's
//! `rmt_config()` / `rmt_write_items()` do for Pycom's `led_info`, its output routed to
//! GPIO0 through the GPIO matrix, the pad's edges timed in virtual time and decoded by the
//! board's WS2812 decoder. No firmware needed: the mask ROM runs on an erased flash (it
//! ends in its command interpreter) and the host writes the registers.

use emulator::Bus;
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};

const MS: u64 = 1_000_000_000;
const RMT: u32 = 0x3FF5_6000;
const GPIO: u32 = 0x3FF4_4000;

fn machine() -> Machine {
    let cfg = MachineConfig {
        efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 0x01, 0x02, 0x03], revision: 0 },
        strict: false,
        seed: 1,
        psram_size: 0,
        radio: None,
        lte: None,
        timing: Default::default(),
    };
    let mut m = Machine::new(images::rom::Rom::esp32(), Flash::new_in_memory(4 << 20), cfg).expect("machine");
    m.power_on();
    m.run_until(100 * MS);
    // The ROM never gets to a bootloader here: switch off flash boot protection (TIMG0
    // and RTC watchdogs) as a bootloader would.
    let t = peek(&mut m, 0x3FF5_F048);
    poke(&mut m, 0x3FF5_F048, t & !(1 << 14));
    let r = peek(&mut m, 0x3FF4_808C);
    poke(&mut m, 0x3FF4_808C, r & !(1 << 10));
    // The app's clocks: SOC_CLK_SEL = PLL (CPU 80 MHz with CPUPERIOD_SEL 0, APB 80 MHz).
    let c = peek(&mut m, 0x3FF4_8070);
    poke(&mut m, 0x3FF4_8070, (c & !(3 << 27)) | 1 << 27);
    let t = m.now_ps;
    m.run_until(t + MS);
    assert_eq!(m.soc.apb_hz, 80_000_000);
    m
}

fn poke(m: &mut Machine, addr: u32, v: u32) {
    let (now, cycles) = (m.now_ps, m.cores[0].cycles);
    m.soc.begin_slice(0, now, cycles);
    m.soc.write32(addr, v).expect("register write");
}

fn peek(m: &mut Machine, addr: u32) -> u32 {
    let (now, cycles) = (m.now_ps, m.cores[0].cycles);
    m.soc.begin_slice(0, now, cycles);
    m.soc.read32(addr).expect("register read")
}

/// `led_set_color`'s 24 items: GRB, MSB first; 1 = 9 + 3 ticks, 0 = 3 + 9 (100 ns ticks).
fn items(rgb: u32) -> Vec<u32> {
    let grb = ((rgb >> 8) & 0xFF) << 16 | ((rgb >> 16) & 0xFF) << 8 | (rgb & 0xFF);
    (0..24)
        .rev()
        .map(|i| if grb >> i & 1 != 0 { 9 | 1 << 15 | 3 << 16 } else { 3 | 1 << 15 | 9 << 16 })
        .collect()
}

/// Channel 1 on GPIO0 as `rmt_config()` sets it up for the LED.
fn setup_led(m: &mut Machine) {
    poke(m, RMT + 0xF0, 1); // APB_CONF: FIFO_MASK (direct RAM access)
    poke(m, RMT + 0x28, 8 | 1 << 24); // CH1CONF0: div 8, 1 block, carrier off
    poke(m, RMT + 0x2C, 1 << 17 | 1 << 19 | 1 << 5); // APB clock, idle out enabled low
    poke(m, RMT + 0xA8, 1 << 3); // TX_END interrupt of channel 1
    poke(m, GPIO + 0x24, 1); // ENABLE_W1TS: GPIO0 output
    poke(m, GPIO + 0x530, 88); // FUNC0_OUT_SEL_CFG: RMT_SIG_OUT1
}

fn send(m: &mut Machine, rgb: u32) {
    for (i, w) in items(rgb).into_iter().chain([0]).enumerate() {
        poke(m, RMT + 0x800 + 4 * (64 + i as u32), w);
    }
    // rmt_tx_start: MEM_RD_RST, owner TX, then TX_START.
    let c1 = peek(m, RMT + 0x2C);
    poke(m, RMT + 0x2C, c1 | 1 << 3);
    let c1 = peek(m, RMT + 0x2C) & !(1 << 5);
    poke(m, RMT + 0x2C, c1);
    poke(m, RMT + 0x2C, c1 | 1);
}

#[test]
fn rmt_frames_reach_the_led_through_the_gpio_matrix() {
    let mut m = machine();
    m.record_pins = true;
    setup_led(&mut m);
    let frames_before = m.led.frames.len();
    let t0 = m.now_ps;
    send(&mut m, 0x000050);
    // TX end posts an event: the machine stops a slice there and raises the interrupt.
    m.run_until(t0 + MS);
    assert_eq!(peek(&mut m, RMT + 0xA0) & (1 << 3), 1 << 3, "TX_END raw");
    assert_eq!(m.soc.sources() >> 47 & 1, 1, "RMT interrupt source 47 high");
    poke(&mut m, RMT + 0xAC, 1 << 3);
    let edges: Vec<_> = m.pin_trace.iter().filter(|e| e.1 == 0 && e.0 >= t0).copied().collect();
    assert_eq!(edges.len(), 48, "24 pulses on GPIO0");
    assert_eq!(edges[0], (t0, 0, true), "starts at TX_START");
    assert_eq!(edges[1], (t0 + 300_000, 0, false), "G7 = 0: 300 ns high");
    assert_eq!(edges[47], (t0 + 24 * 1_200_000 - 900_000, 0, false), "B0 = 0: the last fall, 900 ns before the end");

    let t1 = m.now_ps;
    send(&mut m, 0x500000);
    m.run_until(t1 + MS);
    let colours: Vec<u32> = m.led.frames[frames_before..].iter().map(|f| f.rgb).collect();
    assert_eq!(colours, vec![0x000050, 0x500000]);
    assert_eq!(m.led.glitches, 0);

    // Back to simple GPIO (0x100): the pad follows the OUT latch again, not the RMT.
    poke(&mut m, GPIO + 0x530, 0x100);
    let t2 = m.now_ps;
    send(&mut m, 0xFFFFFF);
    m.run_until(t2 + MS);
    assert!(m.pin_trace.iter().all(|e| e.1 != 0 || e.0 < t2), "no RMT edges on a GPIO-routed pad");
}
