//! The Wi-Fi PHY / RF initialisation of the real firmware: the LoPy4 1.20.2.r7 app runs its
//! RF calibration at boot even with the radios off (`wifi_on_boot=0`). With the radio blocks
//! and the analog I2C master modelled (`radio.rs`) it must finish without the PHY's error
//! reports, without touching a radio register nobody models, and go on to the Wi-Fi MAC
//! set-up that follows it.
//!
//! Bundles come from `PYEMU_FIRMWARE_DIR` (default `<workspace>/../shared/firmware`); when
//! absent the firmware test prints `skipping: …` and passes, unless `PYEMU_REQUIRE_FIRMWARE=1`.

use test_support as support;

use peripherals::radio::{self, Radio};
use peripherals::rtc_cntl::RtcCntl;
use peripherals::{Machine, MachineConfig};

const MS: u64 = 1_000_000_000;
/// Virtual time to run: the PHY calibration ends a little before 3 s.
const RUN_MS: u64 = 3200;

/// A LoPy4 as shipped, flashed with the bundle and the radios-off configuration, powered on.
fn lopy4() -> Option<Machine> {
    let (image, board) = support::lopy4_r7_image()?;
    let flash = peripherals::flash::Flash::from_image(image);
    let cfg = MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 0x01, 0x02, 0x03]);
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).expect("machine");
    m.power_on();
    Some(m)
}

/// Whether `addr` (either bus alias) lies in one of the radio's blocks or the analog I2C master.
fn in_radio(addr: u32) -> bool {
    let a = if addr >= 0x6000_0000 { addr - 0x6000_0000 + 0x3FF4_0000 } else { addr };
    let block = a.wrapping_sub(0x3FF0_0000) >> 12;
    block == 0x4E || radio::is_radio_block(block)
}

#[test]
fn phy_calibration_completes() {
    let Some(mut m) = lopy4() else { return };
    m.run_until(RUN_MS * MS);
    let out = String::from_utf8_lossy(&m.uart0_out).into_owned();
    assert!(out.contains("entry 0x"), "the ROM started the bootloader:\n{out}");
    for line in out.lines() {
        assert!(!line.contains("phy: error") && !line.contains("pll_cal exceeds"), "PHY error: {line}");
    }
    let radio_reports: Vec<String> = m.reports.iter().filter(|r| in_radio(r.addr)).map(|r| r.to_string()).collect();
    assert!(radio_reports.is_empty(), "unmodelled radio registers:\n{}", radio_reports.join("\n"));
    // Start-up went on past the calibration and the Wi-Fi MAC set-up that follows it (its
    // request/acknowledge handshake on WMAC1 +0xD24 is made and then released): MicroPython
    // came up.
    assert!(out.contains("Pycom MicroPython 1.20.2.r7"), "MicroPython started after the PHY init:\n{out}");
    // The firmware drove the analog blocks through the I2C master: the RF PLL's cap value
    // it searched for is in place, and the PLL reads locked.
    assert_ne!(m.soc.ana_i2c.analog(radio::ANA_RFPLL, 7) & 0x80, 0);
}

#[test]
fn mac_timer_counts_microseconds() {
    let mut r = Radio::new();
    assert_eq!(r.read(radio::WMAC1, radio::MAC_TIME, 1500 * MS), Some(1_500_000));
}

#[test]
fn temperature_sensor_ready_when_powered() {
    const SLAVE_ADDR3: u32 = 0x844;
    const TSENS_CTRL: u32 = 0x84C;
    let mut rtc = RtcCntl::new();
    assert_eq!(rtc.read(SLAVE_ADDR3, 0).unwrap() >> 30 & 1, 0, "off: not ready");
    // What IDF's temperature read does: power up (forced), then dump the output.
    assert!(rtc.write(TSENS_CTRL, 1 << 25 | 1 << 24 | 10 << 16, 0));
    assert!(rtc.write(TSENS_CTRL, 1 << 26 | 1 << 25 | 1 << 24 | 10 << 16, 0));
    let v = rtc.read(SLAVE_ADDR3, 0).unwrap();
    assert_eq!(v >> 30 & 1, 1, "ready");
    let raw = v >> 22 & 0xFF;
    assert!((90..=150).contains(&raw), "a plausible die temperature: {raw}");
}
