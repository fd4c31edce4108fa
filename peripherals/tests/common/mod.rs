//! Bus accesses from a test, as core 0 would make them (integration tests share these with
//! `mod common;`).

use emulator::Bus;
use peripherals::Machine;

/// Bus accesses as core 0 at virtual time `t` (ps).
pub fn at(m: &mut Machine, t: u64) {
    m.soc.begin_slice(0, t, 0);
    m.soc.set_cycles(0);
}

pub fn w(m: &mut Machine, a: u32, v: u32) {
    m.soc.write32(a, v).unwrap_or_else(|e| panic!("write {a:#x}: {e:?}"));
}

pub fn r(m: &mut Machine, a: u32) -> u32 {
    m.soc.read32(a).unwrap_or_else(|e| panic!("read {a:#x}: {e:?}"))
}
