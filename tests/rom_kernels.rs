//! Real ESP32 mask-ROM routines run on the emulated LX6 core and checked against Rust crates
//! and Rust's own arithmetic on seeded random inputs (testing layer 2 of
//! `docs/architecture.md`). Routines are found by name in the ROM ELF's symbol table.
//!
//! | routine | reference | cases |
//! |---|---|---|
//! | `tinfl_decompress` (one shot, zlib and raw; streamed input) | `miniz_oxide` compressor | 300 + 100 |
//! | `MD5Init`/`MD5Update`/`MD5Final` (random chunking) | `md-5` | 500 |
//! | `crc32_le` | `crc32fast` (zlib convention) | 400 |
//! | `__udivdi3` `__umoddi3` `__divdi3` `__moddi3` | Rust `u64`/`i64` | 1000 each |
//! | `__adddf3` `__muldf3` `__divdf3` | Rust `f64` (bit-exact; NaN as NaN) | 2000 each |
//! | `__divsf3` | Rust `f32` | 2000 |
//! | `__floatsidf` / `__fixdfsi` | `as f64` / `as i32` | 1000 / 1500 |
//! | `strlen` `memcmp` `memcpy` (random alignment) | Rust slices | 400 each |
//! | `qsort` with `strcmp` as comparator (deep window spills) | `slice::sort` | 30 arrays |

use pyemu::romcall::{CallError, Rng, RomCall, PSRAM_BASE};

fn call(rc: &mut RomCall, name: &str, args: &[u32]) -> (u32, u32) {
    call_stack(rc, name, args, &[])
}

fn call_stack(rc: &mut RomCall, name: &str, args: &[u32], stack: &[u32]) -> (u32, u32) {
    match rc.call(name, args, stack) {
        Ok(r) => r,
        Err(CallError::Exception { cause, epc1, vector_pc, where_, vaddr }) => panic!(
            "{name}({args:x?}): exception cause {cause} at {epc1:#010x} ({where_}), vector {vector_pc:#010x}, \
             EXCVADDR {vaddr:#010x}"
        ),
        Err(e) => panic!("{name}({args:x?}): {e:?}"),
    }
}

// ------------------------------------------------------------------ tinfl

const TINFL_FLAG_PARSE_ZLIB_HEADER: u32 = 1;
const TINFL_FLAG_HAS_MORE_INPUT: u32 = 2;
const TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF: u32 = 4;
const TINFL_FLAG_COMPUTE_ADLER32: u32 = 8;
const TINFL_STATUS_DONE: i32 = 0;
const TINFL_STATUS_NEEDS_MORE_INPUT: i32 = 1;
/// `sizeof(tinfl_decompressor)` as computed from miniz's struct layout (ESP-IDF
/// `rom/miniz.h`): three Huffman tables of 3 488 bytes, the 457-byte length-code buffer and
/// 68 bytes of scalar state, 10 992 bytes in all; reserve a little more.
const TINFL_DECOMPRESSOR_SIZE: usize = 11 * 1024;

fn test_data(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = match rng.below(8) {
        0 => rng.below(16) as usize,
        _ => rng.below(max as u64) as usize,
    };
    match rng.below(4) {
        0 => rng.bytes(n),
        1 => vec![rng.next_u32() as u8; n],
        _ => rng.compressible(n),
    }
}

#[test]
fn tinfl_decompress_one_shot() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0x7141_F100);
    let in_addr = PSRAM_BASE;
    let out_addr = PSRAM_BASE + 0x20_0000;
    for case in 0..300 {
        rc.reset_scratch();
        let data = test_data(&mut rng, 60_000);
        let level = rng.below(11) as u8;
        let zlib = rng.below(2) == 0;
        let comp = if zlib {
            miniz_oxide::deflate::compress_to_vec_zlib(&data, level)
        } else {
            miniz_oxide::deflate::compress_to_vec(&data, level)
        };
        rc.write(in_addr, &comp);
        let slack = rng.below(3) as usize * 17;
        rc.slice_mut(out_addr, data.len() + slack + 1).fill(0xA5);
        let r = rc.alloc(TINFL_DECOMPRESSOR_SIZE);
        let in_size = rc.alloc(4);
        let out_size = rc.alloc(4);
        rc.write_u32(in_size, comp.len() as u32);
        rc.write_u32(out_size, (data.len() + slack) as u32);
        let mut flags = TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        if zlib {
            flags |=
                TINFL_FLAG_PARSE_ZLIB_HEADER | (TINFL_FLAG_COMPUTE_ADLER32 * (rng.below(2) as u32));
        }
        let (status, _) = call_stack(
            &mut rc,
            "tinfl_decompress",
            &[r, in_addr, in_size, out_addr, out_addr, out_size],
            &[flags],
        );
        let ctx = format!(
            "case {case}: {} bytes, level {level}, zlib {zlib}, flags {flags:#x}",
            data.len()
        );
        assert_eq!(status as i32, TINFL_STATUS_DONE, "{ctx}");
        assert_eq!(
            rc.read_u32(in_size) as usize,
            comp.len(),
            "{ctx}: input consumed"
        );
        assert_eq!(
            rc.read_u32(out_size) as usize,
            data.len(),
            "{ctx}: output size"
        );
        assert!(
            rc.slice(out_addr, data.len()) == &data[..],
            "{ctx}: output differs"
        );
        assert_eq!(
            rc.slice(out_addr + data.len() as u32, 1),
            &[0xA5],
            "{ctx}: wrote past the end"
        );
    }
}

/// Input fed in random pieces with `TINFL_FLAG_HAS_MORE_INPUT`, as the bootloader's and
/// esptool's streaming users do: exercises every resumable state of the decoder.
#[test]
fn tinfl_decompress_streamed_input() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0x0574_3A11);
    let in_addr = PSRAM_BASE;
    let out_addr = PSRAM_BASE + 0x20_0000;
    for case in 0..100 {
        rc.reset_scratch();
        let data = test_data(&mut rng, 30_000);
        let level = rng.below(11) as u8;
        let comp = miniz_oxide::deflate::compress_to_vec_zlib(&data, level);
        rc.write(in_addr, &comp);
        let r = rc.alloc(TINFL_DECOMPRESSOR_SIZE);
        let in_size = rc.alloc(4);
        let out_size = rc.alloc(4);
        let (mut pos_in, mut pos_out) = (0usize, 0usize);
        let mut calls = 0;
        loop {
            let remaining = comp.len() - pos_in;
            let piece = (1 + rng.below(600) as usize).min(remaining);
            let more = pos_in + piece < comp.len();
            let mut flags = TINFL_FLAG_PARSE_ZLIB_HEADER | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
            if more {
                flags |= TINFL_FLAG_HAS_MORE_INPUT;
            }
            rc.write_u32(in_size, piece as u32);
            rc.write_u32(out_size, (data.len() - pos_out) as u32);
            let (status, _) = call_stack(
                &mut rc,
                "tinfl_decompress",
                &[
                    r,
                    in_addr + pos_in as u32,
                    in_size,
                    out_addr,
                    out_addr + pos_out as u32,
                    out_size,
                ],
                &[flags],
            );
            pos_in += rc.read_u32(in_size) as usize;
            pos_out += rc.read_u32(out_size) as usize;
            calls += 1;
            match status as i32 {
                TINFL_STATUS_DONE => break,
                TINFL_STATUS_NEEDS_MORE_INPUT if more => continue,
                s => panic!(
                    "case {case}: status {s} after {calls} calls at input {pos_in}/{}",
                    comp.len()
                ),
            }
        }
        assert_eq!(pos_out, data.len(), "case {case}");
        assert_eq!(pos_in, comp.len(), "case {case}");
        assert!(
            rc.slice(out_addr, data.len()) == &data[..],
            "case {case}: output differs"
        );
    }
}

// ------------------------------------------------------------------ MD5, CRC

#[test]
fn md5_matches_md5_crate() {
    use md5::Digest;
    let mut rc = RomCall::new();
    let mut rng = Rng(0x3D5);
    let buf = PSRAM_BASE;
    for case in 0..500 {
        rc.reset_scratch();
        let data = test_data(&mut rng, 5000);
        rc.write(buf, &data);
        let ctx = rc.alloc(88);
        let digest = rc.alloc(16);
        call(&mut rc, "MD5Init", &[ctx]);
        let mut pos = 0;
        while pos < data.len() {
            let n = match rng.below(3) {
                0 => data.len() - pos,
                _ => (rng.below(130) as usize).min(data.len() - pos),
            };
            call(&mut rc, "MD5Update", &[ctx, buf + pos as u32, n as u32]);
            pos += n;
        }
        call(&mut rc, "MD5Final", &[digest, ctx]);
        let want = md5::Md5::digest(&data);
        assert_eq!(
            rc.read(digest, 16),
            want.as_slice(),
            "case {case}: {} bytes",
            data.len()
        );
    }
}

#[test]
fn crc32_le_matches_crc32fast() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0xC3C);
    let buf = PSRAM_BASE + 3;
    for case in 0..400 {
        let data = test_data(&mut rng, 3000);
        rc.write(buf, &data);
        let init = match rng.below(3) {
            0 => 0,
            1 => 0xFFFF_FFFF,
            _ => rng.next_u32(),
        };
        let (got, _) = call(&mut rc, "crc32_le", &[init, buf, data.len() as u32]);
        // The ROM follows zlib's crc32(crc, buf, len): it inverts on entry and on exit, so a
        // previous result continues a running CRC and 0 starts a fresh one.
        let mut h = crc32fast::Hasher::new_with_initial(init);
        h.update(&data);
        assert_eq!(
            got,
            h.finalize(),
            "case {case}: init {init:#x}, {} bytes",
            data.len()
        );
    }
}

// ------------------------------------------------------------------ libgcc 64-bit division

fn rand_u64(rng: &mut Rng) -> u64 {
    match rng.below(6) {
        0 => rng.below(16),
        1 => u64::MAX - rng.below(4),
        _ => rng.next_u64() >> rng.below(64),
    }
}

fn rand_i64(rng: &mut Rng) -> i64 {
    match rng.below(8) {
        0 => i64::MIN + rng.below(3) as i64,
        1 => i64::MAX - rng.below(3) as i64,
        _ => {
            let v = rand_u64(rng) as i64 & i64::MAX;
            if rng.below(2) == 0 {
                -v
            } else {
                v
            }
        }
    }
}

fn split(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

fn join((lo, hi): (u32, u32)) -> u64 {
    ((hi as u64) << 32) | lo as u64
}

#[test]
fn libgcc_64bit_division() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0xD1D1);
    for case in 0..1000 {
        let a = rand_u64(&mut rng);
        let b = loop {
            let b = rand_u64(&mut rng);
            if b != 0 {
                break b;
            }
        };
        let args = [split(a)[0], split(a)[1], split(b)[0], split(b)[1]];
        assert_eq!(
            join(call(&mut rc, "__udivdi3", &args)),
            a / b,
            "case {case}: {a} / {b}"
        );
        assert_eq!(
            join(call(&mut rc, "__umoddi3", &args)),
            a % b,
            "case {case}: {a} % {b}"
        );

        let (a, b) = (rand_i64(&mut rng), rand_i64(&mut rng));
        if b == 0 || (a == i64::MIN && b == -1) {
            continue;
        }
        let args = [
            split(a as u64)[0],
            split(a as u64)[1],
            split(b as u64)[0],
            split(b as u64)[1],
        ];
        assert_eq!(
            join(call(&mut rc, "__divdi3", &args)) as i64,
            a / b,
            "case {case}: {a} / {b}"
        );
        assert_eq!(
            join(call(&mut rc, "__moddi3", &args)) as i64,
            a % b,
            "case {case}: {a} % {b}"
        );
    }
}

// ------------------------------------------------------------------ soft float

fn rand_f64(rng: &mut Rng) -> f64 {
    let sign = rng.below(2) << 63;
    let bits = match rng.below(10) {
        0 => {
            const SPECIAL: [u64; 12] = [
                0,
                0x7FF0_0000_0000_0000, // inf
                0x7FF8_0000_0000_0000, // quiet NaN
                0x7FF0_0000_0000_0001, // signalling NaN
                0x7FF8_0000_DEAD_BEEF, // NaN with payload
                0x0010_0000_0000_0000, // smallest normal
                0x0000_0000_0000_0001, // smallest subnormal
                0x000F_FFFF_FFFF_FFFF, // largest subnormal
                0x7FEF_FFFF_FFFF_FFFF, // largest finite
                0x3FF0_0000_0000_0000, // 1
                0x3FE0_0000_0000_0000, // 0.5
                0x4000_0000_0000_0000, // 2
            ];
            SPECIAL[rng.below(12) as usize]
        }
        1 => rng.next_u64() & 0x000F_FFFF_FFFF_FFFF, // subnormal
        2 => rng.next_u64() & 0x7FFF_FFFF_FFFF_FFFF, // anything
        3 => ((rng.below(64)) << 52) | (rng.next_u64() & 0x000F_FFFF_FFFF_FFFF), // tiny
        4 => ((2046 - rng.below(64)) << 52) | (rng.next_u64() & 0x000F_FFFF_FFFF_FFFF), // huge
        5 => ((1023 + rng.below(8)) << 52) | (rng.next_u64() & 0xF_0000_0000_0000 >> rng.below(50)), // few bits
        _ => ((1023 - 40 + rng.below(80)) << 52) | (rng.next_u64() & 0x000F_FFFF_FFFF_FFFF),
    };
    f64::from_bits(bits | sign)
}

fn rand_f32(rng: &mut Rng) -> f32 {
    let sign = (rng.below(2) << 31) as u32;
    let bits = match rng.below(10) {
        0 => {
            const SPECIAL: [u32; 12] = [
                0,
                0x7F80_0000,
                0x7FC0_0000,
                0x7F80_0001,
                0x7FC0_BEEF,
                0x0080_0000,
                0x0000_0001,
                0x007F_FFFF,
                0x7F7F_FFFF,
                0x3F80_0000,
                0x3F00_0000,
                0x4000_0000,
            ];
            SPECIAL[rng.below(12) as usize]
        }
        1 => rng.next_u32() & 0x007F_FFFF,
        2 => rng.next_u32() & 0x7FFF_FFFF,
        3 => ((rng.below(32) as u32) << 23) | (rng.next_u32() & 0x007F_FFFF),
        4 => ((254 - rng.below(32) as u32) << 23) | (rng.next_u32() & 0x007F_FFFF),
        _ => ((127 - 20 + rng.below(40) as u32) << 23) | (rng.next_u32() & 0x007F_FFFF),
    };
    f32::from_bits(bits | sign)
}

/// A second operand related to the first often enough to hit cancellation, exact results
/// and ties.
fn partner_f64(rng: &mut Rng, a: f64) -> f64 {
    match rng.below(5) {
        0 => -a,
        1 => f64::from_bits(a.to_bits() ^ (rng.next_u64() & 0xFF)),
        2 => -f64::from_bits(a.to_bits() ^ (1 << rng.below(52))),
        _ => rand_f64(rng),
    }
}

fn same_f64(got: f64, want: f64) -> bool {
    if want.is_nan() {
        got.is_nan()
    } else {
        got.to_bits() == want.to_bits()
    }
}

fn f64_args(a: f64, b: f64) -> [u32; 4] {
    let (a, b) = (a.to_bits(), b.to_bits());
    [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32]
}

#[test]
fn libgcc_double_arithmetic() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0xF64);
    type Op = fn(f64, f64) -> f64;
    let ops: [(&str, Op); 3] = [
        ("__adddf3", |a, b| a + b),
        ("__muldf3", |a, b| a * b),
        ("__divdf3", |a, b| a / b),
    ];
    for (name, op) in ops {
        for case in 0..2000 {
            let a = rand_f64(&mut rng);
            let b = partner_f64(&mut rng, a);
            let got = f64::from_bits(join(call(&mut rc, name, &f64_args(a, b))));
            let want = op(a, b);
            assert!(
                same_f64(got, want),
                "{name} case {case}: {a:e} ({:#018x}), {b:e} ({:#018x}) -> {got:e} ({:#018x}), want {want:e} ({:#018x})",
                a.to_bits(),
                b.to_bits(),
                got.to_bits(),
                want.to_bits()
            );
        }
    }
}

#[test]
fn libgcc_float_division() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0xF32);
    for case in 0..2000 {
        let a = rand_f32(&mut rng);
        let b = if rng.below(4) == 0 {
            f32::from_bits(a.to_bits() ^ (rng.next_u32() & 0xF))
        } else {
            rand_f32(&mut rng)
        };
        let (got, _) = call(&mut rc, "__divsf3", &[a.to_bits(), b.to_bits()]);
        let got = f32::from_bits(got);
        let want = a / b;
        let ok = if want.is_nan() {
            got.is_nan()
        } else {
            got.to_bits() == want.to_bits()
        };
        assert!(
            ok,
            "__divsf3 case {case}: {a:e} ({:#010x}) / {b:e} ({:#010x}) -> {got:e} ({:#010x}), want {want:e} ({:#010x})",
            a.to_bits(),
            b.to_bits(),
            got.to_bits(),
            want.to_bits()
        );
    }
}

#[test]
fn libgcc_int_double_conversions() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0xC0117);
    for case in 0..1000 {
        let i = match rng.below(4) {
            0 => [0, 1, -1, i32::MIN, i32::MAX, i32::MIN + 1][rng.below(6) as usize],
            1 => (rng.next_u32() >> rng.below(32)) as i32,
            _ => rng.next_u32() as i32,
        };
        let got = join(call(&mut rc, "__floatsidf", &[i as u32]));
        assert_eq!(got, (i as f64).to_bits(), "__floatsidf case {case}: {i}");
    }
    for case in 0..1500 {
        // Values whose truncation fits in an i32 (C leaves the rest undefined).
        let x = match rng.below(5) {
            0 => rand_f64(&mut rng),
            1 => (rng.next_u32() as i32) as f64 + (rng.below(1000) as f64) / 1000.0,
            2 => {
                f64::from_bits(rng.next_u64() & 0x3FFF_FFFF_FFFF_FFFF)
                    * if rng.below(2) == 0 { 1.0 } else { -1.0 }
            }
            3 => [
                2147483647.9,
                -2147483648.9,
                0.5,
                -0.5,
                0.999999,
                -0.0,
                1e-310,
            ][rng.below(7) as usize],
            _ => (rng.next_u64() as i64 as f64) / (1u64 << rng.below(40)) as f64,
        };
        if x.is_nan() || x.trunc() < i32::MIN as f64 || x.trunc() > i32::MAX as f64 {
            continue;
        }
        let bits = x.to_bits();
        let (got, _) = call(&mut rc, "__fixdfsi", &[bits as u32, (bits >> 32) as u32]);
        assert_eq!(
            got as i32, x as i32,
            "__fixdfsi case {case}: {x:e} ({bits:#018x})"
        );
    }
}

/// Out-of-range conversions are undefined in C; libgcc for Xtensa saturates (NaN → the
/// positive limit). Pinned here so a change in the core's behaviour on these paths shows.
#[test]
fn libgcc_fixdfsi_out_of_range() {
    let mut rc = RomCall::new();
    let cases: [(f64, i32); 6] = [
        (1e10, i32::MAX),
        (2147483648.0, i32::MAX),
        (f64::INFINITY, i32::MAX),
        (-1e10, i32::MIN),
        (-2147483649.0, i32::MIN),
        (f64::NEG_INFINITY, i32::MIN),
    ];
    for (x, want) in cases {
        let bits = x.to_bits();
        let (got, _) = call(&mut rc, "__fixdfsi", &[bits as u32, (bits >> 32) as u32]);
        assert_eq!(got as i32, want, "__fixdfsi({x:e})");
    }
}

// ------------------------------------------------------------------ string functions

#[test]
fn strlen_memcmp_memcpy() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0x57C);
    let base = PSRAM_BASE + 0x1000;
    for case in 0..400 {
        // strlen at any alignment.
        let len = {
            let m = if rng.below(4) == 0 { 3000 } else { 40 };
            rng.below(m)
        } as usize;
        let mut s: Vec<u8> = (0..len).map(|_| 1 + rng.below(255) as u8).collect();
        s.push(0);
        s.extend(rng.bytes(8));
        let at = base + rng.below(8) as u32;
        rc.write(at, &s);
        let (got, _) = call(&mut rc, "strlen", &[at]);
        assert_eq!(got as usize, len, "strlen case {case} at {at:#x}");

        // memcmp: equal prefix, then maybe a differing byte.
        let n = {
            let m = if rng.below(4) == 0 { 2000 } else { 50 };
            rng.below(m)
        } as usize;
        let a = rng.bytes(n);
        let mut b = a.clone();
        if n > 0 && rng.below(4) != 0 {
            let i = rng.below(n as u64) as usize;
            b[i] = b[i].wrapping_add(1 + rng.below(255) as u8);
        }
        let (pa, pb) = (
            base + 0x4000 + rng.below(8) as u32,
            base + 0x8000 + rng.below(8) as u32,
        );
        rc.write(pa, &a);
        rc.write(pb, &b);
        let cmp_n = if n > 0 { n - rng.below(2) as usize } else { 0 };
        let (got, _) = call(&mut rc, "memcmp", &[pa, pb, cmp_n as u32]);
        let want = a[..cmp_n].cmp(&b[..cmp_n]);
        assert_eq!(
            (got as i32).cmp(&0),
            want,
            "memcmp case {case}: n {cmp_n}, got {got:#x}"
        );

        // memcpy between independently aligned buffers, guard bytes around the destination.
        let n = {
            let m = if rng.below(4) == 0 { 5000 } else { 70 };
            rng.below(m)
        } as usize;
        let src = rng.bytes(n);
        let (ps, pd) = (
            base + 0x10000 + rng.below(8) as u32,
            base + 0x20000 + rng.below(8) as u32,
        );
        rc.write(ps, &src);
        rc.slice_mut(pd - 8, n + 16).fill(0xEE);
        let (ret, _) = call(&mut rc, "memcpy", &[pd, ps, n as u32]);
        assert_eq!(ret, pd, "memcpy case {case}: return value");
        assert!(
            rc.slice(pd, n) == &src[..],
            "memcpy case {case}: {n} bytes {ps:#x} -> {pd:#x}"
        );
        assert!(
            rc.slice(pd - 8, 8)
                .iter()
                .chain(rc.slice(pd + n as u32, 8))
                .all(|&x| x == 0xEE),
            "memcpy case {case}: guard"
        );
    }
}

/// Deep windowed call chains: the ROM's recursive `qsort` calling the ROM's `strcmp` as its
/// comparator (through CALLX8) nests far more frames than the 16 register windows hold, so
/// the ROM's own WindowOverflow/Underflow vectors spill and refill them many times.
#[test]
fn qsort_with_strcmp_spills_windows() {
    let mut rc = RomCall::new();
    let mut rng = Rng(0x950);
    let strcmp = rc.sym("strcmp");
    const W: usize = 12;
    let mut total_insns = 0;
    for case in 0..30 {
        let n = 1 + rng.below(if case < 3 { 3000u64 } else { 400 }) as usize;
        let mut items: Vec<[u8; W]> = (0..n)
            .map(|i| {
                let mut e = [0u8; W];
                let len = if case % 3 == 0 {
                    3
                } else {
                    1 + rng.below(W as u64 - 1) as usize
                };
                for b in e.iter_mut().take(len) {
                    *b = b'a' + rng.below(if case % 3 == 0 { 3 } else { 26 }) as u8;
                }
                // A third of the cases start sorted or reversed.
                if case % 5 == 1 {
                    e[..8].copy_from_slice(&(i as u64).to_be_bytes().map(|d| d | 0x40));
                }
                e
            })
            .collect();
        if case % 10 == 6 {
            items.reverse();
        }
        let flat: Vec<u8> = items.iter().flatten().copied().collect();
        let arr = PSRAM_BASE + 0x1000;
        rc.write(arr, &flat);
        call(&mut rc, "qsort", &[arr, n as u32, W as u32, strcmp]);
        total_insns += rc.last_instret;
        let key = |e: &[u8; W]| {
            e.iter()
                .take_while(|&&b| b != 0)
                .copied()
                .collect::<Vec<u8>>()
        };
        let mut want: Vec<Vec<u8>> = items.iter().map(key).collect();
        want.sort();
        let got: Vec<Vec<u8>> = rc
            .read(arr, n * W)
            .chunks(W)
            .map(|c| key(&c.try_into().unwrap()))
            .collect();
        assert_eq!(got, want, "case {case}: {n} items");
        assert_eq!(rc.cpu.windowbase, 0);
    }
    assert!(total_insns > 1_000_000);
    assert!(
        rc.window_overflows > 10,
        "{} window overflows",
        rc.window_overflows
    );
    assert!(
        rc.window_underflows > 10,
        "{} window underflows",
        rc.window_underflows
    );
    eprintln!(
        "qsort: {total_insns} instructions, {} window overflows, {} underflows",
        rc.window_overflows, rc.window_underflows
    );
}

/// Regression: ENTRY's frame size is the 12-bit field in bits 23:12 only. The decoder is
/// handed four fetched bytes; it used to shift the fourth byte into the frame size, so
/// `tinfl_decompress` (ENTRY a1, 272 followed by a byte 0x72) got a 3.7 MB frame.
#[test]
fn entry_frame_size_ignores_the_next_byte() {
    use emulator::decode::{decode, Op};
    let i = decode(0x7202_2136, 0x4005_EF30);
    assert_eq!(i.op, Op::Entry);
    assert_eq!((i.s, i.imm, i.len), (1, 272, 3));
    assert_eq!(decode(0xFFFF_F136, 0).imm, 0xFFF << 3);
}
