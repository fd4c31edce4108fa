//! GPIO matrix (0x3FF4_4000) and IO_MUX (0x3FF4_9000): output/enable registers with their
//! W1TS/W1TC aliases, input levels from the outside world, pulls and outputs, the strap
//! register latched at reset, pin interrupts, and the matrix routing.
//!
//! GPIO:
//! | off | register | modelled behaviour |
//! |---|---|---|
//! | 0x04/0x08/0x0C | OUT, OUT_W1TS, OUT_W1TC | GPIO0–31 output latch |
//! | 0x10/0x14/0x18 | OUT1, _W1TS, _W1TC | GPIO32–39 |
//! | 0x20/0x24/0x28 | ENABLE, _W1TS, _W1TC | output enable |
//! | 0x2C/0x30/0x34 | ENABLE1, _W1TS, _W1TC | |
//! | 0x38 | STRAP | [5:0] = {MTDI, GPIO0, GPIO2, GPIO4, MTDO, GPIO5} latched at reset |
//! | 0x3C / 0x40 | IN / IN1 | pad levels |
//! | 0x44..0x58 | STATUS(1) and W1TS/W1TC | interrupt status, latched from the pads by PINn INT_TYPE (`sample_inputs`) |
//! | 0x5C..0x80 | ACPU/PCPU (NMI) INT status | read: STATUS bits routed by PINn INT_ENA; PCPU/ACPU drive source 22 (NMI: 23) per core |
//! | 0x88..0x124 | PIN0..PIN39 | [9:7] INT_TYPE, [17:13] INT_ENA |
//! | 0x130..0x52C | FUNCn_IN_SEL_CFG (256) | |
//! | 0x530..0x5CC | FUNCn_OUT_SEL_CFG (40), reset 0x100 (GPIO out) | [8:0] OUT_SEL, 9 OUT_INV_SEL, 10 OEN_SEL, 11 OEN_INV_SEL: see "Output routing" |
//! | 0x5D0.. | CALI_*, DATE | stored |
//!
//! Output routing (GPIO matrix): a pad whose FUNCn_OUT_SEL_CFG selects 0x100 drives the
//! GPIO OUT latch, enabled by GPIO ENABLE. One that selects a peripheral signal whose level
//! is modelled (`set_signal`: the RMT outputs, signals 87..94) follows that signal
//! (inverted by OUT_INV_SEL), enabled by the peripheral unless OEN_SEL picks GPIO ENABLE.
//! Other signals are not modelled and fall back to the OUT latch.
//!
//! IO_MUX: 0x00 PIN_CTRL, 0x04..0x90 one register per pad: bit 7 FUN_PD, bit 8 FUN_PU,
//! bit 9 FUN_IE, [14:12] MCU_SEL.

use crate::device::{self, Access};
use crate::time::Ps;
use crate::regblock::{Field, RegBlock};

pub const NUM_PINS: usize = 40;

crate::regs! {
    /// The GPIO matrix (TRM "GPIO Matrix Registers").
    pub static REGS: "GPIO", 0x1000;
    /// 0x00..0x84 where nothing is named below: stored.
    0x00 GPIO_LOW[34] rw 0 stored;
    0x04 OUT rw 0 modelled;
    0x08 OUT_W1TS wo 0 modelled;
    0x0C OUT_W1TC wo 0 modelled;
    0x10 OUT1 rw 0 stored {
        DATA 7:0 modelled;
    };
    0x14 OUT1_W1TS wo 0 modelled;
    0x18 OUT1_W1TC wo 0 modelled;
    0x20 ENABLE rw 0 modelled;
    0x24 ENABLE_W1TS wo 0 modelled;
    0x28 ENABLE_W1TC wo 0 modelled;
    0x2C ENABLE1 rw 0 stored {
        DATA 7:0 modelled;
    };
    0x30 ENABLE1_W1TS wo 0 modelled;
    0x34 ENABLE1_W1TC wo 0 modelled;
    /// Latched at reset.
    0x38 STRAP ro 0 stored {
        GPIO5 0 modelled;
        MTDO 1 modelled;
        GPIO4 2 modelled;
        GPIO2 3 modelled;
        GPIO0 4 modelled;
        MTDI 5 modelled;
    };
    0x3C IN ro 0 modelled;
    0x40 IN1 ro 0 modelled;
    0x44 STATUS rw 0 modelled;
    0x48 STATUS_W1TS wo 0 modelled;
    0x4C STATUS_W1TC wo 0 modelled;
    0x50 STATUS1 rw 0 stored {
        DATA 7:0 modelled;
    };
    0x54 STATUS1_W1TS wo 0 modelled;
    0x58 STATUS1_W1TC wo 0 modelled;
    /// ACPU_INT, ACPU_NMI_INT, PCPU_INT, PCPU_NMI_INT, CPUSDIO_INT, then the same for
    /// GPIO32..39: the status bits each PINn INT_ENA routes there.
    0x5C CPU_INT[10] ro 0 modelled;
    0x88 PIN[40] rw 0 stored {
        /// 1 rising, 2 falling, 3 any edge, 4 low level, 5 high level.
        INT_TYPE 9:7 modelled;
        INT_ENA_APP 13 modelled;
        INT_ENA_APP_NMI 14 modelled;
        INT_ENA_PRO 15 modelled;
        INT_ENA_PRO_NMI 16 modelled;
        INT_ENA_SDIO 17 modelled;
        /// Open drain: outputs are push-pull here.
        PAD_DRIVER 2 unmodelled;
        /// Wake-up from light sleep: not modelled.
        WAKEUP_ENABLE 10 unmodelled;
    };
    /// Input routing: peripherals here take their inputs directly, not through the matrix.
    0x130 FUNC_IN_SEL_CFG[256] rw 0 stored;
    0x530 FUNC_OUT_SEL_CFG[40] rw 0x100 stored {
        OUT_SEL 8:0 modelled;
        INV_SEL 9 modelled;
        OEN_SEL 10 modelled;
        OEN_INV_SEL 11 modelled;
    };
    0x5D0 CALI[12] rw 0 stored;
    0x6FC DATE rw 0x1409_2200 stored;
    /// Not in the TRM: the mask ROM's SelectSpiFunction reads this word (a literal in the
    /// ROM) and masks it into the SPI pad setup; reserved space reads as zero.
    0xF24 RESERVED_F24 ro 0 stored;
}

/// IO_MUX: a register per pad.
pub mod iomux {
    crate::regs! {
        /// IO_MUX (TRM "IO_MUX Pad List"): a register per pad.
        pub static REGS: "IO_MUX", 0x100;
        0x00 PIN_CTRL rw 0x3FF stored;
        /// Pads reset with input enabled and function 2 (GPIO) for most; the TRM's reset
        /// of 0x0000_0800 (drive strength 2) serves as a plain default.
        0x04 PAD[36] rw 0x0000_0800 stored {
            /// Function select: stored (the model routes every pad through the matrix).
            MCU_SEL 14:12 stored;
            FUN_DRV 11:10 stored;
            FUN_IE 9 stored;
            FUN_WPU 8 modelled;
            FUN_WPD 7 modelled;
            MCU_DRV 6:5 stored;
            MCU_IE 4 stored;
            MCU_WPU 3 stored;
            MCU_WPD 2 stored;
            SLP_SEL 1 stored;
            MCU_OE 0 stored;
        };
        0x04 GPIO36 rw 0x0000_0800 stored;
        0x08 GPIO37 rw 0x0000_0800 stored;
        0x0C GPIO38 rw 0x0000_0800 stored;
        0x10 GPIO39 rw 0x0000_0800 stored;
        0x14 GPIO34 rw 0x0000_0800 stored;
        0x18 GPIO35 rw 0x0000_0800 stored;
        0x1C GPIO32 rw 0x0000_0800 stored;
        0x20 GPIO33 rw 0x0000_0800 stored;
        0x24 GPIO25 rw 0x0000_0800 stored;
        0x28 GPIO26 rw 0x0000_0800 stored;
        0x2C GPIO27 rw 0x0000_0800 stored;
        0x30 MTMS rw 0x0000_0800 stored;
        0x34 MTDI rw 0x0000_0800 stored;
        0x38 MTCK rw 0x0000_0800 stored;
        0x3C MTDO rw 0x0000_0800 stored;
        0x40 GPIO2 rw 0x0000_0800 stored;
        0x44 GPIO0 rw 0x0000_0800 stored;
        0x48 GPIO4 rw 0x0000_0800 stored;
        0x4C GPIO16 rw 0x0000_0800 stored;
        0x50 GPIO17 rw 0x0000_0800 stored;
        0x54 SD_DATA2 rw 0x0000_0800 stored;
        0x58 SD_DATA3 rw 0x0000_0800 stored;
        0x5C SD_CMD rw 0x0000_0800 stored;
        0x60 SD_CLK rw 0x0000_0800 stored;
        0x64 SD_DATA0 rw 0x0000_0800 stored;
        0x68 SD_DATA1 rw 0x0000_0800 stored;
        0x6C GPIO5 rw 0x0000_0800 stored;
        0x70 GPIO18 rw 0x0000_0800 stored;
        0x74 GPIO19 rw 0x0000_0800 stored;
        0x78 GPIO20 rw 0x0000_0800 stored;
        0x7C GPIO21 rw 0x0000_0800 stored;
        0x80 GPIO22 rw 0x0000_0800 stored;
        0x84 U0RXD rw 0x0000_0800 stored;
        0x88 U0TXD rw 0x0000_0800 stored;
        0x8C GPIO23 rw 0x0000_0800 stored;
        0x90 GPIO24 rw 0x0000_0800 stored;
    }
}

/// IO_MUX register offset of each GPIO's pad (0 = no pad).
pub const IOMUX_OFFSET: [u32; NUM_PINS] = {
    use iomux::*;
    [
        GPIO0, U0TXD, GPIO2, U0RXD, GPIO4, GPIO5, SD_CLK, SD_DATA0, SD_DATA1, SD_DATA2, SD_DATA3, SD_CMD, MTDI, MTCK,
        MTMS, MTDO, GPIO16, GPIO17, GPIO18, GPIO19, GPIO20, GPIO21, GPIO22, GPIO23, GPIO24, GPIO25, GPIO26, GPIO27, 0,
        0, 0, 0, GPIO32, GPIO33, GPIO34, GPIO35, GPIO36, GPIO37, GPIO38, GPIO39,
    ]
};

/// FUNCn_OUT_SEL_CFG's OUT_SEL for "the GPIO OUT latch" (its reset value); below it, the
/// peripheral output signals.
const GPIO_OUT_SIGNAL: u32 = 256;

/// An outside-world drive on a pad: a level that wins over a pull but not an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum Drive {
    Float,
    Low,
    High,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Gpio {
    pub regs: RegBlock,
    pub iomux: RegBlock,
    #[serde(with = "serde_big_array::BigArray")]
    pub drive: [Drive; NUM_PINS],
    /// Latched at reset from GPIO0/2/4/5/12/15.
    pub strap: u32,
    /// Output-level changes (time ps, pin, level) for LED decoding and traces.
    pub edges: Vec<(u64, u8, bool)>,
    last_out: u64,
    /// Levels of the peripheral output signals that are modelled (None: not modelled).
    signals: Vec<Option<bool>>,
    /// Pins whose PINn INT_TYPE is set (refreshed on GPIO writes) and the pad levels when
    /// interrupts were last sampled.
    int_pins: u64,
    last_in: u64,
}

impl Default for Gpio {
    fn default() -> Self {
        Self::new()
    }
}

impl Gpio {
    pub fn new() -> Gpio {
        Gpio {
            regs: RegBlock::new("GPIO", &REGS),
            iomux: RegBlock::new("IO_MUX", &iomux::REGS),
            drive: [Drive::Float; NUM_PINS],
            strap: 0,
            edges: Vec::new(),
            last_out: 0,
            signals: vec![None; GPIO_OUT_SIGNAL as usize],
            int_pins: 0,
            last_in: 0,
        }
    }

    /// Back to reset values (a digital reset): registers, routing and peripheral signals.
    /// The outside world's drives stay; pads that stop driving record an edge at `now`.
    pub fn reset(&mut self, now: Ps) {
        self.regs.reset();
        self.iomux.reset();
        self.signals.iter_mut().for_each(|s| *s = None);
        self.note_output(now);
    }

    /// A peripheral output signal (GPIO matrix numbering) changed level at `t`.
    pub fn set_signal(&mut self, sig: usize, level: bool, t: u64) {
        if self.signals[sig] != Some(level) {
            self.signals[sig] = Some(level);
            self.note_output(t);
        }
    }

    /// The level pad `pin` drives, or None when its output is not enabled.
    pub fn pad_output(&self, pin: usize) -> Option<bool> {
        let gpio_en = self.enable_bits() >> pin & 1 != 0;
        let latch = self.out_bits() >> pin & 1 != 0;
        let cfg = self.regs.get(FUNC_OUT_SEL_CFG::at(pin as u32));
        let sel = FUNC_OUT_SEL_CFG::OUT_SEL.get(cfg);
        let signal = if sel < GPIO_OUT_SIGNAL { self.signals[sel as usize] } else { None };
        match signal {
            Some(level) => {
                // OEN_SEL: enable from GPIO ENABLE; otherwise the peripheral drives it.
                let en = if FUNC_OUT_SEL_CFG::OEN_SEL.on(cfg) { gpio_en ^ FUNC_OUT_SEL_CFG::OEN_INV_SEL.on(cfg) } else { true };
                en.then_some(level ^ FUNC_OUT_SEL_CFG::INV_SEL.on(cfg))
            }
            None => gpio_en.then_some(latch),
        }
    }

    /// Pads driven high (bit n = GPIOn).
    fn driven_high(&self) -> u64 {
        (0..NUM_PINS).fold(0u64, |acc, p| acc | ((self.pad_output(p) == Some(true)) as u64) << p)
    }

    /// Strap pins' levels at reset, with the module's default pulls when floating:
    /// GPIO0 up, GPIO2 down, GPIO4 down, GPIO5 up, MTDI (12) down, MTDO (15) up.
    pub fn latch_strap(&mut self) {
        let lvl = |d: Drive, dflt: bool| match d {
            Drive::High => 1,
            Drive::Low => 0,
            Drive::Float => dflt as u32,
        };
        let straps: [(Field, usize, bool); 6] = [
            (STRAP::GPIO5, 5, true),
            (STRAP::MTDO, 15, true),
            (STRAP::GPIO4, 4, false),
            (STRAP::GPIO2, 2, false),
            (STRAP::GPIO0, 0, true),
            (STRAP::MTDI, 12, false),
        ];
        self.strap = straps.iter().fold(0, |s, &(f, pin, pull_up)| s | f.val(lvl(self.drive[pin], pull_up)));
    }

    pub fn out_bits(&self) -> u64 {
        self.regs.get(OUT) as u64 | (self.regs.field(OUT1, OUT1::DATA) as u64) << 32
    }

    pub fn enable_bits(&self) -> u64 {
        self.regs.get(ENABLE) as u64 | (self.regs.field(ENABLE1, ENABLE1::DATA) as u64) << 32
    }

    /// Level of a pad as the chip sees it.
    pub fn level(&self, pin: usize) -> bool {
        if let Some(l) = self.pad_output(pin) {
            return l;
        }
        match self.drive[pin] {
            Drive::High => true,
            Drive::Low => false,
            Drive::Float => {
                let off = IOMUX_OFFSET[pin];
                off != 0 && self.iomux.on(off, iomux::PAD::FUN_WPU)
            }
        }
    }

    fn in_bits(&self) -> u64 {
        (0..NUM_PINS).fold(0u64, |acc, p| acc | (self.level(p) as u64) << p)
    }

    fn note_output(&mut self, now: Ps) {
        let out = self.driven_high();
        let changed = out ^ self.last_out;
        if changed != 0 {
            for p in 0..NUM_PINS {
                if changed >> p & 1 != 0 {
                    self.edges.push((now, p as u8, out >> p & 1 != 0));
                }
            }
            self.last_out = out;
        }
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        match off {
            STRAP => Some(self.strap),
            IN => Some(self.in_bits() as u32),
            IN1 => Some((self.in_bits() >> 32) as u32),
            _ if (CPU_INT..CPU_INT::at(CPU_INT::COUNT)).contains(&off) => {
                let i = (off - CPU_INT) / CPU_INT::STRIDE;
                let routes = [PIN::INT_ENA_APP, PIN::INT_ENA_APP_NMI, PIN::INT_ENA_PRO, PIN::INT_ENA_PRO_NMI, PIN::INT_ENA_SDIO];
                Some((self.int_routed(routes[i as usize % routes.len()]) >> (u32::BITS * (i / routes.len() as u32))) as u32)
            }
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32, now: Ps) -> bool {
        // Edges up to now count under the configuration they happened with.
        self.sample_inputs();
        let set_clr = |regs: &mut RegBlock, base: u32, set: bool| {
            let cur = regs.get(base);
            regs.set(base, if set { cur | v } else { cur & !v });
        };
        match off {
            OUT_W1TS => set_clr(&mut self.regs, OUT, true),
            OUT_W1TC => set_clr(&mut self.regs, OUT, false),
            OUT1_W1TS => set_clr(&mut self.regs, OUT1, true),
            OUT1_W1TC => set_clr(&mut self.regs, OUT1, false),
            ENABLE_W1TS => set_clr(&mut self.regs, ENABLE, true),
            ENABLE_W1TC => set_clr(&mut self.regs, ENABLE, false),
            ENABLE1_W1TS => set_clr(&mut self.regs, ENABLE1, true),
            ENABLE1_W1TC => set_clr(&mut self.regs, ENABLE1, false),
            STATUS_W1TS => set_clr(&mut self.regs, STATUS, true),
            STATUS_W1TC => set_clr(&mut self.regs, STATUS, false),
            STATUS1_W1TS => set_clr(&mut self.regs, STATUS1, true),
            STATUS1_W1TC => set_clr(&mut self.regs, STATUS1, false),
            STRAP | IN | IN1 => {}
            _ => {
                if !self.regs.write(off, v) {
                    return false;
                }
            }
        }
        self.note_output(now);
        if (PIN..PIN::at(PIN::COUNT)).contains(&off) {
            let was = self.int_pins;
            self.int_pins = (0..PIN::COUNT).fold(0, |a, p| a | (self.regs.on(PIN::at(p), PIN::INT_TYPE) as u64) << p);
            if was == 0 {
                // Levels were not tracked while no pin had an interrupt type.
                self.last_in = self.in_bits();
            }
        }
        self.sample_inputs();
        true
    }

    /// Latches pin interrupts into STATUS / STATUS1 from the pad levels. PINn INT_TYPE:
    /// 1 rising, 2 falling, 3 any edge (since the last sample), 4 low level, 5 high level
    /// (while the level lasts, so clearing the bit does not stick). Runs after every GPIO
    /// write and whenever the SoC recomputes interrupt lines: an edge is seen as long as the
    /// new level holds until then.
    pub fn sample_inputs(&mut self) {
        if self.int_pins == 0 {
            return;
        }
        let lv = self.in_bits();
        let changed = lv ^ self.last_in;
        self.last_in = lv;
        let mut hit = 0u64;
        let mut m = self.int_pins;
        while m != 0 {
            let p = m.trailing_zeros();
            m &= m - 1;
            let high = lv >> p & 1 != 0;
            let edge = changed >> p & 1 != 0;
            let fire = match self.regs.field(PIN::at(p), PIN::INT_TYPE) {
                1 => edge && high,
                2 => edge && !high,
                3 => edge,
                4 => !high,
                5 => high,
                _ => false,
            };
            hit |= (fire as u64) << p;
        }
        if hit != 0 {
            self.regs.set(STATUS, self.regs.get(STATUS) | hit as u32);
            self.regs.set(STATUS1, self.regs.get(STATUS1) | STATUS1::DATA.val((hit >> 32) as u32));
        }
    }

    /// Status bits of the pins whose PINn INT_ENA has `route` set (APP CPU, APP CPU NMI,
    /// PRO CPU, PRO CPU NMI, SDIO).
    fn int_routed(&self, route: Field) -> u64 {
        let mut st = self.regs.get(STATUS) as u64 | (self.regs.field(STATUS1, STATUS1::DATA) as u64) << 32;
        let mut out = 0;
        while st != 0 {
            let p = st.trailing_zeros();
            st &= st - 1;
            if self.regs.on(PIN::at(p), route) {
                out |= 1 << p;
            }
        }
        out
    }

    /// The GPIO interrupt (source 22) or GPIO NMI (source 23) line as `core` sees it.
    pub fn int_line(&self, core: usize, nmi: bool) -> bool {
        let route = match (core, nmi) {
            (0, false) => PIN::INT_ENA_PRO,
            (0, true) => PIN::INT_ENA_PRO_NMI,
            (_, false) => PIN::INT_ENA_APP,
            (_, true) => PIN::INT_ENA_APP_NMI,
        };
        self.int_routed(route) != 0
    }
}

impl device::Device for Gpio {
    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }

    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        Gpio::read(self, off)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        Gpio::write(self, off, v, cx.now)
    }

    fn reset_digital(&mut self, now: Ps) {
        self.reset(now);
    }

    /// GPIO and GPIO_NMI: either core's line (the matrix keeps them apart per core).
    fn lines(&self, _now: Ps) -> u32 {
        let mut l = 0;
        for core in 0..2 {
            l |= self.int_line(core, false) as u32 | (self.int_line(core, true) as u32) << 1;
        }
        l
    }
}
