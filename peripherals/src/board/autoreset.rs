//! The auto-reset circuit of USB-UART boards: the bridge's DTR and RTS outputs drive the
//! ESP32's EN (CHIP_PU) and GPIO0 through two NPN transistors, so a host program can put
//! the chip into its ROM loader or restart it (esptool's `--before default-reset`,
//! `--after hard-reset`).
//!
//! As on the ESP32-DevKitC and most ESP32 USB boards (Espressif's reference design):
//!
//! * Q1: base (through 10 kΩ) on DTR#, emitter on RTS#, collector on EN.
//! * Q2: base (through 10 kΩ) on RTS#, emitter on DTR#, collector on GPIO0.
//!
//! The bridge's pins are active low: a host asserting DTR (pyserial `dtr = True`,
//! `TIOCM_DTR` set) drives DTR# low. A transistor conducts, pulling its collector low,
//! when its base is high and its emitter low:
//!
//! | DTR | RTS | DTR# | RTS# | EN | GPIO0 | |
//! |---|---|---|---|---|---|---|
//! | off | off | 1 | 1 | high | high (pull-up) | idle (port closed) |
//! | on | on | 0 | 0 | high | high | idle (pyserial's default when a port opens) |
//! | off | on | 1 | 0 | **low** | high | chip held in reset |
//! | on | off | 0 | 1 | high | **low** | GPIO0 low: the download strap if EN rises now |
//!
//! So EN = !(RTS && !DTR) and GPIO0 = !(DTR && !RTS): neither line alone, and no state a
//! terminal program leaves both lines in, resets the chip; only RTS asserted with DTR
//! released does. EN itself has the RC the ESP32 datasheet recommends (10 kΩ, 1 µF): the
//! chip leaves reset [`EN_RISE_PS`] after EN is released and latches its straps then
//! (`Machine`, `HostInput::En`).

/// Time from EN's release to the chip leaving reset: the 10 kΩ / 1 µF RC on CHIP_PU
/// (τ = 10 ms) charging to the input-high threshold, 0.75 VDD: τ·ln 4 ≈ 13.86 ms.
pub const EN_RISE_PS: u64 = 13_863_000_000;

/// What the circuit does to EN and GPIO0 for host control lines `dtr`, `rts` (true =
/// asserted): (EN pulled low, GPIO0 pulled low). A line not pulled low floats high on its
/// pull-up.
pub fn circuit(dtr: bool, rts: bool) -> (bool, bool) {
    (rts && !dtr, dtr && !rts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rts_alone_resets_and_only_dtr_alone_pulls_gpio0() {
        assert_eq!(circuit(false, false), (false, false));
        assert_eq!(circuit(true, true), (false, false));
        assert_eq!(circuit(false, true), (true, false));
        assert_eq!(circuit(true, false), (false, true));
    }
}
