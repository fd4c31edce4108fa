//! The flash cache's timing through the real SoC: code and constants read through the
//! cache cost a line fill the first time (as long as SPI0 takes to read 32 bytes at its
//! configured clock and mode) and nothing once cached; DPORT's FLUSH_ENA empties it.

use emulator::asm::assemble;
use images::rom::Rom;
use peripherals::cache_timing::Target;
use peripherals::dport;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};

const DRIVER: u32 = 0x4008_0000; // IRAM: not cached
const RESULTS: u32 = 0x3FFC_0000;
const IROM: u32 = 0x400D_0000; // flash page 1 through the PRO cache's MMU
const DROM: u32 = 0x3F40_0000; // flash page 2
/// 40 three-byte NOPs and a RET: 123 bytes from a line start, four 32-byte lines.
const NOPS: usize = 40;

fn machine(flush_between: bool) -> Machine {
    let mut flash = Flash::new_in_memory(4 << 20);
    let body = format!("{}        ret\n", "        nop\n".repeat(NOPS));
    flash.load(0x1_0000, &assemble(&body, IROM).unwrap());
    flash.load(0x2_0000, &0x1234_5678u32.to_le_bytes());
    let mut m = Machine::new(Rom::esp32(), flash, MachineConfig::default()).unwrap();
    m.power_on();
    m.soc.dport.mmu[0][64 + ((IROM - 0x4000_0000) >> 16) as usize] = 1;
    m.soc.dport.mmu[0][((DROM - 0x3F40_0000) >> 16) as usize] = 2;
    m.soc.dport.regs.set(dport::PRO_CACHE_CTRL, 1 << 3);
    let flush = if flush_between {
        // The ROM's Cache_Flush: FLUSH_ENA with the cache still enabled.
        "        movi a9, 0x18\n        s32i a9, a8, 0\n"
    } else {
        ""
    };
    let driver = format!(
        "
        .word {RESULTS}
        .word {IROM}
        .word {DROM}
        .word 0x3FF00040
    start:
        l32r a10, {DRIVER}
        l32r a11, {w1}
        l32r a12, {w2}
        l32r a8, {w3}
        rsr a2, ccount
        callx0 a11
        rsr a3, ccount
{flush}        callx0 a11
        rsr a4, ccount
        l32i a13, a12, 0
        rsr a5, ccount
        l32i a13, a12, 0
        rsr a6, ccount
        s32i a2, a10, 0
        s32i a3, a10, 4
        s32i a4, a10, 8
        s32i a5, a10, 12
        s32i a6, a10, 16
        s32i a13, a10, 20
    done:
        j done
    ",
        w1 = DRIVER + 4,
        w2 = DRIVER + 8,
        w3 = DRIVER + 12,
    );
    m.soc.load(DRIVER, &assemble(&driver, DRIVER).unwrap()).unwrap();
    m.cores[0].pc = DRIVER + 16;
    m.cores[0].ps = 0x0F;
    m
}

fn results(m: &mut Machine) -> [u32; 6] {
    m.run_until(2_000_000_000);
    let b = m.soc.peek(RESULTS, 24).unwrap();
    std::array::from_fn(|i| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap()))
}

#[test]
fn a_line_costs_one_spi_read_the_first_time_only() {
    let mut m = machine(false);
    let fill = m.soc.fill_cycles(Target::Flash);
    // Reset SPI0 setup: plain READ (8 command + 24 address clocks, 256 data clocks) at
    // APB = XTAL = CPU = 40 MHz, plus the controller's overhead.
    assert!((292..=300).contains(&fill), "fill {fill} cycles");
    let [t0, t1, t2, t3, t4, word] = results(&mut m);
    let (cold, warm) = (t1 - t0, t2 - t1);
    assert_eq!(cold - warm, 4 * fill as u32, "four lines filled on the first call (cold {cold}, warm {warm})");
    assert!(warm < 50, "a cached call costs its instructions only: {warm}");
    assert_eq!(word, 0x1234_5678);
    // Data: the first load of a DROM line pays a fill (charged before the next line change
    // or event), the second is a hit.
    assert!(t3 - t2 >= fill as u32, "first DROM load {}", t3 - t2);
    assert!(t4 - t3 < 10, "second DROM load {}", t4 - t3);
}

#[test]
fn flush_ena_empties_the_cache() {
    let mut m = machine(true);
    let fill = m.soc.fill_cycles(Target::Flash) as u32;
    let [t0, t1, t2, ..] = results(&mut m);
    assert!(t2 - t1 >= 4 * fill, "after a flush the code is fetched again: {} vs first {}", t2 - t1, t1 - t0);
}

#[test]
fn without_cache_timing_every_access_is_a_hit() {
    let mut m = machine(false);
    m.set_cache_timing(false);
    let [t0, t1, t2, ..] = results(&mut m);
    assert_eq!(t1 - t0, t2 - t1);
}
