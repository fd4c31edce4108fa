//! Which board a firmware file was built for, from its content, with the evidence.
//!
//! | clue | read from | narrows to |
//! |---|---|---|
//! | banner | `… ; NAME with ESP32` strings in the app (bundle app member, app image, ELF, app slots of a dump) | boards whose [`Board::banners`] hold NAME |
//! | member | the bundle's app member (`lopy4.bin`, `sipy.bin` …) | boards whose [`Board::app_files`] hold it |
//! | layout | the bundle's `partitions_4MB.bin` / `partitions_8MB.bin`, or a dump's partition table (otadata at 0x1BE000 / 0x1FF000, or where its partitions end) | boards with that flash size (or at least it) |
//! | flash size | a merged dump's / flash state's length | boards with exactly that much flash |
//! | header | the app header's flash size, when ≥ 4 MB (Pycom builds leave it at 1 MB) | boards with at least that much |
//! | file name | [`Board::from_file_name`] | a hint: used only when the content says nothing, else checked against it |
//!
//! The content clues are applied in that order, each narrowing the boards the earlier ones left;
//! a clue that would leave none is reported as a conflict and skipped. Among boards that fit equally
//! the first in [`BOARDS`] is taken, and the others are named.

use crate::board::{Board, BOARDS};
use crate::bundle::Bundle;
use crate::detect::{detect, FileKind};
use crate::partition::PartitionTable;
use serde::Serialize;

/// Where a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clue {
    Banner,
    Member,
    Layout,
    FlashSize,
    Header,
    FileName,
}

impl Clue {
    pub fn name(self) -> &'static str {
        match self {
            Clue::Banner => "banner",
            Clue::Member => "bundle member",
            Clue::Layout => "partition layout",
            Clue::FlashSize => "flash size",
            Clue::Header => "app header",
            Clue::FileName => "file name",
        }
    }
}

/// One thing the file says, and the boards it fits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub clue: Clue,
    pub detail: String,
    /// Ids of the boards this clue allows (empty: it names no board pyemu knows).
    pub boards: Vec<&'static str>,
}

/// The board a file was built for, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    pub kind: FileKind,
    /// `None` when neither the content nor the file name tells.
    pub board: Option<Board>,
    /// Whether the board came from the content (false: from the file name alone, or none).
    pub from_content: bool,
    pub evidence: Vec<Evidence>,
    /// Clues that disagree with the decision, and other boards that fit as well.
    pub remarks: Vec<String>,
}

impl Identification {
    /// `banner "LoPy4 with ESP32" → lopy4; partition layout … ` for messages.
    pub fn summary(&self) -> String {
        self.evidence
            .iter()
            .map(|e| format!("{}: {}", e.clue.name(), e.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

const MB: u64 = 1024 * 1024;
const WITH_ESP32: &[u8] = b" with ESP32";

/// The board names in the MicroPython banners of `data` (`…; LoPy4 with ESP32`), first seen first.
pub fn banner_names(data: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&data[from..], WITH_ESP32).map(|i| i + from) {
        from = at + WITH_ESP32.len();
        // Walk back over printable text to the start of the string or the `; ` before the name.
        let mut start = at;
        while start > 0 && at - start < 64 {
            let c = data[start - 1];
            if !(0x20..0x7F).contains(&c) || c == b';' {
                break;
            }
            start -= 1;
        }
        let name = String::from_utf8_lossy(&data[start..at]).trim().to_string();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn ids(pred: impl Fn(&Board) -> bool) -> Vec<&'static str> {
    BOARDS.iter().filter(|b| pred(b)).map(|b| b.id).collect()
}

fn banner_evidence(data: &[u8], whence: &str, out: &mut Vec<Evidence>) {
    for name in banner_names(data) {
        let boards = ids(|b| b.banners.contains(&name.as_str()));
        out.push(Evidence {
            clue: Clue::Banner,
            detail: format!("{whence}\"{name} with ESP32\""),
            boards,
        });
    }
}

fn header_evidence(app: &[u8], out: &mut Vec<Evidence>) {
    // Byte 3's high nibble: 0 = 1 MB, 1 = 2 MB, 2 = 4 MB, 3 = 8 MB, 4 = 16 MB.
    let Some(&b) = app.get(3).filter(|_| app.first() == Some(&0xE9)) else {
        return;
    };
    let code = b >> 4;
    if (2..=4).contains(&code) {
        let size = MB << code;
        out.push(Evidence {
            clue: Clue::Header,
            detail: format!("the app header asks for {} MB of flash", size / MB),
            boards: ids(|x| x.flash_size as u64 >= size),
        });
    }
}

/// A partition table's layout: Pycom's two by where otadata sits, any other by where it ends.
fn layout_evidence(table: &PartitionTable, whence: &str, out: &mut Vec<Evidence>) {
    let otadata = table.partitions.iter().find(|p| p.ptype == 1 && p.subtype == 0).map(|p| p.offset);
    let (detail, boards) = match otadata {
        Some(0x1BE000) => (format!("{whence}Pycom's 4 MB layout (otadata at 0x1be000)"), ids(|b| b.flash_size as u64 == 4 * MB)),
        Some(0x1FF000) => (format!("{whence}Pycom's 8 MB layout (otadata at 0x1ff000)"), ids(|b| b.flash_size as u64 == 8 * MB)),
        _ => {
            let end = table.partitions.iter().map(|p| p.end()).max().unwrap_or(0);
            (format!("{whence}partitions end at {end:#x}"), ids(|b| b.flash_size as u64 >= end))
        }
    };
    out.push(Evidence { clue: Clue::Layout, detail, boards });
}

fn bundle_evidence(bundle: &Bundle, out: &mut Vec<Evidence>) -> Option<Vec<u8>> {
    let app = bundle.app_image().ok().map(|(name, data)| {
        let base = name.rsplit('/').next().unwrap_or(name);
        out.push(Evidence {
            clue: Clue::Member,
            detail: format!("the bundle's app is {base}"),
            boards: ids(|b| b.app_files.contains(&base)),
        });
        data.to_vec()
    });
    let has = |n: &str| bundle.files.keys().any(|k| k.rsplit('/').next() == Some(n));
    let layouts: Vec<u64> = [4, 8].into_iter().filter(|mb| has(&format!("partitions_{mb}MB.bin"))).collect();
    // A bundle with both tables (WiPy, LoPy builds) leaves the choice to the eFuse revision.
    if let [mb] = layouts[..] {
        out.push(Evidence {
            clue: Clue::Layout,
            detail: format!("the bundle carries only partitions_{mb}MB.bin"),
            boards: ids(|b| b.flash_size as u64 == mb * MB),
        });
    }
    app
}

fn dump_evidence(data: &[u8], out: &mut Vec<Evidence>) {
    let size = data.len() as u64;
    if size.is_power_of_two() && size >= 4 * MB {
        out.push(Evidence {
            clue: Clue::FlashSize,
            detail: format!("the dump holds {} MB", size / MB),
            boards: ids(|b| b.flash_size as u64 == size),
        });
    }
    let table = data.get(0x8000..data.len().min(0x8C00)).and_then(|t| PartitionTable::parse(t).ok());
    let slots: Vec<(String, usize, usize)> = match &table {
        Some(t) => {
            layout_evidence(t, "", out);
            t.partitions
                .iter()
                .filter(|p| p.is_app())
                .map(|p| (p.label.clone(), p.offset as usize, p.end() as usize))
                .collect()
        }
        None => vec![("app at 0x10000".into(), 0x10000, data.len())],
    };
    let mut seen = false;
    for (label, start, end) in slots {
        let Some(app) = data.get(start..end.min(data.len())) else { continue };
        if app.first() != Some(&0xE9) {
            continue;
        }
        if !seen {
            header_evidence(app, out);
            seen = true;
        }
        banner_evidence(app, &format!("{label}: "), out);
    }
}

/// Which board `data` was built for; `file_name` is only a hint.
pub fn identify(data: &[u8], file_name: Option<&str>) -> Identification {
    let kind = detect(data);
    let mut evidence = Vec::new();
    match kind {
        FileKind::Bundle => {
            if let Ok(b) = Bundle::from_bytes(data) {
                if let Some(app) = bundle_evidence(&b, &mut evidence) {
                    header_evidence(&app, &mut evidence);
                    banner_evidence(&app, "", &mut evidence);
                }
            }
        }
        FileKind::AppImage => {
            header_evidence(data, &mut evidence);
            banner_evidence(data, "", &mut evidence);
        }
        FileKind::Elf => banner_evidence(data, "", &mut evidence),
        FileKind::FlashDump => dump_evidence(data, &mut evidence),
        // A flash state that is mostly erased still has its size and app slots.
        FileKind::Unknown if data.len().is_power_of_two() && data.len() as u64 >= 4 * MB => dump_evidence(data, &mut evidence),
        FileKind::PartitionTable => {
            if let Ok(t) = PartitionTable::parse(data) {
                layout_evidence(&t, "", &mut evidence);
            }
        }
        _ => {}
    }
    decide(kind, evidence, file_name)
}

/// Narrows the boards clue by clue (strongest first) and checks the file name against the result.
fn decide(kind: FileKind, mut evidence: Vec<Evidence>, file_name: Option<&str>) -> Identification {
    let order = [Clue::Banner, Clue::Member, Clue::Layout, Clue::FlashSize, Clue::Header];
    evidence.sort_by_key(|e| order.iter().position(|c| *c == e.clue));
    let mut remarks = Vec::new();
    let mut left: Vec<&'static str> = BOARDS.iter().map(|b| b.id).collect();
    let mut narrowed = false;
    // Whether a clue that names a board (not just a size) narrowed the list.
    let mut named = false;
    for e in &evidence {
        if e.boards.is_empty() && e.clue == Clue::Banner {
            remarks.push(format!("{} names a board pyemu does not know", e.detail));
            continue;
        }
        let next: Vec<_> = left.iter().copied().filter(|id| e.boards.contains(id)).collect();
        if next.is_empty() {
            remarks.push(format!("{} ({}) disagrees with the stronger clues; ignored", e.detail, e.clue.name()));
        } else {
            left = next;
            narrowed = true;
            named |= matches!(e.clue, Clue::Banner | Clue::Member);
        }
    }
    let hint = file_name.map(|n| (n, Board::from_file_name(n)));
    let mut board = None;
    let mut from_content = false;
    if narrowed && !named {
        // Sizes alone name no board: the file name picks among the boards they fit, else the
        // generic module of that size (a Pycom board would have named itself in its banner).
        let hinted = hint.as_ref().and_then(|(_, h)| h.as_ref().ok()).filter(|h| left.contains(&h.id));
        let generic = left.iter().find(|id| Board::by_id(id).is_ok_and(|b| b.banners == crate::board::GENERIC));
        match (hinted, generic) {
            (Some(_), _) => {}
            (None, Some(g)) => {
                remarks.push(format!("the content names no board; its sizes fit the generic {g}"));
                left = vec![g];
            }
            (None, None) => left.clear(),
        }
        narrowed = !left.is_empty();
    }
    if narrowed {
        board = Board::by_id(left[0]).ok();
        from_content = true;
        if left.len() > 1 {
            remarks.push(format!("also fits {} (pass --board to pick one)", left[1..].join(", ")));
        }
        if let Some((n, Ok(named))) = &hint {
            let base = n.rsplit(['/', '\\']).next().unwrap_or(n);
            if left.contains(&named.id) {
                // The name picks among boards the content fits equally.
                board = Some(*named);
                evidence.push(Evidence { clue: Clue::FileName, detail: format!("{base} names the {} (agrees)", named.id), boards: vec![named.id] });
            } else {
                remarks.push(format!("the file name {base} names the {}, but the content says {}; going by the content", named.id, left[0]));
            }
        }
    } else if let Some((n, Ok(named))) = &hint {
        let base = n.rsplit(['/', '\\']).next().unwrap_or(n);
        evidence.push(Evidence { clue: Clue::FileName, detail: format!("{base} names the {} (the content names no board)", named.id), boards: vec![named.id] });
        board = Some(*named);
    }
    Identification { kind, board, from_content, evidence, remarks }
}

/// What follows from running firmware built for `built` on `run`: the differences that matter,
/// empty when the two boards agree on every fact the firmware reads.
pub fn consequences(built: &Board, run: &Board) -> Vec<String> {
    let mut out = Vec::new();
    if run.chip_revision > 0 && !run.has_psram() {
        out.push(format!(
            "the {} reports eFuse revision {} without PSRAM: a Pycom-format build takes its 8 MB/PSRAM path and hangs at `GC pool malloc failed!`",
            run.id, run.chip_revision
        ));
    } else if built.generation != run.generation {
        out.push(format!(
            "the {} is built for the {} MB layout, but the {}'s eFuse revision {} makes the firmware expect the {} MB one: partition table, OTA slots and /flash will not match",
            built.id,
            built.flash_size >> 20,
            run.id,
            run.chip_revision,
            if run.chip_revision > 0 { 8 } else { 4 }
        ));
    } else if built.flash_size != run.flash_size {
        out.push(format!("{} MB of flash instead of {} MB", run.flash_size >> 20, built.flash_size >> 20));
    }
    let missing: Vec<_> = built.radios().into_iter().filter(|r| !run.radios().contains(r)).collect();
    if !missing.is_empty() {
        out.push(format!("the {} has no {}: the firmware's {} calls find no radio", run.id, missing.join("/"), missing.join("/")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up app image: a header and a DROM-ish blob holding `text`.
    fn app(text: &[u8], header_size: u8) -> Vec<u8> {
        let mut d = vec![0xE9, 1, 2, header_size << 4];
        d.extend_from_slice(&[0; 20]);
        d.extend_from_slice(b"\0\0junk\0");
        d.extend_from_slice(text);
        d.extend_from_slice(b"\0more\0");
        d
    }

    #[test]
    fn banner_names_are_read_back_to_the_semicolon_or_the_string_start() {
        let d = app(b"Pycom MicroPython 1.20.2.r7 [v1] on 2023-08-21; LoPy4 with ESP32\r\n\0Heltec Wireless Stick with ESP32\0LoPy4 with ESP32\0", 0);
        assert_eq!(banner_names(&d), vec!["LoPy4".to_string(), "Heltec Wireless Stick".to_string()]);
    }

    #[test]
    fn a_banner_decides_and_the_file_name_is_only_a_hint() {
        let d = app(b"MicroPython v1 on 2020; SiPy with ESP32\r\n", 0);
        let id = identify(&d, Some("firmware.bin"));
        assert_eq!(id.kind, FileKind::AppImage);
        assert_eq!(id.board.unwrap().id, "sipy");
        assert!(id.from_content);
        // A disagreeing name is remarked on, not followed.
        let id = identify(&d, Some("LoPy4-1.20.2.r7.bin"));
        assert_eq!(id.board.unwrap().id, "sipy");
        assert!(id.remarks.iter().any(|r| r.contains("names the lopy4")), "{:?}", id.remarks);
    }

    #[test]
    fn generic_and_wipy_builds_take_the_first_fitting_board_and_name_the_others() {
        let d = app(b"; Generic Module with ESP32\0", 0);
        let id = identify(&d, None);
        assert_eq!(id.board.unwrap().id, "esp32-4mb");
        assert!(id.remarks.iter().any(|r| r.contains("esp32-8mb")));
        // An 8 MB header narrows it.
        let id = identify(&app(b"; Generic Module with ESP32\0", 3), None);
        assert_eq!(id.board.unwrap().id, "esp32-8mb");
        // The file name picks among equals.
        let id = identify(&app(b"; WiPy with ESP32\0", 0), Some("wipy2-fw.bin"));
        assert_eq!(id.board.unwrap().id, "wipy2");
        let id = identify(&app(b"; WiPy with ESP32\0", 0), None);
        assert_eq!(id.board.unwrap().id, "wipy3");
        assert_eq!(identify(&app(b"; Heltec Wireless Stick with ESP32\0", 0), None).board.unwrap().id, "heltec-ws");
    }

    #[test]
    fn unknown_banner_and_no_clue() {
        let id = identify(&app(b"; Frobnicator with ESP32\0", 0), Some("firmware.bin"));
        assert!(id.board.is_none());
        assert!(id.remarks[0].contains("Frobnicator"));
        let id = identify(&app(b"nothing", 0), Some("GPy-1.0.bin"));
        assert_eq!(id.board.unwrap().id, "gpy");
        assert!(!id.from_content);
    }

    #[test]
    fn a_dump_is_read_by_its_size_its_table_and_its_app_slots() {
        let mut d = vec![0xFF; 4 << 20];
        let a = app(b"; SiPy with ESP32\0", 0);
        d[0x10000..0x10000 + a.len()].copy_from_slice(&a);
        let id = identify(&d, None);
        assert_eq!(id.board.unwrap().id, "sipy");
        assert!(id.evidence.iter().any(|e| e.clue == Clue::FlashSize));
        // An 8 MB dump with a SiPy app: the banner wins, the size is a conflict.
        let mut d8 = vec![0xFF; 8 << 20];
        d8[..d.len()].copy_from_slice(&d);
        let id = identify(&d8, None);
        assert_eq!(id.board.unwrap().id, "sipy");
        assert!(id.remarks.iter().any(|r| r.contains("8 MB")), "{:?}", id.remarks);
    }

    #[test]
    fn sizes_alone_give_the_generic_module_or_the_named_board_of_that_size() {
        let d = vec![0xFF; 8 << 20];
        let id = identify(&d, Some("flash.bin"));
        assert_eq!(id.board.unwrap().id, "esp32-8mb");
        assert!(id.remarks[0].contains("names no board"), "{:?}", id.remarks);
        let id = identify(&d, Some("FiPy-state.bin"));
        assert_eq!(id.board.unwrap().id, "fipy");
    }

    #[test]
    fn consequences_name_the_psram_hang_and_missing_radios() {
        let lopy4 = Board::by_id("lopy4").unwrap();
        let c = consequences(&lopy4, &Board::by_id("esp32-8mb-nopsram").unwrap());
        assert!(c[0].contains("GC pool malloc failed!"));
        assert!(c.iter().any(|x| x.contains("LoRa/Sigfox")));
        let c = consequences(&lopy4, &Board::by_id("sipy").unwrap());
        assert!(c[0].contains("8 MB layout"));
        assert!(consequences(&lopy4, &lopy4).is_empty());
    }
}
