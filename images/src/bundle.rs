//! Pycom update bundles: a gzip'd tar of `bootloader.bin`, `partitions_*.bin`, `<board>.bin` and
//! the flashing recipe, executed here the way Pycom's updater (`tools/fw_updater/updater.py`
//! `load_tar()` / `run_script()`) executes it.
//!
//! Recipe files and how the updater picks one:
//!
//! | file | shape | chosen when |
//! |---|---|---|
//! | `script_8MB` / `script_4MB` | `{"version", "partitions": {name: [offset, size]}, "script": [...]}` | the flash is 8 / 4 MB and the file is valid JSON |
//! | `script2` | same object shape | the sized script is missing or not JSON |
//! | `script` | a bare list (legacy) | the object lacks `version` or `script`, or `script2` is missing too |
//!
//! One deviation: a recipe member that is present but not JSON is an error naming it. The updater
//! would fall back to `script2` instead, which in Pycom's own bundles is written for another board
//! (the LoPy4 bundles' `script2` writes `fipy.bin`), so the fallback would only hide the fault.
//!
//! Instructions are `[op, target, arg]`, numbers in hex strings:
//!
//! | op | target | effect |
//! |---|---|---|
//! | `e` | offset, with size in `arg` | erase (offset rounded down to 4 KB, size up; chunks of ≤ 0x380000) |
//! | `e` | partition name, `all`, `fs`/`fs1`, `cb`/`config`, `ota`/`otadata` | erase that partition / the whole chip / the filesystem |
//! | `w` | partition name | write `arg` truncated to the partition size, padded with 0xFF to it; never over the config block |
//! | `w` | offset | write `arg` as is |
//! | `o` | either | write `arg` as is, no padding, no config-block protection |
//!
//! A write that would lose data is an error naming the member and offset (the updater cuts it
//! silently): a member larger than its partition or the flash (unless what is cut is erased 0xFF),
//! or a write that starts beyond the end of the flash.
//!
//! All erases run first, then all writes. If a write went to `factory` or `ota_0` and nothing erased
//! or wrote otadata, the updater writes a fresh `boot_info` record there: factory → {factory,
//! ready, prev factory, size = image length}, ota_0 → {ota_0, check, prev factory}.
//!
//! Default partition map of the updater, overridden by the script's `partitions`:
//! secureboot 0x0/0x8000, bootloader 0x1000/0x7000, partitions 0x8000/0x1000, nvs 0x9000/0x7000,
//! factory 0x10000/0x180000, otadata 0x190000/0x1000, ota_0 0x1a0000/0x180000, fs 0x380000/0x7F000,
//! config 0x3FF000/0x1000, fs1 0x400000/0x400000, all 0x0/0x800000.

use crate::boot_info::{BootInfo, IMG_FACTORY, IMG_UPDATE1, STATUS_CHECK, STATUS_READY};
use crate::flash::{Flash, FlashError};
use crate::util::{align_down, align_up, parse_hex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;
use thiserror::Error;

/// Refuse archives that inflate beyond this (a real bundle is about 2 MB).
pub const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("not a gzip'd tar archive: {0}")]
    NotArchive(String),
    #[error("archive unpacks to more than {} MB", MAX_UNPACKED / (1024 * 1024))]
    TooLarge,
    #[error("not a Pycom bundle: no script, script2 or script_4MB/script_8MB in the archive (files: {0})")]
    NotPycom(String),
    #[error("{file}: the recipe is not valid JSON: {msg}")]
    Json { file: String, msg: String },
    #[error("{file}: {msg}")]
    BadRecipe { file: String, msg: String },
    #[error("{file}: instruction {index} writes {member} at {offset:#x}: {msg}")]
    Placement {
        file: String,
        index: usize,
        member: String,
        offset: u64,
        msg: String,
    },
    #[error("{file}: instruction {index}: {msg}")]
    Instruction {
        file: String,
        index: usize,
        msg: String,
    },
    #[error("{file}: instruction {index} writes {name:?}, which is not in the bundle")]
    MissingFile {
        file: String,
        index: usize,
        name: String,
    },
    #[error(transparent)]
    Flash(#[from] FlashError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Partition(String),
    Offset(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Instruction {
    Erase {
        target: String,
        size: Option<String>,
    },
    /// `overwrite` is Pycom's `o` op.
    Write {
        target: String,
        file: String,
        overwrite: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Script {
    /// Which archive member it came from.
    pub file: String,
    pub version: Option<String>,
    /// The updater's partition map after the script's overrides: name → (offset, size).
    pub partitions: BTreeMap<String, (u64, u64)>,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone)]
pub struct Bundle {
    /// Archive members (regular files), by path with any leading `./` removed.
    pub files: BTreeMap<String, Vec<u8>>,
}

fn default_partitions() -> BTreeMap<String, (u64, u64)> {
    [
        ("secureboot", 0x0, 0x8000),
        ("bootloader", 0x1000, 0x7000),
        ("partitions", 0x8000, 0x1000),
        ("nvs", 0x9000, 0x7000),
        ("factory", 0x10000, 0x180000),
        ("otadata", 0x190000, 0x1000),
        ("ota_0", 0x1a0000, 0x180000),
        ("fs", 0x380000, 0x7F000),
        ("config", 0x3FF000, 0x1000),
        ("fs1", 0x400000, 0x400000),
        ("all", 0x0, 0x800000),
    ]
    .into_iter()
    .map(|(n, o, s)| (n.to_string(), (o, s)))
    .collect()
}

/// What running a script did, step by step, for the user.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunLog {
    pub script: String,
    pub steps: Vec<String>,
    pub boot_info_written: Option<BootInfo>,
}

impl Bundle {
    /// Unpacks a `.tar.gz` (or plain `.tar`) held in memory.
    pub fn from_bytes(data: &[u8]) -> Result<Bundle, BundleError> {
        let gz = data.starts_with(&[0x1F, 0x8B]);
        let reader: Box<dyn Read> = if gz {
            Box::new(flate2::read::GzDecoder::new(data))
        } else {
            Box::new(data)
        };
        let mut archive = tar::Archive::new(reader.take(MAX_UNPACKED + 1));
        let mut files = BTreeMap::new();
        let mut total = 0u64;
        let entries = archive
            .entries()
            .map_err(|e| BundleError::NotArchive(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| BundleError::NotArchive(e.to_string()))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| BundleError::NotArchive(e.to_string()))?;
            let name = path.to_string_lossy().trim_start_matches("./").to_string();
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| BundleError::NotArchive(e.to_string()))?;
            total += buf.len() as u64;
            if total > MAX_UNPACKED {
                return Err(BundleError::TooLarge);
            }
            files.insert(name, buf);
        }
        if files.is_empty() {
            return Err(BundleError::NotArchive("no files in the archive".into()));
        }
        let b = Bundle { files };
        if !["script", "script2", "script_4MB", "script_8MB"]
            .iter()
            .any(|s| b.files.contains_key(*s))
        {
            return Err(BundleError::NotPycom(
                b.files.keys().cloned().collect::<Vec<_>>().join(", "),
            ));
        }
        Ok(b)
    }

    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(|v| v.as_slice())
    }

    /// A recipe member as JSON: `None` when absent, an error naming it when it is not JSON.
    fn recipe_json(&self, name: &str) -> Result<Option<serde_json::Value>, BundleError> {
        let Some(bytes) = self.file(name) else {
            return Ok(None);
        };
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| BundleError::Json {
                file: name.into(),
                msg: e.to_string(),
            })
    }

    /// Picks and parses the recipe the updater would run on a flash of `flash_size` bytes.
    pub fn script(&self, flash_size: u64) -> Result<Script, BundleError> {
        let sized = if flash_size > 4 * 1024 * 1024 {
            "script_8MB"
        } else {
            "script_4MB"
        };
        let (obj_name, obj) = match self.recipe_json(sized)? {
            Some(v) => (sized, Some(v)),
            None => ("script2", self.recipe_json("script2")?),
        };
        let mut partitions = default_partitions();
        if let Some(v) = &obj {
            match object_recipe(obj_name, v)? {
                (_, Some(script)) => return Ok(script),
                (p, None) => partitions = p,
            }
        }
        // An object without version/script falls back to the legacy list (as in load_tar()).
        let legacy = self.recipe_json("script")?.ok_or_else(|| match &obj {
            Some(_) => BundleError::BadRecipe {
                file: obj_name.into(),
                msg: "not a recipe object (needs \"version\" and \"script\"), and there is no legacy `script` to fall back to".into(),
            },
            None => BundleError::NotPycom(self.files.keys().cloned().collect::<Vec<_>>().join(", ")),
        })?;
        Ok(Script {
            file: "script".into(),
            version: None,
            partitions,
            instructions: parse_instructions("script", &legacy)?,
        })
    }

    /// Every recipe member present, each parsed on its own: the ones that are broken, with why.
    /// (The updater reads only the one it picks; a broken other one is still a broken bundle.)
    pub fn check_recipes(&self) -> Vec<BundleError> {
        let mut errors = Vec::new();
        for name in ["script_4MB", "script_8MB", "script2"] {
            match self.recipe_json(name) {
                Ok(Some(v)) => {
                    if let Err(e) = object_recipe(name, &v) {
                        errors.push(e);
                    }
                }
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        match self.recipe_json("script") {
            Ok(Some(v)) => {
                if let Err(e) = parse_instructions("script", &v) {
                    errors.push(e);
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        errors
    }

    /// Runs the recipe for `flash.size()` onto `flash`, as the updater would.
    pub fn apply(&self, flash: &mut Flash) -> Result<RunLog, BundleError> {
        let script = self.script(flash.size())?;
        run_script(self, &script, flash)
    }

    /// The application image the bundle installs in the factory slot (what an OTA of this
    /// bundle sends): the member its recipe writes to `factory` / 0x10000.
    pub fn app_image(&self) -> Result<(&str, &[u8]), BundleError> {
        let mut last = None;
        for size in [8 << 20, 4 << 20] {
            let script = match self.script(size) {
                Ok(s) => s,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let factory = script.partitions.get("factory").map_or(0x10000, |p| p.0);
            for ins in &script.instructions {
                let Instruction::Write { target, file, .. } = ins else { continue };
                let at = script.partitions.get(target).map(|p| p.0).or_else(|| parse_hex(target));
                if target == "factory" || at == Some(factory) {
                    if let Some((name, data)) = self.files.get_key_value(file.as_str()) {
                        return Ok((name.as_str(), data.as_slice()));
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| BundleError::BadRecipe {
            file: "script".into(),
            msg: "no instruction writes an application to the factory slot".into(),
        }))
    }
}

type PartitionMap = BTreeMap<String, (u64, u64)>;

/// A `{"version", "partitions", "script"}` recipe, or `None` when it lacks `version` or `script`
/// (the updater then runs the legacy list, with the partition map as far as it was read).
fn object_recipe(
    name: &str,
    v: &serde_json::Value,
) -> Result<(PartitionMap, Option<Script>), BundleError> {
    let mut partitions = default_partitions();
    let serde_json::Value::Object(map) = v else {
        return Ok((partitions, None));
    };
    let Some(version) = map.get("version").filter(|v| !v.is_null()) else {
        return Ok((partitions, None));
    };
    if let Some(serde_json::Value::Object(parts)) = map.get("partitions") {
        for (pname, v) in parts {
            let pair = v.as_array().filter(|a| a.len() >= 2);
            let o = pair.and_then(|a| a[0].as_str()).and_then(parse_hex);
            let s = pair.and_then(|a| a[1].as_str()).and_then(parse_hex);
            match (o, s) {
                (Some(o), Some(s)) => {
                    partitions.insert(pname.clone(), (o, s));
                }
                _ => {
                    return Err(BundleError::BadRecipe {
                        file: name.into(),
                        msg: format!("partition {pname:?} is not [\"offset\", \"size\"] in hex"),
                    })
                }
            }
        }
    }
    let Some(list) = map.get("script").filter(|v| !v.is_null()) else {
        return Ok((partitions, None));
    };
    Ok((
        BTreeMap::new(),
        Some(Script {
            file: name.into(),
            version: Some(
                version
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| version.to_string()),
            ),
            partitions,
            instructions: parse_instructions(name, list)?,
        }),
    ))
}

fn parse_instructions(file: &str, v: &serde_json::Value) -> Result<Vec<Instruction>, BundleError> {
    let list = v.as_array().ok_or_else(|| BundleError::BadRecipe {
        file: file.into(),
        msg: "the script is not a list of instructions".into(),
    })?;
    let mut out = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let bad = |msg: &str| BundleError::Instruction {
            file: file.into(),
            index,
            msg: msg.into(),
        };
        let arr = item.as_array().ok_or_else(|| bad("not a list"))?;
        let strs: Vec<&str> = arr
            .iter()
            .map(|x| x.as_str().ok_or_else(|| bad("element is not a string")))
            .collect::<Result<_, _>>()?;
        match strs.as_slice() {
            ["e", target] => out.push(Instruction::Erase {
                target: target.to_string(),
                size: None,
            }),
            ["e", target, size, ..] => out.push(Instruction::Erase {
                target: target.to_string(),
                size: Some(size.to_string()),
            }),
            [op @ ("w" | "o"), target, file, ..] => out.push(Instruction::Write {
                target: target.to_string(),
                file: file.to_string(),
                overwrite: *op == "o",
            }),
            [op, ..] => return Err(bad(&format!("unknown or incomplete command {op:?}"))),
            [] => return Err(bad("empty instruction")),
        }
    }
    Ok(out)
}

/// The updater's `erase()`: offset rounded down to 4 KB, `ceil(size / 0x380000)` chunks of
/// `min(size, 0x380000)` rounded up to 4 KB (so sizes above 0x380000 erase whole chunks).
fn pycom_erase(flash: &mut Flash, offset: u64, size: u64) -> Result<(), FlashError> {
    const MAX_SECTION: u64 = 0x380000;
    let mut off = align_down(offset, 0x1000);
    let s = align_up(size.min(MAX_SECTION), 0x1000);
    for _ in 0..size.div_ceil(MAX_SECTION) {
        // Chunks past the end of the chip erase nothing; a huge size must not spin here.
        if off >= flash.size() {
            break;
        }
        flash.erase_clamped(off, s)?;
        off = off.saturating_add(s);
    }
    Ok(())
}

fn run_script(bundle: &Bundle, script: &Script, flash: &mut Flash) -> Result<RunLog, BundleError> {
    let p = &script.partitions;
    let file = &script.file;
    let flash_size = flash.size();
    let mut log = RunLog {
        script: file.clone(),
        ..Default::default()
    };
    let get = |name: &str| p.get(name).copied();
    let (ota_off, ota_size) = get("otadata").unwrap_or((0x190000, 0x1000));
    let (cb_start, cb_len) = get("config").unwrap_or((0x3FF000, 0x1000));

    let mut erase_fs = false;
    let mut no_erase = false;
    for ins in &script.instructions {
        let (op_e, target) = match ins {
            Instruction::Erase { target, .. } => (true, target),
            Instruction::Write { target, .. } => (false, target),
        };
        if target == "fs" || target == "fs1" {
            erase_fs = op_e;
        } else if target == "all" {
            erase_fs = false;
            no_erase = !op_e;
        }
    }

    let mut ota_updated = false;
    // Erase pass.
    for (index, ins) in script.instructions.iter().enumerate() {
        let Instruction::Erase { target, size } = ins else {
            continue;
        };
        if no_erase || target == "fs" || target == "fs1" {
            continue;
        }
        if target == "all" {
            flash.erase(0, flash_size)?;
            log.steps.push("erase all".into());
            ota_updated = true;
            continue;
        }
        let (o, s) = if let Some(v) = get(target) {
            v
        } else if target == "cb" {
            get("config").unwrap_or((cb_start, cb_len))
        } else if target == "ota" {
            ota_updated = true;
            (ota_off, ota_size)
        } else {
            let o = parse_hex(target).ok_or_else(|| BundleError::Instruction {
                file: file.clone(),
                index,
                msg: format!("invalid partition or offset {target:?}"),
            })?;
            let s =
                size.as_deref()
                    .and_then(parse_hex)
                    .ok_or_else(|| BundleError::Instruction {
                        file: file.clone(),
                        index,
                        msg: format!("erase at {target} needs a hex size"),
                    })?;
            (o, s)
        };
        // Offsets and sizes come from the recipe: sums saturate rather than overflow.
        if o <= ota_off && o.saturating_add(s) >= ota_off.saturating_add(ota_size) {
            ota_updated = true;
        }
        pycom_erase(flash, o, s)?;
        log.steps.push(format!("erase {o:#x} +{s:#x}"));
    }
    if erase_fs {
        if flash_size == 0x800000 {
            let (o, s) = get("fs1").unwrap_or((0x400000, 0x400000));
            for x in 0..8 {
                pycom_erase(flash, o.saturating_add(x * (s / 8)), s / 8)?;
            }
            log.steps.push(format!("erase fs1 {o:#x} +{s:#x}"));
        } else {
            let (o, s) = get("fs").unwrap_or((0x380000, 0x7F000));
            pycom_erase(flash, o, s)?;
            log.steps.push(format!("erase fs {o:#x} +{s:#x}"));
        }
    }

    // Write pass.
    let mut ota: Option<bool> = None;
    let mut img_size: u32 = 0xFFFF_FFFF;
    for (index, ins) in script.instructions.iter().enumerate() {
        let Instruction::Write {
            target,
            file: member,
            overwrite,
        } = ins
        else {
            continue;
        };
        let contents = bundle
            .file(member)
            .ok_or_else(|| BundleError::MissingFile {
                file: file.clone(),
                index,
                name: member.clone(),
            })?;
        if target == "otadata" {
            ota_updated = true;
        }
        let (offset, psize) = if let Some((o, s)) = get(target) {
            if target == "ota_0" {
                ota = Some(true);
                img_size = contents.len() as u32;
            } else if target == "factory" {
                ota.get_or_insert(false);
                img_size = contents.len() as u32;
            }
            (o, Some(if target == "all" { flash_size } else { s }))
        } else if target == "cb" {
            (cb_start, Some(cb_len))
        } else if target == "ota" {
            ota_updated = true;
            (ota_off, Some(ota_size))
        } else {
            let o = parse_hex(target).ok_or_else(|| BundleError::Instruction {
                file: file.clone(),
                index,
                msg: format!("invalid partition or memory region {target:?}"),
            })?;
            (o, None)
        };
        let contents = fits(
            file, index, member, target, offset, psize, *overwrite, contents, flash_size,
        )?;
        match psize {
            Some(size) if !overwrite => write_partition(
                flash,
                offset,
                contents,
                size,
                (cb_start, cb_len),
                &mut log,
                member,
            )?,
            _ => {
                flash.write(offset, contents)?;
                log.steps.push(format!(
                    "write {member} at {offset:#x} ({:#x} bytes)",
                    contents.len()
                ));
            }
        }
        let covered = psize.unwrap_or(contents.len() as u64);
        if offset <= ota_off && offset.saturating_add(covered) >= ota_off.saturating_add(ota_size) {
            ota_updated = true;
        }
    }
    if let (Some(is_ota0), false) = (ota, ota_updated) {
        let info = if is_ota0 {
            BootInfo {
                active_img: IMG_UPDATE1,
                status: STATUS_CHECK,
                prev_img: IMG_FACTORY,
                size: img_size,
                safeboot: 0,
                signature: [0xFF; 16],
            }
        } else {
            BootInfo {
                active_img: IMG_FACTORY,
                status: STATUS_READY,
                prev_img: IMG_FACTORY,
                size: img_size,
                safeboot: 0,
                signature: [0xFF; 16],
            }
        };
        // Checked before the sector is made: the recipe may give otadata any size.
        if ota_off.saturating_add(ota_size) > flash_size {
            return Err(FlashError::OutOfRange {
                what: "boot_info (otadata)".into(),
                offset: ota_off,
                len: ota_size,
                size: flash_size,
            }
            .into());
        }
        flash.write(ota_off, &info.to_sector(ota_size as usize))?;
        log.steps.push(format!(
            "boot_info at {ota_off:#x}: boot {} ({})",
            if is_ota0 { "ota_0" } else { "factory" },
            if is_ota0 { "check" } else { "ready" }
        ));
        log.boot_info_written = Some(info);
    }
    Ok(log)
}

/// What of `contents` a write keeps: all of it, or all but an erased (0xFF) tail that would fall
/// past the partition or the flash. A write that starts beyond the flash, or would cut real data
/// (an app cut short does not boot), is an error naming the member and the offset.
#[allow(clippy::too_many_arguments)]
fn fits<'a>(
    file: &str,
    index: usize,
    member: &str,
    target: &str,
    offset: u64,
    psize: Option<u64>,
    overwrite: bool,
    contents: &'a [u8],
    flash_size: u64,
) -> Result<&'a [u8], BundleError> {
    let err = |msg: String| BundleError::Placement {
        file: file.into(),
        index,
        member: member.into(),
        offset,
        msg,
    };
    if offset >= flash_size {
        return Err(err(format!(
            "{target} starts beyond the end of the {} MB flash ({flash_size:#x} bytes)",
            flash_size >> 20
        )));
    }
    let to_end = flash_size - offset;
    let (room, place) = match psize {
        Some(size) if !overwrite && size < to_end => {
            (size, format!("partition {target} ({size:#x} bytes)"))
        }
        _ => (
            to_end,
            format!("the {to_end:#x} bytes left before the end of the flash"),
        ),
    };
    if contents.len() as u64 <= room {
        return Ok(contents);
    }
    let (kept, cut) = contents.split_at(room as usize);
    if cut.iter().all(|&b| b == 0xFF) {
        return Ok(kept);
    }
    let image = contents.first() == Some(&0xE9) && crate::AppImage::parse(contents).is_ok();
    Err(err(format!(
        "its {:#x} bytes do not fit in {place}: it would be cut to {room:#x} bytes{}",
        contents.len(),
        if image {
            ", and an image cut short would not boot"
        } else {
            ""
        }
    )))
}

/// `write_script()` for a write into a named partition: truncate to the partition and the flash,
/// pad with 0xFF to the partition size, and leave the config block as it is.
fn write_partition(
    flash: &mut Flash,
    offset: u64,
    contents: &[u8],
    size: u64,
    (cb_start, cb_len): (u64, u64),
    log: &mut RunLog,
    member: &str,
) -> Result<(), BundleError> {
    let flash_size = flash.size();
    let mut data = &contents[..contents.len().min(size as usize)];
    if offset >= flash_size {
        log.steps
            .push(format!("skip {member}: {offset:#x} is beyond the flash"));
        return Ok(());
    }
    if offset + data.len() as u64 > flash_size {
        data = &data[..(flash_size - offset) as usize];
    }
    let finish = offset + data.len() as u64;
    let cb_end = cb_start.saturating_add(cb_len);
    if offset < cb_end && finish > cb_start {
        if offset >= cb_start && finish <= cb_end {
            log.steps.push(format!(
                "skip {member}: it would only write inside the config block"
            ));
            return Ok(());
        }
        // The updater splices the current config block into the data. (Its Python slices shift the
        // data after the block; the intent, kept here, is to keep the block in place.)
        let mut buf = data.to_vec();
        let lo = cb_start.max(offset);
        let hi = cb_end.min(finish);
        let current = flash.read(lo, hi - lo).to_vec();
        buf[(lo - offset) as usize..(hi - offset) as usize].copy_from_slice(&current);
        flash.write(offset, &buf)?;
        log.steps.push(format!(
            "write {member} at {offset:#x} ({:#x} bytes), config block kept",
            buf.len()
        ));
    } else {
        let mut buf = data.to_vec();
        buf.resize((size.min(flash_size - offset)) as usize, 0xFF);
        flash.write(offset, &buf)?;
        log.steps.push(format!(
            "write {member} at {offset:#x} ({:#x} bytes, partition {:#x})",
            data.len(),
            buf.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_pycom_archive_is_refused() {
        let data = test_support::tar_gz(&[("readme.txt", b"hi")]);
        assert!(matches!(
            Bundle::from_bytes(&data),
            Err(BundleError::NotPycom(_))
        ));
        assert!(Bundle::from_bytes(b"not an archive at all, nope").is_err());
    }

    #[test]
    fn sized_script_is_preferred_and_writes_boot_info() {
        let script = br#"{"version":"2.1","partitions":{"factory":["0x10000","0x1000"],"otadata":["0x20000","0x1000"]},
            "script":[["w","factory","app.bin"]]}"#;
        let legacy = br#"[["w","0x10000","other.bin"]]"#;
        let data = test_support::tar_gz(&[
            ("script_4MB", script),
            ("script", legacy),
            ("app.bin", &[1, 2, 3, 4]),
        ]);
        let b = Bundle::from_bytes(&data).unwrap();
        let mut flash = Flash::erased(4 * 1024 * 1024);
        let log = b.apply(&mut flash).unwrap();
        assert_eq!(log.script, "script_4MB");
        assert_eq!(flash.read(0x10000, 5), &[1, 2, 3, 4, 0xFF]);
        let bi = BootInfo::parse(flash.read(0x20000, 40)).unwrap();
        assert_eq!((bi.active_img, bi.status, bi.size), (0, 1, 4));
        // 8 MB: no script_8MB and no script2 → legacy script, whose file is missing.
        let mut flash = Flash::erased(8 * 1024 * 1024);
        assert!(matches!(
            b.apply(&mut flash),
            Err(BundleError::MissingFile { .. })
        ));
    }

    /// Recipes with offsets and sizes near u64::MAX: errors or no-ops, never an overflow panic, a
    /// multi-gigabyte allocation or an erase loop of 2^44 rounds.
    #[test]
    fn extreme_offsets_and_sizes_are_harmless() {
        let run = |recipe: &[u8]| {
            let b = Bundle {
                files: [
                    ("script_4MB".to_string(), recipe.to_vec()),
                    ("app.bin".to_string(), vec![1, 2, 3]),
                ]
                .into_iter()
                .collect(),
            };
            let mut flash = Flash::erased(0x40_0000);
            b.apply(&mut flash)
        };
        assert!(run(
            br#"{"version":"1","script":[["e","0xFFFFFFFFFFFFF000","0xFFFFFFFFFFFFFFFF"]]}"#
        )
        .is_ok());
        assert!(run(br#"{"version":"1","script":[["e","0x1000","0xFFFFFFFFFFFFFFFF"]]}"#).is_ok());
        assert!(run(br#"{"version":"1","partitions":{"fs":["0xFFFFFFFFFFFFFFF0","0x100"]},"script":[["e","fs"]]}"#).is_ok());
        let huge_ota = br#"{"version":"1","partitions":{"otadata":["0x1000","0xFFFFFFFFFFFF"]},"script":[["w","factory","app.bin"]]}"#;
        assert!(matches!(run(huge_ota), Err(BundleError::Flash(_))));
        let wrap_ota = br#"{"version":"1","partitions":{"otadata":["0xFFFFFFFFFFFFFFF0","0x100"]},"script":[["w","factory","app.bin"]]}"#;
        assert!(run(wrap_ota).is_err());
        let wrap_cb = br#"{"version":"1","partitions":{"config":["0xFFFFFFFFFFFFFFF0","0x100"]},"script":[["w","factory","app.bin"]]}"#;
        assert!(run(wrap_cb).is_ok());
    }

    #[test]
    fn config_block_is_protected() {
        let script = br#"{"version":"1","script":[["w","all","dump.bin"]]}"#;
        let dump = vec![0u8; 0x400000];
        let data = test_support::tar_gz(&[("script_4MB", script), ("dump.bin", &dump)]);
        let b = Bundle::from_bytes(&data).unwrap();
        let mut flash = Flash::erased(0x400000);
        flash.write(0x3FF000, &[0x42; 16]).unwrap();
        b.apply(&mut flash).unwrap();
        assert_eq!(
            flash.read(0x3FF000, 17),
            &[[0x42; 16].as_slice(), &[0xFF]].concat()[..]
        );
        assert_eq!(flash.read(0x3FE000, 4), &[0; 4]);
    }
}
