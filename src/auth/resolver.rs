//! DNS for the checks: the hickory resolver `mail-auth` queries, the TTL caches in front of it, and the
//! fixed records of [`TestRecords`] that let tests run with no network at all.
//!
//! `mail-auth` looks every name up through its cache traits first and only goes to the resolver on a
//! miss, storing the parsed answer until the TTL hickory reports. So one [`Caches`] (five maps: TXT,
//! MX, A, AAAA, PTR) shared by every session means a repeated sender costs no query and no parsing.
//! In offline mode the same maps answer every name from the fixed records, and a name that is not
//! there is NXDOMAIN (TXT) or an empty answer (addresses, MX, PTR): the resolver is never reached.

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::Dmarc;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::spf::Spf;
use mail_auth::{DnsError, DnssecStatus, Error, MX, MessageAuthenticator, Parameters, RecordSet, ResolverCache, Txt};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries kept per record type. Past it the expired entries go, and if the map is still full it
/// is emptied: a cheap bound on memory that only costs some re-queries once in a long while.
const CACHE_CAPACITY: usize = 8_192;

/// Answers longer-lived than this are re-read anyway, so a fixed key or policy change shows within
/// the hour even when the domain published a day-long TTL.
const MAX_TTL: Duration = Duration::from_secs(3_600);

/// Pre-filled DNS answers for [`super::Verifier::with_records`]: tests and offline runs.
///
/// Names are matched case-insensitively, with or without the final dot. A TXT value is parsed by
/// where it lives: under `_domainkey.` as a DKIM key, under `_dmarc.` as a DMARC policy, anywhere else
/// as SPF. Every name not given here is NXDOMAIN for TXT and has no A, AAAA, MX or PTR records (so an
/// SPF `exists:` mechanism, which only asks whether a name is known, sees every name as existing).
#[derive(Debug, Clone, Default)]
pub struct TestRecords {
    txt: Vec<(String, String)>,
    a: Vec<(String, Ipv4Addr)>,
    aaaa: Vec<(String, Ipv6Addr)>,
    mx: Vec<(String, u16, String)>,
}

impl TestRecords {
    pub fn new() -> TestRecords {
        TestRecords::default()
    }

    /// One TXT record (one per name: a second one for the same name replaces it).
    pub fn txt(mut self, name: &str, value: &str) -> TestRecords {
        self.txt.push((fqdn(name), value.to_string()));
        self
    }

    pub fn a(mut self, name: &str, addr: Ipv4Addr) -> TestRecords {
        self.a.push((fqdn(name), addr));
        self
    }

    pub fn aaaa(mut self, name: &str, addr: Ipv6Addr) -> TestRecords {
        self.aaaa.push((fqdn(name), addr));
        self
    }

    pub fn mx(mut self, name: &str, preference: u16, exchange: &str) -> TestRecords {
        self.mx.push((fqdn(name), preference, fqdn(exchange)));
        self
    }
}

/// The key form `mail-auth` uses: lower case with the final dot.
fn fqdn(name: &str) -> String {
    let mut name = name.trim().to_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    name
}

fn parse_txt(name: &str, value: &str) -> Txt {
    let bytes = value.as_bytes();
    if name.contains("._domainkey.") {
        DomainKey::parse(bytes).into()
    } else if name.starts_with("_dmarc.") || name.contains("._dmarc.") {
        Dmarc::parse(bytes).into()
    } else {
        Spf::parse(bytes).into()
    }
}

fn record_set<T>(list: Vec<T>) -> RecordSet<T> {
    RecordSet {
        rrset: Arc::from(list),
        dnssec_status: DnssecStatus::Indeterminate,
    }
}

fn empty_set<T>() -> RecordSet<T> {
    record_set(Vec::new())
}

/// One record type's cache: answers learned from DNS until their TTL, plus (offline only) the fixed
/// answers and the answer for every other name.
pub(super) struct Cache<K, V> {
    learned: Mutex<HashMap<K, (V, Instant)>>,
    fixed: HashMap<K, V>,
    /// `Some` in offline mode: what a name missing from `fixed` answers, so nothing reaches DNS.
    missing: Option<V>,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    fn online() -> Cache<K, V> {
        Cache {
            learned: Mutex::new(HashMap::new()),
            fixed: HashMap::new(),
            missing: None,
        }
    }

    fn offline(fixed: HashMap<K, V>, missing: V) -> Cache<K, V> {
        Cache {
            learned: Mutex::new(HashMap::new()),
            fixed,
            missing: Some(missing),
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.learned.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Cache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(value) = self.fixed.get(name) {
            return Some(value.clone());
        }
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        match learned.get(name) {
            Some((value, until)) if *until > Instant::now() => return Some(value.clone()),
            Some(_) => {
                learned.remove(name);
            }
            None => {}
        }
        drop(learned);
        self.missing.clone()
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        learned.remove(name).map(|(value, _)| value)
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        let now = Instant::now();
        let until = valid_until.min(now.checked_add(MAX_TTL).unwrap_or(valid_until));
        if until <= now {
            return;
        }
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        if learned.len() >= CACHE_CAPACITY {
            learned.retain(|_, (_, until)| *until > now);
            if learned.len() >= CACHE_CAPACITY {
                learned.clear();
            }
        }
        learned.insert(key, (value, until));
    }
}

/// The five caches `mail-auth` takes, shared by every check of every message.
pub(super) struct Caches {
    pub(super) txt: Cache<Box<str>, Txt>,
    mx: Cache<Box<str>, RecordSet<MX>>,
    pub(super) ipv4: Cache<Box<str>, RecordSet<Ipv4Addr>>,
    pub(super) ipv6: Cache<Box<str>, RecordSet<Ipv6Addr>>,
    pub(super) ptr: Cache<IpAddr, RecordSet<Box<str>>>,
}

/// The `Parameters` type every `mail-auth` check gets from [`Caches::params`].
pub(super) type Params<'x, P> = Parameters<
    'x,
    P,
    Cache<Box<str>, Txt>,
    Cache<Box<str>, RecordSet<MX>>,
    Cache<Box<str>, RecordSet<Ipv4Addr>>,
    Cache<Box<str>, RecordSet<Ipv6Addr>>,
    Cache<IpAddr, RecordSet<Box<str>>>,
>;

impl Caches {
    pub(super) fn online() -> Caches {
        Caches {
            txt: Cache::online(),
            mx: Cache::online(),
            ipv4: Cache::online(),
            ipv6: Cache::online(),
            ptr: Cache::online(),
        }
    }

    pub(super) fn offline(records: TestRecords) -> Caches {
        let txt = records.txt.into_iter().map(|(name, value)| {
            let parsed = parse_txt(&name, &value);
            (name.into_boxed_str(), parsed)
        });
        let mut ipv4: HashMap<Box<str>, Vec<Ipv4Addr>> = HashMap::new();
        for (name, addr) in records.a {
            ipv4.entry(name.into_boxed_str()).or_default().push(addr);
        }
        let mut ipv6: HashMap<Box<str>, Vec<Ipv6Addr>> = HashMap::new();
        for (name, addr) in records.aaaa {
            ipv6.entry(name.into_boxed_str()).or_default().push(addr);
        }
        let mut mx: HashMap<Box<str>, Vec<(u16, String)>> = HashMap::new();
        for (name, preference, exchange) in records.mx {
            mx.entry(name.into_boxed_str())
                .or_default()
                .push((preference, exchange));
        }
        let mx = mx.into_iter().map(|(name, mut list)| {
            list.sort_by_key(|(preference, _)| *preference);
            let rrset = list
                .into_iter()
                .map(|(preference, exchange)| MX {
                    exchanges: Box::new([exchange.into_boxed_str()]),
                    preference,
                })
                .collect::<Vec<_>>();
            (name, record_set(rrset))
        });
        Caches {
            txt: Cache::offline(
                txt.collect(),
                Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain))),
            ),
            mx: Cache::offline(mx.collect(), empty_set()),
            ipv4: Cache::offline(ipv4.into_iter().map(|(k, v)| (k, record_set(v))).collect(), empty_set()),
            ipv6: Cache::offline(ipv6.into_iter().map(|(k, v)| (k, record_set(v))).collect(), empty_set()),
            ptr: Cache::offline(HashMap::new(), empty_set()),
        }
    }

    /// Wraps one check's input with every cache.
    pub(super) fn params<P>(&self, params: P) -> Params<'_, P> {
        Parameters {
            params,
            cache_txt: Some(&self.txt),
            cache_mx: Some(&self.mx),
            cache_ptr: Some(&self.ptr),
            cache_ipv4: Some(&self.ipv4),
            cache_ipv6: Some(&self.ipv6),
        }
    }
}

/// The resolver `/etc/resolv.conf` names, each query bounded by `timeout`.
pub(super) fn system_resolver(timeout: Duration) -> Result<MessageAuthenticator, String> {
    let (config, opts) = mail_auth::hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
    build(config, opts, timeout)
}

/// A resolver that asks exactly these servers (UDP, then TCP for truncated answers).
pub(super) fn resolver_for(servers: &[SocketAddr], timeout: Duration) -> Result<MessageAuthenticator, String> {
    if servers.is_empty() {
        return Err("no DNS server given".to_string());
    }
    let servers = servers
        .iter()
        .map(|server| {
            let mut config = NameServerConfig::udp_and_tcp(server.ip());
            for connection in &mut config.connections {
                connection.port = server.port();
            }
            config
        })
        .collect();
    build(
        ResolverConfig::from_name_servers(servers),
        ResolverOpts::default(),
        timeout,
    )
}

/// A resolver with no server at all, for offline mode: if a lookup ever got past the caches it would
/// fail at once (a temperror) instead of touching the network.
pub(super) fn no_resolver() -> Result<MessageAuthenticator, String> {
    build(
        ResolverConfig::from_name_servers(Vec::new()),
        ResolverOpts::default(),
        Duration::from_secs(1),
    )
}

fn build(config: ResolverConfig, mut opts: ResolverOpts, timeout: Duration) -> Result<MessageAuthenticator, String> {
    // One query never outlives the whole check; hickory's own retries stay within that too.
    opts.timeout = opts.timeout.min(timeout).max(Duration::from_millis(50));
    opts.attempts = opts.attempts.clamp(1, 2);
    opts.positive_max_ttl = Some(MAX_TTL);
    opts.negative_max_ttl = Some(Duration::from_secs(300));
    MessageAuthenticator::new(config, opts).map_err(|e| format!("cannot build the DNS resolver: {e}"))
}
