//! `pyemu flash ...`: build a board's flash image from firmware, and inspect one.

use super::out::outln;
use anyhow::{bail, Context};
use clap::Subcommand;
use images::bundle::Bundle;
use images::detect::{detect, FileKind};
use images::compose::{build, BootInfoOverride, Firmware, Overrides};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum FlashCommand {
    /// Build a flash image from a bundle, app/bootloader image, partition table, ELF or flash dump,
    /// the way Pycom's updater would flash it.
    Build {
        /// The firmware: a Pycom bundle (.tar.gz), an app image, an ELF, a flash dump, ...
        firmware: PathBuf,
        /// Output flash image (the board's flash size).
        #[arg(short, long)]
        output: PathBuf,
        /// Board (lopy4, wipy3, fipy, gpy, sipy, lopy, wipy2, esp32-4mb, esp32-8mb); default from the
        /// bundle's file name.
        #[arg(long)]
        board: Option<String>,
        /// Second-stage bootloader for 0x1000: an image, or a Pycom bundle (its bootloader.bin).
        /// An app image or ELF given alone otherwise gets Pycom's from a bundle beside it, or
        /// ESP-IDF's (with a notice), and Pycom's partition table for the board.
        #[arg(long, value_name = "FILE")]
        bootloader: Option<PathBuf>,
        /// Partition table binary to put at 0x8000.
        #[arg(long, value_name = "FILE")]
        partitions: Option<PathBuf>,
        /// App image (or ELF) for the factory slot.
        #[arg(long, value_name = "FILE")]
        app: Option<PathBuf>,
        /// App image (or ELF) for the ota_0 slot.
        #[arg(long, value_name = "FILE")]
        ota0: Option<PathBuf>,
        /// Write a boot_info record: e.g. active=ota_0,status=check,prev=factory,safeboot=0 (other
        /// fields as the bootloader's default record); or `erased`.
        #[arg(long, value_name = "SPEC")]
        boot_info: Option<String>,
        /// Set config-block fields, e.g. wifi_on_boot=0,heartbeat_on_boot=1,wdt_on_boot=0,
        /// lte_modem_on_boot=0,boot_fs_type=fat (or quiet=1).
        #[arg(long, value_name = "SPEC")]
        config: Option<String>,
        /// Erase the config block at 0x3FF000 (before applying --config).
        #[arg(long)]
        erase_config: bool,
        /// Print the build steps as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a flash image: partition map, what each slot holds, boot record, config block.
    Info {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn read(p: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let data = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    Ok((p.display().to_string(), data))
}

/// An app given as an ELF is converted first.
fn read_app(p: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let (name, data) = read(p)?;
    if detect(&data) == FileKind::Elf {
        let img =
            images::elf::elf_to_image(&data, &Default::default()).with_context(|| name.clone())?;
        return Ok((name, img));
    }
    Ok((name, data))
}

pub fn run(cmd: FlashCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FlashCommand::Info { file, json } => super::image::flash_info(&file, json),
        FlashCommand::Build {
            firmware,
            output,
            board,
            bootloader,
            partitions,
            app,
            ota0,
            boot_info,
            config,
            erase_config,
            json,
        } => {
            let (name, data) = read(&firmware)?;
            let board = super::boards::for_firmware(board.as_deref(), &firmware)?;
            if let (Ok(a), Ok(b)) = (firmware.canonicalize(), output.canonicalize()) {
                if a == b {
                    bail!(
                        "{}: refusing to overwrite the input firmware",
                        output.display()
                    );
                }
            }
            let kind = detect(&data);
            let fw = match kind {
                FileKind::Bundle => {
                    Firmware::Bundle(Bundle::from_bytes(&data).with_context(|| name.clone())?)
                }
                FileKind::AppImage => Firmware::App(data),
                FileKind::BootloaderImage => Firmware::Bootloader(data),
                FileKind::PartitionTable => Firmware::PartitionTable(data),
                FileKind::Elf => Firmware::Elf(data),
                FileKind::FlashDump => Firmware::FlashDump(data),
                k => bail!(
                    "{name}: {} cannot be the firmware of a flash build",
                    k.with_article()
                ),
            };
            let bootloader =
                super::bootloader::for_firmware(&firmware, &fw, &board, bootloader.as_deref(), None)?;
            let ov = Overrides {
                bootloader,
                partitions: partitions.as_deref().map(read).transpose()?,
                app: app.as_deref().map(read_app).transpose()?,
                ota0: ota0.as_deref().map(read_app).transpose()?,
                boot_info: boot_info.map(|s| {
                    if s == "erased" {
                        BootInfoOverride::Erased
                    } else {
                        BootInfoOverride::Spec(s)
                    }
                }),
                config,
                erase_config,
            };
            let (flash, log) = build(&name, &fw, &board, &ov)
                .with_context(|| format!("building a {} flash image from {name}", board.id))?;
            std::fs::write(&output, &flash.data)
                .with_context(|| format!("writing {}", output.display()))?;
            for n in &log.notices {
                eprintln!("pyemu: notice: {n}");
            }
            if let Some(why) = images::compose::boot_problem(&flash) {
                eprintln!("pyemu: warning: {} cannot boot: {why}", output.display());
            }
            if json {
                outln!("{}", serde_json::to_string_pretty(&log)?)?;
            } else {
                outln!(
                    "{}: {} MB flash for {} from {name}",
                    output.display(),
                    log.flash_size >> 20,
                    board.id
                )?;
                if let Some(s) = &log.script {
                    outln!("  recipe {}:", s.script)?;
                    for step in &s.steps {
                        outln!("    {step}")?;
                    }
                }
                for step in &log.steps {
                    outln!("  {step}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
