//! The memory all sessions together may hold in message bodies (`limits.max_inflight_bytes`).
//!
//! One message is bounded by `limits.max_message_size`, but a thousand sessions each sending 25 MiB
//! would still hold 25 GiB. Every byte a session keeps of a message is taken from this budget and
//! given back when its transaction ends (stored, refused or dropped). A message that would pass the
//! budget is read to its end and dropped, then answered 452 4.3.1 so that its sender retries later;
//! while 90 % of the budget is held, MAIL is answered 452 4.3.1 at once, so that new transactions
//! wait for those in progress instead of starting messages that could not finish.

use crate::metrics::METRICS;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct MessageBudget {
    /// 0: no limit (bytes are still counted for the metrics).
    limit: usize,
    used: AtomicUsize,
}

impl MessageBudget {
    pub fn new(limit: usize) -> Arc<MessageBudget> {
        Arc::new(MessageBudget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// True when 90 % of the budget is held: no new transaction should start.
    pub fn spent(&self) -> bool {
        self.limit > 0 && self.used.load(Relaxed) >= self.limit - self.limit / 10
    }

    /// An empty share for one transaction.
    pub fn share(self: &Arc<Self>) -> Share {
        Share {
            budget: Arc::clone(self),
            bytes: 0,
        }
    }

    fn take(&self, more: usize) -> bool {
        if self.limit == 0 {
            self.used.fetch_add(more, Relaxed);
            return true;
        }
        self.used
            .fetch_update(Relaxed, Relaxed, |used| {
                let next = used.saturating_add(more);
                (next <= self.limit).then_some(next)
            })
            .is_ok()
    }
}

/// The bytes one transaction holds; given back when it is dropped.
pub struct Share {
    budget: Arc<MessageBudget>,
    bytes: usize,
}

impl Share {
    /// Takes `more` bytes; false, and nothing taken, when that would pass the limit.
    pub fn grow(&mut self, more: usize) -> bool {
        if more == 0 {
            return true;
        }
        if !self.budget.take(more) {
            return false;
        }
        self.bytes += more;
        METRICS.message_bytes_held.inc_by(more as i64);
        true
    }

    /// Gives everything back.
    pub fn release(&mut self) {
        if self.bytes > 0 {
            self.budget.used.fetch_sub(self.bytes, Relaxed);
            METRICS.message_bytes_held.dec_by(self.bytes as i64);
            self.bytes = 0;
        }
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_stop_at_the_limit_and_give_back_when_dropped() {
        let budget = MessageBudget::new(100);
        let mut a = budget.share();
        let mut b = budget.share();
        assert!(a.grow(60));
        assert!(!b.grow(50), "60 + 50 passes 100");
        assert!(b.grow(29));
        assert!(!budget.spent(), "89 of 100");
        assert!(b.grow(1));
        assert!(budget.spent(), "90 of 100");
        drop(a);
        assert!(!budget.spent());
        assert!(b.grow(60));
        b.release();
        assert!(b.grow(100));
    }

    #[test]
    fn no_limit_counts_but_never_refuses() {
        let budget = MessageBudget::new(0);
        let mut a = budget.share();
        assert!(a.grow(usize::MAX / 2));
        assert!(!budget.spent());
    }
}
