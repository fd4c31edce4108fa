//! `pyemu flash ...`

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum FlashCommand {
    /// Not implemented yet.
    Todo,
}

pub fn run(_cmd: FlashCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
