//! The block table: a line per register block — its name, 4 KiB slots (base address and
//! the name `--strict` reports) and interrupt sources — and what is generated from it at no
//! runtime cost: MMIO dispatch (a `match` on the slot, no `dyn`), the digital reset, the
//! event sync and lazy-event query, the interrupt scan and the table in the documentation
//! ([`BLOCKS`]). Adding a block: its module under `blocks/` with a `Device`, its field in
//! `Soc`, a line here.
//!
//! The table's data names no block module, so a block may look up its own line (the radio
//! its slots) without an import circle; the generated code is an `impl Soc`, the parent's.

use super::device::{Access, Device};
use super::source::{self, Source};
use super::Soc;
use crate::regblock::RegBlock;
use crate::time::Ps;

/// One line of the block table: a block's name, its 4 KiB slots (base address, name each
/// slot reports under `--strict`) and the interrupt sources its local lines are.
#[derive(Clone, Copy, Debug)]
pub struct BlockInfo {
    pub name: &'static str,
    pub slots: &'static [(u32, &'static str)],
    pub sources: &'static [Source],
}

/// A table line's way to its device (a closure the compiler inlines: static dispatch).
#[inline(always)]
fn at<T: ?Sized, F: for<'a> FnOnce(&'a mut Soc) -> &'a mut T>(f: F) -> F {
    f
}

/// Generates from the block table: `BLOCKS` (names, slots, sources: `--strict` names and
/// the documentation), MMIO dispatch (`dispatch_read` / `dispatch_write`, a `match` on the
/// slot), the digital reset, the event sync and the interrupt scan. A line may name a SoC
/// method that wires the block to others for reads or writes (`read m`, `write m`).
macro_rules! blocks {
    (@read $s:ident, $acc:expr, $off:ident, $cx:ident) => { Device::read(at($acc)($s), $off, $cx) };
    (@read $s:ident, $acc:expr, $off:ident, $cx:ident, $r:ident) => { $s.$r($off, $cx) };
    (@write $s:ident, $acc:expr, $off:ident, $v:ident, $cx:ident) => { Device::write(at($acc)($s), $off, $v, $cx) };
    (@write $s:ident, $acc:expr, $off:ident, $v:ident, $cx:ident, $w:ident) => { $s.$w($off, $v, $cx) };
    ($( $name:literal [$($base:literal $sname:literal),+] $acc:expr, sources [$($src:ident),*] $(, read $r:ident)? $(, write $w:ident)? ; )*) => {
        /// The SoC's register blocks, one line each, in the order their events are fired.
        ///
        /// | block | slots (base address, name) | interrupt sources (ESP-IDF names) |
        /// |---|---|---|
        $(#[doc = concat!("| ", $name, " | ", $("`", stringify!($base), "` ", $sname, "; ",)+ " | ", $(stringify!($src), " ",)* " |")])*
        pub const BLOCKS: &[BlockInfo] = &[$(BlockInfo { name: $name, slots: &[$(($base, $sname)),+], sources: &[$(Source::$src),*] }),*];

        impl Soc {
            /// A read of register `off` in the slot at `cx`, by the block there.
            #[inline]
            pub(super) fn dispatch_read(&mut self, page: u32, off: u32, cx: &mut Access) -> (Option<u32>, &'static str) {
                match page {
                    $( $($base)|+ => (blocks!(@read self, $acc, off, cx $(, $r)?), match page { $($base => $sname,)+ _ => $name }), )*
                    _ => (None, "unknown block"),
                }
            }

            #[inline]
            pub(super) fn dispatch_write(&mut self, page: u32, off: u32, v: u32, cx: &mut Access) -> (bool, &'static str) {
                match page {
                    $( $($base)|+ => (blocks!(@write self, $acc, off, v, cx $(, $w)?), match page { $($base => $sname,)+ _ => $name }), )*
                    _ => (false, "unknown block"),
                }
            }

            /// The register file of the block at `page` (its slot `slot`), with the slot's name.
            #[inline]
            pub(super) fn dispatch_regs(&mut self, page: u32, slot: u32) -> Option<(&RegBlock, &'static str)> {
                match page {
                    $( $($base)|+ => Device::regs(at($acc)(self), slot).map(|r| (r, match page { $($base => $sname,)+ _ => $name })), )*
                    _ => None,
                }
            }

            /// Every block's digital reset.
            pub(super) fn reset_blocks(&mut self, now: Ps) {
                $( Device::reset_digital(at($acc)(self), now); )*
            }

            /// Fires every block's events due by `now`, in table order; the earliest next one.
            #[inline]
            pub(super) fn sync_blocks(&mut self, now: Ps) -> Option<Ps> {
                let apb = self.apb_hz;
                let mut requests = std::mem::take(&mut self.requests);
                let mut next: Option<u64> = None;
                $(
                    if let Some(t) = Device::sync(at($acc)(self), now, apb, &mut requests) {
                        next = Some(next.map_or(t, |n| n.min(t)));
                    }
                )*
                self.requests = requests;
                next
            }

            /// The earliest lazy event of any block (`Device::next_event`).
            #[inline]
            pub(super) fn lazy_events(&mut self, now: Ps) -> Option<Ps> {
                let apb = self.apb_hz;
                let mut next: Option<u64> = None;
                $(
                    if let Some(t) = Device::next_event(at($acc)(self), now, apb) {
                        next = Some(next.map_or(t, |n| n.min(t)));
                    }
                )*
                next
            }

            /// The interrupt sources raised now, from every block's lines.
            #[inline]
            pub(super) fn scan_lines(&mut self, now: Ps) -> u128 {
                let mut s = 0u128;
                $( s |= source::spread(Device::lines(at($acc)(self), now), &[$(Source::$src),*]); )*
                s
            }
        }
    };
}

/// The table's line for `name`.
pub fn block(name: &str) -> Option<&'static BlockInfo> {
    BLOCKS.iter().find(|b| b.name == name)
}

/// The interrupt sources of block `name` as a bit set, line i = the i-th source.
pub fn sources_of(name: &str) -> &'static [Source] {
    block(name).map_or(&[], |b| b.sources)
}

// The block table. Adding a block: a module with a `Device`, a field in `Soc`, a line here.
// Order matters only for events due at the same sync: the timer groups' watchdog resets
// come before the RTC's (the machine carries out the first).
blocks! {
    "DPORT" [0x3FF0_0000 "DPORT", 0x3FF1_0000 "MMU", 0x3FF1_1000 "MMU", 0x3FF1_2000 "MMU", 0x3FF1_3000 "MMU"]
        |s| &mut s.dport, sources [FromCpu0, FromCpu1, FromCpu2, FromCpu3];
    "SHA" [0x3FF0_3000 "SHA"] |s| &mut s.sha, sources [];
    "UART0" [0x3FF4_0000 "UART0"] |s| &mut s.uart[0], sources [Uart0];
    "UART1" [0x3FF5_0000 "UART1"] |s| &mut s.uart[1], sources [Uart1];
    "UART2" [0x3FF6_E000 "UART2"] |s| &mut s.uart[2], sources [Uart2], read read_uart2, write write_uart2;
    "SPI1" [0x3FF4_2000 "SPI1"] |s| &mut s.spi1, sources [], write write_spi1;
    "SPI0" [0x3FF4_3000 "SPI0"] |s| &mut s.spi0, sources [], write write_spi0;
    "GPIO" [0x3FF4_4000 "GPIO"] |s| &mut s.gpio, sources [Gpio, GpioNmi], read read_gpio, write write_gpio;
    "IO_MUX" [0x3FF4_9000 "IO_MUX"] |s| &mut s.gpio.iomux, sources [], write write_iomux;
    "FRC" [0x3FF4_7000 "FRC"] |s| &mut s.frc, sources [Timer1, Timer2];
    "RMT" [0x3FF5_6000 "RMT"] |s| &mut s.rmt, sources [Rmt], write write_rmt;
    "TIMG0" [0x3FF5_F000 "TIMG0"] |s| &mut s.timg[0],
        sources [Tg0T0Level, Tg0T1Level, Tg0WdtLevel, Tg0T0Edge, Tg0T1Edge, Tg0WdtEdge];
    "TIMG1" [0x3FF6_0000 "TIMG1"] |s| &mut s.timg[1],
        sources [Tg1T0Level, Tg1T1Level, Tg1WdtLevel, Tg1T0Edge, Tg1T1Edge, Tg1WdtEdge];
    "RTC_CNTL" [0x3FF4_8000 "RTC_CNTL"] |s| &mut s.rtc, sources [RtcCore];
    "SDIO_HOST" [0x3FF4_B000 "SDIO_HOST"] |s| &mut s.sdio_host, sources [];
    "HINF" [0x3FF5_5000 "HINF"] |s| &mut s.hinf, sources [];
    "SLC" [0x3FF5_8000 "SLC"] |s| &mut s.slc, sources [];
    "ANA" [0x3FF4_E000 "ANA"] |s| &mut s.ana_i2c, sources [];
    "I2S0" [0x3FF4_F000 "I2S0"] |s| &mut s.i2s0, sources [];
    "I2S1" [0x3FF6_D000 "I2S1"] |s| &mut s.i2s1, sources [];
    "EFUSE" [0x3FF5_A000 "EFUSE"] |s| &mut s.efuse, sources [];
    "SPI2" [0x3FF6_4000 "SPI2"] |s| &mut s.spi2, sources [Spi2, Spi2Dma], write write_spi2;
    "SPI3" [0x3FF6_5000 "SPI3"] |s| &mut s.spi3, sources [Spi3, Spi3Dma], write write_spi3;
    "APB_CTRL" [0x3FF6_6000 "APB_CTRL"] |s| &mut s.apb, sources [];
    "Wi-Fi/BT radio" [0x3FF4_5000 "FE2", 0x3FF4_6000 "FE", 0x3FF5_1000 "BT", 0x3FF5_C000 "AGC", 0x3FF5_D000 "BB",
        0x3FF7_1000 "BT_BUF", 0x3FF7_2000 "WMAC0", 0x3FF7_3000 "WMAC1", 0x3FF7_4000 "WMAC2", 0x3FF7_5000 "WDEV"]
        |s| &mut s.wifi, sources [], read read_wdev;
}

