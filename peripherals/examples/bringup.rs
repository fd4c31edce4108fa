//! Development aid: power on with a flash image and print UART0 for a virtual time.
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig, Stop};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let img = std::fs::read(&args[1]).unwrap();
    let ms: u64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(500);
    let mut flash = Flash::new_in_memory(img.len() as u32);
    flash.load(0, &img);
    let cfg = MachineConfig { efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 1, 2, 3], revision: 1 }, strict: false, seed: 1, psram_size: 4 << 20, radio: None, lte: None, timing: Default::default() };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).unwrap();
    m.power_on();
    let t = std::time::Instant::now();
    let stop = m.run_until(ms * 1_000_000_000);
    let out = String::from_utf8_lossy(&m.uart0_out);
    println!("{out}");
    eprintln!("stop={stop:?} pc={:#x} sym={:?} wall={:?} instr={} cpu_hz={}", m.cores[0].pc, m.symbolize(m.cores[0].pc), t.elapsed(), m.cores[0].instret, m.soc.cpu_hz);
    for r in &m.reports { eprintln!("{r}"); }
    let _ = Stop::Deadline;
}
