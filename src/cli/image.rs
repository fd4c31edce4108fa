//! `pyemu image ...`

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Not implemented yet.
    Todo,
}

pub fn run(_cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
