//! Printing to standard output without panicking.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`pyemu image info … | head -1`):
//! Rust ignores SIGPIPE, so the write fails with EPIPE instead of killing the process. Here such a
//! write becomes a [`StdoutClosed`] error that [`quiet_when_closed`] turns into exit code 141
//! (128 + SIGPIPE), what a shell reports for a Unix tool killed by SIGPIPE, with nothing printed.

use std::io::Write;
use std::process::ExitCode;

/// Exit code of a command whose standard output was closed under it.
pub const CLOSED_EXIT: u8 = 141;

#[derive(Debug, thiserror::Error)]
#[error("standard output is closed")]
pub struct StdoutClosed;

/// Writes `s` to stdout and flushes it (so a closed pipe is noticed here, not at exit).
pub fn print(s: &str) -> anyhow::Result<()> {
    write_bytes(s.as_bytes())
}

/// `print` for bytes (file contents).
pub fn write_bytes(b: &[u8]) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(b).and_then(|_| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to standard output")),
    }
}

/// `println!` that returns an error instead of panicking: `outln!("{x}")?`.
macro_rules! outln {
    () => { $crate::cli::out::print("\n") };
    ($($arg:tt)*) => { $crate::cli::out::print(&format!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use outln;

/// A closed stdout ends the command quietly with [`CLOSED_EXIT`]; other results pass through.
pub fn quiet_when_closed(r: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    match r {
        Err(e) if e.chain().any(|c| c.is::<StdoutClosed>()) => Ok(ExitCode::from(CLOSED_EXIT)),
        r => r,
    }
}
