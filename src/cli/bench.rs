//! `pyemu bench ...`

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Not implemented yet.
    Todo,
}

pub fn run(_cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
