//! Open connections, in all and per client address: the places a listener hands out.
//!
//! A client beyond a limit gets `421 4.7.0` at once and never waits in a queue; a place is given
//! back when its [`Permit`] is dropped.

use super::reply::{self, Reply};
use crate::metrics::METRICS;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Open connections, in all and per client address.
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    all_closed: Notify,
}

/// Which limit a connection met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    /// `limits.max_connections`: no client is spared it.
    Total,
    /// `limits.max_connections_per_ip`.
    PerClient,
}

impl LimitReached {
    pub fn reply(self) -> Reply {
        match self {
            LimitReached::Total => reply::TOO_MANY_CONNECTIONS,
            LimitReached::PerClient => reply::TOO_MANY_FROM_IP,
        }
    }
}

/// One open connection's place; released when dropped.
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    /// The client key counted against the per-IP cap; None for a client spared it.
    ip: Option<IpAddr>,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            open: Mutex::new((0, HashMap::new())),
            all_closed: Notify::new(),
        })
    }

    /// A place for a client counted under `key` against the per-IP cap, or (None) spared it.
    pub fn acquire(self: &Arc<Self>, key: Option<IpAddr>) -> Result<Permit, LimitReached> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.max_total {
            return Err(LimitReached::Total);
        }
        if let Some(ip) = key {
            let from_ip = open.1.entry(ip).or_insert(0);
            if *from_ip >= self.max_per_ip {
                return Err(LimitReached::PerClient);
            }
            *from_ip += 1;
        }
        open.0 += 1;
        METRICS.connections_open.inc();
        Ok(Permit {
            limits: Arc::clone(self),
            ip: key,
        })
    }

    pub fn open_connections(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    pub(super) async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.open_connections() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        METRICS.connections_open.dec();
        if let Some(ip) = self.ip
            && let Some(n) = open.1.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&ip);
            }
        }
        if open.0 == 0 {
            self.limits.all_closed.notify_waiters();
        }
    }
}
