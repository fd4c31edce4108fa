//! Pictures: a 4.5 s safe-boot hold drawn by `--plot` (PNG read back, and the SVG through
//! Debian's `rsvg-convert` when present) shows orange LED bands at the 500 ms and 250 ms
//! toggles, safe-boot windows 1 and 2 then the app in the boot row, and P12 high until 4.5 s;
//! `pyemu plot` draws the same from the VCD and `--json` outcome; the README's picture is
//! this run's (regenerated with PYEMU_UPDATE_DOCS=1 when the run changes).

use test_support as firmware;

use pyemu::plot::{Geometry, Timeline};
use resvg::tiny_skia::Pixmap;
use std::path::Path;

const QUIET: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";
const END_PS: u64 = 6_000_000_000_000;
const MS: u64 = 1_000_000_000;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Pixel (r, g, b) at (x, y).
fn px(p: &Pixmap, x: i32, y: u32) -> (u8, u8, u8) {
    let c = p.pixel(x as u32, y).unwrap().demultiply();
    (c.red(), c.green(), c.blue())
}

fn near(a: (u8, u8, u8), b: (u8, u8, u8)) -> bool {
    (a.0 as i32 - b.0 as i32).abs() < 24 && (a.1 as i32 - b.1 as i32).abs() < 24 && (a.2 as i32 - b.2 as i32).abs() < 24
}

/// The checks of the issue, on a picture of the run whose LED frames and app entry are given.
fn check(png: &Pixmap, frames: &[(u64, u32)], app_at: u64, what: &str) {
    // Only rows 0-2 are looked at: they do not depend on how many pins follow.
    let g = Geometry::new(&Timeline { end_ps: END_PS, pins: vec![pyemu::plot::PinTrace { name: String::new(), edges: vec![] }], ..Default::default() });
    let orange = (255, 104, 0);
    let (l0, l1) = g.rows[1];
    let ly = (l0 + l1) / 2 + 6;
    let mut seen = [0; 2];
    for w in frames.windows(2) {
        let ((a, c), (b, _)) = (w[0], w[1]);
        if c != 0x2c1200 {
            continue;
        }
        let period = b - a;
        let slot = if (period as i64 - 500 * MS as i64).abs() < 20 * MS as i64 {
            0
        } else if (period as i64 - 250 * MS as i64).abs() < 20 * MS as i64 {
            1
        } else {
            continue;
        };
        let x = g.x(a + period / 2);
        assert!(near(px(png, x, ly), orange), "{what}: orange band at {} ms: {:?}", (a + period / 2) / MS, px(png, x, ly));
        // And off in the half period after it.
        assert!(near(px(png, g.x(b + period / 2), ly), (0x1a, 0x1a, 0x1a)), "{what}: off after {} ms", b / MS);
        seen[slot] += 1;
    }
    assert!(seen[0] >= 3 && seen[1] >= 2, "{what}: orange bands at 500 ms / 250 ms toggles: {seen:?}");
    // Boot row: window 1 at 1 s, window 2 at 3.5 s, the app after the window.
    let (b0, b1) = g.rows[0];
    let by = b1 - 4;
    assert!(near(px(png, g.x(1000 * MS), by), (0xff, 0xcc, 0x80)), "{what}: window 1 at 1 s: {:?}", px(png, g.x(1000 * MS), by));
    assert!(near(px(png, g.x(3500 * MS), by), (0xff, 0x98, 0x00)), "{what}: window 2 at 3.5 s: {:?}", px(png, g.x(3500 * MS), by));
    assert!(near(px(png, g.x(app_at + 300 * MS), by), (0x43, 0xa0, 0x47)), "{what}: the app after the window");
    let _ = b0;
    // P12 (the first pin row: outside drives come first): high (line at the top) until
    // 4.5 s, then floating (light fill).
    let (p0, p1) = g.rows[2];
    let line = (0x15, 0x65, 0xc0);
    for t in [500 * MS, 2000 * MS, 4400 * MS] {
        let top = (p0 + 1..p0 + 5).map(|y| px(png, g.x(t), y)).any(|c| near(c, line));
        assert!(top, "{what}: P12 high at {} ms", t / MS);
    }
    assert!(near(px(png, g.x(5000 * MS), (p0 + p1) / 2), (0xbb, 0xde, 0xfb)), "{what}: P12 released (floating) at 5 s");
}

#[test]
fn a_safe_boot_hold_drawn_shows_the_windows_the_led_and_the_pin() {
    let Some(fw) = firmware::bundle_path("LoPy4-1.20.2.r7.tar.gz") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let o = firmware::run(&[
        s(&fw), "--hold", "P12=4.5s", "--config", QUIET, "--timeout", "6s", "--plot", s(&p("run.png")), "--plot", s(&p("run.svg")),
        "--vcd", s(&p("run.vcd")), "--json", "--led-trace", s(&p("led.csv")),
    ]);
    assert_eq!(o.status.code(), Some(42), "{}", firmware::text(&o.stderr));
    // UART0 output comes first on stdout, the outcome last.
    let out = firmware::text(&o.stdout);
    let json = &out[out.rfind("{\n  \"boot_mode\"").expect("the --json outcome")..];
    std::fs::write(p("run.json"), json).unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let events = v["boot_events"].as_array().unwrap();
    let app_at = events.iter().find(|e| e["event"] == "app").map(|e| (e["t_s"].as_f64().unwrap() * 1e12) as u64).expect("app entry");
    assert!(app_at > 4500 * MS && app_at < 5500 * MS, "app entry at {app_at}");
    assert_eq!(events.iter().find(|e| e["event"] == "app").unwrap()["image"], "factory");
    let frames: Vec<(u64, u32)> = std::fs::read_to_string(p("led.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (t, c) = l.split_once(',').unwrap();
            (t.parse::<u64>().unwrap() * 1000, u32::from_str_radix(&c[1..], 16).unwrap())
        })
        .collect();
    check(&Pixmap::load_png(p("run.png")).unwrap(), &frames, app_at, "--plot png");
    let svg = std::fs::read_to_string(p("run.svg")).unwrap();
    assert!(svg.contains("safe-boot window 1") && svg.contains("app (factory)") && svg.contains("P12 (held)"), "labels in the SVG");
    // The SVG as another renderer sees it.
    match std::process::Command::new("rsvg-convert").args(["-o", s(&p("rsvg.png")), s(&p("run.svg"))]).status() {
        Ok(st) if st.success() => check(&Pixmap::load_png(p("rsvg.png")).unwrap(), &frames, app_at, "rsvg-convert"),
        _ => firmware::tool_missing("the rsvg-convert check: rsvg-convert not installed (apt-get install librsvg2-bin)"),
    }
    // `pyemu plot` from the files the run wrote.
    let title = "LoPy4 1.20.2.r7: P12 held 4.5 s from power-on";
    let o = firmware::pyemu().args(["plot", s(&p("run.vcd")), s(&p("run.json")), "-o", s(&p("again.png")), "--title", title]).output().unwrap();
    assert!(o.status.success(), "{}", firmware::text(&o.stderr));
    check(&Pixmap::load_png(p("again.png")).unwrap(), &frames, app_at, "pyemu plot");
    // Bad input: a clear error.
    std::fs::write(p("junk.txt"), "hello").unwrap();
    let o = firmware::pyemu().args(["plot", s(&p("junk.txt")), "-o", s(&p("x.svg"))]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(firmware::text(&o.stderr).contains("junk.txt: not an LED trace, a VCD or a pyemu --json outcome"));

    // The README's picture is this run's.
    let o = firmware::pyemu().args(["plot", s(&p("run.vcd")), s(&p("run.json")), "-o", s(&p("readme.svg")), "--title", title]).output().unwrap();
    assert!(o.status.success());
    let fresh = std::fs::read(p("readme.svg")).unwrap();
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/safe-boot-4.5s.svg");
    if std::env::var("PYEMU_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&doc, &fresh).unwrap();
    }
    assert!(std::fs::read(&doc).ok() == Some(fresh), "{} is not this run's picture: run this test with PYEMU_UPDATE_DOCS=1 and commit it", doc.display());
}
