//! The Xtensa LX6 core in the ESP32's configuration: decoder, interpreter, disassembler,
//! the bus it runs on and the virtual clock.

pub mod decode;
