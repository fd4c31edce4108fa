//! Command-line interface. Each subcommand lives in its own module.

pub mod bench;
pub mod bench_boot;
pub mod bench_snapshot;
pub mod boards;
pub mod bootloader;
pub mod campaign;
pub mod flash;
pub mod fs;
pub mod image;
pub mod out;
pub mod plot;
pub mod run;
pub mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "pyemu", version, about = "Emulate Pycom ESP32 boards running their real firmware")]
pub struct Cli {
    /// Log filter (tracing syntax), e.g. `warn` or `peripherals=debug`.
    #[arg(long, global = true, default_value = "warn", env = "PYEMU_LOG")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Power on a board with FIRMWARE and stream UART0 (see `pyemu run --help`).
    Run(Box<run::RunArgs>),
    /// Run scenario files (Wokwi's automation format plus pyemu's steps); JUnit with --junit.
    Test(test::TestArgs),
    /// Inspect a firmware file: bundle, app or bootloader image, partition table, ELF, flash dump.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Build and inspect flash images.
    #[command(subcommand)]
    Flash(flash::FlashCommand),
    /// The board's /flash inside a flash state, board off: ls, cat, get, put, rm, mkdir, tree,
    /// df, format.
    #[command(subcommand)]
    Fs(fs::FsCommand),
    /// Campaigns over many runs of a scenario (power cuts at every kind of flash operation).
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
    /// Draw LED traces, VCDs and `--json` outcomes of earlier runs as one picture (SVG/PNG).
    Plot(plot::PlotArgs),
    /// The boards pyemu emulates, with flash, PSRAM, eFuse revision, radios and LED.
    Boards(boards::BoardsArgs),
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(Bench),
}

/// `pyemu bench …`
#[derive(Subcommand, Debug)]
pub enum Bench {
    /// Interpreted instructions per second on real ROM code (tinfl, MD5), next to qemu-xtensa.
    Cpu(bench::CpuArgs),
    /// Wall time of the bootloader's safe-boot windows (P12 held 0/1/4.5/8 s), fast path on/off.
    Safeboot(bench_boot::SafebootArgs),
    /// Wall and virtual time from power-on to the MicroPython prompt, first and second boot.
    Boot(bench_boot::BootArgs),
    /// 20 scenarios from the prompt: cold (each boots) and from one snapshot; start cost.
    Snapshot(bench_snapshot::SnapshotArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = match cli.command {
        Command::Run(a) => run::run(*a),
        Command::Test(a) => test::run(a),
        Command::Campaign(c) => campaign::run(c),
        Command::Plot(a) => plot::run(a),
        // The reporting commands end quietly (exit 141) when stdout is closed under them.
        Command::Image(c) => out::quiet_when_closed(image::run(c)),
        Command::Flash(c) => out::quiet_when_closed(flash::run(c)),
        Command::Fs(c) => out::quiet_when_closed(fs::run(c)),
        Command::Boards(a) => out::quiet_when_closed(boards::list(&a).map(|_| ExitCode::SUCCESS)),
        Command::Bench(Bench::Cpu(a)) => out::quiet_when_closed(bench::run(bench::BenchCommand::Cpu(a))),
        Command::Bench(Bench::Safeboot(a)) => {
            out::quiet_when_closed(bench_boot::bench_safeboot(&a).map(|_| ExitCode::SUCCESS))
        }
        Command::Bench(Bench::Snapshot(a)) => {
            out::quiet_when_closed(bench_snapshot::bench_snapshot(&a).map(|_| ExitCode::SUCCESS))
        }
        Command::Bench(Bench::Boot(a)) => {
            out::quiet_when_closed(bench_boot::bench_boot(&a).map(|_| ExitCode::SUCCESS))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pyemu: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
