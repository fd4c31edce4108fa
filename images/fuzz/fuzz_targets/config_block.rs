//! Config block reader and the --config spec parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = images::ConfigBlock::parse(data) {
        let _ = c.fields();
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let mut c = images::ConfigBlock::erased();
        let _ = c.apply_spec(s);
    }
});
