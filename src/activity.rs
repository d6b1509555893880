//! What this host's SMTP side did with messages, minute by minute over the last hours: accepted,
//! quarantined, and refused by reply code. Kept in memory (a bounded ring of [`KEEP_MINUTES`]),
//! for the web inbox's activity chart; `/metrics` has the same counts as running totals.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{LazyLock, Mutex};

/// Six hours of minutes.
pub const KEEP_MINUTES: usize = 360;

/// The counts of one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    /// Unix time of the minute's start.
    pub at: i64,
    pub accepted: u32,
    pub quarantined: u32,
    /// Messages refused at the end of DATA, by reply code (550, 451, 452, …).
    pub refused: BTreeMap<u16, u32>,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Quarantined,
    Refused(u16),
}

pub struct Activity {
    minutes: Mutex<VecDeque<Minute>>,
}

pub static ACTIVITY: LazyLock<Activity> = LazyLock::new(|| Activity {
    minutes: Mutex::new(VecDeque::with_capacity(KEEP_MINUTES + 1)),
});

impl Activity {
    pub fn record(&self, outcome: Outcome) {
        self.record_at(crate::time::unix_now(), outcome);
    }

    fn record_at(&self, now: i64, outcome: Outcome) {
        let at = now - now.rem_euclid(60);
        let mut minutes = self.minutes.lock().unwrap_or_else(|e| e.into_inner());
        if minutes.back().is_none_or(|m| m.at < at) {
            minutes.push_back(Minute {
                at,
                ..Minute::default()
            });
            while minutes.len() > KEEP_MINUTES {
                minutes.pop_front();
            }
        }
        let Some(minute) = minutes.iter_mut().rev().find(|m| m.at == at) else {
            return; // a clock that went back: the minute has scrolled out
        };
        match outcome {
            Outcome::Accepted => minute.accepted += 1,
            Outcome::Quarantined => minute.quarantined += 1,
            Outcome::Refused(code) => *minute.refused.entry(code).or_default() += 1,
        }
    }

    /// The last `count` minutes up to now, oldest first, quiet minutes included (as zeros).
    pub fn last(&self, count: usize) -> Vec<Minute> {
        self.last_at(crate::time::unix_now(), count)
    }

    fn last_at(&self, now: i64, count: usize) -> Vec<Minute> {
        let count = count.min(KEEP_MINUTES);
        let current = now - now.rem_euclid(60);
        let minutes = self.minutes.lock().unwrap_or_else(|e| e.into_inner());
        (0..count as i64)
            .rev()
            .map(|back| {
                let at = current - back * 60;
                minutes.iter().find(|m| m.at == at).cloned().unwrap_or(Minute {
                    at,
                    ..Minute::default()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Activity {
        Activity {
            minutes: Mutex::new(VecDeque::new()),
        }
    }

    #[test]
    fn counts_land_in_their_minute_and_quiet_minutes_are_zeros() {
        let a = fresh();
        a.record_at(120, Outcome::Accepted);
        a.record_at(150, Outcome::Refused(550));
        a.record_at(150, Outcome::Refused(550));
        a.record_at(250, Outcome::Quarantined);
        let last = a.last_at(250, 4);
        assert_eq!(last.iter().map(|m| m.at).collect::<Vec<_>>(), [60, 120, 180, 240]);
        assert_eq!((last[1].accepted, last[1].refused.get(&550)), (1, Some(&2)));
        assert_eq!(
            last[2],
            Minute {
                at: 180,
                ..Minute::default()
            }
        );
        assert_eq!(last[3].quarantined, 1);
    }

    #[test]
    fn the_ring_is_bounded() {
        let a = fresh();
        for m in 0..(KEEP_MINUTES as i64 + 50) {
            a.record_at(m * 60, Outcome::Accepted);
        }
        assert_eq!(a.minutes.lock().unwrap().len(), KEEP_MINUTES);
    }
}
