//! Calling real ESP32 mask-ROM routines on the emulated core, with the windowed ABI.
//!
//! Used by `pyemu bench cpu` (its workloads) and `tests/rom_kernels.rs` (ROM routines checked
//! against reference crates).
//!
//! Memory (a [`FlatBus`]): the 448 KiB ROM at 0x4000_0000 (read-only) and its ROM1 data-bus
//! alias at 0x3FF9_0000, DRAM 0x3FFA_E000..0x4000_0000 with the RAM data the ROM's reset code
//! would have initialised, and 4 MiB at the external-RAM window 0x3F80_0000 for big buffers.
//!
//! A call is set up as if the host had executed `CALLX8`: the caller's window is window 0
//! (WINDOWSTART = 1), `a1` is its stack pointer, `a8` the return address tagged with the
//! call increment 2 in bits 31:30, arguments in `a10..a15` (the callee sees them as
//! `a2..a7`; further words at the caller's `a1 + 0, +4, …`), PS.CALLINC = 2, PS.WOE = 1.
//! The callee's ENTRY rotates the window by 2; its RETW rotates back and jumps to the return
//! address, where a host hook stops the run. Results come back in the caller's `a10`
//! (`a11`: high word of 64-bit results). Deep call chains spill through the ROM's own
//! window overflow/underflow vectors at VECBASE = 0x4000_0000. Any other exception stops the
//! run at its vector (a hook) and is reported with EXCCAUSE and the faulting PC's symbol.
use emulator::cpu::{Config, Cpu, Exit};
use emulator::regs::{ps, vec};
use emulator::{Bus, FlatBus};
use images::rom::{Rom, ROM1_DBUS_BASE, ROM1_OFFSET, ROM1_SIZE, ROM_BASE};

pub const DRAM_BASE: u32 = 0x3FFA_E000;
pub const DRAM_END: u32 = 0x4000_0000;
pub const PSRAM_BASE: u32 = 0x3F80_0000;
pub const PSRAM_SIZE: u32 = 0x40_0000;
/// Top of the host call stack (the ROM's own data and stacks sit above 0x3FFE_0000).
pub const STACK_TOP: u32 = 0x3FFE_0000;
/// Scratch area for small arguments (structs, strings), below the stack.
pub const SCRATCH: u32 = 0x3FFB_0000;
pub const SCRATCH_END: u32 = 0x3FFD_0000;
/// Return address of host calls: never executed, a hook stops the core there. It must lie
/// in the same 1 GiB quarter as the ROM (RETW keeps the PC's top two bits).
pub const RET_ADDR: u32 = 0x4007_FFF0;

const WINDOW_VECTORS: [u32; 6] = vec::WINDOW;

/// Why a ROM call failed.
#[derive(Debug)]
pub enum CallError {
    Exception {
        cause: u32,
        epc1: u32,
        vector_pc: u32,
        where_: String,
        vaddr: u32,
    },
    Timeout {
        instret: u64,
    },
    BadReturn {
        windowbase: u32,
        sp: u32,
    },
}

pub struct RomCall {
    pub cpu: Cpu,
    pub bus: FlatBus,
    pub rom: &'static Rom,
    /// Instructions retired by the last call.
    pub last_instret: u64,
    /// Entries into the ROM's window overflow / underflow vectors, over all calls (counted
    /// with hooks that are stepped over, so the ROM's handlers still run).
    pub window_overflows: u64,
    pub window_underflows: u64,
    /// Bump allocator over [`SCRATCH`]..[`SCRATCH_END`], reset by [`RomCall::reset_scratch`].
    scratch_next: u32,
    dram: usize,
    psram: usize,
}

impl RomCall {
    pub fn new() -> RomCall {
        let rom = Rom::esp32();
        let mut bus = FlatBus::new();
        // DRAM first: the FlatBus remembers the last region hit, and most data accesses
        // land here.
        bus.add_ram(DRAM_BASE, (DRAM_END - DRAM_BASE) as usize);
        let dram = 0;
        bus.add_ram(PSRAM_BASE, PSRAM_SIZE as usize);
        let psram = 1;
        let image = rom.image();
        bus.add_region(ROM_BASE, &image, false);
        bus.add_region(
            ROM1_DBUS_BASE,
            &image[ROM1_OFFSET as usize..(ROM1_OFFSET + ROM1_SIZE) as usize],
            false,
        );
        for seg in rom.ram_init() {
            if seg.addr >= DRAM_BASE && seg.end() <= DRAM_END {
                bus.load(seg.addr, &seg.data)
                    .expect("ROM RAM data lies in DRAM");
            }
        }
        let mut cpu = Cpu::new(Config::esp32_pro());
        cpu.vecbase = ROM_BASE;
        let cache = bus.code_cache();
        cache.add_hook(RET_ADDR);
        for off in [vec::KERNEL, vec::USER, vec::DOUBLE, vec::LEVEL2 + 4 * 0x40] {
            cache.add_hook(ROM_BASE + off);
        }
        for off in WINDOW_VECTORS {
            cache.add_hook(ROM_BASE + off);
        }
        RomCall {
            cpu,
            bus,
            rom,
            last_instret: 0,
            window_overflows: 0,
            window_underflows: 0,
            scratch_next: SCRATCH,
            dram,
            psram,
        }
    }

    /// Address of a ROM symbol (panics if the ROM has no such symbol).
    pub fn sym(&self, name: &str) -> u32 {
        self.rom
            .sym(name)
            .unwrap_or_else(|| panic!("ROM has no symbol {name}"))
    }

    pub fn reset_scratch(&mut self) {
        self.scratch_next = SCRATCH;
    }

    /// Reserves `len` bytes (16-aligned) of scratch DRAM, zeroed.
    pub fn alloc(&mut self, len: usize) -> u32 {
        let a = self.scratch_next;
        let end = a + ((len as u32 + 15) & !15);
        assert!(end <= SCRATCH_END, "scratch DRAM exhausted");
        self.scratch_next = end;
        self.slice_mut(a, len).fill(0);
        a
    }

    /// Copies `bytes` into fresh scratch DRAM.
    pub fn alloc_bytes(&mut self, bytes: &[u8]) -> u32 {
        let a = self.alloc(bytes.len().max(1));
        self.write(a, bytes);
        a
    }

    fn region_of(&self, addr: u32, len: usize) -> (usize, usize) {
        for (i, r) in [(self.dram, DRAM_BASE), (self.psram, PSRAM_BASE)] {
            let off = addr.wrapping_sub(r) as usize;
            if off + len <= self.bus.regions[i].data.len() {
                return (i, off);
            }
        }
        panic!("host access {addr:#010x}+{len:#x} outside DRAM/PSRAM");
    }

    pub fn slice(&self, addr: u32, len: usize) -> &[u8] {
        let (i, off) = self.region_of(addr, len);
        &self.bus.regions[i].data[off..off + len]
    }

    pub fn slice_mut(&mut self, addr: u32, len: usize) -> &mut [u8] {
        let (i, off) = self.region_of(addr, len);
        // Host writes never touch code (no code runs from RAM here), so the code cache
        // needs no invalidation.
        &mut self.bus.regions[i].data[off..off + len]
    }

    pub fn write(&mut self, addr: u32, bytes: &[u8]) {
        self.slice_mut(addr, bytes.len()).copy_from_slice(bytes);
    }

    pub fn read(&self, addr: u32, len: usize) -> Vec<u8> {
        self.slice(addr, len).to_vec()
    }

    pub fn read_u32(&self, addr: u32) -> u32 {
        u32::from_le_bytes(self.slice(addr, 4).try_into().unwrap())
    }

    pub fn write_u32(&mut self, addr: u32, v: u32) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Calls the ROM routine `name` with register arguments `args` (at most 6 words) and
    /// stack arguments `stack_args`; returns the caller's (a10, a11).
    pub fn call(
        &mut self,
        name: &str,
        args: &[u32],
        stack_args: &[u32],
    ) -> Result<(u32, u32), CallError> {
        let f = self.sym(name);
        self.call_addr(f, args, stack_args, 1 << 34)
    }

    pub fn call_addr(
        &mut self,
        func: u32,
        args: &[u32],
        stack_args: &[u32],
        max_instructions: u64,
    ) -> Result<(u32, u32), CallError> {
        assert!(args.len() <= 6, "at most 6 register arguments");
        // The caller's frame: stack pointer, outgoing stack arguments at sp+0.., and at
        // sp-12 its own caller's stack pointer (what WindowOverflow8 reads when it spills
        // this frame: a4..a7 go to [that - 32, that - 16)).
        let sp = STACK_TOP - 0x200;
        let grand_sp = STACK_TOP - 0x40;
        self.write_u32(sp - 12, grand_sp);
        for (i, &w) in stack_args.iter().enumerate() {
            self.write_u32(sp + 4 * i as u32, w);
        }
        let cpu = &mut self.cpu;
        cpu.windowbase = 0;
        cpu.windowstart = 1;
        cpu.lcount = 0;
        cpu.set_ar(1, sp);
        cpu.set_ar(8, (2 << 30) | (RET_ADDR & 0x3FFF_FFFF));
        for (i, &a) in args.iter().enumerate() {
            cpu.set_ar(10 + i, a);
        }
        cpu.ps = ps::WOE | ps::UM | (2 << ps::CALLINC_SHIFT);
        cpu.pc = func;
        let start = cpu.instret;
        loop {
            match cpu.run(&mut self.bus, 1 << 26) {
                Exit::Hook(RET_ADDR) => break,
                Exit::Hook(pc) if WINDOW_VECTORS.contains(&pc.wrapping_sub(ROM_BASE)) => {
                    if (pc - ROM_BASE) & 0x40 == 0 {
                        self.window_overflows += 1;
                    } else {
                        self.window_underflows += 1;
                    }
                    cpu.step_over_hook(pc);
                }
                Exit::Hook(pc) => {
                    return Err(CallError::Exception {
                        cause: cpu.exccause,
                        epc1: cpu.epc[1],
                        vector_pc: pc,
                        where_: self.rom.symbols.describe(cpu.epc[1]).unwrap_or_default(),
                        vaddr: cpu.excvaddr,
                    })
                }
                Exit::BusStop(pc) => {
                    return Err(CallError::Exception {
                        cause: u32::MAX,
                        epc1: pc,
                        vector_pc: pc,
                        where_: "bus stop".into(),
                        vaddr: 0,
                    })
                }
                Exit::Budget => {
                    if cpu.instret - start > max_instructions {
                        return Err(CallError::Timeout {
                            instret: cpu.instret - start,
                        });
                    }
                }
            }
        }
        self.last_instret = cpu.instret - start;
        if cpu.windowbase != 0 || cpu.ar(1) != sp {
            return Err(CallError::BadReturn {
                windowbase: cpu.windowbase,
                sp: cpu.ar(1),
            });
        }
        Ok((cpu.ar(10), cpu.ar(11)))
    }
}

impl Default for RomCall {
    fn default() -> Self {
        Self::new()
    }
}

/// Deterministic pseudo-random numbers (SplitMix64): seeded, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
    /// Bytes that compress: runs, repeats of earlier text, a small alphabet, noise.
    pub fn compressible(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            match self.below(4) {
                0 => {
                    let b = self.next_u32() as u8;
                    let len = 1 + self.below(40) as usize;
                    v.extend(std::iter::repeat_n(b, len));
                }
                1 if v.len() > 4 => {
                    let dist = 1 + self.below(v.len().min(32768) as u64) as usize;
                    let len = 3 + self.below(100) as usize;
                    let start = v.len() - dist;
                    for i in 0..len {
                        v.push(v[start + i]);
                    }
                }
                2 => {
                    let len = 1 + self.below(60) as usize;
                    for _ in 0..len {
                        v.push(b"etaoin shrdlu\n"[self.below(14) as usize]);
                    }
                }
                _ => {
                    let len = 1 + self.below(8) as usize;
                    v.extend(self.bytes(len));
                }
            }
        }
        v.truncate(n);
        v
    }
}
