//! Both cores exchanging flags through shared RAM, the way ESP-IDF's DPORT-stall and IPC
//! handshakes do. The requester re-clears the acknowledge flag a few instructions after
//! setting it, so a host that let one core run a long turn alone would hide the short
//! window from the other core and deadlock both, although silicon never does.

use emulator::asm::assemble;
use images::rom::Rom;
use peripherals::dport;
use peripherals::flash::Flash;
use peripherals::{Machine, MachineConfig};

const FLAGS: u32 = 0x3FFC_0000; // start, end, req, rounds
const CORE0: u32 = 0x4008_0000;
const CORE1: u32 = 0x4008_1000;
const ROUNDS: u32 = 2000;

fn machine() -> Machine {
    let mut m = Machine::new(Rom::esp32(), Flash::new_in_memory(4 << 20), MachineConfig::default()).unwrap();
    m.power_on();
    let core0 = format!(
        "
        .word {FLAGS}
        .word {ROUNDS}
    start:
        l32r a2, {CORE0}
        l32r a6, {r}
        movi a3, 0
    round:
        movi a4, 0
        s32i a4, a2, 0      # start = 0
        s32i a4, a2, 4      # end = 0
        movi a4, 1
        s32i a4, a2, 8      # req = 1 (the 'interrupt')
    wait_start:
        l32i a5, a2, 0
        beqz a5, wait_start
        s32i a4, a2, 4      # end = 1 ... and a few instructions later end = 0 again
        addi a3, a3, 1
        s32i a3, a2, 12
        blt a3, a6, round
    done:
        j done
    ",
        r = CORE0 + 4
    );
    let core1 = format!(
        "
        .word {FLAGS}
    start:
        l32r a2, {CORE1}
    wait_req:
        l32i a5, a2, 8
        beqz a5, wait_req
        movi a4, 0
        s32i a4, a2, 8      # req = 0
        movi a4, 1
        s32i a4, a2, 0      # start = 1
    wait_end:
        l32i a5, a2, 4
        beqz a5, wait_end
        j wait_req
    "
    );
    m.soc.load(CORE0, &assemble(&core0, CORE0).unwrap()).unwrap();
    m.soc.load(CORE1, &assemble(&core1, CORE1).unwrap()).unwrap();
    // The PRO core starts at our code; the APP core is released through DPORT and boots
    // through the ROM's APP-CPU path to the address `ets_set_appcpu_boot_addr` stores.
    m.cores[0].pc = CORE0 + 8;
    m.cores[0].ps = 0x0F;
    m.soc.dport.regs.set(dport::APPCPU_CTRL_D, CORE1 + 4);
    m.soc.dport.regs.set(dport::APPCPU_CTRL_B, 1);
    m.soc.dport.regs.set(dport::APPCPU_CTRL_C, 0);
    m.soc.dport.regs.set(dport::APPCPU_CTRL_A, 0);
    m
}

fn rounds(m: &Machine) -> u32 {
    let b = m.soc.peek(FLAGS + 12, 4).unwrap();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[test]
fn tight_flag_handshake_between_the_cores_never_deadlocks() {
    let mut m = machine();
    // Generous virtual time: each round takes well under a microsecond on silicon.
    let mut t = 0;
    while rounds(&m) < ROUNDS && t < 200 {
        t += 1;
        m.run_until(t * 1_000_000_000);
    }
    assert_eq!(rounds(&m), ROUNDS, "handshake stalled after {} rounds (pc0 {:#x}, pc1 {:#x})", rounds(&m), m.cores[0].pc, m.cores[1].pc);
    assert!(m.now_ps < 20_000_000_000, "{ROUNDS} rounds took {} ps of virtual time", m.now_ps);
}

#[test]
fn the_handshake_is_deterministic() {
    let run = || {
        let mut m = machine();
        m.run_until(3_000_000_000);
        (rounds(&m), m.cores[0].cycles, m.cores[1].cycles, m.cores[0].pc, m.cores[1].pc)
    };
    assert_eq!(run(), run());
}
