//! The board's WS2812-type RGB LED, decoded from its data pin's waveform (GPIO0 on Pycom
//! boards). Both the bootloader's cycle-counted bit-banging and the app's RMT end up as
//! the same edges, so one decoder serves both.
//!
//! Timing (WS2812B datasheet): a bit is a high pulse then a low gap; a high time over
//! [`T_THRESHOLD`] is a 1, shorter a 0 (the part samples the line about 0.4–0.6 µs after
//! the rising edge). 24 bits make a frame, G R B, most significant bit first. The line low
//! for at least [`T_RESET`] latches the frame into the LED.

use crate::time::Ps;

/// High time above which a bit is a 1 (ps): between the bootloader's "1" (≈540 ns) and the
/// RMT's "0" (300 ns).
pub const T_THRESHOLD: u64 = 420_000;
/// Low time that latches a frame (ps).
pub const T_RESET: u64 = 50_000_000;

/// A colour the LED latched, at virtual time `t_ps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Frame {
    pub t_ps: Ps,
    /// 0xRRGGBB.
    pub rgb: u32,
}

#[derive(Default)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Ws2812 {
    level: bool,
    rise_at: u64,
    fall_at: u64,
    bits: u32,
    nbits: u32,
    /// Latched colours, in order.
    pub frames: Vec<Frame>,
    /// Frames with a wrong bit count (noise, or a non-LED use of the pin).
    pub glitches: u32,
}

impl Ws2812 {
    pub fn new() -> Ws2812 {
        Ws2812::default()
    }

    /// Current colour (black before any frame).
    pub fn color(&self) -> u32 {
        self.frames.last().map(|f| f.rgb).unwrap_or(0)
    }

    fn latch_if_idle(&mut self, now: Ps) {
        if !self.level && self.nbits > 0 && now >= self.fall_at + T_RESET {
            if self.nbits == 24 {
                let grb = self.bits;
                let rgb = ((grb >> 8) & 0xFF) << 16 | ((grb >> 16) & 0xFF) << 8 | (grb & 0xFF);
                self.frames.push(Frame { t_ps: self.fall_at + T_RESET, rgb });
            } else {
                self.glitches += 1;
            }
            self.bits = 0;
            self.nbits = 0;
        }
    }

    /// Feeds one level change of the data line.
    pub fn edge(&mut self, t: u64, level: bool) {
        if level == self.level {
            return;
        }
        if level {
            self.latch_if_idle(t);
            self.rise_at = t;
        } else {
            // Edges from the two cores' turns over the same span can arrive out of time
            // order: a fall before its rise is a pulse too short to be a 1.
            let high = t.saturating_sub(self.rise_at);
            self.bits = (self.bits << 1) | (high > T_THRESHOLD) as u32;
            self.nbits += 1;
            self.fall_at = t;
        }
        self.level = level;
    }

    /// Lets time pass with no edges (a pending frame latches once the line stayed low).
    pub fn idle(&mut self, now: Ps) {
        self.latch_if_idle(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(led: &mut Ws2812, t0: u64, rgb: u32, one: u64, zero: u64, period: u64) -> u64 {
        let grb = ((rgb >> 8) & 0xFF) << 16 | ((rgb >> 16) & 0xFF) << 8 | (rgb & 0xFF);
        let mut t = t0;
        for i in (0..24).rev() {
            let high = if grb >> i & 1 != 0 { one } else { zero };
            led.edge(t, true);
            led.edge(t + high, false);
            t += period;
        }
        t
    }

    #[test]
    fn decodes_rmt_timing_and_latches() {
        let mut led = Ws2812::new();
        let end = send(&mut led, 1_000_000, 0x2C1200, 900_000, 300_000, 1_200_000);
        assert!(led.frames.is_empty(), "not latched before the reset time");
        led.idle(end + T_RESET);
        assert_eq!(led.frames.len(), 1);
        assert_eq!(led.color(), 0x2C1200);
    }

    #[test]
    fn decodes_bootloader_timing() {
        let mut led = Ws2812::new();
        // "1" = 43 cycles at 80 MHz high, "0" = a couple of cycles.
        let end = send(&mut led, 0, 0x000050, 537_500, 25_000, 900_000);
        led.idle(end + T_RESET);
        assert_eq!(led.color(), 0x000050);
        // A new frame after the reset gap.
        let end2 = send(&mut led, end + T_RESET + 1000, 0x500000, 537_500, 25_000, 900_000);
        led.idle(end2 + T_RESET);
        assert_eq!(led.frames.iter().map(|f| f.rgb).collect::<Vec<_>>(), vec![0x000050, 0x500000]);
    }

    #[test]
    fn a_fall_before_its_rise_is_a_zero_bit() {
        // Found by the guest fuzzer: both cores driving the LED pad in one slice.
        let mut led = Ws2812::new();
        led.edge(2_000_000, true);
        led.edge(1_000_000, false);
        let mut t = 3_000_000;
        for _ in 0..23 {
            led.edge(t, true);
            led.edge(t + 900_000, false);
            t += 1_200_000;
        }
        led.idle(t + T_RESET);
        // G R B, most significant bit first: G's top bit is the 0.
        assert_eq!(led.color(), 0xFF_7FFF);
    }

    #[test]
    fn short_frames_are_glitches() {
        let mut led = Ws2812::new();
        led.edge(0, true);
        led.edge(100_000, false);
        led.idle(T_RESET * 2);
        assert!(led.frames.is_empty());
        assert_eq!(led.glitches, 1);
    }
}
