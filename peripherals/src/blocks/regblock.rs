//! Registers declared once per block, and the register file built from the declaration.
//!
//! Each block declares its registers with [`regs!`]: offset, name, access, reset value and
//! fields with their bit ranges, each field tagged by what the model does with it. From
//! that one declaration come the names the block's logic uses (`NAME` is the offset,
//! `NAME::FIELD` a [`Field`], `NAME::at(i)` an element of a register array), the
//! [`RegBlock`] (storage with reset values and writable bits), the names `--strict`
//! reports, and the bits `--strict` reports when the guest sets them (see [`Tag`]).
//! A register the declaration does not name is *unmodelled* and reported by the SoC.


/// A bit field of a register: bits `lo ..= lo + width - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub lo: u32,
    pub width: u32,
}

impl Field {
    /// Bits `hi:lo` (inclusive).
    pub const fn bits(hi: u32, lo: u32) -> Field {
        assert!(hi >= lo && hi < 32, "a field's bits are hi:lo within 32");
        Field { lo, width: hi - lo + 1 }
    }

    /// The field's bits in place.
    #[inline]
    pub const fn mask(self) -> u32 {
        (u32::MAX >> (32 - self.width)) << self.lo
    }

    /// The field's value in register value `v`.
    #[inline]
    pub const fn get(self, v: u32) -> u32 {
        (v >> self.lo) & (u32::MAX >> (32 - self.width))
    }

    /// Whether any bit of the field is set in `v` (for one-bit fields: the flag).
    #[inline]
    pub const fn on(self, v: u32) -> bool {
        v & self.mask() != 0
    }

    /// `x` placed in the field (bits beyond its width dropped).
    #[inline]
    pub const fn val(self, x: u32) -> u32 {
        (x << self.lo) & self.mask()
    }

    /// `v` with the field replaced by `x`.
    #[inline]
    pub const fn set(self, v: u32, x: u32) -> u32 {
        (v & !self.mask()) | self.val(x)
    }

    /// The highest bit.
    pub const fn hi(self) -> u32 {
        self.lo + self.width - 1
    }
}

/// What the model does with a field (or, on a register, with its bits no field names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// Behaviour modelled.
    Modelled,
    /// Stored and read back, with nothing to model or deliberately ignored (clock gating,
    /// drive strengths, power-down flags of parts that are always on): harmless.
    Stored,
    /// Stored, but the hardware would do something the model does not: a guest write that
    /// sets it to other than its reset value is reported (fatal under `--strict`).
    Unmodelled,
}

/// How the guest may access a register (its writable bits follow from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read/write.
    Rw,
    /// Read-only: writes are ignored.
    Ro,
    /// Write-only (a command or trigger): what reads return is the block's business.
    Wo,
    /// Write 1 to clear bits elsewhere (interrupt clear registers).
    W1c,
}

/// A field of a declared register.
#[derive(Clone, Copy, Debug)]
pub struct FieldDecl {
    pub name: &'static str,
    pub field: Field,
    pub tag: Tag,
}

/// A declared register, or an array of `count` of them `stride` bytes apart.
#[derive(Clone, Copy, Debug)]
pub struct RegDecl {
    pub off: u32,
    pub name: &'static str,
    pub count: u32,
    pub stride: u32,
    pub access: Access,
    pub reset: u32,
    /// Writable bits if not what `access` implies.
    pub wmask: Option<u32>,
    /// What the model does with the bits no field names.
    pub rest: Tag,
    pub fields: &'static [FieldDecl],
}

impl RegDecl {
    pub const fn wmask(&self) -> u32 {
        match (self.wmask, self.access) {
            (Some(m), _) => m,
            (None, Access::Ro) => 0,
            (None, _) => u32::MAX,
        }
    }

    /// The bits a guest write must leave at their reset value not to be reported.
    pub const fn unmodelled_mask(&self) -> u32 {
        let mut named = 0;
        let mut m = 0;
        let mut i = 0;
        while i < self.fields.len() {
            let f = self.fields[i];
            named |= f.field.mask();
            if matches!(f.tag, Tag::Unmodelled) {
                m |= f.field.mask();
            }
            i += 1;
        }
        if matches!(self.rest, Tag::Unmodelled) {
            m |= !named;
        }
        m & self.wmask()
    }

    /// The offsets of the register (all elements of an array).
    pub fn offsets(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.count).map(move |i| self.off + i * self.stride)
    }
}

/// A block's register declaration: a kind name (the key snapshots use), the size of its
/// register space and its registers. Where declarations overlap, the later one wins (a
/// catch-all storage range first, the registers with a meaning after it).
#[derive(Debug)]
pub struct Decl {
    pub kind: &'static str,
    pub size: u32,
    pub regs: &'static [RegDecl],
}

impl Decl {
    /// The register declared at `off` (the last declaration that covers it).
    pub fn find(&self, off: u32) -> Option<&'static RegDecl> {
        self.regs.iter().rev().find(|r| r.offsets().any(|o| o == off))
    }
}

/// Declares a block's registers once, generating for each register `NAME` the offset
/// constant `NAME`, a module `NAME` with its fields (`NAME::FIELD`, a [`Field`]), its
/// `COUNT`, `STRIDE` and `at(i)` (the offset of element i), and the static [`Decl`].
///
/// ```text
/// regs! {
///     pub static REGS: "TIMG", 0x100;
///     //  offset name  [count by stride]  access  reset  rest-tag  { FIELD hi[:lo] tag; ... };
///     0x00 TCONFIG[2 by 0x24] rw 0x6000_2000 stored { EN 31 modelled; DIVIDER 28:13 modelled; };
///     0x98 INT_ENA rw 0 modelled;
/// }
/// ```
/// Access is `rw`, `ro`, `wo` or `w1c`; `wmask M` after the tag sets other writable bits.
/// Tags: `modelled`, `stored` (harmless), `unmodelled` (reported when set); a register's
/// own tag applies to the bits none of its fields names.
#[macro_export]
macro_rules! regs {
    (@or $d:tt) => { $d };
    (@or $d:tt $v:tt) => { $v };
    (@lo $hi:tt) => { $hi };
    (@lo $hi:tt $lo:tt) => { $lo };
    (@wm) => { None };
    (@wm $m:tt) => { Some($m) };
    (@acc rw) => { $crate::regblock::Access::Rw };
    (@acc ro) => { $crate::regblock::Access::Ro };
    (@acc wo) => { $crate::regblock::Access::Wo };
    (@acc w1c) => { $crate::regblock::Access::W1c };
    (@tag modelled) => { $crate::regblock::Tag::Modelled };
    (@tag stored) => { $crate::regblock::Tag::Stored };
    (@tag unmodelled) => { $crate::regblock::Tag::Unmodelled };
    (
        $(#[$dm:meta])* $vis:vis static $decl:ident : $kind:literal, $size:literal;
        $(
            $(#[$rm:meta])*
            $off:literal $reg:ident $([$count:literal $(by $stride:literal)?])? $acc:ident $reset:tt $rest:ident $(wmask $wm:tt)?
            $({ $( $(#[$fm:meta])* $f:ident $hi:literal $(: $lo:literal)? $ft:ident; )* })?;
        )*
    ) => {
        $(
            $(#[$rm])*
            pub const $reg: u32 = $off;
            $(#[$rm])*
            #[allow(non_snake_case, dead_code)]
            pub mod $reg {
                #[allow(unused_imports)]
                use $crate::regblock::Field;
                /// Elements of the register array (1: a single register).
                pub const COUNT: u32 = $crate::regs!(@or 1 $($count)?);
                /// Bytes between elements.
                pub const STRIDE: u32 = $crate::regs!(@or 4 $($($stride)?)?);
                /// Offset of element `i`.
                #[inline]
                pub const fn at(i: u32) -> u32 {
                    super::$reg + i * STRIDE
                }
                $($( $(#[$fm])* pub const $f: Field = Field::bits($hi, $crate::regs!(@lo $hi $($lo)?)); )*)?
            }
        )*
        $(#[$dm])*
        $vis static $decl: $crate::regblock::Decl = $crate::regblock::Decl {
            kind: $kind,
            size: $size,
            regs: &[$(
                $crate::regblock::RegDecl {
                    off: $off,
                    name: stringify!($reg),
                    count: $reg::COUNT,
                    stride: $reg::STRIDE,
                    access: $crate::regs!(@acc $acc),
                    reset: $reset,
                    wmask: $crate::regs!(@wm $($wm)?),
                    rest: $crate::regs!(@tag $rest),
                    fields: &[$($(
                        $crate::regblock::FieldDecl { name: stringify!($f), field: $reg::$f, tag: $crate::regs!(@tag $ft) },
                    )*)?],
                },
            )*],
        };
    };
}

/// A write that sets bits the model does not model: the register and the field (None:
/// bits no field names), and the key it is reported under once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmodelledBits {
    pub reg: &'static str,
    pub field: Option<&'static str>,
    pub mask: u32,
    /// Offset and field's low bit (32: the unnamed bits), unique within the block.
    pub key: u64,
}

/// One register word of a block.
#[derive(Clone, Copy, Debug)]
struct Slot {
    reg: &'static RegDecl,
    wmask: u32,
    /// Bits a write must leave at their reset value not to be reported.
    umask: u32,
}

/// A block's register file, built from its [`Decl`]: faithful storage of every declared
/// register. Blocks with behaviour wrap one and intercept the registers that do something.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Saved", into = "Saved")]
pub struct RegBlock {
    pub name: crate::snapshot::Name,
    decl: &'static Decl,
    /// Index by offset/4 into the slots (u16::MAX = not declared).
    index: Vec<u16>,
    slots: Vec<Slot>,
    resets: Vec<u32>,
    vals: Vec<u32>,
}

/// A register file as a snapshot keeps it: the declaration by kind, values and reset values.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    #[serde(with = "crate::snapshot::static_str")]
    name: crate::snapshot::Name,
    kind: String,
    resets: Vec<u32>,
    vals: Vec<u32>,
}

impl From<RegBlock> for Saved {
    fn from(r: RegBlock) -> Saved {
        Saved { name: r.name, kind: r.decl.kind.to_string(), resets: r.resets, vals: r.vals }
    }
}

impl TryFrom<Saved> for RegBlock {
    type Error = String;
    fn try_from(s: Saved) -> Result<RegBlock, String> {
        let decl = crate::blocks::DECLS
            .iter()
            .find(|d| d.kind == s.kind)
            .ok_or_else(|| format!("register block {}: unknown declaration {}", s.name, s.kind))?;
        let mut r = RegBlock::new(s.name, decl);
        if s.vals.len() != r.vals.len() || s.resets.len() != r.resets.len() {
            return Err(format!("register block {}: {} registers saved, {} declared", s.name, s.vals.len(), r.vals.len()));
        }
        r.resets = s.resets;
        r.vals = s.vals;
        Ok(r)
    }
}

impl RegBlock {
    pub fn new(name: &'static str, decl: &'static Decl) -> RegBlock {
        let mut index = vec![u16::MAX; (decl.size / 4) as usize];
        let mut slots = Vec::new();
        let mut resets = Vec::new();
        for reg in decl.regs {
            let s = Slot { reg, wmask: reg.wmask(), umask: reg.unmodelled_mask() };
            for off in reg.offsets() {
                let i = &mut index[(off / 4) as usize];
                if *i == u16::MAX {
                    *i = slots.len() as u16;
                    slots.push(s);
                    resets.push(reg.reset);
                } else {
                    slots[*i as usize] = s;
                    resets[*i as usize] = reg.reset;
                }
            }
        }
        let vals = resets.clone();
        RegBlock { name, decl, index, slots, resets, vals }
    }

    /// The reset value of the register at `off` set at run time (eFuse words from the
    /// configuration); the current value follows.
    pub fn with_reset(mut self, off: u32, reset: u32) -> RegBlock {
        if let Some(i) = self.slot(off) {
            self.resets[i] = reset;
            self.vals[i] = reset;
        }
        self
    }

    /// The reset value of the register at `off` (0 if not declared).
    pub fn reset_value(&self, off: u32) -> u32 {
        self.slot(off).map_or(0, |i| self.resets[i])
    }

    pub fn decl(&self) -> &'static Decl {
        self.decl
    }

    /// Back to reset values.
    pub fn reset(&mut self) {
        self.vals.copy_from_slice(&self.resets);
    }

    #[inline]
    fn slot(&self, off: u32) -> Option<usize> {
        match self.index.get((off / 4) as usize) {
            Some(&i) if i != u16::MAX => Some(i as usize),
            _ => None,
        }
    }

    pub fn has(&self, off: u32) -> bool {
        self.slot(off).is_some()
    }

    pub fn read(&self, off: u32) -> Option<u32> {
        self.slot(off).map(|i| self.vals[i])
    }

    /// Stores the writable bits; false if the offset is not modelled.
    pub fn write(&mut self, off: u32, v: u32) -> bool {
        match self.slot(off) {
            Some(i) => {
                let m = self.slots[i].wmask;
                self.vals[i] = (self.vals[i] & !m) | (v & m);
                true
            }
            None => false,
        }
    }

    /// Current value (0 for an unmodelled offset); for device code.
    #[inline]
    pub fn get(&self, off: u32) -> u32 {
        self.read(off).unwrap_or(0)
    }

    /// Field `f` of the register at `off`.
    #[inline]
    pub fn field(&self, off: u32, f: Field) -> u32 {
        f.get(self.get(off))
    }

    /// Whether field (or flag) `f` of the register at `off` is non-zero.
    #[inline]
    pub fn on(&self, off: u32, f: Field) -> bool {
        f.on(self.get(off))
    }

    /// Sets a value regardless of the write mask (hardware-side update).
    #[inline]
    pub fn set(&mut self, off: u32, v: u32) {
        if let Some(i) = self.slot(off) {
            self.vals[i] = v;
        }
    }

    /// Sets field `f` of the register at `off` (hardware-side update).
    #[inline]
    pub fn set_field(&mut self, off: u32, f: Field, x: u32) {
        self.set(off, f.set(self.get(off), x));
    }

    pub fn reg_name(&self, off: u32) -> Option<&'static str> {
        self.slot(off).map(|i| self.slots[i].reg.name)
    }

    /// The first bits a write of `v` to `off` sets that the model does not model (their
    /// value differs from the register's reset value), if any.
    #[inline]
    pub fn unmodelled_bits(&self, off: u32, v: u32) -> Option<UnmodelledBits> {
        let i = self.slot(off)?;
        let s = &self.slots[i];
        let diff = (v ^ self.resets[i]) & s.umask;
        if diff == 0 {
            return None;
        }
        Some(Self::which(s.reg, off, diff))
    }

    /// Every unmodelled field `diff` touches, first one first (the caller reports those it
    /// has not yet reported).
    pub fn unmodelled_fields(&self, off: u32, v: u32) -> Vec<UnmodelledBits> {
        let Some(i) = self.slot(off) else { return Vec::new() };
        let s = &self.slots[i];
        let mut diff = (v ^ self.resets[i]) & s.umask;
        let mut out = Vec::new();
        while diff != 0 {
            let u = Self::which(s.reg, off, diff);
            diff &= !u.mask;
            out.push(u);
        }
        out
    }

    #[cold]
    fn which(reg: &'static RegDecl, off: u32, diff: u32) -> UnmodelledBits {
        let key = |lo: u32| (off as u64) << 8 | lo as u64;
        for f in reg.fields {
            if f.tag == Tag::Unmodelled && diff & f.field.mask() != 0 {
                return UnmodelledBits { reg: reg.name, field: Some(f.name), mask: f.field.mask() & diff, key: key(f.field.lo) };
            }
        }
        let named = reg.fields.iter().fold(0, |m, f| m | f.field.mask());
        UnmodelledBits { reg: reg.name, field: None, mask: diff & !named, key: key(32) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::regs! {
        static SAMPLE: "SAMPLE", 0x20;
        0x00 STORE[8] rw 0 stored;
        0x04 CONF rw 0x10 stored {
            EN 31 modelled;
            MODE 5:4 unmodelled;
            GATE 0 stored;
        };
        0x08 PAIR[2 by 8] ro 7 unmodelled;
        0x0C KEY rw 0 modelled wmask 0xFF;
    }

    #[test]
    fn names_come_from_the_declaration() {
        assert_eq!((CONF, CONF::EN.mask(), CONF::MODE.mask(), CONF::MODE.get(0x30)), (4, 1 << 31, 0x30, 3));
        assert_eq!((PAIR::at(1), PAIR::COUNT, STORE::COUNT), (0x10, 2, 8));
        let r = RegBlock::new("S", &SAMPLE);
        assert_eq!(r.reg_name(CONF), Some("CONF"));
        assert_eq!(r.reg_name(0x18), Some("STORE"), "the catch-all where nothing else is declared");
        assert_eq!((r.get(CONF), r.get(PAIR::at(1)), r.get(0x18)), (0x10, 7, 0));
        let mut r = r;
        r.write(KEY, 0x1234);
        assert_eq!(r.get(KEY), 0x34, "the write mask");
        r.write(PAIR, 1);
        assert_eq!(r.get(PAIR), 7, "read-only");
    }

    #[test]
    fn setting_an_unmodelled_field_is_found_once_per_field() {
        let r = RegBlock::new("S", &SAMPLE);
        assert_eq!(r.unmodelled_bits(CONF, 0x8000_0011), None, "modelled and stored bits, MODE at its reset value");
        let u = r.unmodelled_bits(CONF, 0x21).expect("MODE set");
        assert_eq!((u.reg, u.field, u.mask), ("CONF", Some("MODE"), 0x30));
        // The rest of a register tagged unmodelled: any bit that differs from reset.
        let u = r.unmodelled_bits(PAIR::at(1), 7).map(|u| u.field);
        assert_eq!(u, None, "read-only: no writable bits to set");
        assert_eq!(r.unmodelled_fields(CONF, 0x21).len(), 1);
    }
}
