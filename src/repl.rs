//! A MicroPython REPL client over a scripted session: waits for text, and runs code through
//! the raw REPL the way `mpremote exec` does (Ctrl-C, Ctrl-A, the code, Ctrl-D; the board
//! answers `OK`, the output, `\x04`, the error text, `\x04`, `>`).

use crate::session::{End, Session};

/// How a wait or an exec ended, if not with what was asked for.
#[derive(Debug)]
pub enum Stopped {
    /// The virtual-time deadline passed first.
    Timeout,
    /// Something else ended the session's run (signal, strict violation, …).
    Ended(End),
}

/// The output and error text of code run through the raw REPL.
#[derive(Debug, Default, Clone)]
pub struct ExecOutput {
    pub out: Vec<u8>,
    pub err: Vec<u8>,
}

impl ExecOutput {
    pub fn failed(&self) -> bool {
        !self.err.is_empty()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Scripted UART0 I/O with a read cursor into `Session::output`.
pub struct Repl {
    /// Bytes of `Session::output` already consumed.
    pub cursor: usize,
}

impl Default for Repl {
    fn default() -> Self {
        Self::new()
    }
}

impl Repl {
    pub fn new() -> Repl {
        Repl { cursor: 0 }
    }

    /// A REPL client that looks only at output from now on (after a snapshot was restored).
    pub fn from_now(s: &Session) -> Repl {
        Repl { cursor: s.output.len() }
    }

    /// Runs until `needle` appears in the output after the cursor (the cursor then moves past
    /// it) or until `deadline_ps`. `each` sees every new output chunk as it arrives.
    pub fn wait_for(&mut self, s: &mut Session, needle: &[u8], deadline_ps: u64, mut each: impl FnMut(&[u8])) -> anyhow::Result<Result<Vec<u8>, Stopped>> {
        let mut seen = self.cursor;
        loop {
            if let Some(i) = find(&s.output[self.cursor..], needle) {
                let end = self.cursor + i + needle.len();
                if end > seen {
                    each(&s.output[seen..end]);
                }
                let got = s.output[self.cursor..end].to_vec();
                self.cursor = end;
                return Ok(Ok(got));
            }
            // Show what cannot be the start of the needle any more.
            let safe = s.output.len().saturating_sub(needle.len().saturating_sub(1)).max(seen);
            if safe > seen {
                each(&s.output[seen..safe]);
                seen = safe;
            }
            if s.m.now_ps >= deadline_ps {
                return Ok(Err(Stopped::Timeout));
            }
            let step = (s.m.now_ps + s.step_ps()).min(deadline_ps);
            match s.run_until(step)? {
                End::Deadline => {}
                e => return Ok(Err(Stopped::Ended(e))),
            }
        }
    }

    /// Enters the raw REPL from the friendly one (at a `>>> ` prompt or running code).
    pub fn enter_raw(&mut self, s: &mut Session, deadline_ps: u64) -> anyhow::Result<Result<(), Stopped>> {
        // Ctrl-C twice stops running code; Ctrl-A enters the raw REPL.
        s.send(b"\r\x03\x03");
        if let Err(e) = self.wait_for(s, b">>> ", deadline_ps, |_| {})? {
            return Ok(Err(e));
        }
        self.cursor = s.output.len();
        s.send(b"\r\x01");
        Ok(self.wait_for(s, b"raw REPL; CTRL-B to exit\r\n>", deadline_ps, |_| {})?.map(|_| ()))
    }

    /// Runs `code` in the raw REPL (entered already); `out` sees its output as it streams.
    pub fn exec_raw(&mut self, s: &mut Session, code: &[u8], deadline_ps: u64, mut out: impl FnMut(&[u8])) -> anyhow::Result<Result<ExecOutput, Stopped>> {
        s.send(code);
        s.send(b"\x04");
        let ok = match self.wait_for(s, b"OK", deadline_ps, |_| {})? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let _ = ok;
        let mut res = ExecOutput::default();
        // Output up to the first \x04, streamed without the marker.
        let body = match self.wait_for(s, b"\x04", deadline_ps, |c| {
            let c = c.strip_suffix(b"\x04").unwrap_or(c);
            if !c.is_empty() {
                out(c);
            }
        })? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        res.out = body[..body.len() - 1].to_vec();
        let err = match self.wait_for(s, b"\x04", deadline_ps, |_| {})? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        res.err = err[..err.len() - 1].to_vec();
        if let Err(e) = self.wait_for(s, b">", deadline_ps, |_| {})? {
            return Ok(Err(e));
        }
        Ok(Ok(res))
    }

    /// Leaves the raw REPL for the friendly one.
    pub fn exit_raw(&mut self, s: &mut Session) {
        s.send(b"\x02");
    }
}
