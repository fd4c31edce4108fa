//! ELF files (via `goblin`), and ELF → ESP32 app image the way esptool's `elf2image --chip esp32`
//! builds it.
//!
//! elf2image, step by step:
//!
//! | step | rule |
//! |---|---|
//! | sections | every section with address ≠ 0, size ≠ 0 and type PROGBITS (1), INIT_ARRAY (14), FINI_ARRAY (15) or PREINIT_ARRAY (16), in header order; data zero-padded to a multiple of 4 |
//! | merge | a section that starts where the previous one ends, with the same esptool memory types, is appended to it |
//! | split | flash-mapped (DROM 0x3F400000–0x3F800000, IROM 0x400D0000–0x40400000) and RAM segments, each sorted by address; `.flash.appdesc` first among flash ones |
//! | place | each flash segment's data must start at a file offset ≡ its address (mod 64 KB): the gap is filled with the head of the next RAM segment (split off) or, if none or the gap is ≤ 8 bytes, a zero segment at address 0 |
//! | workaround | a flash segment ending < 0x24 bytes past a 64 KB boundary is zero-extended up to 0x24 past it |
//! | tail | remaining RAM segments, then zero padding to the 16-byte checksum slot, the checksum, the SHA-256 |
//! | ELF hash | if a `.flash.appdesc` section is flash-mapped, the ELF file's SHA-256 goes at image offset 0xB0 (the app description's `app_elf_sha256`) |
//!
//! The header gets esptool's defaults unless overridden: QIO, 1 MB, 40 MHz, WP pin 0xEE, min rev 0,
//! max rev 65535, hash appended.

use crate::app_image::{
    append_checksum_and_digest, checksum, esptool_memory_types, ImageHeader, Region, CHECKSUM_SEED,
    MMU_PAGE, SEGMENT_HEADER_LEN,
};
use goblin::elf::Elf;
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub const EM_XTENSA: u16 = 94;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ElfError {
    #[error("not a valid ELF file: {0}")]
    Parse(String),
    #[error("section {name} at file offset {offset:#x} (+{size:#x}) lies beyond the end of the file ({len:#x} bytes)")]
    SectionOutOfFile {
        name: String,
        offset: u64,
        size: u64,
        len: usize,
    },
    #[error("ELF machine {0} is not Xtensa (94)")]
    NotXtensa(u16),
    #[error("ELF has no loadable sections")]
    Empty,
    #[error("{0} segments after merging: the bootloader accepts at most 16")]
    TooManySegments(usize),
    #[error(
        "segment at {addr:#010x} lands in the same 64 KB flash page as the segment at {prev:#010x}"
    )]
    SamePage { addr: u32, prev: u32 },
    #[error("segment {name} at {addr:#010x}: {msg}")]
    Segment {
        name: String,
        addr: u32,
        msg: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionInfo {
    pub name: String,
    pub addr: u32,
    pub size: u32,
    pub sh_type: u32,
    pub offset: u64,
    pub region: Region,
}

#[derive(Debug, Clone, Serialize)]
pub struct ElfInfo {
    pub class: u8,
    pub machine: u16,
    pub entry: u64,
    pub sections: Vec<SectionInfo>,
    /// Program headers of type LOAD: (vaddr, paddr, filesz, memsz).
    pub load_segments: Vec<(u64, u64, u64, u64)>,
    pub sha256: String,
}

fn parse(data: &[u8]) -> Result<Elf<'_>, ElfError> {
    Elf::parse(data).map_err(|e| ElfError::Parse(e.to_string()))
}

impl ElfInfo {
    pub fn parse(data: &[u8]) -> Result<ElfInfo, ElfError> {
        let elf = parse(data)?;
        let mut sections = Vec::new();
        for sh in &elf.section_headers {
            let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("").to_string();
            if sh.sh_addr == 0 || sh.sh_size == 0 {
                continue;
            }
            sections.push(SectionInfo {
                name,
                addr: sh.sh_addr as u32,
                size: sh.sh_size as u32,
                sh_type: sh.sh_type,
                offset: sh.sh_offset,
                region: Region::of(sh.sh_addr as u32),
            });
        }
        let load_segments = elf
            .program_headers
            .iter()
            .filter(|ph| ph.p_type == goblin::elf::program_header::PT_LOAD)
            .map(|ph| (ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz))
            .collect();
        Ok(ElfInfo {
            class: if elf.is_64 { 64 } else { 32 },
            machine: elf.header.e_machine,
            entry: elf.entry,
            sections,
            load_segments,
            sha256: crate::util::hex(&Sha256::digest(data)),
        })
    }
}

#[derive(Debug, Clone)]
struct Seg {
    name: String,
    addr: u32,
    data: Vec<u8>,
}

impl Seg {
    fn new(name: String, addr: u32, mut data: Vec<u8>) -> Seg {
        if addr != 0 {
            let pad = (4 - data.len() % 4) % 4;
            data.resize(data.len() + pad, 0);
        }
        Seg { name, addr, data }
    }
}

/// Options of `elf2image`, with esptool's defaults.
#[derive(Debug, Clone, Default)]
pub struct Elf2ImageOptions {
    pub header: ImageHeader,
    /// Where to put the ELF's SHA-256; `None` = 0xB0 if a `.flash.appdesc` section exists.
    pub elf_sha256_offset: Option<usize>,
}

fn is_flash(addr: u32) -> bool {
    Region::of(addr).is_flash_mapped()
}

/// Converts an ELF file into an ESP32 app image (see the module table).
pub fn elf_to_image(data: &[u8], opts: &Elf2ImageOptions) -> Result<Vec<u8>, ElfError> {
    let elf = parse(data)?;
    if elf.header.e_machine != EM_XTENSA {
        return Err(ElfError::NotXtensa(elf.header.e_machine));
    }
    let mut sections = Vec::new();
    for sh in &elf.section_headers {
        if sh.sh_addr == 0 || sh.sh_size == 0 || !matches!(sh.sh_type, 1 | 14 | 15 | 16) {
            continue;
        }
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("").to_string();
        let end = sh.sh_offset.checked_add(sh.sh_size);
        let bytes = end
            .and_then(|e| data.get(sh.sh_offset as usize..e as usize))
            .ok_or(ElfError::SectionOutOfFile {
                name: name.clone(),
                offset: sh.sh_offset,
                size: sh.sh_size,
                len: data.len(),
            })?;
        let addr = u32::try_from(sh.sh_addr).map_err(|_| ElfError::Segment {
            name: name.clone(),
            addr: 0,
            msg: "address beyond 32 bits".into(),
        })?;
        sections.push(Seg::new(name, addr, bytes.to_vec()));
    }
    if sections.is_empty() {
        return Err(ElfError::Empty);
    }
    let appdesc = sections
        .iter()
        .find(|s| s.name.contains(".flash.appdesc"))
        .map(|s| s.addr);
    let sha_offset = opts.elf_sha256_offset.or(match appdesc {
        Some(a) if is_flash(a) => Some(0xB0),
        _ => None,
    });

    // Merge backwards: a section joins the previous one when contiguous and of the same memory type.
    let mut merged: Vec<Seg> = Vec::new();
    for s in sections {
        if let Some(prev) = merged.last_mut() {
            let prev_end = prev.addr as u64 + prev.data.len() as u64;
            if prev_end == s.addr as u64
                && esptool_memory_types(prev.addr) == esptool_memory_types(s.addr)
            {
                prev.data.extend_from_slice(&s.data);
                continue;
            }
        }
        merged.push(s);
    }
    if merged.len() > 16 {
        return Err(ElfError::TooManySegments(merged.len()));
    }

    let mut flash: Vec<Seg> = merged
        .iter()
        .filter(|s| is_flash(s.addr))
        .cloned()
        .collect();
    let mut ram: Vec<Seg> = merged
        .iter()
        .filter(|s| !is_flash(s.addr))
        .cloned()
        .collect();
    flash.sort_by_key(|s| s.addr);
    ram.sort_by_key(|s| s.addr);
    if let Some(i) = flash.iter().position(|s| s.name == ".flash.appdesc") {
        let s = flash.remove(i);
        flash.insert(0, s);
    }
    if let Some(i) = ram.iter().position(|s| s.name == ".dram0.bootdesc") {
        let s = ram.remove(i);
        ram.insert(0, s);
    }
    for w in flash.windows(2) {
        if w[1].addr / MMU_PAGE == w[0].addr / MMU_PAGE {
            return Err(ElfError::SamePage {
                addr: w[1].addr,
                prev: w[0].addr,
            });
        }
    }

    let mut header = opts.header.clone();
    header.entry = elf.entry as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&header.to_bytes());
    let mut sum = CHECKSUM_SEED;
    let mut count = 0usize;
    let elf_sha = Sha256::digest(data);

    let save = |out: &mut Vec<u8>, seg: &Seg, sum: &mut u8| -> Result<(), ElfError> {
        let mut seg_data = seg.data.clone();
        let file_pos = out.len();
        if let Some(off) = sha_offset {
            let seg_len = seg_data.len();
            if off >= file_pos && off < file_pos + seg_len {
                let patch = off - file_pos;
                if patch < SEGMENT_HEADER_LEN || patch + 32 > seg_len {
                    return Err(ElfError::Segment {
                        name: seg.name.clone(),
                        addr: seg.addr,
                        msg: format!(
                            "cannot place the ELF SHA-256 at {off:#x} across a segment boundary"
                        ),
                    });
                }
                let p = patch - SEGMENT_HEADER_LEN;
                if seg_data[p..p + 32].iter().any(|&b| b != 0) {
                    return Err(ElfError::Segment {
                        name: seg.name.clone(),
                        addr: seg.addr,
                        msg: format!("bytes at the ELF SHA-256 offset {off:#x} are not zero"),
                    });
                }
                seg_data[p..p + 32].copy_from_slice(&elf_sha);
            }
        }
        if !seg_data.len().is_multiple_of(4) || seg_data.len() >= 0x100_0000 {
            return Err(ElfError::Segment {
                name: seg.name.clone(),
                addr: seg.addr,
                msg: format!(
                    "length {:#x} must be a multiple of 4 and below 16 MB",
                    seg_data.len()
                ),
            });
        }
        out.extend_from_slice(&seg.addr.to_le_bytes());
        out.extend_from_slice(&(seg_data.len() as u32).to_le_bytes());
        out.extend_from_slice(&seg_data);
        *sum = checksum(*sum, &seg_data);
        Ok(())
    };

    let page = MMU_PAGE as i64;
    let mut fi = 0;
    while fi < flash.len() {
        let seg = &flash[fi];
        // Bytes of padding segment needed so that, after its header and this segment's header,
        // the data offset ≡ address (mod 64 KB).
        let align_past = (seg.addr as i64 % page) - SEGMENT_HEADER_LEN as i64;
        let mut pad = (page - (out.len() as i64 % page)) + align_past;
        if pad == 0 || pad == page {
            pad = 0;
        } else {
            pad -= SEGMENT_HEADER_LEN as i64;
            if pad < 0 {
                pad += page;
            }
        }
        if pad > 0 {
            let pad = pad as usize;
            let filler = if !ram.is_empty() && pad > SEGMENT_HEADER_LEN {
                let head_len = pad.min(ram[0].data.len());
                let head = Seg {
                    name: ram[0].name.clone(),
                    addr: ram[0].addr,
                    data: ram[0].data[..head_len].to_vec(),
                };
                ram[0].data.drain(..head_len);
                ram[0].addr = ram[0].addr.wrapping_add(head_len as u32);
                if ram[0].data.is_empty() {
                    ram.remove(0);
                }
                head
            } else {
                Seg {
                    name: seg.name.clone(),
                    addr: 0,
                    data: vec![0; pad],
                }
            };
            save(&mut out, &filler, &mut sum)?;
            count += 1;
        } else {
            let mut seg = seg.clone();
            // ESP-IDF bootloader bug workaround: map the last page even if barely entered.
            let end_pos = out.len() + seg.data.len() + SEGMENT_HEADER_LEN;
            let rem = end_pos % MMU_PAGE as usize;
            if rem < 0x24 {
                seg.data.resize(seg.data.len() + (0x24 - rem), 0);
            }
            save(&mut out, &seg, &mut sum)?;
            count += 1;
            fi += 1;
        }
    }
    for seg in &ram {
        save(&mut out, seg, &mut sum)?;
        count += 1;
    }
    out[1] = count.min(255) as u8;
    append_checksum_and_digest(&mut out, sum, header.hash_appended);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(elf_to_image(b"\x7fELF garbage", &Elf2ImageOptions::default()).is_err());
        assert!(ElfInfo::parse(&[]).is_err());
    }
}
