//! MAC16 instructions on the core's registers: ACC, M0..M3 and the LDINC/LDDEC loads. The
//! encoding table and operand decoding are in [`crate::mac16`].

use super::*;
use crate::mac16::{decode, Kind, Mac, Src, ACC_MASK};

#[inline(always)]
fn half16(v: u32, high: bool) -> u32 {
    if high {
        v >> 16
    } else {
        v & 0xFFFF
    }
}

impl Cpu {
    /// Executes a MAC16 instruction (the ESP32 has no coprocessor gate for it).
    pub(super) fn exec_mac16<B: Bus>(&mut self, bus: &mut B, i: Insn) -> Result<(), Trap> {
        let mac = decode(&i).ok_or(Exc::new(cause::ILLEGAL))?;
        match mac {
            Mac::Load { inc, w, s } => {
                let addr = step_addr(self.ar(s as usize), inc);
                let v = self.load32(bus, addr)?;
                self.m[w as usize] = v;
                self.set_ar(s as usize, addr);
            }
            Mac::Mul { kind, src, half, load } => {
                let (a, b) = match src {
                    Src::AA(s, t) => (self.ar(s as usize), self.ar(t as usize)),
                    Src::AD(s, y) => (self.ar(s as usize), self.m[y as usize]),
                    Src::DA(x, t) => (self.m[x as usize], self.ar(t as usize)),
                    Src::DD(x, y) => (self.m[x as usize], self.m[y as usize]),
                };
                // The load happens first (it may fault); its results are written afterwards.
                let loaded = match load {
                    Some((inc, w, s)) => {
                        let addr = step_addr(self.ar(s as usize), inc);
                        Some((self.load32(bus, addr)?, w, s, addr))
                    }
                    None => None,
                };
                let a = half16(a, half & 1 != 0);
                let b = half16(b, half & 2 != 0);
                let prod: u64 = if kind == Kind::Umul {
                    a as u64 * b as u64
                } else {
                    ((a as u16 as i16 as i64) * (b as u16 as i16 as i64)) as u64
                };
                self.acc = match kind {
                    Kind::Umul | Kind::Mul => prod,
                    Kind::Mula => self.acc.wrapping_add(prod),
                    Kind::Muls => self.acc.wrapping_sub(prod),
                } & ACC_MASK;
                if let Some((v, w, s, addr)) = loaded {
                    self.m[w as usize] = v;
                    self.set_ar(s as usize, addr);
                }
            }
        }
        Ok(())
    }
}

#[inline(always)]
fn step_addr(a: u32, inc: bool) -> u32 {
    if inc {
        a.wrapping_add(4)
    } else {
        a.wrapping_sub(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatbus::FlatBus;
    use crate::mac16::mnemonic;
    use crate::mac16::tests::{insn, word};
    use crate::decode::decode as decode_word;

    fn setup() -> (Cpu, FlatBus) {
        let mut bus = FlatBus::new();
        bus.add_ram(0x3FFB_0000, 0x100);
        (Cpu::new(Config::esp32_pro()), bus)
    }

    /// The guest exception cause of a trap (a FlatBus never asks the host to stop).
    fn cause_of(t: Trap) -> u32 {
        match t {
            Trap::Exc(e) => e.cause,
            Trap::HostStop => panic!("unexpected host stop"),
        }
    }

    fn acc40(v: i64) -> u64 {
        (v as u64) & ACC_MASK
    }

    #[test]
    fn mul_aa_halves_and_signs() {
        let (mut c, mut bus) = setup();
        c.set_ar(2, 0x8000_0003); // high = -32768, low = 3
        c.set_ar(3, 0x0005_FFFE); // high = 5, low = -2
        for (op1, want) in [(4, 3 * -2), (5, -32768 * -2), (6, 3 * 5), (7, -32768 * 5)] {
            c.exec_mac16(&mut bus, insn(7, op1, 0, 2, 3)).unwrap();
            assert_eq!(c.acc, acc40(want), "op1 {op1}");
        }
        // UMUL: zero-extended halves, ACCHI = 0.
        for (op1, want) in [(0, 3 * 0xFFFE), (1, 0x8000 * 0xFFFE), (2, 3 * 5), (3, 0x8000 * 5)] {
            c.exec_mac16(&mut bus, insn(7, op1, 0, 2, 3)).unwrap();
            assert_eq!(c.acc, want as u64, "umul op1 {op1}");
        }
        c.set_ar(4, 0xFFFF_FFFF);
        c.exec_mac16(&mut bus, insn(7, 0, 0, 4, 4)).unwrap();
        assert_eq!(c.acc, 0xFFFE_0001);
        c.exec_mac16(&mut bus, insn(7, 4, 0, 4, 4)).unwrap();
        assert_eq!(c.acc, 1);
    }

    #[test]
    fn accumulate_and_wrap_40_bits() {
        let (mut c, mut bus) = setup();
        c.set_ar(2, 0x7FFF);
        c.set_ar(3, 0x7FFF);
        c.acc = 0;
        for _ in 0..300 {
            c.exec_mac16(&mut bus, insn(7, 8, 0, 2, 3)).unwrap(); // mula.aa.ll
        }
        assert_eq!(c.acc, 300 * 0x3FFF_0001u64);
        assert_eq!(c.read_sr(17), Some(((300 * 0x3FFF_0001u64) >> 32) as u32));
        // MULS below zero: two's complement in 40 bits, ACCHI reads sign-extended.
        c.acc = 0;
        c.exec_mac16(&mut bus, insn(7, 12, 0, 2, 3)).unwrap(); // muls.aa.ll
        assert_eq!(c.acc, acc40(-0x3FFF_0001));
        assert_eq!(c.read_sr(17), Some(0xFFFF_FFFF));
        assert_eq!(c.read_sr(16), Some((-0x3FFF_0001i64) as u32));
        // Wrap at 2^40.
        c.acc = ACC_MASK;
        c.set_ar(2, 1);
        c.set_ar(3, 1);
        c.exec_mac16(&mut bus, insn(7, 8, 0, 2, 3)).unwrap();
        assert_eq!(c.acc, 0);
        c.exec_mac16(&mut bus, insn(7, 12, 0, 2, 3)).unwrap();
        assert_eq!(c.acc, ACC_MASK);
        // MUL replaces the accumulator.
        c.exec_mac16(&mut bus, insn(7, 4, 0, 2, 3)).unwrap();
        assert_eq!(c.acc, 1);
    }

    #[test]
    fn ad_da_dd_forms_select_m_registers() {
        let (mut c, mut bus) = setup();
        c.m = [2, 3, 5, 7];
        c.set_ar(4, 11);
        // MUL.AD.LL a4, m2 / m3 (y = t bit 2)
        c.exec_mac16(&mut bus, insn(3, 4, 0, 4, 0)).unwrap();
        assert_eq!(c.acc, 55);
        c.exec_mac16(&mut bus, insn(3, 4, 0, 4, 4)).unwrap();
        assert_eq!(c.acc, 77);
        // MULA.DA.LL m0 / m1, a4 (x = r bit 2)
        c.exec_mac16(&mut bus, insn(6, 8, 0, 0, 4)).unwrap();
        assert_eq!(c.acc, 77 + 22);
        c.exec_mac16(&mut bus, insn(6, 12, 4, 0, 4)).unwrap();
        assert_eq!(c.acc, 77 + 22 - 33);
        // MUL.DD.LL m1, m3 and m0, m2
        c.exec_mac16(&mut bus, insn(2, 4, 4, 0, 4)).unwrap();
        assert_eq!(c.acc, 21);
        c.exec_mac16(&mut bus, insn(2, 8, 0, 0, 0)).unwrap();
        assert_eq!(c.acc, 31);
        c.exec_mac16(&mut bus, insn(2, 12, 0, 0, 0)).unwrap();
        assert_eq!(c.acc, 21);
        // High halves in D operands.
        c.m[1] = 0xFFFF_0000; // high = -1
        c.m[3] = 0x0009_0000; // high = 9
        c.exec_mac16(&mut bus, insn(2, 7, 4, 0, 4)).unwrap(); // mul.dd.hh m1, m3
        assert_eq!(c.acc, acc40(-9));
        c.exec_mac16(&mut bus, insn(2, 5, 4, 0, 4)).unwrap(); // mul.dd.hl m1, m3: -1 * 7? low(m3)=0
        assert_eq!(c.acc, 0);
        c.exec_mac16(&mut bus, insn(2, 6, 4, 0, 4)).unwrap(); // mul.dd.lh: low(m1)=0
        assert_eq!(c.acc, 0);
    }

    #[test]
    fn load_forms() {
        let (mut c, mut bus) = setup();
        bus.load(0x3FFB_0010, &0xAAAA_0001u32.to_le_bytes()).unwrap();
        bus.load(0x3FFB_0014, &0xBBBB_0002u32.to_le_bytes()).unwrap();
        // LDINC m2, a5
        c.set_ar(5, 0x3FFB_000C);
        c.exec_mac16(&mut bus, insn(8, 0, 2, 5, 0)).unwrap();
        assert_eq!((c.m[2], c.ar(5)), (0xAAAA_0001, 0x3FFB_0010));
        // LDDEC m3, a6
        c.set_ar(6, 0x3FFB_0018);
        c.exec_mac16(&mut bus, insn(9, 0, 3, 6, 0)).unwrap();
        assert_eq!((c.m[3], c.ar(6)), (0xBBBB_0002, 0x3FFB_0014));
        // MULA.DA.LL.LDINC m0, a5, m0, a7: the multiply uses the old m0.
        c.m[0] = 4;
        c.set_ar(7, 6);
        c.acc = 1;
        c.exec_mac16(&mut bus, insn(4, 8, 0, 5, 7)).unwrap();
        assert_eq!(c.acc, 25);
        assert_eq!((c.m[0], c.ar(5)), (0xBBBB_0002, 0x3FFB_0014));
        // MULA.DD.HH.LDDEC m1, a5, m0, m3 (x = 0, y = 3).
        c.m[3] = 0x0003_0000;
        c.exec_mac16(&mut bus, insn(1, 11, 1, 5, 4)).unwrap();
        // high(m0) = 0xBBBB (signed -17477) * 3
        assert_eq!(c.acc, acc40(25 - 17477 * 3));
        assert_eq!((c.m[1], c.ar(5)), (0xAAAA_0001, 0x3FFB_0010));
        // MULA.DA.HL.LDDEC m2, a5, m1, a7 (x = 1 -> r = 4 | 2)
        c.acc = 0;
        c.exec_mac16(&mut bus, insn(5, 9, 6, 5, 7)).unwrap();
        assert_eq!(c.acc, acc40(-21846 * 6), "high(m1) = 0xAAAA");
        assert_eq!((c.m[2], c.ar(5)), (0, 0x3FFB_000C));
        // MULA.DD.LL.LDINC with as = at-style overlap: a faulting load changes nothing.
        c.set_ar(5, 0x1000_0000);
        c.acc = 5;
        let e = c.exec_mac16(&mut bus, insn(0, 8, 0, 5, 0)).unwrap_err();
        assert_eq!(cause_of(e), cause::LOAD_STORE_ERROR);
        assert_eq!((c.acc, c.ar(5)), (5, 0x1000_0000));
    }

    #[test]
    fn illegal_encodings() {
        let bad = [
            word(7, 4, 1, 2, 3),  // AA with r != 0
            word(3, 0, 0, 2, 0),  // UMUL.AD does not exist
            word(3, 4, 0, 2, 1),  // AD with t bits other than y
            word(6, 4, 0, 1, 0),  // DA with s != 0
            word(6, 4, 1, 0, 0),  // DA with r bits other than x
            word(2, 4, 0, 0, 8),  // DD with t bit 3
            word(4, 4, 0, 2, 3),  // MUL.DA.LDINC does not exist
            word(4, 12, 0, 2, 3), // MULS.DA.LDINC neither
            word(4, 8, 8, 2, 3),  // r bit 3
            word(0, 8, 0, 2, 1),  // DD.LDINC with t bit 0
            word(8, 1, 0, 2, 0),  // LDINC with op1 != 0
            word(8, 0, 4, 2, 0),  // LDINC with r bit 2
            word(9, 0, 0, 2, 1),  // LDDEC with t != 0
            word(10, 0, 0, 0, 0),
            word(15, 15, 0, 0, 0),
        ];
        let (mut c, mut bus) = setup();
        for w in bad {
            let i = decode_word(w, 0);
            assert_eq!(decode(&i), None, "{w:06x}");
            assert_eq!(mnemonic(&i), None);
            assert_eq!(cause_of(c.exec_mac16(&mut bus, i).unwrap_err()), cause::ILLEGAL, "{w:06x}");
        }
    }
}
