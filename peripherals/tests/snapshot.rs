//! Whole-machine snapshots: restoring one and carrying on is the same run as never stopping.
//! LoPy4 r7 (both cores, PSRAM, the LoRa chip, a line typed at 2.5 s already scheduled) is
//! snapshotted mid-boot at a turn boundary and in the middle of a turn (a hook on the ROM's
//! memcpy); the restored machine writes the same UART0 bytes and LED frames, passes the same
//! checkpoints, and its own snapshot at the end is byte for byte the uninterrupted run's (the
//! encoding is canonical, so equal bytes are equal state). Another build's snapshot, a
//! damaged one and a file that is no snapshot are refused with an error, never a panic.

use test_support as support;

use peripherals::snapshot::SnapshotError;
use peripherals::{HostInput, Machine, MachineConfig, Stop};

const MS: u64 = 1_000_000_000;

fn board() -> Option<Machine> {
    let (image, board) = support::lopy4_r7_image()?;
    let flash = peripherals::flash::Flash::from_image(image);
    let mut m = Machine::new(images::rom::Rom::esp32(), flash, MachineConfig::for_board(&board, [0x30, 0xAE, 0xA4, 1, 2, 3])).unwrap();
    m.schedule_input(2500 * MS, HostInput::Uart { uart: 0, bytes: b"print(1+2)\r".to_vec() });
    m.power_on();
    Some(m)
}

/// Runs to `t` (stepping over memcpy hooks) and returns the UART0 bytes written meanwhile.
fn run_to(m: &mut Machine, t: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        match m.run_until(t) {
            Stop::Deadline => break,
            Stop::Hook { core, pc } => m.cores[core].step_over_hook(pc),
            s => panic!("unexpected stop {s:?}"),
        }
        out.append(&mut m.uart0_out);
    }
    out.append(&mut m.uart0_out);
    out
}

fn state(m: &Machine) -> (u64, [u64; 2], [u32; 2]) {
    (m.now_ps, [m.cores[0].instret, m.cores[1].instret], [m.cores[0].pc, m.cores[1].pc])
}

fn restore(bytes: &[u8]) -> Machine {
    Machine::restore(bytes).expect("restores").0
}

#[test]
fn restoring_a_snapshot_and_carrying_on_is_the_uninterrupted_run() {
    let Some(mut a) = board() else { return };
    let early = run_to(&mut a, 1200 * MS);
    let snap = a.snapshot(serde_json::json!({ "note": "mid-boot" }));
    assert!(snap.len() < 8 << 20, "snapshot of {} bytes", snap.len());
    let mut b = restore(&snap);
    assert_eq!(state(&b), state(&a));
    let mut tail = Vec::new();
    for t in [1500 * MS, 2000 * MS, 2600 * MS, 3000 * MS] {
        let (x, y) = (run_to(&mut a, t), run_to(&mut b, t));
        assert_eq!(String::from_utf8_lossy(&y), String::from_utf8_lossy(&x), "UART0 up to {t} ps");
        assert_eq!(state(&b), state(&a), "at {t} ps");
        tail.extend(x);
    }
    assert_eq!(b.led.frames, a.led.frames);
    assert_eq!(b.input_log, a.input_log);
    // The line scheduled before the snapshot was typed after it, and answered.
    assert!(a.input_log.iter().any(|(t, i)| *t >= 2500 * MS && matches!(i, HostInput::Uart { .. })), "{:?}", a.input_log);
    let all = String::from_utf8_lossy(&[early, tail].concat()).to_string();
    assert!(all.contains("print(1+2)\r\n3\r\n"), "{all}");
    // The whole state agrees, byte for byte.
    assert!(a.snapshot(serde_json::Value::Null) == b.snapshot(serde_json::Value::Null), "state differs at 3 s");
}

#[test]
fn a_snapshot_in_the_middle_of_a_turn_carries_on_exactly() {
    let Some(mut a) = board() else { return };
    let memcpy = a.rom.sym("memcpy").expect("memcpy in the ROM");
    a.add_hook(memcpy);
    // The 300th memcpy of the boot (the bootloader copies with it): the machine pauses there,
    // in the middle of a turn.
    let mut hits = 0;
    let stop = loop {
        match a.run_until(2000 * MS) {
            Stop::Hook { core, pc } if hits == 300 => break (core, pc),
            Stop::Hook { core, pc } => {
                hits += 1;
                a.cores[core].step_over_hook(pc);
            }
            s => panic!("{hits} memcpy calls before 2 s: {s:?}"),
        }
    };
    let mut b = restore(&a.snapshot(serde_json::Value::Null));
    assert!(b.is_hook(memcpy), "the hook is part of the snapshot");
    for m in [&mut a, &mut b] {
        m.cores[stop.0].step_over_hook(stop.1);
    }
    let (x, y) = (run_to(&mut a, 1600 * MS), run_to(&mut b, 1600 * MS));
    assert_eq!(y, x);
    assert_eq!(state(&b), state(&a));
    assert!(a.snapshot(serde_json::Value::Null) == b.snapshot(serde_json::Value::Null), "state differs");
}

#[test]
fn another_build_a_damaged_file_and_a_non_snapshot_are_refused() {
    let Some(mut a) = board() else { return };
    run_to(&mut a, 50 * MS);
    let snap = a.snapshot(serde_json::json!({}));
    let h = peripherals::snapshot::header(&snap).unwrap();
    assert_eq!(h.now_ps, a.now_ps);
    // Another build: its layout hash differs.
    let text = String::from_utf8_lossy(&snap).to_string();
    let at = text.find(peripherals::snapshot::LAYOUT).expect("layout in the header");
    let mut other = snap.clone();
    other[at] = if other[at] == b'0' { b'1' } else { b'0' };
    match Machine::restore(&other) {
        Err(e @ SnapshotError::OtherBuild { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("another pyemu build") && msg.contains(peripherals::snapshot::LAYOUT), "{msg}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("another build's snapshot restored"),
    }
    // Damaged anywhere in the body, truncated, or not a snapshot at all.
    let body = 12 + u32::from_le_bytes(snap[8..12].try_into().unwrap()) as usize;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..40 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut bad = snap.clone();
        let i = body + (rng as usize % (snap.len() - body));
        bad[i] ^= 1 << (rng >> 60 & 7);
        // A flipped bit may still decode to *a* machine; it must never panic.
        let _ = Machine::restore(&bad);
    }
    for cut in [13, body, body + 100, snap.len() - 1] {
        assert!(matches!(Machine::restore(&snap[..cut]), Err(SnapshotError::Damaged(_))), "cut at {cut}");
    }
    assert!(matches!(Machine::restore(b"PK\x03\x04 a zip file"), Err(SnapshotError::NotSnapshot)));
}
