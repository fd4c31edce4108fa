//! Flash-dump inspection and detection on arbitrary bytes (laid over bootloader and table slots).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = images::detect::detect(data);
    let mut flash = images::flash::Flash {
        data: data.to_vec(),
    };
    if flash.data.len() < 0x9000 {
        flash.data.resize(0x9000, 0xFF);
        let n = data.len();
        flash.data[0x1000..0x1000 + n.min(0x7000)].copy_from_slice(&data[..n.min(0x7000)]);
        flash.data[0x8000..0x8000 + n.min(0x1000)].copy_from_slice(&data[..n.min(0x1000)]);
    }
    let _ = images::inspect::inspect(&flash);
});
