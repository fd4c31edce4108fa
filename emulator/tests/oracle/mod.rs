//! Support code of the differential ISA test (`tests/isa_oracle.rs`).
#![allow(dead_code)]

pub mod elf;
pub mod gen;
pub mod ours;
pub mod program;
pub mod qemu;
