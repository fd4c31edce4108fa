//! Single-precision FP coprocessor (CP0). Placeholder until the FPU lands.

use crate::cpu::{Cpu, Exc};
use crate::decode::Insn;
use crate::regs::cause;

/// Executes a non-memory FP instruction (CPENABLE already checked by the caller).
pub fn exec(_cpu: &mut Cpu, _i: Insn) -> Result<(), Exc> {
    Err(Exc::new(cause::ILLEGAL))
}
