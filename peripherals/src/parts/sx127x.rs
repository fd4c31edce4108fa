//! Semtech SX1276 LoRa/FSK transceiver (LoPy4, FiPy: LoRa and Sigfox share it), seen from
//! its SPI port, its DIO0 pin and its (optional) reset pin.
//!
//! SPI protocol (datasheet §4.3): NSS low starts a frame; the first byte is `wnr | addr`
//! (bit 7 = write), the following bytes are data for `addr`, `addr + 1`, … (burst) — except
//! address 0 (RegFifo), which stays put while the FIFO pointer moves. During a write MISO
//! carries the register's value before the write; NSS high ends the frame.
//!
//! Registers 0x0D..0x3F are two banks: the LoRa page when RegOpMode.LongRangeMode is set,
//! the FSK/OOK page otherwise (and through RegOpMode.AccessSharedReg from LoRa mode).
//! Registers 0x00..0x0C and 0x40..0x7F are shared. Reset values from the datasheet's
//! "default" column (rev. 7, tables 41–43):
//!
//! | addr | name | reset | modelled behaviour |
//! |---|---|---|---|
//! | 0x00 | RegFifo | – | LoRa: `fifo[FifoAddrPtr++]`; FSK: 64-byte queue |
//! | 0x01 | RegOpMode | 0x09 | mode state machine; LongRangeMode changes only in Sleep |
//! | 0x02–0x05 | Bitrate, Fdev | 1A 0B 00 52 | FSK time on air uses the bit rate |
//! | 0x06–0x08 | RegFrf | 6C 80 00 | stored (434 MHz) |
//! | 0x09–0x0C | PaConfig, PaRamp, Ocp, Lna | 4F 09 2B 20 | stored |
//! | LoRa 0x0D | RegFifoAddrPtr | 0x00 | |
//! | LoRa 0x0E / 0x0F | FifoTxBaseAddr / FifoRxBaseAddr | 0x80 / 0x00 | |
//! | LoRa 0x10 | FifoRxCurrentAddr | 0x00 | set when a packet is received |
//! | LoRa 0x11 | RegIrqFlagsMask | 0x00 | a masked IRQ does not set its flag |
//! | LoRa 0x12 | RegIrqFlags | 0x00 | write 1 to clear: 7 RxTimeout, 6 RxDone, 5 CrcError, 4 ValidHeader, 3 TxDone, 2 CadDone, 1 FhssChange, 0 CadDetected |
//! | LoRa 0x13 | RegRxNbBytes | 0x00 | |
//! | LoRa 0x18 | RegModemStat | 0x10 | |
//! | LoRa 0x19 / 0x1A | PktSnrValue / PktRssiValue | 0 | from the injected packet |
//! | LoRa 0x1D | RegModemConfig1 | 0x72 | [7:4] BW, [3:1] CR, [0] ImplicitHeader |
//! | LoRa 0x1E | RegModemConfig2 | 0x70 | [7:4] SF, [2] RxPayloadCrcOn, [1:0] SymbTimeout[9:8] |
//! | LoRa 0x1F | RegSymbTimeoutLsb | 0x64 | RxSingle timeout |
//! | LoRa 0x20 / 0x21 | Preamble MSB / LSB | 0x00 / 0x08 | |
//! | LoRa 0x22 / 0x23 | PayloadLength / MaxPayloadLength | 0x01 / 0xFF | |
//! | LoRa 0x26 | RegModemConfig3 | 0x04 | [3] LowDataRateOptimize |
//! | LoRa 0x2C | RegRssiWideband | – | pseudo-random (the driver's `Random()` samples bit 0) |
//! | LoRa 0x31 / 0x33 / 0x37 / 0x39 | DetectOptimize, InvertIQ, DetectionThreshold, SyncWord | C3 27 0A 12 | stored |
//! | FSK 0x0D–0x3D | Rx/RSSI/AFC/preamble/sync/packet config | table values | stored; preamble, sync, packet format feed the FSK time on air |
//! | FSK 0x3B | RegImageCal | 0x82 | ImageCalStart (bit 6) completes at once: ImageCalRunning (bit 5) reads 0 |
//! | FSK 0x3E | RegIrqFlags1 | 0x80 | 7 ModeReady, 6 RxReady, 5 TxReady, 4 PllLock (from the mode) |
//! | FSK 0x3F | RegIrqFlags2 | 0x40 | 6 FifoEmpty, 3 PacketSent, 2 PayloadReady |
//! | 0x40 / 0x41 | RegDioMapping1 / 2 | 0x00 | DIO0 = [7:6] of 0x40 |
//! | 0x42 | RegVersion | 0x12 | read-only |
//! | 0x44, 0x4B, 0x4D | PllHop, Tcxo, PaDac | 2D 09 84 | stored |
//! | 0x61–0x64, 0x70 | AgcRef/Thresh, Pll | 13 0E 5B DB D0 | stored |
//!
//! Modes (RegOpMode[2:0]): 0 Sleep, 1 Standby, 2 FSTx, 3 Tx, 4 FSRx, 5 Rx(Continuous),
//! 6 RxSingle (LoRa), 7 CAD (LoRa). Entering Sleep clears the LoRa FIFO. LoRa Tx sends
//! `PayloadLength` bytes from FifoTxBaseAddr, sets TxDone after the time on air of §4.1.1.7
//! and returns to Standby. RxSingle times out after SymbTimeout symbols (RxTimeout, back to
//! Standby); RxContinuous waits for packets, which only arrive through [`Sx127x::inject`].
//! CAD finishes after two symbols with CadDone and no detection.
//!
//! DIO0 mapping: LoRa 00 RxDone, 01 TxDone, 10 CadDone; FSK 00 PacketSent (Tx) /
//! PayloadReady (Rx), 01 CrcOk (Rx).

use crate::gpio::{Drive, Gpio};
use crate::spi_bus::{SpiDevice, SpiFrame};
use crate::time::{secs_to_ps, Hz, Ps};

/// The crystal every SX127x board uses (datasheet FXOSC).
pub const FXOSC_HZ: f64 = 32_000_000.0;

pub const REG_FIFO: u8 = 0x00;
pub const REG_OPMODE: u8 = 0x01;
pub const REG_LR_FIFOADDRPTR: u8 = 0x0D;
pub const REG_LR_FIFOTXBASEADDR: u8 = 0x0E;
pub const REG_LR_FIFORXBASEADDR: u8 = 0x0F;
pub const REG_LR_FIFORXCURRENTADDR: u8 = 0x10;
pub const REG_LR_IRQFLAGSMASK: u8 = 0x11;
pub const REG_LR_IRQFLAGS: u8 = 0x12;
pub const REG_LR_RXNBBYTES: u8 = 0x13;
pub const REG_LR_PKTSNRVALUE: u8 = 0x19;
pub const REG_LR_PKTRSSIVALUE: u8 = 0x1A;
pub const REG_LR_MODEMCONFIG1: u8 = 0x1D;
pub const REG_LR_MODEMCONFIG2: u8 = 0x1E;
pub const REG_LR_SYMBTIMEOUTLSB: u8 = 0x1F;
pub const REG_LR_PREAMBLEMSB: u8 = 0x20;
pub const REG_LR_PREAMBLELSB: u8 = 0x21;
pub const REG_LR_PAYLOADLENGTH: u8 = 0x22;
pub const REG_LR_FIFORXBYTEADDR: u8 = 0x25;
pub const REG_LR_MODEMCONFIG3: u8 = 0x26;
pub const REG_LR_RSSIWIDEBAND: u8 = 0x2C;
pub const REG_IMAGECAL: u8 = 0x3B;
pub const REG_IRQFLAGS1: u8 = 0x3E;
pub const REG_IRQFLAGS2: u8 = 0x3F;
pub const REG_DIOMAPPING1: u8 = 0x40;
pub const REG_VERSION: u8 = 0x42;

/// LoRa IRQ flags (RegIrqFlags).
pub const IRQ_RX_TIMEOUT: u8 = 0x80;
pub const IRQ_RX_DONE: u8 = 0x40;
pub const IRQ_VALID_HEADER: u8 = 0x10;
pub const IRQ_TX_DONE: u8 = 0x08;
pub const IRQ_CAD_DONE: u8 = 0x04;

pub const MODE_SLEEP: u8 = 0;
pub const MODE_STDBY: u8 = 1;
pub const MODE_TX: u8 = 3;
pub const MODE_RX_CONT: u8 = 5;
pub const MODE_RX_SINGLE: u8 = 6;
pub const MODE_CAD: u8 = 7;

const LONG_RANGE: u8 = 0x80;
const ACCESS_SHARED: u8 = 0x40;
/// First and last register of the mode-dependent pages.
const BANK_LO: usize = 0x0D;
const BANK_HI: usize = 0x3F;
const BANK_LEN: usize = BANK_HI - BANK_LO + 1;
/// The FSK FIFO is 64 bytes deep.
const FSK_FIFO: usize = 64;

fn shared_reset() -> [u8; 0x80] {
    let mut r = [0u8; 0x80];
    for (a, v) in [
        (0x01, 0x09),
        (0x02, 0x1A),
        (0x03, 0x0B),
        (0x05, 0x52),
        (0x06, 0x6C),
        (0x07, 0x80),
        (0x09, 0x4F),
        (0x0A, 0x09),
        (0x0B, 0x2B),
        (0x0C, 0x20),
        (0x42, 0x12),
        (0x44, 0x2D),
        (0x4B, 0x09),
        (0x4D, 0x84),
        (0x61, 0x13),
        (0x62, 0x0E),
        (0x63, 0x5B),
        (0x64, 0xDB),
        (0x70, 0xD0),
    ] {
        r[a] = v;
    }
    r
}

fn bank(values: &[(usize, u8)]) -> [u8; BANK_LEN] {
    let mut b = [0u8; BANK_LEN];
    for &(a, v) in values {
        b[a - BANK_LO] = v;
    }
    b
}

fn fsk_reset() -> [u8; BANK_LEN] {
    let mut v = vec![
        (0x0D, 0x08),
        (0x0E, 0x02),
        (0x0F, 0x0A),
        (0x10, 0xFF),
        (0x12, 0x15),
        (0x13, 0x0B),
        (0x14, 0x28),
        (0x15, 0x0C),
        (0x16, 0x12),
        (0x1F, 0x40),
        (0x24, 0x05),
        (0x26, 0x03),
        (0x27, 0x93),
        (0x30, 0x90),
        (0x31, 0x40),
        (0x32, 0x40),
        (0x35, 0x0F),
        (0x39, 0xF5),
        (0x3A, 0x20),
        (0x3B, 0x82),
        (0x3D, 0x02),
        (0x3E, 0x80),
        (0x3F, 0x40),
    ];
    v.extend((0x28..=0x2F).map(|a| (a, 0x01)));
    bank(&v)
}

fn lora_reset() -> [u8; BANK_LEN] {
    bank(&[
        (0x0E, 0x80),
        (0x18, 0x10),
        (0x1D, 0x72),
        (0x1E, 0x70),
        (0x1F, 0x64),
        (0x21, 0x08),
        (0x22, 0x01),
        (0x23, 0xFF),
        (0x26, 0x04),
        (0x31, 0xC3),
        (0x33, 0x27),
        (0x36, 0x03),
        (0x37, 0x0A),
        (0x39, 0x12),
        (0x3A, 0x52),
        (0x3B, 0x1D),
    ])
}

/// A packet the radio put on the air.
#[derive(Clone, Debug, PartialEq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Sent {
    /// Virtual time (ps) the transmission started and ended.
    pub start_ps: Ps,
    pub end_ps: Ps,
    pub lora: bool,
    /// Carrier frequency (Hz) from RegFrf.
    pub freq_hz: Hz,
    pub payload: Vec<u8>,
}

/// What the chip is doing that finishes by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
enum Pending {
    None,
    TxEnd(u64),
    RxTimeout(u64),
    CadEnd(u64),
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Sx127x {
    /// Shared registers, and the current page of 0x0D..0x3F.
    #[serde(with = "serde_big_array::BigArray")]
    regs: [u8; 0x80],
    /// The page not selected by LongRangeMode.
    #[serde(with = "serde_big_array::BigArray")]
    other: [u8; BANK_LEN],
    #[serde(with = "serde_big_array::BigArray")]
    fifo: [u8; 256],
    fsk_fifo: std::collections::VecDeque<u8>,
    /// Register address of the current SPI frame (None: next byte is the address).
    frame: Option<(u8, bool)>,
    selected: bool,
    in_reset: bool,
    pending: Pending,
    tx_start: u64,
    lfsr: u32,
    /// Everything transmitted so far.
    pub sent: Vec<Sent>,
    /// SPI frames seen (for tests and traces).
    pub frames: u64,
    /// First register and data bytes of the current frame (for the debug log).
    frame_log: Option<(u8, bool, Vec<u8>)>,
}

impl Default for Sx127x {
    fn default() -> Self {
        Self::new()
    }
}

impl Sx127x {
    pub fn new() -> Sx127x {
        let mut s = Sx127x {
            regs: [0; 0x80],
            other: [0; BANK_LEN],
            fifo: [0; 256],
            fsk_fifo: Default::default(),
            frame: None,
            selected: false,
            in_reset: false,
            pending: Pending::None,
            tx_start: 0,
            lfsr: 0xACE1_1234,
            sent: Vec::new(),
            frames: 0,
            frame_log: None,
        };
        s.reset();
        s
    }

    /// Power-on / reset-pin reset: every register back to its default, FSK mode, Standby.
    pub fn reset(&mut self) {
        self.regs = shared_reset();
        self.regs[BANK_LO..=BANK_HI].copy_from_slice(&fsk_reset());
        self.other = lora_reset();
        self.fifo = [0; 256];
        self.fsk_fifo.clear();
        self.frame = None;
        self.pending = Pending::None;
    }

    /// Drives the reset pin (NRESET, active low). While low the chip ignores SPI.
    pub fn set_reset_pin(&mut self, high: bool) {
        if !high && !self.in_reset {
            self.reset();
        }
        self.in_reset = !high;
    }

    pub fn lora(&self) -> bool {
        self.regs[REG_OPMODE as usize] & LONG_RANGE != 0
    }

    pub fn mode(&self) -> u8 {
        self.regs[REG_OPMODE as usize] & 7
    }

    /// Register value as the SPI port would return it (no side effects).
    pub fn peek(&self, addr: u8) -> u8 {
        let a = (addr & 0x7F) as usize;
        if (BANK_LO..=BANK_HI).contains(&a) && self.lora() && self.regs[1] & ACCESS_SHARED != 0 {
            return self.other[a - BANK_LO];
        }
        self.regs[a]
    }

    /// The FIFO contents (LoRa buffer), for tests.
    pub fn fifo(&self) -> &[u8; 256] {
        &self.fifo
    }

    // ---------------------------------------------------------------- SPI

    /// NSS went low: a new frame starts with an address byte.
    pub fn select(&mut self) {
        self.selected = true;
        self.frame = None;
    }

    /// NSS went high: the frame ends.
    pub fn deselect(&mut self) {
        if self.selected && self.frame.is_some() {
            self.frames += 1;
        }
        if let Some((addr, write, data)) = self.frame_log.take() {
            tracing::debug!(target: "peripherals::sx127x", "{} {addr:#04x}: {data:02x?}", if write { "write" } else { "read" });
        }
        self.selected = false;
        self.frame = None;
    }

    pub fn selected(&self) -> bool {
        self.selected
    }

    /// One byte clocked while NSS is low; returns the byte on MISO.
    pub fn transfer(&mut self, mosi: u8, now: Ps) -> u8 {
        if !self.selected || self.in_reset {
            // MISO is high impedance: the bus reads its idle level.
            return 0xFF;
        }
        self.sync(now);
        match self.frame {
            None => {
                self.frame = Some((mosi & 0x7F, mosi & 0x80 != 0));
                if tracing::enabled!(target: "peripherals::sx127x", tracing::Level::DEBUG) {
                    self.frame_log = Some((mosi & 0x7F, mosi & 0x80 != 0, Vec::new()));
                }
                0
            }
            Some((addr, write)) => {
                if addr == REG_LR_RSSIWIDEBAND {
                    self.refresh_live();
                }
                let old = if addr == REG_FIFO && !write { self.fifo_read() } else { self.peek(addr) };
                if write {
                    self.write_reg(addr, mosi, now);
                }
                if let Some((_, _, data)) = self.frame_log.as_mut() {
                    data.push(if write { mosi } else { old });
                }
                if addr != REG_FIFO {
                    self.frame = Some(((addr + 1) & 0x7F, write));
                }
                old
            }
        }
    }

    /// Register read with its side effects (FIFO pop), as one SPI single access.
    pub fn read(&mut self, addr: u8, now: Ps) -> u8 {
        self.select();
        self.transfer(addr & 0x7F, now);
        let v = self.transfer(0, now);
        self.deselect();
        v
    }

    /// Register write, as one SPI single access.
    pub fn write(&mut self, addr: u8, v: u8, now: Ps) {
        self.select();
        self.transfer(addr | 0x80, now);
        self.transfer(v, now);
        self.deselect();
    }

    fn bank_slot(&mut self, a: usize) -> &mut u8 {
        if (BANK_LO..=BANK_HI).contains(&a) && self.lora() && self.regs[1] & ACCESS_SHARED != 0 {
            &mut self.other[a - BANK_LO]
        } else {
            &mut self.regs[a]
        }
    }

    fn fifo_read(&mut self) -> u8 {
        if self.lora() {
            if self.mode() == MODE_SLEEP {
                return 0;
            }
            let p = self.regs[REG_LR_FIFOADDRPTR as usize];
            self.regs[REG_LR_FIFOADDRPTR as usize] = p.wrapping_add(1);
            self.fifo[p as usize]
        } else {
            let v = self.fsk_fifo.pop_front().unwrap_or(0);
            self.fsk_fifo_flags();
            v
        }
    }

    fn fsk_fifo_flags(&mut self) {
        if self.lora() {
            return;
        }
        let f2 = &mut self.regs[REG_IRQFLAGS2 as usize];
        *f2 &= !0xC0;
        if self.fsk_fifo.is_empty() {
            *f2 |= 0x40;
        }
        if self.fsk_fifo.len() >= FSK_FIFO {
            *f2 |= 0x80;
        }
    }

    fn write_reg(&mut self, addr: u8, v: u8, now: Ps) {
        let a = addr as usize;
        let lora = self.lora();
        let shared_access = lora && self.regs[1] & ACCESS_SHARED != 0;
        match addr {
            REG_FIFO => {
                if lora {
                    if self.mode() != MODE_SLEEP {
                        let p = self.regs[REG_LR_FIFOADDRPTR as usize];
                        self.fifo[p as usize] = v;
                        self.regs[REG_LR_FIFOADDRPTR as usize] = p.wrapping_add(1);
                    }
                } else {
                    if self.fsk_fifo.len() < FSK_FIFO {
                        self.fsk_fifo.push_back(v);
                    } else {
                        // FifoOverrun.
                        self.regs[REG_IRQFLAGS2 as usize] |= 0x10;
                    }
                    self.fsk_fifo_flags();
                }
            }
            REG_OPMODE => self.set_opmode(v, now),
            REG_VERSION => {}
            // LoRa page read-only status registers.
            0x10 | 0x13..=0x1C | 0x25 | 0x28..=0x2A | 0x2C if lora && !shared_access => {}
            REG_LR_IRQFLAGS if lora && !shared_access => {
                self.regs[a] &= !v;
            }
            REG_IMAGECAL if !lora || shared_access => {
                // ImageCalRunning is read-only; ImageCalStart runs the calibration, which
                // completes before the next access can see it running.
                *self.bank_slot(a) = v & !0x60;
            }
            0x11 | 0x3C if !lora || shared_access => {} // RssiValue, Temp
            REG_IRQFLAGS1 if !lora || shared_access => {
                // Rssi, PreambleDetect, SyncAddressMatch clear on write 1.
                *self.bank_slot(a) &= !(v & 0x0B);
            }
            REG_IRQFLAGS2 if !lora || shared_access => {
                // FifoOverrun (which also flushes the FIFO) and LowBat clear on write 1.
                if v & 0x10 != 0 && !lora {
                    self.fsk_fifo.clear();
                    self.fsk_fifo_flags();
                }
                *self.bank_slot(a) &= !(v & 0x11);
            }
            _ => *self.bank_slot(a) = v,
        }
    }

    fn set_opmode(&mut self, v: u8, now: Ps) {
        let old = self.regs[REG_OPMODE as usize];
        let old_mode = old & 7;
        let mut new = v;
        // LongRangeMode can only change in Sleep; elsewhere the bit keeps its value.
        if old_mode != MODE_SLEEP {
            new = (new & !LONG_RANGE) | (old & LONG_RANGE);
        }
        if (old ^ new) & LONG_RANGE != 0 {
            let mut cur = [0u8; BANK_LEN];
            cur.copy_from_slice(&self.regs[BANK_LO..=BANK_HI]);
            self.regs[BANK_LO..=BANK_HI].copy_from_slice(&self.other);
            self.other = cur;
        }
        self.regs[REG_OPMODE as usize] = new;
        let mode = new & 7;
        if mode == old_mode && (old ^ new) & LONG_RANGE == 0 {
            return;
        }
        self.pending = Pending::None;
        let lora = new & LONG_RANGE != 0;
        if mode == MODE_SLEEP && lora {
            // The LoRa FIFO is not retained in Sleep.
            self.fifo = [0; 256];
        }
        if lora {
            match mode {
                MODE_TX => self.start_lora_tx(now),
                MODE_RX_SINGLE => {
                    let t = self.lora_symbol_s();
                    let n = (((self.regs[REG_LR_MODEMCONFIG2 as usize] & 3) as u32) << 8)
                        | self.regs[REG_LR_SYMBTIMEOUTLSB as usize] as u32;
                    self.pending = Pending::RxTimeout(now + secs_to_ps(n as f64 * t));
                }
                MODE_CAD => {
                    let t = self.lora_symbol_s();
                    self.pending = Pending::CadEnd(now + secs_to_ps(2.0 * t));
                }
                _ => {}
            }
        } else {
            // FSK: status flags follow the mode; PacketSent/PayloadReady clear on exit.
            let f1 = match mode {
                MODE_SLEEP | MODE_STDBY => 0x80,
                2 | 4 => 0x90,
                MODE_TX => 0xB0,
                _ => 0xD0,
            };
            self.regs[REG_IRQFLAGS1 as usize] = (self.regs[REG_IRQFLAGS1 as usize] & 0x0F) | f1;
            self.regs[REG_IRQFLAGS2 as usize] &= !0x0E;
            if mode == MODE_TX {
                self.start_fsk_tx(now);
            }
        }
    }

    fn freq_hz(&self) -> u64 {
        let frf = (self.regs[6] as u64) << 16 | (self.regs[7] as u64) << 8 | self.regs[8] as u64;
        (frf as f64 * FXOSC_HZ / 524_288.0) as u64
    }

    /// LoRa bandwidth (Hz) from RegModemConfig1[7:4].
    fn lora_bw_hz(&self) -> f64 {
        const BW: [f64; 10] = [7_800.0, 10_400.0, 15_600.0, 20_800.0, 31_250.0, 41_700.0, 62_500.0, 125_000.0, 250_000.0, 500_000.0];
        BW[((self.regs[REG_LR_MODEMCONFIG1 as usize] >> 4) as usize).min(9)]
    }

    fn lora_sf(&self) -> u32 {
        ((self.regs[REG_LR_MODEMCONFIG2 as usize] >> 4) as u32).clamp(6, 12)
    }

    /// Symbol time (s): 2^SF / BW.
    fn lora_symbol_s(&self) -> f64 {
        (1u32 << self.lora_sf()) as f64 / self.lora_bw_hz()
    }

    /// LoRa time on air of a `len`-byte payload with the current settings (datasheet
    /// §4.1.1.7), in seconds.
    pub fn lora_time_on_air_s(&self, len: usize) -> f64 {
        let mc1 = self.regs[REG_LR_MODEMCONFIG1 as usize];
        let mc2 = self.regs[REG_LR_MODEMCONFIG2 as usize];
        let sf = self.lora_sf() as f64;
        let cr = (((mc1 >> 1) & 7) as f64).max(1.0);
        let ih = (mc1 & 1) as f64;
        let crc = ((mc2 >> 2) & 1) as f64;
        let de = ((self.regs[REG_LR_MODEMCONFIG3 as usize] >> 3) & 1) as f64;
        let preamble = ((self.regs[REG_LR_PREAMBLEMSB as usize] as u32) << 8 | self.regs[REG_LR_PREAMBLELSB as usize] as u32) as f64;
        let tsym = self.lora_symbol_s();
        let t_preamble = (preamble + 4.25) * tsym;
        let num = 8.0 * len as f64 - 4.0 * sf + 28.0 + 16.0 * crc - 20.0 * ih;
        let den = 4.0 * (sf - 2.0 * de);
        let n_payload = 8.0 + ((num / den).ceil() * (cr + 4.0)).max(0.0);
        t_preamble + n_payload * tsym
    }

    fn start_lora_tx(&mut self, now: Ps) {
        let len = self.regs[REG_LR_PAYLOADLENGTH as usize] as usize;
        let base = self.regs[REG_LR_FIFOTXBASEADDR as usize] as usize;
        let payload: Vec<u8> = (0..len).map(|i| self.fifo[(base + i) & 0xFF]).collect();
        let end = now + secs_to_ps(self.lora_time_on_air_s(len));
        self.tx_start = now;
        self.sent.push(Sent { start_ps: now, end_ps: end, lora: true, freq_hz: self.freq_hz(), payload });
        self.pending = Pending::TxEnd(end);
    }

    /// FSK bit rate (bit/s): FXOSC / (BitRate + BitRateFrac/16).
    fn fsk_bitrate(&self) -> f64 {
        let br = ((self.regs[2] as u32) << 8 | self.regs[3] as u32) as f64;
        let frac = (self.regs[0x5D] & 0x0F) as f64 / 16.0;
        FXOSC_HZ / (br + frac).max(1.0)
    }

    fn start_fsk_tx(&mut self, now: Ps) {
        let pc1 = self.regs[0x30];
        let preamble = ((self.regs[0x25] as u32) << 8 | self.regs[0x26] as u32) as usize;
        let sync = if self.regs[0x27] & 0x10 != 0 { ((self.regs[0x27] & 7) + 1) as usize } else { 0 };
        let crc = if pc1 & 0x10 != 0 { 2 } else { 0 };
        let payload: Vec<u8> = self.fsk_fifo.drain(..).collect();
        self.fsk_fifo_flags();
        let bytes = preamble + sync + payload.len() + crc;
        let end = now + secs_to_ps(bytes as f64 * 8.0 / self.fsk_bitrate());
        self.tx_start = now;
        self.sent.push(Sent { start_ps: now, end_ps: end, lora: false, freq_hz: self.freq_hz(), payload });
        self.pending = Pending::TxEnd(end);
    }

    fn raise_lora(&mut self, flags: u8) {
        let mask = self.regs[REG_LR_IRQFLAGSMASK as usize];
        self.regs[REG_LR_IRQFLAGS as usize] |= flags & !mask;
    }

    /// Virtual time (ps) of the next thing the chip does by itself.
    pub fn next_event(&self) -> Option<Ps> {
        match self.pending {
            Pending::None => None,
            Pending::TxEnd(t) | Pending::RxTimeout(t) | Pending::CadEnd(t) => Some(t),
        }
    }

    /// Brings the chip up to virtual time `now`.
    pub fn sync(&mut self, now: Ps) {
        let Some(t) = self.next_event() else { return };
        if t > now {
            return;
        }
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        let lora = self.lora();
        match pending {
            Pending::TxEnd(_) if lora => {
                self.raise_lora(IRQ_TX_DONE);
                self.regs[REG_OPMODE as usize] = (self.regs[REG_OPMODE as usize] & !7) | MODE_STDBY;
            }
            Pending::TxEnd(_) => {
                // FSK PacketSent; the chip stays in Tx until told otherwise.
                self.regs[REG_IRQFLAGS2 as usize] |= 0x08;
            }
            Pending::RxTimeout(_) => {
                self.raise_lora(IRQ_RX_TIMEOUT);
                self.regs[REG_OPMODE as usize] = (self.regs[REG_OPMODE as usize] & !7) | MODE_STDBY;
            }
            Pending::CadEnd(_) => {
                self.raise_lora(IRQ_CAD_DONE);
                self.regs[REG_OPMODE as usize] = (self.regs[REG_OPMODE as usize] & !7) | MODE_STDBY;
            }
            Pending::None => {}
        }
    }

    /// Delivers a received LoRa packet now; false when the radio is not listening (LoRa
    /// RxContinuous or RxSingle).
    pub fn inject(&mut self, payload: &[u8], rssi_dbm: i16, snr_db: f32, now: Ps) -> bool {
        self.sync(now);
        if !self.lora() || !matches!(self.mode(), MODE_RX_CONT | MODE_RX_SINGLE) {
            return false;
        }
        let base = self.regs[REG_LR_FIFORXBASEADDR as usize];
        for (i, b) in payload.iter().enumerate() {
            self.fifo[(base as usize + i) & 0xFF] = *b;
        }
        let n = payload.len().min(255) as u8;
        self.regs[REG_LR_FIFORXCURRENTADDR as usize] = base;
        self.regs[REG_LR_RXNBBYTES as usize] = n;
        self.regs[REG_LR_FIFORXBYTEADDR as usize] = base.wrapping_add(n);
        self.regs[REG_LR_PKTSNRVALUE as usize] = ((snr_db * 4.0).round() as i8) as u8;
        // PacketRssi (dBm) = −157 + PktRssiValue on the HF port (datasheet §5.5.5).
        self.regs[REG_LR_PKTRSSIVALUE as usize] = (rssi_dbm + 157).clamp(0, 255) as u8;
        self.raise_lora(IRQ_RX_DONE | IRQ_VALID_HEADER);
        if self.mode() == MODE_RX_SINGLE {
            self.pending = Pending::None;
            self.regs[REG_OPMODE as usize] = (self.regs[REG_OPMODE as usize] & !7) | MODE_STDBY;
        }
        true
    }

    /// Level of the DIO0 pin.
    pub fn dio0(&self) -> bool {
        let map = self.regs[REG_DIOMAPPING1 as usize] >> 6;
        if self.lora() {
            let flags = self.regs[REG_LR_IRQFLAGS as usize];
            match map {
                0 => flags & IRQ_RX_DONE != 0,
                1 => flags & IRQ_TX_DONE != 0,
                2 => flags & IRQ_CAD_DONE != 0,
                _ => false,
            }
        } else {
            let f2 = self.regs[REG_IRQFLAGS2 as usize];
            match (map, self.mode()) {
                (0, MODE_TX) => f2 & 0x08 != 0,
                (0, MODE_RX_CONT) => f2 & 0x04 != 0,
                (1, MODE_RX_CONT) => f2 & 0x02 != 0,
                _ => false,
            }
        }
    }

    /// Advances the wideband RSSI noise source (its LSB is what `SX1276Random` samples).
    fn next_noise(&mut self) -> u8 {
        // xorshift32: deterministic, so runs repeat exactly.
        let mut x = self.lfsr;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.lfsr = x;
        x as u8
    }

    /// A new wideband RSSI sample (LoRa page) before it is read.
    fn refresh_live(&mut self) {
        if self.lora() && self.regs[1] & ACCESS_SHARED == 0 {
            let n = self.next_noise();
            self.regs[REG_LR_RSSIWIDEBAND as usize] = n;
        }
    }
}

// -------------------------------------------------------------------- on the board

/// How an SX127x hangs off the ESP32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Wiring {
    /// SPI controller: 2 (HSPI) or 3 (VSPI).
    pub spi: u8,
    /// GPIO of NSS (chip select, active low).
    pub ncs: u8,
    /// GPIO DIO0 drives.
    pub dio0: u8,
    /// GPIO of NRESET, if the board wires it.
    pub reset: Option<u8>,
}

/// GPIO-matrix output signals of the hardware chip selects CS0..CS2 of SPI2 and SPI3
/// (IDF `gpio_sig_map.h`: HSPICS0 11, HSPICS1 61, HSPICS2 62, VSPICS0 68..VSPICS2 70).
fn cs_signals(spi: u8) -> [u32; 3] {
    if spi == 2 {
        [11, 61, 62]
    } else {
        [68, 69, 70]
    }
}

/// An SX127x wired to the SoC.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Attached {
    pub chip: Sx127x,
    pub wiring: Wiring,
    /// Hardware chip selects the SPI controller asserts right now.
    hw_cs: u8,
    nss_low: bool,
}

impl Attached {
    pub fn new(wiring: Wiring) -> Attached {
        Attached { chip: Sx127x::new(), wiring, hw_cs: 0, nss_low: false }
    }

    /// NSS as the chip sees it: the controller's chip select when the GPIO matrix routes one
    /// to the pad, otherwise the pad's level (firmware driving NSS as a GPIO, as Pycom's
    /// `SX1276WriteBuffer` does).
    fn nss_is_low(&self, gpio: &Gpio) -> bool {
        let pad = self.wiring.ncs as usize;
        let sel = gpio.regs.get(0x530 + 4 * pad as u32) & 0x1FF;
        match cs_signals(self.wiring.spi).iter().position(|&s| s == sel) {
            Some(k) => self.hw_cs >> k & 1 != 0,
            None => !gpio.level(pad),
        }
    }

    /// The pads changed: follow NSS and NRESET. NRESET has a pull-up inside the chip, so
    /// an undriven reset pad reads high (Pycom releases reset by making the pad an input).
    pub fn pins(&mut self, gpio: &Gpio) {
        if let Some(r) = self.wiring.reset {
            self.chip.set_reset_pin(gpio.pad_output(r as usize).unwrap_or(true));
        }
        let low = self.nss_is_low(gpio);
        if low != self.nss_low {
            self.nss_low = low;
            if low {
                self.chip.select();
            } else {
                self.chip.deselect();
            }
        }
    }

    /// Brings the chip up to `now` and puts DIO0 on its pad (the chip drives it low when idle).
    pub fn sync(&mut self, gpio: &mut Gpio, now: Ps) {
        self.chip.sync(now);
        gpio.drive[self.wiring.dio0 as usize] = if self.chip.dio0() { Drive::High } else { Drive::Low };
    }

    /// A digital reset of the SoC: the controller's chip selects drop (the chip itself is
    /// outside the SoC and keeps its state).
    pub fn soc_reset(&mut self) {
        self.hw_cs = 0;
    }
}

/// The SPI bus of the controller the chip is on, as its transactions see it.
pub struct RadioBus<'a> {
    pub radio: &'a mut Attached,
    pub gpio: &'a Gpio,
}

impl SpiDevice for RadioBus<'_> {
    /// The controller's chip selects reach NSS when the GPIO matrix routes one to its pad.
    fn select(&mut self, hw_cs: u8) {
        self.radio.hw_cs = hw_cs;
        self.radio.pins(self.gpio);
    }

    /// Byte by byte while NSS is low (the chip ignores bytes outside a frame).
    fn transfer(&mut self, f: &mut SpiFrame<'_>, now: Ps) {
        f.exchange_bytes(|mosi| self.radio.chip.transfer(mosi, now));
    }

    fn deselect(&mut self, _hw_cs: u8, keep: bool) {
        if !keep {
            self.radio.hw_cs = 0;
            self.radio.pins(self.gpio);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000_000;

    fn lora_standby(r: &mut Sx127x) {
        r.write(REG_OPMODE, 0x00, 0); // FSK sleep
        r.write(REG_OPMODE, 0x80, 0); // LoRa sleep
        r.write(REG_OPMODE, 0x81, 0); // LoRa standby
    }

    #[test]
    fn version_and_reset_values() {
        let mut r = Sx127x::new();
        assert_eq!(r.read(REG_VERSION, 0), 0x12);
        assert_eq!(r.read(REG_OPMODE, 0), 0x09);
        assert_eq!(r.read(0x06, 0), 0x6C);
        assert_eq!(r.read(REG_IMAGECAL, 0), 0x82);
        r.write(REG_VERSION, 0x55, 0);
        assert_eq!(r.read(REG_VERSION, 0), 0x12, "RegVersion is read-only");
    }

    #[test]
    fn write_returns_old_value_and_burst_increments() {
        let mut r = Sx127x::new();
        r.select();
        assert_eq!(r.transfer(0x80 | 0x06, 0), 0);
        assert_eq!(r.transfer(0xD9, 0), 0x6C, "MISO carries the value before the write");
        assert_eq!(r.transfer(0x06, 0), 0x80);
        assert_eq!(r.transfer(0x66, 0), 0x00);
        r.deselect();
        assert_eq!((r.read(6, 0), r.read(7, 0), r.read(8, 0)), (0xD9, 0x06, 0x66));
        assert_eq!(r.frames, 4);
        // Bytes outside a frame are not seen.
        assert_eq!(r.transfer(0x86, 0), 0xFF);
        assert_eq!(r.read(6, 0), 0xD9);
    }

    #[test]
    fn long_range_mode_only_in_sleep_and_pages_swap() {
        let mut r = Sx127x::new();
        r.write(REG_OPMODE, 0x81, 0); // from standby: LongRangeMode ignored
        assert_eq!(r.read(REG_OPMODE, 0), 0x01);
        assert_eq!(r.read(0x0E, 0), 0x02, "FSK RegRssiConfig");
        lora_standby(&mut r);
        assert_eq!(r.read(REG_OPMODE, 0), 0x81);
        assert_eq!(r.read(REG_LR_FIFOTXBASEADDR, 0), 0x80);
        assert_eq!(r.read(REG_LR_MODEMCONFIG1, 0), 0x72);
        // AccessSharedReg reaches the FSK page from LoRa mode.
        r.write(REG_OPMODE, 0xC1, 0);
        assert_eq!(r.read(0x0E, 0), 0x02);
        r.write(REG_OPMODE, 0x81, 0);
        assert_eq!(r.read(0x0E, 0), 0x80);
    }

    #[test]
    fn fifo_pointer_and_sleep_clears() {
        let mut r = Sx127x::new();
        lora_standby(&mut r);
        r.write(REG_LR_FIFOADDRPTR, 0x80, 0);
        r.select();
        r.transfer(0x80, 0);
        for b in [1u8, 2, 3] {
            r.transfer(b, 0);
        }
        r.deselect();
        assert_eq!(r.read(REG_LR_FIFOADDRPTR, 0), 0x83);
        r.write(REG_LR_FIFOADDRPTR, 0x80, 0);
        r.select();
        r.transfer(0x00, 0);
        let got: Vec<u8> = (0..3).map(|_| r.transfer(0, 0)).collect();
        r.deselect();
        assert_eq!(got, [1, 2, 3]);
        r.write(REG_OPMODE, 0x80, 0);
        assert_eq!(r.fifo()[0x80], 0);
    }

    #[test]
    fn lora_tx_done_after_time_on_air() {
        let mut r = Sx127x::new();
        lora_standby(&mut r);
        // SF7, BW125, CR4/5, explicit header, CRC on, preamble 8, 10 bytes.
        r.write(REG_LR_MODEMCONFIG1, 0x72, 0);
        r.write(REG_LR_MODEMCONFIG2, 0x74, 0);
        r.write(REG_LR_PAYLOADLENGTH, 10, 0);
        r.write(REG_DIOMAPPING1, 0x40, 0); // DIO0 = TxDone
        let toa = r.lora_time_on_air_s(10);
        // Semtech's calculator: 41.216 ms for this configuration.
        assert!((toa - 0.041216).abs() < 1e-6, "{toa}");
        r.write(REG_OPMODE, 0x83, 0);
        assert_eq!(r.mode(), MODE_TX);
        let end = r.next_event().unwrap();
        assert_eq!(end, secs_to_ps(toa));
        r.sync(end - 1);
        assert!(!r.dio0());
        r.sync(end);
        assert!(r.dio0());
        assert_eq!(r.read(REG_LR_IRQFLAGS, end), IRQ_TX_DONE);
        assert_eq!(r.mode(), MODE_STDBY);
        r.write(REG_LR_IRQFLAGS, 0xFF, end);
        assert!(!r.dio0());
        assert_eq!(r.sent.len(), 1);
        assert_eq!(r.sent[0].payload.len(), 10);
        // SF12 BW125 CR4/5 with LowDataRateOptimize and CRC: 1 byte = 827.392 ms.
        r.write(REG_LR_MODEMCONFIG2, 0xC4, 0);
        r.write(REG_LR_MODEMCONFIG3, 0x0C, 0);
        let toa = r.lora_time_on_air_s(1);
        assert!((toa - 0.827392).abs() < 1e-6, "{toa}");
    }

    #[test]
    fn rx_single_times_out_and_inject_delivers() {
        let mut r = Sx127x::new();
        lora_standby(&mut r);
        r.write(REG_LR_SYMBTIMEOUTLSB, 5, 0);
        r.write(REG_OPMODE, 0x86, 0);
        let t = r.next_event().unwrap();
        assert_eq!(t, 5 * 1_024_000_000); // 5 × 1.024 ms at SF7/BW125
        r.sync(t);
        assert_eq!(r.read(REG_LR_IRQFLAGS, t) & IRQ_RX_TIMEOUT, IRQ_RX_TIMEOUT);
        assert_eq!(r.mode(), MODE_STDBY);
        assert!(!r.inject(b"x", -50, 7.0, t));
        r.write(REG_OPMODE, 0x85, t);
        r.write(REG_LR_FIFORXBASEADDR, 0x10, t);
        assert!(r.inject(b"hello", -60, 9.5, t + MS));
        assert!(r.dio0(), "DIO0 mapped to RxDone by default");
        assert_eq!(r.read(REG_LR_RXNBBYTES, t), 5);
        let cur = r.read(REG_LR_FIFORXCURRENTADDR, t);
        r.write(REG_LR_FIFOADDRPTR, cur, t);
        let got: Vec<u8> = (0..5).map(|_| r.read(REG_FIFO, t)).collect();
        assert_eq!(got, b"hello");
        assert_eq!(r.read(REG_LR_PKTRSSIVALUE, t), 97);
        assert_eq!(r.read(REG_LR_PKTSNRVALUE, t), 38);
    }

    #[test]
    fn irq_mask_and_image_cal() {
        let mut r = Sx127x::new();
        r.write(REG_IMAGECAL, 0x82 | 0x40, 0);
        assert_eq!(r.read(REG_IMAGECAL, 0) & 0x60, 0, "calibration done at once");
        lora_standby(&mut r);
        r.write(REG_LR_IRQFLAGSMASK, IRQ_CAD_DONE, 0);
        r.write(REG_OPMODE, 0x87, 0);
        let t = r.next_event().unwrap();
        r.sync(t);
        assert_eq!(r.read(REG_LR_IRQFLAGS, t), 0, "masked CadDone does not set its flag");
        assert_eq!(r.mode(), MODE_STDBY);
    }

    #[test]
    fn reset_pin() {
        let mut r = Sx127x::new();
        r.write(0x06, 0x11, 0);
        r.set_reset_pin(false);
        assert_eq!(r.read(REG_VERSION, 0), 0xFF, "no answer while held in reset");
        r.set_reset_pin(true);
        assert_eq!(r.read(0x06, 0), 0x6C);
    }
}
