//! An app image alone (`pyemu run firmware.bin`) boots, through the binary: pyemu adds the
//! board's Pycom partition table and a bootloader — Pycom's when one is at hand (`--bootloader`,
//! a bundle beside the image, the flash state being rewritten), else ESP-IDF's with a notice —
//! and says why a flash cannot boot instead of letting the ROM reset for ever.
//!
//! Two tests boot to the first `>>> ` (ESP-IDF's bootloader, Pycom's from a bundle beside); the
//! others stop in the ROM or build flash only.

use firmware::{bundle_path, pyemu, rom_load_lines, text};
use images::bundle::Bundle;
use std::path::{Path, PathBuf};
use test_support as firmware;

const NOTICE: &str = "safe boot and the OTA slot choice follow it, not Pycom's";

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-bare-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bundle, its app image written to `dir/firmware.bin` (a name that says nothing).
fn bare_app(bundle: &str, dir: &Path) -> Option<(PathBuf, Bundle, PathBuf)> {
    let src = bundle_path(bundle)?;
    let b = Bundle::from_bytes(&std::fs::read(&src).unwrap()).unwrap();
    let app = dir.join("firmware.bin");
    std::fs::write(&app, b.app_image().unwrap().1).unwrap();
    Some((src, b, app))
}

/// `pyemu ARGS…` → (exit code, stdout, stderr).
fn pyemu_out(args: &[&str]) -> (Option<i32>, String, String) {
    let o = pyemu().args(args).output().expect("starting pyemu");
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

/// The ROM's lines for loading the bundle's bootloader, in order, in `out`.
fn pycom_bootloader_loaded(b: &Bundle, out: &str, what: &str) {
    let bl = images::AppImage::parse(b.file("bootloader.bin").unwrap()).unwrap();
    let got: Vec<String> = out.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
    firmware::assert_lines_in_order(&got, &rom_load_lines(&bl), what);
    assert!(!out.contains("2nd stage bootloader"), "{what}: ESP-IDF's bootloader ran:\n{out}");
}

#[test]
fn an_app_alone_boots_with_the_esp_idf_bootloader_and_says_so() {
    let dir = scratch("idf");
    let Some((_, _, app)) = bare_app(firmware::R7, &dir) else { return };
    // --strict: the ESP-IDF bootloader's boot, like Pycom's, touches nothing pyemu does not model.
    let (code, out, err) = pyemu_out(&["run", s(&app), "--strict", "--timeout", "20s", "--expect-text", ">>> "]);
    assert_eq!(code, Some(0), "no prompt from a bare app:\n{out}\n{err}");
    assert!(out.contains("ESP-IDF") && out.contains("2nd stage bootloader"), "{out}");
    assert!(out.contains("LoPy4 with ESP32"), "{out}");
    assert!(err.contains("an app image alone: pyemu adds Pycom's partition table for the lopy4 and the ESP-IDF bootloader"), "{err}");
    assert!(err.contains("notice: no Pycom bootloader at hand") && err.contains(NOTICE), "{err}");
    assert!(err.contains("0 unmodelled register(s), 0 unmodelled field(s)"), "{err}");
    assert!(!out.contains("flash read err"), "{out}");
}

#[test]
fn an_app_with_its_bundle_beside_boots_with_pycoms_bootloader() {
    let dir = scratch("beside");
    let Some((src, b, app)) = bare_app(firmware::R7, &dir) else { return };
    std::fs::copy(&src, dir.join("LoPy4-1.20.2.r7.tar.gz")).unwrap();
    // Another generation's bundle beside it is not taken.
    if let Some(sipy) = firmware::bundle_path("SiPy-1.20.2.rc3.tar.gz") {
        std::fs::copy(sipy, dir.join("a-sipy.tar.gz")).unwrap();
    }
    let (code, out, err) = pyemu_out(&["run", s(&app), "--strict", "--timeout", "20s", "--expect-text", ">>> "]);
    assert_eq!(code, Some(0), "no prompt:\n{out}\n{err}");
    pycom_bootloader_loaded(&b, &out, "bundle beside");
    assert!(out.contains("LoPy4 with ESP32"), "{out}");
    assert!(err.contains("Pycom's bootloader from LoPy4-1.20.2.r7.tar.gz beside it (the bundle of this app)"), "{err}");
    assert!(!err.contains(NOTICE), "{err}");
}

#[test]
fn bootloader_flag_takes_a_bundle_or_an_image_and_refuses_anything_else() {
    let dir = scratch("flag");
    let Some((src, b, app)) = bare_app(firmware::R7, &dir) else { return };
    let bl = dir.join("bootloader.bin");
    std::fs::write(&bl, b.file("bootloader.bin").unwrap()).unwrap();
    let entry = rom_load_lines(&images::AppImage::parse(b.file("bootloader.bin").unwrap()).unwrap()).pop().unwrap();
    for given in [&src, &bl] {
        // Stop as the ROM enters the bootloader: what it loaded is Pycom's.
        let (code, out, err) = pyemu_out(&["run", s(&app), "--bootloader", s(given), "--timeout", "1s", "--expect-text", &entry, "-q"]);
        assert_eq!(code, Some(0), "--bootloader {}:\n{out}\n{err}", given.display());
        pycom_bootloader_loaded(&b, &out, &format!("--bootloader {}", given.display()));
        assert!(!err.contains(NOTICE), "{err}");
    }

    // Bad bootloaders: a clear error, and the flash state is not created.
    let mut damaged = b.file("bootloader.bin").unwrap().to_vec();
    damaged[0x100] ^= 0x40;
    let damaged_path = dir.join("damaged.bin");
    std::fs::write(&damaged_path, &damaged).unwrap();
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, b"not a bootloader at all").unwrap();
    let state = dir.join("board.flash");
    for (file, says) in [
        (&app, "an ESP32 app image, not a bootloader image"),
        (&junk, "not a file pyemu recognises"),
        (&damaged_path, "checksum"),
        (&dir.join("missing.bin"), "cannot read"),
    ] {
        let (code, _, err) = pyemu_out(&["run", s(&app), "--bootloader", s(file), "--flash-state", s(&state), "--timeout", "1s"]);
        assert_eq!(code, Some(2), "--bootloader {}: {err}", file.display());
        assert!(err.contains(&format!("--bootloader {}", file.display())) && err.contains(says), "--bootloader {}: {err}", file.display());
        assert!(!state.exists(), "a refused --bootloader created the flash state");
        let (code, _, err) = pyemu_out(&["flash", "build", s(&app), "--bootloader", s(file), "-o", s(&dir.join("out.img"))]);
        assert_ne!(code, Some(0), "flash build --bootloader {}: {err}", file.display());
        assert!(err.contains(says), "flash build --bootloader {}: {err}", file.display());
        assert!(!dir.join("out.img").exists());
    }
}

/// The flash `flash build` composes for an app alone: Pycom's table byte for byte as the
/// bundle carries it, and the bundle's bootloader, when the bundle is beside; ESP-IDF's
/// bootloader, otadata of two sectors and Pycom's default boot record otherwise.
#[test]
fn flash_build_composes_what_an_app_needs() {
    for (bundle, table, size) in [(firmware::R7, "partitions_8MB.bin", "8MB"), ("SiPy-1.20.2.rc3.tar.gz", "partitions_4MB.bin", "4MB")] {
        let dir = scratch(&format!("build-{table}"));
        let Some((src, b, app)) = bare_app(bundle, &dir) else { return };
        let out_img = dir.join("flash.img");
        let (code, out, err) = pyemu_out(&["flash", "build", s(&app), "-o", s(&out_img)]);
        assert_eq!(code, Some(0), "{err}");
        // The board's flash size, the app's mode and frequency (Pycom builds: DIO, 80 MHz).
        assert!(out.contains(&format!("the ESP-IDF bootloader (espflash's; DIO 80m {size}) → bootloader at 0x1000")), "{out}");
        assert!(out.contains("(otadata two sectors, for an ESP-IDF bootloader)"), "{out}");
        assert!(err.contains(NOTICE) && !err.contains("cannot boot"), "{err}");
        let (_, info, _) = pyemu_out(&["flash", "info", s(&out_img)]);
        assert!(info.contains("0x0002000  encrypted") && info.contains("boot_info: active factory, status ready"), "{info}");
        let img = std::fs::read(&out_img).unwrap();
        assert_eq!(&img[0x10000..0x10000 + b.app_image().unwrap().1.len()], b.app_image().unwrap().1);

        std::fs::copy(&src, dir.join(src.file_name().unwrap())).unwrap();
        let (code, out, err) = pyemu_out(&["flash", "build", s(&app), "-o", s(&out_img)]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("beside it (the bundle of this app) → bootloader at 0x1000"), "{out}");
        assert!(!err.contains(NOTICE), "{err}");
        let img = std::fs::read(&out_img).unwrap();
        assert_eq!(&img[0x8000..0x8C00], b.file(table).unwrap(), "{bundle}: pyemu's table is Pycom's {table}");
        let bl = b.file("bootloader.bin").unwrap();
        assert_eq!(&img[0x1000..0x1000 + bl.len()], bl);
        // otadata left erased, as Pycom's updater leaves it: Pycom's bootloader writes it.
        let (_, info, _) = pyemu_out(&["flash", "info", s(&out_img)]);
        assert!(!info.contains("0x0002000  encrypted"), "{info}");
    }
}

#[test]
fn reflash_keeps_the_states_bootloader_and_an_unbootable_dump_is_named() {
    let dir = scratch("state");
    let Some((src, b, app)) = bare_app(firmware::R7, &dir) else { return };
    let state = dir.join("board.flash");
    let (code, _, err) = pyemu_out(&["run", s(&src), "--flash-state", s(&state), "--timeout", "1ms", "-q"]);
    assert_eq!(code, Some(42), "{err}");
    let (code, _, err) = pyemu_out(&["run", s(&app), "--flash-state", s(&state), "--reflash", "--timeout", "1ms", "-q"]);
    assert_eq!(code, Some(42), "{err}");
    assert!(err.contains(&format!("the bootloader in flash state {}", state.display())), "{err}");
    assert!(!err.contains(NOTICE), "{err}");
    let img = std::fs::read(&state).unwrap();
    let bl = b.file("bootloader.bin").unwrap();
    assert_eq!(&img[0x1000..0x1000 + bl.len()], bl);

    // A dump whose bootloader sector is erased: said before power-on, not a silent reset loop.
    let mut dump = img;
    dump[0x1000..0x8000].fill(0xFF);
    let dump_path = dir.join("dump.bin");
    std::fs::write(&dump_path, &dump).unwrap();
    let (_, _, err) = pyemu_out(&["run", s(&dump_path), "--timeout", "1ms", "-q"]);
    assert!(err.contains("cannot boot: no bootloader at 0x1000") && err.contains("flash read err, 1000"), "{err}");
}
