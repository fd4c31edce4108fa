//! The staged watchdog both the timer groups' MWDT and RTC_CNTL's RWDT are built from
//! (TRM "Watchdog Timers"): a tick counter that runs through four stages, each with its own
//! timeout and action; a feed (or enabling it) restarts stage 0 from zero. The blocks own
//! the registers (which bits hold the stage actions and timeouts differ) and say what an
//! expired stage does; this type keeps the position and plans the expiry in virtual time.

use crate::time::{cycles_to_ps, ps_to_cycles, Hz, Ps, Round};
use serde::{Deserialize, Serialize};

/// A clock that ticks every `prescale` cycles of `hz`.
#[derive(Clone, Copy, Debug)]
pub struct TickClock {
    pub hz: Hz,
    pub prescale: u64,
}

impl TickClock {
    /// Whole ticks within `span` (a tick under way is not counted).
    pub fn ticks_in(self, span: Ps) -> u64 {
        (ps_to_cycles(span as u128, self.hz, Round::Down) / self.prescale as u128) as u64
    }

    /// The time `ticks` ticks take, rounded up (the tick that completes the count ends at
    /// or after it); None when further than ~100 days away: never, for an emulation.
    pub fn span_of(self, ticks: u64) -> Option<Ps> {
        let ps = cycles_to_ps(ticks as u128 * self.prescale as u128, self.hz, Round::Up);
        (ps <= i64::MAX as u128).then_some(ps as Ps)
    }
}

/// A staged watchdog's position: `stage`, with `ticks` counted up to `since`, and when the
/// stage expires (`due`), if the watchdog runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedWdt {
    pub stage: usize,
    ticks: u64,
    since: Ps,
    pub due: Option<Ps>,
}

impl StagedWdt {
    /// Stage 0 with a fresh count from `now` (a feed, enabling, a reset), not yet planned.
    pub fn restart(now: Ps) -> StagedWdt {
        StagedWdt { stage: 0, ticks: 0, since: now, due: None }
    }

    /// Ticks of the current stage counted by `now` (`active`: the watchdog runs).
    pub fn ticks(&self, now: Ps, active: bool, clock: TickClock) -> u64 {
        if !active {
            return self.ticks;
        }
        self.ticks + clock.ticks_in(now.saturating_sub(self.since))
    }

    /// Folds the count so far into `ticks` (before the clock or the configuration changes).
    pub fn rebase(&mut self, now: Ps, active: bool, clock: TickClock) {
        self.ticks = self.ticks(now, active, clock);
        self.since = now;
    }

    /// Plans the current stage's expiry: `hold` ticks (a zero timeout still takes one tick:
    /// no stage expires without time passing).
    pub fn schedule(&mut self, active: bool, hold: u64, clock: TickClock) {
        self.due = None;
        if !active {
            return;
        }
        let left = hold.max(1).saturating_sub(self.ticks).max(1);
        if let Some(ps) = clock.span_of(left) {
            self.due = Some(self.since + ps);
        }
    }

    /// The current stage expired at `at` (its action taken by the block): on to the next
    /// stage, counting from `at`. Returns the stage that expired.
    pub fn expire(&mut self, at: Ps) -> usize {
        let stage = self.stage;
        *self = StagedWdt { stage: (stage + 1) % 4, ticks: 0, since: at, due: None };
        stage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_expire_after_their_ticks() {
        // 1 MHz ticks: 80 cycles of 80 MHz.
        let clock = TickClock { hz: 80_000_000, prescale: 80 };
        let mut w = StagedWdt::restart(0);
        w.schedule(true, 1000, clock);
        assert_eq!(w.due, Some(1_000_000_000));
        // Half-way, the clock halves: 500 ticks counted, 500 left at the new rate.
        w.rebase(500_000_000, true, clock);
        let slow = TickClock { hz: 40_000_000, prescale: 80 };
        w.schedule(true, 1000, slow);
        assert_eq!(w.due, Some(1_500_000_000));
        assert_eq!(w.expire(1_500_000_000), 0);
        assert_eq!(w.stage, 1);
        w.schedule(false, 10, slow);
        assert_eq!(w.due, None);
    }
}
