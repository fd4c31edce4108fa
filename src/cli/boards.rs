//! `pyemu boards`, and the board a firmware file runs on: `--board` when given, else what its
//! content says ([`images::identify`]), the file name only as a hint.

use anyhow::Context;
use images::board::{board_list, Board, BOARDS};
use images::identify::{consequences, identify, Identification};
use std::path::Path;

use super::out::outln;

#[derive(clap::Args, Debug)]
pub struct BoardsArgs {
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
}

fn mb(bytes: u32) -> String {
    if bytes == 0 {
        "–".into()
    } else {
        format!("{} MB", bytes >> 20)
    }
}

pub fn list(args: &BoardsArgs) -> anyhow::Result<()> {
    if args.json {
        outln!("{}", serde_json::to_string_pretty(BOARDS)?)?;
        return Ok(());
    }
    outln!("{:<18} {:<36} {:>6} {:>6} {:>4} {:<25} {:<4} notes", "board", "name", "flash", "PSRAM", "rev", "radios", "LED")?;
    for b in BOARDS {
        let mut radios = vec!["WiFi", "BT"];
        radios.extend(b.radios());
        outln!(
            "{:<18} {:<36} {:>6} {:>6} {:>4} {:<25} {:<4} {}",
            b.id,
            b.name,
            mb(b.flash_size),
            mb(b.psram_size),
            b.chip_revision,
            radios.join(" "),
            if b.rgb_led { "RGB" } else { "–" },
            b.notes
        )?;
    }
    outln!("rev: the eFuse chip revision the board reports; Pycom firmware takes its 8 MB/PSRAM layout when it is > 0.")?;
    Ok(())
}

/// The identification of a firmware file (read here; errors name the file).
pub(crate) fn identify_file(path: &Path) -> anyhow::Result<Identification> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(identify(&data, Some(&path.display().to_string())))
}

/// The board to run `firmware` on: `flag` (`--board`, a scenario's `board:`) when given, with a
/// warning when the content says another board; else the board the content names.
pub(crate) fn for_firmware(flag: Option<&str>, firmware: &Path) -> anyhow::Result<Board> {
    let given = flag.map(Board::by_id).transpose()?;
    let id = identify_file(firmware)?;
    let name = firmware.display();
    match (given, id.board) {
        (Some(g), Some(b)) if g.id != b.id && id.from_content => {
            let mut what = consequences(&b, &g);
            if what.is_empty() {
                what.push(format!("the two agree on flash, PSRAM and eFuse revision, and the {} has every radio the {} has", g.id, b.id));
            }
            eprintln!(
                "pyemu: warning: {name} looks built for the {} ({}), not the {} of --board: {}; going on with the {}",
                b.id,
                id.summary(),
                g.id,
                what.join("; "),
                g.id
            );
            Ok(g)
        }
        (Some(g), _) => Ok(g),
        (None, Some(b)) => {
            for r in &id.remarks {
                eprintln!("pyemu: {name}: {r}");
            }
            Ok(b)
        }
        (None, None) => {
            let why = if id.evidence.is_empty() && id.remarks.is_empty() {
                "its content names no board and neither does its file name".to_string()
            } else {
                [id.summary(), id.remarks.join("; ")].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("; ")
            };
            anyhow::bail!("{name}: cannot tell the board: {why}; pass --board (boards: {})", board_list())
        }
    }
}
