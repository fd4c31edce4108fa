//! Test programs: many independent cases in one ELF. Each case loads a seeded register state
//! (prologue), runs its generated instruction sequence, and stores the architectural state a
//! user-mode program can see (epilogue) into its own dump slot. At the end the program writes
//! the dump slots and the cases' data buffers to stdout in one `write` and exits.

use super::elf;
use emulator::asm;

/// Where the image is loaded (both under qemu-user and on our core).
pub const BASE: u32 = 0x0040_0000;
/// Code (header room, literal pool, cases) must end below this.
pub const DATA: u32 = BASE + 0x2_0000;
/// Per-case initial state tables, `SLOT` bytes each.
pub const INIT: u32 = DATA;
/// Output region: dump slots, then data buffers. Written to stdout as a whole.
pub const OUT: u32 = DATA + 0x1_0000;
pub const SLOT: u32 = 256;
pub const MAX_CASES: usize = 128;
/// Size of each case's data buffer (loads/stores of the generated code go here).
pub const DATA_SIZE: u32 = 64;
pub const BUFS: u32 = OUT + SLOT * MAX_CASES as u32;
/// The stack the windowed-call cases use (grows down from `STACK_TOP`).
pub const STACK_TOP: u32 = BUFS + DATA_SIZE * MAX_CASES as u32 + 0x8000;
/// Bytes above `STACK_TOP` that the spill of the outermost frame may touch (see `build`).
const STACK_SLACK: u32 = 0x100;
pub const IMAGE_END: u32 = STACK_TOP + STACK_SLACK;

/// Word indices within a dump / init slot.
pub mod slot {
    pub const SAR: usize = 16;
    pub const LBEG: usize = 17;
    pub const LEND: usize = 18;
    pub const LCOUNT: usize = 19;
    pub const SCOMPARE1: usize = 20;
    pub const ACCLO: usize = 21;
    pub const ACCHI: usize = 22;
    pub const M0: usize = 23;
    pub const BR: usize = 27;
    pub const FCR: usize = 28;
    pub const FSR: usize = 29;
    pub const F0: usize = 32;
    pub const WORDS: usize = 48;

    pub fn name(i: usize) -> String {
        match i {
            0..=15 => format!("a{i}"),
            SAR => "SAR".into(),
            LBEG => "LBEG".into(),
            LEND => "LEND".into(),
            LCOUNT => "LCOUNT".into(),
            SCOMPARE1 => "SCOMPARE1".into(),
            ACCLO => "ACCLO".into(),
            ACCHI => "ACCHI".into(),
            23..=26 => format!("M{}", i - 23),
            BR => "BR".into(),
            FCR => "FCR".into(),
            FSR => "FSR".into(),
            32..=47 => format!("f{}", i - 32),
            _ => format!("word{i}"),
        }
    }
}

/// Which optional state the target configuration has (and so the prologue/epilogue move).
#[derive(Clone, Copy, Debug)]
pub struct Features {
    pub mac16: bool,
    pub booleans: bool,
    pub fp: bool,
}

impl Features {
    /// Dump words that carry state on this configuration.
    pub fn live_words(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..=slot::SCOMPARE1).collect();
        if self.mac16 {
            v.extend(slot::ACCLO..=slot::M0 + 3);
        }
        if self.booleans {
            v.push(slot::BR);
        }
        if self.fp {
            v.extend([slot::FCR, slot::FSR]);
            v.extend(slot::F0..slot::F0 + 16);
        }
        v
    }
}

/// One generated test case.
#[derive(Clone, Debug)]
pub struct Case {
    pub class: &'static str,
    /// Initial values of the slot words (registers, SRs); see [`slot`].
    pub init: [u32; slot::WORDS],
    /// Assembly of the sequence under test. `{p}` is replaced by a prefix unique to the case
    /// (for labels).
    pub body: String,
    /// Out-of-line code (called functions), placed after all cases. Same `{p}` rule.
    pub funcs: String,
    /// Initial contents of the data buffer (`DATA_SIZE` bytes) at [`Case::data_addr`].
    pub data: Vec<u8>,
}

impl Case {
    pub fn data_addr(index: usize) -> u32 {
        BUFS + DATA_SIZE * index as u32
    }
}

/// A built program: the ELF file and what is needed to interpret its output.
pub struct Program {
    pub elf: Vec<u8>,
    pub cases: Vec<Case>,
    pub source: String,
    /// Bytes the program writes to stdout when it completes.
    pub out_len: u32,
    /// Label addresses (`c{k}_body`, `c{k}_end`, ...).
    pub syms: std::collections::HashMap<String, u32>,
    /// The code bytes, from `BASE`.
    pub code: Vec<u8>,
}

fn prologue(k: usize, f: &Features) -> String {
    let mut s = format!("  l32r a0, lit_init_{k}\n");
    let mut ld_sr = |off: usize, w: &str| s.push_str(&format!("  l32i a1, a0, {}\n  {w} a1\n", off * 4));
    // LCOUNT first: a random LEND must never meet a stale non-zero LCOUNT.
    ld_sr(slot::LCOUNT, "wsr.lcount");
    ld_sr(slot::SAR, "wsr.sar");
    ld_sr(slot::LBEG, "wsr.lbeg");
    ld_sr(slot::LEND, "wsr.lend");
    ld_sr(slot::SCOMPARE1, "wsr.scompare1");
    if f.mac16 {
        ld_sr(slot::ACCLO, "wsr.acclo");
        ld_sr(slot::ACCHI, "wsr.acchi");
        for m in 0..4 {
            ld_sr(slot::M0 + m, &format!("wsr.m{m}"));
        }
    }
    if f.booleans {
        ld_sr(slot::BR, "wsr.br");
    }
    if f.fp {
        ld_sr(slot::FCR, "wur.fcr");
        ld_sr(slot::FSR, "wur.fsr");
        for r in 0..16 {
            s.push_str(&format!("  lsi f{r}, a0, {}\n", (slot::F0 + r) * 4));
        }
    }
    for r in 1..16 {
        s.push_str(&format!("  l32i a{r}, a0, {}\n", r * 4));
    }
    s.push_str("  l32i a0, a0, 0\n");
    s
}

fn epilogue(k: usize, f: &Features) -> String {
    // THREADPTR is the scratch register that frees a0 for the dump address.
    let mut s = format!("  wur.threadptr a0\n  l32r a0, lit_dump_{k}\n");
    for r in 1..16 {
        s.push_str(&format!("  s32i a{r}, a0, {}\n", r * 4));
    }
    s.push_str("  rur.threadptr a1\n  s32i a1, a0, 0\n");
    let mut st_sr = |off: usize, r: &str| s.push_str(&format!("  {r} a1\n  s32i a1, a0, {}\n", off * 4));
    st_sr(slot::SAR, "rsr.sar");
    st_sr(slot::LBEG, "rsr.lbeg");
    st_sr(slot::LEND, "rsr.lend");
    st_sr(slot::LCOUNT, "rsr.lcount");
    st_sr(slot::SCOMPARE1, "rsr.scompare1");
    if f.mac16 {
        st_sr(slot::ACCLO, "rsr.acclo");
        st_sr(slot::ACCHI, "rsr.acchi");
        for m in 0..4 {
            st_sr(slot::M0 + m, &format!("rsr.m{m}"));
        }
    }
    if f.booleans {
        st_sr(slot::BR, "rsr.br");
    }
    if f.fp {
        st_sr(slot::FCR, "rur.fcr");
        st_sr(slot::FSR, "rur.fsr");
        for r in 0..16 {
            s.push_str(&format!("  ssi f{r}, a0, {}\n", (slot::F0 + r) * 4));
        }
    }
    // Leave LCOUNT zero so the next case never loops on a stale count.
    s.push_str("  movi a1, 0\n  wsr.lcount a1\n");
    s
}

/// Builds one program from up to [`MAX_CASES`] cases.
pub fn build(cases: Vec<Case>, f: &Features) -> Result<Program, String> {
    assert!(!cases.is_empty() && cases.len() <= MAX_CASES);
    let n = cases.len();
    let dump_len = SLOT * n as u32;
    let bufs_len = DATA_SIZE * n as u32;
    let out_len = dump_len + bufs_len;
    let mut src = String::new();
    src.push_str(&format!("  .space {}\n", elf::HEADER_ROOM));
    for k in 0..n {
        src.push_str(&format!("lit_init_{k}: .word {:#x}\n", INIT + SLOT * k as u32));
        src.push_str(&format!("lit_dump_{k}: .word {:#x}\n", OUT + SLOT * k as u32));
    }
    src.push_str(&format!(
        "lit_out: .word {OUT:#x}\nlit_out_len: .word {dump_len}\nlit_bufs: .word {BUFS:#x}\nlit_bufs_len: .word {bufs_len}\n"
    ));
    src.push_str("_start:\n");
    for (k, c) in cases.iter().enumerate() {
        let p = format!("c{k}_");
        src.push_str(&format!("# ---- case {k}: {}\n", c.class));
        src.push_str(&prologue(k, f));
        src.push_str(&format!("{p}body:\n"));
        src.push_str(&c.body.replace("{p}", &p));
        src.push_str(&format!("{p}end:\n"));
        src.push_str(&epilogue(k, f));
    }
    // write(1, dumps); write(1, data buffers); exit_group(0)
    src.push_str(concat!(
        "# ---- report\n",
        "  movi a2, 13\n  movi a6, 1\n  l32r a3, lit_out\n  l32r a4, lit_out_len\n  syscall\n",
        "  movi a2, 13\n  movi a6, 1\n  l32r a3, lit_bufs\n  l32r a4, lit_bufs_len\n  syscall\n",
        "  movi a2, 119\n  movi a6, 0\n  syscall\n  ill\n",
    ));
    for (k, c) in cases.iter().enumerate() {
        if !c.funcs.is_empty() {
            src.push_str(&format!("# ---- functions of case {k}\n  .align 4\n"));
            src.push_str(&c.funcs.replace("{p}", &format!("c{k}_")));
        }
    }
    let (code, syms) =
        asm::assemble_with_symbols(&src, BASE).map_err(|e| format!("{e}\n{}", numbered(&src, e.line)))?;
    if BASE as usize + code.len() > DATA as usize {
        return Err(format!("program code too large: {} bytes", code.len()));
    }
    let mut image = vec![0u8; (IMAGE_END - BASE) as usize];
    image[..code.len()].copy_from_slice(&code);
    let code = code.clone();
    let put = |image: &mut Vec<u8>, addr: u32, bytes: &[u8]| {
        let o = (addr - BASE) as usize;
        image[o..o + bytes.len()].copy_from_slice(bytes);
    };
    for (k, c) in cases.iter().enumerate() {
        let words: Vec<u8> = c.init.iter().flat_map(|w| w.to_le_bytes()).collect();
        put(&mut image, INIT + SLOT * k as u32, &words);
        assert_eq!(c.data.len(), DATA_SIZE as usize);
        put(&mut image, Case::data_addr(k), &c.data);
    }
    // The outermost frame (the cases' own window) can be spilled by deep call chains; the
    // 8/12-register spill reads its caller's stack pointer from [sp - 12] and stores the extra
    // registers below that. Make it point into the slack above the stack.
    put(&mut image, STACK_TOP - 12, &(STACK_TOP + STACK_SLACK - 16).to_le_bytes());
    let entry = syms["_start"];
    let elf = elf::finish(image, BASE, entry);
    Ok(Program { elf, cases, source: src, out_len, syms, code })
}

/// `src` with line numbers, marking line `mark`.
pub fn numbered(src: &str, mark: usize) -> String {
    src.lines()
        .enumerate()
        .map(|(i, l)| format!("{}{:5} {l}\n", if i + 1 == mark { ">>" } else { "  " }, i + 1))
        .collect()
}

/// The source of case `k` of a program (for failure reports).
pub fn case_source(p: &Program, k: usize) -> String {
    let start = format!("# ---- case {k}:");
    let mut out = String::new();
    let mut on = false;
    for l in p.source.lines() {
        if l.starts_with("# ---- ") {
            on = l.starts_with(&start) || l == format!("# ---- functions of case {k}");
        }
        if on {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Disassembly of case `k`'s body (with `emulator::disasm`), for failure reports.
pub fn case_disasm(p: &Program, k: usize) -> String {
    let (Some(&start), Some(&end)) = (p.syms.get(&format!("c{k}_body")), p.syms.get(&format!("c{k}_end"))) else {
        return String::new();
    };
    let mut out = String::new();
    let mut pc = start;
    while pc < end {
        let o = (pc - BASE) as usize;
        let bytes = &p.code[o..(o + 4).min(p.code.len())];
        let (text, len) = emulator::disasm::disasm_bytes(bytes, pc);
        out.push_str(&format!("  {pc:08x}:  {text}\n"));
        pc += len.max(1) as u32;
    }
    out
}
