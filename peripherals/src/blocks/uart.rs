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
use crate::regblock::RegBlock;
use std::collections::VecDeque;

pub const FIFO_SIZE: usize = 128;
/// The interrupt bits (INT_RAW, INT_ST, INT_ENA, INT_CLR) the logic raises.
pub const INT_RXFIFO_FULL: u32 = INT_ENA::RXFIFO_FULL.mask();
pub const INT_TXFIFO_EMPTY: u32 = INT_ENA::TXFIFO_EMPTY.mask();
pub const INT_RXFIFO_TOUT: u32 = INT_ENA::RXFIFO_TOUT.mask();

crate::regs! {
    /// A UART's registers (TRM "UART Registers").
    pub static REGS: "UART", 0x80;
    0x00 FIFO rw 0 modelled;
    0x04 INT_RAW ro 0 modelled;
    0x08 INT_ST ro 0 modelled;
    0x0C INT_ENA rw 0 stored {
        RXFIFO_FULL 0 modelled;
        TXFIFO_EMPTY 1 modelled;
        RXFIFO_OVF 4 stored;
        RXFIFO_TOUT 8 modelled;
        TX_DONE 14 stored;
    };
    0x10 INT_CLR w1c 0 modelled;
    0x14 CLKDIV rw 0x2B6 stored {
        DIV_INT 19:0 modelled;
        DIV_FRAG 23:20 modelled;
    };
    0x18 AUTOBAUD rw 0x1000 stored {
        EN 0 modelled;
        GLITCH_FILT 15:8 stored;
    };
    0x1C STATUS ro 0 stored {
        RXFIFO_CNT 7:0 modelled;
        DSRN 13 modelled;
        CTSN 14 modelled;
        RXD 15 modelled;
        TXFIFO_CNT 23:16 modelled;
        TXD 31 modelled;
    };
    0x20 CONF0 rw 0x0800_001C stored {
        PARITY 0 modelled;
        PARITY_EN 1 modelled;
        BIT_NUM 3:2 modelled;
        STOP_BIT_NUM 5:4 modelled;
        SW_RTS 6 stored;
        SW_DTR 7 stored;
        TXD_BRK 8 unmodelled;
        /// IrDA: not modelled.
        IRDA 13:9 unmodelled;
        LOOPBACK 14 unmodelled;
        /// The transmitter waits for CTS: the parts wired to a UART (the LTE modem) keep
        /// CTS asserted while they run, so it never waits here.
        TX_FLOW_EN 15 stored;
        IRDA_EN 16 unmodelled;
        RXFIFO_RST 17 modelled;
        TXFIFO_RST 18 modelled;
        /// RXD/CTS/DSR/TXD/RTS/DTR inversion: not modelled.
        INV 24:19 unmodelled;
        CLK_EN 25 stored;
        ERR_WR_MASK 26 stored;
        /// 1: the APB clock (what the model uses); 0: REF_TICK, not modelled.
        TICK_REF_ALWAYS_ON 27 unmodelled;
    };
    0x24 CONF1 rw 0x0000_6060 stored {
        RXFIFO_FULL_THRHD 6:0 modelled;
        TXFIFO_EMPTY_THRHD 14:8 modelled;
        RX_FLOW_THRHD 22:16 stored;
        /// RTS follows the RX FIFO: bytes from outside wait for room instead (see RX).
        RX_FLOW_EN 23 stored;
        RX_TOUT_THRHD 30:24 modelled;
        RX_TOUT_EN 31 modelled;
    };
    0x28 LOWPULSE ro 0 stored {
        MIN_CNT 19:0 modelled;
    };
    0x2C HIGHPULSE ro 0 stored;
    0x30 RXD_CNT ro 0 stored {
        EDGE_CNT 9:0 modelled;
    };
    0x34 FLOW_CONF rw 0 stored;
    0x38 SLEEP_CONF rw 0xF0 stored;
    0x3C SWFC_CONF rw 0x1311_E000 stored;
    0x40 IDLE_CONF rw 0x0040_A00A stored;
    0x44 RS485_CONF rw 0 stored;
    0x48 AT_CMD_PRECNT rw 0x0018_6A00 stored;
    0x4C AT_CMD_POSTCNT rw 0x0018_6A00 stored;
    0x50 AT_CMD_GAPTOUT rw 0x1E00 stored;
    0x54 AT_CMD_CHAR rw 0x32B stored;
    0x58 MEM_CONF rw 0x88 stored;
    0x5C MEM_TX_STATUS ro 0 stored;
    0x60 MEM_RX_STATUS ro 0 stored;
    0x64 MEM_CNT_STATUS ro 0 stored;
    0x68 POSPULSE ro 0 stored;
    0x6C NEGPULSE ro 0 stored;
    0x78 DATE ro 0x1507_2200 stored;
    0x7C ID ro 0x0000_0500 stored;
}

/// What the auto-baud pulse counters read before any edge (all ones: no pulse seen).
const NO_PULSE: u32 = LOWPULSE::MIN_CNT.mask();
/// The pulse counters read this many UART clock cycles short of a bit time (the ROM's
/// `uart_baudrate_detect` adds 16 x 9 back).
const PULSE_SHORT: u32 = 9;

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

impl Uart {
    pub fn new(index: u8) -> Uart {
        let name = ["UART0", "UART1", "UART2"][index as usize % 3];
        Uart {
            regs: RegBlock::new(name, &REGS),
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
    pub fn char_time(&self, clk_hz: Hz) -> Ps {
        let div16 = self.div16().max(16);
        // 10 bits × div/16 clock periods; in u128, as the largest divider the guest can set
        // times 10^12 does not fit 64 bits (the result, under an hour at any clock, does).
        cycles_to_ps(10 * div16 as u128, 16 * clk_hz.max(1), Round::Down) as u64
    }

    /// CLKDIV in sixteenths of a UART clock cycle per bit.
    fn div16(&self) -> u64 {
        let d = self.regs.get(CLKDIV);
        CLKDIV::DIV_INT.get(d) as u64 * 16 + CLKDIV::DIV_FRAG.get(d) as u64
    }

    /// The line as CLKDIV and CONF0 set it, at UART clock `clk_hz` (CONF0: bit 0 odd
    /// parity, 1 parity enable, [3:2] data bits − 5, [5:4] stop bits 1 / 1.5 / 2).
    pub fn line(&self, clk_hz: Hz) -> Line {
        let div16 = self.div16().max(16);
        let c = self.regs.get(CONF0);
        let parity = match (CONF0::PARITY_EN.on(c), CONF0::PARITY.on(c)) {
            (false, _) => Parity::None,
            (true, false) => Parity::Even,
            (true, true) => Parity::Odd,
        };
        let stop_half_bits = match CONF0::STOP_BIT_NUM.get(c) {
            2 => 3,
            3 => 4,
            _ => 2,
        };
        Line { baud: (clk_hz * 16 / div16).min(u32::MAX as u64) as u32, data_bits: 5 + CONF0::BIT_NUM.get(c) as u8, parity, stop_half_bits }
    }

    /// Drops the bytes still on their way in (the chip was held in reset).
    pub fn drop_rx(&mut self) {
        self.rx_pending.clear();
    }

    /// Host → guest: queue bytes; they arrive one character time apart from `now`.
    pub fn push_rx(&mut self, bytes: &[u8], now: Ps, clk_hz: Hz) {
        if self.rx_pending.is_empty() && self.rx_next_at < now {
            self.rx_next_at = now + self.char_time(clk_hz);
        }
        self.rx_pending.extend(bytes.iter().copied());
    }

    /// When the last byte written to the TX FIFO is completely on the wire.
    pub fn tx_done_at(&self) -> u64 {
        self.tx_busy_until
    }

    pub fn rx_queued(&self) -> usize {
        self.rx_pending.len()
    }

    /// Moves bytes whose character time has elapsed into the RX FIFO.
    pub fn sync(&mut self, now: Ps, clk_hz: Hz) {
        let ct = self.char_time(clk_hz);
        while self.rx_next_at <= now && !self.rx_pending.is_empty() {
            if self.rx_fifo.len() >= FIFO_SIZE {
                // No hardware flow control modelled: wait for room rather than drop, as
                // a host that honours the FIFO would (the guest sees a full FIFO).
                break;
            }
            let b = self.rx_pending.pop_front().unwrap();
            if self.regs.on(AUTOBAUD, AUTOBAUD::EN) {
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
    pub fn next_rx_event(&self, clk_hz: Hz) -> Option<Ps> {
        let mut next: Option<u64> = None;
        let mut at = |t: u64| next = Some(next.map_or(t, |n: u64| n.min(t)));
        if self.int_raw & self.regs.get(INT_ENA) != 0 {
            at(self.irq_visible_at);
        }
        if !self.rx_pending.is_empty() && self.rx_fifo.len() < FIFO_SIZE {
            at(self.rx_next_at);
        }
        let conf1 = self.regs.get(CONF1);
        if CONF1::RX_TOUT_EN.on(conf1) && !self.rx_fifo.is_empty() && self.int_raw & INT_RXFIFO_TOUT == 0 {
            let thr = CONF1::RX_TOUT_THRHD.get(conf1) as u64;
            at(self.rx_last + thr * self.char_time(clk_hz));
        }
        next
    }

    fn tx_count(&self, now: Ps, clk_hz: Hz) -> u32 {
        if self.tx_busy_until <= now {
            return 0;
        }
        let ct = self.char_time(clk_hz).max(1);
        (self.tx_busy_until - now).div_ceil(ct).min(FIFO_SIZE as u64) as u32
    }

    fn update_int(&mut self, now: Ps, clk_hz: Hz) {
        let conf1 = self.regs.get(CONF1);
        let full_thr = CONF1::RXFIFO_FULL_THRHD.get(conf1) as usize;
        let empty_thr = CONF1::TXFIFO_EMPTY_THRHD.get(conf1);
        if self.rx_fifo.len() >= full_thr.max(1) {
            self.int_raw |= INT_RXFIFO_FULL;
        }
        // RX timeout: data waiting and the line idle for RX_TOUT_THRHD character times.
        if CONF1::RX_TOUT_EN.on(conf1) && !self.rx_fifo.is_empty() {
            let thr = CONF1::RX_TOUT_THRHD.get(conf1) as u64;
            if now >= self.rx_last + thr * self.char_time(clk_hz) {
                self.int_raw |= INT_RXFIFO_TOUT;
            }
        }
        if self.tx_count(now, clk_hz) <= empty_thr {
            self.int_raw |= INT_TXFIFO_EMPTY;
        }
    }

    /// Interrupt line level at the CPU at time `now`.
    pub fn irq(&self, now: Ps) -> bool {
        self.int_raw & self.regs.get(INT_ENA) != 0 && now >= self.irq_visible_at
    }

    /// True once after a register write raised the interrupt output (the CPU sees the
    /// edge `IRQ_LATENCY_APB_CYCLES` later; the machine must stop and plan time for it).
    pub fn take_irq_edge(&mut self) -> bool {
        std::mem::take(&mut self.irq_edge_scheduled)
    }

    /// An interrupt edge caused by a register write has not reached the CPU yet.
    pub fn irq_settling(&self, now: Ps) -> bool {
        now < self.irq_visible_at && self.int_raw & self.regs.get(INT_ENA) != 0
    }

    pub fn read(&mut self, off: u32, now: Ps, clk_hz: Hz) -> Option<u32> {
        self.sync(now, clk_hz);
        Some(match off {
            FIFO => {
                let b = self.rx_fifo.pop_front().unwrap_or(0);
                self.int_raw &= !INT_RXFIFO_FULL;
                self.update_int(now, clk_hz);
                b as u32
            }
            INT_RAW => self.int_raw,
            INT_ST => self.int_raw & self.regs.get(INT_ENA),
            INT_CLR => 0,
            STATUS => {
                let rx = self.rx_fifo.len() as u32;
                let tx = self.tx_count(now, clk_hz);
                // The lines idle high (RXD, TXD) and CTS/DSR inactive.
                let idle = [STATUS::RXD, STATUS::TXD, STATUS::DSRN, STATUS::CTSN].iter().fold(0, |m, f| m | f.mask());
                rx | STATUS::TXFIFO_CNT.val(tx) | idle
            }
            LOWPULSE | HIGHPULSE | POSPULSE | NEGPULSE => {
                // Shortest pulse seen: the host sends at the rate the UART is set to, so one
                // bit time in UART clock cycles.
                if self.autobaud_edges > 0 {
                    let d = self.regs.field(CLKDIV, CLKDIV::DIV_INT);
                    d.saturating_sub(PULSE_SHORT).max(1)
                } else {
                    NO_PULSE
                }
            }
            RXD_CNT => self.autobaud_edges.min(RXD_CNT::EDGE_CNT.mask()),
            _ => return self.regs.read(off),
        })
    }

    pub fn write(&mut self, off: u32, v: u32, now: Ps, clk_hz: Hz) -> bool {
        self.sync(now, clk_hz);
        let line_before = self.int_raw & self.regs.get(INT_ENA) != 0;
        match off {
            FIFO => {
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
            INT_RAW | INT_ST => {}
            INT_CLR => self.int_raw &= !v,
            AUTOBAUD => {
                if AUTOBAUD::EN.on(v) && !self.regs.on(AUTOBAUD, AUTOBAUD::EN) {
                    self.autobaud_edges = 0;
                }
                self.regs.write(off, v);
            }
            CONF0 => {
                if CONF0::RXFIFO_RST.on(v) {
                    self.rx_fifo.clear();
                }
                if CONF0::TXFIFO_RST.on(v) {
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
        if !line_before && self.int_raw & self.regs.get(INT_ENA) != 0 {
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
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

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
