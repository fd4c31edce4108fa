//! The Xtensa LX6 core in the ESP32's configuration: decoder, interpreter, disassembler,
//! the bus it runs on and the virtual clock.

pub mod asm;
pub mod bus;
pub mod codecache;
pub mod cpu;
pub mod decode;
pub mod disasm;
pub mod flatbus;
pub mod isa;
pub mod mac16;
pub mod regs;
pub mod softfloat;

pub use bus::{Bus, MemFault};
pub use codecache::CodeCache;
pub use cpu::{Config, Cpu, Exc, Exit, Trap};
pub use decode::{decode, Insn, Op};
pub use flatbus::FlatBus;
