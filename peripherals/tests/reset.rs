//! Resets on the real firmware: the LoPy4 1.20.2.r7 bundle boots through the mask ROM and
//! Pycom's bootloader into the app; then the host triggers a reset the way the firmware
//! would (the TIMG0 watchdog as `machine.reset()` programs it, RTC_CNTL software resets,
//! deep sleep with an RTC-timer wake-up) and the test checks that the ROM runs again and
//! prints the right `rst:` reason, what survived and what did not.
//!
//! Bundles come from `PYEMU_FIRMWARE_DIR` (default `<workspace>/../shared/firmware`); when
//! absent the tests print `skipping: …` and pass, unless `PYEMU_REQUIRE_FIRMWARE=1`.

use test_support as support;

use emulator::Bus;
use images::bundle::Bundle;
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};

const BUNDLE: &str = "LoPy4-1.20.2.r7.tar.gz";
const MS: u64 = 1_000_000_000;
const BANNER: &str = "ets Jun  8 2016 00:22:57";
const TIMG0: u32 = 0x3FF5_F000;
const RTC_CNTL: u32 = 0x3FF4_8000;

/// A LoPy4 (second generation: eFuse revision 1, 8 MB flash, 4 MB PSRAM) with the bundle
/// flashed as Pycom's updater would, powered on.
fn board() -> Option<Machine> {
    let path = support::bundle_path(BUNDLE)?;
    let data = std::fs::read(&path).expect("bundle readable");
    let bundle = Bundle::from_bytes(&data).expect("bundle");
    let mut image = images::flash::Flash::erased(8 << 20);
    bundle.apply(&mut image).expect("flashing the bundle");
    let mut flash = Flash::new_in_memory(8 << 20);
    flash.load(0, image.read(0, 8 << 20));
    let cfg = MachineConfig {
        efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 0x01, 0x02, 0x03], revision: 1 },
        strict: false,
        seed: 1,
        psram_size: 4 << 20,
        radio: None,
        lte: None,
        timing: Default::default(),
    };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).expect("machine");
    m.power_on();
    Some(m)
}

/// Runs until the app is running on both cores (the bootloader handed over and the app
/// released the APP CPU), or panics.
fn boot_to_app(m: &mut Machine) {
    m.run_until(1500 * MS);
    let out = String::from_utf8_lossy(&m.uart0_out).into_owned();
    assert_eq!(out.matches(BANNER).count(), 1, "one ROM banner:\n{out}");
    assert!(out.contains("entry 0x"), "the ROM started the bootloader:\n{out}");
    assert!(m.booted_image_offset().is_some(), "the bootloader mapped the app");
    assert!(!m.cores[1].halted, "the app started the APP CPU");
    assert_eq!(m.reset_log.len(), 1, "no reset while booting: {:?}", m.reset_log);
}

/// A register write as the firmware would do it, at the machine's current time.
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

fn uart(m: &Machine) -> String {
    String::from_utf8_lossy(&m.uart0_out).into_owned()
}

/// The `rst:` line of the n-th ROM banner.
fn rst_line(out: &str, n: usize) -> String {
    out.split(BANNER).nth(n + 1).and_then(|s| s.lines().find(|l| l.starts_with("rst:"))).unwrap_or("").to_string()
}

#[test]
fn watchdog_system_reset_reruns_the_rom() {
    let Some(mut m) = board() else { return };
    boot_to_app(&mut m);
    // Something only a power cycle would lose, in SRAM and RTC slow memory.
    m.soc.load(0x3FFC_0000, b"SRAM").unwrap();
    m.soc.load(0x5000_1F00, b"RTCS").unwrap();
    // Pycom's machine_wdt_start(1): 0.5 ms ticks, stage 0 interrupt, stage 1 system reset.
    let t_arm = m.now_ps;
    poke(&mut m, TIMG0 + 0x64, 0x50D8_3AA1);
    let c0 = peek(&mut m, TIMG0 + 0x48);
    poke(&mut m, TIMG0 + 0x48, c0 & !(1 << 31));
    let c0 = (c0 & !(0xFF << 23) & !(0x3F << 15)) | 7 << 18 | 7 << 15 | 1 << 21 | 1 << 29 | 3 << 27;
    poke(&mut m, TIMG0 + 0x48, c0);
    poke(&mut m, TIMG0 + 0x4C, 40_000 << 16);
    poke(&mut m, TIMG0 + 0x50, 1);
    poke(&mut m, TIMG0 + 0x54, 1);
    poke(&mut m, TIMG0 + 0x48, c0 | 1 << 31);
    poke(&mut m, TIMG0 + 0x60, 1);
    poke(&mut m, TIMG0 + 0x64, 0);
    assert_eq!(m.soc.apb_hz, 80_000_000, "the app runs the APB at 80 MHz");

    // Just after the reset: the digital domain is back to reset values, memory is not.
    m.run_until(t_arm + MS + MS / 100);
    assert_eq!(m.reset_log.len(), 2, "{:?}", m.reset_log);
    assert_eq!(m.reset_log[1], (t_arm + MS, 7), "stage 0 + stage 1 = two 0.5 ms ticks after arming");
    assert_eq!(m.soc.rtc.regs.get(0x34) & 0xFFF, 7 | 7 << 6, "RESET_STATE: TG0WDT_SYS_RESET on both cores");
    assert!(m.cores[1].halted, "the APP CPU is held again");
    assert_eq!(m.soc.peek(0x3FFC_0000, 4).unwrap(), b"SRAM", "SRAM kept");
    assert_eq!(m.soc.peek(0x5000_1F00, 4).unwrap(), b"RTCS", "RTC memory kept");
    assert_eq!(m.soc.cpu_hz, 40_000_000, "the ROM runs on XTAL again");

    // The ROM and the bootloader run again and start the app.
    m.run_until(t_arm + 1200 * MS);
    let out = uart(&m);
    assert_eq!(out.matches(BANNER).count(), 2, "{out}");
    assert!(rst_line(&out, 0).starts_with("rst:0x1 (POWERON_RESET)"), "{out}");
    assert!(rst_line(&out, 1).starts_with("rst:0x7 (TG0WDT_SYS_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"), "{out}");
    assert_eq!(out.matches("entry 0x").count(), 2, "{out}");
    assert!(m.booted_image_offset().is_some(), "the bootloader mapped the app again");
    assert!(!m.cores[1].halted, "the app started the APP CPU again");
    assert_eq!(m.reset_log.len(), 2, "the bootloader disabled the flash boot watchdogs: {:?}", m.reset_log);
}

#[test]
fn software_resets_report_their_causes() {
    let Some(mut m) = board() else { return };
    boot_to_app(&mut m);
    // RTC_CNTL_SW_SYS_RST: a core reset, ROM cause 3.
    poke(&mut m, RTC_CNTL, 1 << 31);
    let t = m.now_ps;
    m.run_until(t + 600 * MS);
    let out = uart(&m);
    assert!(rst_line(&out, 1).starts_with("rst:0x3 (SW_RESET)"), "{out}");
    assert_eq!(m.reset_log[1].1, 3);
    assert!(!m.cores[1].halted, "back in the app");

    // esp_restart_noos from the PRO CPU: reset the APP CPU, then the PRO CPU (cause 12).
    // It first puts the CPU clock back on XTAL and clears the APP CPU's boot address.
    let clk = peek(&mut m, RTC_CNTL + 0x70);
    poke(&mut m, RTC_CNTL + 0x70, clk & !(3 << 27));
    poke(&mut m, 0x3FF0_0038, 0);
    poke(&mut m, RTC_CNTL, 1 << 4);
    poke(&mut m, RTC_CNTL, 1 << 5);
    let t = m.now_ps;
    m.run_until(t + MS);
    assert_eq!(m.soc.rtc.regs.get(0x34) & 0xFFF, 12 | 12 << 6, "RESET_STATE: SW_CPU_RESET on both cores");
    assert!(m.booted_image_offset().is_some(), "a CPU reset leaves the MMU alone");
    m.run_until(t + 800 * MS);
    let out = uart(&m);
    assert!(rst_line(&out, 2).starts_with("rst:0xc (SW_CPU_RESET)"), "{out}");
}

#[test]
fn deep_sleep_wakes_on_the_rtc_timer() {
    let Some(mut m) = board() else { return };
    boot_to_app(&mut m);
    m.soc.load(0x3FFC_0000, b"SRAM").unwrap();
    m.soc.load(0x5000_1F00, b"RTCS").unwrap();
    // esp_deep_sleep_start with a 200 ms timer: wake-up time in RTC slow-clock ticks.
    poke(&mut m, RTC_CNTL + 0x0C, 1 << 31);
    let now_ticks = peek(&mut m, RTC_CNTL + 0x10) as u64;
    let wake = now_ticks + 30_000; // 200 ms at 150 kHz
    poke(&mut m, RTC_CNTL + 0x04, wake as u32);
    poke(&mut m, RTC_CNTL + 0x08, (wake >> 32) as u32);
    poke(&mut m, RTC_CNTL + 0x38, 1 << 17);
    let pwc = peek(&mut m, RTC_CNTL + 0x84);
    poke(&mut m, RTC_CNTL + 0x84, pwc | 1 << 31);
    poke(&mut m, RTC_CNTL + 0x18, 1 << 31);
    let t_sleep = m.now_ps;
    let before = m.uart0_out.len();
    m.run_until(t_sleep + 150 * MS);
    assert_eq!(m.uart0_out.len(), before, "asleep: nothing runs");
    assert!(m.cores[0].halted && m.cores[1].halted);
    m.run_until(t_sleep + 250 * MS);
    m.run_until(t_sleep + 900 * MS);
    let (t_wake, cause) = m.reset_log[1];
    assert_eq!(cause, 5);
    assert_eq!(t_wake, (wake as u128 * 1_000_000_000_000).div_ceil(150_000) as u64, "woken by the RTC timer");
    let out = uart(&m);
    assert!(rst_line(&out, 1).starts_with("rst:0x5 (DEEPSLEEP_RESET)"), "{out}");
    assert_eq!(m.soc.peek(0x5000_1F00, 4).unwrap(), b"RTCS", "RTC memory kept");
    assert_ne!(m.soc.peek(0x3FFC_0000, 4).unwrap(), b"SRAM", "SRAM lost in deep sleep");
}
