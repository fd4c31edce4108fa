//! RMT, the remote-control transceiver (0x3FF5_6000, RAM at 0x3FF5_6800): eight channels
//! that turn (duration, level) items into pin waveforms. Pycom's app drives the RGB LED
//! with channel 1 (GPIO0, APB/8 = 100 ns ticks, 24 items a frame) and installs channel 0
//! as a receiver for `pycom.pulses_get`.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 + 4n | CHnDATA | APB FIFO access to channel n's RAM (when APB_CONF.FIFO_MASK = 0): writes append, reads advance |
//! | 0x20 + 8n | CHnCONF0 | [7:0] DIV_CNT (0 = 256), [23:8] IDLE_THRES (RX end), [27:24] MEM_SIZE (blocks), 28 CARRIER_EN, 29 CARRIER_OUT_LV (carrier on high when 1), 30 MEM_PD, 31 CLK_EN |
//! | 0x24 + 8n | CHnCONF1 | 0 TX_START (a write of 1 while idle starts; cleared when TX ends), 1 RX_EN, 2 MEM_WR_RST, 3 MEM_RD_RST, 4 APB_MEM_RST, 5 MEM_OWNER, 6 TX_CONTI_MODE (not modelled: one pass), 17 REF_ALWAYS_ON (1 APB, 0 REF_TICK 1 MHz), 18 IDLE_OUT_LV, 19 IDLE_OUT_EN |
//! | 0x60 + 4n | CHnSTATUS | reads 0 |
//! | 0x80 + 4n | CHnADDR | reads 0 |
//! | 0xA0 / 0xA4 / 0xA8 / 0xAC | INT_RAW / ST / ENA / CLR | channel n: bit 3n TX_END, 3n+1 RX_END, 3n+2 ERR; 24+n TX_THR_EVENT (never raised) |
//! | 0xB0 + 4n | CHnCARRIER_DUTY | [31:16] HIGH, [15:0] LOW, in base-clock cycles |
//! | 0xD0 + 4n | CHn_TX_LIM | stored |
//! | 0xF0 | APB_CONF | 0 FIFO_MASK (1: RAM accessed directly), 1 MEM_TX_WRAP_EN |
//! | 0xFC | DATE | |
//! | 0x800..0xFFC | RAM | 8 blocks of 64 words; channel n starts at block n and owns MEM_SIZE blocks |
//!
//! An item is 32 bits: [14:0] DURATION0, 15 LEVEL0, [30:16] DURATION1, 31 LEVEL1, in ticks
//! of the divided clock. A zero duration ends the transmission.
//!
//! Output: when channel n starts, its whole waveform is computed (items, carrier, idle level
//! after the end) with exact virtual times. `sync` hands out the level changes of output
//! signal RMT_SIG_OUTn (GPIO matrix signal 87 + n) as their times pass, and at the end of
//! the transmission raises TX_END (interrupt source 47). The GPIO matrix turns the signal
//! into pad edges, so the WS2812 decoder sees the app's frames like the bootloader's
//! bit-banged ones. The next event posted is the end of a transmission, not every edge:
//! edges reach the pads with their exact times at the next sync.
//!
//! Receive: no input capture is modelled. Enabling RX on a channel ends reception after
//! IDLE_THRES ticks with no edges: the channel's first RAM word becomes an end marker and
//! RX_END is raised (what a receiver sees on a quiet line).

use crate::device::{self, Access};
use crate::reset::SysRequest;
use crate::time::{cycles_to_ps, Hz, Ps, Round};
use crate::regblock::RegBlock;
use std::collections::VecDeque;

pub const NUM_CHANNELS: usize = 8;
/// GPIO matrix output signal of channel 0 (channel n is this + n).
pub const SIG_OUT0: usize = 87;
/// REF_TICK, the 1 MHz reference clock.
pub const REF_TICK_HZ: u64 = 1_000_000;
const RAM_WORDS: usize = RAM::COUNT as usize;
const BLOCK_WORDS: usize = 64;
/// Upper bound on items walked per transmission (wrap mode could loop forever).
const MAX_ITEMS: usize = 4096;
/// Upper bound on carrier edges per transmission.
const MAX_EDGES: usize = 200_000;

crate::regs! {
    /// The RMT (TRM "RMT Registers"), its RAM included.
    pub static REGS: "RMT", 0x1000;
    /// APB FIFO access to channel n's RAM.
    0x00 CH_DATA[8] rw 0 modelled;
    0x20 CONF0[8 by 8] rw 0x3110_0002 stored {
        DIV_CNT 7:0 modelled;
        IDLE_THRES 23:8 modelled;
        MEM_SIZE 27:24 modelled;
        CARRIER_EN 28 modelled;
        CARRIER_OUT_LV 29 modelled;
        MEM_PD 30 stored;
        CLK_EN 31 stored;
    };
    0x24 CONF1[8 by 8] rw 0x0000_0F20 stored {
        TX_START 0 modelled;
        RX_EN 1 modelled;
        MEM_WR_RST 2 stored;
        MEM_RD_RST 3 stored;
        APB_MEM_RST 4 modelled;
        MEM_OWNER 5 stored;
        /// Continuous (looping) transmission: one pass here.
        TX_CONTI_MODE 6 unmodelled;
        RX_FILTER_EN 7 stored;
        RX_FILTER_THRES 15:8 stored;
        REF_ALWAYS_ON 17 modelled;
        IDLE_OUT_LV 18 modelled;
        IDLE_OUT_EN 19 modelled;
    };
    0x60 CH_STATUS[8] ro 0 modelled;
    0x80 CH_ADDR[8] ro 0 modelled;
    /// Channel n: bit 3n TX_END, 3n+1 RX_END, 3n+2 ERR; 24+n TX_THR_EVENT (never raised).
    0xA0 INT_RAW ro 0 stored {
        CH0_TX_END 0 modelled;
        CH0_RX_END 1 modelled;
    };
    0xA4 INT_ST ro 0 modelled;
    0xA8 INT_ENA rw 0 modelled;
    0xAC INT_CLR w1c 0 modelled;
    0xB0 CARRIER_DUTY[8] rw 0x0040_0040 stored {
        HIGH 31:16 modelled;
        LOW 15:0 modelled;
    };
    0xD0 TX_LIM[8] rw 0x80 stored;
    0xF0 APB_CONF rw 0 stored {
        FIFO_MASK 0 stored;
        MEM_TX_WRAP_EN 1 modelled;
    };
    0xFC DATE ro 0x1604_2200 stored;
    /// 8 blocks of 64 items; channel n starts at block n and owns MEM_SIZE blocks.
    0x800 RAM[512] rw 0 modelled {
        DURATION0 14:0 modelled;
        LEVEL0 15 modelled;
        DURATION1 30:16 modelled;
        LEVEL1 31 modelled;
    };
}

/// Interrupt bits per channel in INT_RAW/ST/ENA/CLR (TX_END, RX_END, ERR).
const INT_BITS_PER_CHANNEL: u32 = 3;

/// A transmission in flight: output level changes still to hand out, and when it ends.
#[derive(Clone, Debug, Default)]
#[derive(serde::Serialize, serde::Deserialize)]
struct Tx {
    edges: VecDeque<(u64, bool)>,
    end_at: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Rmt {
    pub regs: RegBlock,
    pub ram: Vec<u32>,
    tx: [Option<Tx>; NUM_CHANNELS],
    /// When a channel's reception ends (RX enabled, quiet line).
    rx_end: [Option<u64>; NUM_CHANNELS],
    /// Current level of each channel's output signal.
    level: [bool; NUM_CHANNELS],
    /// APB FIFO pointers (words from the channel's start).
    fifo_wr: [usize; NUM_CHANNELS],
    fifo_rd: [usize; NUM_CHANNELS],
    /// Output signal changes handed out by `sync`: (time ps, channel, level).
    pub out: Vec<(u64, usize, bool)>,
    /// Transmissions started, per channel (for tests and reports).
    pub started: [u32; NUM_CHANNELS],
}

impl Default for Rmt {
    fn default() -> Self {
        Self::new()
    }
}

impl Rmt {
    pub fn new() -> Rmt {
        Rmt {
            regs: RegBlock::new("RMT", &REGS),
            ram: vec![0; RAM_WORDS],
            tx: Default::default(),
            rx_end: [None; NUM_CHANNELS],
            level: [false; NUM_CHANNELS],
            fifo_wr: [0; NUM_CHANNELS],
            fifo_rd: [0; NUM_CHANNELS],
            out: Vec::new(),
            started: [0; NUM_CHANNELS],
        }
    }

    fn conf0(&self, n: usize) -> u32 {
        self.regs.get(CONF0::at(n as u32))
    }

    fn conf1(&self, n: usize) -> u32 {
        self.regs.get(CONF1::at(n as u32))
    }

    /// Words of RAM channel n owns (MEM_SIZE blocks, clipped to the end of the RAM).
    fn mem_words(&self, n: usize) -> usize {
        let blocks = (CONF0::MEM_SIZE.get(self.conf0(n)) as usize).clamp(1, NUM_CHANNELS - n);
        blocks * BLOCK_WORDS
    }

    /// Frequency of channel n's base clock (before the divider).
    fn base_hz(&self, n: usize, apb_hz: Hz) -> Hz {
        if CONF1::REF_ALWAYS_ON.on(self.conf1(n)) {
            apb_hz
        } else {
            REF_TICK_HZ
        }
    }

    fn divider(&self, n: usize) -> u64 {
        match CONF0::DIV_CNT.get(self.conf0(n)) {
            0 => 256,
            d => d as u64,
        }
    }

    fn idle_level(&self, n: usize) -> bool {
        let c = self.conf1(n);
        CONF1::IDLE_OUT_EN.on(c) && CONF1::IDLE_OUT_LV.on(c)
    }

    /// The output waveform of channel n started at `start`: level changes and end time.
    fn waveform(&self, n: usize, start: Ps, apb_hz: Hz) -> Tx {
        let base = self.base_hz(n, apb_hz).max(1);
        let div = self.divider(n);
        let at = |cycles: u64| start + cycles_to_ps(cycles as u128, base, Round::Down) as u64;
        let words = self.mem_words(n);
        let wrap = self.regs.on(APB_CONF, APB_CONF::MEM_TX_WRAP_EN);
        let c0 = self.conf0(n);
        let carrier_on = CONF0::CARRIER_EN.on(c0);
        let carrier_lv = CONF0::CARRIER_OUT_LV.on(c0);
        let duty = self.regs.get(CARRIER_DUTY::at(n as u32));
        let (c_high, c_low) = (CARRIER_DUTY::HIGH.get(duty) as u64, CARRIER_DUTY::LOW.get(duty) as u64);
        let mut edges = VecDeque::new();
        let mut cur = self.level[n];
        let mut push = |edges: &mut VecDeque<(u64, bool)>, t: u64, l: bool| {
            if l != cur && edges.len() < MAX_EDGES {
                edges.push_back((t, l));
                cur = l;
            }
        };
        // Time in base-clock cycles from the start.
        let mut cyc = 0u64;
        'items: for i in 0..MAX_ITEMS {
            if i >= words && !wrap {
                // Ran off the end of its memory without an end marker.
                break;
            }
            let w = self.ram[(n * BLOCK_WORDS + i % words) % RAM_WORDS];
            for (dur, lvl) in [(RAM::DURATION0.get(w), RAM::LEVEL0.on(w)), (RAM::DURATION1.get(w), RAM::LEVEL1.on(w))] {
                if dur == 0 {
                    break 'items;
                }
                let len = dur as u64 * div;
                if carrier_on && lvl == carrier_lv && c_high > 0 && c_low > 0 {
                    // The carrier replaces the level: high for HIGH cycles, low for LOW.
                    let mut k = 0;
                    // Past MAX_EDGES nothing more is kept: stop there, or a fast carrier
                    // under long items costs billions of iterations (the end time does
                    // not depend on them).
                    while k < len && edges.len() < MAX_EDGES {
                        push(&mut edges, at(cyc + k), true);
                        let h = c_high.min(len - k);
                        push(&mut edges, at(cyc + k + h), false);
                        k += c_high + c_low;
                    }
                } else {
                    push(&mut edges, at(cyc), lvl);
                }
                cyc += len;
            }
        }
        let end_at = at(cyc);
        push(&mut edges, end_at, self.idle_level(n));
        Tx { edges, end_at }
    }

    /// Hands out output changes due by `now`, ends transmissions and receptions; returns
    /// the time of the next end.
    pub fn sync(&mut self, now: Ps) -> Option<Ps> {
        let mut next: Option<u64> = None;
        for n in 0..NUM_CHANNELS {
            if let Some(tx) = &mut self.tx[n] {
                while let Some(&(t, l)) = tx.edges.front() {
                    if t > now {
                        break;
                    }
                    tx.edges.pop_front();
                    self.level[n] = l;
                    self.out.push((t, n, l));
                }
                if tx.end_at <= now {
                    // The driver clears TX_START itself on some paths; clearing it here
                    // keeps read-modify-writes of CONF1 from starting a new frame.
                    let end_at = tx.end_at;
                    self.tx[n] = None;
                    self.regs.set_field(CONF1::at(n as u32), CONF1::TX_START, 0);
                    self.raise(n, INT_RAW::CH0_TX_END);
                    tracing::trace!(channel = n, end_at, "RMT TX end");
                } else {
                    next = Some(next.map_or(tx.end_at, |x: u64| x.min(tx.end_at)));
                }
            }
            if let Some(t) = self.rx_end[n] {
                if t <= now {
                    self.rx_end[n] = None;
                    // A quiet line: the receiver stores only an end marker.
                    self.ram[n * BLOCK_WORDS] = 0;
                    self.raise(n, INT_RAW::CH0_RX_END);
                } else {
                    next = Some(next.map_or(t, |x: u64| x.min(t)));
                }
            }
        }
        next
    }

    /// Raises channel n's interrupt `ch0_bit` (named for channel 0).
    fn raise(&mut self, n: usize, ch0_bit: crate::regblock::Field) {
        let bit = ch0_bit.mask() << (INT_BITS_PER_CHANNEL * n as u32);
        self.regs.set(INT_RAW, self.regs.get(INT_RAW) | bit);
    }

    /// The element of the register array at `first` (`stride` bytes apart) at `off`.
    fn channel(off: u32, first: u32, stride: u32) -> usize {
        ((off - first) / stride) as usize
    }

    /// Interrupt source lines (bit 47).
    pub fn sources(&self) -> u128 {
        crate::source::spread(device::Device::lines(self, 0), crate::soc::table::sources_of("RMT"))
    }

    /// When channel n's transmission in progress ends (virtual ps), if one is.
    pub fn tx_end(&self, n: usize) -> Option<u64> {
        self.tx[n].as_ref().map(|t| t.end_at)
    }

    /// Current level of channel n's output signal.
    pub fn signal(&self, n: usize) -> bool {
        self.level[n]
    }

    pub fn read(&mut self, off: u32, now: Ps) -> Option<u32> {
        self.sync(now);
        match off {
            RAM.. => Some(self.ram[Self::channel(off, RAM, RAM::STRIDE)]),
            _ if off < CONF0 => {
                let n = Self::channel(off, CH_DATA, CH_DATA::STRIDE);
                let i = self.fifo_rd[n] % self.mem_words(n);
                self.fifo_rd[n] += 1;
                Some(self.ram[(n * BLOCK_WORDS + i) % RAM_WORDS])
            }
            INT_ST => Some(self.regs.get(INT_RAW) & self.regs.get(INT_ENA)),
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32, now: Ps, apb_hz: Hz) -> bool {
        self.sync(now);
        match off {
            RAM.. => {
                self.ram[Self::channel(off, RAM, RAM::STRIDE)] = v;
                true
            }
            _ if off < CONF0 => {
                let n = Self::channel(off, CH_DATA, CH_DATA::STRIDE);
                let i = self.fifo_wr[n] % self.mem_words(n);
                self.fifo_wr[n] += 1;
                self.ram[(n * BLOCK_WORDS + i) % RAM_WORDS] = v;
                true
            }
            INT_CLR => {
                self.regs.set(INT_RAW, self.regs.get(INT_RAW) & !v);
                true
            }
            _ if (CONF1..CH_STATUS).contains(&off) && (off - CONF1).is_multiple_of(CONF1::STRIDE) => {
                let n = Self::channel(off, CONF1, CONF1::STRIDE);
                let was_rx = CONF1::RX_EN.on(self.conf1(n));
                self.regs.write(off, v);
                if CONF1::APB_MEM_RST.on(v) {
                    self.fifo_wr[n] = 0;
                    self.fifo_rd[n] = 0;
                }
                if CONF1::TX_START.on(v) && self.tx[n].is_none() {
                    self.started[n] += 1;
                    let tx = self.waveform(n, now, apb_hz);
                    tracing::trace!(channel = n, now, end = tx.end_at, edges = tx.edges.len(), "RMT TX start");
                    self.tx[n] = Some(tx);
                    self.sync(now);
                }
                if CONF1::RX_EN.on(v) && !was_rx {
                    let thres = CONF0::IDLE_THRES.get(self.conf0(n)) as u64;
                    let base = self.base_hz(n, apb_hz).max(1);
                    let ps = cycles_to_ps((thres * self.divider(n)) as u128, base, Round::Down);
                    self.rx_end[n] = Some(now + ps as u64);
                } else if !CONF1::RX_EN.on(v) {
                    self.rx_end[n] = None;
                }
                true
            }
            _ => self.regs.write(off, v),
        }
    }
}


impl device::Device for Rmt {
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        Rmt::read(self, off, cx.now)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        Rmt::write(self, off, v, cx.now, cx.apb_hz)
    }

    fn reset_digital(&mut self, _now: Ps) {
        *self = Rmt::new();
    }

    fn sync(&mut self, now: Ps, _apb_hz: Hz, _requests: &mut Vec<SysRequest>) -> Option<Ps> {
        Rmt::sync(self, now)
    }

    fn lines(&self, _now: Ps) -> u32 {
        (self.regs.get(INT_RAW) & self.regs.get(INT_ENA) != 0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws2812::Ws2812;

    const APB: u64 = 80_000_000;

    /// The items Pycom's `led_set_color` builds: GRB, MSB first, "1" = 9 high + 3 low
    /// ticks, "0" = 3 high + 9 low, at 100 ns ticks.
    fn led_items(rgb: u32) -> Vec<u32> {
        let grb = ((rgb >> 8) & 0xFF) << 16 | ((rgb >> 16) & 0xFF) << 8 | (rgb & 0xFF);
        (0..24)
            .rev()
            .map(|i| {
                let (h, l) = if grb >> i & 1 != 0 { (9, 3) } else { (3, 9) };
                h | 1 << 15 | l << 16
            })
            .collect()
    }

    /// Channel 1 configured as `rmt_config()` does for Pycom's LED.
    fn led_channel() -> Rmt {
        let mut r = Rmt::new();
        r.write(APB_CONF, 1, 0, APB);
        r.write(0x28, 8 | 1 << 24 | 1 << 31, 0, APB); // CONF0: div 8, 1 block, no carrier
        r.write(0x2C, CONF1::REF_ALWAYS_ON.mask() | CONF1::IDLE_OUT_EN.mask(), 0, APB); // APB clock, idle low
        r.write(INT_ENA, 1 << 3, 0, APB);
        r
    }

    fn load(r: &mut Rmt, ch: usize, items: &[u32]) {
        for (i, w) in items.iter().chain(std::iter::once(&0)).enumerate() {
            r.write(0x800 + 4 * (ch * 64 + i) as u32, *w, 0, APB);
        }
    }

    #[test]
    fn items_become_exact_edges_and_tx_end() {
        let mut r = led_channel();
        load(&mut r, 1, &led_items(0x000050));
        let t0 = 1_000_000_000;
        r.write(0x2C, r.regs.get(0x2C) | CONF1::TX_START.mask(), t0, APB);
        // 24 bits × 12 ticks × 100 ns.
        let end = t0 + 24 * 1_200_000;
        assert_eq!(r.sync(t0), Some(end));
        assert_eq!(r.out, vec![(t0, 1, true)], "only the first rising edge is due yet");
        r.sync(end);
        assert_eq!(r.out.len(), 48);
        // First bit of G=0x00 is a 0: 300 ns high.
        assert_eq!(r.out[1], (t0 + 300_000, 1, false));
        assert_eq!(r.regs.get(INT_RAW), 1 << 3);
        assert_eq!(r.sources(), 1 << 47);
        assert_eq!(r.conf1(1) & CONF1::TX_START.mask(), 0);
        // Another write while idle starts a new frame; one during a frame does not.
        r.write(INT_CLR, 1 << 3, end, APB);
        r.write(0x2C, r.regs.get(0x2C) | CONF1::TX_START.mask(), end + 100_000_000, APB);
        r.write(0x2C, r.regs.get(0x2C) | CONF1::TX_START.mask(), end + 101_000_000, APB);
        assert_eq!(r.started[1], 2);
    }

    #[test]
    fn waveform_decodes_as_the_led_colour() {
        let mut r = led_channel();
        let mut led = Ws2812::new();
        let mut t = 0;
        for rgb in [0x000050u32, 0x500000, 0x2C1200] {
            load(&mut r, 1, &led_items(rgb));
            r.write(0x2C, r.regs.get(0x2C) | CONF1::TX_START.mask(), t, APB);
            t = r.sync(t).unwrap();
            r.sync(t);
            for (at, _, l) in r.out.drain(..) {
                led.edge(at, l);
            }
            t += crate::ws2812::T_RESET;
            led.idle(t);
        }
        assert_eq!(led.frames.iter().map(|f| f.rgb).collect::<Vec<_>>(), vec![0x000050, 0x500000, 0x2C1200]);
    }

    #[test]
    fn a_fast_carrier_under_long_items_is_computed_quickly() {
        // Found by the guest fuzzer: a 1 + 1 cycle carrier under items of 0x7FFF x 256
        // cycles, wrapping round the channel's memory up to MAX_ITEMS, took minutes to
        // compute, all but the first MAX_EDGES edges thrown away.
        let mut r = Rmt::new();
        r.write(APB_CONF, 3, 0, APB); // direct RAM access, wrap
        r.write(0x20, 1 << 24 | 1 << 28 | 1 << 29, 0, APB); // div 256, carrier on high
        r.write(0xB0, 1 << 16 | 1, 0, APB);
        load(&mut r, 0, &[0xFFFF_FFFF; 64]); // no end marker in the channel's block
        let began = std::time::Instant::now();
        r.write(0x24, CONF1::REF_ALWAYS_ON.mask() | CONF1::TX_START.mask(), 0, APB);
        let cycles = MAX_ITEMS as u64 * 2 * 0x7FFF * 256;
        assert_eq!(r.sync(0), Some((cycles as u128 * 1_000_000_000_000 / APB as u128) as u64));
        assert!(began.elapsed() < std::time::Duration::from_secs(2), "{:?}", began.elapsed());
    }

    #[test]
    fn ref_tick_clock_and_carrier() {
        let mut r = Rmt::new();
        // Channel 2: REF_TICK / 1 = 1 µs ticks, carrier on high, 2 + 2 cycles (of REF_TICK).
        r.write(0x30, 1 | 1 << 24 | 1 << 28 | 1 << 29, 0, APB);
        r.write(0xB8, 2 << 16 | 2, 0, APB);
        load(&mut r, 2, &[8 | 1 << 15 | 4 << 16]);
        r.write(0x34, CONF1::TX_START.mask(), 0, APB);
        let end = r.sync(0).unwrap();
        assert_eq!(end, 12_000_000);
        r.sync(end);
        let us = 1_000_000;
        assert_eq!(
            r.out,
            vec![(0, 2, true), (2 * us, 2, false), (4 * us, 2, true), (6 * us, 2, false)],
            "8 µs of 250 kHz carrier, then 4 µs low, idle low"
        );
    }

    #[test]
    fn rx_on_a_quiet_line_ends_after_the_idle_threshold() {
        let mut r = Rmt::new();
        r.ram[0] = 0xFFFF_FFFF;
        // Channel 0: REF_TICK / 1, idle threshold 100 ticks.
        r.write(0x20, 1 | 100 << 8 | 1 << 24, 0, APB);
        r.write(INT_ENA, 2, 0, APB);
        r.write(0x24, CONF1::RX_EN.mask() | 1 << 5, 0, APB);
        assert_eq!(r.sync(0), Some(100_000_000));
        r.sync(100_000_000);
        assert_eq!(r.regs.get(INT_RAW), 2);
        assert_eq!(r.ram[0], 0);
    }
}
