//! The escape key and its one-line menu: turns the keys typed on the host terminal into
//! bytes for UART0 and board actions. Pure logic (no terminal, no session), so it is tested
//! on its own.

use crate::session::parse_duration;
use peripherals::gpio::Drive;

/// What a pin entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAct {
    Drive(Drive),
    /// The opposite of the pad's level now.
    Toggle,
}

/// A board action chosen in the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// P12 high, EN pressed, P12 released after this long (ps).
    SafeBoot(u64),
    /// EN pressed: a full reboot through ROM and bootloader.
    Reset,
    /// Power off this long (ps), then on.
    PowerCycle(u64),
    /// Drive a pad; with a duration, released (floating) after it.
    Pin { gpio: u8, name: String, act: PinAct, for_ps: Option<u64> },
    Status,
    /// Write the whole machine to this file (`None`: a name from the virtual time).
    Snapshot(Option<String>),
    Quit,
}

/// What the keys amount to, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Bytes for UART0.
    Send(Vec<u8>),
    /// Show this on the menu line.
    Prompt(String),
    /// The menu closed without an action.
    Closed,
    Act(Action),
    /// A typed entry was wrong: say this (the menu is closed).
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    SafeBoot,
    PowerCycle,
    Pin,
    Snapshot,
}

enum State {
    /// Keys go to the board.
    Pass,
    /// The menu is open, waiting for a letter.
    Menu,
    /// Typing an entry.
    Prompt(Ask, String),
}

pub struct Keys {
    escape: Option<u8>,
    state: State,
}

/// The escape key's name as the user writes it, for the status line.
pub fn key_name(b: u8) -> String {
    format!("Ctrl-{}", (b | 0x40) as char)
}

/// Parses `ctrl-]`, `^]`, `ctrl-t`, or `none` (no menu: every key goes to the board).
pub fn parse_escape(s: &str) -> Result<Option<u8>, String> {
    let t = s.trim().to_ascii_lowercase();
    if t == "none" {
        return Ok(None);
    }
    let c = t.strip_prefix("ctrl-").or_else(|| t.strip_prefix("ctrl+")).or_else(|| t.strip_prefix('^'));
    match c.map(|c| c.as_bytes()) {
        Some([c]) if matches!(c, b'a'..=b'z' | b'[' | b'\\' | b']' | b'^' | b'_' | b'@') => Ok(Some(c.to_ascii_uppercase() & 0x1f)),
        _ => Err(format!("`{s}` is not an escape key: give ctrl-LETTER, ctrl-], ctrl-\\, ctrl-^, ctrl-_ (or ^] etc.), or none")),
    }
}

const MENU: &str = "menu: s safe boot | r reset (EN) | p power-cycle | n pin | w snapshot | i status | q quit | ";

impl Keys {
    pub fn new(escape: Option<u8>) -> Keys {
        Keys { escape, state: State::Pass }
    }

    pub fn menu_open(&self) -> bool {
        !matches!(self.state, State::Pass)
    }

    fn menu_text(&self) -> String {
        let k = self.escape.map(key_name).unwrap_or_default();
        format!("{MENU}{k} sends {k} | Esc closes")
    }

    /// Feeds what the terminal sent (one read).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut ev = Vec::new();
        let mut send = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            match &mut self.state {
                State::Pass => {
                    if Some(b) == self.escape {
                        flush(&mut send, &mut ev);
                        self.state = State::Menu;
                        ev.push(Event::Prompt(self.menu_text()));
                    } else {
                        send.push(b);
                    }
                }
                State::Menu => {
                    self.state = State::Pass;
                    match b {
                        _ if Some(b) == self.escape => {
                            ev.push(Event::Closed);
                            send.push(b);
                        }
                        b's' | b'S' => self.ask(Ask::SafeBoot, &mut ev),
                        b'p' | b'P' => self.ask(Ask::PowerCycle, &mut ev),
                        b'n' | b'N' => self.ask(Ask::Pin, &mut ev),
                        b'w' | b'W' => self.ask(Ask::Snapshot, &mut ev),
                        b'r' | b'R' => ev.push(Event::Act(Action::Reset)),
                        b'i' | b'I' => ev.push(Event::Act(Action::Status)),
                        b'q' | b'Q' => ev.push(Event::Act(Action::Quit)),
                        0x1b => {
                            // Esc, or the start of a key's escape sequence: both close.
                            i = bytes.len();
                            ev.push(Event::Closed);
                        }
                        _ => {
                            self.state = State::Menu;
                            ev.push(Event::Prompt(format!("{} (not `{}`)", self.menu_text(), char::from(b).escape_default())));
                        }
                    }
                }
                State::Prompt(ask, text) => match b {
                    b'\r' | b'\n' => {
                        let (ask, text) = (*ask, std::mem::take(text));
                        self.state = State::Pass;
                        ev.push(match parse_entry(ask, &text) {
                            Ok(a) => Event::Act(a),
                            Err(e) => Event::Error(e),
                        });
                    }
                    0x7f | 0x08 => {
                        text.pop();
                        let p = prompt(*ask, text);
                        ev.push(Event::Prompt(p));
                    }
                    0x1b | 0x03 => {
                        self.state = State::Pass;
                        i = bytes.len();
                        ev.push(Event::Closed);
                    }
                    _ if Some(b) == self.escape => {
                        self.state = State::Pass;
                        ev.push(Event::Closed);
                    }
                    0x20..=0x7e if text.len() < 60 => {
                        text.push(b as char);
                        let p = prompt(*ask, text);
                        ev.push(Event::Prompt(p));
                    }
                    _ => {}
                },
            }
        }
        flush(&mut send, &mut ev);
        ev
    }

    fn ask(&mut self, a: Ask, ev: &mut Vec<Event>) {
        ev.push(Event::Prompt(prompt(a, "")));
        self.state = State::Prompt(a, String::new());
    }
}

fn flush(send: &mut Vec<u8>, ev: &mut Vec<Event>) {
    if !send.is_empty() {
        ev.push(Event::Send(std::mem::take(send)));
    }
}

fn prompt(a: Ask, text: &str) -> String {
    let q = match a {
        Ask::SafeBoot => "safe boot: hold P12 high through a reset for (e.g. 1s, 3.5s, 7s):",
        Ask::PowerCycle => "power-cycle: off for (Enter: 100ms):",
        Ask::Pin => "pin (e.g. P12 high 3.5s, P10 low, P9 toggle, P12 float):",
        Ask::Snapshot => "save a snapshot to (Enter: pyemu-<virtual ms>ms.snap):",
    };
    format!("{q} {text}_")
}

/// A typed duration: a unit is required (a bare `4` could be seconds or milliseconds).
fn duration(t: &str) -> Result<u64, String> {
    let t = t.trim();
    if !t.ends_with('s') {
        return Err(format!("`{t}`: give a duration with a unit, e.g. 3.5s or 500ms"));
    }
    parse_duration(t)
}

fn parse_entry(a: Ask, text: &str) -> Result<Action, String> {
    let t = text.trim();
    match a {
        Ask::SafeBoot => Ok(Action::SafeBoot(duration(t)?)),
        Ask::PowerCycle if t.is_empty() => Ok(Action::PowerCycle(100_000_000_000)),
        Ask::PowerCycle => Ok(Action::PowerCycle(duration(t)?)),
        Ask::Snapshot => Ok(Action::Snapshot((!t.is_empty()).then(|| t.to_string()))),
        Ask::Pin => {
            let words: Vec<&str> = t.split(|c: char| c.is_whitespace() || c == '=').filter(|w| !w.is_empty()).collect();
            let (name, level, rest) = match words.as_slice() {
                [n, l, rest @ ..] if rest.len() <= 1 => (*n, *l, rest.first().copied()),
                _ => return Err(format!("`{t}`: expected PIN LEVEL [DURATION], e.g. P12 high 3.5s")),
            };
            let gpio = peripherals::board::gpio_of(name).map_err(|e| e.to_string())?;
            let act = match level.to_ascii_lowercase().as_str() {
                "high" | "1" => PinAct::Drive(Drive::High),
                "low" | "0" => PinAct::Drive(Drive::Low),
                "float" | "release" | "z" => PinAct::Drive(Drive::Float),
                "toggle" => PinAct::Toggle,
                l => return Err(format!("`{l}`: a level is high, low, float or toggle")),
            };
            let for_ps = rest.map(duration).transpose()?;
            Ok(Action::Pin { gpio, name: name.to_ascii_uppercase(), act, for_ps })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acts(k: &mut Keys, b: &[u8]) -> Vec<Event> {
        k.feed(b).into_iter().filter(|e| !matches!(e, Event::Prompt(_))).collect()
    }

    #[test]
    fn keys_pass_through_and_escape_twice_sends_it() {
        let mut k = Keys::new(Some(0x1d));
        assert_eq!(acts(&mut k, b"ab\x03\x1b[A"), vec![Event::Send(b"ab\x03\x1b[A".to_vec())]);
        assert_eq!(acts(&mut k, b"x\x1d\x1dy"), vec![Event::Send(b"x".to_vec()), Event::Closed, Event::Send(b"\x1dy".to_vec())]);
        assert!(!k.menu_open());
    }

    #[test]
    fn menu_entries() {
        let mut k = Keys::new(Some(0x1d));
        assert_eq!(acts(&mut k, b"\x1ds3.5s\r"), vec![Event::Act(Action::SafeBoot(3_500_000_000_000))]);
        assert_eq!(acts(&mut k, b"\x1dr"), vec![Event::Act(Action::Reset)]);
        assert_eq!(acts(&mut k, b"\x1dp\r"), vec![Event::Act(Action::PowerCycle(100_000_000_000))]);
        assert_eq!(
            acts(&mut k, b"\x1dnp12 high 2sx\x7f\r"),
            vec![Event::Act(Action::Pin { gpio: 21, name: "P12".into(), act: PinAct::Drive(Drive::High), for_ps: Some(2_000_000_000_000) })]
        );
        assert!(matches!(acts(&mut k, b"\x1ds4\r")[..], [Event::Error(_)]));
        assert!(matches!(acts(&mut k, b"\x1dnP99 high\r")[..], [Event::Error(_)]));
        assert_eq!(acts(&mut k, b"\x1d\x1b[A"), vec![Event::Closed]);
        assert_eq!(acts(&mut k, b"\x1dq"), vec![Event::Act(Action::Quit)]);
        assert_eq!(acts(&mut k, b"\x1dwa.snap\r"), vec![Event::Act(Action::Snapshot(Some("a.snap".into())))]);
    }

    #[test]
    fn escape_key_names() {
        assert_eq!(parse_escape("ctrl-]"), Ok(Some(0x1d)));
        assert_eq!(parse_escape("^T"), Ok(Some(0x14)));
        assert_eq!(parse_escape("none"), Ok(None));
        assert!(parse_escape("x").is_err());
        assert_eq!(key_name(0x1d), "Ctrl-]");
    }
}
