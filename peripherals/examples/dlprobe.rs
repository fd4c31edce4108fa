//! Scratch probe: boots the ROM's download mode, sends loader packets and decodes replies.
use peripherals::efuse::EfuseConfig;
use peripherals::flash::Flash;
use peripherals::gpio::Drive;
use peripherals::{Machine, MachineConfig};

fn slip(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xC0];
    for &b in payload {
        match b {
            0xC0 => v.extend([0xDB, 0xDC]),
            0xDB => v.extend([0xDB, 0xDD]),
            _ => v.push(b),
        }
    }
    v.push(0xC0);
    v
}

fn cmd(op: u8, data: &[u8], chk: u32) -> Vec<u8> {
    let mut p = vec![0, op];
    p.extend((data.len() as u16).to_le_bytes());
    p.extend(chk.to_le_bytes());
    p.extend(data);
    slip(&p)
}

fn frames(out: &[u8]) -> Vec<String> {
    out.split(|&b| b == 0xC0).filter(|f| !f.is_empty()).map(|f| f.iter().map(|b| format!("{b:02x}")).collect()).collect()
}

fn main() {
    let img = std::fs::read("/tmp/lopy4.img").unwrap();
    let mut flash = Flash::new_in_memory(img.len() as u32);
    flash.load(0, &img);
    let cfg = MachineConfig { efuse: EfuseConfig { mac: [0x30, 0xAE, 0xA4, 1, 2, 3], revision: 1 }, strict: false, seed: 1, psram_size: 0, radio: None, lte: None, timing: Default::default() };
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, cfg).unwrap();
    m.set_drive(0, Drive::Low);
    m.power_on();
    m.run_until(300_000_000_000);
    m.uart0_out.clear();
    let mut sync = vec![7u8, 7, 0x12, 0x20];
    sync.extend([0x55; 32]);
    let steps: Vec<(&str, Vec<u8>)> = vec![
        ("sync1", cmd(8, &sync, 0)),
        ("sync2", cmd(8, &sync, 0)),
        ("sync3", cmd(8, &sync, 0)),
        ("secinfo", cmd(0x14, &[], 0)),
        ("read_reg", cmd(0x0A, &0x4000_1000u32.to_le_bytes(), 0)),
    ];
    for (name, pkt) in steps {
        m.uart0_input(&pkt);
        m.run_until(m.now_ps + 100_000_000_000);
        let out = std::mem::take(&mut m.uart0_out);
        println!("{name}: {:?}", frames(&out));
    }
}
