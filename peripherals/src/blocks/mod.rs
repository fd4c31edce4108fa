//! The ESP32's register blocks, one module each; every block is a `soc::device::Device`
//! and has one line in the SoC's block table (`soc/mod.rs`).

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
    &spi_gp::REGS,
    &timg::REGS,
    &uart::REGS,
];
