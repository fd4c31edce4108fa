//! UART0/1/2: FIFOs, status, clock divider and character timing in virtual time,
//! interrupts, and the auto-baud detector the ROM's download mode uses.
//!
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x00 | FIFO | write: TX byte; read: pop RX byte |
//! | 0x04 | INT_RAW | RXFIFO_FULL 0, TXFIFO_EMPTY 1, RXFIFO_OVF 4, RXFIFO_TOUT 8, TX_DONE 14 |
//! | 0x08 | INT_ST | INT_RAW & INT_ENA |
//! | 0x0C | INT_ENA | |
//! | 0x10 | INT_CLR | write 1 to clear raw bits |
//! | 0x14 | CLKDIV | [19:0] integer, [23:20] fraction (1/16) of the UART clock per bit |
//! | 0x18 | AUTOBAUD | bit 0 enable, [15:8] glitch filter |
//! | 0x1C | STATUS | [7:0] RXFIFO_CNT, [23:16] TXFIFO_CNT, 15 RXD, 31 TXD (idle high) |
//! | 0x20 | CONF0 | 17 RXFIFO_RST, 18 TXFIFO_RST, 27 TICK_REF_ALWAYS_ON |
//! | 0x24 | CONF1 | [6:0] RXFIFO_FULL_THRHD, [14:8] TXFIFO_EMPTY_THRHD, [30:24] RX_TOUT_THRHD, 31 RX_TOUT_EN |
//! | 0x28 | LOWPULSE | shortest low pulse seen by auto-baud (UART clock cycles) |
//! | 0x2C | HIGHPULSE | shortest high pulse |
//! | 0x30 | RXD_CNT | edges seen by auto-baud |
//! | 0x34..0x64 | FLOW_CONF, SLEEP_CONF, SWFC_CONF, IDLE_CONF, RS485_CONF, AT_CMD_*, MEM_* | stored |
//! | 0x68 | POSPULSE | |
//! | 0x6C | NEGPULSE | |
//! | 0x78 | DATE | |
//! | 0x7C | ID | |
//!
//! RX: bytes from the host land in the FIFO one character time apart (at the rate CLKDIV
//! sets); with the FIFO full they wait (no overflow: the host side is flow-controlled).
//! RXFIFO_FULL is a level condition (count ≥ threshold): clearing it while the FIFO still
//! holds that much sets it again.
//!
//! Interrupt output: INT_RAW & INT_ENA. A register write that raises it (enabling a pending
//! source) reaches the CPU [`IRQ_LATENCY_APB_CYCLES`] APB cycles later, as on silicon, where
//! the core runs on meanwhile. The ROM's download mode depends on that: `uart_buff_switch`
//! enables the RX interrupt of the UART it switches to and only then records which UART
//! its handler serves; taken at once, the interrupt runs the handler for the other UART,
//! which discards a byte from the FIFO (the original cause of esptool's "No serial data
//! received").

use crate::device::{self, Access};
use crate::time::{cycles_to_ps, Hz, Ps, Round};
use crate::regblock::{ro, rw, RegBlock};
use std::collections::VecDeque;

pub const FIFO_SIZE: usize = 128;
pub const INT_RXFIFO_FULL: u32 = 1 << 0;
pub const INT_TXFIFO_EMPTY: u32 = 1 << 1;
pub const INT_RXFIFO_OVF: u32 = 1 << 4;
pub const INT_RXFIFO_TOUT: u32 = 1 << 8;
pub const INT_TX_DONE: u32 = 1 << 14;

/// APB clock cycles from a CPU write that raises the interrupt output (enabling a source
/// that is already pending) to the level reaching the CPU: the write crosses the APB
/// bridge, then the interrupt matrix and the core's input synchroniser. The core keeps
/// executing meanwhile (the ROM's `uart_buff_switch` enables the RX interrupt and only
/// then records which UART it serves, relying on this).
pub const IRQ_LATENCY_APB_CYCLES: u64 = 4;

/// Parity as CONF0 sets it (or a host port's termios / RFC 2217 settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Parity {
    None,
    Even,
    Odd,
    Mark,
    Space,
}

/// A serial line's framing: what a receiver must agree on with the sender to read bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    /// Bits per second.
    pub baud: u32,
    /// 5 to 8.
    pub data_bits: u8,
    pub parity: Parity,
    /// Stop bits in half bits: 2 (one), 3 (one and a half), 4 (two).
    pub stop_half_bits: u8,
}

impl Line {
    /// 8N1 at `baud`.
    pub fn n81(baud: u32) -> Line {
        Line { baud, data_bits: 8, parity: Parity::None, stop_half_bits: 2 }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = match self.parity {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
            Parity::Mark => 'M',
            Parity::Space => 'S',
        };
        let stop = match self.stop_half_bits {
            2 => "1",
            3 => "1.5",
            _ => "2",
        };
        write!(f, "{} {}{p}{stop}", self.baud, self.data_bits)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Uart {
    pub regs: RegBlock,
    pub index: u8,
    /// Bytes the guest transmitted, for the host side to collect.
    pub tx_out: Vec<u8>,
    /// Bytes transmitted since power-on (`tx_out` is drained by the host, this is not).
    pub tx_count: u64,
    /// The line each stretch of transmitted bytes went out with: (`tx_count` at its first
    /// byte, line), one entry per change; the host drains what it has used.
    pub tx_lines: Vec<(u64, Line)>,
    /// Transmitter busy until this time (ps): TXFIFO_CNT is derived from it.
    tx_busy_until: u64,
    /// Bytes from the host, with the time they start arriving on the wire.
    rx_pending: VecDeque<u8>,
    rx_fifo: VecDeque<u8>,
    /// Time the next pending byte completes on the wire.
    rx_next_at: u64,
    int_raw: u32,
    /// When the last byte landed in the RX FIFO (for the RX timeout).
    rx_last: u64,
    /// Bytes received while auto-baud was enabled (their bit edges feed the detector).
    autobaud_edges: u32,
    /// A register write raised the interrupt output: the CPU sees it from this time (ps).
    irq_visible_at: u64,
    /// Set when `irq_visible_at` moved into the future; taken by the SoC.
    irq_edge_scheduled: bool,
}

fn defs() -> Vec<crate::regblock::RegDef> {
    vec![
        rw(0x0C, 0, "INT_ENA"),
        rw(0x14, 0x2B6, "CLKDIV"),
        rw(0x18, 0x1000, "AUTOBAUD"),
        rw(0x20, 0x0800_001C, "CONF0"),
        rw(0x24, 0x0000_6060, "CONF1"),
        rw(0x34, 0, "FLOW_CONF"),
        rw(0x38, 0xF0, "SLEEP_CONF"),
        rw(0x3C, 0x1311_E000, "SWFC_CONF"),
        rw(0x40, 0x0040_A00A, "IDLE_CONF"),
        rw(0x44, 0, "RS485_CONF"),
        rw(0x48, 0x0018_6A00, "AT_CMD_PRECNT"),
        rw(0x4C, 0x0018_6A00, "AT_CMD_POSTCNT"),
        rw(0x50, 0x1E00, "AT_CMD_GAPTOUT"),
        rw(0x54, 0x32B, "AT_CMD_CHAR"),
        rw(0x58, 0x88, "MEM_CONF"),
        ro(0x5C, 0, "MEM_TX_STATUS"),
        ro(0x60, 0, "MEM_RX_STATUS"),
        ro(0x64, 0, "MEM_CNT_STATUS"),
        ro(0x78, 0x1507_2200, "DATE"),
        ro(0x7C, 0x0000_0500, "ID"),
    ]
}

impl Uart {
    pub fn new(index: u8) -> Uart {
        let name = ["UART0", "UART1", "UART2"][index as usize % 3];
        Uart {
            regs: RegBlock::new(name, 0x80, defs()),
            index,
            tx_out: Vec::new(),
            tx_count: 0,
            tx_lines: Vec::new(),
            tx_busy_until: 0,
            rx_pending: VecDeque::new(),
            rx_fifo: VecDeque::new(),
            rx_next_at: 0,
            int_raw: 0,
            rx_last: 0,
            autobaud_edges: 0,
            irq_visible_at: 0,
            irq_edge_scheduled: false,
        }
    }

    /// Time on the wire of one 8N1 character (ps), at UART clock `clk_hz`.
    pub fn char_time(&self, clk_hz: u64) -> u64 {
        let d = self.regs.get(0x14);
        let div16 = ((d & 0xF_FFFF) as u64) * 16 + ((d >> 20) & 0xF) as u64;
        let div16 = div16.max(16);
        // 10 bits × div/16 clock periods; in u128, as the largest divider the guest can set
        // times 10^12 does not fit 64 bits (the result, under an hour at any clock, does).
        cycles_to_ps(10 * div16 as u128, 16 * clk_hz.max(1), Round::Down) as u64
    }

    /// The line as CLKDIV and CONF0 set it, at UART clock `clk_hz` (CONF0: bit 0 odd
    /// parity, 1 parity enable, [3:2] data bits − 5, [5:4] stop bits 1 / 1.5 / 2).
    pub fn line(&self, clk_hz: u64) -> Line {
        let d = self.regs.get(0x14);
        let div16 = (((d & 0xF_FFFF) as u64) * 16 + ((d >> 20) & 0xF) as u64).max(16);
        let c = self.regs.get(0x20);
        let parity = match (c & 2 != 0, c & 1 != 0) {
            (false, _) => Parity::None,
            (true, false) => Parity::Even,
            (true, true) => Parity::Odd,
        };
        let stop_half_bits = match (c >> 4) & 3 {
            2 => 3,
            3 => 4,
            _ => 2,
        };
        Line { baud: (clk_hz * 16 / div16).min(u32::MAX as u64) as u32, data_bits: 5 + ((c >> 2) & 3) as u8, parity, stop_half_bits }
    }

    /// Drops the bytes still on their way in (the chip was held in reset).
    pub fn drop_rx(&mut self) {
        self.rx_pending.clear();
    }

    /// Host → guest: queue bytes; they arrive one character time apart from `now`.
    pub fn push_rx(&mut self, bytes: &[u8], now: u64, clk_hz: u64) {
        if self.rx_pending.is_empty() && self.rx_next_at < now {
            self.rx_next_at = now + self.char_time(clk_hz);
        }
        self.rx_pending.extend(bytes.iter().copied());
    }

    pub fn rx_queued(&self) -> usize {
        self.rx_pending.len()
    }

    /// Moves bytes whose character time has elapsed into the RX FIFO.
    pub fn sync(&mut self, now: u64, clk_hz: u64) {
        let ct = self.char_time(clk_hz);
        while self.rx_next_at <= now && !self.rx_pending.is_empty() {
            if self.rx_fifo.len() >= FIFO_SIZE {
                // No hardware flow control modelled: wait for room rather than drop, as
                // a host that honours the FIFO would (the guest sees a full FIFO).
                break;
            }
            let b = self.rx_pending.pop_front().unwrap();
            if self.regs.get(0x18) & 1 != 0 {
                self.autobaud_edges = self.autobaud_edges.saturating_add(edges_of(b));
            }
            self.rx_fifo.push_back(b);
            self.rx_last = self.rx_next_at;
            self.rx_next_at += ct;
        }
        if self.rx_pending.is_empty() && self.rx_next_at < now {
            self.rx_next_at = now;
        }
        self.update_int(now, clk_hz);
    }

    /// When the next event the CPU may see happens (a byte lands, the RX timeout fires, a
    /// register write's interrupt edge reaches the CPU), if any. May lie in the past.
    pub fn next_rx_event(&self, clk_hz: u64) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut at = |t: u64| next = Some(next.map_or(t, |n: u64| n.min(t)));
        if self.int_raw & self.regs.get(0x0C) != 0 {
            at(self.irq_visible_at);
        }
        if !self.rx_pending.is_empty() && self.rx_fifo.len() < FIFO_SIZE {
            at(self.rx_next_at);
        }
        let conf1 = self.regs.get(0x24);
        if conf1 & (1 << 31) != 0 && !self.rx_fifo.is_empty() && self.int_raw & INT_RXFIFO_TOUT == 0 {
            let thr = ((conf1 >> 24) & 0x7F) as u64;
            at(self.rx_last + thr * self.char_time(clk_hz));
        }
        next
    }

    fn tx_count(&self, now: u64, clk_hz: u64) -> u32 {
        if self.tx_busy_until <= now {
            return 0;
        }
        let ct = self.char_time(clk_hz).max(1);
        (self.tx_busy_until - now).div_ceil(ct).min(FIFO_SIZE as u64) as u32
    }

    fn update_int(&mut self, now: u64, clk_hz: u64) {
        let conf1 = self.regs.get(0x24);
        let full_thr = (conf1 & 0x7F) as usize;
        let empty_thr = (conf1 >> 8) & 0x7F;
        if self.rx_fifo.len() >= full_thr.max(1) {
            self.int_raw |= INT_RXFIFO_FULL;
        }
        // RX timeout: data waiting and the line idle for RX_TOUT_THRHD character times.
        if conf1 & (1 << 31) != 0 && !self.rx_fifo.is_empty() {
            let thr = ((conf1 >> 24) & 0x7F) as u64;
            if now >= self.rx_last + thr * self.char_time(clk_hz) {
                self.int_raw |= INT_RXFIFO_TOUT;
            }
        }
        if self.tx_count(now, clk_hz) <= empty_thr {
            self.int_raw |= INT_TXFIFO_EMPTY;
        }
    }

    /// Interrupt line level at the CPU at time `now`.
    pub fn irq(&self, now: u64) -> bool {
        self.int_raw & self.regs.get(0x0C) != 0 && now >= self.irq_visible_at
    }

    /// True once after a register write raised the interrupt output (the CPU sees the
    /// edge `IRQ_LATENCY_APB_CYCLES` later; the machine must stop and plan time for it).
    pub fn take_irq_edge(&mut self) -> bool {
        std::mem::take(&mut self.irq_edge_scheduled)
    }

    /// An interrupt edge caused by a register write has not reached the CPU yet.
    pub fn irq_settling(&self, now: u64) -> bool {
        now < self.irq_visible_at && self.int_raw & self.regs.get(0x0C) != 0
    }

    pub fn read(&mut self, off: u32, now: u64, clk_hz: u64) -> Option<u32> {
        self.sync(now, clk_hz);
        Some(match off {
            0x00 => {
                let b = self.rx_fifo.pop_front().unwrap_or(0);
                self.int_raw &= !INT_RXFIFO_FULL;
                self.update_int(now, clk_hz);
                b as u32
            }
            0x04 => self.int_raw,
            0x08 => self.int_raw & self.regs.get(0x0C),
            0x10 => 0,
            0x1C => {
                let rx = self.rx_fifo.len() as u32;
                let tx = self.tx_count(now, clk_hz);
                rx | (tx << 16) | (1 << 15) | (1 << 31) | (1 << 13) | (1 << 14)
            }
            0x28 | 0x2C | 0x68 | 0x6C => {
                // Shortest pulse seen: the host sends at the rate the UART is set to, so one
                // bit time in UART clock cycles; the counters read 9 cycles short (the ROM's
                // uart_baudrate_detect adds 16 x 9 back).
                if self.autobaud_edges > 0 {
                    let d = self.regs.get(0x14) & 0xF_FFFF;
                    d.saturating_sub(9).max(1)
                } else {
                    0xFFFFF
                }
            }
            0x30 => self.autobaud_edges.min(0x3FF),
            _ => return self.regs.read(off),
        })
    }

    pub fn write(&mut self, off: u32, v: u32, now: u64, clk_hz: u64) -> bool {
        self.sync(now, clk_hz);
        let line_before = self.int_raw & self.regs.get(0x0C) != 0;
        match off {
            0x00 => {
                let line = self.line(clk_hz);
                if self.tx_lines.last().map(|l| l.1) != Some(line) {
                    self.tx_lines.push((self.tx_count, line));
                }
                self.tx_count += 1;
                self.tx_out.push(v as u8);
                let ct = self.char_time(clk_hz);
                self.tx_busy_until = self.tx_busy_until.max(now) + ct;
                self.int_raw &= !INT_TXFIFO_EMPTY;
            }
            0x04 | 0x08 => {}
            0x10 => self.int_raw &= !v,
            0x18 => {
                if v & 1 != 0 && self.regs.get(0x18) & 1 == 0 {
                    self.autobaud_edges = 0;
                }
                self.regs.write(off, v);
            }
            0x20 => {
                if v & (1 << 17) != 0 {
                    self.rx_fifo.clear();
                }
                if v & (1 << 18) != 0 {
                    self.tx_busy_until = now;
                }
                self.regs.write(off, v);
            }
            _ => {
                if !self.regs.write(off, v) {
                    return false;
                }
            }
        }
        self.update_int(now, clk_hz);
        if !line_before && self.int_raw & self.regs.get(0x0C) != 0 {
            let lat = cycles_to_ps(IRQ_LATENCY_APB_CYCLES as u128, clk_hz.max(1), Round::Down) as u64;
            self.irq_visible_at = now + lat;
            self.irq_edge_scheduled = true;
        }
        true
    }
}

/// Signal edges in one 8N1 character (start bit low, LSB first, stop bit high).
fn edges_of(b: u8) -> u32 {
    let mut level = 1u8;
    let mut edges = 0;
    let bits = std::iter::once(0u8).chain((0..8).map(|i| (b >> i) & 1)).chain(std::iter::once(1));
    for bit in bits {
        if bit != level {
            edges += 1;
            level = bit;
        }
    }
    edges
}


impl device::Device for Uart {
    fn read(&mut self, off: u32, cx: &mut Access) -> Option<u32> {
        // Reads have side effects (popping the RX FIFO, bytes landing): when the interrupt
        // output changes, the core re-reads its lines after its next store.
        let before = self.irq(cx.now);
        let v = Uart::read(self, off, cx.now, cx.apb_hz);
        if self.irq(cx.now) != before {
            cx.effects.attention = true;
        }
        v
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        let ok = Uart::write(self, off, v, cx.now, cx.apb_hz);
        // The write raised the interrupt output, which reaches the CPU a few cycles later:
        // end the slice so the machine plans time around the edge.
        if self.take_irq_edge() {
            cx.effects.end_slice = true;
        }
        ok
    }

    /// Register state only: bytes the host already put on the wire keep arriving.
    fn reset_digital(&mut self, _now: Ps) {
        self.regs.reset();
    }

    /// Bytes land lazily (on access and at the end of each turn); this reports when the next
    /// one the CPU may see is due.
    fn next_event(&self, now: Ps, apb_hz: Hz) -> Option<Ps> {
        self.next_rx_event(apb_hz).filter(|&t| t > now)
    }

    fn lines(&self, now: Ps) -> u32 {
        self.irq(now) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APB: u64 = 40_000_000;

    #[test]
    fn the_largest_divider_gives_the_right_character_time() {
        // Found by the guest fuzzer: 10 x divider x 10^12 overflowed 64 bits.
        let mut u = Uart::new(0);
        u.write(0x14, u32::MAX, 0, APB);
        let div16 = 0xF_FFFFu128 * 16 + 0xF;
        assert_eq!(u.char_time(APB) as u128, 10 * div16 * 1_000_000_000_000 / (16 * APB as u128));
        u.push_rx(&[0x55], 0, APB);
        u.sync(u.char_time(APB), APB);
        assert_eq!(u.read(0x1C, u.char_time(APB), APB).map(|s| s & 0xFF), Some(1), "the byte arrived");
    }

    #[test]
    fn enabling_a_pending_rx_interrupt_reaches_the_cpu_after_the_latency() {
        let mut u = Uart::new(0);
        u.write(0x24, 1, 0, APB); // RXFIFO_FULL threshold 1
        u.push_rx(&[0x55], 0, APB);
        let t = u.char_time(APB) + 1;
        u.sync(t, APB);
        assert!(u.read(0x04, t, APB).unwrap() & INT_RXFIFO_FULL != 0, "raw set with the byte in the FIFO");
        assert!(!u.irq(t), "not enabled yet");
        u.write(0x0C, INT_RXFIFO_FULL, t, APB);
        assert!(u.take_irq_edge());
        let lat = IRQ_LATENCY_APB_CYCLES * 1_000_000_000_000 / APB;
        assert!(!u.irq(t) && u.irq_settling(t));
        assert!(!u.irq(t + lat - 1));
        assert!(u.irq(t + lat));
        assert_eq!(u.next_rx_event(APB), Some(t + lat));
        // Clearing with the byte still there sets it again at once (level condition).
        u.write(0x10, INT_RXFIFO_FULL, t + lat, APB);
        assert!(u.irq(t + lat) && !u.take_irq_edge());
        // Popping the byte lowers the line.
        assert_eq!(u.read(0x00, t + lat, APB), Some(0x55));
        assert!(!u.irq(t + lat));
    }
}
