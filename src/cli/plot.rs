//! `pyemu plot TRACE… -o FILE`: the picture `--plot` draws, from files a run wrote (LED
//! traces, VCDs, `--json` outcomes; the outcome adds the boot phases).

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// `--led-trace` files (CSV or JSON), `--vcd` files and `--json` outcomes, in any mix.
    #[arg(required = true)]
    pub traces: Vec<PathBuf>,
    /// The picture: SVG, or PNG if it ends in `.png`.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Title (default: the input file names).
    #[arg(long)]
    pub title: Option<String>,
}

pub fn run(a: PlotArgs) -> anyhow::Result<ExitCode> {
    let t = crate::plot::Timeline::from_files(&a.traces)?;
    let title = a.title.clone().unwrap_or_else(|| a.traces.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    crate::plot::write(&t, &title, &a.output).with_context(|| format!("-o {}", a.output.display()))?;
    Ok(ExitCode::SUCCESS)
}
