//! Address registers through the window, special and user registers.

use super::*;

impl Cpu {
    /// Logical address register `a{n}` through the current window.
    #[inline(always)]
    pub fn ar(&self, n: usize) -> u32 {
        self.ar[(self.windowbase as usize * 4 + n) & 63]
    }

    #[inline(always)]
    pub fn set_ar(&mut self, n: usize, v: u32) {
        self.ar[(self.windowbase as usize * 4 + n) & 63] = v;
    }

    #[inline(always)]
    pub(super) fn a(&self, n: u8) -> u32 {
        self.ar[(self.windowbase as usize * 4 + n as usize) & 63]
    }

    #[inline(always)]
    pub(super) fn set_a(&mut self, n: u8, v: u32) {
        self.ar[(self.windowbase as usize * 4 + n as usize) & 63] = v;
    }

    /// Current CCOUNT.
    #[inline(always)]
    pub fn ccount(&self) -> u32 {
        (self.cycles as u32).wrapping_add(self.ccount_offset)
    }

    /// Pending interrupts as INTERRUPT reads them.
    #[inline(always)]
    pub fn pending(&self) -> u32 {
        // NMI is edge-triggered: only its latched bit counts, never the raw line level.
        self.interrupt
            | (self.irq_lines
                & !(self.config.int_edge | self.config.int_software | self.config.int_nmi))
    }

    /// Ring the core currently runs in (0 while PS.EXCM is set).
    #[inline(always)]
    pub(super) fn cring(&self) -> u32 {
        if self.ps & ps::EXCM != 0 {
            0
        } else {
            (self.ps & ps::RING) >> ps::RING_SHIFT
        }
    }

    #[inline(always)]
    pub(super) fn privileged(&self) -> Result<(), Exc> {
        if self.cring() != 0 {
            Err(Exc::new(cause::PRIVILEGED))
        } else {
            Ok(())
        }
    }

    /// Whether the register table lets special register `n` be accessed as `how`
    /// ([`access::R`], [`access::W`] or [`access::X`]) in this configuration.
    #[inline(always)]
    pub(super) fn sr_allowed(&self, n: u32, how: u8) -> bool {
        let a = regs::sr_access(n);
        a & how != 0 && (a & access::OPT_LITBASE == 0 || self.config.litbase)
    }

    /// Reads a special register as RSR does (None: no such register in this configuration).
    pub fn read_sr(&self, n: u32) -> Option<u32> {
        if !self.sr_allowed(n, access::R) {
            return None;
        }
        self.sr_value(n)
    }

    /// The value behind special register `n` (None: no storage; the table decides access).
    pub(super) fn sr_value(&self, n: u32) -> Option<u32> {
        Some(match n {
            sr::LBEG => self.lbeg,
            sr::LEND => self.lend,
            sr::LCOUNT => self.lcount,
            sr::SAR => self.sar,
            sr::BR => self.br,
            sr::LITBASE => self.litbase,
            sr::SCOMPARE1 => self.scompare1,
            sr::ACCLO => self.acc as u32,
            sr::ACCHI => (((self.acc >> 32) as u8) as i8) as i32 as u32,
            32..=35 => self.m[(n - 32) as usize],
            sr::WINDOWBASE => self.windowbase,
            sr::WINDOWSTART => self.windowstart,
            sr::IBREAKENABLE => self.ibreakenable,
            sr::MEMCTL => self.memctl,
            sr::ATOMCTL => self.atomctl,
            sr::DDR => self.ddr,
            128 | 129 => self.ibreaka[(n - 128) as usize],
            144 | 145 => self.dbreaka[(n - 144) as usize],
            160 | 161 => self.dbreakc[(n - 160) as usize],
            sr::CONFIGID0 => self.config.configid0,
            177..=183 => self.epc[(n - 176) as usize],
            sr::DEPC => self.depc,
            194..=199 => self.eps[(n - 192) as usize],
            sr::CONFIGID1 => self.config.configid1,
            209..=215 => self.excsave[(n - 208) as usize],
            sr::CPENABLE => self.cpenable,
            sr::INTERRUPT => self.pending(),
            sr::INTENABLE => self.intenable,
            sr::PS => self.ps,
            sr::VECBASE => self.vecbase,
            sr::EXCCAUSE => self.exccause,
            sr::DEBUGCAUSE => self.debugcause,
            sr::CCOUNT => self.ccount(),
            sr::PRID => self.config.prid,
            sr::ICOUNT => self.icount,
            sr::ICOUNTLEVEL => self.icountlevel,
            sr::EXCVADDR => self.excvaddr,
            240..=242 => self.ccompare[(n - 240) as usize],
            244..=247 => self.misc[(n - 244) as usize],
            _ => return None,
        })
    }

    /// Writes a special register as WSR does. Returns false if the register does not exist
    /// or cannot be written.
    pub fn write_sr(&mut self, n: u32, v: u32) -> bool {
        self.sr_allowed(n, access::W) && self.set_sr_value(n, v)
    }

    /// Stores `v` into special register `n` with its write semantics (false: no storage).
    pub(super) fn set_sr_value(&mut self, n: u32, v: u32) -> bool {
        match n {
            sr::LBEG => self.lbeg = v,
            sr::LEND => self.lend = v,
            sr::LCOUNT => self.lcount = v,
            sr::SAR => self.sar = v & 0x3F,
            sr::BR => self.br = v & 0xFFFF,
            sr::LITBASE => self.litbase = v & 0xFFFF_F001,
            sr::SCOMPARE1 => self.scompare1 = v,
            sr::ACCLO => self.acc = (self.acc & !0xFFFF_FFFF) | v as u64,
            sr::ACCHI => self.acc = (self.acc & 0xFFFF_FFFF) | (((v & 0xFF) as u64) << 32),
            32..=35 => self.m[(n - 32) as usize] = v,
            sr::WINDOWBASE => self.windowbase = v & 0xF,
            sr::WINDOWSTART => self.windowstart = v & 0xFFFF,
            sr::IBREAKENABLE => self.ibreakenable = v & 3,
            sr::MEMCTL => self.memctl = v,
            sr::ATOMCTL => self.atomctl = v & 0x3F,
            sr::DDR => self.ddr = v,
            128 | 129 => self.ibreaka[(n - 128) as usize] = v,
            144 | 145 => self.dbreaka[(n - 144) as usize] = v,
            160 | 161 => self.dbreakc[(n - 160) as usize] = v & 0xC000_003F,
            177..=183 => self.epc[(n - 176) as usize] = v,
            sr::DEPC => self.depc = v,
            194..=199 => self.eps[(n - 192) as usize] = v & ps::MASK,
            209..=215 => self.excsave[(n - 208) as usize] = v,
            sr::CPENABLE => self.cpenable = v & 0xFF,
            sr::INTERRUPT => {
                self.interrupt |= v & self.config.int_software;
                self.next_event = 0;
            }
            sr::INTCLEAR => {
                self.interrupt &= !(v & (self.config.int_software | self.config.int_edge));
                self.next_event = 0;
            }
            sr::INTENABLE => {
                self.intenable = v;
                self.next_event = 0;
            }
            sr::PS => self.set_ps(v),
            sr::VECBASE => self.vecbase = v & !0x3FF,
            sr::EXCCAUSE => self.exccause = v & 0x3F,
            sr::DEBUGCAUSE => {}
            sr::CCOUNT => {
                self.ccount_offset = v.wrapping_sub(self.cycles as u32);
                self.recompute_timers();
            }
            sr::ICOUNT => self.icount = v,
            sr::ICOUNTLEVEL => self.icountlevel = v & 0xF,
            sr::EXCVADDR => self.excvaddr = v,
            240..=242 => {
                let i = (n - 240) as usize;
                self.ccompare[i] = v;
                // Writing CCOMPAREn clears its pending interrupt.
                self.interrupt &= !(1 << self.config.timer_int[i]);
                self.recompute_timers();
            }
            244..=247 => self.misc[(n - 244) as usize] = v,
            _ => return false,
        }
        true
    }

    /// Puts special register `n` in its reset state `v`: a write of `v`, except where a
    /// write means something else (226 sets interrupt bits; DEBUGCAUSE ignores writes).
    pub(super) fn reset_sr(&mut self, n: u32, v: u32) {
        match n {
            sr::INTERRUPT => self.interrupt = v,
            sr::DEBUGCAUSE => self.debugcause = v,
            _ => {
                let stored = self.set_sr_value(n, v);
                debug_assert!(stored, "SR {n} has a reset value but no storage");
            }
        }
    }

    #[inline(always)]
    pub(super) fn set_ps(&mut self, v: u32) {
        let mut v = v & ps::MASK;
        if self.config.rings <= 1 {
            v &= !ps::RING;
        }
        self.ps = v;
        self.next_event = 0;
    }

    /// Reads a user register as RUR does.
    pub fn read_ur(&self, n: u32) -> Option<u32> {
        if regs::ur_access(n) & access::R == 0 {
            return None;
        }
        Some(match n {
            ur::THREADPTR => self.threadptr,
            ur::FCR => self.fcr,
            ur::FSR => self.fsr,
            ur::F64R_LO => self.f64r_lo,
            ur::F64R_HI => self.f64r_hi,
            ur::F64S => self.f64s,
            _ => return None,
        })
    }

    pub fn write_ur(&mut self, n: u32, v: u32) -> bool {
        if regs::ur_access(n) & access::W == 0 {
            return false;
        }
        match n {
            ur::THREADPTR => self.threadptr = v,
            ur::FCR => self.fcr = v & 0xFFF,
            ur::FSR => self.fsr = v & 0xF80,
            ur::F64R_LO => self.f64r_lo = v,
            ur::F64R_HI => self.f64r_hi = v,
            ur::F64S => self.f64s = v,
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores() -> [Cpu; 2] {
        [Cpu::new(Config::esp32_pro()), Cpu::new(Config { litbase: true, ..Config::esp32_app() })]
    }

    /// The register table and the interpreter's storage agree: a register the table lets
    /// RSR/WSR reach has a value behind it, and there is no storage the table does not list.
    #[test]
    fn table_access_matches_storage() {
        for mut c in cores() {
            for n in 0..300 {
                assert_eq!(c.sr_value(n).is_some(), regs::sr_access(n) & access::R != 0, "read SR {n}");
                assert_eq!(c.set_sr_value(n, 0), regs::sr_access(n) & access::W != 0, "write SR {n}");
                assert_eq!(c.read_ur(n).is_some(), regs::ur_access(n) & access::R != 0, "read UR {n}");
                assert_eq!(c.write_ur(n, 0), regs::ur_access(n) & access::W != 0, "write UR {n}");
            }
            // LITBASE only with the option.
            assert_eq!(c.read_sr(sr::LITBASE).is_some(), c.config.litbase);
        }
    }

    /// After power-on and after a later reset, the registers the table gives a reset value
    /// read it (RSR view, with no interrupt line raised).
    #[test]
    fn reset_gives_the_table_values() {
        for mut c in cores() {
            for pass in 0..2 {
                for line in regs::SPECIAL {
                    let want = match line.reset {
                        regs::Reset::None => continue,
                        regs::Reset::Value(v) => v,
                        regs::Reset::Config => c.config.vecbase_reset,
                    };
                    assert_eq!(c.sr_value(line.num as u32), Some(want), "{} after reset {pass}", line.name);
                }
                // Disturb them all, let time pass, reset again.
                for line in regs::SPECIAL {
                    c.set_sr_value(line.num as u32, 0x5A5A_5A5A);
                }
                c.interrupt = 1 << 7;
                c.debugcause = 3;
                c.cycles += 12_345;
                c.reset();
            }
        }
    }
}
