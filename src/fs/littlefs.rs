//! LittleFS through the `littlefs2` crate (littlefs's reference C code, built with
//! `LFS_MULTIVERSION` and told to write disk version 2.0, which the firmware's littlefs 2.0
//! requires: a newer minor version in the superblock makes its mount fail, and it then
//! reformats).

use super::{Entry, FsError, FsKind, FsPath, Layout, Stamp, Usage, Volume, BLOCK};
use littlefs2::consts::{U16, U4, U4096};
use littlefs2::driver::Storage;
use littlefs2::fs::Filesystem;
use littlefs2::io::Error as LfsError;
use littlefs2::path::PathBuf as LfsPath;

/// The firmware's timestamp attribute (`LFS_ATTRIBUTE_TIMESTAMP` in Pycom's
/// `vfs_littlefs.h`): FAT date, FAT time, little-endian.
const ATTR_TIMESTAMP: u8 = 1;

/// One storage type per layout: littlefs2 takes the geometry as constants.
macro_rules! storage {
    ($name:ident, $blocks:expr, $lookahead:ty) => {
        pub(super) struct $name<'a>(pub &'a mut [u8]);

        impl Storage for $name<'_> {
            // Pycom's driver reads and programs whole 4 KiB blocks only, so every size is
            // the block size (sflash_diskio_littlefs.c).
            const READ_SIZE: usize = BLOCK;
            const WRITE_SIZE: usize = BLOCK;
            const BLOCK_SIZE: usize = BLOCK;
            const BLOCK_COUNT: usize = $blocks;
            // The firmware's 0 ("no block-level wear levelling" in littlefs 2.0) is spelt -1
            // in later littlefs; not stored on disk.
            const BLOCK_CYCLES: isize = -1;
            type CACHE_SIZE = U4096;
            // In units of 8 bytes: 128 bytes for 1024 blocks, 32 for 127 (the firmware's
            // lookahead; it only orders allocation, nothing on disk depends on it).
            type LOOKAHEAD_SIZE = $lookahead;

            fn read(&mut self, off: usize, buf: &mut [u8]) -> littlefs2::io::Result<usize> {
                let src = self.0.get(off..off + buf.len()).ok_or(LfsError::IO)?;
                buf.copy_from_slice(src);
                Ok(buf.len())
            }
            fn write(&mut self, off: usize, data: &[u8]) -> littlefs2::io::Result<usize> {
                // NOR flash: programming only clears bits.
                let dst = self.0.get_mut(off..off + data.len()).ok_or(LfsError::IO)?;
                for (d, s) in dst.iter_mut().zip(data) {
                    *d &= *s;
                }
                Ok(data.len())
            }
            fn erase(&mut self, off: usize, len: usize) -> littlefs2::io::Result<usize> {
                self.0.get_mut(off..off + len).ok_or(LfsError::IO)?.fill(0xFF);
                Ok(len)
            }
        }
    };
}

storage!(Flash8, 1024, U16);
storage!(Flash4, 127, U4);

fn lfs_err(e: LfsError, p: &FsPath) -> FsError {
    let s = p.to_string();
    match e {
        LfsError::NO_SUCH_ENTRY => FsError::NotFound(s),
        LfsError::PATH_NOT_DIR => FsError::NotADirectory(s),
        LfsError::PATH_IS_DIR => FsError::IsADirectory(s),
        LfsError::ENTRY_ALREADY_EXISTED => FsError::Exists(s),
        LfsError::DIR_NOT_EMPTY => FsError::NotEmpty(s),
        LfsError::NO_SPACE => FsError::NoSpace(s),
        LfsError::FILENAME_TOO_LONG => FsError::NameTooLong(s),
        e => FsError::Io { kind: FsKind::LittleFs, path: s, detail: describe(e) },
    }
}

fn describe(e: LfsError) -> String {
    match e {
        LfsError::CORRUPTION => "corrupted".into(),
        LfsError::INVALID => "invalid (unsupported version or geometry?)".into(),
        LfsError::IO => "I/O error".into(),
        LfsError::FILE_TOO_BIG => "file too large".into(),
        e => format!("littlefs error {}", e.code()),
    }
}

fn lfs_path(p: &FsPath) -> Result<LfsPath, FsError> {
    LfsPath::try_from(p.inner().as_str()).map_err(|_| FsError::NameTooLong(p.to_string()))
}

pub(super) fn format(area: &mut [u8], layout: Layout) -> Result<(), FsError> {
    let r = match layout.blocks {
        1024 => Filesystem::format(&mut Flash8(area)),
        _ => Filesystem::format(&mut Flash4(area)),
    };
    r.map_err(|e| FsError::Io { kind: FsKind::LittleFs, path: "/flash".into(), detail: format!("format: {}", describe(e)) })
}

pub(super) fn with(
    area: &mut [u8],
    layout: Layout,
    f: &mut dyn FnMut(&mut dyn Volume) -> Result<(), FsError>,
) -> Result<(), FsError> {
    match layout.blocks {
        1024 => with_storage(&mut Flash8(area), f),
        _ => with_storage(&mut Flash4(area), f),
    }
}

fn with_storage<S: Storage>(
    storage: &mut S,
    f: &mut dyn FnMut(&mut dyn Volume) -> Result<(), FsError>,
) -> Result<(), FsError> {
    // The closure's own errors travel inside Ok so littlefs's error type only carries mount
    // failures.
    let r = Filesystem::mount_and_then(storage, |fs| Ok(f(&mut Lfs { fs })));
    match r {
        Ok(inner) => inner,
        Err(e) => Err(FsError::Unmountable { kind: FsKind::LittleFs, detail: describe(e) }),
    }
}

struct Lfs<'f, 'a, S: Storage> {
    fs: &'f Filesystem<'a, S>,
}

impl<S: Storage> Lfs<'_, '_, S> {
    fn stamp(&self, p: &LfsPath) -> Option<Stamp> {
        let mut buf = [0u8; 4];
        match self.fs.attribute(p, ATTR_TIMESTAMP, &mut buf) {
            Ok(Some(a)) if a.total_size() >= 4 => {
                Stamp::from_fat(u16::from_le_bytes([buf[0], buf[1]]), u16::from_le_bytes([buf[2], buf[3]]))
            }
            _ => None,
        }
    }
    fn set_stamp(&self, p: &LfsPath, fp: &FsPath, t: Stamp) -> Result<(), FsError> {
        let (d, tm) = t.to_fat();
        let mut b = [0u8; 4];
        b[..2].copy_from_slice(&d.to_le_bytes());
        b[2..].copy_from_slice(&tm.to_le_bytes());
        self.fs.set_attribute(p, ATTR_TIMESTAMP, &b).map_err(|e| lfs_err(e, fp))
    }
}

impl<S: Storage> Volume for Lfs<'_, '_, S> {
    fn kind(&self) -> FsKind {
        FsKind::LittleFs
    }

    fn stat(&mut self, p: &FsPath) -> Result<Option<Entry>, FsError> {
        let lp = lfs_path(p)?;
        match self.fs.metadata(&lp) {
            Ok(m) => Ok(Some(Entry {
                name: p.name().unwrap_or("flash").to_string(),
                is_dir: m.is_dir(),
                size: if m.is_dir() { 0 } else { m.len() as u64 },
                mtime: if p.is_root() { None } else { self.stamp(&lp) },
            })),
            Err(LfsError::NO_SUCH_ENTRY) => Ok(None),
            Err(e) => Err(lfs_err(e, p)),
        }
    }

    fn list(&mut self, p: &FsPath) -> Result<Vec<Entry>, FsError> {
        let lp = lfs_path(p)?;
        match self.fs.metadata(&lp) {
            Ok(m) if !m.is_dir() => return Err(FsError::NotADirectory(p.to_string())),
            Ok(_) => {}
            Err(e) => return Err(lfs_err(e, p)),
        }
        let mut out: Vec<(Entry, LfsPath)> = Vec::new();
        self.fs
            .read_dir_and_then(&lp, |rd| {
                for e in rd {
                    let e = e?;
                    let name = e.file_name().as_str().to_string();
                    if name == "." || name == ".." {
                        continue;
                    }
                    let m = e.metadata();
                    let entry = Entry { name, is_dir: m.is_dir(), size: if m.is_dir() { 0 } else { m.len() as u64 }, mtime: None };
                    out.push((entry, e.path().into()));
                }
                Ok(())
            })
            .map_err(|e| lfs_err(e, p))?;
        // Attributes are read after the directory is closed: one littlefs call at a time.
        Ok(out
            .into_iter()
            .map(|(mut e, path)| {
                e.mtime = self.stamp(&path);
                e
            })
            .collect())
    }

    fn read(&mut self, p: &FsPath) -> Result<Vec<u8>, FsError> {
        let lp = lfs_path(p)?;
        if self.fs.metadata(&lp).map_err(|e| lfs_err(e, p))?.is_dir() {
            return Err(FsError::IsADirectory(p.to_string()));
        }
        self.fs
            .open_file_and_then(&lp, |f| {
                let mut buf = vec![0u8; f.len()?];
                let mut at = 0;
                while at < buf.len() {
                    let n = f.read(&mut buf[at..])?;
                    if n == 0 {
                        break;
                    }
                    at += n;
                }
                buf.truncate(at);
                Ok(buf)
            })
            .map_err(|e| lfs_err(e, p))
    }

    fn write(&mut self, p: &FsPath, data: &[u8], mtime: Stamp) -> Result<(), FsError> {
        let lp = lfs_path(p)?;
        self.fs
            .create_file_and_then(&lp, |f| {
                let mut at = 0;
                while at < data.len() {
                    at += f.write(&data[at..])?;
                }
                Ok(())
            })
            .map_err(|e| lfs_err(e, p))?;
        self.set_stamp(&lp, p, mtime)
    }

    fn mkdir(&mut self, p: &FsPath, mtime: Stamp) -> Result<(), FsError> {
        let lp = lfs_path(p)?;
        self.fs.create_dir(&lp).map_err(|e| lfs_err(e, p))?;
        self.set_stamp(&lp, p, mtime)
    }

    fn remove(&mut self, p: &FsPath) -> Result<(), FsError> {
        self.fs.remove(&lfs_path(p)?).map_err(|e| lfs_err(e, p))
    }

    fn usage(&mut self) -> Result<Usage, FsError> {
        let free = self.fs.available_blocks().map_err(|e| lfs_err(e, &FsPath::root()))?;
        let total = self.fs.total_blocks() as u32;
        Ok(Usage { unit: BLOCK as u32, total, used: total - free as u32 })
    }
}
