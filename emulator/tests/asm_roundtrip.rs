//! Disassembler → assembler round trip: for random instruction words, the text
//! `emulator::disasm` prints must assemble (with `emulator::asm`) back to the same bytes.

use emulator::{asm, decode, disasm, Op};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn disassembly_reassembles_to_the_same_bytes() {
    let mut rng = Rng(0xD15A);
    let mut per_op = std::collections::HashMap::new();
    for k in 0..300_000u32 {
        let w = rng.next() as u32 & 0xFF_FFFF;
        let pc = 0x4008_0000 + (k % 0x4000);
        let i = decode(w, pc);
        let len = i.len as usize;
        let text = disasm::disasm(&i, pc);
        let bytes = asm::assemble(&text, pc).unwrap_or_else(|e| panic!("{w:06x} at {pc:#x}: `{text}`: {e}"));
        assert_eq!(bytes, w.to_le_bytes()[..len], "{w:06x} at {pc:#x}: `{text}` ({:?})", i.op);
        *per_op.entry(i.op).or_insert(0u32) += 1;
    }
    // Every non-sentinel op that random words can reach was seen.
    assert!(per_op.len() > 180, "only {} distinct ops", per_op.len());
    assert!(per_op.contains_key(&Op::Illegal));
}
