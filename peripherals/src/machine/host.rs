//! What the host (the CLI, sessions, tests) asks of a running board, by name: the flash
//! chip it keeps in a file, pin levels and outside drives, the UARTs' bytes and line
//! settings, the cache-timing model's switch and figures, and what outlives a power cycle.
//! The host does not reach into the SoC's blocks, so they can change shape freely.

use super::Machine;
use crate::flash::Flash;
use crate::gpio::Drive;
use crate::uart::Line;
use crate::time::Ps;

/// Flash/PSRAM cache lookups per core (PRO, APP) since power-on (the caches' contents are
/// modelled whether or not misses cost time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Whether misses cost time (the cache-timing model is on).
    pub timed: bool,
    pub hits: [u64; 2],
    /// Line fills (each one stalls the core for the SPI transfer).
    pub misses: [u64; 2],
}

impl Machine {
    /// This board's timing (crystal, RC slow clock, line-fill overheads; drawn from a seed
    /// or nominal).
    pub fn timing(&self) -> crate::Timing {
        self.soc.timing
    }

    /// The board's SPI flash chip.
    pub fn flash(&self) -> &Flash {
        &self.soc.flash
    }

    /// The flash chip, to arm power cuts, log operations or flush it to its file.
    pub fn flash_mut(&mut self) -> &mut Flash {
        &mut self.soc.flash
    }

    /// Puts `flash` in the socket and hands back the chip that was there (a state file
    /// opened, or the chip moved to a rebuilt machine).
    pub fn replace_flash(&mut self, flash: Flash) -> Flash {
        std::mem::replace(&mut self.soc.flash, flash)
    }

    /// The level on pad `gpio`: the chip's output where it drives the pad, else the
    /// outside drive, else the pad's pull.
    pub fn pin_level(&self, gpio: u8) -> bool {
        self.soc.gpio.level(gpio as usize)
    }

    /// What the outside world drives pad `gpio` with (see `set_drive`).
    pub fn pin_drive(&self, gpio: u8) -> Drive {
        self.soc.gpio.drive[gpio as usize]
    }

    /// Whether the straps latched at the last reset select the ROM's download (UART) boot
    /// rather than a flash boot: GPIO0 low.
    pub fn download_boot(&self) -> bool {
        !crate::gpio::STRAP::GPIO0.on(self.soc.gpio.strap)
    }

    /// Bytes waiting in UART `uart`'s receive path (host input not yet read by the guest).
    pub fn uart_rx_queued(&self, uart: usize) -> usize {
        self.soc.uart[uart].rx_queued()
    }

    /// UART `uart`'s line settings now (baud rate from the current APB clock).
    pub fn uart_line(&self, uart: usize) -> Line {
        self.soc.uart[uart].line(self.soc.apb_hz)
    }

    /// What UART `uart` sent and the host has not taken yet.
    pub fn take_uart_output(&mut self, uart: usize) -> Vec<u8> {
        match uart {
            0 => std::mem::take(&mut self.uart0_out),
            u => std::mem::take(&mut self.soc.uart[u].tx_out),
        }
    }

    /// How many bytes UART `uart` has sent that the host has taken.
    pub fn uart_output_taken(&self, uart: usize) -> u64 {
        let pending = if uart == 0 { self.uart0_out.len() } else { self.soc.uart[uart].tx_out.len() };
        self.soc.uart[uart].tx_count.saturating_sub(pending as u64)
    }

    /// The line settings UART `uart`'s transmitter changed to, each with the count of bytes
    /// sent before the change; the host removes the changes it has passed.
    pub fn uart_line_changes(&mut self, uart: usize) -> &mut Vec<(u64, Line)> {
        &mut self.soc.uart[uart].tx_lines
    }

    /// Turns the flash/PSRAM cache-miss timing model on or off (`--no-cache-timing`).
    pub fn set_cache_timing(&mut self, on: bool) {
        self.soc.ctiming.set_enabled(on);
    }

    /// The flash/PSRAM cache lookups so far.
    pub fn cache_stats(&self) -> CacheStats {
        let c = &self.soc.ctiming;
        CacheStats { timed: c.enabled(), hits: c.hits, misses: c.misses }
    }

    /// Takes over from `old`, the same board before it was powered off for `off_ps`, what
    /// outlives the power cut: virtual time, the outside world (pad drives, host inputs
    /// still to come, the cache-timing setting) and the histories observers keep (LED
    /// frames, pin and drive traces, unmodelled accesses, resets, the input log). Call it on
    /// a fresh machine before `power_on`.
    pub fn carry_over(&mut self, old: &mut Machine, off_ps: Ps) {
        self.now_ps = old.now_ps + off_ps;
        self.led.frames = std::mem::take(&mut old.led.frames);
        self.pin_trace = std::mem::take(&mut old.pin_trace);
        self.drive_trace = std::mem::take(&mut old.drive_trace);
        self.record_pins = old.record_pins;
        self.reports = std::mem::take(&mut old.reports);
        self.reset_log = std::mem::take(&mut old.reset_log);
        self.soc.ctiming.set_enabled(old.soc.ctiming.enabled());
        self.soc.gpio.drive = old.soc.gpio.drive;
        self.resets = old.resets;
        for (t, i) in old.take_scheduled_inputs() {
            self.schedule_input(t, i);
        }
        self.input_log = std::mem::take(&mut old.input_log);
    }
}
