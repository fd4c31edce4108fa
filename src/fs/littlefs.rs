//! LittleFS through `littlefs2-sys`: littlefs's reference C code, built with
//! `LFS_MULTIVERSION` so it writes disk version 2.0. The firmware's littlefs 2.0 refuses a
//! superblock with a newer minor version, and then reformats.
//!
//! The raw binding rather than the `littlefs2` wrapper: the wrapper fixes `name_max` at 255,
//! and littlefs refuses to mount a superblock whose `name_max` exceeds its own. LoPy4
//! 1.20.2.r4/r7 record 255, but SiPy 1.20.2.rc3 records 1022 (read from states those
//! firmwares formatted). So mounts here allow 1022 and read names into a buffer that fits
//! that; formats record 255, which every one of those firmwares accepts (a 1022 would make
//! the LoPy4 firmware reformat).

use super::{Entry, FsError, FsKind, FsPath, Layout, Stamp, Usage, Volume, BLOCK};
use littlefs2_sys as ll;
use std::ffi::{c_char, c_int, c_void, CString};
use std::marker::PhantomData;

/// The firmware's timestamp attribute (`LFS_ATTRIBUTE_TIMESTAMP` in Pycom's
/// `vfs_littlefs.h`): FAT date, FAT time, little-endian u16s.
const ATTR_TIMESTAMP: u8 = 1;
/// littlefs's ceiling for `name_max` (lfs.h: "Limited to <= 1022").
const NAME_MAX_MOUNT: u32 = 1022;
/// What LoPy4 1.20.2 firmware formats with (littlefs's default LFS_NAME_MAX).
const NAME_MAX_FORMAT: u32 = 255;
const DISK_VERSION_2_0: u32 = 0x0002_0000;

/// `lfs_info` with room for a 1022-byte name: littlefs writes up to `name_max + 1` bytes
/// there, and the bound struct only has the default 256.
#[repr(C)]
struct Info {
    type_: u8,
    size: ll::lfs_size_t,
    name: [c_char; NAME_MAX_MOUNT as usize + 1],
}

const _: () = assert!(std::mem::offset_of!(Info, name) == std::mem::offset_of!(ll::lfs_info, name));
const _: () = assert!(std::mem::offset_of!(Info, size) == std::mem::offset_of!(ll::lfs_info, size));

impl Info {
    fn new() -> Box<Info> {
        Box::new(Info { type_: 0, size: 0, name: [0; NAME_MAX_MOUNT as usize + 1] })
    }
    fn raw(&mut self) -> *mut ll::lfs_info {
        (self as *mut Info).cast()
    }
    fn name(&self) -> String {
        let bytes: Vec<u8> = self.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
    fn is_dir(&self) -> bool {
        self.type_ as u32 == ll::lfs_type_LFS_TYPE_DIR
    }
}

/// The /flash area, as littlefs's callbacks see it.
struct Dev {
    ptr: *mut u8,
    len: usize,
}

impl Dev {
    /// The byte range of a callback, or None when littlefs asks outside the area.
    fn range(&self, block: ll::lfs_block_t, off: ll::lfs_off_t, size: ll::lfs_size_t) -> Option<usize> {
        let start = (block as usize).checked_mul(BLOCK)?.checked_add(off as usize)?;
        (start.checked_add(size as usize)? <= self.len).then_some(start)
    }
}

unsafe fn dev<'a>(c: *const ll::lfs_config) -> &'a Dev {
    // SAFETY (caller): `c` is the config built in `Lfs::new`, whose context is its Dev.
    unsafe { &*((*c).context as *const Dev) }
}

unsafe extern "C" fn read_cb(
    c: *const ll::lfs_config,
    block: ll::lfs_block_t,
    off: ll::lfs_off_t,
    buf: *mut c_void,
    size: ll::lfs_size_t,
) -> c_int {
    // SAFETY: littlefs passes our config and a buffer of `size` bytes; the range is checked.
    unsafe {
        let d = dev(c);
        let Some(at) = d.range(block, off, size) else { return ll::lfs_error_LFS_ERR_IO };
        std::ptr::copy_nonoverlapping(d.ptr.add(at), buf as *mut u8, size as usize);
    }
    0
}

unsafe extern "C" fn prog_cb(
    c: *const ll::lfs_config,
    block: ll::lfs_block_t,
    off: ll::lfs_off_t,
    buf: *const c_void,
    size: ll::lfs_size_t,
) -> c_int {
    // SAFETY: as in read_cb.
    unsafe {
        let d = dev(c);
        let Some(at) = d.range(block, off, size) else { return ll::lfs_error_LFS_ERR_IO };
        let src = std::slice::from_raw_parts(buf as *const u8, size as usize);
        let dst = std::slice::from_raw_parts_mut(d.ptr.add(at), size as usize);
        // NOR flash: programming only clears bits.
        for (d, s) in dst.iter_mut().zip(src) {
            *d &= *s;
        }
    }
    0
}

unsafe extern "C" fn erase_cb(c: *const ll::lfs_config, block: ll::lfs_block_t) -> c_int {
    // SAFETY: as in read_cb.
    unsafe {
        let d = dev(c);
        let Some(at) = d.range(block, 0, BLOCK as u32) else { return ll::lfs_error_LFS_ERR_IO };
        std::ptr::write_bytes(d.ptr.add(at), 0xFF, BLOCK);
    }
    0
}

unsafe extern "C" fn sync_cb(_c: *const ll::lfs_config) -> c_int {
    0
}

/// littlefs state and everything it points to, boxed so the addresses stay put.
struct Lfs<'a> {
    lfs: Box<ll::lfs_t>,
    cfg: Box<ll::lfs_config>,
    _dev: Box<Dev>,
    _read: Box<[u8; BLOCK]>,
    _prog: Box<[u8; BLOCK]>,
    _lookahead: Box<[u64; 16]>,
    file_buf: Box<[u8; BLOCK]>,
    _area: PhantomData<&'a mut [u8]>,
}

impl<'a> Lfs<'a> {
    fn new(area: &'a mut [u8], layout: Layout, name_max: u32) -> Lfs<'a> {
        let mut dev = Box::new(Dev { ptr: area.as_mut_ptr(), len: area.len() });
        let mut read = Box::new([0u8; BLOCK]);
        let mut prog = Box::new([0u8; BLOCK]);
        let mut lookahead = Box::new([0u64; 16]);
        let cfg = Box::new(ll::lfs_config {
            context: (&mut *dev as *mut Dev).cast(),
            read: Some(read_cb),
            prog: Some(prog_cb),
            erase: Some(erase_cb),
            sync: Some(sync_cb),
            // Pycom's driver reads and programs whole 4 KiB blocks only, so every size is the
            // block size (sflash_diskio_littlefs.c).
            read_size: BLOCK as u32,
            prog_size: BLOCK as u32,
            block_size: BLOCK as u32,
            block_count: layout.blocks as u32,
            // The firmware's 0 ("no block-level wear levelling" in littlefs 2.0) is -1 in
            // later littlefs; not recorded on disk.
            block_cycles: -1,
            cache_size: BLOCK as u32,
            // The firmware's lookahead: 128 bytes for 1024 blocks, 32 for 127. It only orders
            // allocation; nothing on disk depends on it.
            lookahead_size: if layout.blocks > 127 { 128 } else { 32 },
            compact_thresh: 0,
            read_buffer: read.as_mut_ptr().cast(),
            prog_buffer: prog.as_mut_ptr().cast(),
            lookahead_buffer: lookahead.as_mut_ptr().cast(),
            name_max,
            // 0: littlefs's defaults, 2^31-1 and 1022, as the firmware records them.
            file_max: 0,
            attr_max: 0,
            metadata_max: 0,
            inline_max: 0,
            disk_version: DISK_VERSION_2_0,
        });
        Lfs {
            lfs: Box::default(),
            cfg,
            _dev: dev,
            _read: read,
            _prog: prog,
            _lookahead: lookahead,
            file_buf: Box::new([0u8; BLOCK]),
            _area: PhantomData,
        }
    }
}

fn code_err(code: c_int, p: &FsPath) -> FsError {
    let s = p.to_string();
    match code {
        ll::lfs_error_LFS_ERR_NOENT => FsError::NotFound(s),
        ll::lfs_error_LFS_ERR_NOTDIR => FsError::NotADirectory(s),
        ll::lfs_error_LFS_ERR_ISDIR => FsError::IsADirectory(s),
        ll::lfs_error_LFS_ERR_EXIST => FsError::Exists(s),
        ll::lfs_error_LFS_ERR_NOTEMPTY => FsError::NotEmpty(s),
        ll::lfs_error_LFS_ERR_NOSPC => FsError::NoSpace(s),
        ll::lfs_error_LFS_ERR_NAMETOOLONG => FsError::NameTooLong(s),
        c => FsError::Io { kind: FsKind::LittleFs, path: s, detail: describe(c) },
    }
}

fn describe(code: c_int) -> String {
    match code {
        ll::lfs_error_LFS_ERR_CORRUPT => "corrupted".into(),
        ll::lfs_error_LFS_ERR_INVAL => "invalid (a superblock with another geometry or a newer version?)".into(),
        ll::lfs_error_LFS_ERR_IO => "I/O error".into(),
        ll::lfs_error_LFS_ERR_FBIG => "file too large".into(),
        c => format!("littlefs error {c}"),
    }
}

fn check(code: c_int, p: &FsPath) -> Result<c_int, FsError> {
    if code < 0 {
        Err(code_err(code, p))
    } else {
        Ok(code)
    }
}

fn cpath(p: &FsPath) -> Result<CString, FsError> {
    CString::new(p.inner()).map_err(|_| FsError::BadPath { path: p.to_string(), why: "contains a NUL byte".into() })
}

pub(super) fn format(area: &mut [u8], layout: Layout) -> Result<(), FsError> {
    let mut l = Lfs::new(area, layout, NAME_MAX_FORMAT);
    // SAFETY: lfs and cfg are boxed and outlive the call; cfg's buffers and context live in `l`.
    let r = unsafe { ll::lfs_format(&mut *l.lfs, &*l.cfg) };
    if r < 0 {
        return Err(FsError::Io { kind: FsKind::LittleFs, path: "/flash".into(), detail: format!("format: {}", describe(r)) });
    }
    Ok(())
}

pub(super) fn with(
    area: &mut [u8],
    layout: Layout,
    f: &mut dyn FnMut(&mut dyn Volume) -> Result<(), FsError>,
) -> Result<(), FsError> {
    let mut l = Lfs::new(area, layout, NAME_MAX_MOUNT);
    // SAFETY: as in format; the state stays mounted only inside this function.
    let r = unsafe { ll::lfs_mount(&mut *l.lfs, &*l.cfg) };
    if r < 0 {
        return Err(FsError::Unmountable { kind: FsKind::LittleFs, detail: describe(r) });
    }
    let out = f(&mut l);
    // SAFETY: mounted above; no file or directory is left open by the Volume methods.
    let u = unsafe { ll::lfs_unmount(&mut *l.lfs) };
    out.and(check(u, &FsPath::root()).map(|_| ()))
}

impl Lfs<'_> {
    fn stat_raw(&mut self, p: &FsPath) -> Result<Option<Box<Info>>, FsError> {
        let c = cpath(p)?;
        let mut info = Info::new();
        // SAFETY: mounted; info has room for any name littlefs may write.
        let r = unsafe { ll::lfs_stat(&mut *self.lfs, c.as_ptr(), info.raw()) };
        match r {
            ll::lfs_error_LFS_ERR_NOENT => Ok(None),
            r => check(r, p).map(|_| Some(info)),
        }
    }

    fn stamp(&mut self, p: &FsPath) -> Option<Stamp> {
        let c = cpath(p).ok()?;
        let mut b = [0u8; 4];
        // SAFETY: mounted; b holds the 4 bytes asked for.
        let r = unsafe { ll::lfs_getattr(&mut *self.lfs, c.as_ptr(), ATTR_TIMESTAMP, b.as_mut_ptr().cast(), 4) };
        if r < 4 {
            return None;
        }
        Stamp::from_fat(u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]))
    }

    fn with_file<R>(
        &mut self,
        p: &FsPath,
        flags: u32,
        attr: Option<&mut [u8; 4]>,
        f: impl FnOnce(*mut ll::lfs_t, *mut ll::lfs_file_t) -> Result<R, FsError>,
    ) -> Result<R, FsError> {
        let c = cpath(p)?;
        // The firmware commits the timestamp with the file, through the open's attributes.
        let mut attrs = attr.map(|a| ll::lfs_attr { type_: ATTR_TIMESTAMP, buffer: a.as_mut_ptr().cast(), size: 4 });
        let fcfg = ll::lfs_file_config {
            buffer: self.file_buf.as_mut_ptr().cast(),
            attrs: attrs.as_mut().map_or(std::ptr::null_mut(), |a| a as *mut ll::lfs_attr),
            attr_count: attrs.is_some() as u32,
        };
        let mut file: Box<ll::lfs_file_t> = Box::default();
        // SAFETY: mounted; file, fcfg and its buffers stay put until the close below.
        let r = unsafe { ll::lfs_file_opencfg(&mut *self.lfs, &mut *file, c.as_ptr(), flags as c_int, &fcfg) };
        check(r, p)?;
        let out = f(&mut *self.lfs, &mut *file);
        // SAFETY: opened above.
        let cl = unsafe { ll::lfs_file_close(&mut *self.lfs, &mut *file) };
        let out = out?;
        check(cl, p)?;
        Ok(out)
    }
}

impl Volume for Lfs<'_> {
    fn kind(&self) -> FsKind {
        FsKind::LittleFs
    }

    fn stat(&mut self, p: &FsPath) -> Result<Option<Entry>, FsError> {
        let Some(info) = self.stat_raw(p)? else { return Ok(None) };
        let mtime = if p.is_root() { None } else { self.stamp(p) };
        Ok(Some(Entry {
            name: p.name().unwrap_or("flash").to_string(),
            is_dir: info.is_dir(),
            size: if info.is_dir() { 0 } else { info.size as u64 },
            mtime,
        }))
    }

    fn list(&mut self, p: &FsPath) -> Result<Vec<Entry>, FsError> {
        match self.stat_raw(p)? {
            None => return Err(FsError::NotFound(p.to_string())),
            Some(i) if !i.is_dir() => return Err(FsError::NotADirectory(p.to_string())),
            Some(_) => {}
        }
        let c = cpath(p)?;
        let mut dir: Box<ll::lfs_dir_t> = Box::default();
        // SAFETY: mounted; dir stays put until the close below.
        check(unsafe { ll::lfs_dir_open(&mut *self.lfs, &mut *dir, c.as_ptr()) }, p)?;
        let mut out = Vec::new();
        let mut info = Info::new();
        let res = loop {
            // SAFETY: dir is open; info has room for any name.
            let r = unsafe { ll::lfs_dir_read(&mut *self.lfs, &mut *dir, info.raw()) };
            if r <= 0 {
                break check(r, p);
            }
            let name = info.name();
            if name == "." || name == ".." {
                continue;
            }
            out.push(Entry { name, is_dir: info.is_dir(), size: if info.is_dir() { 0 } else { info.size as u64 }, mtime: None });
        };
        // SAFETY: opened above.
        let cl = unsafe { ll::lfs_dir_close(&mut *self.lfs, &mut *dir) };
        res?;
        check(cl, p)?;
        // Attributes are read after the directory is closed.
        for e in &mut out {
            e.mtime = self.stamp(&p.join(&e.name));
        }
        Ok(out)
    }

    fn read(&mut self, p: &FsPath) -> Result<Vec<u8>, FsError> {
        match self.stat_raw(p)? {
            None => return Err(FsError::NotFound(p.to_string())),
            Some(i) if i.is_dir() => return Err(FsError::IsADirectory(p.to_string())),
            Some(_) => {}
        }
        self.with_file(p, ll::lfs_open_flags_LFS_O_RDONLY, None, |lfs, file| {
            // SAFETY: the file is open for the duration of this closure.
            let size = check(unsafe { ll::lfs_file_size(lfs, file) }, p)? as usize;
            let mut buf = vec![0u8; size];
            let mut at = 0;
            while at < size {
                // SAFETY: reads at most the rest of buf.
                let n = check(unsafe { ll::lfs_file_read(lfs, file, buf[at..].as_mut_ptr().cast(), (size - at) as u32) }, p)?;
                if n == 0 {
                    break;
                }
                at += n as usize;
            }
            buf.truncate(at);
            Ok(buf)
        })
    }

    fn write(&mut self, p: &FsPath, data: &[u8], mtime: Stamp) -> Result<(), FsError> {
        let (d, t) = mtime.to_fat();
        let mut ts = [0u8; 4];
        ts[..2].copy_from_slice(&d.to_le_bytes());
        ts[2..].copy_from_slice(&t.to_le_bytes());
        let flags = ll::lfs_open_flags_LFS_O_WRONLY | ll::lfs_open_flags_LFS_O_CREAT | ll::lfs_open_flags_LFS_O_TRUNC;
        self.with_file(p, flags, Some(&mut ts), |lfs, file| {
            let mut at = 0;
            while at < data.len() {
                let chunk = (data.len() - at).min(1 << 20);
                // SAFETY: the file is open; the slice is valid for `chunk` bytes.
                let n = check(unsafe { ll::lfs_file_write(lfs, file, data[at..].as_ptr().cast(), chunk as u32) }, p)?;
                at += n as usize;
            }
            Ok(())
        })
    }

    fn mkdir(&mut self, p: &FsPath, mtime: Stamp) -> Result<(), FsError> {
        let c = cpath(p)?;
        // SAFETY: mounted.
        check(unsafe { ll::lfs_mkdir(&mut *self.lfs, c.as_ptr()) }, p)?;
        // The firmware stamps directories too.
        let (d, t) = mtime.to_fat();
        let mut ts = [0u8; 4];
        ts[..2].copy_from_slice(&d.to_le_bytes());
        ts[2..].copy_from_slice(&t.to_le_bytes());
        // SAFETY: mounted; ts holds 4 bytes.
        check(unsafe { ll::lfs_setattr(&mut *self.lfs, c.as_ptr(), ATTR_TIMESTAMP, ts.as_ptr().cast(), 4) }, p).map(|_| ())
    }

    fn remove(&mut self, p: &FsPath) -> Result<(), FsError> {
        let c = cpath(p)?;
        // SAFETY: mounted.
        check(unsafe { ll::lfs_remove(&mut *self.lfs, c.as_ptr()) }, p).map(|_| ())
    }

    fn usage(&mut self) -> Result<Usage, FsError> {
        // SAFETY: mounted.
        let used = check(unsafe { ll::lfs_fs_size(&mut *self.lfs) }, &FsPath::root())? as u32;
        let total = self.cfg.block_count;
        Ok(Usage { unit: BLOCK as u32, total, used: used.min(total) })
    }
}
