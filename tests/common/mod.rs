//! A board driven like a user at its REPL, in-process: run until the output shows a text,
//! type a line and read the answer (integration tests share it with `mod common;`).

use peripherals::Machine;

/// Picoseconds in a second.
pub const S: u64 = 1_000_000_000_000;

/// A machine, what UART0 has printed, and how much of it the test has looked at.
pub struct Dut {
    pub m: Machine,
    pub out: Vec<u8>,
    pub seen: usize,
}

impl Dut {
    pub fn new(m: Machine) -> Dut {
        Dut { m, out: Vec::new(), seen: 0 }
    }

    /// Runs until the output since the last call contains `needle` (panics after `max_s`
    /// seconds of virtual time); returns that output.
    pub fn until(&mut self, needle: &str, max_s: u64) -> String {
        let deadline = self.m.now_ps + max_s * S;
        loop {
            let text = String::from_utf8_lossy(&self.out[self.seen..]).to_string();
            if let Some(i) = text.find(needle) {
                self.seen += text[..i + needle.len()].len();
                return text[..i + needle.len()].to_string();
            }
            assert!(self.m.now_ps < deadline, "no {needle:?} within {max_s} s; output so far:\n{}", String::from_utf8_lossy(&self.out));
            let t = (self.m.now_ps + S / 50).min(deadline);
            self.m.run_until(t);
            self.out.append(&mut self.m.uart0_out);
        }
    }

    /// Types a line and returns what the REPL printed before the next prompt.
    pub fn cmd(&mut self, line: &str) -> String {
        self.m.uart0_input(format!("{line}\r").as_bytes());
        let echo_and_answer = self.until("\r\n>>> ", 30);
        let answer = echo_and_answer.split_once("\r\n").map(|x| x.1).unwrap_or("");
        answer.trim_end_matches("\r\n>>> ").trim_end_matches(">>> ").trim().to_string()
    }
}
