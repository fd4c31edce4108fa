//! `pyemu`: run real Pycom firmware on an emulated ESP32.

use std::process::ExitCode;

fn main() -> ExitCode {
    pyemu::cli::main()
}
