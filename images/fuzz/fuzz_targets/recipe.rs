//! Recipe (`script*` JSON) parsing and running, without the gzip/tar layer in the way: the input
//! is the recipe; the bundle around it holds a small app, bootloader and table under the names
//! Pycom's recipes use.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let app = images::app_image::write_image(
        &images::app_image::ImageHeader {
            entry: 0x4008_0000,
            ..Default::default()
        },
        &[(0x3F40_0020, &[5u8; 64]), (0x3FFB_0000, &[6u8; 32])],
    );
    let boot = images::app_image::write_image(&Default::default(), &[(0x3FFB_0000, &[1u8; 32])]);
    // The first byte picks the member the recipe is, so every selection path is reached.
    let Some((&which, recipe)) = data.split_first() else {
        return;
    };
    let name = ["script", "script2", "script_4MB", "script_8MB"][which as usize % 4];
    let mut files = BTreeMap::new();
    files.insert(name.to_string(), recipe.to_vec());
    files.insert("app.bin".to_string(), app);
    files.insert("bootloader.bin".to_string(), boot);
    files.insert("partitions.bin".to_string(), vec![0xFF; 0xC00]);
    let b = images::Bundle { files };
    for size in [4u64 << 20, 8 << 20] {
        let _ = b.script(size);
    }
    let _ = b.check_recipes();
    let mut flash = images::flash::Flash::erased(4 << 20);
    let _ = b.apply(&mut flash);
});
