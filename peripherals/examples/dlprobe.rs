//! Scratch probe: boots the ROM's download mode, sends SYNC packets and dumps state.
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use peripherals::{Machine, MachineConfig};
fn main() {
    let img = std::fs::read("/tmp/lopy4.img").unwrap();
    let mut flash = Flash::new_in_memory(img.len() as u32);
    flash.load(0, &img);
    let cfg = MachineConfig { efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 1, 2, 3], revision: 1 }, strict: false, seed: 1 };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).unwrap();
    m.set_drive(0, Drive::Low);
    m.power_on();
    for a in [0x40008f44u32, 0x40008f48, 0x40008584, 0x40008fcc, 0x40003794, 0x40008720] {
        let w = m.soc.peek(a, 4).unwrap();
        println!("{a:08x}: {:08x}", u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    m.run_until(500_000_000_000);
    println!("t={} instr={}", m.now_ps, m.cores[0].instret);
    let pkt: Vec<u8> = [0xc0u8, 0x00, 0x08, 0x24, 0, 0, 0, 0, 0, 0x07, 0x07, 0x12, 0x20]
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0x55, 32))
        .chain([0xc0])
        .collect();
    for round in 0..4 {
        m.uart0_input(&pkt);
        if round == 0 && std::env::var_os("TRACE").is_some() {
            let rom = images::rom::Rom::esp32();
            m.cores[0].tracer = Some(Box::new(move |_c, pc, _i| {
                eprintln!("{pc:08x} {}", rom.symbols.describe(pc).unwrap_or_default());
            }));
            m.run_until(m.now_ps + 1_000_000_000);
            m.cores[0].tracer = None;
        }
        m.run_until(m.now_ps + 100_000_000_000);
        let sym = m.symbolize(m.cores[0].pc);
        println!("round {round}: t={} instr={} pc={:?} out={}", m.now_ps, m.cores[0].instret, sym, m.uart0_out.len());
        println!("  dev={:02x?}", m.soc.peek(0x3ffe019c, 60));
        println!("  rb={:02x?}", m.soc.peek(0x3ffe009c, 256));
        let s = String::from_utf8_lossy(&m.uart0_out).to_string();
        println!("  {:?} uart1_tx={:02x?}", &s[s.len().saturating_sub(40)..], &m.soc.uart[1].tx_out);
    }
}
