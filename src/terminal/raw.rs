//! The host terminal in raw mode, restored on every way out: the guard's drop (normal end,
//! error, panic unwinding), the panic hook (before the message is printed), and a second
//! SIGINT/SIGTERM/SIGHUP, which ends the process at once from the signal handler.

use std::io::Write;
use std::sync::OnceLock;

/// Resets the attributes and cursor visibility the front end may have changed.
pub const RESET_SCREEN: &[u8] = b"\x1b[0m\x1b[?25h";

/// The terminal's settings before raw mode, for the signal handler's restore (which may not
/// take locks or allocate, so it cannot go through crossterm).
static SAVED: OnceLock<libc::termios> = OnceLock::new();

/// Raw mode while this lives.
pub struct RawTerminal {
    _private: (),
}

impl RawTerminal {
    /// Puts the terminal (standard input) into raw mode: every key, Ctrl-C included, reaches
    /// the program as the bytes the terminal sends.
    pub fn enter() -> anyhow::Result<RawTerminal> {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the struct on success; it is read only then.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, t.as_mut_ptr()) } == 0 {
            let _ = SAVED.set(unsafe { t.assume_init() });
        }
        crossterm::terminal::enable_raw_mode().map_err(|e| anyhow::anyhow!("cannot put the terminal in raw mode: {e}"))?;
        crate::session::set_hard_exit_hook(hard_restore);
        install_panic_hook();
        Ok(RawTerminal { _private: () })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        restore();
    }
}

/// Cooked mode and a plain screen again (idempotent).
fn restore() {
    let mut o = std::io::stdout();
    let _ = o.write_all(RESET_SCREEN);
    let _ = o.flush();
    let _ = crossterm::terminal::disable_raw_mode();
}

/// The signal handler's restore: only async-signal-safe calls (write, tcsetattr).
fn hard_restore() {
    // SAFETY: write(2) and tcsetattr(3) are async-signal-safe; SAVED is only read.
    unsafe {
        libc::write(libc::STDOUT_FILENO, RESET_SCREEN.as_ptr().cast(), RESET_SCREEN.len());
        if let Some(t) = SAVED.get() {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSAFLUSH, t);
        }
    }
}

/// A panic restores the terminal before its message is printed (in raw mode the message
/// would come out as a staircase, and the shell would be left unusable).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
    });
}
