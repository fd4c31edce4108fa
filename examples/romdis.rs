//! Disassembles a range of the ESP32 mask ROM with symbols: `romdis ADDR|SYMBOL [COUNT]`.
fn main() {
    let rom = images::rom::Rom::esp32();
    let img = rom.image();
    let args: Vec<String> = std::env::args().collect();
    let Some(what) = args.get(1) else {
        eprintln!("usage: romdis ADDR|SYMBOL [COUNT]");
        std::process::exit(2);
    };
    let start = match what.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).expect("hex address"),
        None => rom.sym(what).unwrap_or_else(|| {
            eprintln!("no ROM symbol `{what}`");
            std::process::exit(2)
        }),
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let mut pc = start;
    for _ in 0..n {
        let Some(o) = pc.checked_sub(images::rom::ROM_BASE).map(|o| o as usize) else { break };
        let Some(bytes) = img.get(o..(o + 4).min(img.len())) else { break };
        let (text, len) = emulator::disasm::disasm_bytes(bytes, pc);
        println!("{pc:08x} <{}> {text}", rom.symbols.describe(pc).unwrap_or_default());
        pc += len.max(1) as u32;
    }
}
