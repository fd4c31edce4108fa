//! Scratch probe: boot a flash image for N ms, then print the next instructions executed.
use peripherals::efuse::EfuseConfig;
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
    let cfg = MachineConfig { efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 1, 2, 3], revision: rev }, strict: false, seed: 1 };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).unwrap();
    m.power_on();
    m.run_until(ms * 1_000_000_000);
    println!("{}", String::from_utf8_lossy(&m.uart0_out));
    for core in 0..2 {
        let c = &m.cores[core];
        println!("core {core}: pc={:#x} ps={:#x} intenable={:#x} pending={:#x} halted={} wb={} ws={:#x}", c.pc, c.ps, c.intenable, c.pending(), c.halted, c.windowbase, c.windowstart);
    }
    let count = std::rc::Rc::new(std::cell::Cell::new(0usize));
    for core in 0..2 {
        let count = count.clone();
        m.cores[core].tracer = Some(Box::new(move |cpu, pc, insn| {
            if count.get() < n {
                count.set(count.get() + 1);
                println!("{core} {pc:08x} {:<40} a2={:08x} a3={:08x} a8={:08x} a9={:08x} a10={:08x}", emulator::disasm::disasm(&insn, pc), cpu.ar(2), cpu.ar(3), cpu.ar(8), cpu.ar(9), cpu.ar(10));
            }
        }));
    }
    let t = m.now_ps;
    m.run_until(t + 10_000_000);
}
