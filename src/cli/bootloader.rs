//! The bootloader an app image gets when it comes alone (an app image or ELF, no bundle): the
//! one `--bootloader` names (a bootloader image or a Pycom bundle), else the one already in the
//! flash state being rewritten (`--reflash`), else Pycom's from a bundle beside the image in the
//! same directory. Without any, [`images::compose::build`] puts ESP-IDF's under it and says so.

use anyhow::{bail, Context};
use images::board::Board;
use images::bundle::Bundle;
use images::compose::{check_bootloader, Firmware};
use images::detect::{detect, FileKind};
use images::flash::BOOTLOADER_OFFSET;
use images::partition::TABLE_OFFSET;
use std::path::Path;

/// A bootloader for the flash: (where it came from, for messages and the build log; image).
pub type Found = (String, Vec<u8>);

/// Largest file looked into as a bundle beside the image (Pycom's are ~1–2 MB).
const MAX_BESIDE: u64 = 16 << 20;

/// The bootloader member of a Pycom bundle.
fn of_bundle(name: &str, b: &Bundle) -> anyhow::Result<Vec<u8>> {
    let data = b
        .file("bootloader.bin")
        .with_context(|| format!("{name}: a Pycom bundle without bootloader.bin"))?;
    Ok(data.to_vec())
}

/// `--bootloader FILE`: a bootloader image, or a Pycom bundle (its `bootloader.bin`).
pub fn from_flag(path: &Path) -> anyhow::Result<Found> {
    let name = path.display().to_string();
    let data = std::fs::read(path).with_context(|| format!("--bootloader {name}: cannot read"))?;
    let (what, image) = match detect(&data) {
        FileKind::BootloaderImage => (name.clone(), data),
        FileKind::Bundle => {
            let b = Bundle::from_bytes(&data).with_context(|| format!("--bootloader {name}"))?;
            (format!("bootloader.bin of {name}"), of_bundle(&name, &b)?)
        }
        FileKind::Unknown => bail!("--bootloader {name}: not a file pyemu recognises; give a bootloader image (what goes at 0x1000) or a Pycom bundle"),
        k => bail!(
            "--bootloader {name}: {}, not a bootloader image (what goes at 0x1000) or a Pycom bundle",
            k.with_article()
        ),
    };
    check_bootloader(&what, &image).with_context(|| format!("--bootloader {name}"))?;
    Ok((what, image))
}

/// The bootloader in an existing flash state, if it holds a sound one.
fn from_state(state: &Path) -> Option<Found> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(state).ok()?;
    f.seek(SeekFrom::Start(BOOTLOADER_OFFSET)).ok()?;
    let mut buf = vec![0u8; (TABLE_OFFSET - BOOTLOADER_OFFSET) as usize];
    f.read_exact(&mut buf).ok()?;
    let img = images::AppImage::parse(&buf).ok()?;
    buf.truncate(img.length);
    let name = format!("the bootloader in flash state {}", state.display());
    check_bootloader(&name, &buf).ok()?;
    Some((name, buf))
}

/// Pycom's bootloader from a bundle in the image's directory: the bundle of this very app
/// first, then one built for the same board, then one of the same flash layout.
fn beside(firmware: &Path, app: Option<&[u8]>, board: &Board) -> Option<Found> {
    let dir = firmware.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).collect();
    entries.sort();
    let mut best: Option<(u8, Found)> = None;
    for p in entries {
        let fname = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if !(fname.ends_with(".tar.gz") || fname.ends_with(".tgz") || fname.ends_with(".tar")) {
            continue;
        }
        if !p.metadata().is_ok_and(|m| m.is_file() && m.len() <= MAX_BESIDE) {
            continue;
        }
        let Ok(data) = std::fs::read(&p) else { continue };
        let Ok(b) = Bundle::from_bytes(&data) else { continue };
        let Ok(bl) = of_bundle("", &b) else { continue };
        if !images::compose::is_pycom_bootloader(&bl) || check_bootloader("", &bl).is_err() {
            continue;
        }
        let same_app = app.is_some_and(|a| b.app_image().is_ok_and(|(_, x)| x == a));
        let id = images::identify::identify(&data, Some(&p.display().to_string()));
        let rank = if same_app {
            0
        } else if id.board.is_some_and(|x| x.id == board.id) {
            1
        } else if id.board.is_some_and(|x| x.layout() == board.layout()) {
            2
        } else {
            continue;
        };
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            let why = ["the bundle of this app", "a bundle for the same board", "a bundle of the same flash layout"][rank as usize];
            let shown = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().to_string());
            best = Some((rank, (format!("Pycom's bootloader from {shown} beside it ({why})"), bl)));
        }
    }
    best.map(|(_, f)| f)
}

/// The bootloader to give `fw` from `firmware`, in the order the module doc says; `None` for
/// firmware that brings its own (bundles, dumps) or when none is at hand (ESP-IDF's then).
/// `state`: a flash state being rewritten from `fw`.
pub fn for_firmware(firmware: &Path, fw: &Firmware, board: &Board, flag: Option<&Path>, state: Option<&Path>) -> anyhow::Result<Option<Found>> {
    if let Some(p) = flag {
        return from_flag(p).map(Some);
    }
    let app = match fw {
        Firmware::App(a) => Some(a.as_slice()),
        Firmware::Elf(_) => None,
        _ => return Ok(None),
    };
    // Pycom's first, wherever it is; another one the state holds before none at all.
    let kept = state.and_then(from_state);
    if let Some(f) = kept.as_ref().filter(|(_, d)| images::compose::is_pycom_bootloader(d)) {
        return Ok(Some(f.clone()));
    }
    Ok(beside(firmware, app, board).or(kept))
}
