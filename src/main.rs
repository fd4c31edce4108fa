//! `pyemu`: run real Pycom firmware on an emulated ESP32.

mod cli;
mod trace;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
