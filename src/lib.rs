//! `pyemu`: run real Pycom firmware on an emulated ESP32. The library holds the host side
//! (sessions, flash state files, trace writers, the CLI); `main.rs` only calls `cli::main`.

pub mod cli;
pub mod record;
pub mod repl;
pub mod romcall;
pub mod scenario;
pub mod fs;
pub mod port;
pub mod power_cut;
pub mod pty;
pub mod rfc2217;
pub mod plot;
pub mod session;
pub mod snapshot;
pub mod state;
pub mod terminal;
pub mod trace;
pub mod wire;
