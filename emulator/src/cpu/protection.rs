//! Region protection (ESP32: 8 regions of 512 MiB, no translation).

use super::*;

impl Cpu {
    pub(super) fn update_protection(&mut self) {
        self.dprot = 0;
        self.iprot = 0;
        for i in 0..8 {
            // Attribute 15 is "illegal"; 14 (isolate) is not modelled separately.
            if self.dtlb_attr[i] == 15 {
                self.dprot |= 1 << i;
            }
            if self.itlb_attr[i] == 15 {
                self.iprot |= 1 << i;
            }
        }
    }
}
