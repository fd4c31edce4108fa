//! FAT through the `fatfs` crate.
//!
//! The firmware formats with FatFs `f_mkfs(FM_SFD|FM_FAT, au = 0)` on 512-byte sectors. Its
//! boot sector, read back from a state the LoPy4 firmware formatted (8192 sectors): FAT12,
//! 4 sectors per cluster, 1 reserved sector, 1 FAT of 7 sectors, 512 root entries, media
//! 0xF8, 63 sectors per track, 255 heads, no hidden sectors, drive 0x80, label "NO NAME",
//! volume id = FatFs `get_fattime()` at format time. On 1016 sectors FatFs's automatic
//! cluster size is 1 sector (its table starts at 4096 sectors for 2), still FAT12.
//!
//! What the crate does not let us match, none of which FatFs reads when mounting: the OEM
//! name ("MSWIN4.1" for "MSDOS5.0"), the boot code (a message where FatFs leaves a jump to
//! itself), the type string ("FAT12" for "FAT"), and the FAT length: the crate sizes the FAT
//! for the clusters that remain (6 sectors on 8 MB) where FatFs sizes it for all sectors (7),
//! so the data area starts a sector earlier; the cluster count is the same (2038).

use super::{Entry, FsError, FsKind, FsPath, Layout, Stamp, Usage, Volume};
use std::io::{Cursor, ErrorKind, Read, Write};

type Disk<'a> = Cursor<&'a mut [u8]>;

fn options(layout: Layout) -> fatfs::FormatVolumeOptions {
    let sectors = layout.sectors();
    let (date, time) = Stamp::now().to_fat();
    fatfs::FormatVolumeOptions::new()
        .bytes_per_sector(512)
        .total_sectors(sectors)
        .fat_type(fatfs::FatType::Fat12)
        .bytes_per_cluster(if sectors >= 4096 { 4 * 512 } else { 512 })
        .fats(1)
        .max_root_dir_entries(512)
        .media(0xF8)
        .sectors_per_track(63)
        .heads(255)
        .drive_num(0x80)
        .volume_id(((date as u32) << 16) | time as u32)
        .volume_label(*b"NO NAME    ")
}

fn io_err(e: std::io::Error, p: &FsPath) -> FsError {
    let s = p.to_string();
    match e.kind() {
        ErrorKind::NotFound => FsError::NotFound(s),
        ErrorKind::AlreadyExists => FsError::Exists(s),
        _ if e.to_string().contains("No space") => FsError::NoSpace(s),
        _ => FsError::Io { kind: FsKind::Fat, path: s, detail: e.to_string() },
    }
}

pub(super) fn format(area: &mut [u8], layout: Layout) -> Result<(), FsError> {
    fatfs::format_volume(Cursor::new(&mut area[..]), options(layout)).map_err(|e| FsError::Io {
        kind: FsKind::Fat,
        path: "/flash".into(),
        detail: format!("format: {e}"),
    })
}

pub(super) fn with(
    area: &mut [u8],
    _layout: Layout,
    f: &mut dyn FnMut(&mut dyn Volume) -> Result<(), FsError>,
) -> Result<(), FsError> {
    let fs = fatfs::FileSystem::new(Cursor::new(area), fatfs::FsOptions::new())
        .map_err(|e| FsError::Unmountable { kind: FsKind::Fat, detail: e.to_string() })?;
    let mut vol = Fat { fs };
    let r = f(&mut vol);
    // Unmounting flushes the FAT and directory entries; do it even after an error so the
    // image stays consistent (the caller decides whether to keep it).
    let u = vol.fs.unmount().map_err(|e| io_err(e, &FsPath::root()));
    r.and(u)
}

struct Fat<'a> {
    fs: fatfs::FileSystem<Disk<'a>>,
}

fn rel(p: &FsPath) -> String {
    p.parts().join("/")
}

fn entry_of(e: &fatfs::DirEntry<'_, Disk<'_>>) -> Entry {
    let m = e.modified();
    let stamp = Stamp {
        year: m.date.year,
        month: m.date.month as u8,
        day: m.date.day as u8,
        hour: m.time.hour as u8,
        min: m.time.min as u8,
        sec: m.time.sec as u8,
    };
    // A zero date word (no time recorded) decodes as 1980-00-00: report none.
    let mtime = if m.date.month == 0 { None } else { Some(stamp) };
    Entry { name: e.file_name(), is_dir: e.is_dir(), size: if e.is_dir() { 0 } else { e.len() }, mtime }
}

impl<'a> Fat<'a> {
    fn dir(&self, p: &FsPath) -> Result<fatfs::Dir<'_, Disk<'a>>, FsError> {
        if p.is_root() {
            return Ok(self.fs.root_dir());
        }
        match self.stat_inner(p)? {
            None => Err(FsError::NotFound(p.to_string())),
            Some(e) if !e.is_dir => Err(FsError::NotADirectory(p.to_string())),
            Some(_) => self.fs.root_dir().open_dir(&rel(p)).map_err(|e| io_err(e, p)),
        }
    }

    fn stat_inner(&self, p: &FsPath) -> Result<Option<Entry>, FsError> {
        let Some(parent) = p.parent() else {
            return Ok(Some(Entry { name: "flash".into(), is_dir: true, size: 0, mtime: None }));
        };
        let dir = match self.dir(&parent) {
            Ok(d) => d,
            Err(FsError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let name = p.name().unwrap_or_default();
        for e in dir.iter() {
            let e = e.map_err(|e| io_err(e, &parent))?;
            // FAT names compare without case, as FatFs does.
            if e.file_name().eq_ignore_ascii_case(name) {
                return Ok(Some(entry_of(&e)));
            }
        }
        Ok(None)
    }
}

impl Volume for Fat<'_> {
    fn kind(&self) -> FsKind {
        FsKind::Fat
    }

    fn stat(&mut self, p: &FsPath) -> Result<Option<Entry>, FsError> {
        self.stat_inner(p)
    }

    fn list(&mut self, p: &FsPath) -> Result<Vec<Entry>, FsError> {
        let dir = self.dir(p)?;
        let mut out = Vec::new();
        for e in dir.iter() {
            let e = e.map_err(|e| io_err(e, p))?;
            let n = e.file_name();
            if n == "." || n == ".." {
                continue;
            }
            out.push(entry_of(&e));
        }
        Ok(out)
    }

    fn read(&mut self, p: &FsPath) -> Result<Vec<u8>, FsError> {
        match self.stat_inner(p)? {
            None => return Err(FsError::NotFound(p.to_string())),
            Some(e) if e.is_dir => return Err(FsError::IsADirectory(p.to_string())),
            Some(_) => {}
        }
        let mut f = self.fs.root_dir().open_file(&rel(p)).map_err(|e| io_err(e, p))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| io_err(e, p))?;
        Ok(buf)
    }

    fn write(&mut self, p: &FsPath, data: &[u8], mtime: Stamp) -> Result<(), FsError> {
        if let Some(parent) = p.parent() {
            self.dir(&parent)?;
        }
        let mut f = self.fs.root_dir().create_file(&rel(p)).map_err(|e| io_err(e, p))?;
        f.truncate().map_err(|e| io_err(e, p))?;
        f.write_all(data).map_err(|e| io_err(e, p))?;
        // The crate's replacement (a TimeProvider) is global; per-file times are what a
        // copy to the board wants, and the setter still works.
        #[allow(deprecated)]
        f.set_modified(fatfs::DateTime {
            date: fatfs::Date { year: mtime.year, month: mtime.month.into(), day: mtime.day.into() },
            time: fatfs::Time { hour: mtime.hour.into(), min: mtime.min.into(), sec: mtime.sec.into(), millis: 0 },
        });
        f.flush().map_err(|e| io_err(e, p))
    }

    fn mkdir(&mut self, p: &FsPath, _mtime: Stamp) -> Result<(), FsError> {
        if self.stat_inner(p)?.is_some() {
            return Err(FsError::Exists(p.to_string()));
        }
        if let Some(parent) = p.parent() {
            self.dir(&parent)?;
        }
        self.fs.root_dir().create_dir(&rel(p)).map(|_| ()).map_err(|e| io_err(e, p))
    }

    fn remove(&mut self, p: &FsPath) -> Result<(), FsError> {
        match self.stat_inner(p)? {
            None => return Err(FsError::NotFound(p.to_string())),
            Some(e) if e.is_dir && !self.list(p)?.is_empty() => return Err(FsError::NotEmpty(p.to_string())),
            Some(_) => {}
        }
        self.fs.root_dir().remove(&rel(p)).map_err(|e| io_err(e, p))
    }

    fn usage(&mut self) -> Result<Usage, FsError> {
        let s = self.fs.stats().map_err(|e| io_err(e, &FsPath::root()))?;
        Ok(Usage { unit: s.cluster_size(), total: s.total_clusters(), used: s.total_clusters() - s.free_clusters() })
    }
}
