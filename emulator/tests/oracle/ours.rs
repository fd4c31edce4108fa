//! Running a program on our core the way qemu-user runs it.
//!
//! qemu-user starts a Linux process: PS = UM | RING 3 | WOE (user vector, user ring,
//! windowed ABI), WINDOWBASE 0, WINDOWSTART 1, CPENABLE 0xFF, a1 = the initial stack, pc =
//! the ELF entry. It handles window overflow/underflow and MOVSP's alloca exception inside
//! its own CPU loop (the kernel's job), and syscalls, illegal instructions etc. as a kernel
//! would. Our core does everything through the vectors, as the silicon does: the window
//! vectors at VECBASE hold ordinary spill/fill handlers (written below with S32E/L32E and
//! RFWO/RFWU), and a host hook on the user vector plays the kernel: it serves `write` and
//! `exit_group`, emulates the alloca fix-up, and turns any other cause into the signal Linux
//! would deliver.

use super::program::BASE;
use super::qemu::Outcome;
use emulator::regs::{cause, ps, vec};
use emulator::{asm, Bus, Config, Cpu, Exit, FlatBus};

/// Where the vectors live on our side (outside the program image; qemu never sees them).
pub const VECBASE: u32 = 0x0030_0000;

/// Standard windowed-ABI spill and fill handlers, one per vector.
const WINDOW_VECTORS: &str = "
  .org 0x300000
# overflow4: the frame to spill is the current window, a5 is its callee's sp
  s32e a0, a5, -16
  s32e a1, a5, -12
  s32e a2, a5, -8
  s32e a3, a5, -4
  rfwo
  .org 0x300040
# underflow4
  l32e a0, a5, -16
  l32e a1, a5, -12
  l32e a2, a5, -8
  l32e a3, a5, -4
  rfwu
  .org 0x300080
# overflow8: a4..a7 go below the caller's caller's sp, found at [a1 - 12]
  s32e a0, a9, -16
  l32e a0, a1, -12
  s32e a1, a9, -12
  s32e a2, a9, -8
  s32e a3, a9, -4
  s32e a4, a0, -32
  s32e a5, a0, -28
  s32e a6, a0, -24
  s32e a7, a0, -20
  rfwo
  .org 0x3000c0
# underflow8
  l32e a1, a9, -12
  l32e a0, a9, -16
  l32e a7, a1, -12
  l32e a2, a9, -8
  l32e a4, a7, -32
  l32e a3, a9, -4
  l32e a5, a7, -28
  l32e a6, a7, -24
  l32e a7, a7, -20
  rfwu
  .org 0x300100
# overflow12
  s32e a0, a13, -16
  l32e a0, a1, -12
  s32e a1, a13, -12
  s32e a2, a13, -8
  s32e a3, a13, -4
  s32e a4, a0, -48
  s32e a5, a0, -44
  s32e a6, a0, -40
  s32e a7, a0, -36
  s32e a8, a0, -32
  s32e a9, a0, -28
  s32e a10, a0, -24
  s32e a11, a0, -20
  rfwo
  .org 0x300140
# underflow12
  l32e a1, a13, -12
  l32e a0, a13, -16
  l32e a11, a1, -12
  l32e a2, a13, -8
  l32e a4, a11, -48
  l32e a5, a11, -44
  l32e a6, a11, -40
  l32e a7, a11, -36
  l32e a8, a11, -32
  l32e a9, a11, -28
  l32e a10, a11, -24
  l32e a3, a13, -4
  l32e a11, a11, -20
  rfwu
  .org 0x300400
";

/// Maps a general-exception cause to the signal Linux (and qemu-user) delivers for it.
pub fn signal_for(c: u32) -> i32 {
    match c {
        cause::ILLEGAL | cause::PRIVILEGED => 4,       // SIGILL
        cause::INTEGER_DIVIDE_BY_ZERO => 8,            // SIGFPE
        cause::LOAD_STORE_ALIGNMENT => 7,              // SIGBUS
        cause::LOAD_PROHIBITED | cause::STORE_PROHIBITED | cause::LOAD_STORE_ERROR => 11,
        cause::INSTR_FETCH_ERROR | cause::INST_FETCH_PROHIBITED => 11,
        _ => 1000 + c as i32,
    }
}

pub struct Run {
    pub outcome: Outcome,
    pub cpu: Cpu,
    /// Cause and EPC1 of the exception that ended the run, if one did.
    pub fault: Option<(u32, u32)>,
    pub instructions: u64,
    /// Window overflow / underflow exceptions and MOVSP alloca exceptions taken.
    pub overflows: u32,
    pub underflows: u32,
    pub allocas: u32,
}

/// Runs an ELF built by `program::build` on our core configured by `config`.
pub fn run(elf_file: &[u8], config: Config, rings: bool, budget: u64) -> Run {
    let (segs, entry) = super::elf::segments(elf_file);
    let mut bus = FlatBus::new();
    for (vaddr, bytes) in &segs {
        bus.add_region(*vaddr, bytes, true);
    }
    let vectors = asm::assemble(WINDOW_VECTORS, VECBASE).expect("window vectors");
    bus.add_region(VECBASE, &vectors, false);
    let mut cpu = Cpu::new(config);
    cpu.vecbase = VECBASE;
    cpu.pc = entry;
    cpu.windowbase = 0;
    cpu.windowstart = 1;
    cpu.ps = ps::UM | ps::WOE | if rings { 3 << ps::RING_SHIFT } else { 0 };
    cpu.cpenable = 0xFF;
    cpu.intenable = 0;
    // qemu-user's initial stack pointer: the prologues replace it anyway.
    cpu.set_ar(1, BASE - 0x1000);
    let user = VECBASE + vec::USER;
    for h in [VECBASE + vec::KERNEL, user, VECBASE + vec::DOUBLE] {
        bus.code_cache().add_hook(h);
    }
    // Count the window exceptions (the hooks are stepped over at once).
    for v in vec::WINDOW {
        bus.code_cache().add_hook(VECBASE + v);
    }
    let (mut overflows, mut underflows, mut allocas) = (0, 0, 0);
    let mut stdout = Vec::new();
    let mut left = budget;
    let start = cpu.instret;
    loop {
        let before = cpu.cycles;
        let exit = cpu.run(&mut bus, left);
        left = left.saturating_sub(cpu.cycles - before);
        match exit {
            Exit::Budget => {
                let instructions = cpu.instret - start;
                return Run {
                    outcome: Outcome::Signal { sig: 9, stdout },
                    fault: Some((u32::MAX, cpu.pc)),
                    cpu,
                    instructions,
                    overflows,
                    underflows,
                    allocas,
                };
            }
            Exit::Hook(a) if a == user => {
                let c = cpu.exccause;
                let epc = cpu.epc[1];
                if c == cause::SYSCALL {
                    let nr = cpu.ar(2);
                    match nr {
                        13 => {
                            let (buf, len) = (cpu.ar(3), cpu.ar(4));
                            match bus.peek(buf, len as usize) {
                                Ok(b) => {
                                    stdout.extend_from_slice(&b);
                                    cpu.set_ar(2, len);
                                }
                                Err(_) => cpu.set_ar(2, (-14i32) as u32), // -EFAULT
                            }
                        }
                        118 | 119 => {
                            let code = cpu.ar(6) as i32;
                            let instructions = cpu.instret - start;
                            return Run {
                                outcome: Outcome::Exited { code, stdout },
                                cpu,
                                fault: None,
                                instructions,
                                overflows,
                                underflows,
                                allocas,
                            };
                        }
                        _ => cpu.set_ar(2, (-38i32) as u32), // -ENOSYS
                    }
                    cpu.ps &= !ps::EXCM;
                    cpu.pc = epc.wrapping_add(3);
                } else if c == cause::ALLOCA {
                    allocas += 1;
                    // MOVSP found the caller's frames spilled: reload the caller's frame
                    // through the underflow handler for its size (taken from the call
                    // increment in the current a0), then re-execute MOVSP. This is what
                    // Linux's alloca handler (and qemu-user) do.
                    let n = match cpu.ar(0) >> 30 {
                        0 | 1 => 1,
                        k => k,
                    };
                    cpu.ps = (cpu.ps & !ps::OWB) | (cpu.windowbase << ps::OWB_SHIFT) | ps::EXCM;
                    cpu.windowbase = (cpu.windowbase + 16 - n) & 15;
                    cpu.pc = VECBASE
                        + match n {
                            1 => vec::WINDOW_UNDERFLOW4,
                            2 => vec::WINDOW_UNDERFLOW8,
                            _ => vec::WINDOW_UNDERFLOW12,
                        };
                } else {
                    let instructions = cpu.instret - start;
                    return Run {
                        outcome: Outcome::Signal { sig: signal_for(c), stdout },
                        cpu,
                        fault: Some((c, epc)),
                        instructions,
                        overflows,
                        underflows,
                        allocas,
                    };
                }
            }
            Exit::Hook(a) if vec::WINDOW.contains(&(a.wrapping_sub(VECBASE))) => {
                if (a - VECBASE) & 0x40 == 0 {
                    overflows += 1;
                } else {
                    underflows += 1;
                }
                cpu.step_over_hook(a);
            }
            #[allow(unreachable_patterns)]
            other => {
                let a = match other {
                    Exit::Hook(a) => a,
                    _ => VECBASE + 0xFFFF,
                };
                let instructions = cpu.instret - start;
                let c = cpu.exccause;
                return Run {
                    outcome: Outcome::Signal { sig: 2000 + (a - VECBASE) as i32, stdout },
                    fault: Some((c, if a == VECBASE + vec::DOUBLE { cpu.depc } else { cpu.epc[1] })),
                    cpu,
                    instructions,
                    overflows,
                    underflows,
                    allocas,
                };
            }
        }
    }
}
