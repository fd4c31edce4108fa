//! Snapshot files as the CLI and scenarios use them: the machine's own snapshot
//! (`peripherals::snapshot`) plus what a session needs to carry on — the board, the firmware
//! it came from, the MAC — written atomically, read with errors that name the file.

use anyhow::{anyhow, Context};
use images::board::Board;
use peripherals::Machine;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The session's part of a snapshot header.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub board: String,
    pub mac: [u8; 6],
    /// The firmware the board was built from, and its SHA-256 (informative).
    pub firmware: Option<String>,
    pub firmware_sha256: Option<String>,
    /// Why and when it was taken, for the user (`at ">>> "`, `scenario step 4`).
    pub taken: String,
}

impl Meta {
    pub fn new(board: &Board, mac: [u8; 6], firmware: Option<&Path>, taken: String) -> Meta {
        let (firmware, firmware_sha256) = match firmware {
            Some(p) => (
                Some(p.canonicalize().unwrap_or_else(|_| p.to_path_buf()).display().to_string()),
                std::fs::read(p).ok().map(|b| crate::state::sha256_hex(&b)),
            ),
            None => (None, None),
        };
        Meta { board: board.id.to_string(), mac, firmware, firmware_sha256, taken }
    }
}

/// Writes the whole machine to `path` (atomically; a device is written in place). Returns
/// the file's size.
pub fn save(m: &Machine, path: &Path, meta: &Meta) -> anyhow::Result<usize> {
    let bytes = m.snapshot(serde_json::to_value(meta)?);
    crate::state::write_atomic(path, &bytes).with_context(|| format!("writing snapshot {}", path.display()))?;
    Ok(bytes.len())
}

/// A machine restored from a snapshot file.
pub struct Loaded {
    pub m: Machine,
    pub meta: Meta,
    pub board: Board,
}

impl Loaded {
    /// Puts the restored flash in the flash state `state` (created from the snapshot if
    /// missing, refused if it holds other data), or leaves it in memory. Returns the state's
    /// lock (held for the run) and notes for the user.
    pub fn attach_state(&mut self, state: Option<&Path>, snapshot: &Path) -> anyhow::Result<(Option<std::fs::File>, Vec<String>)> {
        let Some(p) = state else { return Ok((None, Vec::new())) };
        let origin = crate::state::Origin {
            pyemu: env!("CARGO_PKG_VERSION").into(),
            firmware: self.meta.firmware.clone().unwrap_or_default(),
            firmware_sha256: self.meta.firmware_sha256.clone().unwrap_or_default(),
            board: self.board.id.into(),
            config: None,
            boot_info: None,
        };
        let flash = self.m.replace_flash(peripherals::flash::Flash::new_in_memory(0));
        let st = crate::state::open_for_snapshot(p, flash, origin, snapshot)?;
        self.m.replace_flash(st.flash);
        Ok((Some(st.lock), st.notes))
    }
}

pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("snapshot {}: cannot read", path.display()))?;
    let (m, header) = Machine::restore(&bytes).map_err(|e| anyhow!("snapshot {}: {e}", path.display()))?;
    let meta: Meta =
        serde_json::from_value(header.session).map_err(|e| anyhow!("snapshot {}: not written by `pyemu run` or `pyemu test` ({e})", path.display()))?;
    let board = Board::by_id(&meta.board).map_err(|e| anyhow!("snapshot {}: {e}", path.display()))?;
    Ok(Loaded { m, meta, board })
}
