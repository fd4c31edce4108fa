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

use crate::regblock::{rw, rw_array, RegBlock, RegDef};

pub const NUM_PINS: usize = 40;

/// IO_MUX register offset of each GPIO's pad (0 = no pad).
pub const IOMUX_OFFSET: [u32; NUM_PINS] = [
    0x44, 0x88, 0x40, 0x84, 0x48, 0x6C, 0x60, 0x64, 0x68, 0x54, 0x58, 0x5C, 0x34, 0x38, 0x30, 0x3C, 0x4C, 0x50,
    0x70, 0x74, 0x78, 0x7C, 0x80, 0x8C, 0x90, 0x24, 0x28, 0x2C, 0, 0, 0, 0, 0x1C, 0x20, 0x14, 0x18, 0x04, 0x08,
    0x0C, 0x10,
];

fn gpio_defs() -> Vec<RegDef> {
    let mut d = Vec::new();
    rw_array(&mut d, 0x00, 0x88 / 4, 0, "GPIO");
    rw_array(&mut d, 0x88, 40, 0, "PIN");
    rw_array(&mut d, 0x130, 256, 0, "FUNC_IN_SEL_CFG");
    rw_array(&mut d, 0x530, 40, 0x100, "FUNC_OUT_SEL_CFG");
    rw_array(&mut d, 0x5D0, 0x30 / 4, 0, "GPIO");
    d.push(rw(0x6FC, 0x1409_2200, "DATE"));
    // Not in the TRM: the mask ROM's SelectSpiFunction reads this word (a literal in the
    // ROM) and masks it into the SPI pad setup; reserved space reads as zero.
    d.push(crate::regblock::ro(0xF24, 0, "RESERVED_F24"));
    d
}

fn iomux_defs() -> Vec<RegDef> {
    let mut d = Vec::new();
    d.push(rw(0x00, 0x3FF, "PIN_CTRL"));
    // Pads reset with input enabled and function 2 (GPIO) for most; keep the TRM's
    // reset of 0x0000_0800 (drive strength 2) as a plain default.
    rw_array(&mut d, 0x04, 0x90 / 4, 0x0000_0800, "PAD");
    d
}

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
            regs: RegBlock::new("GPIO", 0x1000, gpio_defs()),
            iomux: RegBlock::new("IO_MUX", 0x100, iomux_defs()),
            drive: [Drive::Float; NUM_PINS],
            strap: 0,
            edges: Vec::new(),
            last_out: 0,
            signals: vec![None; 256],
            int_pins: 0,
            last_in: 0,
        }
    }

    /// Back to reset values (a digital reset): registers, routing and peripheral signals.
    /// The outside world's drives stay; pads that stop driving record an edge at `now`.
    pub fn reset(&mut self, now: u64) {
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
        let cfg = self.regs.get(0x530 + 4 * pin as u32);
        let sel = (cfg & 0x1FF) as usize;
        let signal = if sel < 256 { self.signals[sel] } else { None };
        match signal {
            Some(level) => {
                // OEN_SEL: enable from GPIO ENABLE; otherwise the peripheral drives it.
                let en = if cfg & (1 << 10) != 0 { gpio_en ^ (cfg & (1 << 11) != 0) } else { true };
                en.then_some(level ^ (cfg & (1 << 9) != 0))
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
        let s = lvl(self.drive[5], true)
            | lvl(self.drive[15], true) << 1
            | lvl(self.drive[4], false) << 2
            | lvl(self.drive[2], false) << 3
            | lvl(self.drive[0], true) << 4
            | lvl(self.drive[12], false) << 5;
        self.strap = s;
    }

    pub fn out_bits(&self) -> u64 {
        self.regs.get(0x04) as u64 | (self.regs.get(0x10) as u64 & 0xFF) << 32
    }

    pub fn enable_bits(&self) -> u64 {
        self.regs.get(0x20) as u64 | (self.regs.get(0x2C) as u64 & 0xFF) << 32
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
                off != 0 && self.iomux.get(off) & (1 << 8) != 0
            }
        }
    }

    fn in_bits(&self) -> u64 {
        (0..NUM_PINS).fold(0u64, |acc, p| acc | (self.level(p) as u64) << p)
    }

    fn note_output(&mut self, now: u64) {
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
            0x38 => Some(self.strap),
            0x3C => Some(self.in_bits() as u32),
            0x40 => Some((self.in_bits() >> 32) as u32),
            // ACPU_INT, ACPU_NMI_INT, PCPU_INT, PCPU_NMI_INT, CPUSDIO_INT, then the same for
            // GPIO32..39: the status bits each PINn INT_ENA routes there.
            0x5C..=0x80 => {
                let i = (off - 0x5C) / 4;
                Some((self.int_routed(13 + i % 5) >> (32 * (i / 5))) as u32)
            }
            _ => self.regs.read(off),
        }
    }

    pub fn write(&mut self, off: u32, v: u32, now: u64) -> bool {
        // Edges up to now count under the configuration they happened with.
        self.sample_inputs();
        let set_clr = |regs: &mut RegBlock, base: u32, set: bool| {
            let cur = regs.get(base);
            regs.set(base, if set { cur | v } else { cur & !v });
        };
        match off {
            0x08 => set_clr(&mut self.regs, 0x04, true),
            0x0C => set_clr(&mut self.regs, 0x04, false),
            0x14 => set_clr(&mut self.regs, 0x10, true),
            0x18 => set_clr(&mut self.regs, 0x10, false),
            0x24 => set_clr(&mut self.regs, 0x20, true),
            0x28 => set_clr(&mut self.regs, 0x20, false),
            0x30 => set_clr(&mut self.regs, 0x2C, true),
            0x34 => set_clr(&mut self.regs, 0x2C, false),
            0x48 => set_clr(&mut self.regs, 0x44, true),
            0x4C => set_clr(&mut self.regs, 0x44, false),
            0x54 => set_clr(&mut self.regs, 0x50, true),
            0x58 => set_clr(&mut self.regs, 0x50, false),
            0x38 | 0x3C | 0x40 => {}
            _ => {
                if !self.regs.write(off, v) {
                    return false;
                }
            }
        }
        self.note_output(now);
        if (0x88..0x128).contains(&off) {
            let was = self.int_pins;
            self.int_pins = (0..NUM_PINS as u32).fold(0, |a, p| a | (((self.regs.get(0x88 + 4 * p) >> 7) & 7 != 0) as u64) << p);
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
            let fire = match (self.regs.get(0x88 + 4 * p) >> 7) & 7 {
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
            self.regs.set(0x44, self.regs.get(0x44) | hit as u32);
            self.regs.set(0x50, self.regs.get(0x50) | (hit >> 32) as u32 & 0xFF);
        }
    }

    /// Status bits of the pins whose PINn INT_ENA has bit `ena_bit` (13 APP CPU, 14 APP CPU
    /// NMI, 15 PRO CPU, 16 PRO CPU NMI, 17 SDIO).
    fn int_routed(&self, ena_bit: u32) -> u64 {
        let mut st = self.regs.get(0x44) as u64 | (self.regs.get(0x50) as u64 & 0xFF) << 32;
        let mut out = 0;
        while st != 0 {
            let p = st.trailing_zeros();
            st &= st - 1;
            if self.regs.get(0x88 + 4 * p) >> ena_bit & 1 != 0 {
                out |= 1 << p;
            }
        }
        out
    }

    /// The GPIO interrupt (source 22) or GPIO NMI (source 23) line as `core` sees it.
    pub fn int_line(&self, core: usize, nmi: bool) -> bool {
        let bit = if core == 0 { 15 } else { 13 } + nmi as u32;
        self.int_routed(bit) != 0
    }
}
