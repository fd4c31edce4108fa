//! Bundle unpacking, recipe selection and running the recipe on a small flash.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = images::Bundle::from_bytes(data) {
        for size in [4u64 << 20, 8 << 20] {
            let _ = b.script(size);
        }
        let _ = b.check_recipes();
        let mut flash = images::flash::Flash::erased(4 << 20);
        let _ = b.apply(&mut flash);
    }
});
