//! External PSRAM (ESP-PSRAM32 on SPI CS1, mapped at 0x3F80_0000 through the cache).
//!
//! * `register_level_bring_up`: IDF's bring-up sequence written register by register (ID
//!   read in DCLK format over SPI1, enter QPI, SPI0 cache commands, MMU), then window
//!   accesses, with what breaks the path.
//! * `lopy4_psram_detected_and_memory_tested`: the real LoPy4 r7 app probes the chip, maps it
//!   and runs `esp_spiram_test()` over the whole 4 MiB, then gives the window to the heap.
//! * `lopy4_without_psram_carries_on`: the same app on a board without PSRAM: the probe fails
//!   as on silicon (nothing answers on CS1) and IDF carries on (`CONFIG_SPIRAM_IGNORE_NOTFOUND`).
//!
//! Firmware: `PYEMU_FIRMWARE_DIR` (default `<workspace>/../shared/firmware`); the firmware
//! tests print `skipping: ...` and pass when it is missing, unless `PYEMU_REQUIRE_FIRMWARE=1`.

use test_support as support;

use emulator::{Bus, MemFault};
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};

const MB4: u32 = 4 << 20;

const SPI1: u32 = 0x3FF4_2000;
const SPI0: u32 = 0x3FF4_3000;
const CMD_USR: u32 = 1 << 18;
const USER_COMMAND: u32 = 1 << 31;
const USER_ADDR: u32 = 1 << 30;
const USER_MISO: u32 = 1 << 28;
const USER_MOSI: u32 = 1 << 27;
const USER_FWRITE_QIO: u32 = 1 << 15;
const GPIO17_OUT_SEL: u32 = 0x3FF4_4530 + 4 * 17;
const PRO_CACHE_CTRL: u32 = 0x3FF0_0040;
const PRO_CACHE_CTRL1: u32 = 0x3FF0_0044;
const PRO_MMU_PSRAM0: u32 = 0x3FF1_0000 + 4 * 1152;

fn machine(flash: Flash, revision: u8, psram_size: u32) -> Machine {
    // No LPWAN radio: nothing here reaches the LoRa driver.
    let cfg = MachineConfig {
        efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 0, 0, 1], revision },
        psram_size,
        ..MachineConfig::default()
    };
    Machine::new(images::rom::Rom::esp32(), flash, cfg).expect("machine")
}

fn w(m: &mut Machine, addr: u32, v: u32) {
    m.soc.write32(addr, v).unwrap_or_else(|e| panic!("write {addr:#x}: {e:?}"));
}

fn r(m: &mut Machine, addr: u32) -> u32 {
    m.soc.read32(addr).unwrap_or_else(|e| panic!("read {addr:#x}: {e:?}"))
}

/// One SPI1 user transaction as IDF's `psram_cmd_config` + `psram_cmd_recv_start` set it up;
/// `w0` is the first data word (MOSI data, or cleared before a read). Returns W0 after.
fn spi1_user(m: &mut Machine, user: u32, user1: u32, user2: u32, addr: u32, w0: u32, miso_bits: u32) -> u32 {
    w(m, SPI1 + 0x34, 0x5); // PIN: CS0 off, CS1 on (CS2 off)
    w(m, SPI1 + 0x1C, user);
    w(m, SPI1 + 0x20, user1);
    w(m, SPI1 + 0x24, user2);
    w(m, SPI1 + 0x04, addr);
    w(m, SPI1 + 0x28, 15);
    w(m, SPI1 + 0x2C, miso_bits.saturating_sub(1));
    w(m, SPI1 + 0x80, w0);
    w(m, SPI1, CMD_USR);
    assert_eq!(r(m, SPI1) & CMD_USR, 0, "USR clears when done");
    w(m, SPI1 + 0x34, 0x6); // back to CS0
    r(m, SPI1 + 0x80)
}

/// ID read in IDF's DCLK format: a 2-bit command 0, then 0x9F as the top of a 32-bit address.
fn read_id(m: &mut Machine) -> u32 {
    spi1_user(m, USER_COMMAND | USER_ADDR | USER_MISO, 31 << 26, 1 << 28, 0x9F00_0000, 0, 32)
}

#[test]
fn register_level_bring_up() {
    let mut m = machine(Flash::new_in_memory(MB4), 1, MB4);
    m.power_on();
    // No clock routed to the PSRAM pad yet: the chip sees nothing, the lines read high.
    assert_eq!(read_id(&mut m), 0xFFFF_FFFF);
    // IDF's DCLK routing: SPICLK through loop-back signals 224/225 to GPIO17.
    w(&mut m, GPIO17_OUT_SEL, 225);
    let id = read_id(&mut m);
    assert_eq!(id & 0x00FF_FFFF, 0x20_5D_0D, "MFID 0x0D, KGD 0x5D (bits 15..8), EID 0x20");
    // psram_enable_qio_mode(): 2-bit command, 0x35 as an 8-bit address.
    spi1_user(&mut m, USER_COMMAND | USER_ADDR, 7 << 26, 1 << 28, 0x35 << 24, 0, 0);
    assert!(m.soc.psram.as_ref().unwrap().qpi());

    // Cache and MMU: PRO cache on, DRAM1 unmasked, 32 KiB pages, 128 pages identity-mapped.
    w(&mut m, PRO_CACHE_CTRL, 1 << 3);
    w(&mut m, PRO_CACHE_CTRL1, 0x8FF & !(1 << 3) & !(7 << 6));
    for i in 0..128 {
        w(&mut m, PRO_MMU_PSRAM0 + 4 * i, i);
    }
    // SPI0 still has CS1 disabled and no SRAM commands: the window does not reach the chip.
    w(&mut m, 0x3F80_0100, 0x1234_5678);
    assert_eq!(r(&mut m, 0x3F80_0100), 0xFFFF_FFFF);
    assert_eq!(m.soc.psram.as_ref().unwrap().data()[0x100], 0);
    // psram_cache_init() in DCLK mode: QIO, 16-bit commands 0x00 (delay) then 0xEB / 0x38.
    w(&mut m, SPI0 + 0x54, (1 << 28) | (23 << 22) | (6 << 14) | (1 << 5) | (1 << 4) | (1 << 2));
    w(&mut m, SPI0 + 0x5C, (15 << 28) | 0xEB00);
    w(&mut m, SPI0 + 0x60, (15 << 28) | 0x3800);
    w(&mut m, SPI0 + 0x34, 0x4); // CS1 on
    w(&mut m, 0x3F80_0100, 0x1234_5678);
    assert_eq!(r(&mut m, 0x3F80_0100), 0x1234_5678);
    assert_eq!(m.soc.read8(0x3F80_0101).unwrap(), 0x56);
    m.soc.write16(0x3F80_0102, 0xBEEF).unwrap();
    assert_eq!(m.soc.read16(0x3F80_0102).unwrap(), 0xBEEF);
    assert_eq!(&m.soc.psram.as_ref().unwrap().data()[0x100..0x104], &[0x78, 0x56, 0xEF, 0xBE]);
    // Remap page 0 to physical page 5 (byte 0x28000).
    w(&mut m, PRO_MMU_PSRAM0, 5);
    w(&mut m, 0x3F80_0010, 0xA5A5_0001);
    assert_eq!(u32::from_le_bytes(m.soc.psram.as_ref().unwrap().data()[0x28010..0x28014].try_into().unwrap()), 0xA5A5_0001);
    // An invalid MMU entry, the DRAM1 mask and a disabled cache all fault the access.
    w(&mut m, PRO_MMU_PSRAM0 + 4 * 3, 0x100);
    assert_eq!(m.soc.read32(0x3F81_8000), Err(MemFault::AccessError));
    w(&mut m, PRO_CACHE_CTRL1, 0x8FF);
    assert_eq!(m.soc.read32(0x3F80_0100), Err(MemFault::AccessError));
    w(&mut m, PRO_CACHE_CTRL1, 0x8FF & !(1 << 3) & !(7 << 6));
    w(&mut m, PRO_CACHE_CTRL, 0);
    assert_eq!(m.soc.read32(0x3F80_0100), Err(MemFault::AccessError));
    w(&mut m, PRO_CACHE_CTRL, 1 << 3);
    // psram_disable_qio_mode(): 16 MOSI bits 0xF500 (0x00 delay byte first) on four lines.
    // A chip back in SPI mode misreads the QIO cache commands: the path is cut.
    spi1_user(&mut m, USER_MOSI | USER_FWRITE_QIO, 0, 0, 0, 0xF500, 0);
    assert!(!m.soc.psram.as_ref().unwrap().qpi());
    assert_eq!(r(&mut m, 0x3F80_0100), 0xFFFF_FFFF);
}

#[test]
fn board_without_psram_reads_nothing_on_cs1() {
    let mut m = machine(Flash::new_in_memory(MB4), 0, 0);
    m.power_on();
    w(&mut m, GPIO17_OUT_SEL, 225);
    assert!(m.soc.psram.is_none());
    // IDF checks KGD (bits 15..8) for 0x5D: undriven lines give 0xFF.
    assert_eq!((read_id(&mut m) >> 8) & 0xFF, 0xFF);
}

/// Runs until `done` holds or `limit_ms` of virtual time pass, in 10 ms steps; the time (ms)
/// when it held.
fn run_until(m: &mut Machine, limit_ms: u64, done: impl Fn(&Machine) -> bool) -> Option<u64> {
    let mut t = m.now_ps / 1_000_000_000;
    while t < limit_ms {
        t += 10;
        m.run_until(t * 1_000_000_000);
        if done(m) {
            return Some(t);
        }
    }
    None
}

/// No panic, abort or reset so far.
fn assert_no_crash(m: &Machine) {
    let out = String::from_utf8_lossy(&m.uart0_out);
    for bad in ["abort() was called", "Guru Meditation", "Backtrace:"] {
        assert!(!out.contains(bad), "UART0 shows {bad:?}:\n{out}");
    }
    assert_eq!(m.resets, 1, "the board reset (a failed memory test aborts):\n{out}");
}

#[test]
fn lopy4_psram_detected_and_memory_tested() {
    let Some((image, _)) = support::lopy4_r7_image() else { return };
    let flash = peripherals::flash::Flash::from_image(image);
    let mut m = machine(flash, 1, MB4);
    m.power_on();
    let full = |m: &Machine| {
        let p = m.soc.psram.as_ref().unwrap();
        p.cache_lines() == (p.total_lines(), p.total_lines())
    };
    let t = run_until(&mut m, 2000, full).expect("esp_spiram_test() wrote and read every 32-byte line within 2 s");
    let p = m.soc.psram.as_ref().unwrap();
    assert!(p.id_reads >= 1, "the ID was read");
    assert!(p.qpi(), "the chip was put in QPI mode for the cache");
    // esp_spiram_test() leaves word p (every 8th) = p ^ 0xAAAAAAAA. Beyond the heap's first
    // allocations the pattern is where the test put it: the window maps 1:1 onto the chip.
    let d = p.data();
    let lines = d.len() / 32;
    let kept = (0..lines)
        .filter(|&l| u32::from_le_bytes(d[l * 32..l * 32 + 4].try_into().unwrap()) == (8 * l as u32) ^ 0xAAAA_AAAA)
        .count();
    assert!(kept > lines / 2, "test pattern in {kept} of {lines} lines at {t} ms");
    assert_no_crash(&m);
    // A little later the window belongs to the heap: the allocator's first block header
    // replaced the pattern at 0x3F80_0000.
    let heap = |m: &Machine| u32::from_le_bytes(m.soc.psram.as_ref().unwrap().data()[0..4].try_into().unwrap()) != 0xAAAA_AAAA;
    run_until(&mut m, t + 500, heap).expect("heap_caps_add_region() wrote its header into the PSRAM window");
    // Whenever the MicroPython task gets that far, its 2.5 MB GC pool comes from here.
    let out = String::from_utf8_lossy(&m.uart0_out);
    assert!(!out.contains("GC pool malloc failed!"), "{out}");
}

#[test]
fn lopy4_without_psram_carries_on() {
    let Some((image, _)) = support::lopy4_r7_image() else { return };
    let flash = peripherals::flash::Flash::from_image(image);
    let mut m = machine(flash, 1, 0);
    m.power_on();
    // IDF starts the APP CPU after esp_spiram_init() returned (failed, and ignored).
    run_until(&mut m, 1000, |m| !m.cores[1].halted).expect("the APP CPU was started");
    m.run_until(m.now_ps + 200_000_000_000);
    // (Later the MicroPython task of a revision-1 chip needs PSRAM for its GC pool and
    // stops at `GC pool malloc failed!`, as on such a board; that is not a crash.)
    assert_no_crash(&m);
}
