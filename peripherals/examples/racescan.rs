//! The start-up paths `tests/repl.rs` takes through the Pycom firmware's LED-frame / idle-hook
//! race (docs/known-issues.md), each reported as won or lost: a quick look at whether a timing
//! change moved the phase onto a losing one, without running the test suite.
//!
//! `cargo run --release -p peripherals --example racescan [FIRMWARE_DIR]`; `RACESCAN_ONLY=r7,r7_raw`
//! runs some scenarios only, `RACESCAN_SHOW=1` prints the output of a lost one.

use images::board::Board;
use images::compose::{build, Firmware, Overrides};
use peripherals::gpio::Drive;
use peripherals::{Machine, MachineConfig};
use std::path::PathBuf;

const CONFIG: &str = "wifi_on_boot=0,lte_modem_on_boot=0,wdt_on_boot=0";
const S: u64 = 1_000_000_000_000;
const R7: &str = "LoPy4-1.20.2.r7.tar.gz";

/// A board at its UART, stepped as the REPL tests step it (20 ms of virtual time at a time).
struct Dut {
    m: Machine,
    out: Vec<u8>,
    seen: usize,
}

impl Dut {
    fn power_on(board: &Board, flash: &[u8], p12_hold_s: Option<f64>) -> Dut {
        Dut::power_on_as(board, flash, p12_hold_s, false)
    }

    /// `cli`: configured as `pyemu run` configures the board (its MAC and RNG seed), not as
    /// the REPL tests do.
    fn power_on_as(board: &Board, flash: &[u8], p12_hold_s: Option<f64>, cli: bool) -> Dut {
        let mut f = peripherals::flash::Flash::new_in_memory(board.flash_size);
        f.load(0, flash);
        let cfg = if cli {
            let h = board.id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
            MachineConfig { seed: 0x5EED, ..MachineConfig::for_board(board, [0x30, 0xAE, 0xA4, (h >> 16) as u8, (h >> 8) as u8, h as u8]) }
        } else {
            MachineConfig::for_board(board, [0x30, 0xAE, 0xA4, 1, 2, 3])
        };
        let mut m = Machine::new(images::rom::Rom::esp32(), f, cfg).unwrap();
        if let Some(t) = p12_hold_s {
            m.set_drive(21, Drive::High);
            m.schedule_drive((t * S as f64) as u64, 21, Drive::Float);
        }
        m.power_on();
        Dut { m, out: Vec::new(), seen: 0 }
    }

    /// Output up to `needle`, or None after `max_s` s (or a Guru Meditation) without it.
    fn until(&mut self, needle: &str, max_s: u64) -> Option<String> {
        let deadline = self.m.now_ps + max_s * S;
        loop {
            let text = String::from_utf8_lossy(&self.out[self.seen..]).to_string();
            if let Some(i) = text.find(needle) {
                self.seen += text[..i + needle.len()].len();
                return Some(text[..i + needle.len()].to_string());
            }
            if self.m.now_ps >= deadline || text.contains("Guru Meditation") {
                if std::env::var_os("RACESCAN_SHOW").is_some() {
                    eprintln!("--- no {needle:?} by {} ps:\n{text}", self.m.now_ps);
                }
                return None;
            }
            let t = (self.m.now_ps + S / 50).min(deadline);
            self.m.run_until(t);
            self.out.append(&mut self.m.uart0_out);
        }
    }

    fn cmd(&mut self, line: &str) -> Option<String> {
        self.m.uart0_input(format!("{line}\r").as_bytes());
        self.until("\r\n>>> ", 30)
    }

    fn flash(&self) -> Vec<u8> {
        self.m.flash().data().to_vec()
    }
}

fn image(dir: &std::path::Path, bundle: &str) -> (Board, Vec<u8>) {
    let data = std::fs::read(dir.join(bundle)).unwrap_or_else(|e| panic!("{bundle}: {e}"));
    let fw = Firmware::Bundle(images::bundle::Bundle::from_bytes(&data).unwrap());
    let board = Board::from_file_name(bundle).unwrap();
    let ov = Overrides { config: Some(CONFIG.into()), ..Default::default() };
    (board, build(bundle, &fw, &board, &ov).unwrap().0.data)
}

/// One scenario: its race points in order, each won (the prompt came) or lost.
fn scenario(dir: &std::path::Path, name: &str) -> Vec<(String, bool)> {
    let mut r = Vec::new();
    let mut point = |what: &str, ok: Option<String>| {
        r.push((format!("{name}: {what}"), ok.is_some()));
        ok.is_some()
    };
    let (board, flash) = image(dir, if name.starts_with("r4") { "LoPy4-1.20.2.r4.tar.gz" } else if name.starts_with("sipy") { "SiPy-1.20.2.rc3.tar.gz" } else { R7 });
    let mut d = Dut::power_on_as(&board, &flash, None, name.starts_with("cli"));
    if !point("first boot", d.until(">>> ", 20)) || !name.contains('_') {
        return r;
    }
    match name {
        "r7_reset" => {
            d.cmd("f=open('/flash/hello.txt','w'); f.write('persist'); f.close()");
            d.cmd("import pycom; pycom.nvs_set('k', 42)");
            d.cmd("pycom.heartbeat_on_boot(False)");
            d.m.uart0_input(b"import machine; machine.reset()\r");
            if point("machine.reset()", d.until(">>> ", 20)) {
                d.cmd("import machine; machine.reset_cause()");
                let mut d2 = Dut::power_on(&board, &d.flash(), None);
                point("power cycle", d2.until(">>> ", 20));
            }
        }
        "r7_ctrld" | "r7_p12" => {
            d.cmd("f=open('/flash/boot.py','w'); f.write('print(\"BOOT-PY\")\\n'); f.close()");
            d.cmd("f=open('/flash/main.py','w'); f.write('print(\"MAIN-PY\")\\n'); f.close()");
            if name == "r7_ctrld" {
                d.m.uart0_input(b"\x04");
                point("Ctrl-D soft reboot", d.until(">>> ", 20));
                let mut p = Dut::power_on(&board, &d.flash(), None);
                point("power-on with boot scripts", p.until(">>> ", 30));
            } else {
                let mut safe = Dut::power_on(&board, &d.flash(), Some(1.0));
                if point("safe boot (P12 held 1 s)", safe.until(">>> ", 30)) {
                    let mut p = Dut::power_on(&board, &safe.flash(), None);
                    point("power-on after safe boot", p.until(">>> ", 30));
                }
            }
        }
        "r7_raw" | "cli_raw" => {
            // mpremote's way in: Ctrl-C, Ctrl-A, then Ctrl-D; twice, as its test does.
            for n in ["raw-REPL soft reset", "second raw-REPL soft reset"] {
                d.m.uart0_input(b"\r\x03");
                d.m.run_until(d.m.now_ps + S / 100);
                d.m.uart0_input(b"\r\x01");
                d.until("raw REPL; CTRL-B to exit\r\n>", 5);
                d.m.uart0_input(b"\x04");
                if !point(n, d.until("raw REPL; CTRL-B to exit\r\n", 10)) {
                    break;
                }
                d.m.uart0_input(b"print(1)\x04");
                d.until("\x04>", 5);
                d.m.uart0_input(b"\x02");
                d.until(">>> ", 5);
            }
        }
        _ => {}
    }
    r
}

fn main() {
    let dir: PathBuf = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared/firmware"));
    let names: Vec<String> = match std::env::var("RACESCAN_ONLY") {
        Ok(v) => v.split(',').map(String::from).collect(),
        Err(_) => ["r7", "r4", "sipy", "r7_reset", "r7_ctrld", "r7_p12", "r7_raw", "cli_raw"].map(String::from).to_vec(),
    };
    let results: Vec<_> = std::thread::scope(|s| {
        // Two at a time: each is one core's worth of work.
        let (a, b): (Vec<_>, Vec<_>) = names.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let dir = &dir;
        let run = move |v: Vec<(usize, &String)>| v.into_iter().flat_map(|(_, n)| scenario(dir, n)).collect::<Vec<_>>();
        let h = s.spawn(move || run(b));
        let mut r = run(a);
        r.extend(h.join().unwrap());
        r
    });
    let lost = results.iter().filter(|r| !r.1).count();
    for (what, won) in &results {
        println!("{} {what}", if *won { "won " } else { "LOST" });
    }
    println!("{lost} of {} race points lost", results.len());
}
