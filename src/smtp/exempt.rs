//! Which clients the rate limits and the per-IP connection cap spare, and what counts as one
//! client.
//!
//! - `server.trusted_networks` and `limits.exempt_networks` are spared by address.
//! - A client whose forward-confirmed reverse DNS name (its PTR name, whose own A/AAAA records
//!   include its address) is at or under one of `limits.exempt_hostnames` is spared too: the big
//!   mailbox providers forward agents' mail for every account of the platform from a few IPs. The
//!   lookup runs only when a limit would refuse the client, is bounded in time, and its answer
//!   (yes or no) is kept for [`ANSWER_TTL`], so a refused flood costs one lookup per address.
//! - IPv6 clients are counted per `limits.ipv6_prefix` (a /64 by default): rotating addresses
//!   within one site buys no fresh budget. An IPv4-mapped IPv6 address counts as its IPv4 address.

use crate::auth::Verifier;
use crate::config::Network;
use std::collections::HashMap;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a host-name answer is kept.
const ANSWER_TTL: Duration = Duration::from_secs(600);
/// Addresses whose answer is kept; past it the cache starts over (a cheap bound on memory).
const MAX_ANSWERS: usize = 16_384;
/// The bound on one forward-confirmed reverse DNS lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// Lookups started ahead of need (see [`Exemptions::prefetch`]) running at once; beyond it none is
/// started, so a flood from many addresses cannot make us a DNS amplifier.
const MAX_PREFETCHES: usize = 64;

/// The address a client's budgets are kept under.
pub fn client_key(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6);
                let keep = u32::from(ipv6_prefix.min(128));
                let mask = if keep == 0 { 0 } else { u128::MAX << (128 - keep) };
                IpAddr::V6(Ipv6Addr::from(bits & mask))
            }
        },
    }
}

/// The exemptions of one server.
pub struct Exemptions {
    networks: Vec<Network>,
    domains: Vec<String>,
    /// DNS for the host-name exemption; None when sender authentication (and so DNS) is off.
    verifier: Option<Verifier>,
    answers: Mutex<HashMap<IpAddr, (Option<String>, Instant)>>,
    prefetching: Mutex<HashSet<IpAddr>>,
}

impl Exemptions {
    pub fn new(networks: Vec<Network>, domains: &[String], verifier: Option<Verifier>) -> Exemptions {
        Exemptions {
            networks,
            domains: domains
                .iter()
                .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            verifier,
            answers: Mutex::new(HashMap::new()),
            prefetching: Mutex::new(HashSet::new()),
        }
    }

    /// Starts the host-name lookup for a new client in the background, so that its answer is at
    /// hand if a limit would later refuse the client in the middle of its session (the message
    /// rate at MAIL). Never delays the client.
    pub fn prefetch(self: &Arc<Self>, ip: IpAddr) {
        if self.verifier.is_none() || self.domains.is_empty() || self.cached(ip).is_some() {
            return;
        }
        {
            let mut running = self.prefetching.lock().unwrap_or_else(|e| e.into_inner());
            if running.len() >= MAX_PREFETCHES || !running.insert(ip) {
                return;
            }
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let _ = this.by_hostname(ip).await;
            this.prefetching.lock().unwrap_or_else(|e| e.into_inner()).remove(&ip);
        });
    }

    /// The answer already known for `ip`: Some(name) exempt, Some(None) not, None not looked up.
    pub fn cached(&self, ip: IpAddr) -> Option<Option<String>> {
        self.answers()
            .get(&ip)
            .filter(|(_, at)| at.elapsed() < ANSWER_TTL)
            .map(|(answer, _)| answer.clone())
    }

    /// Spared by address (`trusted_networks` are checked by the caller).
    pub fn by_network(&self, ip: IpAddr) -> bool {
        Network::any_contains(&self.networks, ip)
    }

    /// The client's confirmed host name under an exempt domain, if it has one.
    pub async fn by_hostname(&self, ip: IpAddr) -> Option<String> {
        let verifier = self.verifier.as_ref().filter(|_| !self.domains.is_empty())?;
        if let Some(answer) = self.cached(ip) {
            return answer;
        }
        let names = verifier.confirmed_hostnames(ip, LOOKUP_TIMEOUT).await;
        let answer = names.into_iter().find(|name| self.is_exempt_name(name));
        let mut answers = self.answers();
        if answers.len() >= MAX_ANSWERS {
            answers.clear();
        }
        answers.insert(ip, (answer.clone(), Instant::now()));
        answer
    }

    fn is_exempt_name(&self, name: &str) -> bool {
        self.domains
            .iter()
            .any(|d| name == d || name.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
    }

    fn answers(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Option<String>, Instant)>> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_per_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a, 64), client_key(b, 64));
        assert_ne!(client_key(a, 64), client_key(other, 64));
        assert_eq!(client_key(a, 64), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(client_key(a, 128), client_key(b, 128));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped, 64), "192.0.2.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4, 64), v4);
    }

    #[test]
    fn names_are_exempt_at_or_under_a_listed_domain() {
        let e = Exemptions::new(Vec::new(), &["google.com".into(), "Outlook.com.".into()], None);
        assert!(e.is_exempt_name("google.com"));
        assert!(e.is_exempt_name("mail-sor-f41.google.com"));
        assert!(e.is_exempt_name("mail-dm6nam12on2041.outbound.protection.outlook.com"));
        assert!(!e.is_exempt_name("evilgoogle.com"));
        assert!(!e.is_exempt_name("google.com.evil.example"));
    }
}
