//! Pins driven from outside: names, contention with the chip's outputs, and the VCD trace.

use test_support as firmware;

use serde_json::Value;

const R7_ENTRY: &str = "0x4008161c";

fn run_json(args: &[&str]) -> (Value, String) {
    let out = firmware::run(args);
    let stdout = firmware::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", firmware::text(&out.stderr));
    let json_start = stdout.find("\n{").map(|i| i + 1).unwrap_or(0);
    (serde_json::from_str(&stdout[json_start..]).expect("outcome JSON"), firmware::text(&out.stderr))
}

#[test]
fn an_outside_drive_against_an_output_is_reported_and_the_output_wins() {
    let Some(bundle) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    // P2 (GPIO0) held high: a normal strap, but then the bootloader drives it low as the LED's
    // data line. The chip's output wins (the LED still decodes its black frame).
    let (o, _) = run_json(&[
        bundle.to_str().unwrap(),
        "--hold",
        "P2=high",
        "--timeout",
        "2s",
        "--stop-at",
        R7_ENTRY,
        "--json",
        "--log",
        "error",
    ]);
    let c = o["pin_contention"].as_array().unwrap();
    assert!(c.iter().any(|s| s.as_str().unwrap().starts_with("GPIO0 ")), "contention on GPIO0 reported: {c:?}");
    assert_eq!(o["led_frames"][0]["color"], "#000000");
    assert_eq!(o["boot_mode"], "normal");
}

#[test]
fn the_vcd_has_the_led_pin_the_outside_drive_and_the_led_colour() {
    let Some(bundle) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let vcd = dir.path().join("run.vcd");
    let out = firmware::run(&[
        bundle.to_str().unwrap(),
        "--hold",
        "P12=1.0s",
        "--timeout",
        "2s",
        "--stop-at",
        R7_ENTRY,
        "--vcd",
        vcd.to_str().unwrap(),
        "-q",
        "--log",
        "error",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.contains("$timescale 1ns $end"));
    assert!(text.contains("gpio0 $end"), "LED data pin declared");
    assert!(text.contains("ext_gpio21 $end"), "the P12 hold declared");
    assert!(text.contains("$var wire 24 led led_rgb $end"));
    // The orange frame 0x2C1200, as a binary vector value.
    assert!(text.contains(&format!("b{:b} led", 0x2C1200)), "orange LED frame in the VCD");
    // The hold: high from 0, released (z) at 1 s = 1_000_000_000 ns.
    let release = text.find("#1000000000\n").expect("a timestamp at the release");
    assert!(text[release..].lines().nth(1).unwrap().contains("zx21") || text[release..].contains("zx21"));
    // Timestamps never go backwards.
    let mut last = 0u64;
    for l in text.lines().filter(|l| l.starts_with('#')) {
        let t: u64 = l[1..].parse().unwrap();
        assert!(t >= last, "time goes backwards at {l}");
        last = t;
    }
}

#[test]
fn led_trace_csv_lists_frames_in_time_order() {
    let Some(bundle) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("led.csv");
    let out = firmware::run(&[
        bundle.to_str().unwrap(),
        "--hold",
        "P12=1.0s",
        "--timeout",
        "2s",
        "--stop-at",
        R7_ENTRY,
        "--led-trace",
        csv.to_str().unwrap(),
        "-q",
        "--log",
        "error",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("t_ns,color"));
    let rows: Vec<(u64, String)> = lines
        .map(|l| {
            let (t, c) = l.split_once(',').unwrap();
            (t.parse().unwrap(), c.to_string())
        })
        .collect();
    assert_eq!(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["#000000", "#2c1200", "#000000", "#000000"]);
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
}
