//! App/bootloader image parser: any bytes → Ok or a typed error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = images::AppImage::parse(data) {
        let _ = img.verify();
        let _ = img.version();
        let _ = images::detect::detect(data);
    }
});
