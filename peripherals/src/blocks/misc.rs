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

use crate::device::{self, Access};
use crate::regblock::RegBlock;
use crate::time::Ps;

/// APB_CTRL (TRM "APB_CTRL Registers").
pub mod apb {
    crate::regs! {
        pub static REGS: "APB_CTRL", 0x100;
        /// Tick configuration, SAR ADC pattern tables, Wi-Fi/BT clock gates: stored.
        0x00 APB[31] rw 0 stored;
        0x00 SYSCLK_CONF rw 0 stored {
            PRE_DIV_CNT 9:0 modelled;
        };
        /// Bit 31 set on revision-3 chips.
        0x7C DATE ro 0x1604_2000 stored;
    }
}

/// I2S0/I2S1: stored.
pub mod i2s {
    crate::regs! {
        pub static REGS: "I2S", 0x100;
        0x00 REG[64] rw 0 stored;
    }
}

/// Blocks configured but not behaving: every word of 512 bytes stored (SDIO_HOST, HINF).
pub mod storage {
    crate::regs! {
        pub static REGS_512: "STORAGE_512", 0x200;
        0x00 REG[128] rw 0 stored;
    }
}

/// The SDIO slave's SLC DMA block.
pub mod slc {
    crate::regs! {
        pub static REGS: "SLC", 0x180;
        0x00 REG[96] rw 0 stored;
        /// Link registers: [19:0] descriptor, 28 STOP, 29 START, 30 RESTART, 31 PARK.
        0x3C SLC0_RX_LINK rw 0 stored {
            PARK 31 modelled;
        };
        0x40 SLC0_TX_LINK rw 0 stored {
            PARK 31 modelled;
        };
        0x4C SLC1_RX_LINK rw 0 stored {
            PARK 31 modelled;
        };
        0x50 SLC1_TX_LINK rw 0 stored {
            PARK 31 modelled;
        };
    }
}

/// The SHA accelerator (TRM "SHA Accelerator"): only SHA-256 is modelled.
pub mod sha {
    crate::regs! {
        pub static REGS: "SHA", 0x100;
        /// Message block in / digest out (big-endian words).
        0x00 TEXT[32] rw 0 modelled;
        /// SHA-1: not modelled.
        0x80 SHA1_START wo 0 unmodelled;
        0x84 SHA1_CONTINUE wo 0 unmodelled;
        0x88 SHA1_LOAD wo 0 unmodelled;
        0x8C SHA1_BUSY ro 0 modelled;
        0x90 SHA256_START wo 0 modelled;
        0x94 SHA256_CONTINUE wo 0 modelled;
        0x98 SHA256_LOAD wo 0 modelled;
        0x9C SHA256_BUSY ro 0 modelled;
        /// SHA-384 and SHA-512: not modelled.
        0xA0 SHA384_START wo 0 unmodelled;
        0xA4 SHA384_CONTINUE wo 0 unmodelled;
        0xA8 SHA384_LOAD wo 0 unmodelled;
        0xAC SHA384_BUSY ro 0 modelled;
        0xB0 SHA512_START wo 0 unmodelled;
        0xB4 SHA512_CONTINUE wo 0 unmodelled;
        0xB8 SHA512_LOAD wo 0 unmodelled;
        0xBC SHA512_BUSY ro 0 modelled;
    }
}

/// APB_CTRL: SYSCLK_CONF picks the CPU clock's divider when it runs on the XTAL.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ApbCtrl {
    pub regs: RegBlock,
}

impl Default for ApbCtrl {
    fn default() -> Self {
        Self::new()
    }
}

impl ApbCtrl {
    pub fn new() -> ApbCtrl {
        ApbCtrl { regs: RegBlock::new("APB_CTRL", &apb::REGS) }
    }

    /// SYSCLK_CONF PRE_DIV_CNT: the XTAL divider (n + 1).
    pub fn xtal_div(&self) -> u64 {
        self.regs.field(apb::SYSCLK_CONF, apb::SYSCLK_CONF::PRE_DIV_CNT) as u64 + 1
    }
}

impl device::Device for ApbCtrl {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        self.regs.read(off)
    }

    fn write(&mut self, off: u32, v: u32, cx: &mut Access) -> bool {
        if off == apb::SYSCLK_CONF {
            cx.effects.end_slice = true;
            cx.effects.clocks = true;
        }
        self.regs.write(off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        self.regs.reset();
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }
}

/// I2S0/I2S1: 0x100 bytes of registers, stored, seen again every 0x100 bytes of the slot.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct I2s {
    pub regs: RegBlock,
}

impl I2s {
    pub fn new(name: &'static str) -> I2s {
        I2s { regs: RegBlock::new(name, &i2s::REGS) }
    }
}

impl device::Device for I2s {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        self.regs.read(off % i2s::REGS.size)
    }

    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        self.regs.write(off % i2s::REGS.size, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        self.regs.reset();
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }
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
        Slc { regs: RegBlock::new("SLC", &slc::REGS) }
    }

    fn is_link(off: u32) -> bool {
        matches!(off, slc::SLC0_RX_LINK | slc::SLC0_TX_LINK | slc::SLC1_RX_LINK | slc::SLC1_TX_LINK)
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        let v = self.regs.read(off)?;
        Some(if Self::is_link(off) { slc::SLC0_RX_LINK::PARK.set(v, 1) } else { v })
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        self.regs.write(off, if Self::is_link(off) { slc::SLC0_RX_LINK::PARK.set(v, 0) } else { v })
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
    /// The declaration, for the bits `--strict` reports (the state is above).
    #[serde(skip, default = "sha_declared")]
    decl: RegBlock,
}

fn sha_declared() -> RegBlock {
    RegBlock::new("SHA", &sha::REGS)
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
        Sha { text: [0; 32], state: SHA256_IV, decl: sha_declared() }
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
            _ if off < sha::SHA1_START => Some(self.text[(off / sha::TEXT::STRIDE) as usize]),
            // BUSY registers: everything completes at once.
            sha::SHA1_START..=sha::SHA512_BUSY => Some(0),
            _ => None,
        }
    }

    pub fn write(&mut self, off: u32, v: u32) -> bool {
        match off {
            _ if off < sha::SHA1_START => self.text[(off / sha::TEXT::STRIDE) as usize] = v,
            sha::SHA256_START => {
                let b = self.block();
                self.state = SHA256_IV;
                sha2::compress256(&mut self.state, &[b.into()]);
            }
            sha::SHA256_CONTINUE => {
                let b = self.block();
                sha2::compress256(&mut self.state, &[b.into()]);
            }
            sha::SHA256_LOAD => {
                for i in 0..8 {
                    self.text[i] = self.state[i];
                }
            }
            sha::SHA1_START..=sha::SHA512_BUSY => {
                tracing::warn!(off, "SHA: only SHA-256 is modelled");
            }
            _ => return false,
        }
        true
    }
}

impl device::Device for Sha {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        Sha::read(self, off)
    }

    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        Sha::write(self, off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        *self = Sha::new();
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.decl)
    }
}

impl device::Device for Slc {
    fn read(&mut self, off: u32, _cx: &mut Access) -> Option<u32> {
        Slc::read(self, off)
    }

    fn write(&mut self, off: u32, v: u32, _cx: &mut Access) -> bool {
        Slc::write(self, off, v)
    }

    fn reset_digital(&mut self, _now: Ps) {
        *self = Slc::new();
    }

    fn regs(&self, _slot: u32) -> Option<&RegBlock> {
        Some(&self.regs)
    }
}
