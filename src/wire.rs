//! The wire between a host serial port and a UART: when the two ends disagree on the line
//! (baud rate, data bits, parity, stop bits), the receiver reads what it samples, as on a
//! real cable.
//!
//! The model: the sender puts the bytes of one chunk on the line back to back (start bit
//! low, data bits LSB first, parity, stop bits high; the line idles high before and after).
//! The receiver waits for a falling edge, samples the start bit half a bit later (its own
//! bit time), then each data bit and the parity bit one bit apart, and the stop bit; a
//! start bit read high is a glitch (the receiver looks for the next edge). After the stop
//! bit sample it looks for the next falling edge. Each frame it reads is a byte, framing or
//! parity error or not (the ESP32's UART stores such bytes in its FIFO too). Chunks are
//! independent: the line idles between them. Everything is integer arithmetic, so the
//! result is a function of the bytes and the two lines alone.
//!
//! Ends whose bit rates differ by less than 1 % with the same framing read each other
//! exactly (the accumulated error over a frame stays far under half a bit), and the bytes
//! pass unchanged.

use peripherals::uart::{Line, Parity};

/// What a receiver set to `to` reads from `bytes` sent with `from`.
pub fn reframe(bytes: &[u8], from: Line, to: Line) -> Vec<u8> {
    if bytes.is_empty() || agree(from, to) {
        return bytes.to_vec();
    }
    let tx = Frames::new(bytes, from);
    // Time unit: 1 / (2 · from.baud · to.baud) s. A sender half bit is to.baud units, a
    // receiver bit 2 · from.baud units.
    let half_tx = to.baud.max(1) as u64;
    let bit_rx = 2 * from.baud.max(1) as u64;
    let end = tx.len_half() * half_tx;
    let level = |t: u64| tx.level(t / half_tx);
    let mut out = Vec::new();
    let mut t = 0u64;
    let rx_bits = to.data_bits as u64 + (to.parity != Parity::None) as u64;
    // Next falling edge at or after `t`: edges lie on sender half-bit boundaries.
    let next_edge = |t: u64| -> Option<u64> {
        let mut h = t.div_ceil(half_tx).max(1);
        while h * half_tx < end {
            if tx.level(h) == 0 && tx.level(h - 1) == 1 {
                return Some(h * half_tx);
            }
            h += 1;
        }
        None
    };
    while let Some(edge) = next_edge(t) {
        if level(edge + bit_rx / 2) != 0 {
            // A glitch, not a start bit.
            t = edge + bit_rx / 2;
            continue;
        }
        let mut b = 0u8;
        for i in 0..to.data_bits as u64 {
            b |= level(edge + bit_rx / 2 + (i + 1) * bit_rx) << i;
        }
        out.push(b);
        // The stop bit's sample; the search for the next start goes on from there.
        t = edge + bit_rx / 2 + (rx_bits + 1) * bit_rx;
    }
    out
}

/// Same framing and bit rates within 1 %.
pub fn agree(a: Line, b: Line) -> bool {
    a.data_bits == b.data_bits
        && a.parity == b.parity
        && a.stop_half_bits == b.stop_half_bits
        && (a.baud as u64).abs_diff(b.baud as u64) * 100 < a.baud.max(b.baud) as u64
}

/// The sender's line level, in half bits from the start of the chunk.
struct Frames<'a> {
    bytes: &'a [u8],
    line: Line,
    /// Half bits per frame.
    frame: u64,
}

impl<'a> Frames<'a> {
    fn new(bytes: &'a [u8], line: Line) -> Frames<'a> {
        let bits = 1 + line.data_bits as u64 + (line.parity != Parity::None) as u64;
        Frames { bytes, line, frame: 2 * bits + line.stop_half_bits as u64 }
    }

    /// The chunk's length in half bits, with the idle half bit before it.
    fn len_half(&self) -> u64 {
        1 + self.bytes.len() as u64 * self.frame
    }

    /// The level in half bit `h`; half bit 0 is the line idling before the first start bit.
    fn level(&self, h: u64) -> u8 {
        let Some(h) = h.checked_sub(1) else { return 1 };
        let (i, pos) = ((h / self.frame) as usize, h % self.frame);
        let Some(&b) = self.bytes.get(i) else { return 1 };
        let bit = pos / 2;
        let n = self.line.data_bits as u64;
        match bit {
            0 => 0,
            _ if bit <= n => (b >> (bit - 1)) & 1,
            _ if bit == n + 1 && self.line.parity != Parity::None => {
                let ones = (b & ((1u16 << n) - 1) as u8).count_ones() as u8;
                match self.line.parity {
                    Parity::Even => ones & 1,
                    Parity::Odd => (ones & 1) ^ 1,
                    Parity::Mark => 1,
                    _ => 0,
                }
            }
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_lines_pass_bytes_unchanged() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(reframe(&data, Line::n81(115200), Line::n81(115201)), data);
    }

    #[test]
    fn the_simulation_reads_its_own_line_exactly() {
        // Force the slow path: same framing, different rates that still sample correctly.
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(reframe(&data, Line::n81(115200), Line::n81(117_500)), data, "2 % apart still reads");
        let e71 = Line { baud: 9600, data_bits: 7, parity: Parity::Even, stop_half_bits: 2 };
        let ascii: Vec<u8> = (0..128).collect();
        assert_eq!(reframe(&ascii, e71, Line { baud: 9700, ..e71 }), ascii);
    }

    #[test]
    fn a_mismatched_rate_garbles_as_on_a_wire() {
        // Twice too slow: fewer bytes, other values.
        let got = reframe(b"hello world", Line::n81(115200), Line::n81(57600));
        assert!(!got.is_empty() && got.len() < 11, "{got:?}");
        // 0x55 (alternating bits) at twice the rate: every falling edge is followed by a
        // high bit where the slow receiver samples its start bit: nothing at all.
        assert_eq!(reframe(b"UUUU", Line::n81(115200), Line::n81(57600)), b"");
        // Four times too fast: every byte becomes several.
        let got = reframe(b"A", Line::n81(9600), Line::n81(38400));
        assert!(got.len() >= 2, "{got:?}");
        // Deterministic.
        assert_eq!(reframe(b"hello", Line::n81(115200), Line::n81(9600)), reframe(b"hello", Line::n81(115200), Line::n81(9600)));
    }

    #[test]
    fn a_parity_bit_the_receiver_does_not_expect_shifts_the_frames() {
        let e81 = Line { parity: Parity::Even, ..Line::n81(115200) };
        let data = b"\x01\x02\x03\x81";
        let got = reframe(data, e81, Line::n81(115200));
        // The parity bit lands where the receiver wants a stop bit; data bits still read.
        assert_eq!(got, data);
        let seven = Line { data_bits: 7, ..Line::n81(115200) };
        assert_eq!(reframe(b"\xC1", Line::n81(115200), seven), b"\x41", "the 8th bit is lost");
    }
}
