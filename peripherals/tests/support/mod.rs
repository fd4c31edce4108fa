//! Firmware for the peripherals tests: bundles from `PYEMU_FIRMWARE_DIR` (default
//! `<workspace>/../shared/firmware`). When one is absent the caller gets `None` after
//! `skipping: …` is printed, unless `PYEMU_REQUIRE_FIRMWARE=1` makes that a failure.
#![allow(dead_code)]

use images::board::Board;
use images::bundle::Bundle;
use images::flash::{build, Firmware, Overrides};
use peripherals::flash::Flash;
use std::path::{Path, PathBuf};

pub const R7: &str = "LoPy4-1.20.2.r7.tar.gz";
/// Radios and the boot watchdog off, as the app bring-up tests run.
pub const RADIOS_OFF: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

/// The path of bundle `name`, or `None` (after saying why) when it is absent.
pub fn bundle_path(name: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("PYEMU_FIRMWARE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/firmware"),
    };
    let p = dir.join(name);
    if p.is_file() {
        return Some(p);
    }
    let msg = format!("firmware bundle {} not found (set PYEMU_FIRMWARE_DIR)", p.display());
    if std::env::var("PYEMU_REQUIRE_FIRMWARE").is_ok_and(|v| v == "1") {
        panic!("{msg}; PYEMU_REQUIRE_FIRMWARE=1");
    }
    println!("skipping: {msg}");
    None
}

/// The LoPy4 r7 bundle flashed as Pycom's updater would, with the radios-off config, and
/// the board; `None` when the bundle is absent.
pub fn lopy4_r7_flash() -> Option<(Flash, Board)> {
    let bytes = std::fs::read(bundle_path(R7)?).expect("bundle readable");
    let bundle = Bundle::from_bytes(&bytes).expect("bundle");
    let board = Board::by_id("lopy4").expect("lopy4 board");
    let ov = Overrides { config: Some(RADIOS_OFF.into()), ..Default::default() };
    let (img, _) = build(R7, &Firmware::Bundle(bundle), &board, &ov).expect("flash build");
    let data = img.read(0, img.size());
    let mut flash = Flash::new_in_memory(data.len() as u32);
    flash.load(0, data);
    Some((flash, board))
}
