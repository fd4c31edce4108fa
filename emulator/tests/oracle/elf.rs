//! A minimal ELF32 little-endian Xtensa executable writer: one RWX `PT_LOAD` segment that maps
//! the whole file (headers included) at its base address, so the image bytes and the memory
//! contents are the same thing on both sides of the comparison.

/// `e_machine` of Xtensa.
pub const EM_XTENSA: u16 = 94;
const EHDR_SIZE: usize = 52;
const PHDR_SIZE: usize = 32;
/// Room reserved at the start of an image for the ELF and program headers.
pub const HEADER_ROOM: u32 = 0x100;

/// Writes the ELF and program headers over the first bytes of `image` (which must start with
/// [`HEADER_ROOM`] bytes of padding) and returns the finished file. The segment maps the
/// whole file at `base`, readable, writable and executable; `entry` is the start address.
pub fn finish(mut image: Vec<u8>, base: u32, entry: u32) -> Vec<u8> {
    assert!(image.len() >= HEADER_ROOM as usize);
    let size = image.len() as u32;
    let mut h = Vec::with_capacity(EHDR_SIZE + PHDR_SIZE);
    // e_ident: magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT, System V ABI.
    h.extend_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let u16le = |h: &mut Vec<u8>, v: u16| h.extend_from_slice(&v.to_le_bytes());
    let u32le = |h: &mut Vec<u8>, v: u32| h.extend_from_slice(&v.to_le_bytes());
    u16le(&mut h, 2); // e_type: ET_EXEC
    u16le(&mut h, EM_XTENSA);
    u32le(&mut h, 1); // e_version
    u32le(&mut h, entry);
    u32le(&mut h, EHDR_SIZE as u32); // e_phoff
    u32le(&mut h, 0); // e_shoff: no sections
    // e_flags: GNU ld for xtensa-linux sets 0x300 (EF_XTENSA_XT_INSN | EF_XTENSA_XT_LIT);
    // neither Linux nor qemu-user looks at it.
    u32le(&mut h, 0x300);
    u16le(&mut h, EHDR_SIZE as u16);
    u16le(&mut h, PHDR_SIZE as u16);
    u16le(&mut h, 1); // e_phnum
    u16le(&mut h, 40); // e_shentsize
    u16le(&mut h, 0); // e_shnum
    u16le(&mut h, 0); // e_shstrndx
    // Program header: PT_LOAD of the whole file.
    u32le(&mut h, 1); // p_type
    u32le(&mut h, 0); // p_offset
    u32le(&mut h, base); // p_vaddr
    u32le(&mut h, base); // p_paddr
    u32le(&mut h, size); // p_filesz
    u32le(&mut h, size); // p_memsz
    u32le(&mut h, 7); // p_flags: R | W | X
    u32le(&mut h, 0x1000); // p_align
    image[..h.len()].copy_from_slice(&h);
    image
}

/// The loadable segments of an ELF written by [`finish`] (or any simple static ELF32 LE):
/// `(vaddr, bytes)` with the bss part zero-filled; plus the entry point.
pub fn segments(file: &[u8]) -> (Vec<(u32, Vec<u8>)>, u32) {
    let u16at = |o: usize| u16::from_le_bytes([file[o], file[o + 1]]);
    let u32at = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap());
    assert_eq!(&file[..4], b"\x7FELF");
    let entry = u32at(24);
    let phoff = u32at(28) as usize;
    let phentsize = u16at(42) as usize;
    let phnum = u16at(44) as usize;
    let mut segs = Vec::new();
    for k in 0..phnum {
        let p = phoff + k * phentsize;
        if u32at(p) != 1 {
            continue;
        }
        let (off, vaddr, filesz, memsz) =
            (u32at(p + 4) as usize, u32at(p + 8), u32at(p + 16) as usize, u32at(p + 20) as usize);
        let mut bytes = file[off..off + filesz].to_vec();
        bytes.resize(memsz, 0);
        segs.push((vaddr, bytes));
    }
    (segs, entry)
}
