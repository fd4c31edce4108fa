//! Bad input through the CLI: a clear message naming the file, the offset and the failed check,
//! exit code 2, never a panic. Inputs are synthetic, made here.

use images::app_image::{write_image, ImageHeader};
use images::partition::{Partition, PartitionTable};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("pyemu-errors-{}", std::process::id()));
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

fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
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
        &w("readme.tar.gz", &tar_gz(&[("readme.txt", b"hello")])),
    );
    assert!(e.contains("not a Pycom bundle"), "{e}");
    let e = fails(&info, &w("broken.tar.gz", &[0x1F, 0x8B, 8, 0, 1, 2, 3]));
    assert!(e.contains("not a gzip'd tar"), "{e}");
    let e = fails(
        &["flash", "build", "--board", "lopy4", "-o", "/dev/null"],
        &w(
            "LoPy4-bad.tar.gz",
            &tar_gz(&[("script", b"[[\"w\", \"0x1000\", \"nope.bin\"]]")]),
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
    assert!(e.contains("cannot tell what this file is"), "{e}");
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
    let tmp = scratch().join("good");
    std::fs::create_dir_all(&tmp).unwrap();
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
