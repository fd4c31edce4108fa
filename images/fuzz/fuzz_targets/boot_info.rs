//! boot_info reader, and the --boot-info spec parser on the same bytes as text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = images::BootInfo::read(data) {
        assert_eq!(
            images::BootInfo::read(&r.info.to_bytes())
                .unwrap()
                .crc_valid,
            true
        );
    }
    let _ = images::BootInfo::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = images::BootInfo::default().apply_spec(s);
    }
});
