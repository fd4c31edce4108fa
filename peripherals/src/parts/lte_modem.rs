//! The Sequans Monarch LTE-M / NB-IoT modem of the GPy and FiPy, seen from its UART: an AT
//! command interpreter with a simulated network, answering in virtual time.
//!
//! What the firmware does with it (Pycom's `esp32/lte/lteppp.c`, `esp32/mods/modlte.c`,
//! `esp32/boards/{GPY,FIPY}/mpconfigboard.h`, v1.20.2.r4): UART2 at 921600 8N1, hardware
//! flow control (CTS/RTS, RX threshold 64) once the modem is started, pins through the GPIO
//! matrix (`U2TXD_OUT`, `U2RXD_IN`, `U2RTS_OUT`, `U2CTS_IN`). At boot, when the factory
//! config has `lte_modem_en_on_boot`, `TASK_LTE` asserts RTS, waits 500 ms, sends `+++`
//! (no CR), then `AT` until one answers `OK`, `ATE0`, `AT+CPSMS=0`, `AT+CEREG=1`,
//! `AT+CFUN?` (`AT+CFUN=4` unless 1 or 4), `AT+CPIN?`, after a power-on reset `AT+CFUN?`
//! (and `AT+CFUN=0` without a SIM), `AT!="setlpm airplane=1 enable=1"`, `AT+SQNIBRCFG?`
//! (`AT+SQNIBRCFG=1,100` unless it reads `+SQNIBRCFG: 1,100`). Each command: flush RX,
//! write, `\r`, wait for the first byte (up to the timeout), read for ~26 ms, look for `OK`.
//! `LTE()`, `attach()`, `isattached()`, `connect()`, `disconnect()`, `send_at_cmd()` use
//! the commands in the table below; `isattached()` is `+CGATT: 1` (with `legacyattach`,
//! the default, also `+CEREG: 1,1` or `1,5` from `AT+CEREG?`).
//!
//! The firmware has no power or reset line for the modem: it is powered with the board
//! and restarted only by AT commands (`AT^RESET`, `AT+CFUN=<f>,1`).
//!
//! | command | answer here |
//! |---|---|
//! | `AT`, `ATE0`/`ATE1`, `AT&F`, `ATH`, `AT+CPSMS=…`, `AT+CEREG=n`, `AT+CGDCONT=…`, `AT!="…"` | `OK` (stored where it matters) |
//! | `ATI`, `ATI1` | model / software version lines |
//! | `AT+CGMI`, `AT+CGMM`, `AT+CGMR`, `AT+CGSN`, `AT+CIMI`, `AT+CCID`, `AT+SQNCCID?` | identity (configurable IMEI, IMSI, ICCID) |
//! | `AT+CFUN?` / `=<0,1,4>[,1]` | level; 1 starts the network search, `,1` reboots (`+SYSSTART`) |
//! | `AT+CPIN?` | `+CPIN: READY` with a SIM and CFUN ≠ 0, else `ERROR` |
//! | `AT+CEREG?` | `+CEREG: <n>,<stat>` (n = 2 adds TAC, cell id, AcT 7) |
//! | `AT+CGATT?` | `+CGATT: 1` once registered |
//! | `AT+CSQ` | `+CSQ: <rssi>,99` while CFUN = 1, `99,99` otherwise |
//! | `AT+COPS?` | `+COPS: 0,2,"<plmn>",7` when registered |
//! | `AT+CGDCONT?`, `AT+CPSMS?`, `AT+SQNIBRCFG?`, `AT+SQNCTM?`, `AT+SQNCTM=?` | stored settings |
//! | `AT+SMDD` | a band report that says `17 bands` |
//! | `AT!="showver"` | `Software     : … [41019] …` |
//! | `AT+CGDATA="PPP",<cid>` | `CONNECT` and data mode when registered, else `ERROR` |
//! | `ATO` | `CONNECT` when a data session was suspended, else `NO CARRIER` |
//! | `+++` (1 s guard before and after) in data mode | `OK`, session suspended |
//! | `AT^RESET` | `OK`, reboot, `+SYSSTART` |
//! | anything else | `ERROR` |
//!
//! Unsolicited: `+CEREG: <stat>` on each registration change when `AT+CEREG` ≥ 1;
//! `+SYSSTART` when a boot completes. The network: `AT+CFUN=1` with a SIM starts a search
//! (stat 2), registration (stat 1) follows after `attach_delay`; CFUN 0 or 4 drops it.
//! In data mode the modem is no PPP peer: the firmware's LCP frames get no answer, so
//! `isconnected()` stays False after `connect()`.
//!
//! Assumptions (no Sequans datasheet is public; each is a choice a GPy could refute):
//!
//! | # | assumption | why |
//! |---|---|---|
//! | 1 | the modem is powered, and boots, with the board (a power cut reboots it); an ESP32 reset (EN, watchdog, deep sleep) leaves it running | no power/reset GPIO in Pycom's sources; the boot task sends `+++` to leave a PPP session left over from before the reset |
//! | 2 | boot takes 1 s, then `\r\n+SYSSTART\r\n` (held while RTS is high, lost if UART2 is not routed to the pads yet); before that input is ignored | the firmware waits for `+SYSSTART` after `AT^RESET`, with 9.5 s timeouts |
//! | 3 | answers start 1 ms after the command's `\r` has arrived (`AT+CFUN=1`'s search 2 ms after, behind its `OK`); a reboot answers `OK` first | the firmware only needs the answer within its 300 ms / 9.5 s timeouts |
//! | 4 | the UART runs at 921600 8N1 only; a UART2 set to another rate (±3 %) or framing is not understood either way | `MICROPY_LTE_UART_BAUDRATE`; the firmware's 115200 probe (`lteppp_check_ffh_mode`) is for the recovery (FFH) mode, not modelled |
//! | 5 | the modem always accepts input (its RTS, the ESP32's CTS, stays low while it runs) and holds output while the ESP32's RTS is high (`U2RTS` routed to the wired pad, SW_RTS = 0 and no RX flow control) | V.24 flow control; the firmware releases RTS before its first command |
//! | 6 | echo on after boot (V.250 default `E1`), characters echoed as they arrive | the firmware sends `ATE0` first and flushes RX before every command |
//! | 7 | characters before `AT` on a line are dropped (so `+++AT` is `AT`) | V.250 §5.2.1: a command line starts with the `AT` prefix |
//! | 8 | after boot CFUN is 0 (radio and SIM off), PSM off, `+SQNIBRCFG: 0,100`, carrier `standard`, CEREG n = 0 | the boot task reads CFUN and turns the SIM on with `CFUN=4` |
//! | 9 | errors are plain `ERROR` (`AT+CMEE=0`) | V.250 / 27.007 default |
//! | 10 | identity: `SEQUANS Communications`, model `SQN3330`, software `UE5.4.1.0-41019` (`[41019]` in `showver`), IMEI starting `35434` (the firmware's `imei()` looks for it), IMSI 001010123456789, ICCID 8988228066612345678 | the firmware's parsers; 41019 is above `SQNS_SW_FULL_BAND_SUPPORT` (41000) |
//! | 11 | `AT+SMDD` reports `17 bands` (the newer hardware, so bands 5 and 8 are scanned too) | `lte_attach` looks for that string |
//! | 12 | the network: test PLMN 00101, TAC 0001, cell 01A2D001, AcT 7 (LTE-M), RSSI index 18 (−77 dBm) | configurable where it matters (`attach_delay`, `csq`, SIM, coverage) |
//! | 13 | data mode answers no PPP frames; `+++` needs ≥ 1 s silence before and after (S12 = 50) | V.250 escape; the firmware waits 1150 ms around it |

use crate::gpio::{Drive, Gpio};
use crate::time::{Ps, PS_PER_S};
use crate::uart::{Line, Parity, Uart};
use std::collections::VecDeque;

const MS: Ps = 1_000_000_000;
const SEC: Ps = PS_PER_S as Ps;
/// The only rate the modem talks (assumption 4).
pub const BAUD: u32 = 921_600;
/// Modem boot time from power-on or a reboot command (assumption 2).
pub const BOOT_TIME: Ps = SEC;
/// From a command's `\r` to the first byte of its answer (assumption 3).
pub const RESPONSE_DELAY: Ps = MS;
/// From `AT+CFUN=<f>`'s `\r` to the radio changing state (after the `OK`, so a `+CEREG`
/// URC follows it).
pub const SEARCH_AFTER: Ps = 2 * MS;
/// Guard time around the `+++` escape (assumption 13).
pub const ESCAPE_GUARD: Ps = SEC;
/// Longest command line kept (longer ones are cut; the firmware's limit is 124 bytes).
const LINE_MAX: usize = 1024;

/// What the simulated network and SIM look like.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModemConfig {
    /// Whether the modem answers at all (false: a dead modem, as the firmware sees one
    /// without a modem fitted).
    pub alive: bool,
    /// A SIM is inserted.
    pub sim: bool,
    /// From `AT+CFUN=1` to registration; None: no coverage, the search never ends.
    pub attach_delay: Option<Ps>,
    /// `AT+CSQ` RSSI index (0..31, 99 unknown) while the radio is on.
    pub rssi: u8,
    pub imei: String,
    pub imsi: String,
    pub iccid: String,
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig {
            alive: true,
            sim: true,
            attach_delay: Some(2 * SEC),
            rssi: 18,
            imei: "354347090012345".into(),
            imsi: "001010123456789".into(),
            iccid: "8988228066612345678".into(),
        }
    }
}

/// 3GPP TS 27.007 `<stat>` of +CEREG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reg {
    NotSearching = 0,
    Home = 1,
    Searching = 2,
}

/// The modem's data path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Mode {
    /// Booting until the given time.
    Booting(Ps),
    Command,
    /// Online data (PPP): bytes go to the network, `+++` escapes.
    Data,
}

/// The modem itself: bytes in at their arrival time, bytes out at the time they start.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Monarch {
    pub cfg: ModemConfig,
    mode: Mode,
    line: Vec<u8>,
    echo: bool,
    cfun: u8,
    cereg_n: u8,
    reg: Reg,
    /// When the network search started (CFUN=1): registration at + attach_delay.
    search_since: Option<Ps>,
    psm: String,
    ibr: String,
    pdp: Vec<(u32, String, String)>,
    bands: Vec<u32>,
    /// A data session left with `+++` (ATO resumes it).
    suspended: bool,
    /// Data mode escape: time of the last byte, and the pluses seen after a guard.
    last_rx: Ps,
    pluses: u8,
    escape_at: Option<Ps>,
    /// Answers scheduled: (time the first byte starts, bytes), in time order.
    out: VecDeque<(Ps, Vec<u8>)>,
    /// Every command line taken, with the time its `\r` arrived (tests, traces).
    pub log: Vec<(Ps, String)>,
}

impl Monarch {
    /// Powered on at `now`: booting.
    pub fn new(cfg: ModemConfig, now: Ps) -> Monarch {
        let mut m = Monarch {
            cfg,
            mode: Mode::Command,
            line: Vec::new(),
            echo: true,
            cfun: 0,
            cereg_n: 0,
            reg: Reg::NotSearching,
            search_since: None,
            psm: String::new(),
            ibr: String::new(),
            pdp: Vec::new(),
            bands: Vec::new(),
            suspended: false,
            last_rx: 0,
            pluses: 0,
            escape_at: None,
            out: VecDeque::new(),
            log: Vec::new(),
        };
        m.boot(now);
        m
    }

    /// A (re)boot starting at `now`: volatile settings back to their defaults (assumption 8).
    fn boot(&mut self, now: Ps) {
        self.mode = Mode::Booting(now + BOOT_TIME);
        self.line.clear();
        self.echo = true;
        self.cfun = 0;
        self.cereg_n = 0;
        self.reg = Reg::NotSearching;
        self.search_since = None;
        self.psm = "0,,,\"00001010\",\"00000001\"".into();
        self.ibr = "0,100".into();
        self.bands.clear();
        self.suspended = false;
        self.pluses = 0;
        self.escape_at = None;
    }

    pub fn registration(&self) -> Reg {
        self.reg
    }

    pub fn in_data_mode(&self) -> bool {
        self.mode == Mode::Data
    }

    pub fn booting(&self) -> bool {
        matches!(self.mode, Mode::Booting(_))
    }

    /// The next time the modem does something by itself (an answer starts, boot ends,
    /// registration, an escape completes).
    pub fn next_event(&self) -> Option<Ps> {
        if !self.cfg.alive {
            return None;
        }
        let mut t = self.out.front().map(|o| o.0);
        let mut at = |x: Ps| t = Some(t.map_or(x, |y: Ps| y.min(x)));
        if let Mode::Booting(end) = self.mode {
            at(end);
        }
        if let Some(r) = self.registers_at() {
            at(r);
        }
        if let Some(e) = self.escape_at {
            at(e);
        }
        t
    }

    fn registers_at(&self) -> Option<Ps> {
        match (self.reg, self.search_since, self.cfg.attach_delay) {
            (Reg::Searching, Some(s), Some(d)) => Some(s + d),
            _ => None,
        }
    }

    /// Carries out what is due by `now` and hands over the answers that start by then.
    pub fn advance(&mut self, now: Ps) -> Vec<(Ps, Vec<u8>)> {
        if !self.cfg.alive {
            return Vec::new();
        }
        self.step(now);
        let n = self.out.iter().take_while(|o| o.0 <= now).count();
        self.out.drain(..n).collect()
    }

    /// Carries out the internal events due by `now`, in time order (the answers they cause
    /// join `out`).
    fn step(&mut self, now: Ps) {
        loop {
            // Internal events in time order (answers they cause are scheduled in `out`).
            let boot = match self.mode {
                Mode::Booting(end) if end <= now => Some(end),
                _ => None,
            };
            let reg = self.registers_at().filter(|&t| t <= now);
            let esc = self.escape_at.filter(|&t| t <= now);
            let Some(t) = [boot, reg, esc].into_iter().flatten().min() else { break };
            if boot == Some(t) {
                self.mode = Mode::Command;
                self.send(t, b"\r\n+SYSSTART\r\n".to_vec());
            } else if reg == Some(t) {
                self.set_reg(Reg::Home, t);
            } else {
                self.escape_at = None;
                self.pluses = 0;
                self.mode = Mode::Command;
                self.suspended = true;
                self.send(t, b"\r\nOK\r\n".to_vec());
            }
        }
    }

    /// Answers still scheduled (start time, bytes).
    pub fn pending(&self) -> impl Iterator<Item = &(Ps, Vec<u8>)> {
        self.out.iter()
    }

    fn send(&mut self, at: Ps, bytes: Vec<u8>) {
        let i = self.out.partition_point(|o| o.0 <= at);
        self.out.insert(i, (at, bytes));
    }

    fn set_reg(&mut self, reg: Reg, now: Ps) {
        if reg == self.reg {
            return;
        }
        self.reg = reg;
        if self.cereg_n >= 1 {
            let urc = format!("\r\n+CEREG: {}\r\n", self.cereg_fields(false));
            self.send(now, urc.into_bytes());
        }
    }

    /// `<stat>` and, for n = 2 while registered, TAC, cell id and AcT.
    fn cereg_fields(&self, with_n: bool) -> String {
        let mut s = String::new();
        if with_n {
            s += &format!("{},", self.cereg_n);
        }
        s += &(self.reg as u8).to_string();
        if self.cereg_n >= 2 && self.reg == Reg::Home {
            s += ",\"0001\",\"01A2D001\",7";
        }
        s
    }

    fn set_cfun(&mut self, f: u8, now: Ps) {
        self.cfun = f;
        if f == 1 && self.cfg.sim {
            if self.reg == Reg::NotSearching {
                self.search_since = Some(now);
                self.set_reg(Reg::Searching, now);
            }
        } else {
            self.search_since = None;
            self.suspended = false;
            self.set_reg(Reg::NotSearching, now);
        }
    }

    /// A byte from the ESP32 has arrived completely at `at` (times never go back).
    pub fn receive(&mut self, b: u8, at: Ps) {
        if !self.cfg.alive {
            return;
        }
        self.step(at);
        match self.mode {
            Mode::Booting(_) => {}
            Mode::Data => self.data_byte(b, at),
            Mode::Command => {
                if self.echo {
                    self.send(at, vec![b]);
                }
                match b {
                    b'\r' => {
                        let line = std::mem::take(&mut self.line);
                        self.command_line(&line, at);
                    }
                    // Backspace edits the line (V.250 S5).
                    8 => {
                        self.line.pop();
                    }
                    b'\n' => {}
                    _ if self.line.len() < LINE_MAX => self.line.push(b),
                    _ => {}
                }
            }
        }
    }

    /// Online data: PPP bytes go nowhere; `+++` framed by guard times escapes.
    fn data_byte(&mut self, b: u8, at: Ps) {
        let quiet = at.saturating_sub(self.last_rx) >= ESCAPE_GUARD;
        self.last_rx = at;
        self.escape_at = None;
        if b == b'+' && (self.pluses > 0 || quiet) && self.pluses < 3 {
            self.pluses += 1;
            if self.pluses == 3 {
                self.escape_at = Some(at + ESCAPE_GUARD);
            }
        } else {
            self.pluses = 0;
        }
    }

    /// One command line (the `\r` arrived at `at`).
    fn command_line(&mut self, raw: &[u8], at: Ps) {
        // Drop what precedes the AT prefix (assumption 7).
        let Some(start) = raw.windows(2).position(|w| w.eq_ignore_ascii_case(b"AT")) else { return };
        let text = String::from_utf8_lossy(&raw[start..]).into_owned();
        self.log.push((at, text.clone()));
        let t = at + RESPONSE_DELAY;
        let (info, result) = self.execute(&text, at);
        let mut s = String::new();
        for l in &info {
            s += &format!("\r\n{l}");
        }
        if !info.is_empty() {
            s += "\r\n";
        }
        match &result {
            Answer::Ok => s += "\r\nOK\r\n",
            Answer::Error => s += "\r\nERROR\r\n",
            Answer::Connect => s += "\r\nCONNECT\r\n",
            Answer::NoCarrier => s += "\r\nNO CARRIER\r\n",
            Answer::Reboot => s += "\r\nOK\r\n",
        }
        self.send(t, s.into_bytes());
        match result {
            Answer::Connect => {
                self.mode = Mode::Data;
                self.suspended = false;
                self.last_rx = at;
                self.pluses = 0;
            }
            Answer::Reboot => self.boot(t),
            _ => {}
        }
    }

    /// Runs one command: information lines and the final result.
    fn execute(&mut self, cmd: &str, now: Ps) -> (Vec<String>, Answer) {
        let up = cmd.to_ascii_uppercase();
        let body = &up[2..];
        let ok = |v: Vec<String>| (v, Answer::Ok);
        let err = (Vec::new(), Answer::Error);
        let one = |s: String| (vec![s], Answer::Ok);
        match body {
            "" | "&F" | "H" | "Z" => {
                if body == "H" {
                    self.suspended = false;
                }
                ok(vec![])
            }
            "E0" | "E1" | "E" => {
                self.echo = body == "E1";
                ok(vec![])
            }
            "I" => ok(vec!["SEQUANS Communications".into(), "SQN3330".into(), "UE5.4.1.0".into()]),
            "I1" => ok(vec!["UE5.4.1.0".into(), "LR5.4.1.0-41019".into()]),
            "+CGMI" => one("SEQUANS Communications".into()),
            "+CGMM" => one("SQN3330".into()),
            "+CGMR" => one("UE5.4.1.0-41019".into()),
            "+CGSN" => one(self.cfg.imei.clone()),
            "+CIMI" if self.sim_ready() => one(self.cfg.imsi.clone()),
            "+CCID" if self.sim_ready() => one(format!("+CCID: \"{}\"", self.cfg.iccid)),
            "+SQNCCID?" if self.sim_ready() => one(format!("+SQNCCID: \"{}\",\"\"", self.cfg.iccid)),
            "+CPIN?" if self.sim_ready() => one("+CPIN: READY".into()),
            "+CFUN?" => one(format!("+CFUN: {}", self.cfun)),
            "+CEREG?" => one(format!("+CEREG: {}", self.cereg_fields(true))),
            "+CGATT?" => one(format!("+CGATT: {}", (self.reg == Reg::Home) as u8)),
            "+CSQ" => one(if self.cfun == 1 { format!("+CSQ: {},99", self.cfg.rssi) } else { "+CSQ: 99,99".into() }),
            "+COPS?" => one(if self.reg == Reg::Home { "+COPS: 0,2,\"00101\",7".into() } else { "+COPS: 0".into() }),
            "+CPSMS?" => one(format!("+CPSMS: {}", self.psm)),
            "+SQNIBRCFG?" => one(format!("+SQNIBRCFG: {}", self.ibr)),
            "+SQNCTM?" => one("+SQNCTM: \"standard\"".into()),
            "+SQNCTM=?" => one("+SQNCTM: (\"standard\",\"att\",\"verizon\")".into()),
            "+CGDCONT?" => {
                ok(self.pdp.iter().map(|(c, t, a)| format!("+CGDCONT: {c},\"{t}\",\"{a}\",,,,0,0,0,0,0,0")).collect())
            }
            "+SMDD" => ok(vec!["Monarch band capabilities: 17 bands".into(), "1,2,3,4,5,8,12,13,14,17,18,19,20,25,26,28,66".into()]),
            "^RESET" => (vec![], Answer::Reboot),
            "O" if self.suspended && self.reg == Reg::Home => (vec![], Answer::Connect),
            "O" => (vec![], Answer::NoCarrier),
            _ => self.execute_args(cmd, body, now).unwrap_or(err),
        }
    }

    /// Commands with arguments (`=`) and Sequans' `AT!="…"`; None for ERROR.
    fn execute_args(&mut self, cmd: &str, body: &str, now: Ps) -> Option<(Vec<String>, Answer)> {
        let (name, args) = body.split_once('=')?;
        // Arguments as typed (strings keep their case).
        let raw_args = &cmd[cmd.len() - args.len()..];
        let nums = || args.split(',').map(|a| a.trim().parse::<u32>().ok()).collect::<Vec<_>>();
        let ok = Some((Vec::new(), Answer::Ok));
        match name {
            "+CFUN" => {
                let n = nums();
                let f = n.first().copied().flatten().filter(|f| matches!(f, 0 | 1 | 4))? as u8;
                let rst = n.get(1).copied().flatten().unwrap_or(0) == 1;
                if rst {
                    return Some((Vec::new(), Answer::Reboot));
                }
                self.set_cfun(f, now + SEARCH_AFTER);
                ok
            }
            "+CEREG" => {
                let n = nums().first().copied().flatten().filter(|&n| n <= 5)?;
                self.cereg_n = n as u8;
                ok
            }
            "+CPSMS" => {
                let mode = nums().first().copied().flatten().filter(|&m| m <= 1)?;
                self.psm = if mode == 0 { format!("0{}", &self.psm[1..]) } else { raw_args.to_string() };
                ok
            }
            "+SQNIBRCFG" => {
                self.ibr = raw_args.to_string();
                ok
            }
            "+CGDCONT" => {
                let mut it = raw_args.split(',');
                let cid = it.next()?.trim().parse::<u32>().ok()?;
                let unq = |s: Option<&str>| s.unwrap_or("").trim().trim_matches('"').to_string();
                let (ty, apn) = (unq(it.next()), unq(it.next()));
                self.pdp.retain(|p| p.0 != cid);
                self.pdp.push((cid, if ty.is_empty() { "IP".into() } else { ty }, apn));
                ok
            }
            "+CGDATA" => {
                // `"PPP",<cid>`: the data session needs registration.
                (self.reg == Reg::Home && self.cfun == 1 && args.starts_with("\"PPP\"")).then_some((Vec::new(), Answer::Connect))
            }
            "+SQNCTM" => ok,
            "!" => self.sequans_command(raw_args.trim().trim_matches('"')),
            _ => None,
        }
    }

    /// `AT!="…"`: the Sequans shell commands the firmware uses.
    fn sequans_command(&mut self, c: &str) -> Option<(Vec<String>, Answer)> {
        let ok = Some((Vec::new(), Answer::Ok));
        if c == "showver" {
            return Some((
                vec!["SYSTEM VERSION".into(), "==============".into(), "  FIRMWARE VERSION".into(), "    Bootloader1  : 5.1.1.0 [39529]".into(), "    Software     : 5.4.1.0 [41019] by robot-soft at 2019-05-21 11:44:07".into()],
                Answer::Ok,
            ));
        }
        if c == "clearscanconfig" {
            self.bands.clear();
            return ok;
        }
        if let Some(b) = c.strip_prefix("RRC::addScanBand band=") {
            self.bands.push(b.trim().parse().ok()?);
            return ok;
        }
        (c.starts_with("setlpm ") || c.starts_with("disablelog ")).then_some((Vec::new(), Answer::Ok))
    }

    fn sim_ready(&self) -> bool {
        self.cfg.sim && self.cfun != 0
    }

    /// Bands `AT!="RRC::addScanBand …"` configured.
    pub fn scan_bands(&self) -> &[u32] {
        &self.bands
    }
}

enum Answer {
    Ok,
    Error,
    Connect,
    NoCarrier,
    Reboot,
}

// -------------------------------------------------------------------- on the board

/// GPIO-matrix signals of UART2 (IDF `gpio_sig_map.h`): U2RXD_IN / U2TXD_OUT 198,
/// U2CTS_IN / U2RTS_OUT 199.
const U2_DATA: u32 = 198;
const U2_FLOW: u32 = 199;

/// How the modem hangs off the ESP32 (pads as the ESP32 names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wiring {
    /// The ESP32's TX pad (the modem's RXD).
    pub tx: u8,
    /// The ESP32's RX pad (the modem's TXD).
    pub rx: u8,
    /// The ESP32's RTS pad (the modem's CTS).
    pub rts: u8,
    /// The ESP32's CTS pad (the modem's RTS).
    pub cts: u8,
}

/// The modem on UART2 at its pads.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Attached {
    pub modem: Monarch,
    pub wiring: Wiring,
    /// Bytes lost because UART2 was not routed to the modem's pads or ran another line.
    pub garbled: u64,
    /// Answers waiting for the ESP32's RTS.
    held: VecDeque<(Ps, Vec<u8>)>,
}

impl Attached {
    pub fn new(cfg: ModemConfig, wiring: Wiring) -> Attached {
        Attached { modem: Monarch::new(cfg, 0), wiring, garbled: 0, held: VecDeque::new() }
    }

    /// The line both sides agree on: 921600 8N1 within 3 %.
    fn line_ok(line: Line) -> bool {
        let tol = BAUD / 33;
        line.baud.abs_diff(BAUD) <= tol && line.data_bits == 8 && line.parity == Parity::None && line.stop_half_bits == 2
    }

    /// UART2's TX signal reaches the modem: the matrix routes U2TXD_OUT to the TX pad.
    fn tx_routed(&self, gpio: &Gpio) -> bool {
        gpio.regs.get(0x530 + 4 * self.wiring.tx as u32) & 0x1FF == U2_DATA
    }

    /// The modem's TXD reaches UART2: U2RXD_IN takes the RX pad through the matrix.
    fn rx_routed(&self, gpio: &Gpio) -> bool {
        let cfg = gpio.regs.get(0x130 + 4 * U2_DATA);
        cfg & 0x80 != 0 && cfg & 0x3F == self.wiring.rx as u32
    }

    /// The ESP32 holds the modem off: U2RTS_OUT on the RTS pad, high (SW_RTS = 0, no
    /// hardware RX flow control, which would keep it low: the UART never overflows here).
    fn rts_high(&self, gpio: &Gpio, uart: &Uart) -> bool {
        let routed = gpio.regs.get(0x530 + 4 * self.wiring.rts as u32) & 0x1FF == U2_FLOW;
        let conf0 = uart.regs.get(crate::uart::CONF0);
        let conf1 = uart.regs.get(crate::uart::CONF1);
        routed && !crate::uart::CONF0::SW_RTS.on(conf0) && !crate::uart::CONF1::RX_FLOW_EN.on(conf1)
    }

    /// The ESP32 sent `b`, complete on the wire at `at`.
    pub fn from_esp32(&mut self, b: u8, at: Ps, gpio: &Gpio, uart: &Uart, apb_hz: u64) {
        if self.tx_routed(gpio) && Self::line_ok(uart.line(apb_hz)) {
            self.modem.receive(b, at);
        } else {
            self.garbled += 1;
        }
    }

    /// Brings the modem to `now`: its answers start arriving at UART2 (unless RTS holds
    /// them); it drives its TXD (idle high) and RTS (low: ready) pads while alive.
    /// Returns its next event.
    pub fn sync(&mut self, now: Ps, gpio: &mut Gpio, uart: &mut Uart, apb_hz: u64) -> Option<Ps> {
        let alive = self.modem.cfg.alive;
        let (txd, ready) = if alive { (Drive::High, Drive::Low) } else { (Drive::Float, Drive::Float) };
        gpio.drive[self.wiring.rx as usize] = txd;
        gpio.drive[self.wiring.cts as usize] = ready;
        self.held.extend(self.modem.advance(now));
        if !self.rts_high(gpio, uart) {
            let listening = self.rx_routed(gpio) && Self::line_ok(uart.line(apb_hz));
            for (t, bytes) in self.held.drain(..) {
                if listening {
                    uart.push_rx(&bytes, t.min(now), apb_hz);
                } else {
                    self.garbled += bytes.len() as u64;
                }
            }
        }
        self.modem.next_event()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte time at 921600 8N1.
    const CHAR: Ps = 10 * SEC / BAUD as u64;

    /// A host standing in for lteppp: writes a command at `t` (one character time apart,
    /// then `\r` unless `+++`), collects what the modem sends up to `t + wait`.
    struct Host {
        m: Monarch,
        t: Ps,
    }

    impl Host {
        fn booted(cfg: ModemConfig) -> Host {
            let mut h = Host { m: Monarch::new(cfg, 0), t: 0 };
            // RTS released after boot: the firmware flushes what came before.
            h.t = BOOT_TIME + 500 * MS;
            h.m.advance(h.t);
            h
        }

        fn wait(&mut self, d: Ps) -> String {
            self.t += d;
            let out = self.m.advance(self.t);
            out.into_iter().map(|(_, b)| String::from_utf8(b).unwrap()).collect()
        }

        /// `lteppp_send_at_cmd`: flush, write, `\r`, wait; returns what arrived.
        fn cmd(&mut self, c: &str, wait: Ps) -> String {
            self.m.advance(self.t);
            for b in c.bytes().chain((c != "+++").then_some(b'\r')) {
                self.t += CHAR;
                self.m.receive(b, self.t);
            }
            self.wait(wait)
        }
    }

    const MIN: Ps = 300 * MS;
    const MAX: Ps = 9500 * MS;

    #[test]
    fn boot_dialogue_as_lteppp_sends_it() {
        let mut h = Host::booted(ModemConfig::default());
        // +++ in command mode: echoed, no answer within the 1150 ms back-off.
        assert_eq!(h.cmd("+++", 1150 * MS), "+++");
        // The first AT carries the pluses before it: dropped, OK (echo still on).
        assert_eq!(h.cmd("AT", MIN), "AT\r\r\nOK\r\n");
        assert_eq!(h.cmd("AT", MIN), "AT\r\r\nOK\r\n");
        assert_eq!(h.cmd("ATE0", MIN), "ATE0\r\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CPSMS=0", MIN), "\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CEREG=1", MIN), "\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CFUN?", MAX), "\r\n+CFUN: 0\r\n\r\nOK\r\n");
        // Not 1 or 4: the firmware turns the SIM on.
        assert_eq!(h.cmd("AT+CFUN=4", MAX), "\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CPIN?", MAX), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CFUN?", MAX), "\r\n+CFUN: 4\r\n\r\nOK\r\n");
        assert_eq!(h.cmd("AT!=\"setlpm airplane=1 enable=1\"", MAX), "\r\nOK\r\n");
        let ibr = h.cmd("AT+SQNIBRCFG?", MAX);
        assert!(!ibr.contains("+SQNIBRCFG: 1,100") && ibr.ends_with("\r\nOK\r\n"), "{ibr:?}");
        assert_eq!(h.cmd("AT+SQNIBRCFG=1,100", MAX), "\r\nOK\r\n");
        assert_eq!(h.cmd("AT+SQNIBRCFG?", MAX), "\r\n+SQNIBRCFG: 1,100\r\n\r\nOK\r\n");
        assert_eq!(h.m.log.len(), 13, "{:?}", h.m.log);
        // Each answer starts RESPONSE_DELAY after its \r.
        assert!(h.m.pending().next().is_none());
    }

    /// LTE(), attach() with no band given, isattached() polled, then send_at_cmd().
    #[test]
    fn lte_attach_isattached_and_identity() {
        let cfg = ModemConfig { attach_delay: Some(2 * SEC), ..ModemConfig::default() };
        let mut h = Host::booted(cfg);
        for c in ["AT", "AT", "ATE0", "AT+CEREG=1", "AT+CFUN=4"] {
            h.cmd(c, MIN);
        }
        // LTE(): CFUN? reads 4, carrier check, CFUN=4.
        assert!(h.cmd("AT+CFUN?", MIN).contains("+CFUN: 4"));
        assert!(h.cmd("AT+SQNCTM?", MAX).contains("standard"));
        // attach(): lte_check_attached, SIM, carrier, bands, version, scan bands, CFUN=1.
        assert!(h.cmd("AT+CGATT?", MIN).contains("+CGATT: 0"));
        assert!(h.cmd("AT+CEREG?", MIN).contains("+CEREG: 1,0"));
        assert!(h.cmd("AT+CPIN?", MAX).contains("READY"));
        assert!(h.cmd("AT+SMDD", MAX).contains("17 bands"));
        let ver = h.cmd("AT!=\"showver\"", MAX);
        let v = ver.split("Software     :").nth(1).and_then(|s| s.split('[').nth(1)).and_then(|s| s.split(']').next());
        assert_eq!(v, Some("41019"), "{ver}");
        assert_eq!(h.cmd("AT!=\"clearscanconfig\"", MIN), "\r\nOK\r\n");
        for b in [3, 4, 5, 8, 12, 13, 20, 28] {
            assert_eq!(h.cmd(&format!("AT!=\"RRC::addScanBand band={b}\""), MIN), "\r\nOK\r\n");
        }
        assert_eq!(h.m.scan_bands(), &[3, 4, 5, 8, 12, 13, 20, 28]);
        assert_eq!(h.cmd("AT!=\"disablelog 1\"", MAX), "\r\nOK\r\n");
        // The search starts once OK is out (SEARCH_AFTER after the \r).
        let search = h.t + 10 * CHAR + SEARCH_AFTER;
        // CFUN=1: OK, then the search URC.
        assert_eq!(h.cmd("AT+CFUN=1", MIN), "\r\nOK\r\n\r\n+CEREG: 2\r\n");
        assert!(h.cmd("AT+CSQ", MIN).contains("+CSQ: 18,99"));
        assert!(h.cmd("AT+CGATT?", MIN).contains("+CGATT: 0"));
        // Registered attach_delay after CFUN=1's \r (virtual time), with the URC.
        let reg_at = h.m.next_event().unwrap();
        assert_eq!(reg_at, search + 2 * SEC);
        assert_eq!(h.wait(reg_at - h.t), "\r\n+CEREG: 1\r\n");
        assert!(h.cmd("AT+CGATT?", MIN).contains("+CGATT: 1"));
        assert!(h.cmd("AT+CEREG?", MIN).contains("+CEREG: 1,1"));
        assert!(h.cmd("AT+CFUN?", MIN).contains("+CFUN: 1"));
        assert_eq!(h.cmd("AT+CGMI", MAX), "\r\nSEQUANS Communications\r\n\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CGMM", MAX), "\r\nSQN3330\r\n\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CGMR", MAX), "\r\nUE5.4.1.0-41019\r\n\r\nOK\r\n");
        assert_eq!(h.cmd("AT+CIMI", MAX), "\r\n001010123456789\r\n\r\nOK\r\n");
        assert!(h.cmd("AT+CGSN", MAX).contains("\r\n35434"));
        let iccid = h.cmd("AT+SQNCCID?", MAX);
        assert!(iccid.contains("SQNCCID: \"8988228066612345678\""), "{iccid}");
        assert_eq!(h.cmd("AT+NOPE", MAX), "\r\nERROR\r\n");
    }

    /// connect(): ATO first (NO CARRIER), then CGDATA → CONNECT; disconnect(): +++ with
    /// guard times → OK, ATH, AT.
    #[test]
    fn connect_and_disconnect() {
        let mut h = Host::booted(ModemConfig { attach_delay: Some(SEC), ..ModemConfig::default() });
        h.cmd("ATE0", MIN);
        h.cmd("AT+CFUN=1", MIN);
        h.wait(2 * SEC);
        assert!(h.cmd("ATI1", MAX).contains("LR5.4.1.0-41019"));
        assert_eq!(h.cmd("ATO", MAX), "\r\nNO CARRIER\r\n");
        assert_eq!(h.cmd("AT+CGDATA=\"PPP\",1", MAX), "\r\nCONNECT\r\n");
        assert!(h.m.in_data_mode());
        // PPP frames from lwIP: no answer.
        assert_eq!(h.cmd("~\x7d\x23\x7e", 25 * MS), "");
        // +++ too soon after data: stays in data mode.
        assert_eq!(h.cmd("+++", 2 * SEC), "");
        assert!(h.m.in_data_mode());
        // lte_pause_ppp: 1150 ms quiet, +++, OK after the guard.
        h.wait(1150 * MS);
        assert_eq!(h.cmd("+++", 1150 * MS), "\r\nOK\r\n");
        assert!(!h.m.in_data_mode());
        assert_eq!(h.cmd("ATO", MAX), "\r\nCONNECT\r\n", "a suspended session resumes");
        h.wait(1150 * MS);
        assert_eq!(h.cmd("+++", 1150 * MS), "\r\nOK\r\n");
        assert_eq!(h.cmd("ATH", MAX), "\r\nOK\r\n");
        assert_eq!(h.cmd("ATO", MAX), "\r\nNO CARRIER\r\n");
    }

    #[test]
    fn reset_reboots_with_sysstart_and_no_sim_or_coverage_never_attaches() {
        let mut h = Host::booted(ModemConfig { sim: false, ..ModemConfig::default() });
        h.cmd("ATE0", MIN);
        h.cmd("AT+CFUN=4", MIN);
        assert_eq!(h.cmd("AT+CPIN?", MAX), "\r\nERROR\r\n");
        h.cmd("AT+CFUN=1", MIN);
        assert!(h.cmd("AT+CEREG?", MIN).contains("+CEREG: 0,0"));
        assert_eq!(h.cmd("AT^RESET", MIN), "\r\nOK\r\n");
        assert!(h.m.booting());
        assert_eq!(h.cmd("AT", MIN), "", "ignored while booting");
        assert_eq!(h.wait(BOOT_TIME), "\r\n+SYSSTART\r\n");
        assert_eq!(h.cmd("AT", MIN), "AT\r\r\nOK\r\n", "echo back on after a reboot");

        let mut h = Host::booted(ModemConfig { attach_delay: None, ..ModemConfig::default() });
        h.cmd("ATE0", MIN);
        h.cmd("AT+CFUN=1", MIN);
        assert_eq!(h.m.next_event(), None);
        h.wait(600 * SEC);
        assert!(h.cmd("AT+CGATT?", MIN).contains("+CGATT: 0"));
        assert_eq!(h.m.registration(), Reg::Searching);
    }

    #[test]
    fn a_dead_modem_says_nothing() {
        let mut h = Host::booted(ModemConfig { alive: false, ..ModemConfig::default() });
        assert_eq!(h.cmd("AT", 10 * SEC), "");
        assert_eq!(h.m.next_event(), None);
    }
}
