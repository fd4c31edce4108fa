//! MAC16 option. Placeholder until MAC16 lands.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exc};
use crate::decode::Insn;
use crate::regs::cause;

pub fn exec<B: Bus>(_cpu: &mut Cpu, _bus: &mut B, _i: Insn) -> Result<(), Exc> {
    Err(Exc::new(cause::ILLEGAL))
}
