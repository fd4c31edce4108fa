//! ELF summary and ELF → app image; a produced image must parse and validate.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = images::elf::ElfInfo::parse(data);
    if let Ok(img) = images::elf::elf_to_image(data, &Default::default()) {
        let parsed = images::AppImage::parse(&img).expect("elf2image output parses");
        assert!(parsed.checksum.valid && parsed.sha256.as_ref().map_or(true, |d| d.valid));
    }
});
