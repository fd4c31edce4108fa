//! The status line: the LED as a true-colour swatch, boot mode and image, virtual time,
//! speed, held pins. It sits on the row below the cursor, so at the bottom once output fills
//! the window, and the REPL's output never runs over it: it is erased before each piece of
//! output and drawn again after, only between whole escape sequences and UTF-8 characters of
//! that output, with the cursor saved and restored. The window scrolls as a whole, so the
//! terminal's scrollback keeps everything the board printed (a scroll region for the line
//! would keep it out of tmux's and some terminals' history).

use crossterm::style::{Color, ResetColor, SetBackgroundColor};
use crossterm::{cursor, queue, terminal};
use std::io::Write;
use std::time::{Duration, Instant};

/// Where the guest's output stream is: drawing is safe only between sequences.
#[derive(Default)]
pub struct StreamState {
    esc: Esc,
    /// UTF-8 continuation bytes still to come.
    utf8_left: u8,
}

#[derive(Default, PartialEq)]
enum Esc {
    #[default]
    Ground,
    /// After ESC.
    Start,
    /// In a CSI sequence (ESC [ … final byte).
    Csi,
    /// In an OSC/DCS string (ends with BEL or ESC \).
    Text,
    /// ESC inside a string: a `\` ends it.
    StringEnd,
}

impl StreamState {
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.esc = match (&self.esc, b) {
                (Esc::Ground, 0x1b) => Esc::Start,
                (Esc::Ground, _) => {
                    self.utf8_left = match b {
                        0x80..=0xBF => self.utf8_left.saturating_sub(1),
                        0xC0..=0xDF => 1,
                        0xE0..=0xEF => 2,
                        0xF0..=0xF7 => 3,
                        _ => 0,
                    };
                    Esc::Ground
                }
                (Esc::Start, b'[') => Esc::Csi,
                (Esc::Start, b']' | b'P' | b'_' | b'^') => Esc::Text,
                (Esc::Start, _) => Esc::Ground,
                (Esc::Csi, 0x40..=0x7e) => Esc::Ground,
                (Esc::Csi, _) => Esc::Csi,
                (Esc::Text, 0x07) => Esc::Ground,
                (Esc::Text, 0x1b) => Esc::StringEnd,
                (Esc::Text, _) => Esc::Text,
                (Esc::StringEnd, b'\\') => Esc::Ground,
                (Esc::StringEnd, _) => Esc::Text,
            };
        }
    }

    /// True between whole sequences and characters.
    pub fn clean(&self) -> bool {
        self.esc == Esc::Ground && self.utf8_left == 0
    }
}

/// What the line shows, gathered from the session by the front end.
pub struct Facts {
    pub led: u32,
    pub mode: &'static str,
    pub image: Option<String>,
    pub now_ps: u64,
    /// Virtual over wall time lately, if measured.
    pub speed: Option<f64>,
    /// `P12=high until 4.1 s`, …
    pub held: Vec<String>,
    pub escape: String,
}

/// A colour stays on the swatch at least this long, so an 80 ms heartbeat flash is seen even
/// when redraws are sparse.
const MIN_SHOW: Duration = Duration::from_millis(250);

pub struct StatusLine {
    on: bool,
    /// The line is on the screen (below the cursor).
    drawn: bool,
    /// Shown colour and since when.
    shown: (u32, Instant),
    /// A message (menu, result) shown instead of the facts until this instant (`None`: until
    /// replaced).
    message: Option<(String, Option<Instant>)>,
    last_draw: Instant,
    /// The message changed since the last draw.
    dirty: bool,
    /// The window's width and when it was read (a resize shows within half a second).
    cols: (u16, Instant),
}

/// Whether the terminal can keep a status line: a known terminal type and room for it.
pub fn supported() -> bool {
    let term = std::env::var("TERM").unwrap_or_default();
    if term.is_empty() || term == "dumb" {
        return false;
    }
    matches!(terminal::size(), Ok((c, r)) if r >= 4 && c >= 20)
}

impl StatusLine {
    /// A line (drawn from the first `draw` on) when `on`.
    pub fn new(on: bool) -> StatusLine {
        StatusLine { on, drawn: false, shown: (0, Instant::now()), message: None, last_draw: Instant::now(), dirty: false, cols: (0, Instant::now()) }
    }

    pub fn on(&self) -> bool {
        self.on
    }

    /// Shows `text` on the line for `for_`, or until replaced.
    pub fn message(&mut self, text: String, for_: Option<Duration>) {
        self.message = Some((text, for_.map(|d| Instant::now() + d)));
        self.dirty = true;
    }

    pub fn clear_message(&mut self) {
        self.message = None;
        self.dirty = true;
    }

    /// Whether a redraw is due (output took the line off, a new LED colour, a message, or
    /// time passing).
    pub fn due(&self, led: u32) -> bool {
        self.on()
            && (self.dirty
                || !self.drawn
                || (led != self.shown.0 && self.shown.1.elapsed() >= MIN_SHOW)
                || self.last_draw.elapsed() >= Duration::from_millis(200))
    }

    /// Takes the line off the screen, before output (the output stream is clean whenever
    /// the line is drawn).
    pub fn erase(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self.drawn {
            queue!(out, cursor::SavePosition, cursor::MoveDown(1), terminal::Clear(terminal::ClearType::CurrentLine), cursor::RestorePosition)?;
            self.drawn = false;
        }
        Ok(())
    }

    /// Draws the line (the output stream must be clean).
    pub fn draw(&mut self, out: &mut impl Write, f: &Facts) -> std::io::Result<()> {
        if !self.on() {
            return Ok(());
        }
        if self.cols.0 == 0 || self.cols.1.elapsed() >= Duration::from_millis(500) {
            self.cols = (terminal::size().map(|s| s.0).unwrap_or(80), Instant::now());
        }
        let cols = self.cols.0;
        if f.led != self.shown.0 && self.shown.1.elapsed() >= MIN_SHOW {
            self.shown = (f.led, Instant::now());
        }
        if let Some((_, Some(until))) = &self.message {
            if Instant::now() >= *until {
                self.message = None;
            }
        }
        let c = self.shown.0;
        let text = match &self.message {
            Some((m, _)) => format!(" {m}"),
            None => {
                let mut t = format!(
                    " LED #{c:06x} | {} {} | {:.3} s | {} ",
                    f.mode,
                    f.image.as_deref().unwrap_or("-"),
                    peripherals::time::ps_to_secs(f.now_ps),
                    match f.speed {
                        Some(x) => format!("{x:.2}x real time"),
                        None => "-".into(),
                    }
                );
                if !f.held.is_empty() {
                    t += &format!("| held {} ", f.held.join(", "));
                }
                t += &format!("| {} menu", f.escape);
                t
            }
        };
        let room = (cols as usize).saturating_sub(5);
        let text: String = text.chars().take(room).collect();
        // A row below the cursor (a line feed scrolls the window at the bottom; in raw mode it
        // keeps the column), then the line there.
        out.write_all(b"\n")?;
        queue!(out, cursor::MoveUp(1), cursor::SavePosition, cursor::MoveDown(1), cursor::MoveToColumn(0))?;
        queue!(out, terminal::Clear(terminal::ClearType::CurrentLine), SetBackgroundColor(Color::Rgb { r: (c >> 16) as u8, g: (c >> 8) as u8, b: c as u8 }))?;
        out.write_all(b"    ")?;
        queue!(out, ResetColor)?;
        out.write_all(text.as_bytes())?;
        queue!(out, cursor::RestorePosition)?;
        out.flush()?;
        self.drawn = true;
        self.last_draw = Instant::now();
        self.dirty = false;
        Ok(())
    }

    /// Takes the line off for good.
    pub fn close(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        self.erase(out)?;
        out.flush()?;
        self.on = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_state_tracks_sequences_and_utf8() {
        let mut s = StreamState::default();
        s.feed(b"abc\x1b[");
        assert!(!s.clean());
        s.feed(b"2K");
        assert!(s.clean());
        s.feed("é".as_bytes().split_at(1).0);
        assert!(!s.clean());
        s.feed("é".as_bytes().split_at(1).1);
        assert!(s.clean());
        s.feed(b"\x1b]0;title");
        assert!(!s.clean());
        s.feed(b"\x07");
        assert!(s.clean());
        s.feed(b"\x1b7");
        assert!(s.clean());
    }
}
