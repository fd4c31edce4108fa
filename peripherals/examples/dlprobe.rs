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
    m.run_until(5_000_000_000);
    let pkt: Vec<u8> = [0xc0u8,0x00,0x08,0x24,0,0,0,0,0,0x07,0x07,0x12,0x20].iter().copied().chain(std::iter::repeat(0x55).take(32)).chain([0xc0]).collect();
    for round in 0..6 {
        m.uart0_input(&pkt);
        m.run_until(m.now_ps + 10_000_000_000);
        let sym = m.symbolize(m.cores[0].pc);
        let u = &mut m.soc.uart[0];
        let r = |u: &mut peripherals::uart::Uart, o| u.regs.get(o);
        println!("round {round}: out={} INT_ENA={:#x} CONF1={:#x} AUTOBAUD={:#x} CLKDIV={:#x} map34={} intenable={:#x} pending={:#x} ps={:#x} pc={:#x} {:?} rxq={}",
            m.uart0_out.len(), r(u,0x0C), r(u,0x24), r(u,0x18), r(u,0x14), m.soc.dport.map(0, 34), m.cores[0].intenable, m.cores[0].pending(), m.cores[0].ps, m.cores[0].pc, sym, u.rx_queued());
        println!("  buf={:02x?}", m.soc.peek(0x3ffc0000, 48));
        let s = String::from_utf8_lossy(&m.uart0_out).to_string();
        println!("  {:?} uart1_tx={:02x?}", &s[s.len().saturating_sub(80)..], &m.soc.uart[1].tx_out);
    }
}
