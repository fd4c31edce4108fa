//! `pyemu bench ...`: figures we track.
//!
//! `pyemu bench cpu` runs two real mask-ROM routines on the emulated core — `tinfl_decompress`
//! inflating 1 MiB of output in one call, and `MD5Init/MD5Update/MD5Final` over 1 MiB — and
//! prints interpreted instructions per second (retired instructions from `cpu.instret`, wall
//! time from `Instant`). It then runs the same ROM code, on the same inputs, under Debian's
//! `qemu-xtensa` (Linux user mode, `-cpu dc233c`: a windowed-register core whose ISA covers
//! what these routines execute) and prints both rates and their ratio.
//!
//! The qemu program is an ELF written here at run time from the embedded ROM (nothing is
//! committed): the ROM mapped at its own addresses (0x4000_0000 and the ROM1 data-bus alias
//! 0x3FF9_0000), the DRAM image with the ROM's initialised data and the call's arguments, the
//! inputs at 0x3F80_0000, and a few hand-encoded driver instructions at 0x4008_0000 that set
//! up the same windowed CALLX8 our harness emulates, call the routine `reps` times, `write`
//! the results to stdout (checked against the reference) and `exit` (Linux/Xtensa syscalls
//! 13 and 118: number in a2, arguments in a6, a3, a4). qemu-user handles the window
//! overflow/underflow exceptions itself. qemu's time per call is (t(reps) - t(0)) / reps, so
//! start-up, translation warm-up and output cost cancel; its instruction count is taken from
//! our core (same code and input, so the same count).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use crate::romcall::{self, Rng, RomCall, PSRAM_BASE, RET_ADDR, STACK_TOP};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Interpreted instructions per second on real ROM code (tinfl, MD5), next to qemu-xtensa.
    Cpu(CpuArgs),
}

#[derive(Args, Debug)]
pub struct CpuArgs {
    /// MiB of tinfl output and of MD5 input per call.
    #[arg(long, default_value_t = 1)]
    pub mib: u32,
    /// Calls timed per workload on our core (the best run is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    /// Calls per qemu process (its per-call time is the difference to a 0-call process).
    #[arg(long, default_value_t = 20)]
    pub qemu_reps: u32,
    /// qemu user-mode binary for Xtensa.
    #[arg(long, default_value = "/usr/bin/qemu-xtensa")]
    pub qemu: PathBuf,
    /// Skip the qemu comparison.
    #[arg(long)]
    pub no_qemu: bool,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Cpu(args) => bench_cpu(&args),
    }
}

// ------------------------------------------------------------------ workloads

/// TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF on a raw deflate stream. No zlib header: its
/// check (`% 31`) and the Adler-32 (`% 65521`) use MULUH, which none of qemu's Xtensa
/// cores has, and the figure is about the inflate loop anyway.
const TINFL_FLAGS: u32 = 4;
const TINFL_STATE_SIZE: u32 = 11 * 1024;
/// Fixed DRAM addresses of the call's arguments (the same in our bus and in the qemu ELF).
const ARG_BASE: u32 = 0x3FFB_0000;
const A_TINFL_R: u32 = ARG_BASE;
const A_RESULT: u32 = ARG_BASE + 0x3000; // status, in_size, out_size (tinfl) / digest (MD5)
const A_IN_SIZE: u32 = A_RESULT + 4;
const A_OUT_SIZE: u32 = A_RESULT + 8;
const A_MD5_CTX: u32 = ARG_BASE + 0x3100;
const IN_ADDR: u32 = PSRAM_BASE;
const OUT_ADDR: u32 = PSRAM_BASE + 0x20_0000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Tinfl,
    Md5,
}

struct Workload {
    kernel: Kernel,
    name: &'static str,
    /// Bytes placed at IN_ADDR.
    input: Vec<u8>,
    /// What the routine must produce (tinfl: the output buffer; MD5: the digest).
    expected: Vec<u8>,
}

fn workloads(mib: u32) -> Vec<Workload> {
    use md5::Digest as _;
    let n = (mib as usize) << 20;
    let mut rng = Rng(0xBE_7C4);
    let plain = rng.compressible(n);
    let comp = miniz_oxide::deflate::compress_to_vec(&plain, 6);
    let md5_in = rng.bytes(n);
    let digest = md5::Md5::digest(&md5_in).to_vec();
    vec![
        Workload {
            kernel: Kernel::Tinfl,
            name: "tinfl_decompress",
            input: comp,
            expected: plain,
        },
        Workload {
            kernel: Kernel::Md5,
            name: "MD5 (Init/Update/Final)",
            input: md5_in,
            expected: digest,
        },
    ]
}

/// One call of the workload on our core: (retired instructions, time).
fn run_ours(rc: &mut RomCall, w: &Workload) -> anyhow::Result<(u64, Timing)> {
    let call =
        |rc: &mut RomCall, name: &str, args: &[u32], stack: &[u32]| -> anyhow::Result<(u32, u64)> {
            let (r, _) = rc
                .call(name, args, stack)
                .map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
            Ok((r, rc.last_instret))
        };
    match w.kernel {
        Kernel::Tinfl => {
            rc.slice_mut(A_TINFL_R, TINFL_STATE_SIZE as usize).fill(0);
            rc.write_u32(A_IN_SIZE, w.input.len() as u32);
            rc.write_u32(A_OUT_SIZE, w.expected.len() as u32);
            let (t, c) = (Instant::now(), thread_cpu_time());
            let (status, n) = call(
                rc,
                "tinfl_decompress",
                &[
                    A_TINFL_R, IN_ADDR, A_IN_SIZE, OUT_ADDR, OUT_ADDR, A_OUT_SIZE,
                ],
                &[TINFL_FLAGS],
            )?;
            let dt = Timing {
                wall: t.elapsed(),
                cpu: thread_cpu_time() - c,
            };
            if status != 0 || rc.read_u32(A_OUT_SIZE) as usize != w.expected.len() {
                bail!(
                    "tinfl_decompress: status {status}, {} bytes out",
                    rc.read_u32(A_OUT_SIZE)
                );
            }
            if rc.slice(OUT_ADDR, w.expected.len()) != &w.expected[..] {
                bail!("tinfl_decompress: output differs from the input of the compressor");
            }
            Ok((n, dt))
        }
        Kernel::Md5 => {
            let (t, c) = (Instant::now(), thread_cpu_time());
            let (_, n1) = call(rc, "MD5Init", &[A_MD5_CTX], &[])?;
            let (_, n2) = call(
                rc,
                "MD5Update",
                &[A_MD5_CTX, IN_ADDR, w.input.len() as u32],
                &[],
            )?;
            let (_, n3) = call(rc, "MD5Final", &[A_RESULT, A_MD5_CTX], &[])?;
            let dt = Timing {
                wall: t.elapsed(),
                cpu: thread_cpu_time() - c,
            };
            if rc.read(A_RESULT, 16) != w.expected {
                bail!("MD5: digest differs from the md-5 crate's");
            }
            Ok((n1 + n2 + n3, dt))
        }
    }
}

// ------------------------------------------------------------------ Xtensa encodings (driver)

/// Hand-encoded Xtensa instructions for the qemu driver (checked against our decoder in the
/// tests below).
mod enc {
    pub fn bytes3(w: u32) -> [u8; 3] {
        [w as u8, (w >> 8) as u8, (w >> 16) as u8]
    }
    /// L32R at, literal (the literal lies below the instruction).
    pub fn l32r(t: u32, pc: u32, lit: u32) -> u32 {
        let base = pc.wrapping_add(3) & !3;
        let off = (lit.wrapping_sub(base) as i32) >> 2;
        assert!((-65536..0).contains(&off), "literal out of L32R range");
        0x1 | (t << 4) | (((off as u32) & 0xFFFF) << 8)
    }
    /// MOVI at, imm (-2048..=2047).
    pub fn movi(t: u32, imm: i32) -> u32 {
        assert!((-2048..=2047).contains(&imm));
        let imm = imm as u32 & 0xFFF;
        0x2 | (t << 4) | ((imm >> 8) << 8) | (0xA << 12) | ((imm & 0xFF) << 16)
    }
    /// S32I at, as, off (bytes, multiple of 4, < 1024).
    pub fn s32i(t: u32, s: u32, off: u32) -> u32 {
        assert!(off.is_multiple_of(4) && off < 1024);
        0x2 | (t << 4) | (s << 8) | (0x6 << 12) | ((off / 4) << 16)
    }
    /// OR ar, as, as (MOV).
    pub fn mov(r: u32, s: u32) -> u32 {
        (0x2 << 20) | (r << 12) | (s << 8) | (s << 4)
    }
    pub fn callx8(s: u32) -> u32 {
        0xE0 | (s << 8)
    }
    pub const SYSCALL: u32 = 0x5000;
    /// J to itself.
    pub fn j_self() -> u32 {
        0x6 | (((-4i32 as u32) & 0x3_FFFF) << 6)
    }
}

const DRIVER_BASE: u32 = 0x4008_0000;
/// qemu-xtensa's user mode gives a guest only the low 1 GiB (minus 16 MiB of brk headroom),
/// so the qemu program runs the ESP32 map moved down by this much: ROM at 0x3000_0000,
/// ROM1's data-bus alias at 0x2FF9_0000, DRAM at 0x2FFA_E000, the inputs at 0x2F80_0000.
/// Absolute addresses in the ROM's literal pools and `.rodata` (jump tables, table
/// pointers) are relocated to match; PC-relative calls, branches and L32R need nothing.
/// The instructions executed are the same; the outputs are checked.
const QEMU_SHIFT: u32 = 0x1000_0000;
/// Words in this range are addresses of the map above (and get relocated).
const RELOC_RANGE: std::ops::Range<u32> = 0x3F80_0000..0x4008_0000;
const DRIVER_CODE: u32 = DRIVER_BASE + 0x400;
const NR_WRITE: i32 = 13;
const NR_EXIT: i32 = 118;

/// Driver program: literals, then code, for a memory map moved down by `shift` (see
/// [`QEMU_SHIFT`]). Returns (bytes at `DRIVER_BASE - shift`, entry).
fn driver(w: &Workload, rom: &images::rom::Rom, reps: u32, shift: u32) -> (Vec<u8>, u32) {
    let base = DRIVER_BASE - shift;
    let code_at = DRIVER_CODE - shift;
    // Addresses move with the map; sizes and flags do not.
    let at = |a: u32| a - shift;
    let mut lits: Vec<u32> = Vec::new();
    let mut code: Vec<u8> = Vec::new();
    let lit = |v: u32, lits: &mut Vec<u32>| -> u32 {
        let i = lits.iter().position(|&x| x == v).unwrap_or_else(|| {
            lits.push(v);
            lits.len() - 1
        });
        base + 4 * i as u32
    };
    // Emits one instruction; L32R needs its own address, so it is built here.
    macro_rules! emit {
        ($w:expr) => {{
            let w: u32 = $w;
            code.extend_from_slice(&enc::bytes3(w));
        }};
    }
    macro_rules! l32r {
        ($t:expr, $v:expr) => {{
            let a = lit($v, &mut lits);
            let pc = code_at + code.len() as u32;
            emit!(enc::l32r($t, pc, a));
        }};
    }
    let caller_sp = STACK_TOP - 0x200;
    l32r!(1, at(caller_sp));
    let sym = |n: &str| at(rom.sym(n).expect("ROM symbol"));
    for _ in 0..reps {
        match w.kernel {
            Kernel::Tinfl => {
                // r->m_state = 0 (tinfl_init), *in_size = input length, *out_size = capacity,
                // flags as the stack argument.
                l32r!(10, at(A_TINFL_R));
                emit!(enc::movi(11, 0));
                emit!(enc::s32i(11, 10, 0));
                l32r!(11, at(A_IN_SIZE));
                l32r!(12, w.input.len() as u32);
                emit!(enc::s32i(12, 11, 0));
                l32r!(11, at(A_OUT_SIZE));
                l32r!(12, w.expected.len() as u32);
                emit!(enc::s32i(12, 11, 0));
                emit!(enc::movi(12, TINFL_FLAGS as i32));
                emit!(enc::s32i(12, 1, 0));
                l32r!(11, at(IN_ADDR));
                l32r!(12, at(A_IN_SIZE));
                l32r!(13, at(OUT_ADDR));
                emit!(enc::mov(14, 13));
                l32r!(15, at(A_OUT_SIZE));
                l32r!(8, sym("tinfl_decompress"));
                emit!(enc::callx8(8));
                // Status to the result block.
                l32r!(11, at(A_RESULT));
                emit!(enc::s32i(10, 11, 0));
            }
            Kernel::Md5 => {
                l32r!(10, at(A_MD5_CTX));
                l32r!(8, sym("MD5Init"));
                emit!(enc::callx8(8));
                l32r!(10, at(A_MD5_CTX));
                l32r!(11, at(IN_ADDR));
                l32r!(12, w.input.len() as u32);
                l32r!(8, sym("MD5Update"));
                emit!(enc::callx8(8));
                l32r!(10, at(A_RESULT));
                l32r!(11, at(A_MD5_CTX));
                l32r!(8, sym("MD5Final"));
                emit!(enc::callx8(8));
            }
        }
    }
    // write(1, result block); for tinfl also write(1, output).
    let writes: Vec<(u32, u32)> = match w.kernel {
        Kernel::Tinfl => vec![(at(A_RESULT), 12), (at(OUT_ADDR), w.expected.len() as u32)],
        Kernel::Md5 => vec![(at(A_RESULT), 16)],
    };
    for (addr, len) in writes {
        emit!(enc::movi(2, NR_WRITE));
        emit!(enc::movi(6, 1));
        l32r!(3, addr);
        l32r!(4, len);
        emit!(enc::SYSCALL);
    }
    emit!(enc::movi(2, NR_EXIT));
    emit!(enc::movi(6, 0));
    emit!(enc::SYSCALL);
    emit!(enc::j_self());
    assert!(
        lits.len() * 4 <= (DRIVER_CODE - DRIVER_BASE) as usize,
        "literal pool overflow"
    );
    let mut img = vec![0u8; (DRIVER_CODE - DRIVER_BASE) as usize];
    for (i, v) in lits.iter().enumerate() {
        img[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    img.extend_from_slice(&code);
    (img, code_at)
}

// ------------------------------------------------------------------ ELF for qemu-xtensa

struct LoadSeg {
    vaddr: u32,
    data: Vec<u8>,
    memsz: u32,
    flags: u32, // PF_X 1, PF_W 2, PF_R 4
}

/// A static ELF32 executable for Xtensa (EM_XTENSA = 94), little-endian.
fn build_elf(entry: u32, segs: &[LoadSeg]) -> Vec<u8> {
    const PAGE: usize = 0x1000;
    let phoff = 52usize;
    let mut out = vec![0u8; PAGE];
    let mut offsets = Vec::new();
    for s in segs {
        let off = out.len();
        offsets.push(off);
        out.extend_from_slice(&s.data);
        out.resize(out.len().div_ceil(PAGE) * PAGE, 0);
    }
    let mut h = Vec::with_capacity(PAGE);
    h.extend_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1, 1, 0]);
    h.extend_from_slice(&[0; 8]);
    let p16 = |h: &mut Vec<u8>, v: u16| h.extend_from_slice(&v.to_le_bytes());
    let p32 = |h: &mut Vec<u8>, v: u32| h.extend_from_slice(&v.to_le_bytes());
    p16(&mut h, 2); // ET_EXEC
    p16(&mut h, 94); // EM_XTENSA
    p32(&mut h, 1);
    p32(&mut h, entry);
    p32(&mut h, phoff as u32);
    p32(&mut h, 0); // no section headers
    p32(&mut h, 0x300); // e_flags: XT_INSN | XT_LIT
    p16(&mut h, 52);
    p16(&mut h, 32);
    p16(&mut h, segs.len() as u16);
    p16(&mut h, 40);
    p16(&mut h, 0);
    p16(&mut h, 0);
    for (s, &off) in segs.iter().zip(&offsets) {
        p32(&mut h, 1); // PT_LOAD
        p32(&mut h, off as u32);
        p32(&mut h, s.vaddr);
        p32(&mut h, s.vaddr);
        p32(&mut h, s.data.len() as u32);
        p32(&mut h, s.memsz.max(s.data.len() as u32));
        p32(&mut h, s.flags);
        p32(&mut h, PAGE as u32);
    }
    assert!(h.len() <= PAGE);
    out[..h.len()].copy_from_slice(&h);
    out
}

/// The ELF that runs `reps` calls of the workload under qemu, in the map moved down by
/// [`QEMU_SHIFT`].
fn qemu_program(rc: &RomCall, w: &Workload, reps: u32) -> Vec<u8> {
    use images::rom::{ROM1_DBUS_BASE, ROM1_OFFSET, ROM1_SIZE, ROM_BASE};
    let rom = rc.rom;
    let mut image = rom.image();
    let reloc = |img: &mut [u8], off: usize| {
        let v = u32::from_le_bytes(img[off..off + 4].try_into().unwrap());
        if RELOC_RANGE.contains(&v) {
            img[off..off + 4].copy_from_slice(&(v - QEMU_SHIFT).to_le_bytes());
        }
    };
    for &(a, n) in &rom.literal_ranges {
        let off = (a - ROM_BASE) as usize;
        for o in (off..off + n as usize).step_by(4) {
            reloc(&mut image, o);
        }
    }
    if let Some(ro) = rom.segments.iter().find(|s| s.name == ".rodata") {
        let off = (ro.load_addr.unwrap_or(ro.addr) - ROM_BASE) as usize;
        for o in (off..off + ro.data.len() / 4 * 4).step_by(4) {
            reloc(&mut image, o);
        }
    }
    // DRAM as our harness has it now (ROM data initialised, argument block), plus the
    // caller frame's back-pointer that a window spill of the driver's frame reads.
    let dram_base = romcall::DRAM_BASE;
    let mut dram = rc.read(dram_base, (romcall::DRAM_END - dram_base) as usize);
    let caller_sp = STACK_TOP - 0x200;
    let back = (caller_sp - 12 - dram_base) as usize;
    dram[back..back + 4].copy_from_slice(&(STACK_TOP - 0x40 - QEMU_SHIFT).to_le_bytes());
    if w.kernel == Kernel::Tinfl {
        let r = (A_TINFL_R - dram_base) as usize;
        dram[r..r + TINFL_STATE_SIZE as usize].fill(0);
    }
    let (drv, entry) = driver(w, rom, reps, QEMU_SHIFT);
    let segs = [
        LoadSeg {
            vaddr: PSRAM_BASE - QEMU_SHIFT,
            data: w.input.clone(),
            memsz: romcall::PSRAM_SIZE,
            flags: 6,
        },
        LoadSeg {
            vaddr: ROM1_DBUS_BASE - QEMU_SHIFT,
            data: image[ROM1_OFFSET as usize..(ROM1_OFFSET + ROM1_SIZE) as usize].to_vec(),
            memsz: 0,
            flags: 4,
        },
        LoadSeg {
            vaddr: dram_base - QEMU_SHIFT,
            data: dram,
            memsz: 0,
            flags: 6,
        },
        LoadSeg {
            vaddr: ROM_BASE - QEMU_SHIFT,
            data: image,
            memsz: 0,
            flags: 5,
        },
        LoadSeg {
            vaddr: DRIVER_BASE - QEMU_SHIFT,
            data: drv,
            memsz: 0,
            flags: 5,
        },
    ];
    build_elf(entry, &segs)
}

/// Runs the program under qemu; returns (its wall and CPU time, stdout).
fn run_qemu(qemu: &PathBuf, elf: &[u8], tag: &str) -> anyhow::Result<(Timing, Vec<u8>)> {
    let path = std::env::temp_dir().join(format!("pyemu-bench-{}-{tag}.elf", std::process::id()));
    std::fs::write(&path, elf)?;
    // qemu-user refuses (silently: its message is lost in an unflushed stdout) to load a
    // file without execute permission.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
    }
    let (t, c) = (Instant::now(), children_cpu_time());
    let out = Command::new(qemu)
        .args(["-cpu", "dc233c"])
        .arg(&path)
        .output()
        .with_context(|| format!("running {}", qemu.display()));
    let dt = Timing {
        wall: t.elapsed(),
        cpu: children_cpu_time() - c,
    };
    // PYEMU_BENCH_KEEP_ELF=1 keeps the programs in the temporary directory for inspection.
    if std::env::var_os("PYEMU_BENCH_KEEP_ELF").is_none() {
        let _ = std::fs::remove_file(&path);
    }
    let out = out?;
    if !out.status.success() {
        bail!(
            "{} {} exited with {}: {}",
            qemu.display(),
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((dt, out.stdout))
}

/// Per-call time under qemu: best of three (t(reps) - t(0)) / reps, after checking the output.
fn time_qemu(args: &CpuArgs, rc: &RomCall, w: &Workload) -> anyhow::Result<Timing> {
    let reps = args.qemu_reps.max(1);
    let full = qemu_program(rc, w, reps);
    let empty = qemu_program(rc, w, 0);
    let mut best = Timing::MAX;
    for i in 0..3 {
        let (t_full, out) = run_qemu(&args.qemu, &full, &format!("{i}-full"))?;
        match w.kernel {
            Kernel::Tinfl => {
                let hdr: Vec<u32> = out[..12]
                    .chunks(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                if hdr[0] != 0
                    || hdr[1] as usize != w.input.len()
                    || hdr[2] as usize != w.expected.len()
                {
                    bail!(
                        "qemu tinfl: status {}, in {}, out {}",
                        hdr[0],
                        hdr[1],
                        hdr[2]
                    );
                }
                if out[12..] != w.expected[..] {
                    bail!("qemu tinfl: output differs");
                }
            }
            Kernel::Md5 => {
                if out != w.expected {
                    bail!("qemu MD5: digest differs");
                }
            }
        }
        let (t_empty, _) = run_qemu(&args.qemu, &empty, &format!("{i}-empty"))?;
        best = best.min(Timing {
            wall: t_full.wall.saturating_sub(t_empty.wall) / reps,
            cpu: t_full.cpu.saturating_sub(t_empty.cpu) / reps,
        });
    }
    Ok(best)
}

// ------------------------------------------------------------------ CPU time

/// CPU time of the calling thread (load-independent, unlike wall time).
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass and nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// User + system CPU time of all waited-for children so far.
fn children_cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass; an all-zero rusage is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Wall and CPU time of one measurement.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

impl Timing {
    const MAX: Timing = Timing {
        wall: Duration::MAX,
        cpu: Duration::MAX,
    };
    fn min(self, o: Timing) -> Timing {
        Timing {
            wall: self.wall.min(o.wall),
            cpu: self.cpu.min(o.cpu),
        }
    }
}

// ------------------------------------------------------------------ the command

fn bench_cpu(args: &CpuArgs) -> anyhow::Result<ExitCode> {
    let mut rc = RomCall::new();
    const { assert!(RET_ADDR < DRIVER_BASE) };
    let work = workloads(args.mib.max(1));
    let qemu_ok = !args.no_qemu && args.qemu.exists();
    let mut rows = Vec::new();
    for w in &work {
        rc.write(IN_ADDR, &w.input);
        // Warm-up: decodes the routine into the code cache.
        let (insns, _) = run_ours(&mut rc, w)?;
        let mut best = Timing::MAX;
        for _ in 0..args.runs.max(1) {
            let (n, t) = run_ours(&mut rc, w)?;
            if n != insns {
                bail!(
                    "{}: instruction count changed between runs ({insns} vs {n})",
                    w.name
                );
            }
            best = best.min(t);
        }
        let qemu_t = if qemu_ok {
            Some(time_qemu(args, &rc, w)?)
        } else {
            None
        };
        rows.push((w.name, insns, best, qemu_t));
    }

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loadavg = loadavg.split_whitespace().next().unwrap_or("?");
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // Built whole, then printed: a closed stdout ends the command quietly (see `out`).
    let mut o = String::new();
    writeln!(
        o,
        "pyemu bench cpu: real ESP32 mask-ROM code, {} MiB per call",
        args.mib.max(1)
    )?;
    writeln!(o, "(load average {loadavg} on {cpus} CPUs; rates in millions of guest instructions per second)")?;
    writeln!(o)?;
    writeln!(
        o,
        "{:<24} {:>12} | {:<27} | {:<27} | {:<15}",
        "", "", "pyemu", "qemu-xtensa", "pyemu/qemu"
    )?;
    writeln!(
        o,
        "{:<24} {:>12} | {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | {:>7} {:>7}",
        "routine",
        "guest insns",
        "wall ms",
        "MIPS",
        "cpu MIPS",
        "wall ms",
        "MIPS",
        "cpu MIPS",
        "wall",
        "cpu"
    )?;
    writeln!(o, "{}", "-".repeat(24 + 13 + 3 + 27 + 3 + 27 + 3 + 15))?;
    let mips = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9) / 1e6;
    for (name, insns, ours, qemu) in &rows {
        let (ow, oc) = (mips(*insns, ours.wall), mips(*insns, ours.cpu));
        let q = match qemu {
            Some(q) => {
                let (qw, qc) = (mips(*insns, q.wall), mips(*insns, q.cpu));
                format!(
                    "{:>9.2} {:>8.0} {:>8.0} | {:>7.3} {:>7.3}",
                    q.wall.as_secs_f64() * 1e3,
                    qw,
                    qc,
                    ow / qw,
                    oc / qc
                )
            }
            None => format!("{:>9} {:>8} {:>8} | {:>7} {:>7}", "-", "-", "-", "-", "-"),
        };
        writeln!(
            o,
            "{name:<24} {insns:>12} | {:>9.1} {ow:>8.1} {oc:>8.1} | {q}",
            ours.wall.as_secs_f64() * 1e3
        )?;
    }
    writeln!(o)?;
    writeln!(
        o,
        "pyemu: best of {} calls after one warm-up call, instructions = cpu.instret.",
        args.runs.max(1)
    )?;
    if qemu_ok {
        writeln!(
            o,
            "qemu:  {} -cpu dc233c (user mode), per call = (t({n} calls) - t(0 calls)) / {n}, best of 3; \
             same ROM code and input (outputs checked), instruction count taken from pyemu.",
            args.qemu.display(),
            n = args.qemu_reps.max(1)
        )?;
    } else if !args.no_qemu {
        writeln!(
            o,
            "qemu comparison skipped: {} not found (`apt-get install qemu-user`).",
            args.qemu.display()
        )?;
    }
    super::out::print(&o)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn driver_encodings_decode_back() {
        use super::enc;
        use emulator::decode::{decode, Op};
        let pc = 0x4008_0403;
        let i = decode(enc::l32r(5, pc, 0x4008_0010), pc);
        assert_eq!((i.op, i.t), (Op::L32r, 5));
        assert_eq!(((pc + 3) & !3).wrapping_add(i.imm), 0x4008_0010);
        let i = decode(enc::movi(11, -5), 0);
        assert_eq!((i.op, i.t, i.imm), (Op::Movi, 11, (-5i32) as u32));
        let i = decode(enc::movi(2, 118), 0);
        assert_eq!((i.op, i.t, i.imm), (Op::Movi, 2, 118));
        let i = decode(enc::s32i(12, 1, 8), 0);
        assert_eq!((i.op, i.t, i.s, i.imm), (Op::S32i, 12, 1, 8));
        let i = decode(enc::mov(14, 13), 0);
        assert_eq!((i.op, i.r, i.s, i.t), (Op::Or, 14, 13, 13));
        let i = decode(enc::callx8(8), 0);
        assert_eq!((i.op, i.s), (Op::Callx8, 8));
        assert_eq!(decode(enc::SYSCALL, 0).op, Op::Syscall);
        let i = decode(enc::j_self(), 0x4008_0500);
        assert_eq!((i.op, i.imm), (Op::J, 0x4008_0500));
    }
}
