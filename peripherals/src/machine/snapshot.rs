//! Whole-machine snapshots: both cores, RAM, PSRAM, every device, virtual time, pending host
//! inputs and the flash chip's contents, so a run can stop at any turn boundary and carry on
//! later, byte for byte as if it had never stopped.
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | `PYEMUSNP` |
//! | 8..12 | header length n (u32 LE) |
//! | 12..12+n | [`Header`] as JSON (readable with `head -c`) |
//! | rest | the [`Machine`]: bincode (varint), LZ4-compressed |
//!
//! The encoding follows the Rust types, so a snapshot is tied to the build that wrote it:
//! the header records the machine layout (a hash of the sources, see `build.rs`), and
//! another build refuses the file rather than misread it. Host-side things are not kept:
//! the decoded-instruction cache (rebuilt from memory), instruction tracers, the ROM (the
//! same on every board).

use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use crate::time::Ps;

pub const MAGIC: &[u8; 8] = b"PYEMUSNP";
/// This build's machine layout.
pub const LAYOUT: &str = env!("PYEMU_MACHINE_LAYOUT");
/// Largest machine image accepted (flash, PSRAM and RAM of the largest board are ~25 MiB):
/// a damaged length must not make the reader allocate without bound.
const MAX_IMAGE: u64 = 1 << 30;

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("not a pyemu snapshot (it does not start with PYEMUSNP)")]
    NotSnapshot,
    #[error(
        "written by another pyemu build (pyemu {pyemu}, machine layout {layout}); this is pyemu {}, machine layout {}: \
         a snapshot only restores in the build that wrote it, so take it again with this one",
        env!("CARGO_PKG_VERSION"),
        LAYOUT
    )]
    OtherBuild { pyemu: String, layout: String },
    #[error("damaged snapshot: {0}")]
    Damaged(String),
}

/// What a snapshot says about itself, readable without restoring it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub pyemu: String,
    pub layout: String,
    /// Virtual time of the snapshot (ps).
    pub now_ps: Ps,
    /// Size of the machine image before compression.
    pub image_len: u64,
    /// Whatever the host session needs to carry on (board, firmware, endpoints…).
    pub session: serde_json::Value,
}

fn codec() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_varint_encoding().allow_trailing_bytes()
}

impl Machine {
    /// The whole machine as a snapshot file's bytes, with `session` in its header.
    pub fn snapshot(&self, session: serde_json::Value) -> Vec<u8> {
        use bincode::Options;
        let image = codec().serialize(self).expect("every machine type serialises");
        let header = Header {
            pyemu: env!("CARGO_PKG_VERSION").into(),
            layout: LAYOUT.into(),
            now_ps: self.now_ps,
            image_len: image.len() as u64,
            session,
        };
        let head = serde_json::to_vec(&header).expect("header serialises");
        let mut out = Vec::with_capacity(image.len() / 8 + head.len() + 12);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&lz4_flex::block::compress(&image));
        out
    }

    /// A machine from a snapshot's bytes (refused if another build wrote them), and its
    /// header. Stop hooks and fast paths are as they were when it was taken.
    pub fn restore(bytes: &[u8]) -> Result<(Machine, Header), SnapshotError> {
        use bincode::Options;
        let (header, body) = split(bytes)?;
        if header.image_len > MAX_IMAGE {
            return Err(SnapshotError::Damaged(format!("machine image of {} bytes", header.image_len)));
        }
        let mut image = vec![0; header.image_len as usize];
        let n = lz4_flex::block::decompress_into(body, &mut image).map_err(|e| SnapshotError::Damaged(e.to_string()))?;
        if n != image.len() {
            return Err(SnapshotError::Damaged(format!("machine image is {n} bytes, the header says {}", image.len())));
        }
        let m: Machine = codec().with_limit(image.len() as u64 * 2 + 4096).deserialize(&image).map_err(|e| SnapshotError::Damaged(e.to_string()))?;
        Ok((m, header))
    }
}

/// The header of a snapshot, checked against this build.
pub fn header(bytes: &[u8]) -> Result<Header, SnapshotError> {
    split(bytes).map(|(h, _)| h)
}

fn split(bytes: &[u8]) -> Result<(Header, &[u8]), SnapshotError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(SnapshotError::NotSnapshot);
    }
    let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let head = bytes.get(12..12 + n).ok_or_else(|| SnapshotError::Damaged("truncated header".into()))?;
    let header: Header = serde_json::from_slice(head).map_err(|e| SnapshotError::Damaged(format!("header: {e}")))?;
    if header.layout != LAYOUT || header.pyemu != env!("CARGO_PKG_VERSION") {
        return Err(SnapshotError::OtherBuild { pyemu: header.pyemu, layout: header.layout });
    }
    Ok((header, &bytes[12 + n..]))
}

/// `&'static str` fields (block and register names from the tables) are written as text and
/// read back interned: the same name always yields the same leaked string, so restoring many
/// snapshots (a power-cut campaign) leaks nothing per restore.
/// A name from a table (a `&'static str` serde's derive does not take for a borrow).
pub type Name = &'static str;

/// Big byte arrays (RAM, PSRAM, flash) are mostly erased flash (0xFF) or untouched memory
/// (0x00): kept as their length, the commoner fill and the 4 KiB pages that differ from it,
/// so a snapshot restores without decompressing megabytes of filler (and zero-filled memory
/// is not even touched until used).
pub(crate) mod sparse {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    const PAGE: usize = 4096;
    /// Larger than any memory of any board (16 MiB flash, 8 MiB PSRAM): a damaged length
    /// must not allocate without bound.
    const MAX_MEMORY: u64 = 64 << 20;

    #[derive(Serialize, Deserialize)]
    struct Sparse {
        len: u64,
        fill: u8,
        pages: Vec<(u32, serde_bytes::ByteBuf)>,
    }

    pub fn serialize<T: AsRef<[u8]>, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let v = v.as_ref();
        let uniform = |b: u8| v.chunks(PAGE).filter(|p| p.iter().all(|x| *x == b)).count();
        let fill = if uniform(0xFF) > uniform(0x00) { 0xFF } else { 0x00 };
        let pages = v
            .chunks(PAGE)
            .enumerate()
            .filter(|(_, p)| p.iter().any(|x| *x != fill))
            .map(|(i, p)| (i as u32, serde_bytes::ByteBuf::from(p.to_vec())))
            .collect();
        Sparse { len: v.len() as u64, fill, pages }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: From<Vec<u8>>>(d: D) -> Result<T, D::Error> {
        let v = Sparse::deserialize(d)?;
        if v.len > MAX_MEMORY {
            return Err(serde::de::Error::custom(format!("a memory of {} bytes", v.len)));
        }
        let mut out = vec![v.fill; v.len as usize];
        for (i, p) in v.pages {
            let at = i as usize * PAGE;
            match out.get_mut(at..at + p.len()) {
                Some(dst) if p.len() <= PAGE => dst.copy_from_slice(&p),
                _ => return Err(serde::de::Error::custom(format!("page {i} outside a memory of {} bytes", v.len))),
            }
        }
        Ok(T::from(out))
    }
}

pub(crate) mod static_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

    pub fn serialize<S: Serializer>(s: &&'static str, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let s = String::deserialize(d)?;
        let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = names.get(s.as_str()) {
            return Ok(n);
        }
        let n: &'static str = Box::leak(s.into_boxed_str());
        names.insert(n);
        Ok(n)
    }
}
