//! The flash state file: the user's data between runs (their files, NVS, OTA slots).
//!
//! Beside `STATE` lives `STATE.meta`, a small JSON record of what the state was made from
//! (firmware file and its SHA-256, board, `--config`, `--boot-info`, pyemu version). It is
//! also the lock: a run holds an exclusive `flock` on it from before the state is created
//! until the run ends, so a second run on the same state gets a clear "in use" error
//! instead of a torn flash.
//!
//! The state itself is raw flash bytes (what `esptool read-flash` would give), so other
//! tools can read it. It is created atomically: built in memory, written to
//! `STATE.tmp.PID`, synced, renamed. A kill at any instant leaves either no state (the
//! next run creates it) or a whole one.

use anyhow::{bail, Context};
use images::board::Board;
use images::config_block::{CONFIG_OFFSET, CONFIG_SECTOR};
use images::partition::PartitionTable;
use peripherals::flash::Flash;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// What a state was made from, as recorded in `STATE.meta`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Origin {
    pub pyemu: String,
    pub firmware: String,
    pub firmware_sha256: String,
    pub board: String,
    pub config: Option<String>,
    pub boot_info: Option<String>,
}

/// Changes made to a flash image before power-on; returns notes for the user.
pub type Prepare<'a> = &'a dyn Fn(&mut [u8]) -> anyhow::Result<Vec<String>>;

/// What the user asked for on this run.
pub struct Request<'a> {
    pub firmware: &'a Path,
    pub board: &'a Board,
    pub config: Option<&'a str>,
    pub boot_info: Option<&'a str>,
    /// Rebuild from FIRMWARE, keeping the config block (unless `config` is given), NVS
    /// and the file system.
    pub reflash: bool,
    /// Changes to make to the flash before power-on (e.g. files put on /flash); returns
    /// notes. Applied to the image before it is written, atomically, like creation.
    pub prepare: Option<Prepare<'a>>,
}

/// An open flash state: the chip backed by the file, and the lock held for the run.
pub struct OpenState {
    pub flash: Flash,
    /// Dropping it releases the lock (the kernel also does when the process dies).
    pub lock: File,
    /// Lines to show the user: what was created, kept or ignored.
    pub notes: Vec<String>,
    pub created: bool,
}

pub fn meta_path(state: &Path) -> PathBuf {
    let mut s = state.as_os_str().to_owned();
    s.push(".meta");
    PathBuf::from(s)
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pid holding an flock on `file`, read from /proc/locks (Linux); None elsewhere.
fn lock_holder(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let md = file.metadata().ok()?;
    let ino = md.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    for line in locks.lines() {
        // "1: FLOCK  ADVISORY  WRITE 12345 fd:01:123456 0 EOF"
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[1] != "FLOCK" || f.contains(&"->") {
            continue;
        }
        let inode = f[5].rsplit(':').next().and_then(|i| i.parse::<u64>().ok());
        if inode == Some(ino) {
            return f[4].parse().ok();
        }
    }
    None
}

/// Opens (creating if needed) `STATE.meta` and takes the exclusive lock, without waiting.
pub fn lock(state: &Path) -> anyhow::Result<File> {
    let mp = meta_path(state);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&mp)
        .with_context(|| format!("{}: cannot open the flash state's lock/record file {}", state.display(), mp.display()))?;
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            match lock_holder(&f) {
                Some(pid) => bail!("{}: flash state in use by pid {pid} (another pyemu run); one run at a time per state", state.display()),
                None => bail!("{}: flash state in use by another process; one run at a time per state", state.display()),
            }
        }
        return Err(e).with_context(|| format!("locking {}", mp.display()));
    }
    Ok(f)
}

fn read_origin(lock: &mut File) -> Option<Origin> {
    let mut s = String::new();
    lock.rewind().ok()?;
    lock.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

/// Rewrites the record in place (it is the lock file, so it is never replaced). A kill
/// mid-write leaves an unreadable record, which the next run reports as unknown origin.
fn write_origin(lock: &mut File, o: &Origin) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(o)? + "\n";
    lock.set_len(0)?;
    lock.rewind()?;
    lock.write_all(text.as_bytes())?;
    lock.sync_data()?;
    Ok(())
}

/// A flash state for a run restored from a snapshot, whose flash the snapshot carries: a
/// missing state is created from it; an existing one is used only if it holds exactly the
/// snapshot's bytes (the user's data is never overwritten by a snapshot).
pub fn open_for_snapshot(path: &Path, flash: Flash, origin: Origin, snapshot: &Path) -> anyhow::Result<OpenState> {
    let mut lock = lock(path)?;
    let existing = match std::fs::metadata(path) {
        Ok(md) if md.is_dir() => bail!("{}: is a directory, not a flash state file", path.display()),
        Ok(md) => md.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    let mut notes = Vec::new();
    let created = existing == 0;
    if created {
        remove_stale_temps(path);
        write_origin(&mut lock, &origin).with_context(|| format!("writing {}", meta_path(path).display()))?;
        write_atomic(path, flash.data())?;
        notes.push(format!("{}: created from snapshot {}", path.display(), snapshot.display()));
    } else {
        let old = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if old != flash.data() {
            bail!(
                "{}: this flash state holds other data than snapshot {} was taken with; a snapshot carries its own flash, \
                 so give a new --flash-state path (created from the snapshot) or none (the flash then lives in memory)",
                path.display(),
                snapshot.display()
            );
        }
        notes.push(format!("{}: holds the snapshot's flash, reused", path.display()));
    }
    let flash = flash.into_file(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(OpenState { flash, lock, notes, created })
}

/// Writes `data` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    // A device or pipe (/dev/stdout, /dev/full) cannot be replaced by a rename: write it.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut f = OpenOptions::new().write(true).open(path).with_context(|| format!("opening {}", path.display()))?;
        return f.write_all(data).and_then(|_| f.flush()).with_context(|| format!("writing {}", path.display()));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| format!("{}: not a file path", path.display()))?;
    let mut tmp_name = name.to_owned();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let res = (|| -> anyhow::Result<()> {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(data).with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Removes `STATE.tmp.*` files that a killed run left behind (we hold the lock).
fn remove_stale_temps(state: &Path) {
    let dir = state.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = state.file_name().map(|n| n.to_string_lossy().to_string()) else { return };
    let prefix = format!("{name}.tmp.");
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// What a reflash keeps: data partitions (NVS, file systems) at the same place in both
/// tables and Pycom's /flash area, as (offset, size, name).
fn kept_regions(old: &[u8], new: &[u8]) -> Vec<(u32, u32, String)> {
    let (Ok(a), Ok(b)) = (PartitionTable::parse(&old[0x8000..0x8C00]), PartitionTable::parse(&new[0x8000..0x8C00])) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Pycom's /flash lies outside the partition table: 0x400000 to the end on 8 MB
    // layouts, 0x380000 (127 blocks) on 4 MB ones (pycom-firmware.md §6.5).
    let fs = if new.len() >= 0x80_0000 { (0x40_0000, new.len() as u32 - 0x40_0000) } else { (0x38_0000, 127 * 4096) };
    if old.len() == new.len() {
        out.push((fs.0, fs.1, "/flash file system".to_string()));
    }
    for p in &b.partitions {
        // data/nvs (0x02), data/fat (0x81), data/spiffs (0x82): the user's data. otadata
        // and phy_init belong to the firmware and are rebuilt.
        if p.ptype != 0x01 || !matches!(p.subtype, 0x02 | 0x81 | 0x82) {
            continue;
        }
        if a.partitions.iter().any(|q| q.ptype == p.ptype && q.subtype == p.subtype && q.offset == p.offset && q.size == p.size) {
            out.push((p.offset, p.size, p.label.clone()));
        }
    }
    out
}

/// Opens the state at `path`, creating it with `build` if it is missing (or empty, or
/// `req.reflash`). `build` is only called when needed; its errors leave nothing behind.
pub fn open(path: &Path, req: &Request, build: impl FnOnce() -> anyhow::Result<Vec<u8>>) -> anyhow::Result<OpenState> {
    if !req.firmware.is_file() {
        bail!("{}: no such firmware file", req.firmware.display());
    }
    let fw_bytes = std::fs::read(req.firmware).with_context(|| format!("reading {}", req.firmware.display()))?;
    let want = Origin {
        pyemu: env!("CARGO_PKG_VERSION").into(),
        firmware: req.firmware.canonicalize().unwrap_or_else(|_| req.firmware.to_path_buf()).display().to_string(),
        firmware_sha256: sha256_hex(&fw_bytes),
        board: req.board.id.into(),
        config: req.config.map(str::to_string),
        boot_info: req.boot_info.map(str::to_string),
    };
    drop(fw_bytes);
    let mut lock = lock(path)?;
    let size = req.board.flash_size;
    let mut notes = Vec::new();
    let existing = match std::fs::metadata(path) {
        Ok(md) if md.is_dir() => bail!("{}: is a directory, not a flash state file", path.display()),
        Ok(md) => md.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    let created;
    if existing == 0 || req.reflash {
        remove_stale_temps(path);
        let mut data = build()?;
        if data.len() != size as usize {
            bail!("internal: built flash image is {:#x} bytes, the {} has {size:#x}", data.len(), req.board.id);
        }
        let mut origin = want.clone();
        if existing != 0 {
            // --reflash: keep the user's data from the old state.
            if existing != size as u64 {
                bail!("{}: flash state is {existing:#x} bytes but the {} has {size:#x} bytes of flash; cannot keep its data (remove it to start afresh)", path.display(), req.board.id);
            }
            let old = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let old_origin = read_origin(&mut lock);
            if req.config.is_none() {
                let c = CONFIG_OFFSET as usize..CONFIG_OFFSET as usize + CONFIG_SECTOR;
                data[c.clone()].copy_from_slice(&old[c]);
                origin.config = old_origin.as_ref().and_then(|o| o.config.clone());
                notes.push("--reflash: kept the config block (give --config to replace it)".into());
            } else {
                notes.push("--reflash: config block rebuilt from --config".into());
            }
            for (off, len, label) in kept_regions(&old, &data) {
                let r = off as usize..(off + len) as usize;
                data[r.clone()].copy_from_slice(&old[r]);
                notes.push(format!("--reflash: kept partition {label} at {off:#x} ({} KiB)", len / 1024));
            }
            notes.push(format!("{}: rewritten from {}", path.display(), req.firmware.display()));
        } else {
            notes.push(format!("{}: created from {} for the {}", path.display(), req.firmware.display(), req.board.id));
        }
        if let Some(p) = req.prepare {
            notes.extend(p(&mut data)?);
        }
        // Record first: a kill between the two leaves no state, which the next run creates.
        write_origin(&mut lock, &origin).with_context(|| format!("writing {}", meta_path(path).display()))?;
        write_atomic(path, &data)?;
        created = true;
    } else {
        created = false;
        if existing != size as u64 {
            bail!(
                "{}: flash state is {existing:#x} bytes but the {} has {size:#x} bytes of flash (a state made for another board? give --board, or remove the file to start afresh)",
                path.display(),
                req.board.id
            );
        }
        match read_origin(&mut lock) {
            None => notes.push(format!(
                "{}: no record of what this state was made from; FIRMWARE, --config and --boot-info are not used (--reflash rebuilds it)",
                path.display()
            )),
            Some(o) => {
                if o.firmware_sha256 != want.firmware_sha256 {
                    notes.push(format!(
                        "{}: keeps the firmware it was made from ({}); {} is not used (--reflash writes it, keeping /flash files, NVS and the config block)",
                        path.display(),
                        o.firmware,
                        req.firmware.display()
                    ));
                }
                if o.board != want.board {
                    notes.push(format!("{}: made for the {}, running as a {}", path.display(), o.board, want.board));
                }
                if req.config.is_some() && o.config.as_deref() != req.config {
                    notes.push(format!(
                        "--config {} ignored: {} keeps its config block (made with {}); use --reflash --config …",
                        req.config.unwrap_or_default(),
                        path.display(),
                        o.config.as_deref().unwrap_or("the defaults")
                    ));
                }
                if req.boot_info.is_some() && o.boot_info.as_deref() != req.boot_info {
                    notes.push(format!(
                        "--boot-info {} ignored: {} keeps its boot record (the bootloader's and firmware's own writes); use --reflash --boot-info …",
                        req.boot_info.unwrap_or_default(),
                        path.display()
                    ));
                }
            }
        }
    }
    if let (false, Some(p)) = (created, req.prepare) {
        let mut data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        notes.extend(p(&mut data)?);
        write_atomic(path, &data)?;
    }
    let flash = Flash::open(path, size).with_context(|| format!("opening flash state {}", path.display()))?;
    Ok(OpenState { flash, lock, notes, created })
}
