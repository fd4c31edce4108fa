//! Pictures of a run: the boot as labelled phases (ROM, bootloader, each safe-boot window,
//! the app), the RGB LED as colour bands and every pin that changed as a logic trace, over
//! virtual time, with resets, power cuts and the first `>>> ` marked. Drawn as SVG with
//! `plotters` (text stays text: no font files needed, zoomable); PNG is that SVG rasterised
//! by `resvg`. An opaque white background keeps it readable in dark and light viewers.
//!
//! The picture is a pure function of a [`Timeline`], which comes from a live run
//! ([`Timeline::of`]) or from files a run wrote (`--led-trace`, `--vcd`, `--json`:
//! [`Timeline::from_files`]).

use crate::session::BootEvent;
use anyhow::{bail, Context};
use peripherals::gpio::Drive;
use peripherals::Machine;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A pin's level as drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    Low,
    High,
    Float,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PinTrace {
    /// `P12 (held)` for an outside drive, `P2 out` for what the firmware drove.
    pub name: String,
    pub edges: Vec<(u64, Level)>,
}

/// Everything a picture shows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timeline {
    pub end_ps: u64,
    /// LED frames: (time, 0xRRGGBB).
    pub led: Vec<(u64, u32)>,
    /// Outside drives first, then the firmware's outputs, each by GPIO number.
    pub pins: Vec<PinTrace>,
    pub events: Vec<(u64, BootEvent)>,
}

/// A labelled span of the boot.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub start_ps: u64,
    pub end_ps: u64,
    pub label: String,
    pub color: RGBColor,
}

const ROM: RGBColor = RGBColor(0x9e, 0x9e, 0x9e);
const BOOTLOADER: RGBColor = RGBColor(0x7e, 0x57, 0xc2);
const WINDOWS: [RGBColor; 3] = [RGBColor(0xff, 0xcc, 0x80), RGBColor(0xff, 0x98, 0x00), RGBColor(0xe6, 0x51, 0x00)];
pub const APP: RGBColor = RGBColor(0x43, 0xa0, 0x47);
const OFF: RGBColor = RGBColor(0x42, 0x42, 0x42);
const LED_OFF: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
const MARK: RGBColor = RGBColor(0xd3, 0x2f, 0x2f);

fn level_of(d: Drive) -> Level {
    match d {
        Drive::High => Level::High,
        Drive::Low => Level::Low,
        Drive::Float => Level::Float,
    }
}

fn pin_name(g: u8) -> String {
    peripherals::board::name_of(g).map(str::to_string).unwrap_or_else(|| format!("GPIO{g}"))
}

impl Timeline {
    /// What `m` went through (its pin history needs `record_pins`), with the session's events.
    pub fn of(m: &Machine, events: &[(u64, BootEvent)]) -> Timeline {
        let mut pins = Vec::new();
        let mut driven: Vec<u8> = m.drive_trace.iter().map(|d| d.1).collect();
        driven.sort_unstable();
        driven.dedup();
        for g in driven {
            let edges = m.drive_trace.iter().filter(|d| d.1 == g).map(|d| (d.0, level_of(d.2))).collect();
            pins.push(PinTrace { name: format!("{} (held)", pin_name(g)), edges });
        }
        let mut outs: Vec<u8> = m.pin_trace.iter().map(|p| p.1).collect();
        outs.sort_unstable();
        outs.dedup();
        for g in outs {
            let mut edges = vec![(0, Level::Low)];
            edges.extend(m.pin_trace.iter().filter(|p| p.1 == g).map(|p| (p.0, if p.2 { Level::High } else { Level::Low })));
            pins.push(PinTrace { name: format!("{} out", pin_name(g)), edges });
        }
        Timeline { end_ps: m.now_ps, led: m.led.frames.iter().map(|f| (f.t_ps, f.rgb)).collect(), pins, events: events.to_vec() }
    }

    /// A timeline from files a run wrote: LED traces (CSV or JSON), VCDs and `--json`
    /// outcomes, in any number and order.
    pub fn from_files(paths: &[std::path::PathBuf]) -> anyhow::Result<Timeline> {
        let mut t = Timeline::default();
        for p in paths {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
            let what = |e: anyhow::Error| e.context(format!("{}", p.display()));
            if text.trim_start().starts_with('$') {
                read_vcd(&text, &mut t).map_err(what)?;
            } else if text.trim_start().starts_with('[') || text.trim_start().starts_with('{') {
                read_json(&text, &mut t).map_err(what)?;
            } else if text.starts_with("t_ns,color") {
                for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
                    let (ns, c) = line.split_once(',').with_context(|| format!("{}:{}: expected t_ns,color", p.display(), i + 1))?;
                    let ns: u64 = ns.trim().parse().with_context(|| format!("{}:{}: time `{ns}`", p.display(), i + 1))?;
                    let rgb = u32::from_str_radix(c.trim().trim_start_matches('#'), 16).with_context(|| format!("{}:{}: colour `{c}`", p.display(), i + 1))?;
                    t.led.push((ns * 1000, rgb));
                }
            } else {
                bail!("{}: not an LED trace, a VCD or a pyemu --json outcome", p.display());
            }
        }
        // The same frame may come from two files (a VCD in ns, an outcome in float seconds).
        t.led.sort_by_key(|f| f.0);
        t.led.dedup_by(|b, a| b.1 == a.1 && b.0 - a.0 < 1_000_000);
        t.events.sort_by_key(|e| e.0);
        let last = t.led.iter().map(|f| f.0).chain(t.events.iter().map(|e| e.0)).chain(t.pins.iter().flat_map(|p| p.edges.iter().map(|e| e.0))).max();
        t.end_ps = t.end_ps.max(last.unwrap_or(0));
        if t.end_ps == 0 {
            bail!("nothing to draw: the files hold no LED frames, pin changes or boot events");
        }
        Ok(t)
    }

    /// The boot's phases, from its events and, inside the bootloader, the LED's cadence
    /// (safe-boot windows toggle the LED every 500, 250 and 100 ms: windows 1, 2 and 3).
    pub fn phases(&self) -> Vec<Phase> {
        let mut out = Vec::new();
        let mut cur: Option<(u64, String, RGBColor)> = None;
        let close = |out: &mut Vec<Phase>, cur: &mut Option<(u64, String, RGBColor)>, end: u64| {
            if let Some((start, label, color)) = cur.take() {
                if label == "bootloader" {
                    out.extend(self.bootloader_phases(start, end));
                } else if end > start {
                    out.push(Phase { start_ps: start, end_ps: end, label, color });
                }
            }
        };
        for (t, e) in &self.events {
            let next = match e {
                BootEvent::PowerOn | BootEvent::Reset { .. } => Some(("ROM".to_string(), ROM)),
                BootEvent::PowerOff => Some(("power off".to_string(), OFF)),
                BootEvent::Bootloader => Some(("bootloader".to_string(), BOOTLOADER)),
                BootEvent::App { image } => Some((format!("app ({image})"), APP)),
                BootEvent::Prompt => None,
            };
            if let Some((label, color)) = next {
                close(&mut out, &mut cur, *t);
                cur = Some((*t, label, color));
            }
        }
        close(&mut out, &mut cur, self.end_ps);
        out
    }

    fn bootloader_phases(&self, start: u64, end: u64) -> Vec<Phase> {
        let frames: Vec<u64> = self.led.iter().map(|f| f.0).filter(|t| *t >= start && *t < end).collect();
        let class = |d: u64| -> usize {
            let ms = d as f64 / 1e9;
            [(500.0, 1), (250.0, 2), (100.0, 3)].iter().find(|(p, _)| (ms - p).abs() <= p * 0.15).map(|x| x.1).unwrap_or(0)
        };
        // Runs of equal cadence: (window, first frame, last frame, intervals). A window lasts
        // until the next one starts; the last one until its last toggle (the release seen).
        let mut runs: Vec<(usize, u64, u64, usize)> = Vec::new();
        for w in frames.windows(2) {
            let (a, b) = (w[0], w[1]);
            let c = class(b - a);
            match runs.last_mut() {
                Some(last) if last.0 == c && last.2 == a => {
                    last.2 = b;
                    last.3 += 1;
                }
                _ => runs.push((c, a, b, 1)),
            }
        }
        // A single interval of some cadence (e.g. the LED switched off, then on) is no window.
        runs.retain(|r| r.0 != 0 && r.3 >= 2);
        let windows: Vec<(usize, u64, u64)> =
            runs.iter().enumerate().map(|(i, r)| (r.0, r.1, runs.get(i + 1).map(|n| n.1).unwrap_or(r.2))).collect();
        let mut out = Vec::new();
        let mut at = start;
        for (c, a, b) in windows {
            let (a, b) = (a.max(at), b.min(end));
            if b <= a {
                continue;
            }
            if a > at {
                out.push(Phase { start_ps: at, end_ps: a, label: "bootloader".into(), color: BOOTLOADER });
            }
            out.push(Phase { start_ps: a, end_ps: b, label: format!("safe-boot window {c}"), color: WINDOWS[c - 1] });
            at = b;
        }
        if end > at {
            out.push(Phase { start_ps: at, end_ps: end, label: "bootloader".into(), color: BOOTLOADER });
        }
        out
    }

    /// Instants worth a line: resets (with cause), power off/on, the first prompt of a boot.
    pub fn marks(&self) -> Vec<(u64, String)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                BootEvent::Reset { name, .. } => Some((*t, format!("reset {name}"))),
                BootEvent::PowerOff => Some((*t, "power off".into())),
                BootEvent::PowerOn if *t > 0 => Some((*t, "power on".into())),
                BootEvent::Prompt => Some((*t, ">>>".into())),
                _ => None,
            })
            .collect()
    }
}

/// Where things are in the picture (pixels), so tests can look at it.
#[derive(Clone, Debug)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    /// The time axis runs from `left` to `width - right`.
    pub left: u32,
    pub right: u32,
    pub end_ps: u64,
    /// Rows top to bottom: phases, LED, then one per pin trace: (y0, y1).
    pub rows: Vec<(u32, u32)>,
}

const TOP: u32 = 64;

impl Geometry {
    pub fn new(t: &Timeline) -> Geometry {
        let mut rows = vec![(TOP, TOP + 26), (TOP + 32, TOP + 62)];
        let mut y = TOP + 70;
        for _ in &t.pins {
            rows.push((y, y + 20));
            y += 26;
        }
        Geometry { width: 1400, height: y + 44, left: 130, right: 24, end_ps: t.end_ps.max(1), rows }
    }

    pub fn x(&self, t_ps: u64) -> i32 {
        let span = (self.width - self.left - self.right) as f64;
        self.left as i32 + (span * t_ps.min(self.end_ps) as f64 / self.end_ps as f64).round() as i32
    }
}

/// Colour as drawn: the LED's hue at full brightness (its real values are dim, e.g. the
/// bootloader's orange 0x2C1200), off as near-black.
pub fn led_display(rgb: u32) -> RGBColor {
    let (r, g, b) = ((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
    let m = r.max(g).max(b);
    if m == 0 {
        return LED_OFF;
    }
    let s = |c: u32| ((c * 255 + m / 2) / m) as u8;
    RGBColor(s(r), s(g), s(b))
}

/// Time-axis ticks: a 1/2/5 step giving about ten labels, in a unit that suits the span.
fn ticks(end_ps: u64) -> (Vec<u64>, &'static str, f64) {
    let (unit, per) = if end_ps >= 2_000_000_000_000 {
        ("s", 1e12)
    } else if end_ps >= 2_000_000_000 {
        ("ms", 1e9)
    } else if end_ps >= 2_000_000 {
        ("µs", 1e6)
    } else {
        ("ns", 1e3)
    };
    let raw = end_ps as f64 / 10.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag).max(1.0) as u64;
    ((0..=end_ps / step).map(|i| i * step).collect(), unit, per)
}

fn fmt_tick(t: u64, per: f64) -> String {
    let v = t as f64 / per;
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(t: &Timeline, title: &str, root: &Area) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let g = Geometry::new(t);
    root.fill(&WHITE)?;
    let font = |size: u32| ("sans-serif", size).into_font();
    let text = |s: &str, x: i32, y: i32, size: u32, c: RGBColor| Text::new(s.to_string(), (x, y), font(size).color(&c));
    root.draw(&text(title, 10, 8, 16, BLACK))?;
    let names = ["boot", "LED"];
    for (i, (y0, y1)) in g.rows.iter().enumerate() {
        let name = if i < 2 { names[i].to_string() } else { t.pins[i - 2].name.clone() };
        root.draw(&text(&name, 8, (*y0 + *y1) as i32 / 2 - 7, 13, BLACK))?;
    }
    let (x0, x1) = (g.left as i32, (g.width - g.right) as i32);
    // Phases.
    let (p0, p1) = g.rows[0];
    for ph in t.phases() {
        let (a, b) = (g.x(ph.start_ps), g.x(ph.end_ps).max(g.x(ph.start_ps) + 1));
        root.draw(&Rectangle::new([(a, p0 as i32), (b, p1 as i32)], ph.color.filled()))?;
        let room = (b - a) as usize / 7;
        if room >= 3 {
            let label: String = if ph.label.chars().count() <= room { ph.label.clone() } else { ph.label.chars().take(room).collect() };
            let fg = if ph.color == WINDOWS[0] { BLACK } else { WHITE };
            root.draw(&text(&label, a + 3, p0 as i32 + 6, 12, fg))?;
        }
    }
    // LED bands: each frame's colour until the next one.
    let (l0, l1) = g.rows[1];
    root.draw(&Rectangle::new([(x0, l0 as i32), (x1, l1 as i32)], LED_OFF.filled()))?;
    for (i, (ft, rgb)) in t.led.iter().enumerate() {
        let end = t.led.get(i + 1).map(|f| f.0).unwrap_or(t.end_ps);
        let (a, b) = (g.x(*ft), g.x(end).max(g.x(*ft) + 1));
        root.draw(&Rectangle::new([(a, l0 as i32), (b, l1 as i32)], led_display(*rgb).filled()))?;
        if b - a > 70 && *rgb != 0 {
            let c = led_display(*rgb);
            let fg = if (c.0 as u32 * 3 + c.1 as u32 * 6 + c.2 as u32) > 1200 { BLACK } else { WHITE };
            root.draw(&text(&format!("#{rgb:06x}"), a + 3, l0 as i32 + 8, 12, fg))?;
        }
    }
    // Pins: high at the top of the row, low at the bottom, floating dashed in the middle;
    // a pixel column with several edges is drawn as a solid bar (activity).
    for (i, p) in t.pins.iter().enumerate() {
        let (y0, y1) = g.rows[i + 2];
        let (hi, lo, mid) = (y0 as i32 + 2, y1 as i32 - 2, (y0 + y1) as i32 / 2);
        let y_of = |l: Level| match l {
            Level::High => hi,
            Level::Low => lo,
            Level::Float => mid,
        };
        root.draw(&Rectangle::new([(x0, y0 as i32), (x1, y1 as i32)], RGBColor(0xf4, 0xf4, 0xf4).filled()))?;
        let mut busy: Vec<(i32, i32)> = Vec::new();
        let mut path: Vec<(i32, i32)> = Vec::new();
        let mut float_runs: Vec<(i32, i32)> = Vec::new();
        let edges = &p.edges;
        for (k, (et, lv)) in edges.iter().enumerate() {
            let x = g.x(*et);
            let next_x = edges.get(k + 1).map(|e| g.x(e.0)).unwrap_or(x1);
            if next_x == x && k + 1 < edges.len() {
                match busy.last_mut() {
                    Some(b) if b.1 >= x - 1 => b.1 = x,
                    _ => busy.push((x, x)),
                }
                continue;
            }
            let y = y_of(*lv);
            if let Some(&(_, py)) = path.last() {
                path.push((x, py));
            }
            path.push((x, y));
            path.push((next_x, y));
            if *lv == Level::Float {
                float_runs.push((x, next_x));
            }
        }
        root.draw(&PathElement::new(path, ShapeStyle::from(&RGBColor(0x15, 0x65, 0xc0)).stroke_width(2)))?;
        for (a, b) in float_runs {
            root.draw(&Rectangle::new([(a, hi), (b.max(a + 1), lo)], RGBColor(0xbb, 0xde, 0xfb).filled()))?;
        }
        for (a, b) in busy {
            root.draw(&Rectangle::new([(a, hi), (b + 1, lo)], RGBColor(0x15, 0x65, 0xc0).filled()))?;
        }
    }
    // Marks: a line across all rows, the label above, staggered so neighbours don't collide.
    let bottom = g.rows.last().map(|r| r.1).unwrap_or(TOP) as i32;
    let mut last_x = [i32::MIN; 2];
    for (mt, label) in t.marks() {
        let x = g.x(mt);
        root.draw(&PathElement::new(vec![(x, TOP as i32 - 4), (x, bottom)], ShapeStyle::from(&MARK).stroke_width(1)))?;
        let lane = if x - last_x[0] > 8 * label.len() as i32 { 0 } else { 1 };
        last_x[lane] = x;
        root.draw(&text(&label, x + 2, 30 + 14 * lane as i32, 11, MARK))?;
    }
    // Time axis.
    let (ticks, unit, per) = ticks(t.end_ps);
    let ay = bottom + 6;
    root.draw(&PathElement::new(vec![(x0, ay), (x1, ay)], ShapeStyle::from(&BLACK)))?;
    for tk in ticks {
        let x = g.x(tk);
        root.draw(&PathElement::new(vec![(x, ay), (x, ay + 5)], ShapeStyle::from(&BLACK)))?;
        root.draw(&text(&fmt_tick(tk, per), x - 8, ay + 8, 12, BLACK))?;
    }
    root.draw(&text(&format!("virtual time ({unit})"), x1 - 130, ay + 24, 12, BLACK))?;
    Ok(())
}

/// The picture as SVG text.
pub fn svg(t: &Timeline, title: &str) -> anyhow::Result<String> {
    let g = Geometry::new(t);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (g.width, g.height)).into_drawing_area();
        draw(t, title, &root).map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    }
    Ok(out)
}

/// PNG when `path` ends in `.png`, SVG otherwise.
pub fn is_png(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// The picture's bytes: SVG, or PNG.
pub fn render(t: &Timeline, title: &str, png: bool) -> anyhow::Result<Vec<u8>> {
    let svg = svg(t, title)?;
    if png {
        rasterise(&svg)
    } else {
        Ok(svg.into_bytes())
    }
}

/// Writes the picture to `path`: SVG, or PNG when it ends in `.png`.
pub fn write(t: &Timeline, title: &str, path: &Path) -> anyhow::Result<()> {
    let bytes = render(t, title, is_png(path))?;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn rasterise(svg: &str) -> anyhow::Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    // Labels need some font; without any on the system the picture keeps its shapes.
    let db = std::sync::Arc::make_mut(&mut opt.fontdb);
    db.load_system_fonts();
    let families: Vec<String> = db.faces().flat_map(|f| f.families.iter().map(|x| x.0.clone())).collect();
    let pick = ["DejaVu Sans", "Liberation Sans", "Arial", "Noto Sans", "FreeSans", "Helvetica"]
        .iter()
        .map(|s| s.to_string())
        .find(|want| families.contains(want))
        .or_else(|| families.first().cloned());
    if let Some(f) = pick {
        db.set_sans_serif_family(f);
    }
    let tree = usvg::Tree::from_str(svg, &opt).context("reading the SVG")?;
    let size = tree.size().to_int_size();
    let mut pm = tiny_skia::Pixmap::new(size.width(), size.height()).context("picture size")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pm.as_mut());
    pm.encode_png().context("encoding PNG")
}

fn read_vcd(text: &str, t: &mut Timeline) -> anyhow::Result<()> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut now: u64 = 0;
    let mut scale: u64 = 1000;
    let mut pins: Vec<(String, PinTrace)> = Vec::new();
    let mut body = false;
    let mut tokens = text.split_whitespace().peekable();
    while let Some(tok) = tokens.next() {
        if !body {
            match tok {
                "$timescale" => {
                    let v = tokens.next().unwrap_or("1ns");
                    let v = if v.chars().all(|c| c.is_ascii_digit()) { format!("{v}{}", tokens.next().unwrap_or("ns")) } else { v.to_string() };
                    scale = match v.as_str() {
                        "1ps" => 1,
                        "1ns" => 1000,
                        "1us" => 1_000_000,
                        "1ms" => 1_000_000_000,
                        o => bail!("VCD timescale {o} not supported"),
                    };
                }
                "$var" => {
                    let _kind = tokens.next();
                    let _width = tokens.next();
                    let id = tokens.next().context("VCD $var without an id")?.to_string();
                    let name = tokens.next().context("VCD $var without a name")?.to_string();
                    vars.push((id, name));
                }
                "$enddefinitions" => body = true,
                _ => {}
            }
            continue;
        }
        if let Some(ts) = tok.strip_prefix('#') {
            now = ts.parse::<u64>().with_context(|| format!("VCD time `{tok}`"))? * scale;
            continue;
        }
        if tok.starts_with('$') {
            continue;
        }
        let (value, id) = if let Some(bits) = tok.strip_prefix('b') {
            (bits.to_string(), tokens.next().context("VCD vector without an id")?.to_string())
        } else {
            let mut c = tok.chars();
            let v = c.next().context("empty VCD value")?;
            (v.to_string(), c.as_str().to_string())
        };
        let Some((_, name)) = vars.iter().find(|v| v.0 == id) else { continue };
        if name == "led_rgb" {
            let rgb = u32::from_str_radix(&value, 2).unwrap_or(0);
            if !(now == 0 && rgb == 0) {
                t.led.push((now, rgb));
            }
            continue;
        }
        let level = match value.as_str() {
            "1" => Level::High,
            "0" => Level::Low,
            _ => Level::Float,
        };
        let label = match (name.strip_prefix("ext_gpio"), name.strip_prefix("gpio")) {
            (Some(n), _) => n.parse::<u8>().map(|g| format!("{} (held)", pin_name(g))).unwrap_or(name.clone()),
            (None, Some(n)) => n.parse::<u8>().map(|g| format!("{} out", pin_name(g))).unwrap_or(name.clone()),
            _ => name.clone(),
        };
        match pins.iter_mut().find(|p| p.0 == *name) {
            Some(p) => p.1.edges.push((now, level)),
            None => pins.push((name.clone(), PinTrace { name: label, edges: vec![(now, level)] })),
        }
        t.end_ps = t.end_ps.max(now);
    }
    // Pins that never left their initial value are not worth a row.
    pins.retain(|p| p.1.edges.len() > 1);
    pins.sort_by_key(|p| (!p.0.starts_with("ext_"), p.0.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<u32>().unwrap_or(0)));
    t.pins.extend(pins.into_iter().map(|p| p.1));
    Ok(())
}

fn read_json(text: &str, t: &mut Timeline) -> anyhow::Result<()> {
    let v: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
    let frame = |f: &serde_json::Value| -> Option<(u64, u32)> {
        let ts = f.get("t_s")?.as_f64()?;
        let c = f.get("color")?.as_str()?;
        Some((peripherals::time::secs_to_ps(ts), u32::from_str_radix(c.trim_start_matches('#'), 16).ok()?))
    };
    match &v {
        serde_json::Value::Array(a) => t.led.extend(a.iter().filter_map(frame)),
        serde_json::Value::Object(o) => {
            if let Some(serde_json::Value::Array(a)) = o.get("led_frames") {
                t.led.extend(a.iter().filter_map(frame));
            }
            if let Some(ev) = o.get("boot_events") {
                let evs: Vec<TimedEvent> = serde_json::from_value(ev.clone()).context("boot_events")?;
                t.events.extend(evs.into_iter().map(|e| (peripherals::time::secs_to_ps(e.t_s), e.event)));
            }
            if let Some(s) = o.get("virtual_time_s").and_then(|s| s.as_f64()) {
                t.end_ps = t.end_ps.max(peripherals::time::secs_to_ps(s));
            }
        }
        _ => bail!("not an LED trace or a pyemu --json outcome"),
    }
    Ok(())
}

/// A boot event as the `--json` outcome lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimedEvent {
    pub t_s: f64,
    #[serde(flatten)]
    pub event: BootEvent,
}
