//! Small app images built by tests (no toolchain needed: the assembler of the `emulator` crate
//! and the image writer of `images`).

use std::path::Path;

/// An app image that prints `line` through the ROM's `ets_printf`, then idles; it carries a
/// flash-mapped segment like any real app. Its flash mode
/// and size are those of the app in `bundle`, so the bundle's bootloader takes it.
pub fn banner_app(bundle: &Path, line: &str) -> Vec<u8> {
    const IRAM: u32 = 0x4008_0000;
    const DRAM: u32 = 0x3FFB_0000;
    let printf = images::rom::Rom::esp32().sym("ets_printf").expect("ets_printf in the ROM");
    let code = emulator::asm::assemble(
        &format!(
            "
            .word {printf:#x}
            .word {DRAM:#x}
        start:
            entry a1, 32
            l32r a10, {:#x}
            l32r a8, {IRAM:#x}
            callx8 a8
        idle:
            waiti 15
            j idle
        ",
            IRAM + 4
        ),
        IRAM,
    )
    .expect("assembling the test app");
    let mut code = code;
    code.resize(code.len().next_multiple_of(4), 0);
    let mut text = format!("{line}\r\n").into_bytes();
    text.resize(text.len().next_multiple_of(4) + 4, 0);
    let data = std::fs::read(bundle).unwrap();
    let b = images::bundle::Bundle::from_bytes(&data).unwrap();
    let (_, app) = b.app_image().expect("an app image in the bundle");
    let header = images::app_image::ImageHeader { spi_mode: app[2], flash_size_freq: app[3], entry: IRAM + 8, ..Default::default() };
    // A flash-mapped (DROM) segment first, as esptool lays one out: its data at file offset
    // 0x20, mapped at 0x3F400020, so the bootloader maps the app's first flash page and the
    // boot tracker sees which slot started (it reads the flash MMU, as real apps need it).
    const DROM: u32 = 0x3F40_0020;
    let rodata = *b"pyemu test app\0\0";
    let img = images::app_image::write_image(&header, &[(DROM, &rodata), (DRAM, &text), (IRAM, &code)]);
    let parsed = images::app_image::AppImage::parse(&img).unwrap();
    assert!(parsed.is_valid(), "{:?}", parsed.checks);
    img
}
