//! `[limits]`: what one client and all of them together may take (sizes, time, connections,
//! rates, bytes in flight), who is exempt, and the client networks they are counted by.

use super::{Invalid, fail};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub max_message_size: usize,
    /// Recipients per transaction.
    pub max_recipients: usize,
    /// Seconds without a command or data before 421 4.4.2.
    pub idle_timeout_secs: u64,
    /// Seconds a whole session may last before 421 4.4.2.
    pub session_timeout_secs: u64,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client IP.
    pub max_connections_per_ip: usize,
    /// Bad commands and refused recipients tolerated in one session before 421 and close.
    pub max_errors: u32,
    /// New connections per client IP per `rate_window_secs` (0: no limit); beyond it 421 4.7.0.
    pub connection_rate: u32,
    /// Messages (MAIL commands) per client IP per `rate_window_secs` (0: no limit); beyond it 451 4.7.1.
    pub message_rate: u32,
    /// The window of the two rates above, in seconds.
    pub rate_window_secs: u64,
    /// Above this share of `max_connections` in use, the stress timeouts apply (as Postfix does).
    pub stress_threshold_percent: u8,
    /// Idle timeout under stress.
    pub stress_idle_timeout_secs: u64,
    /// Message bytes all sessions together may hold before they are stored (0: no limit); a
    /// message that would pass it gets 452 4.3.1, and so does MAIL while 90 % of it is held.
    pub max_inflight_bytes: usize,
    /// Clients the rate limits and the per-IP connection cap do not apply to (their mail is still
    /// authenticated, unlike `server.trusted_networks`).
    pub exempt_networks: Vec<Network>,
    /// Clients whose forward-confirmed reverse DNS name is at or under one of these domains are
    /// exempt in the same way: the big mailbox providers that forward agents' mail.
    pub exempt_hostnames: Vec<String>,
    /// IPv6 clients share their rate and connection budgets per prefix of this length.
    pub ipv6_prefix: u8,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            idle_timeout_secs: 300,
            session_timeout_secs: 1800,
            max_connections: 1000,
            max_connections_per_ip: 50,
            max_errors: 10,
            connection_rate: 3000,
            message_rate: 6000,
            rate_window_secs: 60,
            stress_threshold_percent: 80,
            stress_idle_timeout_secs: 10,
            max_inflight_bytes: 1024 * 1024 * 1024,
            exempt_networks: Vec::new(),
            exempt_hostnames: vec![
                "google.com".into(),
                "outlook.com".into(),
                "yahoo.com".into(),
                "icloud.com".into(),
            ],
            ipv6_prefix: 64,
        }
    }
}

impl LimitsConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let l = self;
        if l.max_message_size < 1024 {
            return fail("limits.max_message_size", "must be at least 1024 bytes");
        }
        if l.max_recipients == 0 {
            return fail("limits.max_recipients", "must be at least 1");
        }
        if l.idle_timeout_secs == 0 {
            return fail("limits.idle_timeout_secs", "must be at least 1 second");
        }
        if l.session_timeout_secs == 0 {
            return fail("limits.session_timeout_secs", "must be at least 1 second");
        }
        if !(16..=128).contains(&l.ipv6_prefix) {
            return fail("limits.ipv6_prefix", "must be between 16 and 128");
        }
        for domain in &l.exempt_hostnames {
            if domain.is_empty() || domain.contains(['@', ' ']) || domain.starts_with('.') {
                return fail("limits.exempt_hostnames", &format!("`{domain}` is not a domain name"));
            }
        }
        if l.max_connections == 0 {
            return fail("limits.max_connections", "must be at least 1");
        }
        if l.max_connections_per_ip == 0 {
            return fail("limits.max_connections_per_ip", "must be at least 1");
        }
        if l.max_errors == 0 {
            return fail("limits.max_errors", "must be at least 1");
        }
        if l.rate_window_secs == 0 {
            return fail("limits.rate_window_secs", "must be at least 1 second");
        }
        if l.stress_threshold_percent == 0 || l.stress_threshold_percent > 100 {
            return fail("limits.stress_threshold_percent", "must be between 1 and 100");
        }
        if l.stress_idle_timeout_secs == 0 {
            return fail("limits.stress_idle_timeout_secs", "must be at least 1 second");
        }
        Ok(())
    }
}

/// An IP network written `10.0.0.0/8`, `2001:db8::/32` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen on an IPv6 socket is `::ffff:a.b.c.d`.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    pub fn any_contains(networks: &[Network], ip: IpAddr) -> bool {
        networks.iter().any(|n| n.contains(ip))
    }
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| format!("`{s}` is not an IP network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or(format!("`{s}`: bad prefix length"))?,
            None => max,
        };
        Ok(Network { addr, prefix })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Network, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
