//! The server side of RFC 2217 (Telnet COM-PORT-OPTION): a serial port over TCP with its
//! line settings and control lines, as pyserial's `rfc2217://` URLs (esptool, mpremote,
//! miniterm) speak it.
//!
//! Telnet: data bytes 0xFF travel doubled (IAC IAC) both ways; `IAC WILL/WONT/DO/DONT opt`
//! negotiate options (pyemu agrees to BINARY, SGA, ECHO on its side and COM-PORT-OPTION,
//! refuses the rest, and answers a request only when it changes an option's state, so
//! negotiation cannot loop); `IAC SB 44 … IAC SE` carries COM-PORT commands, each
//! answered with its code + 100 and the value in effect (RFC 2217 §3): SIGNATURE,
//! SET-BAUDRATE, SET-DATASIZE, SET-PARITY, SET-STOPSIZE (0 asks for the current value),
//! SET-CONTROL (flow control, BREAK, DTR, RTS, and their queries), NOTIFY-LINESTATE /
//! NOTIFY-MODEMSTATE (answered with the state: no modem line is wired back, as on a bare
//! USB-UART), FLOWCONTROL-SUSPEND/RESUME, SET-LINESTATE-MASK / SET-MODEMSTATE-MASK and
//! PURGE-DATA. Other Telnet commands (NOP, AYT, …) are ignored.

use peripherals::uart::{Line, Parity};

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const BINARY: u8 = 0;
const ECHO: u8 = 1;
const SGA: u8 = 3;
const COM_PORT: u8 = 44;

/// A change the client asked for, for the port to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Its line settings (after any of SET-BAUDRATE/DATASIZE/PARITY/STOPSIZE).
    Line(Line),
    /// DTR and RTS (true = asserted), after a SET-CONTROL that changed one.
    Lines { dtr: bool, rts: bool },
    /// BREAK on or off.
    Break(bool),
    /// Output from the port is to stop (true) or go on (false): FLOWCONTROL-SUSPEND/RESUME.
    Suspend(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Negotiate(u8),
    Sub,
    SubIac,
}

/// One client's Telnet / RFC 2217 session.
pub struct Server {
    state: State,
    sub: Vec<u8>,
    /// Options enabled on our side (WILL sent and agreed) and on theirs (DO sent).
    ours: [bool; 256],
    theirs: [bool; 256],
    pub line: Line,
    pub dtr: bool,
    pub rts: bool,
    brk: bool,
    flow: u8,
    inbound_flow: u8,
    linestate_mask: u8,
    modemstate_mask: u8,
}

impl Server {
    /// A new client's session and what to send it first: the options pyemu offers.
    /// The line starts at 115200 8N1 and both control lines released, until the client
    /// sets them.
    pub fn new() -> (Server, Vec<u8>) {
        let mut s = Server {
            state: State::Data,
            sub: Vec::new(),
            ours: [false; 256],
            theirs: [false; 256],
            line: Line::n81(115200),
            dtr: false,
            rts: false,
            brk: false,
            flow: 1,
            inbound_flow: 14,
            linestate_mask: 0,
            modemstate_mask: 0,
        };
        let mut hello = Vec::new();
        for opt in [BINARY, SGA, ECHO] {
            s.ours[opt as usize] = true;
            hello.extend([IAC, WILL, opt]);
        }
        for opt in [BINARY, SGA, COM_PORT] {
            s.theirs[opt as usize] = true;
            hello.extend([IAC, DO, opt]);
        }
        (s, hello)
    }

    /// Takes bytes from the client: serial data goes to `data`, Telnet answers to
    /// `reply`; returns the changes the client asked for, in order.
    pub fn input(&mut self, bytes: &[u8], data: &mut Vec<u8>, reply: &mut Vec<u8>) -> Vec<Change> {
        let mut changes = Vec::new();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, _) => {
                    data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    data.push(IAC);
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Negotiate(b),
                (State::Iac, SB) => {
                    self.sub.clear();
                    State::Sub
                }
                (State::Iac, _) => State::Data,
                (State::Negotiate(cmd), opt) => {
                    self.negotiate(cmd, opt, reply);
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => {
                    if self.sub.len() < 64 {
                        self.sub.push(b);
                    }
                    State::Sub
                }
                (State::SubIac, IAC) => {
                    if self.sub.len() < 64 {
                        self.sub.push(IAC);
                    }
                    State::Sub
                }
                (State::SubIac, SE) => {
                    let sub = std::mem::take(&mut self.sub);
                    self.subnegotiation(&sub, reply, &mut changes);
                    State::Data
                }
                // Anything else ends the subnegotiation without acting on it.
                (State::SubIac, _) => State::Data,
            };
        }
        changes
    }

    /// WILL/WONT are about the client's side of an option (answered DO/DONT), DO/DONT
    /// about pyemu's (answered WILL/WONT). A request is answered when it changes the
    /// option's state, or refused when pyemu does not support the option.
    fn negotiate(&mut self, cmd: u8, opt: u8, reply: &mut Vec<u8>) {
        let theirs = matches!(cmd, WILL | WONT);
        let (state, supported, yes, no) = if theirs {
            (&mut self.theirs[opt as usize], matches!(opt, BINARY | SGA | COM_PORT), DO, DONT)
        } else {
            (&mut self.ours[opt as usize], matches!(opt, BINARY | SGA | ECHO), WILL, WONT)
        };
        let want = matches!(cmd, WILL | DO);
        if want && !supported {
            reply.extend([IAC, no, opt]);
        } else if want != *state {
            *state = want;
            reply.extend([IAC, if want { yes } else { no }, opt]);
        }
    }

    fn subnegotiation(&mut self, sub: &[u8], reply: &mut Vec<u8>, changes: &mut Vec<Change>) {
        let [COM_PORT, cmd, value @ ..] = sub else { return };
        let byte = value.first().copied().unwrap_or(0);
        let answer: Vec<u8> = match *cmd {
            0 => b"pyemu".to_vec(),
            1 => {
                if value.len() >= 4 {
                    let baud = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                    if baud != 0 && baud != self.line.baud {
                        self.line.baud = baud;
                        changes.push(Change::Line(self.line));
                    }
                }
                self.line.baud.to_be_bytes().to_vec()
            }
            2 => {
                if (5..=8).contains(&byte) && byte != self.line.data_bits {
                    self.line.data_bits = byte;
                    changes.push(Change::Line(self.line));
                }
                vec![self.line.data_bits]
            }
            3 => {
                let p = match byte {
                    1 => Some(Parity::None),
                    2 => Some(Parity::Odd),
                    3 => Some(Parity::Even),
                    4 => Some(Parity::Mark),
                    5 => Some(Parity::Space),
                    _ => None,
                };
                if let Some(p) = p.filter(|p| *p != self.line.parity) {
                    self.line.parity = p;
                    changes.push(Change::Line(self.line));
                }
                vec![match self.line.parity {
                    Parity::None => 1,
                    Parity::Odd => 2,
                    Parity::Even => 3,
                    Parity::Mark => 4,
                    Parity::Space => 5,
                }]
            }
            4 => {
                let half = match byte {
                    1 => Some(2),
                    2 => Some(4),
                    3 => Some(3),
                    _ => None,
                };
                if let Some(h) = half.filter(|h| *h != self.line.stop_half_bits) {
                    self.line.stop_half_bits = h;
                    changes.push(Change::Line(self.line));
                }
                vec![match self.line.stop_half_bits {
                    4 => 2,
                    3 => 3,
                    _ => 1,
                }]
            }
            5 => vec![self.control(byte, changes)],
            // Line state: nothing pending (no errors, no break, output empty); modem
            // state: no modem input wired back to the host.
            6 => vec![0x60],
            7 => vec![0],
            8 | 9 => {
                changes.push(Change::Suspend(*cmd == 8));
                return;
            }
            10 => {
                self.linestate_mask = byte;
                vec![byte]
            }
            11 => {
                self.modemstate_mask = byte;
                vec![byte]
            }
            12 => vec![byte],
            _ => return,
        };
        reply.extend([IAC, SB, COM_PORT, cmd + 100]);
        reply.extend(escape(&answer));
        reply.extend([IAC, SE]);
    }

    /// SET-CONTROL: applies `v`, returns the value to answer with.
    fn control(&mut self, v: u8, changes: &mut Vec<Change>) -> u8 {
        let (dtr, rts) = (self.dtr, self.rts);
        let answer = match v {
            0 => self.flow,
            1..=3 | 17..=19 => {
                self.flow = v;
                v
            }
            4 => {
                if self.brk {
                    5
                } else {
                    6
                }
            }
            5 | 6 => {
                self.brk = v == 5;
                changes.push(Change::Break(self.brk));
                v
            }
            7 => {
                if self.dtr {
                    8
                } else {
                    9
                }
            }
            8 | 9 => {
                self.dtr = v == 8;
                v
            }
            10 => {
                if self.rts {
                    11
                } else {
                    12
                }
            }
            11 | 12 => {
                self.rts = v == 11;
                v
            }
            13 => self.inbound_flow,
            14..=16 => {
                self.inbound_flow = v;
                v
            }
            _ => v,
        };
        if (dtr, rts) != (self.dtr, self.rts) {
            changes.push(Change::Lines { dtr: self.dtr, rts: self.rts });
        }
        answer
    }
}

/// Serial data for the client: 0xFF doubled.
pub fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 4);
    for &b in bytes {
        v.push(b);
        if b == IAC {
            v.push(IAC);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(cmd: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![IAC, SB, COM_PORT, cmd];
        v.extend(escape(value));
        v.extend([IAC, SE]);
        v
    }

    #[test]
    fn data_is_unescaped_and_commands_answered_with_code_plus_100() {
        let (mut s, hello) = Server::new();
        assert!(hello.windows(3).any(|w| w == [IAC, DO, COM_PORT]));
        let mut data = Vec::new();
        let mut reply = Vec::new();
        let mut input = b"ab\xff\xffc".to_vec();
        input.extend(sb(1, &921_600u32.to_be_bytes()));
        input.extend(sb(3, &[3]));
        input.extend(sb(5, &[8]));
        input.extend(sb(5, &[11]));
        input.extend(b"d");
        let ch = s.input(&input, &mut data, &mut reply);
        assert_eq!(data, b"ab\xffcd");
        assert_eq!(
            ch,
            vec![
                Change::Line(Line::n81(921_600)),
                Change::Line(Line { parity: Parity::Even, ..Line::n81(921_600) }),
                Change::Lines { dtr: true, rts: false },
                Change::Lines { dtr: true, rts: true },
            ]
        );
        let mut want = sb(101, &921_600u32.to_be_bytes());
        want.extend(sb(103, &[3]));
        want.extend(sb(105, &[8]));
        want.extend(sb(105, &[11]));
        assert_eq!(reply, want);
        // A repeated DTR ON changes nothing but is answered.
        reply.clear();
        assert!(s.input(&sb(5, &[8]), &mut data, &mut reply).is_empty());
        assert_eq!(reply, sb(105, &[8]));
    }

    #[test]
    fn negotiation_answers_once_and_refuses_unknown_options() {
        let (mut s, _) = Server::new();
        let mut data = Vec::new();
        let mut reply = Vec::new();
        // pyserial asks for what pyemu already offered: no answer, no loop.
        s.input(&[IAC, WILL, COM_PORT, IAC, DO, BINARY, IAC, WILL, SGA], &mut data, &mut reply);
        assert!(reply.is_empty(), "{reply:?}");
        s.input(&[IAC, WILL, 24, IAC, DO, 31], &mut data, &mut reply);
        assert_eq!(reply, vec![IAC, DONT, 24, IAC, WONT, 31]);
        assert!(data.is_empty());
    }

    #[test]
    fn input_split_anywhere_parses_the_same() {
        let mut input = sb(1, &[0, 0, 0xff, 0xff]);
        input.extend(b"x\xff\xffy");
        let (mut whole, _) = Server::new();
        let (mut d1, mut r1) = (Vec::new(), Vec::new());
        let c1 = whole.input(&input, &mut d1, &mut r1);
        for cut in 0..input.len() {
            let (mut s, _) = Server::new();
            let (mut d, mut r) = (Vec::new(), Vec::new());
            let mut c = s.input(&input[..cut], &mut d, &mut r);
            c.extend(s.input(&input[cut..], &mut d, &mut r));
            assert_eq!((c, d, r), (c1.clone(), d1.clone(), r1.clone()), "cut at {cut}");
        }
        assert_eq!(d1, b"x\xffy");
        assert_eq!(c1, vec![Change::Line(Line::n81(65535))]);
    }
}
