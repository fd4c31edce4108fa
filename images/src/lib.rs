//! Firmware and flash formats. No emulation here: pure formats.
