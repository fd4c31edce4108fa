//! `pyemu bench safeboot`: wall time of the Pycom bootloader's safe-boot windows (P12 held
//! from power-on for 0, 1, 4.5 and 8 s) up to the app's entry, with and without the ROM
//! busy-wait fast path. Prints figures; asserts nothing.

use super::out::outln;
use super::run::{fmt_time, load_firmware};
use anyhow::Context;
use clap::Args;
use images::compose::{build, Overrides};
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use peripherals::{Machine, MachineConfig, Stop};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct SafebootArgs {
    /// Firmware bundle (default: the LoPy4 r7 bundle in ../shared/firmware).
    #[arg(default_value = "../shared/firmware/LoPy4-1.20.2.r7.tar.gz")]
    pub firmware: PathBuf,
    /// Board (default: the one the firmware was built for).
    #[arg(long)]
    pub board: Option<String>,
}

pub fn bench_safeboot(args: &SafebootArgs) -> anyhow::Result<()> {
    let (name, fw) = load_firmware(&args.firmware)?;
    let board = super::boards::for_firmware(args.board.as_deref(), &args.firmware)?;
    let (image, _) = build(&name, &fw, &board, &Overrides::default()).with_context(|| format!("building flash from {name}"))?;
    let app = images::app_image::AppImage::parse(&image.data[0x10000..]).context("factory app image")?;
    let entry = app.header.entry;
    outln!("safe-boot hold on P12 (GPIO21) from power-on, run to the app entry {entry:#010x}: {name}")?;
    outln!("{:>8} {:>9} {:>14} {:>12} {:>10} {:>12}", "hold", "fastpath", "virtual time", "wall", "LED frames", "instructions")?;
    for hold_ms in [0u64, 1000, 4500, 8000] {
        for fast in [true, false] {
            if !fast && hold_ms != 8000 {
                continue;
            }
            let mut flash = Flash::new_in_memory(board.flash_size);
            flash.load(0, &image.data);
            let cfg = MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 0, 0, 1]);
            let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
            if hold_ms > 0 {
                m.set_drive(21, Drive::High);
                m.schedule_drive(hold_ms * 1_000_000_000, 21, Drive::Float);
            }
            m.set_fastpath(fast);
            m.add_hook(entry);
            m.power_on();
            let t = Instant::now();
            let stop = m.run_until(20_000_000_000_000);
            let wall = t.elapsed().as_secs_f64();
            let reached = matches!(stop, Stop::Hook { .. });
            outln!(
                "{:>7.1}s {:>9} {:>14} {:>10.3} s {:>10} {:>12}{}",
                hold_ms as f64 / 1000.0,
                if fast { "on" } else { "off" },
                fmt_time(m.now_ps),
                wall,
                m.led.frames.len(),
                m.cores[0].instret + m.cores[1].instret,
                if reached { "" } else { "  (entry not reached)" }
            )?;
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct BootArgs {
    /// Firmware bundle (default: the LoPy4 r7 bundle in ../shared/firmware).
    #[arg(default_value = "../shared/firmware/LoPy4-1.20.2.r7.tar.gz")]
    pub firmware: PathBuf,
    /// Board (default: the one the firmware was built for).
    #[arg(long)]
    pub board: Option<String>,
    /// Config-block fields for the fresh flash (radios off by default, as in the tests).
    #[arg(long, default_value = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0")]
    pub config: String,
    /// Give up after this much virtual time per boot.
    #[arg(long, default_value = "30s", value_parser = super::run::parse_duration)]
    pub timeout: u64,
    /// Bootloader for an app image given alone (as `pyemu run --bootloader`).
    #[arg(long, value_name = "FILE")]
    pub bootloader: Option<PathBuf>,
}

/// Wall and virtual time from power-on to the MicroPython prompt, for a first boot (fresh
/// flash: NVS and the filesystem get formatted) and a second boot of the same flash.
pub fn bench_boot(args: &BootArgs) -> anyhow::Result<()> {
    let (name, fw) = load_firmware(&args.firmware)?;
    let board = super::boards::for_firmware(args.board.as_deref(), &args.firmware)?;
    let bootloader = super::bootloader::for_firmware(&args.firmware, &fw, &board, args.bootloader.as_deref(), None)?;
    let from = bootloader.as_ref().map(|(f, _)| format!(", bootloader: {f}"));
    let ov = Overrides { config: Some(args.config.clone()), bootloader, ..Default::default() };
    let (image, log) = build(&name, &fw, &board, &ov).with_context(|| format!("building flash from {name}"))?;
    for n in &log.notices {
        eprintln!("pyemu: notice: {n}");
    }
    outln!("power-on to `>>> ` on a {} with {name} (config {}{})", board.id, args.config, from.unwrap_or_default())?;
    outln!("{:>7} {:>14} {:>12} {:>14} {:>22}", "boot", "virtual time", "wall", "instructions", "cache fills PRO / APP")?;
    let mut state = image.data.clone();
    for which in ["first", "second"] {
        let mut flash = Flash::new_in_memory(board.flash_size);
        flash.load(0, &state);
        let cfg = MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 0, 0, 1]);
        let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg)?;
        m.power_on();
        let t = Instant::now();
        let mut seen = Vec::new();
        let mut reached = false;
        while m.now_ps < args.timeout {
            let step = (m.now_ps + 10_000_000_000).min(args.timeout);
            m.run_until(step);
            seen.append(&mut m.uart0_out);
            if seen.windows(4).any(|w| w == b">>> ") {
                reached = true;
                break;
            }
        }
        let wall = t.elapsed().as_secs_f64();
        let panicked = seen.windows(15).any(|w| w == b"Guru Meditation");
        outln!(
            "{which:>7} {:>14} {:>10.3} s {:>14} {:>22}{}{}",
            fmt_time(m.now_ps),
            wall,
            m.cores[0].instret + m.cores[1].instret,
            format!("{} / {}", m.cache_stats().misses[0], m.cache_stats().misses[1]),
            if reached { String::new() } else { format!("  (no prompt within {})", fmt_time(args.timeout)) },
            if panicked { "  (the firmware panicked on the way: see docs/known-issues.md)" } else { "" }
        )?;
        state = m.flash().data().to_vec();
    }
    Ok(())
}
