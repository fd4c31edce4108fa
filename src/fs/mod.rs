//! The board's `/flash` file system inside a flash image, read and written from the host
//! while the board is off.
//!
//! Facts from pycom-firmware.md §6.3/§6.5 (and Pycom's `sflash_diskio_littlefs.c`):
//! - Where: 0x400000 to the end of flash on 8 MB layouts (1024 blocks of 4 KiB, or 8192
//!   FAT sectors of 512 bytes); 0x380000 on 4 MB layouts (127 blocks, or 1016 sectors).
//! - Which: the config block's `boot_fs_type` (byte 533 at 0x3FF000): 0 is FAT, 1 or erased
//!   (0xFF) is LittleFS. The other kind on flash fails to mount and the firmware reformats.
//! - LittleFS: disk version 2.0, block/read/prog/cache size 4096, lookahead 128 bytes
//!   (1024 blocks) or 32 (127 blocks), no block-level wear levelling, default name/file/attr
//!   limits (255 / 2^31-1 / 1022, as the firmware's superblock records). Timestamps are a
//!   user attribute (type 1: FAT date and time, little-endian u16s).
//! - FAT: `f_mkfs(FM_SFD|FM_FAT)` on 512-byte sectors; the geometry of the firmware's own
//!   boot sector (read from a state it formatted) is reproduced in [`fat`].
//! - After mounting, the firmware creates `main.py`, `boot.py`, `/sys`, `/lib` and `/cert`
//!   when missing; [`format`] does the same so a formatted state looks like a booted one.
//!
//! All access goes through [`with_volume`]: the image is only changed through the two
//! crates' file system code, and callers decide where the bytes go (the CLI writes a copy
//! atomically).

mod fat;
mod littlefs;

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use images::config_block::CONFIG_OFFSET;

/// Config block byte: `boot_fs_type`.
const BOOT_FS_TYPE: usize = 533;

/// The firmware's default files (pycom-firmware.md §6.5; bytes as found on a state the
/// firmware formatted).
pub const DEFAULT_MAIN_PY: &[u8] = b"# main.py -- put your code here!\r\n";
pub const DEFAULT_BOOT_PY: &[u8] = b"# boot.py -- run on boot-up\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    LittleFs,
    Fat,
}

impl fmt::Display for FsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsKind::LittleFs => "LittleFS",
            FsKind::Fat => "FAT",
        })
    }
}

impl FsKind {
    pub fn parse(s: &str) -> Option<FsKind> {
        match s.to_ascii_lowercase().as_str() {
            "littlefs" | "lfs" => Some(FsKind::LittleFs),
            "fat" => Some(FsKind::Fat),
            _ => None,
        }
    }
    fn config_byte(self) -> u8 {
        match self {
            FsKind::Fat => 0,
            FsKind::LittleFs => 1,
        }
    }
}

/// What the first blocks of the /flash area hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFlash {
    Erased,
    LittleFs,
    Fat,
    Unknown,
}

impl fmt::Display for OnFlash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnFlash::Erased => "nothing (erased)",
            OnFlash::LittleFs => "a LittleFS file system",
            OnFlash::Fat => "a FAT file system",
            OnFlash::Unknown => "data that is neither LittleFS nor FAT",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{0}: not a directory")]
    NotADirectory(String),
    #[error("{0}: is a directory")]
    IsADirectory(String),
    #[error("{0}: already exists")]
    Exists(String),
    #[error("{0}: directory not empty (rm -r removes it with its contents)")]
    NotEmpty(String),
    #[error("{0}: no space left on /flash")]
    NoSpace(String),
    #[error("{0}: name too long")]
    NameTooLong(String),
    #[error("{path}: {why}")]
    BadPath { path: String, why: String },
    #[error("flash is {0:#x} bytes: not a Pycom flash layout (4 MB or 8 MB)")]
    BadFlashSize(usize),
    #[error("no file system on /flash yet (the area is erased): the firmware creates {0} on its first boot; run the board once, or `pyemu fs format`")]
    NoFilesystem(FsKind),
    #[error("the config block says {configured} (boot_fs_type) but /flash holds {found}: the firmware would reformat it at boot, losing its files; `pyemu fs format --fs {}` makes the two agree", configured.to_string().to_lowercase())]
    WrongKind { configured: FsKind, found: OnFlash },
    #[error("/flash holds {found}, not the {configured} the config block selects; the firmware would reformat it at boot; `pyemu fs format` does that now")]
    Unrecognized { configured: FsKind, found: OnFlash },
    #[error("/flash: {kind} does not mount ({detail}); the firmware would reformat it at boot; `pyemu fs format` does that now")]
    Unmountable { kind: FsKind, detail: String },
    #[error("{path}: {kind} error: {detail}")]
    Io { kind: FsKind, path: String, detail: String },
}

/// Where /flash lies in a flash image of `flash_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub offset: usize,
    /// LittleFS blocks of 4096 bytes.
    pub blocks: usize,
}

impl Layout {
    /// The firmware keys on the chip revision, which goes with the flash size on Pycom
    /// boards (revision > 0: 8 MB and the FS at 0x400000; pycom-firmware.md §1).
    pub fn for_flash(flash_size: usize) -> Result<Layout, FsError> {
        match flash_size {
            0x80_0000 => Ok(Layout { offset: 0x40_0000, blocks: 1024 }),
            0x40_0000 => Ok(Layout { offset: 0x38_0000, blocks: 127 }),
            n => Err(FsError::BadFlashSize(n)),
        }
    }
    pub fn len(&self) -> usize {
        self.blocks * BLOCK
    }
    pub fn is_empty(&self) -> bool {
        self.blocks == 0
    }
    /// FAT: 512-byte sectors over the same area (8192 or 1016).
    pub fn sectors(&self) -> u32 {
        (self.len() / 512) as u32
    }
}

const BLOCK: usize = 4096;

/// The file system the config block selects (byte 533: 0 FAT, anything else LittleFS, as
/// `config_get_boot_fs_type()` treats 0xFF).
pub fn configured_kind(flash: &[u8]) -> FsKind {
    match flash.get(CONFIG_OFFSET as usize + BOOT_FS_TYPE) {
        Some(0) => FsKind::Fat,
        _ => FsKind::LittleFs,
    }
}

/// Sets `boot_fs_type` in the config block (the block has no checksum).
pub fn set_configured_kind(flash: &mut [u8], kind: FsKind) {
    flash[CONFIG_OFFSET as usize + BOOT_FS_TYPE] = kind.config_byte();
}

/// What is in the /flash area, from its first two blocks.
pub fn detect(flash: &[u8], layout: Layout) -> OnFlash {
    let area = &flash[layout.offset..layout.offset + layout.len()];
    let head = &area[..2 * BLOCK];
    if head.iter().all(|&b| b == 0xFF) {
        return OnFlash::Erased;
    }
    // A LittleFS superblock names itself at offset 8 of either block of the pair 0/1.
    if (0..2).any(|b| &area[b * BLOCK + 8..b * BLOCK + 16] == b"littlefs") {
        return OnFlash::LittleFs;
    }
    // FAT boot sector: x86 jump, 512 bytes per sector, 0x55AA signature.
    if matches!(area[0], 0xEB | 0xE9) && area[11..13] == [0, 2] && area[510..512] == [0x55, 0xAA] {
        return OnFlash::Fat;
    }
    OnFlash::Unknown
}

/// A path on the board's /flash, already normalised (no `.`/`..`, no empty parts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsPath(Vec<String>);

impl FsPath {
    pub fn root() -> FsPath {
        FsPath(Vec::new())
    }

    /// A path as the board or mpremote spells it: `/flash/main.py`, `main.py` (relative to
    /// /flash, the board's working directory), `:/flash/main.py`, `:main.py`.
    pub fn parse(s: &str) -> Result<FsPath, FsError> {
        let bad = |why: &str| FsError::BadPath { path: s.to_string(), why: why.to_string() };
        let t = s.strip_prefix(':').unwrap_or(s);
        let rel = if let Some(rest) = t.strip_prefix('/') {
            let mut parts = rest.splitn(2, '/');
            match parts.next() {
                Some("flash") => parts.next().unwrap_or(""),
                Some("") => return Err(bad("the board's / only holds mount points; its files are under /flash")),
                Some("sd") => return Err(bad("/sd is the SD card, not in the flash state; files here are under /flash")),
                _ => return Err(bad("not on the board's /flash (paths are /flash/…, or relative to /flash)")),
            }
        } else {
            t
        };
        let mut out = Vec::new();
        for part in rel.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if out.pop().is_none() {
                        return Err(bad("goes above /flash"));
                    }
                }
                p => {
                    if p.contains('\0') {
                        return Err(bad("contains a NUL byte"));
                    }
                    if p.len() > 255 {
                        return Err(FsError::NameTooLong(s.to_string()));
                    }
                    out.push(p.to_string());
                }
            }
        }
        Ok(FsPath(out))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    pub fn parts(&self) -> &[String] {
        &self.0
    }
    pub fn name(&self) -> Option<&str> {
        self.0.last().map(String::as_str)
    }
    pub fn parent(&self) -> Option<FsPath> {
        if self.0.is_empty() {
            None
        } else {
            Some(FsPath(self.0[..self.0.len() - 1].to_vec()))
        }
    }
    pub fn join(&self, name: &str) -> FsPath {
        let mut v = self.0.clone();
        v.push(name.to_string());
        FsPath(v)
    }
    /// Inside the volume: `/a/b` (LittleFS) — FAT takes it without the leading slash.
    fn inner(&self) -> String {
        format!("/{}", self.0.join("/"))
    }
}

impl fmt::Display for FsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("/flash")
        } else {
            write!(f, "/flash/{}", self.0.join("/"))
        }
    }
}

/// A calendar time as FAT stores it (2-second resolution, local time, 1980–2107).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub min: u8,
    pub sec: u8,
}

impl Stamp {
    pub fn from_system(t: SystemTime) -> Stamp {
        use chrono::{Datelike, Timelike};
        let d: chrono::DateTime<chrono::Local> = t.into();
        let year = d.year().clamp(1980, 2107) as u16;
        Stamp {
            year,
            month: d.month() as u8,
            day: d.day() as u8,
            hour: d.hour() as u8,
            min: d.minute() as u8,
            sec: d.second() as u8,
        }
    }
    pub fn now() -> Stamp {
        Stamp::from_system(SystemTime::now())
    }
    /// FAT (date, time) words.
    pub fn to_fat(self) -> (u16, u16) {
        let date = ((self.year - 1980) << 9) | ((self.month as u16) << 5) | self.day as u16;
        let time = ((self.hour as u16) << 11) | ((self.min as u16) << 5) | (self.sec as u16 / 2);
        (date, time)
    }
    /// None for a zero date (no time recorded).
    pub fn from_fat(date: u16, time: u16) -> Option<Stamp> {
        if date == 0 {
            return None;
        }
        Some(Stamp {
            year: 1980 + (date >> 9),
            month: ((date >> 5) & 15) as u8,
            day: (date & 31) as u8,
            hour: (time >> 11) as u8,
            min: ((time >> 5) & 63) as u8,
            sec: ((time & 31) * 2) as u8,
        })
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02} {:02}:{:02}:{:02}", self.year, self.month, self.day, self.hour, self.min, self.sec)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime: Option<Stamp>,
}

/// Space on the volume, in its allocation units (LittleFS blocks, FAT clusters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub unit: u32,
    pub total: u32,
    pub used: u32,
}

/// Operations on a mounted volume. Paths are checked by [`FsPath::parse`].
pub trait Volume {
    fn kind(&self) -> FsKind;
    /// None when nothing is at `p`.
    fn stat(&mut self, p: &FsPath) -> Result<Option<Entry>, FsError>;
    /// The entries of directory `p`, without `.` and `..`, in on-disk order.
    fn list(&mut self, p: &FsPath) -> Result<Vec<Entry>, FsError>;
    fn read(&mut self, p: &FsPath) -> Result<Vec<u8>, FsError>;
    /// Creates or replaces file `p` (its directory must exist).
    fn write(&mut self, p: &FsPath, data: &[u8], mtime: Stamp) -> Result<(), FsError>;
    fn mkdir(&mut self, p: &FsPath, mtime: Stamp) -> Result<(), FsError>;
    /// Removes a file or an empty directory.
    fn remove(&mut self, p: &FsPath) -> Result<(), FsError>;
    fn usage(&mut self) -> Result<Usage, FsError>;
}

/// Helpers built on the primitive operations, the same for both file systems.
impl dyn Volume + '_ {
    /// `mkdir -p`: creates `p` and its missing parents; an existing directory is fine.
    pub fn mkdir_all(&mut self, p: &FsPath, mtime: Stamp) -> Result<Vec<FsPath>, FsError> {
        let mut made = Vec::new();
        let mut cur = FsPath::root();
        for part in p.parts() {
            cur = cur.join(part);
            match self.stat(&cur)? {
                Some(e) if e.is_dir => {}
                Some(_) => return Err(FsError::NotADirectory(cur.to_string())),
                None => {
                    self.mkdir(&cur, mtime)?;
                    made.push(cur.clone());
                }
            }
        }
        Ok(made)
    }

    /// `rm -r`: removes `p` and everything below it; returns how many entries went.
    pub fn remove_all(&mut self, p: &FsPath) -> Result<usize, FsError> {
        let e = self.stat(p)?.ok_or_else(|| FsError::NotFound(p.to_string()))?;
        let mut n = 0;
        if e.is_dir {
            for c in self.list(p)? {
                n += self.remove_all(&p.join(&c.name))?;
            }
        }
        if !p.is_root() {
            self.remove(p)?;
            n += 1;
        }
        Ok(n)
    }

    /// Where a put of `local_name` to `dest` lands: inside `dest` when it is a directory
    /// (or spelt with a trailing slash), else `dest` itself.
    pub fn put_target(&mut self, dest: &FsPath, dest_is_dir_hint: bool, local_name: &str) -> Result<FsPath, FsError> {
        match self.stat(dest)? {
            Some(e) if e.is_dir => Ok(dest.join(local_name)),
            _ if dest_is_dir_hint => Ok(dest.join(local_name)),
            _ => Ok(dest.clone()),
        }
    }

    /// Writes a file, creating missing parent directories; returns the directories made.
    pub fn write_creating_dirs(&mut self, p: &FsPath, data: &[u8], mtime: Stamp) -> Result<Vec<FsPath>, FsError> {
        if p.is_root() {
            return Err(FsError::IsADirectory(p.to_string()));
        }
        let made = match p.parent() {
            Some(parent) => self.mkdir_all(&parent, mtime)?,
            None => Vec::new(),
        };
        if let Some(e) = self.stat(p)? {
            if e.is_dir {
                return Err(FsError::IsADirectory(p.to_string()));
            }
        }
        self.write(p, data, mtime)?;
        Ok(made)
    }

    /// What the firmware creates after mounting when missing, in its order (LittleFS:
    /// main.py, boot.py, sys, lib, cert; FAT: main.py, sys, lib, cert, boot.py).
    pub fn create_defaults(&mut self, mtime: Stamp) -> Result<(), FsError> {
        let main = FsPath::root().join("main.py");
        let boot = FsPath::root().join("boot.py");
        let dirs = ["sys", "lib", "cert"].map(|d| FsPath::root().join(d));
        if self.stat(&main)?.is_none() {
            self.write(&main, DEFAULT_MAIN_PY, mtime)?;
        }
        if self.kind() == FsKind::LittleFs && self.stat(&boot)?.is_none() {
            self.write(&boot, DEFAULT_BOOT_PY, mtime)?;
        }
        for d in &dirs {
            if self.stat(d)?.is_none() {
                self.mkdir(d, mtime)?;
            }
        }
        if self.kind() == FsKind::Fat && self.stat(&boot)?.is_none() {
            self.write(&boot, DEFAULT_BOOT_PY, mtime)?;
        }
        Ok(())
    }
}

/// How [`with_volume`] treats a /flash area without the configured file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Report [`FsError::NoFilesystem`] (readers).
    Fail,
    /// Format it as the firmware does at first boot (writers); only an erased area.
    Create,
}

/// Formats /flash as `kind` exactly as the firmware does (`lfs_format` / `f_mkfs`), then
/// creates the firmware's default files. Leaves the config block alone.
pub fn format(flash: &mut [u8], kind: FsKind) -> Result<(), FsError> {
    let layout = Layout::for_flash(flash.len())?;
    let area = &mut flash[layout.offset..layout.offset + layout.len()];
    match kind {
        FsKind::LittleFs => littlefs::format(area, layout)?,
        FsKind::Fat => fat::format(area, layout)?,
    }
    run_on(area, layout, kind, &mut |v| v.create_defaults(Stamp::now()))
}

/// Mounts the configured file system of `flash` (a whole flash image) and runs `f` on it.
/// Returns `f`'s result and whether the file system was created first.
pub fn with_volume<R>(
    flash: &mut [u8],
    missing: Missing,
    f: impl FnOnce(&mut dyn Volume) -> Result<R, FsError>,
) -> Result<(R, bool), FsError> {
    let layout = Layout::for_flash(flash.len())?;
    let kind = configured_kind(flash);
    let found = detect(flash, layout);
    let mut created = false;
    match (kind, found) {
        (_, OnFlash::Erased) => {
            if missing == Missing::Fail {
                return Err(FsError::NoFilesystem(kind));
            }
            format(flash, kind)?;
            created = true;
        }
        (FsKind::LittleFs, OnFlash::LittleFs) | (FsKind::Fat, OnFlash::Fat) => {}
        (_, OnFlash::LittleFs | OnFlash::Fat) => return Err(FsError::WrongKind { configured: kind, found }),
        (_, OnFlash::Unknown) => return Err(FsError::Unrecognized { configured: kind, found }),
    }
    let area = &mut flash[layout.offset..layout.offset + layout.len()];
    let mut f = Some(f);
    let mut out = None;
    run_on(area, layout, kind, &mut |v| {
        out = Some((f.take().expect("called once"))(v)?);
        Ok(())
    })?;
    Ok((out.expect("ran"), created))
}

fn run_on(
    area: &mut [u8],
    layout: Layout,
    kind: FsKind,
    f: &mut dyn FnMut(&mut dyn Volume) -> Result<(), FsError>,
) -> Result<(), FsError> {
    match kind {
        FsKind::LittleFs => littlefs::with(area, layout, f),
        FsKind::Fat => fat::with(area, layout, f),
    }
}

/// Puts host files on the board's /flash before power-on, creating the file system as the
/// firmware would when it is absent (so the firmware mounts it and keeps the files).
/// `files` are (host path, board path); a board path naming a directory, or ending in `/`,
/// receives the file under its own name. Returns notes for the user.
pub fn put_files(flash: &mut [u8], flash_size: u32, files: &[(PathBuf, String)]) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    if flash.len() != flash_size as usize {
        anyhow::bail!("flash image is {:#x} bytes, expected {flash_size:#x}", flash.len());
    }
    let mut loaded = Vec::new();
    for (host, board) in files {
        let data = std::fs::read(host).with_context(|| format!("reading {}", host.display()))?;
        let mtime = std::fs::metadata(host).and_then(|m| m.modified()).map(Stamp::from_system).unwrap_or_else(|_| Stamp::now());
        let dest = FsPath::parse(board)?;
        let name = host.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        loaded.push((dest, board.ends_with('/'), name, data, mtime));
    }
    let kind = configured_kind(flash);
    // On a copy, so an error half-way (no space, a bad path) leaves `flash` as it was.
    let mut work = flash.to_vec();
    let (mut notes, created) = with_volume(&mut work, Missing::Create, |v| {
        let mut notes = Vec::new();
        for (dest, dir_hint, name, data, mtime) in &loaded {
            let target = v.put_target(dest, *dir_hint, name)?;
            for d in v.write_creating_dirs(&target, data, *mtime)? {
                notes.push(format!("created directory {d}"));
            }
            notes.push(format!("put {target} ({} bytes)", data.len()));
        }
        Ok(notes)
    })?;
    flash.copy_from_slice(&work);
    if created {
        notes.insert(0, format!("/flash had no file system: formatted {kind} as the firmware does on first boot"));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(size: usize) -> Vec<u8> {
        vec![0xFF; size]
    }

    #[test]
    fn paths_as_the_board_spells_them() {
        for s in ["/flash/main.py", "main.py", ":/flash/main.py", ":main.py", "./main.py", "/flash/lib/../main.py"] {
            assert_eq!(FsPath::parse(s).unwrap().to_string(), "/flash/main.py", "{s}");
        }
        for s in ["/flash", "/flash/", "", ":", ".", ":/flash"] {
            assert!(FsPath::parse(s).unwrap().is_root(), "{s}");
        }
        for s in ["/", "/sd/x", "/lib/x.py", "..", "/flash/../x"] {
            assert!(FsPath::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn stamps_round_trip_through_fat_words() {
        let s = Stamp { year: 2024, month: 2, day: 29, hour: 23, min: 59, sec: 58 };
        let (d, t) = s.to_fat();
        assert_eq!(Stamp::from_fat(d, t), Some(s));
        assert_eq!(Stamp::from_fat(0, 0), None);
    }

    fn round_trip(size: usize, kind: FsKind) {
        let mut flash = blank(size);
        set_configured_kind(&mut flash, kind);
        let layout = Layout::for_flash(size).unwrap();
        assert!(matches!(with_volume(&mut flash, Missing::Fail, |_| Ok(())), Err(FsError::NoFilesystem(_))));
        let stamp = Stamp { year: 2023, month: 8, day: 21, hour: 12, min: 30, sec: 10 };
        let big: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (_, created) = with_volume(&mut flash, Missing::Create, |v| {
            v.write_creating_dirs(&FsPath::parse("lib/pkg/big.bin").unwrap(), &big, stamp)?;
            v.write(&FsPath::parse("main.py").unwrap(), b"print(1)\n", stamp)?;
            Ok(())
        })
        .unwrap();
        assert!(created);
        assert_eq!(detect(&flash, layout), if kind == FsKind::Fat { OnFlash::Fat } else { OnFlash::LittleFs });
        let (names, _) = with_volume(&mut flash, Missing::Fail, |v| {
            assert_eq!(v.read(&FsPath::parse("/flash/lib/pkg/big.bin").unwrap())?, big);
            assert_eq!(v.read(&FsPath::parse("main.py").unwrap())?, b"print(1)\n");
            let e = v.stat(&FsPath::parse("main.py").unwrap())?.unwrap();
            assert_eq!((e.size, e.mtime), (9, Some(stamp)));
            assert!(matches!(v.remove(&FsPath::parse("lib").unwrap()), Err(FsError::NotEmpty(_))));
            assert!(matches!(v.read(&FsPath::parse("nope").unwrap()), Err(FsError::NotFound(_))));
            assert!(matches!(v.read(&FsPath::parse("lib").unwrap()), Err(FsError::IsADirectory(_))));
            assert_eq!(v.remove_all(&FsPath::parse("lib/pkg").unwrap())?, 2);
            let u = v.usage()?;
            assert!(u.used > 0 && u.used < u.total, "{u:?}");
            Ok(v.list(&FsPath::root())?.into_iter().map(|e| e.name).collect::<Vec<_>>())
        })
        .unwrap();
        let want = if kind == FsKind::Fat { ["main.py", "sys", "lib", "cert", "boot.py"] } else { ["boot.py", "cert", "lib", "main.py", "sys"] };
        assert_eq!(names, want);
    }

    #[test]
    fn littlefs_8mb_and_4mb() {
        round_trip(0x80_0000, FsKind::LittleFs);
        round_trip(0x40_0000, FsKind::LittleFs);
    }

    #[test]
    fn fat_8mb_and_4mb() {
        round_trip(0x80_0000, FsKind::Fat);
        round_trip(0x40_0000, FsKind::Fat);
    }

    #[test]
    fn littlefs_superblock_says_disk_version_2_0() {
        let mut flash = blank(0x80_0000);
        format(&mut flash, FsKind::LittleFs).unwrap();
        let sb = &flash[0x40_0000..0x40_2000];
        // Either block of the pair may hold the newest copy; both carry the inline struct
        // right after the name: version, block_size, block_count, name_max, file_max, attr_max.
        let at = (0..2).map(|b| b * 4096 + 20).find(|&o| sb[o - 12..o - 4] == *b"littlefs").unwrap();
        let words: Vec<u32> = (0..6).map(|i| u32::from_le_bytes(sb[at + 4 * i..at + 4 * i + 4].try_into().unwrap())).collect();
        assert_eq!(words, [0x0002_0000, 4096, 1024, 255, 0x7FFF_FFFF, 1022]);
    }

    #[test]
    fn put_files_creates_the_fs_and_changes_nothing_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("main.py");
        std::fs::write(&host, b"print(2)\n").unwrap();
        let mut flash = blank(0x80_0000);
        let notes = put_files(&mut flash, 0x80_0000, &[(host.clone(), "/flash/".into())]).unwrap();
        assert_eq!(notes[0], "/flash had no file system: formatted LittleFS as the firmware does on first boot");
        assert_eq!(notes[1], "put /flash/main.py (9 bytes)");
        let before = flash.clone();
        // The second file's directory is a file: nothing of the first may land.
        let files = [(host.clone(), "/flash/lib/x.py".to_string()), (host, "/flash/main.py/y.py".to_string())];
        assert!(put_files(&mut flash, 0x80_0000, &files).is_err());
        assert!(flash == before);
    }

    #[test]
    fn wrong_kind_is_reported_not_reformatted() {
        let mut flash = blank(0x80_0000);
        format(&mut flash, FsKind::Fat).unwrap();
        let before = flash.clone();
        let e = with_volume(&mut flash, Missing::Create, |_| Ok(())).unwrap_err();
        assert!(matches!(e, FsError::WrongKind { configured: FsKind::LittleFs, found: OnFlash::Fat }), "{e}");
        assert!(flash == before);
    }
}
