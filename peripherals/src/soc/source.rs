//! The ESP32's 69 peripheral interrupt sources (TRM "Interrupt Matrix"), named as in
//! ESP-IDF's `soc/soc.h` (`ETS_<NAME>_INTR_SOURCE`). Blocks raise local lines; the SoC's
//! block table says which source each line is, and the interrupt matrix (DPORT) routes
//! sources to CPU interrupts.

macro_rules! sources {
    ($($name:ident = $n:literal, $idf:literal;)*) => {
        /// A peripheral interrupt source (the number is the matrix input).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(u8)]
        pub enum Source {
            $(#[doc = concat!("`ETS_", $idf, "_INTR_SOURCE`")] $name = $n,)*
        }

        impl Source {
            /// Every source, in number order.
            pub const ALL: &'static [Source] = &[$(Source::$name),*];

            /// The name ESP-IDF gives it (without `ETS_` and `_INTR_SOURCE`).
            pub fn idf_name(self) -> &'static str {
                match self {
                    $(Source::$name => $idf,)*
                }
            }
        }
    };
}

sources! {
    WifiMac = 0, "WIFI_MAC";
    WifiMacNmi = 1, "WIFI_MAC_NMI";
    WifiBb = 2, "WIFI_BB";
    BtMac = 3, "BT_MAC";
    BtBb = 4, "BT_BB";
    BtBbNmi = 5, "BT_BB_NMI";
    Rwbt = 6, "RWBT";
    Rwble = 7, "RWBLE";
    RwbtNmi = 8, "RWBT_NMI";
    RwbleNmi = 9, "RWBLE_NMI";
    Slc0 = 10, "SLC0";
    Slc1 = 11, "SLC1";
    Uhci0 = 12, "UHCI0";
    Uhci1 = 13, "UHCI1";
    Tg0T0Level = 14, "TG0_T0_LEVEL";
    Tg0T1Level = 15, "TG0_T1_LEVEL";
    Tg0WdtLevel = 16, "TG0_WDT_LEVEL";
    Tg0LactLevel = 17, "TG0_LACT_LEVEL";
    Tg1T0Level = 18, "TG1_T0_LEVEL";
    Tg1T1Level = 19, "TG1_T1_LEVEL";
    Tg1WdtLevel = 20, "TG1_WDT_LEVEL";
    Tg1LactLevel = 21, "TG1_LACT_LEVEL";
    Gpio = 22, "GPIO";
    GpioNmi = 23, "GPIO_NMI";
    FromCpu0 = 24, "FROM_CPU_INTR0";
    FromCpu1 = 25, "FROM_CPU_INTR1";
    FromCpu2 = 26, "FROM_CPU_INTR2";
    FromCpu3 = 27, "FROM_CPU_INTR3";
    Spi0 = 28, "SPI0";
    Spi1 = 29, "SPI1";
    Spi2 = 30, "SPI2";
    Spi3 = 31, "SPI3";
    I2s0 = 32, "I2S0";
    I2s1 = 33, "I2S1";
    Uart0 = 34, "UART0";
    Uart1 = 35, "UART1";
    Uart2 = 36, "UART2";
    SdioHost = 37, "SDIO_HOST";
    EthMac = 38, "ETH_MAC";
    Pwm0 = 39, "PWM0";
    Pwm1 = 40, "PWM1";
    Pwm2 = 41, "PWM2";
    Pwm3 = 42, "PWM3";
    Ledc = 43, "LEDC";
    Efuse = 44, "EFUSE";
    Can = 45, "CAN";
    RtcCore = 46, "RTC_CORE";
    Rmt = 47, "RMT";
    Pcnt = 48, "PCNT";
    I2cExt0 = 49, "I2C_EXT0";
    I2cExt1 = 50, "I2C_EXT1";
    Rsa = 51, "RSA";
    Spi1Dma = 52, "SPI1_DMA";
    Spi2Dma = 53, "SPI2_DMA";
    Spi3Dma = 54, "SPI3_DMA";
    Wdt = 55, "WDT";
    Timer1 = 56, "TIMER1";
    Timer2 = 57, "TIMER2";
    Tg0T0Edge = 58, "TG0_T0_EDGE";
    Tg0T1Edge = 59, "TG0_T1_EDGE";
    Tg0WdtEdge = 60, "TG0_WDT_EDGE";
    Tg0LactEdge = 61, "TG0_LACT_EDGE";
    Tg1T0Edge = 62, "TG1_T0_EDGE";
    Tg1T1Edge = 63, "TG1_T1_EDGE";
    Tg1WdtEdge = 64, "TG1_WDT_EDGE";
    Tg1LactEdge = 65, "TG1_LACT_EDGE";
    MmuIa = 66, "MMU_IA";
    MpuIa = 67, "MPU_IA";
    CacheIa = 68, "CACHE_IA";
}

impl Source {
    /// The source's bit in a 128-bit set of raised sources.
    #[inline]
    pub const fn bit(self) -> u128 {
        1 << self as u8
    }
}

/// Spreads a block's raised local lines (bit i = line i) onto the sources its table line
/// names for them.
#[inline]
pub fn spread(lines: u32, sources: &[Source]) -> u128 {
    let mut s = 0u128;
    let mut l = lines;
    while l != 0 {
        let i = l.trailing_zeros() as usize;
        l &= l - 1;
        s |= sources[i].bit();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_in_order() {
        for (i, s) in Source::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i, "{}", s.idf_name());
        }
        assert_eq!(Source::ALL.len(), 69);
        assert_eq!(spread(0b101, &[Source::Uart0, Source::Uart1, Source::Timer2]), 1 << 34 | 1 << 57);
    }
}
