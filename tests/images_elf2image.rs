//! ELF → app image: `pyemu image elf2image` byte-identical to `esptool --chip esp32 elf2image` on
//! synthetic Xtensa ELF files built here (skip without esptool unless `PYEMU_REQUIRE_TOOLS=1`).

use test_support as firmware;
use std::path::PathBuf;
use std::process::Command;

/// One section: name, type, address, contents (NOBITS sections carry only a size).
struct Sec {
    name: &'static str,
    sh_type: u32,
    addr: u32,
    data: Vec<u8>,
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A minimal little-endian ELF32 for Xtensa (EM 94): sections only, no program headers.
fn build_elf(entry: u32, secs: &[Sec]) -> Vec<u8> {
    let mut shstr = vec![0u8];
    let mut name_off = Vec::new();
    for s in secs {
        name_off.push(shstr.len() as u32);
        shstr.extend_from_slice(s.name.as_bytes());
        shstr.push(0);
    }
    let shstr_name = shstr.len() as u32;
    shstr.extend_from_slice(b".shstrtab\0");

    let mut body = Vec::new();
    let mut offsets = Vec::new();
    let base = 52usize;
    for s in secs {
        while body.len() % 4 != 0 {
            body.push(0);
        }
        offsets.push((base + body.len()) as u32);
        if s.sh_type != 8 {
            body.extend_from_slice(&s.data);
        }
    }
    let shstr_off = (base + body.len()) as u32;
    body.extend_from_slice(&shstr);
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let shoff = (base + body.len()) as u32;
    let shnum = secs.len() as u16 + 2;

    let mut f = Vec::new();
    f.extend_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&94u16.to_le_bytes()); // EM_XTENSA
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes()); // phoff
    f.extend_from_slice(&shoff.to_le_bytes());
    f.extend_from_slice(&0x300u32.to_le_bytes()); // flags
    f.extend_from_slice(&52u16.to_le_bytes());
    f.extend_from_slice(&32u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes()); // phnum
    f.extend_from_slice(&40u16.to_le_bytes());
    f.extend_from_slice(&shnum.to_le_bytes());
    f.extend_from_slice(&(shnum - 1).to_le_bytes()); // shstrndx
    f.extend_from_slice(&body);
    let sh = |f: &mut Vec<u8>, name: u32, ty: u32, flags: u32, addr: u32, off: u32, size: u32| {
        for v in [name, ty, flags, addr, off, size, 0, 0, 4, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    };
    sh(&mut f, 0, 0, 0, 0, 0, 0);
    for (i, s) in secs.iter().enumerate() {
        sh(
            &mut f,
            name_off[i],
            s.sh_type,
            0x2,
            s.addr,
            offsets[i],
            s.data.len() as u32,
        );
    }
    sh(&mut f, shstr_name, 3, 0, 0, shstr_off, shstr.len() as u32);
    f
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut appdesc = vec![0u8; 256];
    appdesc[..4].copy_from_slice(&0xABCD_5432u32.to_le_bytes());
    appdesc[0x10..0x15].copy_from_slice(b"1.2.3");
    vec![
        (
            // An IDF-shaped app: app description first, DROM, RAM, IROM needing alignment padding
            // (filled by splitting RAM segments), a section to merge, odd sizes, .bss skipped.
            "app",
            build_elf(
                0x4008_0400,
                &[
                    Sec {
                        name: ".flash.appdesc",
                        sh_type: 1,
                        addr: 0x3F40_0020,
                        data: appdesc,
                    },
                    Sec {
                        name: ".flash.rodata",
                        sh_type: 1,
                        addr: 0x3F40_0120,
                        data: pattern(0x1233, 1),
                    },
                    Sec {
                        name: ".init_array",
                        sh_type: 14,
                        addr: 0x3F40_1354,
                        data: pattern(8, 8),
                    },
                    Sec {
                        name: ".dram0.data",
                        sh_type: 1,
                        addr: 0x3FFB_0000,
                        data: pattern(0x2000, 2),
                    },
                    Sec {
                        name: ".dram0.more",
                        sh_type: 1,
                        addr: 0x3FFB_2000,
                        data: pattern(0x10, 3),
                    },
                    Sec {
                        name: ".dram0.bss",
                        sh_type: 8,
                        addr: 0x3FFB_3000,
                        data: vec![0; 0x400],
                    },
                    Sec {
                        name: ".iram0.vectors",
                        sh_type: 1,
                        addr: 0x4008_0000,
                        data: pattern(0x400, 4),
                    },
                    Sec {
                        name: ".iram0.text",
                        sh_type: 1,
                        addr: 0x4008_0400,
                        data: pattern(0x9001, 5),
                    },
                    Sec {
                        name: ".flash.text",
                        sh_type: 1,
                        addr: 0x400D_0018,
                        data: pattern(0x1_2345, 6),
                    },
                    Sec {
                        name: ".rtc.text",
                        sh_type: 1,
                        addr: 0x400C_0000,
                        data: pattern(0x64, 7),
                    },
                ],
            ),
        ),
        (
            // A bootloader-shaped ELF: RAM only.
            "bootloader",
            build_elf(
                0x4009_FA00,
                &[
                    Sec {
                        name: ".dram0.data",
                        sh_type: 1,
                        addr: 0x3FFF_8000,
                        data: pattern(0x20, 9),
                    },
                    Sec {
                        name: ".iram_loader.text",
                        sh_type: 1,
                        addr: 0x4009_FA00,
                        data: pattern(0x4D1C, 10),
                    },
                ],
            ),
        ),
        (
            // Little RAM to pad with: zero padding segments at address 0.
            "sparse",
            build_elf(
                0x400D_0100,
                &[
                    Sec {
                        name: ".flash.rodata",
                        sh_type: 1,
                        addr: 0x3F41_0020,
                        data: pattern(0x100, 11),
                    },
                    Sec {
                        name: ".dram0.data",
                        sh_type: 1,
                        addr: 0x3FFB_0000,
                        data: pattern(0x8, 12),
                    },
                    Sec {
                        name: ".flash.text",
                        sh_type: 1,
                        addr: 0x400D_0018,
                        data: pattern(0xFFE8 - 0x10, 13),
                    },
                ],
            ),
        ),
    ]
}

#[test]
fn elf2image_matches_esptool() {
    let tmp: PathBuf = std::env::temp_dir().join(format!("pyemu-elf-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let esptool = firmware::esptool();
    for (name, elf) in cases() {
        let elf_path = tmp.join(format!("{name}.elf"));
        std::fs::write(&elf_path, &elf).unwrap();
        // Fuzzing seeds (images/fuzz/README.md): PYEMU_WRITE_SEEDS=DIR keeps a copy.
        if let Some(d) = std::env::var_os("PYEMU_WRITE_SEEDS") {
            let _ = std::fs::write(PathBuf::from(d).join(format!("{name}.elf")), &elf);
        }
        let ours_path = tmp.join(format!("{name}.pyemu.bin"));
        let out = Command::new(env!("CARGO_BIN_EXE_pyemu"))
            .args(["image", "elf2image"])
            .arg(&elf_path)
            .arg("-o")
            .arg(&ours_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = std::fs::read(&ours_path).unwrap();
        let img = images::AppImage::parse(&ours).unwrap();
        assert!(
            img.is_valid(),
            "{name}: {:?}",
            img.checks.iter().filter(|c| !c.ok).collect::<Vec<_>>()
        );
        if name == "app" {
            // The ELF's SHA-256 went into the app description.
            let d = img.app_desc.as_ref().unwrap();
            assert_eq!(d.version, "1.2.3");
            assert_eq!(
                d.app_elf_sha256,
                images::elf::ElfInfo::parse(&elf).unwrap().sha256
            );
        }
        let Some(esptool) = &esptool else { continue };
        let theirs_path = tmp.join(format!("{name}.esptool.bin"));
        let out = Command::new(&esptool[0])
            .args(&esptool[1..])
            .args(["--chip", "esp32", "elf2image", "-o"])
            .arg(&theirs_path)
            .arg(&elf_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "esptool elf2image {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = std::fs::read(&theirs_path).unwrap();
        if ours != theirs {
            let i = ours
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(theirs.len()));
            panic!(
                "{name}: pyemu {} bytes, esptool {} bytes, first difference at {i:#x}",
                ours.len(),
                theirs.len()
            );
        }
        println!(
            "{name}: {} bytes, identical to esptool elf2image",
            ours.len()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
