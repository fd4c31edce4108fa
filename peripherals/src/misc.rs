//! Small blocks: APB_CTRL/SYSCON, the hardware RNG, the SHA accelerator, and blocks that
//! are plain storage for the code that configures them (I2S0, the analog I2C master).
//!
//! APB_CTRL (0x3FF6_6000):
//! | off | register | |
//! |---|---|---|
//! | 0x00 | SYSCLK_CONF | [9:0] PRE_DIV_CNT: CPU = XTAL / (n + 1) when on XTAL |
//! | 0x04..0x78 | tick config, SAR ADC pattern tables, WiFi/BT gates | stored |
//! | 0x7C | DATE | bit 31 set on revision-3 chips |
//!
//! SHA (0x3FF0_3000):
//! | off | register | |
//! |---|---|---|
//! | 0x00..0x7C | TEXT[32] | message block in / digest out (big-endian words) |
//! | 0x90 / 0x94 / 0x98 / 0x9C | SHA256_START / CONTINUE / LOAD / BUSY | |
//! | 0x80.. / 0xA0.. / 0xB0.. | SHA1 / SHA384 / SHA512 START..BUSY | SHA-1 and SHA-512 not modelled yet |

use crate::regblock::{ro, rw, rw_array, RegBlock, RegDef};

pub fn apb_ctrl() -> RegBlock {
    let mut d: Vec<RegDef> = Vec::new();
    rw_array(&mut d, 0x00, 0x7C / 4, 0, "APB_CTRL");
    d.retain(|r| r.off != 0x00);
    d.push(rw(0x00, 0, "SYSCLK_CONF"));
    d.push(ro(0x7C, 0x1604_2000, "DATE"));
    RegBlock::new("APB_CTRL", 0x100, d)
}

/// A register file with every word of `size` bytes stored (blocks configured but not
/// behaving yet).
pub fn storage(name: &'static str, size: u32) -> RegBlock {
    let mut d = Vec::new();
    rw_array(&mut d, 0, size / 4, 0, name);
    RegBlock::new(name, size, d)
}

/// The SDIO slave's SLC DMA block (0x3FF5_8000). No SDIO host is attached, so its DMA
/// engines are always idle: the link registers' PARK bit (31) reads 1 (the download mode's
/// `slc_init_attach` stops the engines and waits for it).
///
/// | off | register | |
/// |---|---|---|
/// | 0x3C / 0x40 | SLC0 RX_LINK / TX_LINK | [19:0] descriptor, 28 STOP, 29 START, 30 RESTART, 31 PARK |
/// | 0x4C / 0x50 | SLC1 RX_LINK / TX_LINK | same |
/// | everything else up to 0x17C | stored |
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Slc {
    pub regs: RegBlock,
}

impl Default for Slc {
    fn default() -> Self {
        Self::new()
    }
}

impl Slc {
    pub fn new() -> Slc {
        Slc { regs: storage("SLC", 0x180) }
    }
    pub fn read(&self, off: u32) -> Option<u32> {
        let v = self.regs.read(off)?;
        Some(if matches!(off, 0x3C | 0x40 | 0x4C | 0x50) { v | (1 << 31) } else { v })
    }
    pub fn write(&mut self, off: u32, v: u32) -> bool {
        self.regs.write(off, v & if matches!(off, 0x3C | 0x40 | 0x4C | 0x50) { 0x7FFF_FFFF } else { u32::MAX })
    }
}

/// The hardware RNG (`WDEV_RND_REG`, 0x3FF7_5144): deterministic here (xorshift seeded
/// per run), since same inputs must give the same outputs.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed | 1 }
    }
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        (x >> 16) as u32
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Sha {
    pub text: [u32; 32],
    state: [u32; 8],
}

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl Default for Sha {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha {
    pub fn new() -> Sha {
        Sha { text: [0; 32], state: SHA256_IV }
    }

    fn block(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        for i in 0..16 {
            b[4 * i..4 * i + 4].copy_from_slice(&self.text[i].to_be_bytes());
        }
        b
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        match off {
            0x00..=0x7C => Some(self.text[(off / 4) as usize]),
            // BUSY registers: everything completes at once.
            0x8C | 0x9C | 0xAC | 0xBC => Some(0),
            0x80..=0xBC => Some(0),
            _ => None,
        }
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        match off {
            0x00..=0x7C => self.text[(off / 4) as usize] = v,
            0x90 => {
                let b = self.block();
                self.state = SHA256_IV;
                sha2::compress256(&mut self.state, &[b.into()]);
            }
            0x94 => {
                let b = self.block();
                sha2::compress256(&mut self.state, &[b.into()]);
            }
            0x98 => {
                for i in 0..8 {
                    self.text[i] = self.state[i];
                }
            }
            0x80..=0xBC => {
                tracing::warn!(off, "SHA: only SHA-256 is modelled");
            }
            _ => return false,
        }
        true
    }
}
