//! Reset causes as the ROM reports them (RTC_CNTL RESET_STATE, `rtc_get_reset_reason`),
//! named as in ESP-IDF's `rom/rtc.h` (`RESET_REASON`).

/// Why a core (re)started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum ResetCause {
    /// `POWERON_RESET`: chip power-on (everything, the RTC domain included).
    PowerOn = 1,
    /// `SW_RESET`: RTC_CNTL SW_SYS_RST, a digital system reset.
    Sw = 3,
    /// `OWDT_RESET`: legacy watchdog.
    Owdt = 4,
    /// `DEEPSLEEP_RESET`: wake-up from deep sleep.
    DeepSleep = 5,
    /// `SDIO_RESET`.
    Sdio = 6,
    /// `TG0WDT_SYS_RESET`: TIMG0's watchdog, system reset stage.
    Tg0WdtSys = 7,
    /// `TG1WDT_SYS_RESET`: TIMG1's watchdog, system reset stage.
    Tg1WdtSys = 8,
    /// `RTCWDT_SYS_RESET`: the RTC watchdog, system reset stage.
    RtcWdtSys = 9,
    /// `INTRUSION_RESET`.
    Intrusion = 10,
    /// `TGWDT_CPU_RESET`: a timer group's watchdog, CPU reset stage.
    TgWdtCpu = 11,
    /// `SW_CPU_RESET`: RTC_CNTL SW_PROCPU_RST / SW_APPCPU_RST.
    SwCpu = 12,
    /// `RTCWDT_CPU_RESET`: the RTC watchdog, CPU reset stage.
    RtcWdtCpu = 13,
    /// `EXT_CPU_RESET`: the APP CPU reset by the PRO CPU.
    ExtCpu = 14,
    /// `RTCWDT_BROWN_OUT_RESET`.
    RtcWdtBrownOut = 15,
    /// `RTCWDT_RTC_RESET`: the RTC watchdog, RTC (whole chip) reset stage.
    RtcWdtRtc = 16,
}

impl ResetCause {
    /// The cause from its ROM number.
    pub fn from_number(n: u32) -> Option<ResetCause> {
        use ResetCause::*;
        Some(match n {
            1 => PowerOn,
            3 => Sw,
            4 => Owdt,
            5 => DeepSleep,
            6 => Sdio,
            7 => Tg0WdtSys,
            8 => Tg1WdtSys,
            9 => RtcWdtSys,
            10 => Intrusion,
            11 => TgWdtCpu,
            12 => SwCpu,
            13 => RtcWdtCpu,
            14 => ExtCpu,
            15 => RtcWdtBrownOut,
            16 => RtcWdtRtc,
            _ => return None,
        })
    }

    /// The ROM's number for it (what RESET_STATE holds).
    pub fn number(self) -> u32 {
        self as u32
    }

    /// Whether only CPUs restart (peripherals and memory untouched).
    pub fn is_cpu_reset(self) -> bool {
        matches!(self, ResetCause::TgWdtCpu | ResetCause::SwCpu | ResetCause::RtcWdtCpu | ResetCause::ExtCpu)
    }
}

/// What the firmware asked of the system that the machine must carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[derive(serde::Serialize, serde::Deserialize)]
pub enum SysRequest {
    /// RTC_CNTL SW_SYS_RST: reset both cores and the digital peripherals (`SW_RESET`).
    SystemReset,
    /// Reset with this cause (a watchdog's system or RTC stage): see `Machine::system_reset`.
    Reset(ResetCause),
    /// Reset only these cores, with this cause (software, a watchdog's CPU stage).
    CpuReset { pro: bool, app: bool, cause: ResetCause },
    /// Deep sleep until `wake_at` (ps; None: no wake-up source modelled), then a deep-sleep reset.
    DeepSleep { wake_at: Option<u64> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for n in 0..20 {
            if let Some(c) = ResetCause::from_number(n) {
                assert_eq!(c.number(), n);
            }
        }
        assert_eq!(ResetCause::from_number(2), None);
    }
}
