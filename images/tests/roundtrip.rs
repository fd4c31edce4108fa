//! Writer → reader round trips (proptest): boot_info, config block, partition table, app image.
//! Also: no reader panics on arbitrary or mutated input.

use images::app_image::{write_image, AppImage, ImageHeader};
use images::boot_info::BootInfo;
use images::config_block::ConfigBlock;
use images::partition::{Partition, PartitionTable};
use proptest::prelude::*;

fn boot_info() -> impl Strategy<Value = BootInfo> {
    (
        any::<u32>(),
        0u32..0xFFFF_FFFF,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(active_img, status, prev_img, size, safeboot, signature)| BootInfo {
                active_img,
                status,
                prev_img,
                size,
                safeboot,
                signature,
            },
        )
}

fn label() -> impl Strategy<Value = String> {
    "[a-z_0-9]{1,16}"
}

/// Non-overlapping, aligned partitions above the table, in increasing order.
fn partitions() -> impl Strategy<Value = Vec<Partition>> {
    prop::collection::vec(
        (
            label(),
            0u8..2,
            any::<u8>(),
            1u32..16,
            0u32..4,
            any::<u32>(),
        ),
        1..20,
    )
    .prop_map(|v| {
        let mut off = 0x10000u32;
        let mut seen = std::collections::HashSet::new();
        v.into_iter()
            .enumerate()
            .map(|(i, (l, t, st, pages, gap, flags))| {
                let label = if seen.insert(l.clone()) {
                    l
                } else {
                    format!("p{i}")
                };
                seen.insert(label.clone());
                off += gap * 0x10000;
                let p = Partition::new(&label, t, st, off, pages * 0x10000, flags);
                off += pages * 0x10000;
                p
            })
            .collect()
    })
}

fn segment() -> impl Strategy<Value = (u32, Vec<u8>)> {
    // RAM regions only, so that any order is loadable and MMU alignment does not apply.
    (
        prop::sample::select(vec![
            0x3FFB_0000u32,
            0x3FFC_0000,
            0x4008_0000,
            0x4009_0000,
            0x5000_0000,
        ]),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(base, mut d)| {
            d.truncate(d.len() / 4 * 4);
            (base, d)
        })
}

proptest! {
    #[test]
    fn boot_info_round_trips(b in boot_info()) {
        let bytes = b.to_bytes();
        let r = BootInfo::read(&bytes).unwrap();
        prop_assert!(r.crc_valid && r.valid);
        prop_assert_eq!(r.info, b);
        prop_assert_eq!(BootInfo::parse(&bytes).unwrap(), b);
        // Any single-bit flip in the payload breaks the CRC.
        let mut bad = bytes;
        bad[(b.size % 36) as usize] ^= 1 << (b.active_img % 8);
        prop_assert!(!BootInfo::read(&bad).unwrap().crc_valid);
    }

    #[test]
    fn config_block_round_trips(raw in prop::collection::vec(any::<u8>(), 1024), on in any::<bool>(), mode in 0u8..4, auth in 0u8..8, t in any::<u32>()) {
        let mut c = ConfigBlock::parse(&raw).unwrap();
        prop_assert_eq!(&c.0[..], &raw[..]);
        c.set_wifi_on_boot(on);
        c.set_wifi_mode(mode);
        c.set_wifi_auth(auth);
        c.set_wdt_on_boot_timeout(t);
        let back = ConfigBlock::parse(&c.to_sector()).unwrap();
        let f = back.fields();
        prop_assert_eq!((f.wifi_on_boot, f.wifi_mode, f.wifi_auth, f.wdt_on_boot_timeout), (on, mode, auth, t));
        // Untouched bits of byte 53 (smart config, antenna) keep their value.
        prop_assert_eq!(back.0[53] & 0x88, raw[53] & 0x88);
        prop_assert_eq!(&back.0[54..516], &raw[54..516]);
        prop_assert_eq!(&back.0[520..], &raw[520..]);
    }

    #[test]
    fn partition_table_round_trips(parts in partitions(), md5 in any::<bool>()) {
        let bytes = PartitionTable::to_bytes(&parts, md5).unwrap();
        let t = PartitionTable::parse(&bytes).unwrap();
        prop_assert_eq!(t.partitions.len(), parts.len());
        for (a, b) in t.partitions.iter().zip(&parts) {
            prop_assert_eq!((&a.label, a.ptype, a.subtype, a.offset, a.size, a.flags), (&b.label, b.ptype, b.subtype, b.offset, b.size, b.flags));
        }
        prop_assert_eq!(t.md5.is_some(), md5);
        prop_assert!(t.is_valid(), "{:?}", t.checks);
        prop_assert_eq!(PartitionTable::to_bytes(&t.partitions, md5).unwrap(), bytes);
    }

    #[test]
    fn app_image_round_trips(segs in prop::collection::vec(segment(), 0..16), entry in any::<u32>(), mode in 0u8..4, sf in any::<u8>(), hash in any::<bool>()) {
        // Spread segments so they never overlap.
        let segs: Vec<(u32, Vec<u8>)> = segs.into_iter().enumerate().map(|(i, (a, d))| (a + i as u32 * 0x100, d)).collect();
        let h = ImageHeader { entry, spi_mode: mode, flash_size_freq: sf, hash_appended: hash, ..Default::default() };
        let refs: Vec<(u32, &[u8])> = segs.iter().map(|(a, d)| (*a, d.as_slice())).collect();
        let bytes = write_image(&h, &refs);
        let img = AppImage::parse(&bytes).unwrap();
        prop_assert!(img.is_valid(), "{:?}", img.checks);
        prop_assert_eq!(img.entry, entry);
        prop_assert_eq!(img.length, bytes.len());
        prop_assert_eq!(img.segments.len(), segs.len());
        for (s, (a, d)) in img.segments.iter().zip(&segs) {
            prop_assert_eq!((s.load_addr, &s.data), (*a, d));
        }
        // Re-serialising the parsed image gives the same bytes.
        let again: Vec<(u32, &[u8])> = img.segments.iter().map(|s| (s.load_addr, s.data.as_slice())).collect();
        prop_assert_eq!(write_image(&img.header, &again), bytes);
    }

    #[test]
    fn readers_never_panic(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = AppImage::parse(&data);
        let _ = PartitionTable::parse(&data);
        let _ = BootInfo::read(&data);
        let _ = ConfigBlock::parse(&data);
        let _ = images::Bundle::from_bytes(&data);
        let _ = images::elf::ElfInfo::parse(&data);
        let _ = images::elf::elf_to_image(&data, &Default::default());
        let _ = images::detect::detect(&data);
    }

    #[test]
    fn mutated_images_never_panic(pos in any::<usize>(), val in any::<u8>(), cut in any::<usize>()) {
        let h = ImageHeader::default();
        let mut bytes = write_image(&h, &[(0x3F40_0020, &[7u8; 64][..]), (0x3FFB_0000, &[1u8; 32][..])]);
        let p = pos % bytes.len();
        bytes[p] = val;
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(img) = AppImage::parse(&bytes) {
            let _ = img.verify();
        }
    }
}
