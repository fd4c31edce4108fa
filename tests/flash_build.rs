//! `pyemu flash build` against `esptool merge-bin` (byte for byte), and the build overrides.
//!
//! Firmware and esptool lookup as in `images_esptool.rs` (skip with a message unless
//! `PYEMU_REQUIRE_FIRMWARE=1` / `PYEMU_REQUIRE_TOOLS=1`). The override tests use synthetic bundles
//! made here, so they always run.

use test_support as firmware;
use images::app_image::{write_image, ImageHeader};
use images::partition::{Partition, PartitionTable};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pyemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyemu"))
        .args(args)
        .output()
        .unwrap()
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(
        s.trim().trim_start_matches("0x").trim_start_matches("0X"),
        16,
    )
    .unwrap()
}

/// CRC-32 as Pycom's updater takes it: `binascii.crc32(b'\xff'*4 + record)`, bit by bit.
fn pycom_crc(record: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in [0xFFu8; 4].iter().chain(record) {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// `set_ota(False, size)` of updater.py: {factory, ready, prev factory, size, safeboot 0, FF×16}.
fn factory_record(size: u32) -> Vec<u8> {
    let mut r = Vec::new();
    for v in [0u32, 1, 0, size, 0] {
        r.extend_from_slice(&v.to_le_bytes());
    }
    r.extend_from_slice(&[0xFF; 16]);
    let crc = pycom_crc(&r);
    r.extend_from_slice(&crc.to_le_bytes());
    r
}

#[test]
fn flash_build_matches_esptool_merge_bin() {
    let Some(bundles) = firmware::all_bundles() else { return };
    let Some(esptool) = firmware::esptool() else { return };
    let tmp = scratch("merge");
    for bundle_path in bundles {
        let board = images::Board::from_file_name(&bundle_path.to_string_lossy())
            .expect("board from the bundle name");
        let size = board.flash_size as u64;
        let bundle = images::Bundle::from_bytes(&std::fs::read(&bundle_path).unwrap()).unwrap();

        // The parts, read straight from the bundle's sized script (as the updater would pick it).
        let script_name = if size > 4 << 20 {
            "script_8MB"
        } else {
            "script_4MB"
        };
        let script: Value =
            serde_json::from_slice(bundle.file(script_name).expect("sized script")).unwrap();
        let parts_map = &script["partitions"];
        let slot = |name: &str| -> u64 {
            match name {
                "bootloader" => 0x1000,
                "partitions" => 0x8000,
                n if parts_map.get(n).is_some() => hex(parts_map[n][0].as_str().unwrap()),
                n => hex(n),
            }
        };
        let mut args: Vec<String> = Vec::new();
        let mut app_len = 0;
        for ins in script["script"].as_array().unwrap() {
            let ins: Vec<&str> = ins
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(ins[0], "w");
            let path = tmp.join(ins[2]);
            std::fs::write(&path, bundle.file(ins[2]).unwrap()).unwrap();
            if ins[1] == "factory" {
                app_len = bundle.file(ins[2]).unwrap().len() as u32;
            }
            args.push(format!("{:#x}", slot(ins[1])));
            args.push(path.display().to_string());
        }
        // The updater then writes a boot record into otadata, because the script did not.
        let ota_path = tmp.join("otadata.bin");
        std::fs::write(&ota_path, factory_record(app_len)).unwrap();
        args.push(format!(
            "{:#x}",
            hex(parts_map["otadata"][0].as_str().unwrap())
        ));
        args.push(ota_path.display().to_string());

        let merged = tmp.join("merged.bin");
        let size_arg = format!("{}MB", size >> 20);
        let run = |pad_flag: &str| {
            Command::new(&esptool[0])
                .args(&esptool[1..])
                .args(["--chip", "esp32", "merge-bin", "-o"])
                .arg(&merged)
                .args([pad_flag, &size_arg])
                .args(&args)
                .output()
                .unwrap()
        };
        // esptool v5 says --pad-to-size, v4 --fill-flash-size.
        let mut out = run("--pad-to-size");
        if !out.status.success() {
            out = run("--fill-flash-size");
        }
        assert!(
            out.status.success(),
            "esptool merge-bin: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let built = tmp.join("built.img");
        let out = pyemu(&[
            "flash",
            "build",
            &bundle_path.to_string_lossy(),
            "-o",
            &built.to_string_lossy(),
        ]);
        assert!(
            out.status.success(),
            "pyemu flash build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = std::fs::read(&built).unwrap();
        let theirs = std::fs::read(&merged).unwrap();
        assert_eq!(ours.len() as u64, size);
        assert_eq!(ours.len(), theirs.len());
        if let Some(i) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
            panic!(
                "{}: first difference at {i:#x}: pyemu {:#04x}, esptool {:#04x}",
                bundle_path.display(),
                ours[i],
                theirs[i]
            );
        }
        println!(
            "{}: {} MB image identical to esptool merge-bin",
            bundle_path.display(),
            size >> 20
        );

        // flash info reads it back: a valid factory app and a ready factory boot record.
        let out = pyemu(&["flash", "info", "--json", &built.to_string_lossy()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let factory = v["flash"]["slots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["label"] == "factory")
            .unwrap();
        assert_eq!(factory["content"]["state"], "image");
        assert_eq!(factory["content"]["valid"], true);
        assert!(factory["content"]["version"]
            .as_str()
            .unwrap()
            .starts_with("1.20"));
        assert_eq!(v["flash"]["boot_info"]["valid"], true);
        assert_eq!(v["flash"]["boot_choice"], "factory");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

// ---- synthetic inputs -------------------------------------------------------------------------

fn synthetic_app(tag: u8) -> Vec<u8> {
    let h = ImageHeader {
        entry: 0x4008_0000,
        spi_mode: 2,
        flash_size_freq: 0x0F,
        ..Default::default()
    };
    let mut drom = vec![0u8; 0x100];
    drom[..4].copy_from_slice(&0xABCD_5432u32.to_le_bytes());
    drom[0x10..0x15].copy_from_slice(b"test\0");
    drom[0x20] = tag;
    write_image(
        &h,
        &[
            (0x3F40_0020, &drom),
            (0x3FFB_0000, &[tag; 64]),
            (0x4008_0000, &[0x36; 32]),
        ],
    )
}

fn synthetic_bootloader() -> Vec<u8> {
    let h = ImageHeader {
        entry: 0x4009_FA00,
        spi_mode: 2,
        flash_size_freq: 0x0F,
        ..Default::default()
    };
    write_image(&h, &[(0x3FFF_8000, &[1; 16]), (0x4009_FA00, &[2; 64])])
}

fn pycom_table_8mb() -> Vec<u8> {
    PartitionTable::to_bytes(
        &[
            Partition::new("nvs", 1, 2, 0x9000, 0x7000, 0),
            Partition::new("factory", 0, 0, 0x10000, 0x1EF000, 1),
            Partition::new("otadata", 1, 0, 0x1FF000, 0x1000, 1),
            Partition::new("ota_0", 0, 0x10, 0x210000, 0x1EF000, 1),
            Partition::new("config", 1, 6, 0x3FF000, 0x1000, 0),
        ],
        true,
    )
    .unwrap()
}

fn synthetic_bundle(dir: &Path) -> PathBuf {
    let script = br#"{"version":"2.1","partitions":{"factory":["0x10000","0x1EF000"],"ota_0":["0x210000","0x1EF000"],"otadata":["0x1FF000","0x1000"]},
      "script":[["w","bootloader","bootloader.bin"],["w","partitions","partitions_8MB.bin"],["w","factory","lopy4.bin"]]}"#;
    let data = test_support::tar_gz(&[
        ("bootloader.bin", &synthetic_bootloader()),
        ("partitions_8MB.bin", &pycom_table_8mb()),
        ("lopy4.bin", &synthetic_app(1)),
        ("script_8MB", script),
    ]);
    let p = dir.join("LoPy4-0.0.0.tar.gz");
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn boot_info_override_writes_the_pycom_crc() {
    let tmp = scratch("bootinfo");
    let bundle = synthetic_bundle(&tmp);
    let out_img = tmp.join("f.img");
    let o = pyemu(&[
        "flash",
        "build",
        &bundle.to_string_lossy(),
        "-o",
        &out_img.to_string_lossy(),
        "--boot-info",
        "active=factory,status=ready,prev=factory,safeboot=0",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = std::fs::read(&out_img).unwrap();
    let rec = &f[0x1FF000..0x1FF000 + 40];
    // Defaults keep size 0xFFFFFFFF and signature FF×16: the documented vector.
    assert_eq!(&rec[36..40], &0x8113_42C5u32.to_le_bytes());
    assert_eq!(pycom_crc(&rec[..36]), 0x8113_42C5);
    assert!(f[0x1FF000 + 40..0x200000].iter().all(|&b| b == 0xFF));

    let o = pyemu(&[
        "flash",
        "build",
        &bundle.to_string_lossy(),
        "-o",
        &out_img.to_string_lossy(),
        "--ota0",
        &write_tmp(&tmp, "ota.bin", &synthetic_app(2)).to_string_lossy(),
        "--boot-info",
        "active=ota_0,status=check,prev=factory,safeboot=0",
        "--config",
        "wifi_on_boot=0,heartbeat_on_boot=0,wdt_on_boot=0,lte_modem_on_boot=0",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = std::fs::read(&out_img).unwrap();
    let rec = &f[0x1FF000..0x1FF000 + 40];
    assert_eq!(&rec[..12], &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&rec[36..40], &pycom_crc(&rec[..36]).to_le_bytes());
    assert_eq!(
        &f[0x210000..0x210000 + synthetic_app(2).len()],
        &synthetic_app(2)[..]
    );
    // Config block: only the bits the firmware's setters touch.
    assert_eq!(f[0x3FF000 + 53], 0xFE);
    assert_eq!(f[0x3FF000 + 152], 0xFE);
    assert_eq!((f[0x3FF000 + 512], f[0x3FF000 + 520]), (0, 0));
    assert!(f[0x3FF000 + 1024..0x400000].iter().all(|&b| b == 0xFF));

    let o = pyemu(&["flash", "info", "--json", &out_img.to_string_lossy()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["flash"]["boot_choice"], "ota_0");
    assert_eq!(v["flash"]["config"]["wifi_on_boot"], false);
    let _ = std::fs::remove_dir_all(&tmp);
}

fn write_tmp(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn board_comes_from_the_content_or_an_error_lists_boards() {
    let tmp = scratch("board");
    let bundle = synthetic_bundle(&tmp);
    let renamed = tmp.join("firmware.tar.gz");
    std::fs::copy(&bundle, &renamed).unwrap();
    // Renamed, the bundle still says lopy4: its app member is lopy4.bin.
    let o = pyemu(&[
        "flash",
        "build",
        &renamed.to_string_lossy(),
        "-o",
        &tmp.join("x.img").to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("for lopy4 from"));
    // A bare app with no banner under a neutral name names nothing: the error lists the boards.
    let app = write_tmp(&tmp, "firmware.bin", &synthetic_app(1));
    let o = pyemu(&[
        "flash",
        "build",
        &app.to_string_lossy(),
        "-o",
        &tmp.join("x.img").to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("lopy4") && err.contains("esp32-8mb") && err.contains("firmware.bin"),
        "{err}"
    );
    // With --board the same file builds; a 4 MB board picks script2/script (absent) and fails clearly.
    let o = pyemu(&[
        "flash",
        "build",
        &renamed.to_string_lossy(),
        "-o",
        &tmp.join("x.img").to_string_lossy(),
        "--board",
        "fipy",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::metadata(tmp.join("x.img")).unwrap().len(), 8 << 20);
    let o = pyemu(&[
        "flash",
        "build",
        &renamed.to_string_lossy(),
        "-o",
        &tmp.join("y.img").to_string_lossy(),
        "--board",
        "sipy",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn app_and_elf_inputs_build_too() {
    let tmp = scratch("appin");
    let app = write_tmp(&tmp, "app.bin", &synthetic_app(3));
    let bl = write_tmp(&tmp, "bl.bin", &synthetic_bootloader());
    let pt = write_tmp(&tmp, "pt.bin", &pycom_table_8mb());
    let out = tmp.join("f.img");
    let o = pyemu(&[
        "flash",
        "build",
        &app.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--board",
        "esp32-8mb",
        "--bootloader",
        &bl.to_string_lossy(),
        "--partitions",
        &pt.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = std::fs::read(&out).unwrap();
    assert_eq!(
        &f[0x1000..0x1000 + synthetic_bootloader().len()],
        &synthetic_bootloader()[..]
    );
    assert_eq!(&f[0x8000..0x8C00], &pycom_table_8mb()[..]);
    assert_eq!(
        &f[0x10000..0x10000 + synthetic_app(3).len()],
        &synthetic_app(3)[..]
    );
    assert!(
        f[0x1FF000..0x200000].iter().all(|&b| b == 0xFF),
        "otadata stays erased without --boot-info"
    );
    // A flash dump as input keeps what it has (config block included) and takes overrides.
    let o = pyemu(&[
        "flash",
        "build",
        &out.to_string_lossy(),
        "-o",
        &tmp.join("g.img").to_string_lossy(),
        "--board",
        "lopy4",
        "--config",
        "heartbeat_on_boot=0",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g = std::fs::read(tmp.join("g.img")).unwrap();
    assert_eq!(&g[..0x3FF000], &f[..0x3FF000]);
    assert_eq!(g[0x3FF000 + 152], 0xFE);
    let o = pyemu(&[
        "flash",
        "build",
        &tmp.join("g.img").to_string_lossy(),
        "-o",
        &tmp.join("h.img").to_string_lossy(),
        "--board",
        "lopy4",
    ]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(tmp.join("h.img")).unwrap(),
        g,
        "the config block survives a rebuild"
    );
    // An oversize app is refused with the sizes.
    let h = ImageHeader::default();
    let huge = write_image(&h, &[(0x3F40_0020, &vec![0u8; 0x1F0000])]);
    let huge_p = write_tmp(&tmp, "huge.bin", &huge);
    let o = pyemu(&[
        "flash",
        "build",
        &out.to_string_lossy(),
        "-o",
        &tmp.join("i.img").to_string_lossy(),
        "--board",
        "lopy4",
        "--app",
        &huge_p.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("huge.bin") && err.contains("0x1ef000"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
