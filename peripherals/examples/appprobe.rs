//! Scratch probe: boot a flash image for N ms, then print the next instructions executed.
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let img = std::fs::read(&args[1]).unwrap();
    let ms: u64 = args[2].parse().unwrap();
    let n: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(200);
    let mut flash = Flash::new_in_memory(img.len() as u32);
    flash.load(0, &img);
    let rev = if img.len() > 4 << 20 { 1 } else { 0 };
    let board = images::board::Board::by_id(if rev == 1 { "lopy4" } else { "sipy" }).unwrap();
    let cfg = MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3]);
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).unwrap();
    m.power_on();
    m.run_until(ms * 1_000_000_000);
    println!("{}", String::from_utf8_lossy(&m.uart0_out));
    for core in 0..2 {
        let c = &m.cores[core];
        println!("core {core}: pc={:#x} ps={:#x} intenable={:#x} pending={:#x} halted={} wb={} ws={:#x}", c.pc, c.ps, c.intenable, c.pending(), c.halted, c.windowbase, c.windowstart);
    }
    for core in 0..2 {
        let c = &m.cores[core];
        let mut frames = Vec::new();
        for k in 0..16u32 {
            let w = (c.windowbase + 16 - k) % 16;
            if c.windowstart >> w & 1 != 0 {
                let a0 = c.ar[(w * 4) as usize];
                frames.push(format!("{:08x}", (a0 & 0x3FFF_FFFF) | 0x4000_0000));
            }
        }
        println!("core {core} frames: {}", frames.join(" <- "));
    }
    if std::env::var("CTIME").is_ok() {
        use peripherals::cache_timing::Target;
        let r = &m.soc.spi0.regs;
        println!("fill cycles: flash {} psram {} (cpu {} Hz, apb {} Hz) SPI0 CTRL={:#x} CLOCK={:#x} USER={:#x} USER1={:#x} SCTRL={:#x} DRD={:#x}; hits/misses {:?}/{:?}", m.soc.fill_cycles(Target::Flash), m.soc.fill_cycles(Target::Psram), m.soc.cpu_hz, m.soc.apb_hz, r.get(0x08), r.get(0x18), r.get(0x1C), r.get(0x20), r.get(0x54), r.get(0x5C), m.soc.ctiming.hits, m.soc.ctiming.misses);
    }
    if std::env::var("RMTSTEP").is_ok() {
        // Step from power-on until channel 1 starts, then watch its end and the APP core's lines.
        let img = std::fs::read(&args[1]).unwrap();
        let mut flash = Flash::new_in_memory(img.len() as u32);
        flash.load(0, &img);
        let board = images::board::Board::by_id(if rev == 1 { "lopy4" } else { "sipy" }).unwrap();
        let mut w = Machine::new(images::rom::Rom::esp32(), flash, MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3])).unwrap();
        w.power_on();
        let mut t = 0u64;
        while w.soc.rmt.started[1] == 0 {
            t += 1_000_000;
            w.run_until(t);
        }
        println!("TX start by {} ps now={} end={:?} conf0={:#x} conf1={:#x} ram={:x?}", t, w.soc.now(), w.soc.rmt.tx_end(1), w.soc.rmt.read(0x28, 0).unwrap(), w.soc.rmt.read(0x2C, 0).unwrap(), (0..26).map(|i| w.soc.rmt.read(0x800 + 256 + 4 * i, 0).unwrap()).collect::<Vec<_>>());
        for _ in 0..200 {
            t += 5_000_000;
            w.run_until(t);
            let now = w.soc.now();
            println!("t={} now={} INT_RAW={:#x} lines1={:#x} c1 pc={:#x} ps={:#x} pend={:#x} ie={:#x} cyc={} c0 pc={:#x} ps={:#x} c0 cyc={}", t, now, w.soc.rmt.read(0xA0, now).unwrap(), w.cores[1].irq_lines, w.cores[1].pc, w.cores[1].ps, w.cores[1].pending(), w.cores[1].intenable, w.cores[1].cycles, w.cores[0].pc, w.cores[0].ps, w.cores[0].cycles);
        }
        return;
    }
    if std::env::var("RMT").is_ok() {
        let now = m.soc.now();
        println!("RMT INT_RAW={:#x} INT_ENA={:#x} CONF1[1]={:#x} started={:?} map pro={} app={}", m.soc.rmt.read(0xA0, now).unwrap(), m.soc.rmt.read(0xA8, now).unwrap(), m.soc.rmt.read(0x2C, now).unwrap(), m.soc.rmt.started, m.soc.dport.map(0, 47), m.soc.dport.map(1, 47));
    }
    if let Ok(spec) = std::env::var("DUMP") {
        // DUMP=addr:len[,addr:len] — memory words; DIS=addr:count — disassembly.
        for part in spec.split(',') {
            let (a, l) = part.split_once(':').unwrap();
            let a = u32::from_str_radix(a.trim_start_matches("0x"), 16).unwrap();
            let l: usize = l.parse().unwrap();
            let b = m.soc.peek(a, l).unwrap_or_else(|| (0..l as u32).step_by(4).flat_map(|i| emulator::Bus::fetch(&mut m.soc, a + i).unwrap_or(0).to_le_bytes()).collect());
            for (i, w) in b.chunks(4).enumerate() {
                println!("{:08x}: {:02x?}", a + 4 * i as u32, w);
            }
        }
    }
    if let Ok(spec) = std::env::var("DIS") {
        let (a, n) = spec.split_once(':').unwrap();
        let mut pc = u32::from_str_radix(a.trim_start_matches("0x"), 16).unwrap();
        for _ in 0..n.parse::<usize>().unwrap() {
            let Some(b) = m.soc.peek(pc, 4).or_else(|| emulator::Bus::fetch(&mut m.soc, pc).ok().map(|w| w.to_le_bytes().to_vec())) else { break };
            let (t, len) = emulator::disasm::disasm_bytes(&b, pc);
            println!("{pc:08x} {t}");
            pc += len.max(1) as u32;
        }
    }
    // WATCH=addr:len[:from_ms] — from power-on (or from_ms), print every store into the range.
    if let Ok(spec) = std::env::var("WATCH") {
        let p: Vec<&str> = spec.split(':').collect();
        let lo = u32::from_str_radix(p[0].trim_start_matches("0x"), 16).unwrap();
        let hi = lo + p[1].parse::<u32>().unwrap();
        let from: u64 = p.get(2).map(|v| v.parse().unwrap()).unwrap_or(0);
        let img = std::fs::read(&args[1]).unwrap();
        let mut flash = Flash::new_in_memory(img.len() as u32);
        flash.load(0, &img);
        let board = images::board::Board::by_id(if rev == 1 { "lopy4" } else { "sipy" }).unwrap();
        let mut w = Machine::new(images::rom::Rom::esp32(), flash, MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3])).unwrap();
        w.power_on();
        w.run_until(from * 1_000_000_000);
        // TRANGE=lo:hi — also print every instruction whose cycle count falls in [lo, hi).
        let trange: (u64, u64) = std::env::var("TRANGE").ok().map(|t| { let (a, b) = t.split_once(':').unwrap(); (a.parse().unwrap(), b.parse().unwrap()) }).unwrap_or((0, 0));
        for core in 0..2 {
            w.cores[core].tracer = Some(Box::new(move |cpu, pc, insn| {
                use emulator::Op::*;
                if cpu.cycles >= trange.0 && cpu.cycles < trange.1 {
                    println!("T core{core} c={} pc={pc:08x} {:<36} a2={:08x} a3={:08x} a5={:08x} a6={:08x} a8={:08x} a9={:08x} a10={:08x} a11={:08x} a12={:08x} a13={:08x} ps={:x} pend={:x} ie={:x}", cpu.cycles, emulator::disasm::disasm(&insn, pc), cpu.ar(2), cpu.ar(3), cpu.ar(5), cpu.ar(6), cpu.ar(8), cpu.ar(9), cpu.ar(10), cpu.ar(11), cpu.ar(12), cpu.ar(13), cpu.ps, cpu.pending(), cpu.intenable);
                }
                if matches!(insn.op, S8i | S16i | S32i | S32iN | S32c1i | S32ri) {
                    let ea = cpu.ar(insn.s as usize).wrapping_add(insn.imm);
                    if ea >= lo && ea < hi {
                        println!("W core{core} c={} pc={pc:08x} {} [{ea:08x}] <- {:08x} ps={:x}", cpu.cycles, emulator::disasm::disasm(&insn, pc), cpu.ar(insn.t as usize), cpu.ps);
                    }
                }
            }));
        }
        w.run_until(ms * 1_000_000_000);
        return;
    }
    let count = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let only: Option<usize> = std::env::var("CORE").ok().and_then(|c| c.parse().ok());
    for core in 0..2 {
        if only.is_some_and(|o| o != core) {
            continue;
        }
        let count = count.clone();
        m.cores[core].tracer = Some(Box::new(move |cpu, pc, insn| {
            if count.get() < n {
                count.set(count.get() + 1);
                use emulator::Op::*;
                let ea = match insn.op {
                    L8ui | L16ui | L16si | L32i | L32iN | S8i | S16i | S32i | S32iN | S32c1i | L32ai | S32ri => {
                        format!(" ea={:08x} t={:08x}", cpu.ar(insn.s as usize).wrapping_add(insn.imm), cpu.ar(insn.t as usize))
                    }
                    _ => String::new(),
                };
                println!("{core} {pc:08x} c={} {:<40} a2={:08x} a3={:08x} a6={:08x} a8={:08x} a9={:08x} a10={:08x}{ea}", cpu.cycles, emulator::disasm::disasm(&insn, pc), cpu.ar(2), cpu.ar(3), cpu.ar(6), cpu.ar(8), cpu.ar(9), cpu.ar(10));
            }
        }));
    }
    let t = m.now_ps;
    m.run_until(t + 30_000_000_000);
}
