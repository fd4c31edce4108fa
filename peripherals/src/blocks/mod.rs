//! The ESP32's register blocks, one module each; every block is a `soc::device::Device`
//! and has one line in the SoC's block table (`soc/table.rs`).

pub mod dport;
pub mod efuse;
pub mod frc;
pub mod gpio;
pub mod misc;
pub mod radio;
pub mod regblock;
pub mod rmt;
pub mod rtc_cntl;
pub mod spi;
pub mod spi_gp;
pub mod timg;
pub mod uart;
pub mod wdt;

/// Every register declaration, by kind: how a snapshot finds a register file's declaration.
pub static DECLS: &[&regblock::Decl] = &[
    &dport::REGS,
    &efuse::REGS,
    &frc::REGS,
    &gpio::REGS,
    &gpio::iomux::REGS,
    &misc::apb::REGS,
    &misc::i2s::REGS,
    &misc::storage::REGS_512,
    &misc::slc::REGS,
    &misc::sha::REGS,
    &radio::ana::REGS,
    &radio::storage::REGS,
    &radio::fe::REGS,
    &radio::agc::REGS,
    &radio::wmac1::REGS,
    &radio::wdev::REGS,
    &rmt::REGS,
    &rtc_cntl::REGS,
    &spi::REGS,
    &timg::REGS,
    &uart::REGS,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each block's module documentation keeps its datasheet table (`| 0x.. | register |
    /// ... |`); every offset the table's first column names must be declared (`regs!`), so
    /// the table cannot drift from the declaration. Offsets past the declared space (the
    /// DPORT MMU tables, other slots) are outside any register file.
    #[test]
    fn documented_offsets_are_declared() {
        let files: &[(&str, &str, &[&regblock::Decl])] = &[
            ("dport.rs", include_str!("dport.rs"), &[&dport::REGS]),
            ("efuse.rs", include_str!("efuse.rs"), &[&efuse::REGS]),
            ("frc.rs", include_str!("frc.rs"), &[&frc::REGS]),
            ("gpio.rs", include_str!("gpio.rs"), &[&gpio::REGS, &gpio::iomux::REGS]),
            ("misc.rs", include_str!("misc.rs"), &[&misc::apb::REGS, &misc::slc::REGS, &misc::sha::REGS]),
            ("rmt.rs", include_str!("rmt.rs"), &[&rmt::REGS]),
            ("rtc_cntl.rs", include_str!("rtc_cntl.rs"), &[&rtc_cntl::REGS]),
            ("spi.rs", include_str!("spi.rs"), &[&spi::REGS]),
            ("spi_gp.rs", include_str!("spi_gp.rs"), &[&spi::REGS]),
            ("timg.rs", include_str!("timg.rs"), &[&timg::REGS]),
            ("uart.rs", include_str!("uart.rs"), &[&uart::REGS]),
        ];
        let mut missing = Vec::new();
        let mut checked = 0;
        for (name, text, decls) in files {
            for line in text.lines() {
                let Some(row) = line.strip_prefix("//! | ").or_else(|| line.strip_prefix("/// | ")) else { continue };
                let first = row.split(" |").next().unwrap_or("");
                for word in first.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
                    let Some(hex) = word.strip_prefix("0x") else { continue };
                    let Ok(off) = u32::from_str_radix(&hex.replace('_', ""), 16) else { continue };
                    if decls.iter().all(|d| off >= d.size) {
                        continue;
                    }
                    checked += 1;
                    if decls.iter().all(|d| d.find(off).is_none()) {
                        missing.push(format!("{name}: {off:#x} in `{}`", line.trim()));
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} documented offsets found");
        assert!(missing.is_empty(), "documented but not declared:\n{}", missing.join("\n"));
    }

    /// Snapshots find a register file's declaration by its kind: kinds are unique, and
    /// every declaration is listed.
    #[test]
    fn declaration_kinds_are_unique() {
        let mut kinds: Vec<_> = DECLS.iter().map(|d| d.kind).collect();
        kinds.sort();
        let n = kinds.len();
        kinds.dedup();
        assert_eq!(kinds.len(), n, "{kinds:?}");
    }
}
