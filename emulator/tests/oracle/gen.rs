//! Seeded generators of test cases, one per instruction class.

use super::program::{slot, Case, Features, DATA_SIZE, STACK_TOP};
use emulator::decode::{B4CONST, B4CONSTU};

/// splitmix64: small, seeded, reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        self.u64() as u32
    }
    pub fn below(&mut self, n: u32) -> u32 {
        (self.u64() % n as u64) as u32
    }
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as u32) as i32
    }
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u32) as usize]
    }
    /// A register value biased towards the edges that break arithmetic.
    pub fn val(&mut self) -> u32 {
        match self.below(12) {
            0 => 0,
            1 => self.pick(&[1, 2, 0xFFFF_FFFF, 0xFFFF_FFFE]),
            2 => self.pick(&[0x8000_0000, 0x7FFF_FFFF, 0x8000_0001, 0x7FFF_FFFE]),
            3 => self.pick(&[0xFFFF, 0x8000, 0x7FFF, 0x1_0000, 0xFF, 0x80, 0x7F, 0x100]),
            4 => self.below(64),
            5 => (self.range(-64, 64)) as u32,
            6 => 1u32 << self.below(32),
            7 => !(1u32 << self.below(32)),
            _ => self.u32(),
        }
    }
    pub fn a(&mut self) -> u32 {
        self.below(16)
    }
}

/// What a generator knows about where its case will sit.
pub struct Ctx {
    pub index: usize,
    pub features: Features,
    pub data_addr: u32,
}

pub type Gen = fn(&mut Rng, &Ctx) -> Case;

/// A fresh case with random registers, random SR values and a random data buffer.
pub fn base_case(rng: &mut Rng, ctx: &Ctx, class: &'static str) -> Case {
    let mut init = [0u32; slot::WORDS];
    for w in init.iter_mut().take(16) {
        *w = rng.val();
    }
    // SAR beyond 32 only comes from WSR and makes the SAR shifts undefined: 0..=32.
    init[slot::SAR] = rng.below(33);
    init[slot::LBEG] = rng.u32();
    init[slot::LEND] = rng.u32();
    init[slot::LCOUNT] = 0;
    init[slot::SCOMPARE1] = rng.val();
    init[slot::ACCLO] = rng.u32();
    init[slot::ACCHI] = rng.u32();
    for m in 0..4 {
        init[slot::M0 + m] = rng.val();
    }
    init[slot::BR] = rng.u32() & 0xFFFF;
    init[slot::FCR] = 0;
    init[slot::FSR] = 0;
    for f in 0..16 {
        init[slot::F0 + f] = fp_val(rng);
    }
    let data = (0..DATA_SIZE).map(|_| rng.u32() as u8).collect();
    let _ = ctx;
    Case { class, init, body: String::new(), funcs: String::new(), data }
}

/// A single-precision bit pattern biased towards specials.
pub fn fp_val(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0 => rng.pick(&[0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x7F80_0000, 0xFF80_0000]),
        1 => rng.pick(&[0x7FC0_0000, 0x7F80_0001, 0xFFC0_0001, 0x0000_0001, 0x807F_FFFF, 0x7F7F_FFFF]),
        2 => (rng.range(-1000, 1000) as f32).to_bits(),
        3 => ((rng.range(-100000, 100000) as f32) / 64.0).to_bits(),
        4 => (rng.u32() & 0x807F_FFFF) | (rng.range(100, 160) as u32) << 23,
        _ => rng.u32(),
    }
}

fn r(n: u32) -> String {
    format!("a{n}")
}

// ------------------------------------------------------------------------ ALU

/// One random plain-ALU instruction writing any register.
fn alu_insn(rng: &mut Rng, avoid: &[u32]) -> String {
    let mut d = rng.a();
    while avoid.contains(&d) {
        d = rng.a();
    }
    let (s, t) = (rng.a(), rng.a());
    match rng.below(22) {
        0..=10 => {
            let m = rng.pick(&[
                "add", "addx2", "addx4", "addx8", "sub", "subx2", "subx4", "subx8", "and", "or", "xor",
            ]);
            format!("{m} a{d}, a{s}, a{t}")
        }
        11 => format!("{} a{d}, a{t}", rng.pick(&["neg", "abs"])),
        12 => format!("addi a{d}, a{s}, {}", rng.range(-128, 127)),
        13 => format!("addmi a{d}, a{s}, {}", rng.range(-128, 127) * 256),
        14 => format!("movi a{d}, {}", rng.range(-2048, 2047)),
        15 => format!("add.n a{d}, a{s}, a{t}"),
        16 => {
            let imm = rng.pick(&[-1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
            format!("addi.n a{d}, a{s}, {imm}")
        }
        17 => format!("movi.n a{d}, {}", rng.range(-32, 95)),
        18 => format!("mov.n a{d}, a{s}"),
        19 => format!("mov a{d}, a{s}"),
        20 => rng.pick(&["nop", "nop.n", "memw", "isync", "rsync", "esync", "dsync", "extw", "excw"]).into(),
        _ => format!("{} a{d}, a{s}, a{t}", rng.pick(&["moveqz", "movnez", "movltz", "movgez"])),
    }
}

pub fn gen_alu(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "alu");
    for _ in 0..rng.range(1, 12) {
        c.body.push_str(&format!("  {}\n", alu_insn(rng, &[])));
    }
    c
}

pub fn gen_shift(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "shift");
    for k in 0..rng.range(1, 10) {
        let (d, s, t) = (rng.a(), rng.a(), rng.a());
        let line = match rng.below(14) {
            0 => format!("ssl a{s}"),
            1 => format!("ssr a{s}"),
            2 => format!("ssai {}", rng.below(32)),
            3 => format!("ssa8l a{s}"),
            4 => format!("ssa8b a{s}"),
            5 => format!("src a{d}, a{s}, a{t}"),
            6 => format!("sll a{d}, a{s}"),
            7 => format!("srl a{d}, a{t}"),
            // qemu implements SRA with a 32-bit TCG shift, whose result is undefined for
            // SAR = 32 (x86 hosts shift by 0); the ISA gives the sign fill (our core does,
            // see `sra_by_32_fills_with_the_sign`). Make SAR < 32 here.
            8 => format!("ssr a{s}\n  sra a{d}, a{t}"),
            // SLLI's shift field 0 ("shift by 32") is left out: see the report in isa_oracle.rs.
            9 => format!("slli a{d}, a{s}, {}", rng.range(1, 31)),
            10 => format!("srai a{d}, a{t}, {}", rng.below(32)),
            11 => format!("srli a{d}, a{t}, {}", rng.below(16)),
            _ => format!("extui a{d}, a{t}, {}, {}", rng.below(32), rng.range(1, 16)),
        };
        c.body.push_str(&format!("  {line}\n"));
        if line.starts_with("ss") {
            // qemu 7.2 tracks "SAR < 32" statically within a translation block and gets it
            // wrong after SSL/SSA8B of 0 (SAR = 32): `ssl a13` (a13 = 0) then `srl a3, a7`
            // leaves a7 unshifted instead of giving 0. A jump ends the block.
            c.body.push_str(&format!("  j {{p}}tb{k}\n{{p}}tb{k}:\n"));
        }
    }
    c
}

pub fn gen_misc(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "minmax/sext/nsa");
    for _ in 0..rng.range(1, 10) {
        let (d, s, t) = (rng.a(), rng.a(), rng.a());
        let line = match rng.below(5) {
            0 | 1 => format!("{} a{d}, a{s}, a{t}", rng.pick(&["min", "max", "minu", "maxu"])),
            2 => format!("sext a{d}, a{s}, {}", rng.range(7, 22)),
            3 => format!("clamps a{d}, a{s}, {}", rng.range(7, 22)),
            _ => format!("{} a{d}, a{s}", rng.pick(&["nsa", "nsau"])),
        };
        c.body.push_str(&format!("  {line}\n"));
    }
    c
}

pub fn gen_mul(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "mul16/mull");
    for _ in 0..rng.range(1, 10) {
        let (d, s, t) = (rng.a(), rng.a(), rng.a());
        let m = rng.pick(&["mul16u", "mul16s", "mull", "mull"]);
        c.body.push_str(&format!("  {m} a{d}, a{s}, a{t}\n"));
        if rng.chance(30) {
            c.body.push_str(&format!("  {}\n", alu_insn(rng, &[])));
        }
    }
    c
}

pub fn gen_div(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "div32");
    // Bias towards the signed-overflow pair 0x80000000 / -1.
    if rng.chance(30) {
        c.init[rng.a() as usize] = 0x8000_0000;
        c.init[rng.a() as usize] = 0xFFFF_FFFF;
    }
    for k in 0..rng.range(1, 8) {
        let (d, s, t) = (rng.a(), rng.a(), rng.a());
        let m = rng.pick(&["quou", "quos", "remu", "rems"]);
        // Never divide by zero here (that case has its own test): patch a zero divisor.
        c.body.push_str(&format!(
            "  bnez a{t}, {{p}}nz{k}\n  movi a{t}, {}\n{{p}}nz{k}:\n  {m} a{d}, a{s}, a{t}\n",
            rng.pick(&[1, -1, 3, -7, 1000])
        ));
    }
    c
}

pub fn gen_cmov(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "conditional moves");
    for w in c.init.iter_mut().take(16) {
        if rng.chance(40) {
            *w = rng.pick(&[0, 0, 1, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF]);
        }
    }
    for _ in 0..rng.range(1, 10) {
        let (d, s, t) = (rng.a(), rng.a(), rng.a());
        let m = rng.pick(&["moveqz", "movnez", "movltz", "movgez"]);
        c.body.push_str(&format!("  {m} a{d}, a{s}, a{t}\n"));
    }
    c
}

// ------------------------------------------------------------------------ memory

pub fn gen_mem(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "load/store");
    let b = rng.a();
    c.init[b as usize] = ctx.data_addr;
    for _ in 0..rng.range(1, 14) {
        let mut t = rng.a();
        let line = match rng.below(12) {
            0 => format!("l8ui a{{t}}, a{b}, {}", rng.below(DATA_SIZE)),
            1 => format!("l16ui a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 2) * 2),
            2 => format!("l16si a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 2) * 2),
            3 => format!("l32i a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 4) * 4),
            4 => format!("l32i.n a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 4) * 4),
            5 => format!("l32ai a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 4) * 4),
            6 => format!("s8i a{{t}}, a{b}, {}", rng.below(DATA_SIZE)),
            7 => format!("s16i a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 2) * 2),
            8 => format!("s32i a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 4) * 4),
            9 => format!("s32i.n a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 4) * 4),
            10 => format!("s32ri a{{t}}, a{b}, {}", rng.below(DATA_SIZE / 4) * 4),
            _ => {
                // An ALU op that leaves the base alone.
                c.body.push_str(&format!("  {}\n", alu_insn(rng, &[b])));
                continue;
            }
        };
        // Loads must not overwrite the base register (later accesses would fly off).
        if line.starts_with('l') {
            while t == b {
                t = rng.a();
            }
        }
        c.body.push_str(&format!("  {}\n", line.replace("{t}", &t.to_string())));
    }
    c
}

pub fn gen_s32c1i(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "s32c1i/scompare1");
    let b = rng.a();
    c.init[b as usize] = ctx.data_addr;
    for _ in 0..rng.range(1, 5) {
        let off = rng.below(DATA_SIZE / 4) * 4;
        let mut x = rng.a();
        while x == b {
            x = rng.a();
        }
        let mut t = rng.a();
        while t == b {
            t = rng.a();
        }
        if rng.chance(60) {
            // Make the comparison succeed: SCOMPARE1 = the current memory word.
            c.body.push_str(&format!("  l32i a{x}, a{b}, {off}\n  wsr.scompare1 a{x}\n"));
        } else if rng.chance(50) {
            c.body.push_str(&format!("  wsr.scompare1 a{x}\n"));
        }
        c.body.push_str(&format!("  s32c1i a{t}, a{b}, {off}\n"));
        if rng.chance(30) {
            c.body.push_str(&format!("  l32ai a{x}, a{b}, {off}\n"));
        }
    }
    c
}

pub fn gen_l32r(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "l32r");
    let n = rng.range(1, 6);
    c.body.push_str("  j {p}code\n  .align 4\n");
    for k in 0..n {
        c.body.push_str(&format!("{{p}}lit{k}: .word {:#x}\n", rng.val()));
    }
    // Unaligned instruction addresses exercise the (pc + 3) & ~3 base.
    c.body.push_str("{p}code:\n");
    for _ in 0..rng.range(1, 8) {
        if rng.chance(40) {
            c.body.push_str("  nop.n\n");
        }
        c.body.push_str(&format!("  l32r a{}, {{p}}lit{}\n", rng.a(), rng.below(n as u32)));
    }
    c
}

/// LITBASE (extended L32R) — dc233c has it, the ESP32 does not.
pub fn gen_litbase(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "l32r+litbase");
    // Literals in the data buffer; LITBASE at the next 4 KiB boundary above it.
    let base = (ctx.data_addr + DATA_SIZE + 0xFFF) & !0xFFF;
    let lb = rng.below(16);
    c.body.push_str(&format!(
        "  j {{p}}go\n  .align 4\n{{p}}lb: .word {:#x}\n{{p}}go:\n  l32r a{lb}, {{p}}lb\n  wsr.litbase a{lb}\n  isync\n",
        base | 1
    ));
    for _ in 0..rng.range(1, 6) {
        let off = ctx.data_addr + rng.below(DATA_SIZE / 4) * 4;
        let imm = off.wrapping_sub(base);
        let i = emulator::Insn { op: emulator::Op::L32r, len: 3, r: 0, s: 0, t: rng.below(16) as u8, imm, wq: 0 };
        let (w, _) = emulator::asm::encode(&i, 0).unwrap();
        c.body.push_str(&format!("  .byte {}, {}, {}\n", w & 0xFF, (w >> 8) & 0xFF, (w >> 16) & 0xFF));
    }
    // Back to PC-relative literals before the epilogue uses L32R.
    c.body.push_str(&format!("  movi a{lb}, 0\n  wsr.litbase a{lb}\n  isync\n"));
    c
}

// ------------------------------------------------------------------------ control flow

fn branch_line(rng: &mut Rng, target: &str, c: &mut Case) -> String {
    let (s, t) = (rng.a(), rng.a());
    // Bias operands so that both outcomes happen often.
    if rng.chance(30) {
        c.init[t as usize] = c.init[s as usize];
    }
    match rng.below(9) {
        0 => format!("{} a{s}, {target}", rng.pick(&["beqz", "bnez", "bltz", "bgez"])),
        1 | 2 => format!(
            "{} a{s}, a{t}, {target}",
            rng.pick(&["beq", "bne", "blt", "bge", "bltu", "bgeu", "bany", "bnone", "ball", "bnall", "bbc", "bbs"])
        ),
        3 | 4 => {
            let m = rng.pick(&["beqi", "bnei", "blti", "bgei"]);
            let k = rng.pick(&B4CONST);
            if rng.chance(40) {
                c.init[s as usize] = (k + rng.range(-1, 1)) as u32;
            }
            format!("{m} a{s}, {k}, {target}")
        }
        5 => {
            let m = rng.pick(&["bltui", "bgeui"]);
            let k = rng.pick(&B4CONSTU);
            if rng.chance(40) {
                c.init[s as usize] = k.wrapping_add(rng.range(-1, 1) as u32);
            }
            format!("{m} a{s}, {k}, {target}")
        }
        6 | 7 => format!("{} a{s}, {}, {target}", rng.pick(&["bbci", "bbsi"]), rng.below(32)),
        _ => format!("{} a{s}, {target}", rng.pick(&["beqz", "bnez"])),
    }
}

pub fn gen_branch(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "branches");
    // a15 records the path taken: every fall-through adds a distinct constant.
    let nb = rng.range(1, 6);
    let mut body = String::new();
    for k in 0..nb {
        let narrow = rng.chance(20);
        let target = format!("{{p}}b{k}");
        let line = if narrow {
            format!("{} a{}, {target}", rng.pick(&["beqz.n", "bnez.n"]), rng.below(15))
        } else {
            branch_line(rng, &target, &mut c)
        };
        body.push_str(&format!("  {line}\n"));
        body.push_str(&format!("  addi a15, a15, {}\n", k + 1));
        let pad = if narrow { rng.below(8) } else { rng.below(25) };
        for _ in 0..pad {
            body.push_str(&format!("  {}\n", alu_insn(rng, &[15])));
        }
        body.push_str(&format!("{target}:\n"));
    }
    // A backward branch: a counted loop built from branches.
    if rng.chance(50) {
        let cnt = rng.range(1, 5);
        body.push_str(&format!("  movi a14, {cnt}\n{{p}}back:\n"));
        for _ in 0..rng.below(6) {
            body.push_str(&format!("  {}\n", alu_insn(rng, &[14, 15])));
        }
        body.push_str(&format!(
            "  addi a14, a14, -1\n  {} a14, {{p}}back\n",
            rng.pick(&["bnez", "bgez", "bnez.n"]).replace("bnez.n", "bnez")
        ));
    }
    c.body = body;
    c
}

pub fn gen_jump_call0(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "j/jx/call0/callx0/ret");
    let nf = rng.range(1, 3);
    // L32R literals must sit below their users: a pool at the start of the body.
    c.body.push_str("  j {p}pool_end\n  .align 4\n");
    for k in 0..nf {
        c.body.push_str(&format!("{{p}}lf{k}: .word {{p}}f{k}\n"));
    }
    c.body.push_str("{p}pool_end:\n");
    for k in 0..nf {
        c.funcs.push_str(&format!("  .align 4\n{{p}}f{k}:\n"));
        for _ in 0..rng.below(5) {
            c.funcs.push_str(&format!("  {}\n", alu_insn(rng, &[0, 12])));
        }
        c.funcs.push_str(&format!("  {}\n", rng.pick(&["ret", "ret.n"])));
    }
    for k in 0..rng.range(1, 5) {
        let f = rng.below(nf as u32);
        match rng.below(4) {
            0 => c.body.push_str(&format!("  call0 {{p}}f{f}\n")),
            1 => c.body.push_str(&format!("  l32r a12, {{p}}lf{f}\n  callx0 a12\n")),
            2 => c.body.push_str(&format!(
                "  j {{p}}j{k}\n  {}\n{{p}}j{k}:\n",
                alu_insn(rng, &[])
            )),
            _ => c.body.push_str(&format!(
                "  movi a12, 0\n  j {{p}}jl{k}\n  .align 4\n{{p}}jt{k}: .word {{p}}jd{k}\n{{p}}jl{k}:\n  l32r a12, {{p}}jt{k}\n  jx a12\n  {}\n{{p}}jd{k}:\n",
                alu_insn(rng, &[])
            )),
        }
        if rng.chance(50) {
            c.body.push_str(&format!("  {}\n", alu_insn(rng, &[])));
        }
    }
    c
}

pub fn gen_loop(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "zero-overhead loops");
    let s = rng.below(13) + 2; // count register a2..a14
    let kind = rng.pick(&["loop", "loopnez", "loopgtz"]);
    c.init[s as usize] = match kind {
        "loop" => rng.range(1, 6) as u32,
        "loopnez" => rng.range(0, 6) as u32,
        _ => {
            let small = rng.range(-3, 6) as u32;
            rng.pick(&[small, small, 0x8000_0000, 0xFFFF_FFFF])
        }
    };
    let mut body = String::new();
    if rng.chance(30) {
        body.push_str("  nop.n\n"); // LOOP at an odd address
    }
    body.push_str(&format!("  {kind} a{s}, {{p}}lend\n"));
    let n = rng.range(1, 8);
    let exit_at = if rng.chance(30) { rng.range(0, n - 1) } else { -1 };
    for k in 0..n {
        if k == exit_at {
            // A conditional branch inside the body: to LEND (no loop-back on a taken
            // branch) or out of the loop altogether (LCOUNT keeps its value).
            let target = if rng.chance(50) { "{p}lend" } else { "{p}out" };
            body.push_str(&format!("  {}\n", branch_line(rng, target, &mut c)));
        } else {
            // a15 accumulates a trace of the iterations.
            if rng.chance(40) {
                body.push_str("  addi a15, a15, 3\n");
            } else {
                body.push_str(&format!("  {}\n", alu_insn(rng, &[])));
            }
        }
    }
    body.push_str("{p}lend:\n  addi.n a15, a15, 1\n{p}out:\n");
    // The branch bias may have changed the count register: keep the trip count small
    // (LOOP with 0 means 2^32 iterations).
    let cnt = c.init[s as usize];
    c.init[s as usize] = match kind {
        "loop" if cnt == 0 || cnt > 6 => 3,
        "loopnez" if cnt > 6 => 3,
        "loopgtz" if (cnt as i32) > 6 => 3,
        _ => cnt,
    };
    c.body = body;
    c
}

// ------------------------------------------------------------------------ windowed ABI

/// A chain of windowed functions f0 → f1 → … → fD, each called with a random CALLn/CALLXn,
/// deep enough to overflow the register file and underflow on the way back, with MOVSP
/// (alloca) after some calls.
pub fn gen_windowed(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "windowed calls");
    c.init[1] = STACK_TOP;
    let depth = rng.range(1, 20) as usize;
    let sizes: Vec<u32> = (0..=depth).map(|_| rng.pick(&[1, 2, 3])).collect();
    let indirect: Vec<bool> = (0..=depth).map(|_| rng.chance(30)).collect();
    c.body.push_str("  j {p}pool_end\n  .align 4\n");
    for k in 0..=depth {
        c.body.push_str(&format!("{{p}}lf{k}: .word {{p}}f{k}\n"));
    }
    c.body.push_str("{p}pool_end:\n");
    // The caller of f0: the case body, using a CALLn like any other.
    let call = |n: u32, k: usize, ind: bool| -> String {
        if ind {
            // a(4n+1) becomes the callee's stack pointer anyway: free for the target.
            format!("  l32r a{}, {{p}}lf{k}\n  callx{} a{}\n", n * 4 + 1, n * 4, n * 4 + 1)
        } else {
            format!("  call{} {{p}}f{k}\n", n * 4)
        }
    };
    let n0 = sizes[0];
    // Arguments a(4n+2), a(4n+3) of the first call.
    c.body.push_str(&format!("  mov a{}, a2\n  mov a{}, a3\n", n0 * 4 + 2, n0 * 4 + 3));
    c.body.push_str(&call(n0, 0, indirect[0]));
    c.body.push_str(&format!("  mov a2, a{}\n", n0 * 4 + 2));
    for k in 0..=depth {
        let frame = rng.pick(&[48, 64, 96]);
        c.funcs.push_str(&format!("  .align 4\n{{p}}f{k}:\n  entry a1, {frame}\n"));
        // Only a0..a3 are defined on entry; the rest of the window holds whatever the
        // physical registers had (which depends on their number: 32 on dc233c, 64 on the
        // ESP32). Define them before anything reads them.
        for a in 4..16 {
            c.funcs.push_str(&format!("  addi a{a}, a{}, {}\n", 2 + a % 2, a * 3));
        }
        // Work on the arguments and the other locals (a1 is the stack pointer, a0 the return).
        let work = |rng: &mut Rng, f: &mut String| {
            for _ in 0..rng.below(4) {
                let d = rng.below(14) + 2;
                let (s, t) = (rng.below(14) + 2, rng.below(14) + 2);
                let m = rng.pick(&["add", "sub", "xor", "addx2", "or", "subx4"]);
                f.push_str(&format!("  {m} a{d}, a{s}, a{t}\n"));
            }
        };
        work(rng, &mut c.funcs);
        if k < depth {
            let n = sizes[k + 1];
            c.funcs.push_str(&format!("  mov a{}, a2\n  mov a{}, a3\n", n * 4 + 2, n * 4 + 3));
            // Keep locals live across the call (they must survive spill + fill): a2, a3
            // always, a4..a7 when the call leaves them to us (CALL8/CALL12).
            if n >= 2 {
                c.funcs.push_str(&format!("  addi a4, a2, {}\n  addi a7, a3, {}\n", k + 1, 2 * k + 1));
            }
            c.funcs.push_str(&call(n, k + 1, indirect[k + 1]));
            c.funcs.push_str(&format!("  add a2, a{}, a2\n  xor a3, a3, a{}\n", n * 4 + 2, n * 4 + 3));
            if n >= 2 {
                c.funcs.push_str("  add a2, a2, a4\n  xor a3, a3, a7\n");
            }
            if rng.chance(30) {
                // alloca: the caller's frames may be spilled by now (ALLOCA exception).
                c.funcs.push_str("  addi a6, a1, -32\n  movsp a1, a6\n  s32i a2, a1, 0\n  l32i a7, a1, 0\n  add a2, a2, a7\n");
            }
        }
        work(rng, &mut c.funcs);
        c.funcs.push_str(&format!("  {}\n", rng.pick(&["retw", "retw.n"])));
    }
    c
}

// ------------------------------------------------------------------------ special registers

pub fn gen_sr(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "rsr/wsr/xsr/rur/wur");
    let f = ctx.features;
    let mut srs = vec!["sar", "lbeg", "lend", "scompare1"];
    if f.mac16 {
        srs.extend(["acclo", "acchi", "m0", "m1", "m2", "m3"]);
    }
    if f.booleans {
        srs.push("br");
    }
    for _ in 0..rng.range(1, 8) {
        let a = rng.a();
        let sr = rng.pick(&srs);
        let line = match rng.below(5) {
            0 => format!("rsr.{sr} a{a}"),
            1 | 2 => format!("wsr.{sr} a{a}"),
            3 => format!("xsr.{sr} a{a}"),
            _ => {
                let b = rng.a();
                format!("wur.threadptr a{a}\n  rur.threadptr a{b}")
            }
        };
        c.body.push_str(&format!("  {line}\n"));
    }
    // LCOUNT: write a count but never reach LEND with it (LEND is random).
    if rng.chance(30) {
        c.body.push_str(&format!("  wsr.lcount a{}\n  rsr.lcount a{}\n", rng.a(), rng.a()));
    }
    c
}

pub fn gen_bool(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "booleans");
    for k in 0..rng.range(1, 8) {
        let (d, s, t) = (rng.below(16), rng.below(16), rng.below(16));
        let line = match rng.below(6) {
            0 | 1 => {
                format!("{} b{d}, b{s}, b{t}", rng.pick(&["andb", "andbc", "orb", "orbc", "xorb"]))
            }
            2 => {
                let (m, w) = rng.pick(&[("any4", 4), ("all4", 4), ("any8", 8), ("all8", 8)]);
                format!("{m} b{d}, b{}", rng.below(16 / w) * w)
            }
            3 => format!("{} a{}, a{}, b{t}", rng.pick(&["movf", "movt"]), rng.a(), rng.a()),
            4 => format!("{} b{s}, {{p}}bb{k}\n  addi a15, a15, {}\n{{p}}bb{k}:", rng.pick(&["bf", "bt"]), k + 1),
            _ => format!("wsr.br a{}\n  rsr.br a{}", rng.a(), rng.a()),
        };
        c.body.push_str(&format!("  {line}\n"));
        // qemu 7.2 keeps b0..b15, and the 4-/8-bit groups ANY4..ALL8 use, in separate TCG
        // values that alias BR and only agree again at the end of a translation block:
        // sequences like `andbc b1, b2, b5; orb b5, b12, b5` or `any4 b10, b4; orb b2, b6,
        // b3; andbc b10, b4, b15` lose updates. A jump after each operation ends the block.
        c.body.push_str(&format!("  j {{p}}tb{k}\n{{p}}tb{k}:\n"));
    }
    c
}

// ------------------------------------------------------------------------ FP and MAC16

pub fn gen_fp(rng: &mut Rng, ctx: &Ctx) -> Case {
    let mut c = base_case(rng, ctx, "fpu");
    // qemu's only FPU core (de233_fpu) has the LX7 DFPU, which honours signalling NaNs (the
    // ESP32's FP coprocessor, and our model of it, treats every NaN as quiet) and, for
    // MADD.S/MSUB.S with several NaN operands, returns the accumulator's (ours: fs's). So
    // no NaN goes in; NaNs made by invalid operations (inf - inf, 0 * inf) are still
    // compared: both sides produce the default NaN.
    for f in 0..16 {
        let v = c.init[slot::F0 + f];
        if v & 0x7F80_0000 == 0x7F80_0000 && v & 0x7F_FFFF != 0 {
            c.init[slot::F0 + f] = v & 0xFF80_0000; // the infinity of the same sign
        }
    }
    let b = 14;
    c.init[b] = ctx.data_addr;
    for k in 0..rng.range(1, 8) {
        let (fr, fs, ft) = (rng.below(16), rng.below(16), rng.below(16));
        let a = rng.below(14);
        let line = match rng.below(12) {
            0..=2 => format!(
                "{} f{fr}, f{fs}, f{ft}",
                rng.pick(&["add.s", "sub.s", "mul.s", "madd.s", "msub.s"])
            ),
            3 => format!("{} f{fr}, f{fs}", rng.pick(&["mov.s", "abs.s", "neg.s"])),
            // Scale 0 only: qemu's DFPU also raises overflow when fs * 2^scale overflows
            // before the conversion; our ESP32 model raises only invalid (see the report).
            4 => {
                let m = rng.pick(&["trunc.s", "utrunc.s", "round.s", "floor.s", "ceil.s"]);
                if m == "utrunc.s" {
                    // qemu's UTRUNC.S of a negative value (invalid) drops the flags already
                    // in FSR instead of accumulating; start from a clear FSR.
                    c.body.push_str("  movi a15, 0\n  wur.fsr a15\n");
                }
                format!("{m} a{a}, f{fs}, 0")
            }
            5 => format!("{} f{fr}, a{a}, {}", rng.pick(&["float.s", "ufloat.s"]), rng.below(16)),
            6 => format!(
                "{} b{}, f{fs}, f{ft}",
                rng.pick(&["un.s", "oeq.s", "ueq.s", "olt.s", "ult.s", "ole.s", "ule.s"]),
                rng.below(16)
            ),
            7 => format!(
                "{} f{fr}, f{fs}, a{a}",
                rng.pick(&["moveqz.s", "movnez.s", "movltz.s", "movgez.s"])
            ),
            8 => format!("{} f{fr}, f{fs}, b{}", rng.pick(&["movf.s", "movt.s"]), rng.below(16)),
            9 => format!("rfr a{a}, f{fs}"),
            10 => format!("wfr f{fr}, a{a}"),
            _ => format!("{} f{ft}, a{b}, {}", rng.pick(&["lsi", "ssi"]), rng.below(DATA_SIZE / 4) * 4),
        };
        c.body.push_str(&format!("  {line}\n"));
        // End the translation block after every FP op (booleans: see `gen_bool`).
        c.body.push_str(&format!("  j {{p}}tb{k}\n{{p}}tb{k}:\n"));
    }
    c
}

/// MAC16 operations: random raw fields that `emulator::mac16::decode` accepts. The .LDINC/
/// .LDDEC forms and LDINC/LDDEC use a14 as the address register, pointing into the middle of
/// the data buffer (at most 8 steps of 4 bytes stay inside it).
pub fn gen_mac16(rng: &mut Rng, ctx: &Ctx) -> Case {
    use emulator::mac16::{decode, Mac};
    let mut c = base_case(rng, ctx, "mac16");
    c.init[14] = ctx.data_addr + DATA_SIZE / 2;
    let mut emitted = 0;
    while emitted < rng.range(1, 8) {
        let mut i = emulator::Insn {
            op: emulator::Op::Mac16,
            len: 3,
            r: rng.below(16) as u8,
            s: rng.below(16) as u8,
            t: rng.below(16) as u8,
            imm: rng.below(256),
            wq: 0,
        };
        let loads = matches!(decode(&i), Some(Mac::Load { .. }) | Some(Mac::Mul { load: Some(_), .. }));
        if loads {
            i.s = 14;
        }
        if decode(&i).is_none() {
            continue;
        }
        c.body.push_str(&format!("  mac16 {:#x}, {}, {}, {}\n", i.imm, i.r, i.s, i.t));
        // qemu 7.2 lets the next operation in the same translation block see the M register
        // from before a .LDINC/.LDDEC load (`mula.da.ll.lddec m1, a14, m1, a6` then
        // `mula.da.hl m1, a4` multiplies the old m1): end the block after each operation.
        c.body.push_str(&format!("  j {{p}}tb{emitted}\n{{p}}tb{emitted}:\n"));
        emitted += 1;
    }
    c
}
