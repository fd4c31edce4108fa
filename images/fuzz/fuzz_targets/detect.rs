//! File-kind detection and the evidence behind it (config-block plausibility, whole-chip flash dump).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = images::detect::detect(data);
    let _ = images::detect::check_flash_dump(data);
    let _ = images::ConfigBlock::evidence(data);
});
