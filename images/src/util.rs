//! Small helpers shared by the format modules: little-endian field access that never panics,
//! C-string fields, hex parsing as Pycom's Python tools do it, and the ESP32 ROM's `crc32_le`.
//!
//! | helper | convention |
//! |---|---|
//! | `rom_crc32_le(crc, data)` | reflected CRC-32 (poly 0xEDB88320); the ROM inverts `crc` on entry and the result on exit, so `rom_crc32_le(0xFFFF_FFFF, d)` starts from register 0 (not the usual 0xFFFFFFFF) |
//! | `parse_hex(s)` | Python's `int(s, 16)`: optional `0x`, surrounding blanks, underscores |

/// Reads a little-endian u16 at `off`, or `None` when `data` is too short.
pub fn le_u16(data: &[u8], off: usize) -> Option<u16> {
    let b = data.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Reads a little-endian u32 at `off`, or `None` when `data` is too short.
pub fn le_u32(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Text of a fixed-size C string field: up to the first NUL; non-printable bytes become `\xNN`
/// so a corrupt field never breaks a terminal or JSON.
pub fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let mut s = String::new();
    for &b in &field[..end] {
        if (0x20..0x7F).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a hexadecimal number the way Python's `int(s, 16)` does (Pycom scripts use it).
pub fn parse_hex(s: &str) -> Option<u64> {
    let t = s.trim().replace('_', "");
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(&t);
    if t.is_empty() {
        return None;
    }
    u64::from_str_radix(t, 16).ok()
}

/// Parses a user-supplied number: decimal, or hex with `0x`.
pub fn parse_number(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.starts_with("0x") || t.starts_with("0X") {
        parse_hex(t)
    } else {
        t.replace('_', "").parse().ok()
    }
}

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// The ESP32 mask ROM's `crc32_le(crc, buf, len)` (at 0x4005CFEC): it inverts `crc` on entry and
/// the register on exit. Pycom passes `UINT32_MAX`, so the register starts at 0; that equals
/// Python's `zlib.crc32(buf, 0xFFFFFFFF)` and `binascii.crc32(b'\xff'*4 + buf)`.
pub fn rom_crc32_le(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// Rounds `v` down to a multiple of `a` (a power of two).
pub fn align_down(v: u64, a: u64) -> u64 {
    v & !(a - 1)
}

/// Rounds `v` up to a multiple of `a` (a power of two), saturating.
pub fn align_up(v: u64, a: u64) -> u64 {
    v.saturating_add(a - 1) & !(a - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_standard_crc32_when_seeded_with_zero() {
        // With crc = 0 the ROM function is the ordinary CRC-32 (zlib's crc32(b"123456789")).
        assert_eq!(rom_crc32_le(0, b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn hex_parsing_follows_python() {
        assert_eq!(parse_hex("0x1C1000"), Some(0x1C1000));
        assert_eq!(parse_hex(" 40000 "), Some(0x40000));
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_number("4096"), Some(4096));
        assert_eq!(parse_number("0x10"), Some(16));
    }
}
