//! Scenario files: Wokwi's automation-scenario format (version 1, as wokwi-cli reads it) plus
//! pyemu's own steps. Parsed with line numbers, validated whole before anything runs.
//!
//! Top level: `name` (required), `version: 1` (required), `author`, `steps`; pyemu adds
//! `firmware`, `board`, `flash-state`, `config`, `boot-info`, `timeout`, `allow-panic`
//! (paths relative to the scenario file; command-line flags override them).
//!
//! Each step: an optional `name`, an optional `timeout`, and exactly one command key.

use crate::session::parse_duration;
use marked_yaml::{Node, Span};
use std::path::{Path, PathBuf};

/// A scenario error: the file, the line, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {msg}")]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub msg: String,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: PathBuf,
    pub name: String,
    pub author: Option<String>,
    pub firmware: Option<PathBuf>,
    pub board: Option<String>,
    pub flash_state: Option<PathBuf>,
    pub config: Option<String>,
    pub boot_info: Option<String>,
    pub timeout_ps: Option<u64>,
    pub allow_panic: bool,
    /// Start from this snapshot instead of powering on.
    pub snapshot: Option<PathBuf>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub name: Option<String>,
    pub timeout_ps: Option<u64>,
    pub kind: StepKind,
}

/// How a pin is driven from outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    High,
    Low,
    Float,
}

#[derive(Debug, Clone)]
pub enum LedCheck {
    Color(u32),
    Blink { period_ps: u64, tolerance_ps: u64, color: Option<u32> },
}

#[derive(Debug, Clone, Default)]
pub struct BootCheck {
    pub mode: Option<String>,
    pub image: Option<String>,
    pub active: Option<String>,
    pub status: Option<String>,
    pub safeboot: Option<u8>,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Delay(u64),
    WaitSerial(String),
    WaitSerialRegex(String),
    WriteSerial(Vec<u8>),
    /// Drive `gpio` (set-control, hold-pin, release-pin); `for_ps`: release after.
    Drive { gpio: u8, level: Level, for_ps: Option<u64>, what: String },
    /// EN pressed (`true`) or released (`false`); a release resets the chip.
    ResetButton(bool),
    ExpectPin { gpio: u8, value: bool, what: String },
    WaitPin { gpio: u8, value: bool, what: String },
    Reset,
    PowerCycle { off_ps: u64 },
    ExpectLed(LedCheck),
    WaitLed(u32),
    ExpectBoot(BootCheck),
    PutFile { path: String, data: Vec<u8> },
    ExpectFile { path: String, content: Option<String>, contains: Option<String> },
    Exec { code: String, expect: Option<String>, contains: Option<String>, expect_error: Option<String> },
    /// `flip_byte`: that byte of the image is inverted before sending (a corrupted download).
    Ota { image: PathBuf, flip_byte: Option<usize> },
    ExpectPanic(Option<String>),
    SaveSnapshot(PathBuf),
    RestoreSnapshot(PathBuf),
}

impl StepKind {
    pub fn describe(&self) -> String {
        let q = |s: &str| format!("{:?}", s);
        match self {
            StepKind::Delay(t) => format!("delay {}", crate::session::fmt_time(*t)),
            StepKind::WaitSerial(t) => format!("wait-serial {}", q(t)),
            StepKind::WaitSerialRegex(t) => format!("wait-serial-regex {}", q(t)),
            StepKind::WriteSerial(b) => format!("write-serial {}", q(&String::from_utf8_lossy(b))),
            StepKind::Drive { what, .. } => what.clone(),
            StepKind::ResetButton(p) => format!("set-control reset {}", if *p { "pressed" } else { "released" }),
            StepKind::ExpectPin { what, .. } => what.clone(),
            StepKind::WaitPin { what, .. } => what.clone(),
            StepKind::Reset => "reset".into(),
            StepKind::PowerCycle { off_ps } => format!("power-cycle (off {})", crate::session::fmt_time(*off_ps)),
            StepKind::ExpectLed(LedCheck::Color(c)) => format!("expect-led #{c:06x}"),
            StepKind::ExpectLed(LedCheck::Blink { period_ps, .. }) => format!("expect-led blink every {}", crate::session::fmt_time(*period_ps)),
            StepKind::WaitLed(c) => format!("wait-led #{c:06x}"),
            StepKind::ExpectBoot(_) => "expect-boot".into(),
            StepKind::PutFile { path, data } => format!("put-file {path} ({} bytes)", data.len()),
            StepKind::ExpectFile { path, .. } => format!("expect-file {path}"),
            StepKind::Exec { code, .. } => format!("exec {}", q(code.lines().next().unwrap_or(""))),
            StepKind::Ota { image, flip_byte: None } => format!("ota {}", image.display()),
            StepKind::Ota { image, flip_byte: Some(n) } => format!("ota {} (byte {n:#x} flipped)", image.display()),
            StepKind::ExpectPanic(t) => format!("expect-panic{}", t.as_ref().map(|t| format!(" {}", q(t))).unwrap_or_default()),
            StepKind::SaveSnapshot(p) => format!("save-snapshot {}", p.display()),
            StepKind::RestoreSnapshot(p) => format!("restore-snapshot {}", p.display()),
        }
    }
}

fn line_of(span: &Span) -> usize {
    span.start().map(|m| m.line()).unwrap_or(0)
}

struct Ctx<'a> {
    file: &'a str,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> ScenarioError {
        ScenarioError { file: self.file.to_string(), line, msg: msg.into() }
    }

    fn scalar<'n>(&self, n: &'n Node, what: &str) -> Result<&'n str, ScenarioError> {
        n.as_scalar().map(|s| s.as_str()).ok_or_else(|| self.err(line_of(n.span()), format!("{what} must be a single value")))
    }

    fn duration(&self, n: &Node, what: &str) -> Result<u64, ScenarioError> {
        let s = self.scalar(n, what)?.trim();
        // As wokwi-cli: a unit is required (except for 0).
        let bare = s.trim_start_matches(['0', '.']).is_empty();
        if !bare && !s.ends_with('s') {
            return Err(self.err(line_of(n.span()), format!("{what} `{s}`: a unit is required (ns, us, ms, s)")));
        }
        parse_duration(s).map_err(|e| self.err(line_of(n.span()), format!("{what}: {e}")))
    }

    fn path(&self, n: &Node, what: &str) -> Result<PathBuf, ScenarioError> {
        let p = Path::new(self.scalar(n, what)?);
        Ok(if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) })
    }
}

fn parse_color(s: &str) -> Option<u32> {
    let t = s.trim().to_ascii_lowercase();
    let named = match t.as_str() {
        "off" | "black" => Some(0),
        "red" => Some(0xFF0000),
        "green" => Some(0x00FF00),
        "blue" => Some(0x0000FF),
        "white" => Some(0xFFFFFF),
        "yellow" => Some(0xFFFF00),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let h = t.strip_prefix('#').or_else(|| t.strip_prefix("0x"))?;
    if h.len() != 6 {
        return None;
    }
    u32::from_str_radix(h, 16).ok()
}

/// A pin named by a step: `P12`, `GPIO21`, or a bare GPIO number (`21`, as Wokwi's ESP32
/// part names its pins).
fn pin(ctx: &Ctx, line: usize, name: &str) -> Result<u8, ScenarioError> {
    let n = name.trim();
    if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
        return peripherals::board::gpio_of(&format!("GPIO{n}")).map_err(|e| ctx.err(line, e.to_string()));
    }
    peripherals::board::gpio_of(n).map_err(|e| ctx.err(line, e.to_string()))
}

fn level(ctx: &Ctx, n: &Node) -> Result<Level, ScenarioError> {
    let v = ctx.scalar(n, "value")?;
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "high" | "true" | "on" => Ok(Level::High),
        "0" | "low" | "false" | "off" => Ok(Level::Low),
        "float" | "z" | "release" => Ok(Level::Float),
        _ => Err(ctx.err(line_of(n.span()), format!("value `{v}`: expected 0, 1, high, low or float"))),
    }
}

/// Fields of a mapping, checking that only `allowed` keys occur.
fn fields<'n>(ctx: &Ctx, n: &'n Node, what: &str, allowed: &[&str]) -> Result<Vec<(&'n str, &'n Node)>, ScenarioError> {
    let m = n.as_mapping().ok_or_else(|| ctx.err(line_of(n.span()), format!("{what} takes a mapping ({})", allowed.join(", "))))?;
    let mut out = Vec::new();
    for (k, v) in m.iter() {
        if !allowed.contains(&k.as_str()) {
            return Err(ctx.err(line_of(k.span()), format!("{what}: unknown key `{}` (allowed: {})", k.as_str(), allowed.join(", "))));
        }
        out.push((k.as_str(), v));
    }
    Ok(out)
}

fn get<'n>(f: &[(&str, &'n Node)], keys: &[&str]) -> Option<&'n Node> {
    f.iter().find(|(k, _)| keys.contains(k)).map(|(_, v)| *v)
}

const STEP_KEYS: [&str; 24] = [
    "delay",
    "wait-serial",
    "wait-serial-regex",
    "write-serial",
    "set-control",
    "expect-pin",
    "wait-pin",
    "hold-pin",
    "release-pin",
    "reset",
    "power-cycle",
    "expect-led",
    "wait-led",
    "expect-boot",
    "put-file",
    "expect-file",
    "exec",
    "ota",
    "expect-panic",
    "save-snapshot",
    "restore-snapshot",
    "take-screenshot",
    "expect-chip-output",
    "touch",
];

fn parse_step(ctx: &Ctx, n: &Node) -> Result<Step, ScenarioError> {
    let line = line_of(n.span());
    let m = n.as_mapping().ok_or_else(|| ctx.err(line, "a step must be a mapping (e.g. `- wait-serial: \">>> \"`)"))?;
    let mut name = None;
    let mut timeout_ps = None;
    let mut cmd: Option<(&str, &Node, usize)> = None;
    for (k, v) in m.iter() {
        let key = k.as_str();
        let kl = line_of(k.span());
        match key {
            "name" => name = Some(ctx.scalar(v, "name")?.to_string()),
            "timeout" => timeout_ps = Some(ctx.duration(v, "timeout")?),
            _ if STEP_KEYS.contains(&key) || key.starts_with("touch") => {
                if let Some((other, _, _)) = cmd {
                    return Err(ctx.err(kl, format!("a step has exactly one command; this one has `{other}` and `{key}`")));
                }
                cmd = Some((key, v, kl));
            }
            _ => return Err(ctx.err(kl, format!("invalid scenario step key: `{key}` (steps: {})", STEP_KEYS[..19].join(", ")))),
        }
    }
    let (key, v, kl) = cmd.ok_or_else(|| ctx.err(line, "the step has no command"))?;
    let kind = match key {
        "delay" => StepKind::Delay(ctx.duration(v, "delay")?),
        "wait-serial" => StepKind::WaitSerial(ctx.scalar(v, "wait-serial")?.to_string()),
        "wait-serial-regex" => {
            let r = ctx.scalar(v, "wait-serial-regex")?;
            regex::bytes::Regex::new(r).map_err(|e| ctx.err(kl, format!("wait-serial-regex: {e}")))?;
            StepKind::WaitSerialRegex(r.to_string())
        }
        "write-serial" => match v {
            Node::Sequence(seq) => {
                if seq.is_empty() {
                    return Err(ctx.err(kl, "write-serial: the list must contain at least one number"));
                }
                let mut bytes = Vec::new();
                for b in seq.iter() {
                    let s = ctx.scalar(b, "write-serial byte")?;
                    let t = s.trim();
                    let val = if let Some(h) = t.strip_prefix("0x") { u8::from_str_radix(h, 16).ok() } else { t.parse::<u8>().ok() };
                    bytes.push(val.ok_or_else(|| ctx.err(line_of(b.span()), format!("write-serial: `{s}` is not a byte value (0-255)")))?);
                }
                StepKind::WriteSerial(bytes)
            }
            _ => StepKind::WriteSerial(ctx.scalar(v, "write-serial")?.as_bytes().to_vec()),
        },
        "set-control" => {
            let f = fields(ctx, v, "set-control", &["part-id", "name", "control", "value"])?;
            let part = ctx.scalar(get(&f, &["part-id"]).ok_or_else(|| ctx.err(kl, "set-control needs part-id"))?, "part-id")?;
            let control = match get(&f, &["name", "control"]) {
                Some(c) => ctx.scalar(c, "name")?.to_string(),
                None => "value".into(),
            };
            let value = level(ctx, get(&f, &["value"]).ok_or_else(|| ctx.err(kl, "set-control needs value"))?)?;
            if ["reset", "en", "rst"].contains(&part.to_ascii_lowercase().as_str()) {
                StepKind::ResetButton(value == Level::High)
            } else {
                let gpio = pin(ctx, kl, part)?;
                let level = match control.as_str() {
                    // A button wired to the pin and to GND, as on Pycom's expansion boards.
                    "pressed" => match value {
                        Level::High => Level::Low,
                        _ => Level::Float,
                    },
                    "value" | "level" | "state" => value,
                    c => return Err(ctx.err(kl, format!("set-control: control `{c}` of {part}: expected pressed, value, level or state"))),
                };
                StepKind::Drive { gpio, level, for_ps: None, what: format!("set-control {part} {control}={value:?}") }
            }
        }
        "expect-pin" | "wait-pin" => {
            let f = fields(ctx, v, key, &["part-id", "name", "pin", "value"])?;
            let part = get(&f, &["part-id"]).map(|p| ctx.scalar(p, "part-id")).transpose()?;
            let pname = get(&f, &["name", "pin"]).map(|p| ctx.scalar(p, "name")).transpose()?;
            // `part-id: P12` alone, or `part-id: esp` with `name: 21` / `name: P12`.
            let which = match (part, pname) {
                (_, Some(p)) => p,
                (Some(p), None) => p,
                (None, None) => return Err(ctx.err(kl, format!("{key} needs name (the pin) and value"))),
            };
            let gpio = pin(ctx, kl, which)?;
            let value = match level(ctx, get(&f, &["value"]).ok_or_else(|| ctx.err(kl, format!("{key} needs value")))?)? {
                Level::High => true,
                Level::Low => false,
                Level::Float => return Err(ctx.err(kl, format!("{key}: value must be 0 or 1"))),
            };
            let what = format!("{key} {which} == {}", value as u8);
            if key == "expect-pin" {
                StepKind::ExpectPin { gpio, value, what }
            } else {
                StepKind::WaitPin { gpio, value, what }
            }
        }
        "hold-pin" => {
            let f = fields(ctx, v, "hold-pin", &["pin", "value", "for"])?;
            let p = ctx.scalar(get(&f, &["pin"]).ok_or_else(|| ctx.err(kl, "hold-pin needs pin"))?, "pin")?;
            let gpio = pin(ctx, kl, p)?;
            let level = get(&f, &["value"]).map(|n| level(ctx, n)).transpose()?.unwrap_or(Level::High);
            let for_ps = get(&f, &["for"]).map(|n| ctx.duration(n, "for")).transpose()?;
            let what = format!("hold-pin {p} {level:?}{}", for_ps.map(|t| format!(" for {}", crate::session::fmt_time(t))).unwrap_or_default());
            StepKind::Drive { gpio, level, for_ps, what }
        }
        "release-pin" => {
            let p = ctx.scalar(v, "release-pin")?;
            StepKind::Drive { gpio: pin(ctx, kl, p)?, level: Level::Float, for_ps: None, what: format!("release-pin {p}") }
        }
        "reset" => StepKind::Reset,
        "power-cycle" => {
            let off_ps = match v {
                Node::Mapping(_) => {
                    let f = fields(ctx, v, "power-cycle", &["off"])?;
                    get(&f, &["off"]).map(|n| ctx.duration(n, "off")).transpose()?.unwrap_or(100_000_000_000)
                }
                _ => 100_000_000_000,
            };
            StepKind::PowerCycle { off_ps }
        }
        "expect-led" => match v {
            Node::Scalar(_) => {
                let s = ctx.scalar(v, "expect-led")?;
                StepKind::ExpectLed(LedCheck::Color(parse_color(s).ok_or_else(|| ctx.err(kl, format!("expect-led: `{s}` is not a colour (#rrggbb or red/green/blue/white/yellow/off)")))?))
            }
            _ => {
                let f = fields(ctx, v, "expect-led", &["color", "blink", "tolerance"])?;
                let color = get(&f, &["color"])
                    .map(|n| {
                        let s = ctx.scalar(n, "color")?;
                        parse_color(s).ok_or_else(|| ctx.err(line_of(n.span()), format!("expect-led: `{s}` is not a colour")))
                    })
                    .transpose()?;
                match get(&f, &["blink"]) {
                    Some(b) => {
                        let period_ps = ctx.duration(b, "blink")?;
                        let tolerance_ps = get(&f, &["tolerance"]).map(|n| ctx.duration(n, "tolerance")).transpose()?.unwrap_or(period_ps / 20);
                        StepKind::ExpectLed(LedCheck::Blink { period_ps, tolerance_ps, color })
                    }
                    None => StepKind::ExpectLed(LedCheck::Color(color.ok_or_else(|| ctx.err(kl, "expect-led needs color or blink"))?)),
                }
            }
        },
        "wait-led" => {
            let s = ctx.scalar(v, "wait-led")?;
            StepKind::WaitLed(parse_color(s).ok_or_else(|| ctx.err(kl, format!("wait-led: `{s}` is not a colour")))?)
        }
        "expect-boot" => {
            let f = fields(ctx, v, "expect-boot", &["mode", "image", "active", "status", "safeboot"])?;
            let s = |k: &str| get(&f, &[k]).map(|n| ctx.scalar(n, k).map(str::to_string)).transpose();
            let mode = s("mode")?;
            if let Some(m) = &mode {
                if !["normal", "safe_boot", "safe-boot", "download"].contains(&m.as_str()) {
                    return Err(ctx.err(kl, format!("expect-boot: mode `{m}`: expected normal, safe_boot or download")));
                }
            }
            let safeboot = match s("safeboot")? {
                Some(v) => Some(v.parse::<u8>().map_err(|_| ctx.err(kl, format!("expect-boot: safeboot `{v}` is not a number")))?),
                None => None,
            };
            StepKind::ExpectBoot(BootCheck { mode: mode.map(|m| m.replace('-', "_")), image: s("image")?, active: s("active")?, status: s("status")?, safeboot })
        }
        "put-file" => {
            let f = fields(ctx, v, "put-file", &["path", "content", "from"])?;
            let path = ctx.scalar(get(&f, &["path"]).ok_or_else(|| ctx.err(kl, "put-file needs path"))?, "path")?.to_string();
            let data = match (get(&f, &["content"]), get(&f, &["from"])) {
                (Some(c), None) => ctx.scalar(c, "content")?.as_bytes().to_vec(),
                (None, Some(p)) => {
                    let p = ctx.path(p, "from")?;
                    std::fs::read(&p).map_err(|e| ctx.err(kl, format!("put-file: {}: {e}", p.display())))?
                }
                _ => return Err(ctx.err(kl, "put-file needs exactly one of content and from")),
            };
            StepKind::PutFile { path, data }
        }
        "expect-file" => {
            let f = fields(ctx, v, "expect-file", &["path", "content", "contains"])?;
            let path = ctx.scalar(get(&f, &["path"]).ok_or_else(|| ctx.err(kl, "expect-file needs path"))?, "path")?.to_string();
            let content = get(&f, &["content"]).map(|n| ctx.scalar(n, "content").map(str::to_string)).transpose()?;
            let contains = get(&f, &["contains"]).map(|n| ctx.scalar(n, "contains").map(str::to_string)).transpose()?;
            StepKind::ExpectFile { path, content, contains }
        }
        "exec" => match v {
            Node::Scalar(_) => StepKind::Exec { code: ctx.scalar(v, "exec")?.to_string(), expect: None, contains: None, expect_error: None },
            _ => {
                let f = fields(ctx, v, "exec", &["code", "expect", "contains", "expect-error"])?;
                let s = |k: &str| get(&f, &[k]).map(|n| ctx.scalar(n, k).map(str::to_string)).transpose();
                StepKind::Exec { code: s("code")?.ok_or_else(|| ctx.err(kl, "exec needs code"))?, expect: s("expect")?, contains: s("contains")?, expect_error: s("expect-error")? }
            }
        },
        "ota" => {
            let (image, flip_byte) = match v {
                Node::Scalar(_) => (ctx.path(v, "ota")?, None),
                _ => {
                    let f = fields(ctx, v, "ota", &["image", "flip-byte"])?;
                    let image = ctx.path(get(&f, &["image"]).ok_or_else(|| ctx.err(kl, "ota needs image"))?, "image")?;
                    let flip = match get(&f, &["flip-byte"]) {
                        None => None,
                        Some(n) => {
                            let t = ctx.scalar(n, "flip-byte")?;
                            let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                                Some(h) => usize::from_str_radix(h, 16).ok(),
                                None => t.parse().ok(),
                            };
                            Some(parsed.ok_or_else(|| ctx.err(kl, format!("ota: flip-byte {t:?} is not a byte offset (e.g. 4096 or 0x1000)")))?)
                        }
                    };
                    (image, flip)
                }
            };
            if !image.is_file() {
                return Err(ctx.err(kl, format!("ota: {}: no such file", image.display())));
            }
            StepKind::Ota { image, flip_byte }
        }
        "expect-panic" => match v.as_scalar().map(|s| s.as_str().trim()) {
            None | Some("") | Some("true") => StepKind::ExpectPanic(None),
            Some(t) => StepKind::ExpectPanic(Some(t.to_string())),
        },
        "save-snapshot" | "restore-snapshot" => {
            let p = match v {
                Node::Scalar(_) => ctx.path(v, key)?,
                _ => {
                    let f = fields(ctx, v, key, &["file"])?;
                    ctx.path(get(&f, &["file"]).ok_or_else(|| ctx.err(kl, format!("{key} needs file")))?, "file")?
                }
            };
            if p.is_dir() {
                return Err(ctx.err(kl, format!("{key}: {} is a directory", p.display())));
            }
            if key == "save-snapshot" {
                StepKind::SaveSnapshot(p)
            } else {
                StepKind::RestoreSnapshot(p)
            }
        }
        k => return Err(ctx.err(kl, format!("{k}: a display/custom-chip step of Wokwi, not meaningful on a Pycom board"))),
    };
    Ok(Step { line, name, timeout_ps, kind })
}

pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let fname = file.display().to_string();
    let dir = file.parent().unwrap_or(Path::new("."));
    let ctx = Ctx { file: &fname, dir };
    let root = marked_yaml::parse_yaml(0, text).map_err(|e| {
        let msg = e.to_string();
        // The loader's message carries a "line:column" marker; keep ours uniform.
        let line = msg.split(|c: char| !c.is_ascii_digit()).find(|t| !t.is_empty()).and_then(|t| t.parse().ok()).unwrap_or(1);
        ctx.err(line, format!("not a YAML mapping: {msg}"))
    })?;
    let m = root.as_mapping().ok_or_else(|| ctx.err(1, "a scenario is a YAML mapping"))?;
    let mut sc = Scenario {
        file: file.to_path_buf(),
        name: String::new(),
        author: None,
        firmware: None,
        board: None,
        flash_state: None,
        config: None,
        boot_info: None,
        timeout_ps: None,
        allow_panic: false,
        snapshot: None,
        steps: Vec::new(),
    };
    let mut version = None;
    let mut name = None;
    let mut steps = None;
    for (k, v) in m.iter() {
        let kl = line_of(k.span());
        match k.as_str() {
            "name" => name = Some(ctx.scalar(v, "Scenario name")?.to_string()),
            "version" => version = Some((ctx.scalar(v, "version")?.trim().to_string(), kl)),
            "author" => sc.author = Some(ctx.scalar(v, "author")?.to_string()),
            "firmware" => sc.firmware = Some(ctx.path(v, "firmware")?),
            "board" => sc.board = Some(ctx.scalar(v, "board")?.to_string()),
            "flash-state" => sc.flash_state = Some(ctx.path(v, "flash-state")?),
            "config" => sc.config = Some(ctx.scalar(v, "config")?.to_string()),
            "boot-info" => sc.boot_info = Some(ctx.scalar(v, "boot-info")?.to_string()),
            "timeout" => sc.timeout_ps = Some(ctx.duration(v, "timeout")?),
            "allow-panic" => {
                sc.allow_panic = match ctx.scalar(v, "allow-panic")?.trim() {
                    "true" | "yes" | "1" => true,
                    "false" | "no" | "0" => false,
                    o => return Err(ctx.err(kl, format!("allow-panic `{o}`: expected true or false"))),
                }
            }
            "snapshot" => sc.snapshot = Some(ctx.path(v, "snapshot")?),
            "steps" => steps = Some(v),
            other => return Err(ctx.err(kl, format!("unknown top-level key `{other}` (name, version, author, steps, firmware, board, flash-state, config, boot-info, timeout, allow-panic, snapshot)"))),
        }
    }
    sc.name = name.ok_or_else(|| ctx.err(1, "Scenario name is missing"))?;
    match version {
        Some((v, _)) if v == "1" => {}
        Some((v, l)) => return Err(ctx.err(l, format!("Unsupported scenario version: {v}"))),
        None => return Err(ctx.err(1, "version is missing (version: 1)")),
    }
    let steps = steps.ok_or_else(|| ctx.err(1, "steps are missing"))?;
    let seq = steps.as_sequence().ok_or_else(|| ctx.err(line_of(steps.span()), "Scenario steps must be an array"))?;
    for s in seq.iter() {
        sc.steps.push(parse_step(&ctx, s)?);
    }
    Ok(sc)
}

pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(file).map_err(|e| ScenarioError { file: file.display().to_string(), line: 0, msg: e.to_string() })?;
    parse(file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str) -> Result<Scenario, ScenarioError> {
        parse(Path::new("dir/s.yaml"), t)
    }

    #[test]
    fn wokwi_steps_parse_with_aliases() {
        let s = p("name: t\nversion: 1\nsteps:\n  - delay: 500ms\n  - wait-serial: '>>> '\n  - write-serial: \"print(1)\\r\\n\"\n  - write-serial: [3, 4]\n  - set-control: { part-id: P12, control: value, value: 1 }\n  - expect-pin: { part-id: esp, pin: 21, value: 1 }\n  - name: w\n    wait-pin: { part-id: P12, name: P12, value: 0 }\n    timeout: 2s\n").unwrap();
        assert_eq!(s.steps.len(), 7);
        assert!(matches!(s.steps[0].kind, StepKind::Delay(500_000_000_000)));
        assert!(matches!(&s.steps[2].kind, StepKind::WriteSerial(b) if b == b"print(1)\r\n"));
        assert!(matches!(&s.steps[3].kind, StepKind::WriteSerial(b) if b == &[3, 4]));
        assert!(matches!(s.steps[4].kind, StepKind::Drive { gpio: 21, level: Level::High, .. }));
        assert!(matches!(s.steps[5].kind, StepKind::ExpectPin { gpio: 21, value: true, .. }));
        assert_eq!(s.steps[6].line, 10);
        assert_eq!(s.steps[6].timeout_ps, Some(2_000_000_000_000));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = p("name: t\nversion: 1\nsteps:\n  - delay: 500\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.to_string().starts_with("dir/s.yaml:4: delay `500`: a unit is required"), "{e}");
        let e = p("name: t\nversion: 1\nsteps:\n  - wait-serial: x\n  - jump: 3\n").unwrap_err();
        assert!(e.to_string().contains(":5: invalid scenario step key: `jump`"), "{e}");
        let e = p("name: t\nversion: 2\nsteps: []\n").unwrap_err();
        assert!(e.to_string().contains("Unsupported scenario version: 2"), "{e}");
        let e = p("version: 1\nsteps: []\n").unwrap_err();
        assert!(e.to_string().contains("Scenario name is missing"), "{e}");
        let e = p("name: t\nversion: 1\nsteps:\n  - take-screenshot: { part-id: lcd }\n").unwrap_err();
        assert!(e.to_string().contains("not meaningful on a Pycom board"), "{e}");
        let e = p("name: t\nversion: 1\nsteps:\n  - delay: 1s\n    wait-serial: x\n").unwrap_err();
        assert!(e.to_string().contains("exactly one command"), "{e}");
        let e = p("name: t\nversion: 1\nsteps:\n  - hold-pin: { pin: P99 }\n").unwrap_err();
        assert!(e.to_string().contains(":4:"), "{e}");
    }
}
