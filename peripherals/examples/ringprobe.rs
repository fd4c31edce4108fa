//! Scratch probe: boot a flash image strictly until the first unmodelled access (or a
//! deadline) and print the last N instructions each core executed before it.
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let img = std::fs::read(&args[1]).unwrap();
    let ms: u64 = args[2].parse().unwrap();
    let n: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(200);
    let mut flash = Flash::new_in_memory(img.len() as u32);
    flash.load(0, &img);
    let rev = if img.len() > 4 << 20 { 1 } else { 0 };
    let cfg = MachineConfig { efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 1, 2, 3], revision: rev }, strict: true, seed: 1, psram_size: if rev == 1 { 4 << 20 } else { 0 }, radio: (rev == 1).then(|| peripherals::board::lora_wiring(1)), lte: None, timing: Default::default() };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).unwrap();
    let rings: [Rc<RefCell<VecDeque<String>>>; 2] = Default::default();
    // RING_FROM_MS: run untraced until then (tracing changes how the cores interleave).
    m.power_on();
    let from: u64 = std::env::var("RING_FROM_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if from > 0 {
        println!("untraced until {from} ms: {:?}", m.run_until(from * 1_000_000_000));
    }
    for (core, ring) in rings.iter().enumerate() {
        let r = ring.clone();
        m.cores[core].tracer = Some(Box::new(move |cpu, pc, insn| {
            let mut r = r.borrow_mut();
            if r.len() >= n {
                r.pop_front();
            }
            r.push_back(format!(
                "{core} {pc:08x} {:<36} a0={:08x} a1={:08x} a2={:08x} a3={:08x} a4={:08x} a5={:08x} a6={:08x} a8={:08x} a9={:08x} a10={:08x} a11={:08x}",
                emulator::disasm::disasm(&insn, pc), cpu.ar(0), cpu.ar(1), cpu.ar(2), cpu.ar(3), cpu.ar(4), cpu.ar(5), cpu.ar(6), cpu.ar(8), cpu.ar(9), cpu.ar(10), cpu.ar(11)
            ));
        }));
    }
    let stop = m.run_until(ms * 1_000_000_000);
    println!("{}", String::from_utf8_lossy(&m.uart0_out));
    println!("stop: {stop:?} at {} ps", m.now_ps);
    if let (Some(a), Some(l)) = (args.get(4), args.get(5)) {
        let mut a = u32::from_str_radix(a.trim_start_matches("0x"), 16).unwrap();
        let end = a + l.parse::<u32>().unwrap();
        println!("---- disassembly");
        while a < end {
            let Some(b) = m.soc.peek(a, 3) else { break };
            let (t, len) = emulator::disasm::disasm_bytes(&b, a);
            println!("{a:08x} {t}");
            a += len.max(1) as u32;
        }
        for w in args.iter().skip(6) {
            let a = u32::from_str_radix(w.trim_start_matches("0x"), 16).unwrap();
            let b = m.soc.peek(a, 4).unwrap_or_default();
            println!("word {a:08x} = {:02x?}", b);
        }
    }
    for (core, ring) in rings.iter().enumerate() {
        println!("---- core {core}");
        for l in ring.borrow().iter() {
            println!("{l}");
        }
    }
}
