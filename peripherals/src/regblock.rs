//! A register block described by a table: which offsets exist, their reset values and
//! writable bits. Blocks with behaviour wrap one of these and intercept the registers
//! that do something; everything in the table is at least faithful storage. An offset
//! outside the table is *unmodelled* and reported by the SoC.

/// One register: offset, reset value, mask of writable bits, name.
#[derive(Clone, Copy, Debug)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RegDef {
    pub off: u32,
    pub reset: u32,
    pub wmask: u32,
    #[serde(with = "crate::snapshot::static_str")]
    pub name: crate::snapshot::Name,
}

/// Shorthand for a read/write register with the given reset value.
pub const fn rw(off: u32, reset: u32, name: &'static str) -> RegDef {
    RegDef { off, reset, wmask: u32::MAX, name }
}

/// Shorthand for a read-only register.
pub const fn ro(off: u32, reset: u32, name: &'static str) -> RegDef {
    RegDef { off, reset, wmask: 0, name }
}

/// A range of identical read/write registers (`count` of them, 4 bytes apart).
pub fn rw_array(out: &mut Vec<RegDef>, off: u32, count: u32, reset: u32, name: &'static str) {
    for i in 0..count {
        out.push(RegDef { off: off + 4 * i, reset, wmask: u32::MAX, name });
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct RegBlock {
    #[serde(with = "crate::snapshot::static_str")]
    pub name: crate::snapshot::Name,
    /// Index by offset/4 into `defs`/`vals` (u16::MAX = not modelled).
    index: Vec<u16>,
    defs: Vec<RegDef>,
    vals: Vec<u32>,
}

impl RegBlock {
    pub fn new(name: &'static str, size: u32, defs: Vec<RegDef>) -> RegBlock {
        let mut index = vec![u16::MAX; (size / 4) as usize];
        let vals = defs.iter().map(|d| d.reset).collect();
        for (i, d) in defs.iter().enumerate() {
            index[(d.off / 4) as usize] = i as u16;
        }
        RegBlock { name, index, defs, vals }
    }

    /// Back to reset values.
    pub fn reset(&mut self) {
        for (v, d) in self.vals.iter_mut().zip(&self.defs) {
            *v = d.reset;
        }
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
                let m = self.defs[i].wmask;
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

    /// Sets a value regardless of the write mask (hardware-side update).
    #[inline]
    pub fn set(&mut self, off: u32, v: u32) {
        if let Some(i) = self.slot(off) {
            self.vals[i] = v;
        }
    }

    pub fn reg_name(&self, off: u32) -> Option<&'static str> {
        self.slot(off).map(|i| self.defs[i].name)
    }
}
