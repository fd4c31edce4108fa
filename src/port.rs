//! A UART's host end when it is a server: a raw TCP socket, an RFC 2217 (Telnet COM-port)
//! server, or a pseudo-terminal. The board runs at once; what it prints before the first
//! client comes is kept (up to 64 KiB) for that client; clients may come and go.
//!
//! Line settings: an RFC 2217 or pty client says (or sets) its baud rate and framing; when
//! they differ from the guest UART's, bytes are re-framed both ways as a receiver at the
//! other setting would sample them (`wire`). A raw TCP client has no line: bytes pass as
//! they are.
//!
//! Control lines: an RFC 2217 client's DTR and RTS are reported to the session, which
//! wires them to EN and GPIO0 through the auto-reset circuit (`peripherals::autoreset`).
//! One transport artefact is undone here: pyserial sends DTR and RTS changes one at a
//! time and waits for each answer (≥ 50 ms), so the classic reset sequence (esptool's
//! and espflash's) passes through "both asserted" between "RTS alone" (reset) and "DTR
//! alone" (download strap) for longer than the EN RC delay, which on a local USB bridge it
//! does within a millisecond. pyemu holds that one step (RTS alone → both) until the
//! client's next control change or 500 ms, as Espressif's `esp_rfc2217_server` replays the
//! sequence next to the board. When a client leaves, both lines drop together (as the
//! kernel does with HUPCL on close), which resets nothing.

use crate::pty::Pty;
use crate::rfc2217;
use crate::wire::reframe;
use anyhow::Context;
use peripherals::uart::Line;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Output kept for a client that has not connected yet (the boot log, typically).
const EARLY_OUTPUT_MAX: usize = 64 * 1024;
/// How long the "both lines asserted" step of a reset sequence is held back.
const HOLD_BOTH_ASSERTED: Duration = Duration::from_millis(500);

/// A server endpoint, before it is opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortSpec {
    Tcp(String),
    Rfc2217(String),
    Pty(Option<PathBuf>),
}

impl PortSpec {
    /// Parses `tcp:[HOST:]PORT`, `rfc2217:[HOST:]PORT`, `pty`, `pty:PATH` (`flag` names the
    /// option in errors). A bare port listens on loopback only.
    pub fn parse(flag: &str, s: &str) -> anyhow::Result<PortSpec> {
        if s == "pty" {
            return Ok(PortSpec::Pty(None));
        }
        if let Some(p) = s.strip_prefix("pty:") {
            anyhow::ensure!(!p.is_empty(), "{flag} {s}: expected pty or pty:PATH");
            return Ok(PortSpec::Pty(Some(PathBuf::from(p))));
        }
        let (rest, rfc) = match (s.strip_prefix("tcp:"), s.strip_prefix("rfc2217:")) {
            (Some(r), _) => (r, false),
            (_, Some(r)) => (r, true),
            _ => {
                let stdio = if flag == "--uart0" { "stdio, " } else { "" };
                anyhow::bail!("{flag} {s}: expected {stdio}tcp:[HOST:]PORT, rfc2217:[HOST:]PORT, pty or pty:PATH")
            }
        };
        let addr = if rest.parse::<u16>().is_ok() { format!("127.0.0.1:{rest}") } else { rest.to_string() };
        let (_, port) = addr.rsplit_once(':').with_context(|| format!("{flag} {s}: expected HOST:PORT"))?;
        port.parse::<u16>().map_err(|_| anyhow::anyhow!("{flag} {s}: `{port}` is not a TCP port"))?;
        Ok(if rfc { PortSpec::Rfc2217(addr) } else { PortSpec::Tcp(addr) })
    }

    /// Opens it for UART `uart`: a server listens (or the pty is made) and says where.
    pub fn open(self, uart: usize, exit_on_disconnect: bool) -> anyhow::Result<Port> {
        let name = format!("UART{uart}");
        let rfc = matches!(self, PortSpec::Rfc2217(_));
        let kind = match self {
            PortSpec::Tcp(addr) | PortSpec::Rfc2217(addr) => {
                let scheme = if rfc { "rfc2217" } else { "tcp" };
                let l = TcpListener::bind(&addr).with_context(|| format!("--uart{uart} {scheme}:{addr}: cannot listen"))?;
                l.set_nonblocking(true)?;
                let url = if rfc { format!("rfc2217://{}", l.local_addr()?) } else { format!("tcp://{}", l.local_addr()?) };
                eprintln!("pyemu: {name} on {url}; the board runs, its output is kept until a client connects");
                Kind::Net { listener: l, client: None, telnet: rfc.then_some(None) }
            }
            PortSpec::Pty(link) => {
                let pty = Pty::open(link.as_deref()).with_context(|| format!("--uart{uart} pty"))?;
                let shown = match pty.link() {
                    Some(l) => format!("{} (-> {})", l.display(), pty.path.display()),
                    None => pty.path.display().to_string(),
                };
                eprintln!("pyemu: {name} on pty {shown}; the board runs, its output is kept until a client opens it");
                Kind::Pty { pty, open: false }
            }
        };
        Ok(Port {
            uart,
            name,
            kind,
            early: Some(Vec::new()),
            exit_on_disconnect,
            client_line: None,
            lines: (false, false),
            reported: (false, false),
            held: None,
            suspended: false,
        })
    }
}

enum Kind {
    /// A TCP server; `telnet` is Some for RFC 2217 (Some(Some) with a client).
    Net { listener: TcpListener, client: Option<TcpStream>, telnet: Option<Option<Box<rfc2217::Server>>> },
    Pty { pty: Pty, open: bool },
}

/// What a poll of the port brought.
#[derive(Default)]
pub struct Polled {
    /// Bytes for the UART, as its receiver reads them.
    pub input: Vec<u8>,
    /// DTR and RTS changed to these.
    pub lines: Option<(bool, bool)>,
    /// The client left and the run should end (`exit_on_disconnect`).
    pub ended: bool,
    /// Anything came (data, a connection, a setting): the host is active.
    pub traffic: bool,
}

pub struct Port {
    pub uart: usize,
    name: String,
    kind: Kind,
    early: Option<Vec<u8>>,
    exit_on_disconnect: bool,
    /// The client's line settings, once it made or told them.
    client_line: Option<Line>,
    /// DTR and RTS as the client left them, and as last reported to the session.
    lines: (bool, bool),
    reported: (bool, bool),
    /// A held "both asserted" step and when it came.
    held: Option<Instant>,
    /// The RFC 2217 client asked for output to stop.
    suspended: bool,
}

impl Port {
    /// True for a raw TCP port (no line settings, no control lines).
    pub fn is_raw_tcp(&self) -> bool {
        matches!(self.kind, Kind::Net { telnet: None, .. })
    }

    /// Sends UART output sent with `line` to the client (or keeps it before the first
    /// client). True when the client left and the run should end.
    pub fn deliver(&mut self, out: &[u8], line: Line) -> bool {
        let bytes = match self.client_line {
            Some(c) => reframe(out, line, c),
            None => out.to_vec(),
        };
        let connected = match &mut self.kind {
            Kind::Net { client, telnet, .. } => match client {
                Some(c) if !self.suspended => {
                    let data = if telnet.is_some() { rfc2217::escape(&bytes) } else { bytes.clone() };
                    let _ = c.set_nonblocking(false);
                    let sent = c.write_all(&data);
                    let _ = c.set_nonblocking(true);
                    if let Err(e) = sent {
                        return self.left(&e.to_string());
                    }
                    true
                }
                Some(_) => true,
                None => false,
            },
            Kind::Pty { pty, open } => {
                if *open && !pty.write_all(&bytes) {
                    return self.left("closed");
                }
                *open
            }
        };
        if !connected {
            if let Some(buf) = &mut self.early {
                // Before the first client: keep the newest output (the boot log).
                buf.extend_from_slice(&bytes);
                if buf.len() > EARLY_OUTPUT_MAX {
                    buf.drain(..buf.len() - EARLY_OUTPUT_MAX);
                }
            }
        }
        false
    }

    /// The client went away: say so; lines drop. True when the run should end.
    fn left(&mut self, why: &str) -> bool {
        match &mut self.kind {
            Kind::Net { client, telnet, .. } => {
                *client = None;
                if let Some(t) = telnet {
                    *t = None;
                }
            }
            Kind::Pty { open, .. } => *open = false,
        }
        if !matches!(self.kind, Kind::Pty { .. }) {
            self.client_line = None;
        }
        self.suspended = false;
        // Both lines drop together, as the kernel does on close (HUPCL).
        self.held = None;
        self.lines = (false, false);
        if self.exit_on_disconnect {
            eprintln!("pyemu: {} client disconnected ({why})", self.name);
        } else {
            eprintln!("pyemu: {} client disconnected ({why}); the board keeps running, waiting for the next", self.name);
        }
        self.exit_on_disconnect
    }

    /// Accepts a client when none is attached, reads what it sent (at most `room` bytes
    /// for a UART whose receiver is set to `guest`), and notes line and control changes.
    pub fn poll(&mut self, room: usize, guest: Line) -> anyhow::Result<Polled> {
        let mut p = Polled::default();
        let mut buf = vec![0u8; room.clamp(1, 4096)];
        match &mut self.kind {
            Kind::Net { listener, client, telnet } => {
                if client.is_none() {
                    match listener.accept() {
                        Ok((mut c, peer)) => {
                            c.set_nodelay(true)?;
                            eprintln!("pyemu: {} client {peer}", self.name);
                            if let Some(t) = telnet {
                                let (server, hello) = rfc2217::Server::new();
                                let _ = c.write_all(&hello);
                                *t = Some(Box::new(server));
                            }
                            if let Some(buf) = self.early.take() {
                                let data = if telnet.is_some() { rfc2217::escape(&buf) } else { buf };
                                let _ = c.write_all(&data);
                            }
                            c.set_nonblocking(true)?;
                            *client = Some(c);
                            p.traffic = true;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e).with_context(|| format!("accepting a {} client", self.name)),
                    }
                }
                let got = match client.as_mut() {
                    Some(_) if room == 0 && telnet.is_none() => None,
                    Some(c) => match c.read(&mut buf) {
                        Ok(0) => Some(Err("end of stream".to_string())),
                        Ok(n) => Some(Ok(n)),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                        Err(e) => Some(Err(e.to_string())),
                    },
                    None => None,
                };
                match got {
                    Some(Ok(n)) => {
                        p.traffic = true;
                        match telnet.as_mut().and_then(|t| t.as_mut()) {
                            Some(server) => {
                                let mut reply = Vec::new();
                                let changes = server.input(&buf[..n], &mut p.input, &mut reply);
                                if !reply.is_empty() {
                                    if let Some(c) = client.as_mut() {
                                        let _ = c.set_nonblocking(false);
                                        let _ = c.write_all(&reply);
                                        let _ = c.set_nonblocking(true);
                                    }
                                }
                                for ch in changes {
                                    self.change(ch, guest);
                                }
                            }
                            None => p.input.extend_from_slice(&buf[..n]),
                        }
                    }
                    Some(Err(why)) => p.ended = self.left(&why),
                    None => {}
                }
            }
            Kind::Pty { pty, open } => {
                let now_open = pty.connected();
                if now_open && !*open {
                    *open = true;
                    p.traffic = true;
                    eprintln!("pyemu: {} pty client connected", self.name);
                    if let Some(buf) = self.early.take() {
                        pty.write_all(&buf);
                    }
                }
                let line = pty.line();
                if let Some(l) = line.filter(|l| Some(*l) != self.client_line) {
                    if *open || self.client_line.is_none() {
                        self.client_line = Some(l);
                        if *open {
                            report_line(&self.name, l, guest);
                        }
                    }
                }
                if *open {
                    let n = pty.read(&mut buf[..room.clamp(1, 4096)]);
                    if n > 0 {
                        p.traffic = true;
                        p.input.extend_from_slice(&buf[..n]);
                    }
                    if !now_open {
                        p.ended = self.left("closed");
                    }
                }
            }
        }
        if let Some(since) = self.held {
            if since.elapsed() >= HOLD_BOTH_ASSERTED {
                self.held = None;
                self.lines = (true, true);
            }
        }
        if self.lines != self.reported {
            self.reported = self.lines;
            p.lines = Some(self.lines);
        }
        if let Some(c) = self.client_line {
            if !p.input.is_empty() {
                p.input = reframe(&p.input, c, guest);
            }
        }
        Ok(p)
    }

    /// An RFC 2217 client's request.
    fn change(&mut self, ch: rfc2217::Change, guest: Line) {
        match ch {
            rfc2217::Change::Line(l) => {
                self.client_line = Some(l);
                report_line(&self.name, l, guest);
            }
            rfc2217::Change::Lines { dtr, rts } => {
                // RTS alone (reset) → both: the middle of a reset sequence, held back.
                if self.lines == (false, true) && (dtr, rts) == (true, true) && self.held.is_none() {
                    self.held = Some(Instant::now());
                } else {
                    self.held = None;
                    self.lines = (dtr, rts);
                }
            }
            rfc2217::Change::Break(_) => {}
            rfc2217::Change::Suspend(s) => self.suspended = s,
        }
    }

}

/// Says what line a client set, and whether the UART agrees.
/// The run is over: a client still waiting in the listen queue gets the output kept for it
/// (closing the listener would reset it), and every client sees an orderly end of stream —
/// what it sent and nobody read is drained first, since closing with unread input makes the
/// kernel answer with a reset instead of FIN.
impl Drop for Port {
    fn drop(&mut self) {
        let Kind::Net { listener, client, telnet } = &mut self.kind else { return };
        if client.is_none() {
            if let Ok((c, _)) = listener.accept() {
                if let Some(buf) = self.early.take() {
                    let data = if telnet.is_some() { rfc2217::escape(&buf) } else { buf };
                    let _ = c.set_nonblocking(false);
                    let _ = (&c).write_all(&data);
                }
                *client = Some(c);
            }
        }
        if let Some(c) = client.take() {
            let _ = c.set_nonblocking(false);
            let _ = c.set_read_timeout(Some(std::time::Duration::from_millis(200)));
            let _ = c.shutdown(std::net::Shutdown::Write);
            let mut sink = [0u8; 4096];
            // Until the client closes too (or a short grace): its unread bytes would turn our close into a reset.
            let grace = std::time::Instant::now() + std::time::Duration::from_millis(500);
            while std::time::Instant::now() < grace {
                match (&c).read(&mut sink) {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
    }
}

fn report_line(name: &str, l: Line, guest: Line) {
    let note = if crate::wire::agree(l, guest) { String::new() } else { format!(" (the board's {name} is at {guest}: bytes garble as on a wire)") };
    eprintln!("pyemu: {name} client set {l}{note}");
}
