//! What RCPT and the pipeline read for every message (an address's account, an account's members),
//! remembered for [`FRESH_FOR`]: a host then asks the database once a second per address, not once
//! per recipient. A change made through any host is seen everywhere within that second (the issue's
//! bound is two). Only found accounts are remembered: an address just created on another host is
//! never refused from memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an answer is used without asking again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// More entries than this and the memory starts over (a bound, not a policy: entries live a second).
const MAX_ENTRIES: usize = 50_000;

pub struct Recent<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    pub fn new() -> Recent<K, V> {
        Recent {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The answer remembered for `key`, if it is fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_fresh_for_a_second_and_then_asked_again() {
        let recent = Recent::new();
        recent.put("a", 1);
        assert_eq!(recent.get(&"a"), Some(1));
        assert_eq!(recent.get(&"b"), None);
        recent
            .entries
            .lock()
            .unwrap()
            .insert("a", (Instant::now() - FRESH_FOR, 1));
        assert_eq!(recent.get(&"a"), None, "stale answers are not used");
    }
}
