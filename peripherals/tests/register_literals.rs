//! A lint: no register offset or bit as a bare literal in `src/blocks/` outside the register
//! declarations (`regs!`). The logic names what it touches (`CONF0`, `CONF0::LOOPBACK`), so
//! the declaration is the one place an offset or a bit position is written down.
//!
//! What counts as such a literal: a hexadecimal or binary number, a `1 << n` bit with a
//! literal `n`, and a `>> n ... &` field extraction with a literal `n`. Not scanned: comments
//! (the datasheet tables in module docs), the `regs!` declarations themselves and the unit
//! test modules (tests at real addresses spell the datasheet's offsets out, an independent
//! check of the declarations). What remains and is not a register offset or bit is listed
//! in [`ALLOWED`] with the reason.

use regex::Regex;
use std::path::Path;

/// (file, text on the line, why it is not a register offset or bit). Every entry must still
/// match something, so the list cannot go stale.
const ALLOWED: &[(&str, &str, &str)] = &[
    ("efuse.rs", "crc ^= 0x8C;", "the CRC-8 polynomial"),
    ("misc.rs", "0x6a09e667, 0xbb67ae85", "the SHA-256 initial hash values"),
    ("radio.rs", "pub const ANA_RFPLL: u8 = 0x62;", "an analog block's I2C slave id"),
    ("radio.rs", "pub const FE2: u32 = 0x45;", "a peripheral slot number (the block table's address)"),
    ("radio.rs", "pub const FE: u32 = 0x46;", "a peripheral slot number"),
    ("radio.rs", "pub const BT: u32 = 0x51;", "a peripheral slot number"),
    ("radio.rs", "pub const AGC: u32 = 0x5C;", "a peripheral slot number"),
    ("radio.rs", "pub const BB: u32 = 0x5D;", "a peripheral slot number"),
    ("radio.rs", "pub const WMAC1: u32 = 0x73;", "a peripheral slot number"),
    ("radio.rs", "pub const WDEV: u32 = 0x75;", "a peripheral slot number"),
    ("radio.rs", "const RFPLL_LOCKED: u8 = 1 << 7;", "a bit of an analog (I2C) register, not of the MMIO space"),
    ("rtc_cntl.rs", "const STALL_CODE: (u32, u32) = (0x21, 2);", "the value of esp_cpu_stall's code, not a bit position"),
    ("rtc_cntl.rs", "pub const WDT_WKEY: u32 = 0x50D8_3AA1;", "the watchdog unlock key (a value)"),
    ("timg.rs", "pub const WDT_WKEY: u32 = 0x50D8_3AA1;", "the watchdog unlock key (a value)"),
    ("spi_gp.rs", "// SPI2/3 reset value", "SPI2/3's reset values where they differ from the declaration the four controllers share"),
];

/// A literal that looks like a register offset or bit: (line number, line).
#[derive(Debug, PartialEq)]
struct Finding {
    line: usize,
    text: String,
}

struct Scanner {
    literal: Regex,
}

impl Scanner {
    fn new() -> Scanner {
        // Hex or binary numbers; `1 << n`; `>> n) &` / `>> n &`, with a literal n.
        let literal = Regex::new(r"\b0[xX][0-9A-Fa-f_]+|\b0b[01_]+|\b1(u8|u16|u32|u64|usize)?\s*<<\s*\(?\s*\d|>>\s*\d+\s*\)?\s*&").unwrap();
        Scanner { literal }
    }

    /// The findings in one file's text: code outside comments, `regs!` and test modules.
    fn scan(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        // Depth of braces inside a skipped region (a `regs!` invocation or a test module).
        let mut skip: Option<i32> = None;
        let mut pending_test = false;
        for (i, raw) in text.lines().enumerate() {
            let code = strip_comment(raw);
            let trimmed = code.trim();
            if skip.is_none() {
                if trimmed.starts_with("#[cfg(test)]") {
                    pending_test = true;
                    continue;
                }
                if trimmed.contains("regs! {") || (pending_test && trimmed.starts_with("mod ")) {
                    pending_test = false;
                    skip = Some(0);
                } else if !trimmed.is_empty() {
                    pending_test = false;
                }
            }
            if let Some(depth) = skip.as_mut() {
                *depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
                if *depth <= 0 && code.contains('}') {
                    skip = None;
                }
                continue;
            }
            if self.literal.is_match(&code) {
                out.push(Finding { line: i + 1, text: raw.trim().to_string() });
            }
        }
        out
    }
}

/// The line without a `//` comment (string literals in the scanned code hold no `//`
/// outside format strings, which the lint does not need to see either).
fn strip_comment(line: &str) -> String {
    let mut in_str = false;
    let b = line.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'"' if i == 0 || b[i - 1] != b'\\' => in_str = !in_str,
            b'/' if !in_str && b.get(i + 1) == Some(&b'/') => return line[..i].to_string(),
            _ => {}
        }
    }
    line.to_string()
}

#[test]
fn blocks_name_their_registers_and_bits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/blocks");
    let scanner = Scanner::new();
    let mut used = vec![false; ALLOWED.len()];
    let mut bad = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rs")).collect();
    files.sort();
    assert!(files.len() >= 10, "the blocks are in {}", dir.display());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for f in scanner.scan(&text) {
            match ALLOWED.iter().position(|(file, line, _)| *file == name && f.text.contains(line)) {
                Some(k) => used[k] = true,
                None => bad.push(format!("{name}:{}: {}", f.line, f.text)),
            }
        }
    }
    let stale: Vec<_> = ALLOWED.iter().zip(&used).filter(|(_, u)| !**u).map(|(a, _)| format!("{a:?}")).collect();
    assert!(bad.is_empty(), "register offsets or bits as bare literals (declare them in the block's `regs!` and use the names):\n{}", bad.join("\n"));
    assert!(stale.is_empty(), "allow-list entries that match nothing any more:\n{}", stale.join("\n"));
}

#[test]
fn the_scanner_finds_literals_in_code_and_not_in_declarations_comments_or_tests() {
    let sample = r#"
//! | 0x20 | CONF0 | documented here |
crate::regs! {
    pub static REGS: "X", 0x100;
    0x20 CONF0 rw 0x1C stored {
        LOOPBACK 14 unmodelled;
    };
}

fn logic(r: &RegBlock) -> bool {
    let a = r.get(CONF0) & CONF0::LOOPBACK.mask(); // 0x20 in a comment is fine
    let b = r.get(0x24) != 0;
    let c = r.get(CONF0) & (1 << 14) != 0;
    let d = (r.get(CONF0) >> 4) & 3;
    let e = 1u32 << CONF0::LOOPBACK.lo;
    a != 0 || b || c || d == e || "0x10" == "x"
}

#[cfg(test)]
mod tests {
    fn t() { assert_eq!(0x20, super::CONF0); }
}
"#;
    let found: Vec<usize> = Scanner::new().scan(sample).iter().map(|f| f.line).collect();
    // The raw offset, the literal bit, the field extracted by shift-and-mask, and a hex
    // number inside a string (a false positive the allow-list would have to name).
    assert_eq!(found, [12, 13, 14, 16], "{:?}", Scanner::new().scan(sample));
}
