//! `pyemu fs …`: the board's /flash inside a flash state file, from the host, board off.
//!
//! Writes (put, rm, mkdir, format) take the state's lock, so they fail with "in use by pid
//! N" while a run holds it, change a copy in memory and replace the state atomically: a
//! kill leaves the old state or the new one, never a half-written file system. Reads (ls,
//! cat, get, tree, df) do not need the lock: they work on a snapshot, so they also work
//! while a board runs (with a note: the board may be mid-write, and LittleFS then shows its
//! last committed state), and never make a run starting at that moment fail.

use crate::fs::{self, Entry, FsError, FsKind, FsPath, Layout, Missing, Stamp, Volume};
use crate::state;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use images::board::Board;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct StateArg {
    /// Flash state file (as made by `pyemu run --flash-state`, or a raw flash dump).
    #[arg(value_name = "FLASH_STATE")]
    pub state: PathBuf,
    /// Board; default from the state's `.meta` record, else from its size.
    #[arg(long)]
    pub board: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum FsCommand {
    /// List directories (default /flash) or show files.
    Ls {
        #[command(flatten)]
        st: StateArg,
        /// Sizes and modification times.
        #[arg(short = 'l')]
        long: bool,
        /// Board paths: /flash/lib, lib, :/flash/lib.
        paths: Vec<String>,
    },
    /// Write files to standard output.
    Cat {
        #[command(flatten)]
        st: StateArg,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Copy a file from the board to the host (LOCAL defaults to its name here).
    Get {
        #[command(flatten)]
        st: StateArg,
        remote: String,
        local: Option<PathBuf>,
    },
    /// Copy host files to the board (LOCAL[:REMOTE]).
    ///
    /// REMOTE defaults to /flash/NAME; a REMOTE directory (or one ending in /) receives NAME.
    /// Missing directories are created; so is the file system, as the firmware would at first
    /// boot, when /flash is erased.
    Put {
        #[command(flatten)]
        st: StateArg,
        /// Copy host directories with their contents.
        #[arg(short = 'r')]
        recursive: bool,
        /// Host file (or directory, with -r), and where it goes on the board.
        #[arg(required = true, value_name = "LOCAL[:REMOTE]")]
        files: Vec<String>,
    },
    /// Remove files (and directories with -r).
    Rm {
        #[command(flatten)]
        st: StateArg,
        #[arg(short = 'r')]
        recursive: bool,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Make directories (-p: with parents, no error if they exist).
    Mkdir {
        #[command(flatten)]
        st: StateArg,
        #[arg(short = 'p')]
        parents: bool,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Show a directory tree (default /flash) with file sizes.
    Tree {
        #[command(flatten)]
        st: StateArg,
        path: Option<String>,
    },
    /// File system type, size and use, in its allocation units.
    Df {
        #[command(flatten)]
        st: StateArg,
    },
    /// Format /flash as the firmware does at first boot; erases every file on it.
    ///
    /// An empty file system with the firmware's geometry, then its boot.py, main.py, sys/,
    /// lib/ and cert/.
    Format {
        #[command(flatten)]
        st: StateArg,
        /// littlefs or fat; default the config block's boot_fs_type. Another type is also
        /// written to the config block, or the firmware would reformat /flash at boot.
        #[arg(long = "fs", value_name = "littlefs|fat")]
        kind: Option<String>,
    },
}

pub fn run(cmd: FsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FsCommand::Ls { st, long, paths } => {
            let mut flash = read_state(&st)?;
            let paths = if paths.is_empty() { vec!["/flash".to_string()] } else { paths };
            let text = view(&mut flash, |v| ls(v, &paths, long))?;
            print(&text)
        }
        FsCommand::Cat { st, paths } => {
            let mut flash = read_state(&st)?;
            let data = view(&mut flash, |v| {
                let mut out = Vec::new();
                for p in &paths {
                    out.extend(v.read(&FsPath::parse(p)?)?);
                }
                Ok(out)
            })?;
            super::out::write_bytes(&data)?;
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Get { st, remote, local } => {
            let mut flash = read_state(&st)?;
            let rp = FsPath::parse(&remote)?;
            let data = view(&mut flash, |v| v.read(&rp))?;
            let name = rp.name().unwrap_or("flash");
            let dest = match local {
                None => PathBuf::from(name),
                Some(l) if l.is_dir() => l.join(name),
                Some(l) => l,
            };
            std::fs::write(&dest, &data).with_context(|| format!("writing {}", dest.display()))?;
            print(&format!("got {rp} -> {} ({} bytes)\n", dest.display(), data.len()))
        }
        FsCommand::Put { st, recursive, files } => {
            let jobs = plan_puts(&files, recursive)?;
            let (lines, created) = modify(&st, Missing::Create, |v| {
                let mut lines = Vec::new();
                for job in &jobs {
                    match job {
                        Put::Dir(p) => {
                            for d in v.mkdir_all(p, Stamp::now())? {
                                lines.push(format!("mkdir {d}"));
                            }
                        }
                        Put::File { data, mtime, dest, dir_hint, name } => {
                            let target = v.put_target(dest, *dir_hint, name)?;
                            for d in v.write_creating_dirs(&target, data, *mtime)? {
                                lines.push(format!("mkdir {d}"));
                            }
                            lines.push(format!("put {target} ({} bytes)", data.len()));
                        }
                    }
                }
                Ok(lines)
            })?;
            if let Some(kind) = created {
                eprintln!("pyemu: /flash had no file system: formatted {kind} as the firmware does on first boot");
            }
            print(&(lines.join("\n") + "\n"))
        }
        FsCommand::Rm { st, recursive, paths } => {
            let parsed = paths.iter().map(|p| FsPath::parse(p)).collect::<Result<Vec<_>, _>>()?;
            modify(&st, Missing::Fail, |v| {
                for p in &parsed {
                    if p.is_root() {
                        return Err(FsError::BadPath { path: p.to_string(), why: "refusing to remove /flash itself (`pyemu fs format` empties it)".into() });
                    }
                    let e = v.stat(p)?.ok_or_else(|| FsError::NotFound(p.to_string()))?;
                    if e.is_dir && recursive {
                        v.remove_all(p)?;
                    } else {
                        v.remove(p)?;
                    }
                }
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Mkdir { st, parents, paths } => {
            let parsed = paths.iter().map(|p| FsPath::parse(p)).collect::<Result<Vec<_>, _>>()?;
            modify(&st, Missing::Fail, |v| {
                for p in &parsed {
                    if parents {
                        v.mkdir_all(p, Stamp::now())?;
                        continue;
                    }
                    if let Some(parent) = p.parent() {
                        match v.stat(&parent)? {
                            None => return Err(FsError::BadPath { path: p.to_string(), why: format!("{parent} does not exist (mkdir -p makes it)") }),
                            Some(e) if !e.is_dir => return Err(FsError::NotADirectory(parent.to_string())),
                            Some(_) => {}
                        }
                    }
                    v.mkdir(p, Stamp::now())?;
                }
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Tree { st, path } => {
            let mut flash = read_state(&st)?;
            let p = FsPath::parse(path.as_deref().unwrap_or("/flash"))?;
            let text = view(&mut flash, |v| tree(v, &p))?;
            print(&text)
        }
        FsCommand::Df { st } => {
            let mut flash = read_state(&st)?;
            let (kind, u) = view(&mut flash, |v| Ok((v.kind().to_string(), v.usage()?)))?;
            let unit = if kind == "FAT" { "clusters" } else { "blocks" };
            let pct = if u.total == 0 { 0 } else { (u.used as u64 * 100).div_ceil(u.total as u64) };
            print(&format!(
                "Filesystem  Type      Unit  {unit:>8}  Used  Free  Use%  Size      Avail\n\
                 /flash      {kind:<8}  {:<4}  {:>8}  {:>4}  {:>4}  {pct:>3}%  {:<8}  {}\n",
                u.unit,
                u.total,
                u.used,
                u.total - u.used,
                kib(u.unit as u64 * u.total as u64),
                kib(u.unit as u64 * (u.total - u.used) as u64),
            ))
        }
        FsCommand::Format { st, kind } => {
            let want = match kind.as_deref() {
                None => None,
                Some(k) => Some(FsKind::parse(k).with_context(|| format!("--fs {k}: littlefs or fat"))?),
            };
            let _lock = lock_existing(&st.state)?;
            let mut flash = load(&st)?;
            let was = fs::configured_kind(&flash);
            let kind = want.unwrap_or(was);
            let mut out = String::new();
            if kind != was {
                fs::set_configured_kind(&mut flash, kind);
                out += &format!("config block: boot_fs_type {} (was {was}), so the firmware mounts it\n", kind.to_string().to_lowercase());
            }
            fs::format(&mut flash, kind)?;
            state::write_atomic(&st.state, &flash)?;
            let layout = Layout::for_flash(flash.len())?;
            let geometry = match kind {
                FsKind::LittleFs => format!("{} blocks of 4096 bytes", layout.blocks),
                FsKind::Fat => format!("{} sectors of 512 bytes", layout.sectors()),
            };
            out += &format!("formatted /flash at {:#x} as {kind} ({geometry}) with the firmware's boot.py, main.py, sys/, lib/, cert/\n", layout.offset);
            print(&out)
        }
    }
}

fn print(s: &str) -> anyhow::Result<ExitCode> {
    super::out::print(s)?;
    Ok(ExitCode::SUCCESS)
}

fn kib(bytes: u64) -> String {
    format!("{}K", bytes / 1024)
}

/// Reads the state after checking it exists and matches the board.
fn load(st: &StateArg) -> anyhow::Result<Vec<u8>> {
    let data = std::fs::read(&st.state).with_context(|| format!("reading {}", st.state.display()))?;
    if Layout::for_flash(data.len()).is_err() {
        bail!("{}: {:#x} bytes is not a Pycom flash image (4 MB or 8 MB)", st.state.display(), data.len());
    }
    let (board, from) = match &st.board {
        Some(b) => (Some(Board::by_id(b)?), "--board"),
        None => (recorded_board(&st.state), "its .meta record"),
    };
    if let Some(b) = board {
        if b.flash_size as usize != data.len() {
            bail!(
                "{}: {:#x} bytes, but the {} ({from}) has {:#x} bytes of flash",
                st.state.display(),
                data.len(),
                b.id,
                b.flash_size
            );
        }
    }
    Ok(data)
}

fn recorded_board(state: &Path) -> Option<Board> {
    let text = std::fs::read_to_string(state::meta_path(state)).ok()?;
    let o: state::Origin = serde_json::from_str(&text).ok()?;
    Board::by_id(&o.board).ok()
}

fn check_exists(path: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => bail!("{}: not a flash state file", path.display()),
        Err(_) => bail!("{}: no such flash state (`pyemu run FIRMWARE --flash-state {}` makes one)", path.display(), path.display()),
    }
}

/// The state's lock, for writers; fails with the holder's pid while a run is active.
fn lock_existing(path: &Path) -> anyhow::Result<std::fs::File> {
    check_exists(path)?;
    state::lock(path)
}

/// A snapshot for readers, without the lock: a reader holding it, even briefly, would make
/// a `pyemu run` starting at that moment fail. While a run holds it, say so: the board may
/// be mid-write (LittleFS then shows its last committed state).
fn read_state(st: &StateArg) -> anyhow::Result<Vec<u8>> {
    check_exists(&st.state)?;
    if let Some(pid) = lock_holder(&state::meta_path(&st.state)) {
        eprintln!(
            "pyemu: note: {} is in use by a running board (pid {pid}); showing /flash as it is on flash now (the board may be mid-write)",
            st.state.display()
        );
    }
    load(st)
}

/// The pid holding an flock on `path`, from /proc/locks (Linux; None elsewhere or when
/// unlocked). Looking does not take the lock.
fn lock_holder(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(path).ok()?.ino();
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    table.lines().find_map(|l| {
        // "3: FLOCK  ADVISORY  WRITE 4242 fe:00:1234567 0 EOF"; waiters carry "->".
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 6 || f[1] != "FLOCK" || f.contains(&"->") {
            return None;
        }
        let file_ino: u64 = f[5].rsplit(':').next()?.parse().ok()?;
        if file_ino == ino {
            f[4].parse().ok()
        } else {
            None
        }
    })
}

fn view<R>(flash: &mut [u8], f: impl FnOnce(&mut dyn Volume) -> Result<R, FsError>) -> anyhow::Result<R> {
    Ok(fs::with_volume(flash, Missing::Fail, f)?.0)
}

/// Changes /flash under the lock and writes the state back atomically (only on success).
/// Returns `f`'s result and the file system type when it had to be created first.
fn modify<R>(
    st: &StateArg,
    missing: Missing,
    f: impl FnOnce(&mut dyn Volume) -> Result<R, FsError>,
) -> anyhow::Result<(R, Option<FsKind>)> {
    let _lock = lock_existing(&st.state)?;
    let mut flash = load(st)?;
    let kind = fs::configured_kind(&flash);
    let (r, created) = fs::with_volume(&mut flash, missing, f)?;
    state::write_atomic(&st.state, &flash)?;
    Ok((r, created.then_some(kind)))
}

fn line(e: &Entry, long: bool) -> String {
    let name = if e.is_dir { format!("{}/", e.name) } else { e.name.clone() };
    if !long {
        return name + "\n";
    }
    let size = if e.is_dir { "-".to_string() } else { e.size.to_string() };
    let when = e.mtime.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
    format!("{size:>9}  {when:<19}  {name}\n")
}

fn ls(v: &mut dyn Volume, paths: &[String], long: bool) -> Result<String, FsError> {
    let mut out = String::new();
    let many = paths.len() > 1;
    for (i, s) in paths.iter().enumerate() {
        let p = FsPath::parse(s)?;
        let e = v.stat(&p)?.ok_or_else(|| FsError::NotFound(p.to_string()))?;
        if !e.is_dir {
            out += &line(&e, long);
            continue;
        }
        if many {
            if i > 0 {
                out.push('\n');
            }
            out += &format!("{p}:\n");
        }
        let mut entries = v.list(&p)?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for e in &entries {
            out += &line(e, long);
        }
    }
    Ok(out)
}

fn tree(v: &mut dyn Volume, root: &FsPath) -> Result<String, FsError> {
    fn walk(v: &mut dyn Volume, dir: &FsPath, prefix: &str, out: &mut String, counts: &mut (usize, usize)) -> Result<(), FsError> {
        let mut entries = v.list(dir)?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let n = entries.len();
        for (i, e) in entries.into_iter().enumerate() {
            let last = i + 1 == n;
            let branch = if last { "└── " } else { "├── " };
            if e.is_dir {
                counts.0 += 1;
                *out += &format!("{prefix}{branch}{}/\n", e.name);
                let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
                walk(v, &dir.join(&e.name), &deeper, out, counts)?;
            } else {
                counts.1 += 1;
                *out += &format!("{prefix}{branch}{} ({} bytes)\n", e.name, e.size);
            }
        }
        Ok(())
    }
    let e = v.stat(root)?.ok_or_else(|| FsError::NotFound(root.to_string()))?;
    if !e.is_dir {
        return Err(FsError::NotADirectory(root.to_string()));
    }
    let mut out = format!("{root}\n");
    let mut counts = (0, 0);
    walk(v, root, "", &mut out, &mut counts)?;
    out += &format!("\n{} directories, {} files\n", counts.0, counts.1);
    Ok(out)
}

enum Put {
    Dir(FsPath),
    File { data: Vec<u8>, mtime: Stamp, dest: FsPath, dir_hint: bool, name: String },
}

/// Reads every host file first, so a missing one changes nothing on the board.
fn plan_puts(specs: &[String], recursive: bool) -> anyhow::Result<Vec<Put>> {
    let mut jobs = Vec::new();
    for spec in specs {
        // A whole argument naming a host file wins over a LOCAL:REMOTE split.
        let (local, remote) = match spec.split_once(':') {
            Some((l, r)) if !Path::new(spec).exists() && !l.is_empty() => (PathBuf::from(l), Some(r.to_string())),
            _ => (PathBuf::from(spec), None),
        };
        let md = std::fs::metadata(&local).with_context(|| format!("{}: no such local file", local.display()))?;
        let name = local
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .with_context(|| format!("{}: names no file", local.display()))?;
        let remote_s = remote.clone().unwrap_or_else(|| "/flash/".into());
        let dest = FsPath::parse(&remote_s)?;
        let dir_hint = remote_s.ends_with('/') || remote_s.is_empty() || remote_s == ":" || dest.is_root();
        if md.is_dir() {
            if !recursive {
                bail!("{}: is a directory (put -r copies directories)", local.display());
            }
            // LOCAL dir to REMOTE: REMOTE/NAME when REMOTE is a directory spelt so, else REMOTE.
            let base = if dir_hint { dest.join(&name) } else { dest };
            add_dir(&local, &base, &mut jobs)?;
        } else {
            let data = std::fs::read(&local).with_context(|| format!("reading {}", local.display()))?;
            jobs.push(Put::File { data, mtime: mtime_of(&md), dest, dir_hint, name });
        }
    }
    Ok(jobs)
}

fn mtime_of(md: &std::fs::Metadata) -> Stamp {
    md.modified().map(Stamp::from_system).unwrap_or_else(|_| Stamp::now())
}

fn add_dir(local: &Path, base: &FsPath, jobs: &mut Vec<Put>) -> anyhow::Result<()> {
    jobs.push(Put::Dir(base.clone()));
    let mut entries: Vec<_> = std::fs::read_dir(local)
        .with_context(|| format!("reading {}", local.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", local.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let path = e.path();
        let md = std::fs::metadata(&path).with_context(|| format!("{}", path.display()))?;
        if md.is_dir() {
            add_dir(&path, &base.join(&name), jobs)?;
        } else {
            let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            jobs.push(Put::File { data, mtime: mtime_of(&md), dest: base.join(&name), dir_hint: false, name });
        }
    }
    Ok(())
}
