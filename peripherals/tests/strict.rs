//! `--strict`: the first access to an unmodelled register stops the run with a report that
//! says what the instruction did (a load reads, a store writes its value) and names the
//! instruction that did it, not the one after.

use emulator::asm::assemble;
use images::rom::Rom;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig, Stop};

const CODE: u32 = 0x4008_0000;
/// LEDC: no model at all, so every register in it is unmodelled.
const LEDC: u32 = 0x3FF5_9000;

/// Runs `body` (after a2 = LEDC, a3 = 0x1234_5678) under strict; the stop and the address
/// of the instruction tagged `here:`.
fn run(body: &str) -> (Stop, u32) {
    let src = format!(
        "
        .word {LEDC}
        .word 0x12345678
    start:
        l32r a2, {CODE}
        l32r a3, {w1}
        nop
{body}
    done:
        j done
    ",
        w1 = CODE + 4
    );
    let code = assemble(&src, CODE).unwrap();
    let mut m = Machine::new(Rom::esp32(), Flash::new_in_memory(4 << 20), MachineConfig { strict: true, ..MachineConfig::default() }).unwrap();
    m.power_on();
    m.soc.load(CODE, &code).unwrap();
    m.cores[0].pc = CODE + 8;
    m.cores[0].ps = 0x0F;
    let stop = m.run_until(100_000_000);
    // `here` is the fourth instruction: two L32R and a NOP (3 bytes each) before it.
    (stop, CODE + 8 + 9)
}

fn report(stop: Stop) -> peripherals::Report {
    match stop {
        Stop::Unmodelled(r) => r,
        s => panic!("expected an unmodelled-register stop, got {s:?}"),
    }
}

#[test]
fn a_word_store_is_reported_as_a_write_at_its_own_pc() {
    let (stop, here) = run("        s32i a3, a2, 0x24\n");
    let r = report(stop);
    assert!(r.write, "{r}");
    assert_eq!((r.addr, r.value, r.pc), (LEDC + 0x24, 0x1234_5678, here), "{r}");
    let text = r.to_string();
    assert!(text.contains("write of 0x12345678 to"), "{text}");
    assert!(text.contains(&format!("pc {here:#010x}")), "{text}");
}

#[test]
fn a_byte_store_is_reported_as_a_write_at_its_own_pc() {
    let (stop, here) = run("        s8i a3, a2, 0x25\n");
    let r = report(stop);
    assert!(r.write, "{r}");
    // The register word as the store leaves it: the byte in lane 1, the rest as it was.
    assert_eq!((r.addr, r.value, r.pc), (LEDC + 0x24, 0x7800, here), "{r}");
}

#[test]
fn a_halfword_store_is_reported_as_a_write_at_its_own_pc() {
    let (stop, here) = run("        s16i a3, a2, 0x26\n");
    let r = report(stop);
    assert!(r.write, "{r}");
    assert_eq!((r.addr, r.value, r.pc), (LEDC + 0x24, 0x5678_0000, here), "{r}");
}

#[test]
fn a_load_is_reported_as_a_read_at_its_own_pc() {
    let (stop, here) = run("        l32i a4, a2, 0x30\n");
    let r = report(stop);
    assert!(!r.write, "{r}");
    assert_eq!((r.addr, r.pc), (LEDC + 0x30, here), "{r}");
    assert!(r.to_string().contains("read of"), "{r}");
}

/// A store inside a ROM routine: the report names the routine, and its PC is that of a
/// store instruction in it.
#[test]
fn a_store_in_a_rom_routine_names_the_routine() {
    let rom = Rom::esp32();
    let memset = rom.sym("memset").expect("memset in the ROM");
    let src = format!(
        "
        .word {LEDC}
        .word {memset}
        .word 0x3FFC8000
    start:
        l32r a10, {CODE}
        l32r a8, {w1}
        l32r a1, {w2}
        movi a11, 0x5A
        movi a12, 8
        callx8 a8
    done:
        j done
    ",
        w1 = CODE + 4,
        w2 = CODE + 8
    );
    let mut m = Machine::new(rom, Flash::new_in_memory(4 << 20), MachineConfig { strict: true, ..MachineConfig::default() }).unwrap();
    m.power_on();
    m.soc.load(CODE, &assemble(&src, CODE).unwrap()).unwrap();
    m.cores[0].pc = CODE + 12;
    // Windowed calls on (WOE), CALLINC and INTLEVEL as the ROM expects them.
    m.cores[0].ps = 0x0004_000F;
    let r = report(m.run_until(100_000_000));
    assert!(r.write, "{r}");
    assert!(r.symbol.as_deref().is_some_and(|s| s.starts_with("memset+")), "{r}");
    let word = m.soc.peek(r.pc, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let insn = emulator::decode(word.unwrap_or(0), r.pc);
    assert!(matches!(insn.op, emulator::Op::S8i | emulator::Op::S16i | emulator::Op::S32i | emulator::Op::S32iN), "{:?} at {:#x}: {r}", insn.op, r.pc);
    assert!(r.to_string().contains(&format!("at pc {:#010x} (memset+", r.pc)), "{r}");
    println!("{r}");
}

/// UART0 CONF0 (TRM "UART Registers"): LOOPBACK (bit 14) and the line inversions (bits
/// 19..24) are stored but not modelled, so setting them is reported, once per field.
const UART0_CONF0: u32 = 0x3FF4_0020;
const CONF0_RESET: u32 = 0x0800_001C;
const LOOPBACK: u32 = 1 << 14;
const TXD_INV: u32 = 1 << 22;

/// Three stores to UART0 CONF0: LOOPBACK set, the same again, then TXD_INV set; the
/// machine and the PCs of the stores.
fn unmodelled_bits(strict: bool) -> (Machine, [u32; 3]) {
    let src = format!(
        "
        .word {UART0_CONF0}
        .word {loopback}
        .word {inverted}
    start:
        l32r a2, {CODE}
        l32r a3, {w1}
        l32r a4, {w2}
        s32i a3, a2, 0
        s32i a3, a2, 0
        s32i a4, a2, 0
    done:
        j done
    ",
        loopback = CONF0_RESET | LOOPBACK,
        inverted = CONF0_RESET | LOOPBACK | TXD_INV,
        w1 = CODE + 4,
        w2 = CODE + 8
    );
    let mut m = Machine::new(Rom::esp32(), Flash::new_in_memory(4 << 20), MachineConfig { strict, ..MachineConfig::default() }).unwrap();
    m.power_on();
    m.soc.load(CODE, &assemble(&src, CODE).unwrap()).unwrap();
    m.cores[0].pc = CODE + 12;
    m.cores[0].ps = 0x0F;
    // Three L32R (3 bytes each) before the first store.
    let first = CODE + 12 + 9;
    (m, [first, first + 3, first + 6])
}

#[test]
fn setting_an_unmodelled_field_is_reported_once_per_field_at_its_own_pc() {
    let (mut m, pcs) = unmodelled_bits(true);
    let r = report(m.run_until(100_000_000));
    let bits = r.bits.clone().expect("a report of bits, not of a register");
    assert_eq!((r.addr, r.value, r.pc, r.block), (UART0_CONF0, CONF0_RESET | LOOPBACK, pcs[0], "UART0"), "{r}");
    assert_eq!((bits.register, bits.field.as_deref(), bits.mask), ("CONF0", Some("LOOPBACK"), LOOPBACK), "{r}");
    let text = r.to_string();
    assert!(text.contains("unmodelled field LOOPBACK") && text.contains(&format!("pc {:#010x}", pcs[0])), "{text}");
    // Resumed, the store goes through; storing the same field again is not reported, the
    // next field is, at the third store.
    let r = report(m.run_until(200_000_000));
    assert_eq!((r.pc, r.bits.as_ref().and_then(|b| b.field.as_deref())), (pcs[2], Some("INV")), "{r}");
    assert_eq!(m.reports.len(), 2);
    let s = m.run_until(300_000_000);
    assert!(!matches!(s, Stop::Unmodelled(_)), "nothing more to report: {s:?}");
    assert_eq!(m.soc.uart[0].regs.get(0x20), CONF0_RESET | LOOPBACK | TXD_INV, "every store landed, once");
}

#[test]
fn without_strict_unmodelled_fields_are_listed_and_the_run_goes_on() {
    let (mut m, pcs) = unmodelled_bits(false);
    let s = m.run_until(100_000_000);
    assert!(!matches!(s, Stop::Unmodelled(_)), "{s:?}");
    let fields: Vec<_> = m.reports.iter().map(|r| (r.pc, r.bits.as_ref().and_then(|b| b.field.clone()))).collect();
    assert_eq!(fields, [(pcs[0], Some("LOOPBACK".to_string())), (pcs[2], Some("INV".to_string()))]);
    assert_eq!(m.soc.uart[0].regs.get(0x20), CONF0_RESET | LOOPBACK | TXD_INV);
}
