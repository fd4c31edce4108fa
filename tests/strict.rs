//! `pyemu run --strict` through the binary: a guest write that sets a register field pyemu
//! stores but does not model stops the run (exit 1), naming the block, register, field and
//! PC; the firmware's own boot sets none.

use test_support as firmware;

const QUIET_RADIOS: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";

#[test]
fn setting_an_unmodelled_field_from_micropython_stops_a_strict_run() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    // UART2 CONF0 (0x3FF6_E020) bit 14 LOOPBACK: stored, not modelled. The boot before the
    // prompt is --strict clean, so the only report is this write.
    let code = "import machine\nmachine.mem32[0x3FF6E020] = machine.mem32[0x3FF6E020] | (1 << 14)\nprint('not reached')";
    let o = firmware::run(&[fw.to_str().unwrap(), "--config", QUIET_RADIOS, "--strict", "--exec", code, "-q"]);
    let err = firmware::text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!firmware::text(&o.stdout).contains("not reached"), "the run stopped at the write");
    let line = err.lines().find(|l| l.starts_with("pyemu: --strict: ")).unwrap_or_else(|| panic!("no --strict report:\n{err}"));
    assert!(
        line.contains("unmodelled field LOOPBACK (bits 0x00004000): write of 0x0800401c to UART2 CONF0 +0x020 (0x3ff6e020)")
            && line.contains(" at pc 0x"),
        "{line}"
    );
}
