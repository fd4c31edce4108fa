//! ESP32 peripherals, the SoC (memory map, both cores) and the Pycom boards.
//! Populated by the power-on work (issue 4); empty until then.
