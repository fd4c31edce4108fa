fn main() {
    let rom = images::rom::Rom::esp32();
    let img = rom.image();
    let args: Vec<String> = std::env::args().collect();
    let start = u32::from_str_radix(args[1].trim_start_matches("0x"), 16).unwrap();
    let n: usize = args[2].parse().unwrap();
    let mut pc = start;
    for _ in 0..n {
        let o = (pc - 0x4000_0000) as usize;
        let w = u32::from_le_bytes([img[o], img[o+1], img[o+2], img.get(o+3).copied().unwrap_or(0)]);
        let i = emulator::decode(w, pc);
        println!("{pc:#x} {:?} r={} s={} t={} imm={:#x} {}", i.op, i.r, i.s, i.t, i.imm, rom.symbols.describe(pc).unwrap_or_default());
        pc += i.len as u32;
    }
}
