//! Bad input through the CLI: a clear message naming the file, the offset and the failed check,
//! exit code 2, never a panic. Inputs are synthetic, made here.

use images::app_image::{write_image, ImageHeader};
use images::partition::{Partition, PartitionTable};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-errors-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A directory of one test's own (tests run in parallel and remove their directories).
fn scratch_for(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-errors-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `pyemu args... file`, expects exit 2, returns stderr.
fn fails(args: &[&str], file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} {}: {err}",
        file.display()
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&file.display().to_string()),
        "message must name the file: {err}"
    );
    err
}

fn app() -> Vec<u8> {
    let h = ImageHeader {
        entry: 0x4008_0000,
        ..Default::default()
    };
    write_image(&h, &[(0x3F40_0020, &[5u8; 64]), (0x3FFB_0000, &[6u8; 32])])
}

#[test]
fn bad_inputs_get_clear_errors() {
    let tmp = scratch();
    let info = ["image", "info"];
    let w = |name: &str, data: &[u8]| {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };

    let good = app();
    let e = fails(&info, &w("truncated.bin", &good[..good.len() - 40]));
    assert!(e.contains("truncated at offset 0x"), "{e}");
    let e = fails(&info, &w("header-only.bin", &good[..10]));
    assert!(
        e.contains("truncated at offset 0x0") && e.contains("header"),
        "{e}"
    );

    let mut bad = good.clone();
    let cs = images::AppImage::parse(&good).unwrap().checksum.offset;
    bad[cs] ^= 0xFF;
    let e = fails(&info, &w("checksum.bin", &bad));
    assert!(
        e.contains(&format!("checksum failed at offset {cs:#x}")),
        "{e}"
    );

    let h = ImageHeader {
        chip_id: 5,
        ..Default::default()
    };
    let e = fails(
        &info,
        &w("s3.bin", &write_image(&h, &[(0x3FFB_0000, &[0u8; 8])])),
    );
    assert!(e.contains("chip id failed at offset 0xc"), "{e}");

    let mut huge = good.clone();
    huge[28..32].copy_from_slice(&0x0200_0000u32.to_le_bytes());
    let e = fails(&info, &w("oversize.bin", &huge));
    assert!(e.contains("segment 0") && e.contains("16 MB"), "{e}");

    let h = ImageHeader::default();
    let e = fails(
        &info,
        &w(
            "overlap.bin",
            &write_image(&h, &[(0x3FFB_0000, &[0u8; 64]), (0x3FFB_0010, &[0u8; 8])]),
        ),
    );
    assert!(e.contains("segment 1 overlap failed"), "{e}");

    let table = PartitionTable::to_bytes(
        &[
            Partition::new("factory", 0, 0, 0x10000, 0x100000, 0),
            Partition::new("ota_0", 0, 0x10, 0x100000, 0x100000, 0),
        ],
        true,
    )
    .unwrap();
    let e = fails(&info, &w("overlap-pt.bin", &table));
    assert!(
        e.contains("partition ota_0 overlap failed at offset 0x24"),
        "{e}"
    );
    let mut t = table.clone();
    t[0x30] ^= 1;
    let e = fails(&info, &w("md5.bin", &t));
    assert!(e.contains("md5 failed at offset 0x50"), "{e}");

    let e = fails(
        &info,
        &w("readme.tar.gz", &test_support::tar_gz(&[("readme.txt", b"hello")])),
    );
    assert!(e.contains("not a Pycom bundle"), "{e}");
    let e = fails(&info, &w("broken.tar.gz", &[0x1F, 0x8B, 8, 0, 1, 2, 3]));
    assert!(e.contains("not a gzip'd tar"), "{e}");
    let e = fails(
        &["flash", "build", "--board", "lopy4", "-o", "/dev/null"],
        &w(
            "LoPy4-bad.tar.gz",
            &test_support::tar_gz(&[("script", b"[[\"w\", \"0x1000\", \"nope.bin\"]]")]),
        ),
    );
    assert!(
        e.contains("nope.bin") && e.contains("not in the bundle"),
        "{e}"
    );

    let mut rec = images::BootInfo::default().to_bytes();
    rec[0] = 1;
    let e = fails(&info, &w("otadata.bin", &rec));
    assert!(e.contains("crc failed at offset 0x24"), "{e}");

    let e = fails(
        &info,
        &w("noise.bin", b"just some text that is not firmware"),
    );
    assert!(e.contains("not a file pyemu knows"), "{e}");
    let e = fails(&["flash", "info"], &w("small.img", &[0xFF; 100]));
    assert!(e.contains("too small"), "{e}");
    let e = fails(
        &info,
        &w("elf.bin", b"\x7FELF\x01\x01\x01\0\0\0\0\0\0\0\0\0"),
    );
    assert!(e.contains("ELF"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn good_inputs_of_every_kind_exit_zero() {
    let tmp = scratch_for("good");
    let run = |name: &str, data: &[u8], kind: &str| {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pyemu"))
            .args(["image", "info", "--json"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["kind"], kind, "{name}");
        v
    };
    run("app.bin", &app(), "app_image");
    let v = run(
        "otadata.bin",
        &images::BootInfo::default().to_sector(4096),
        "boot_info",
    );
    assert_eq!(v["boot_info"]["crc"], 0x8113_42C5u32);
    let mut cb = images::ConfigBlock::erased();
    cb.apply_spec("wifi_on_boot=0").unwrap();
    let v = run("config.bin", &cb.0, "config_block");
    assert_eq!(v["config"]["wifi_on_boot"], false);
    let table = PartitionTable::to_bytes(
        &[Partition::new("factory", 0, 0, 0x10000, 0x100000, 0)],
        true,
    )
    .unwrap();
    run("pt.bin", &table, "partition_table");
    let _ = std::fs::remove_dir_all(&tmp);
}

fn bootloader() -> Vec<u8> {
    let h = ImageHeader {
        entry: 0x4009_FA00,
        ..Default::default()
    };
    write_image(&h, &[(0x3FFF_8000, &[1; 16]), (0x4009_FA00, &[2; 64])])
}

fn table_8mb() -> Vec<u8> {
    PartitionTable::to_bytes(
        &[
            Partition::new("nvs", 1, 2, 0x9000, 0x7000, 0),
            Partition::new("factory", 0, 0, 0x10000, 0x1EF000, 0),
            Partition::new("otadata", 1, 0, 0x1FF000, 0x1000, 0),
            Partition::new("ota_0", 0, 0x10, 0x210000, 0x1EF000, 0),
        ],
        true,
    )
    .unwrap()
}

/// Bytes gzip cannot shrink (so an archive holding them stays large).
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A LoPy4-style bundle whose `script_8MB` is `recipe`; `script2` is Pycom's (it writes fipy.bin).
fn bundle_with(recipe: &[u8], legacy: &[u8]) -> Vec<u8> {
    let script2 = br#"{"version":"2.1","script":[["w","bootloader","bootloader.bin"],["w","partitions","partitions_8MB.bin"],["w","factory","fipy.bin"]]}"#;
    test_support::tar_gz(&[
        ("bootloader.bin", &bootloader()),
        ("partitions_8MB.bin", &table_8mb()),
        ("lopy4.bin", &app()),
        ("script_8MB", recipe),
        ("script2", script2),
        ("script", legacy),
    ])
}

fn recipe_8mb(factory: &str) -> Vec<u8> {
    format!(
        r#"{{"version":"2.1","partitions":{{"factory":{factory},"ota_0":["0x210000","0x1EF000"],"otadata":["0x1FF000","0x1000"]}},
        "script":[["w","bootloader","bootloader.bin"],["w","partitions","partitions_8MB.bin"],["w","factory","lopy4.bin"]]}}"#
    )
    .into_bytes()
}

const LEGACY: &[u8] = br#"[["w", "0x1000", "bootloader.bin"], ["w", "0x8000", "partitions_8MB.bin"], ["w", "0x10000", "lopy4.bin"]]"#;

#[test]
fn a_config_block_needs_more_than_its_size() {
    let tmp = scratch_for("config");
    let w = |name: &str, data: &[u8]| {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let text: Vec<u8> = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n"
        .iter()
        .copied()
        .cycle()
        .take(4096)
        .collect();
    for (name, data) in [
        ("text-1k.txt", &text[..1024]),
        ("text-4k.txt", &text[..]),
        ("zeros-1k.bin", &[0u8; 1024][..]),
        ("noise-4k.bin", &noise(4096)[..]),
    ] {
        let e = fails(&["image", "info"], &w(name, data));
        assert!(e.contains("not a file pyemu knows"), "{name}: {e}");
        assert!(e.contains("config block's size, but"), "{name}: {e}");
    }
    // Forced, the block is shown but the broken rules fail the command.
    let e = fails(
        &["image", "info", "--as", "config"],
        &w("forced.txt", &text[..1024]),
    );
    assert!(e.contains("failed at offset"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn flash_info_refuses_what_is_not_a_flash_dump() {
    let tmp = scratch_for("flashinfo");
    let w = |name: &str, data: &[u8]| {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let info = ["flash", "info"];
    // A 1 MB bundle.
    let big = test_support::tar_gz(&[("script", LEGACY), ("lopy4.bin", &noise(1 << 20))]);
    assert!(big.len() >= 1 << 20);
    let e = fails(&info, &w("x.tar.gz", &big));
    assert!(
        e.contains("Pycom firmware bundle, not a flash dump") && e.contains("pyemu image info"),
        "{e}"
    );
    let e = fails(&info, &w("app.bin", &app()));
    assert!(e.contains("an ESP32 app image, not a flash dump"), "{e}");
    let text: Vec<u8> = b"text\n".iter().copied().cycle().take(1 << 20).collect();
    let e = fails(&info, &w("text.img", &text));
    assert!(e.contains("not a flash dump"), "{e}");
    let mut magic_only = noise(1 << 20);
    magic_only[0x1000] = 0xE9;
    magic_only[0x8000..0x8002].copy_from_slice(&[0xAA, 0x50]);
    let e = fails(&info, &w("noise.img", &magic_only));
    assert!(e.contains("not a flash dump"), "{e}");

    let mut flash = vec![0xFFu8; 1 << 20];
    let b = bootloader();
    flash[0x1000..0x1000 + b.len()].copy_from_slice(&b);
    let t = table_8mb();
    flash[0x8000..0x8000 + t.len()].copy_from_slice(&t);
    let e = fails(&info, &w("merged.bin", &flash[..0x12345]));
    assert!(e.contains("not the size of a flash chip"), "{e}");
    // A whole chip that is entirely erased is a truthful flash dump.
    let out = Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .args(["flash", "info", "--json"])
        .arg(w("erased.img", &[0xFF; 1 << 20]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_broken_recipe_member_is_named() {
    let tmp = scratch_for("recipe");
    let w = |name: &str, data: &[u8]| {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let build = ["flash", "build", "--board", "lopy4", "-o", "/dev/null"];
    let garbage = b"\x00\x01 this is not JSON }".as_slice();
    let e = fails(&build, &w("LoPy4-a.tar.gz", &bundle_with(garbage, LEGACY)));
    assert!(
        e.contains("script_8MB: the recipe is not valid JSON") && !e.contains("fipy.bin"),
        "{e}"
    );
    let e = fails(
        &["image", "info"],
        &w("LoPy4-b.tar.gz", &bundle_with(garbage, LEGACY)),
    );
    assert!(
        e.contains("script_8MB: the recipe is not valid JSON"),
        "{e}"
    );
    // A good script_8MB builds; the broken legacy `script` beside it still fails `image info`.
    let good = recipe_8mb(r#"["0x10000","0x1EF000"]"#);
    let p = w("LoPy4-c.tar.gz", &bundle_with(&good, garbage));
    let e = fails(&["image", "info"], &p);
    assert!(e.contains("script: the recipe is not valid JSON"), "{e}");
    let out = Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .args(build)
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Valid JSON of the wrong shape.
    let e = fails(
        &build,
        &w(
            "LoPy4-d.tar.gz",
            &bundle_with(br#"{"version":"1","script":{"w":1}}"#, LEGACY),
        ),
    );
    assert!(e.contains("script_8MB: the script is not a list"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_recipe_that_cuts_or_misplaces_the_app_fails() {
    let tmp = scratch_for("place");
    let w = |name: &str, data: &[u8]| {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let build = ["flash", "build", "--board", "lopy4", "-o", "/dev/null"];
    let e = fails(
        &build,
        &w(
            "LoPy4-cut.tar.gz",
            &bundle_with(&recipe_8mb(r#"["0x10000","0x10"]"#), LEGACY),
        ),
    );
    assert!(
        e.contains("lopy4.bin at 0x10000")
            && e.contains("partition factory (0x10 bytes)")
            && e.contains("would not boot"),
        "{e}"
    );
    let e = fails(
        &build,
        &w(
            "LoPy4-far.tar.gz",
            &bundle_with(&recipe_8mb(r#"["0x900000","0x1EF000"]"#), LEGACY),
        ),
    );
    assert!(
        e.contains("lopy4.bin at 0x900000") && e.contains("beyond the end of the 8 MB flash"),
        "{e}"
    );
    let e = fails(
        &build,
        &w(
            "LoPy4-end.tar.gz",
            &bundle_with(&recipe_8mb(r#"["0x7FFFF0","0x1EF000"]"#), LEGACY),
        ),
    );
    assert!(
        e.contains("lopy4.bin at 0x7ffff0") && e.contains("cut to 0x10 bytes"),
        "{e}"
    );
    // The recipe puts the app at 0x20000; the table it writes says factory is at 0x10000.
    let e = fails(
        &build,
        &w(
            "LoPy4-moved.tar.gz",
            &bundle_with(&recipe_8mb(r#"["0x20000","0x1EF000"]"#), LEGACY),
        ),
    );
    assert!(
        e.contains("partition factory at 0x10000") && e.contains("would not boot"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Runs pyemu with stdout a pipe whose reader is already gone (as `| head -1` leaves it).
fn closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let tmp = scratch_for("pipe");
    let app_file = tmp.join("app.bin");
    std::fs::write(&app_file, app()).unwrap();
    let bundle = tmp.join("LoPy4-ok.tar.gz");
    std::fs::write(
        &bundle,
        bundle_with(&recipe_8mb(r#"["0x10000","0x1EF000"]"#), LEGACY),
    )
    .unwrap();
    let img = tmp.join("f.img");
    let (a, b, f) = (
        app_file.to_string_lossy().to_string(),
        bundle.to_string_lossy().to_string(),
        img.to_string_lossy().to_string(),
    );
    let runs: [&[&str]; 5] = [
        &["image", "info", &a],
        &["image", "info", "--json", &b],
        &["flash", "build", &b, "-o", &f],
        &["flash", "info", &f],
        &["flash", "info", "--json", &f],
    ];
    for args in runs {
        let out = closed_stdout(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
