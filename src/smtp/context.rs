//! What every session of a server shares: configuration, routing, the store, TLS, limits, the
//! sender-authentication verifier, and the queue-id source.

use super::budget::MessageBudget;
use super::exempt::{Exemptions, client_key};
use super::limits::ConnectionLimits;
use super::rate::RateLimiter;
use super::tls::TlsSettings;
use crate::auth::{OurDomains, Verifier};
use crate::config::{Config, Network};
use crate::routing::Router;
use crate::store::MailStore;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What every session of a server shares.
pub struct Context {
    pub config: Config,
    pub router: Router,
    pub store: Arc<dyn MailStore>,
    pub tls: Option<TlsSettings>,
    pub connections: Arc<ConnectionLimits>,
    pub connection_rate: Option<RateLimiter>,
    pub message_rate: Option<RateLimiter>,
    /// The memory all sessions may hold in message bodies.
    pub message_budget: Arc<MessageBudget>,
    /// SPF/DKIM/DMARC/ARC checks with their DNS caches; None when `auth.enabled` is off.
    pub verifier: Option<Verifier>,
    /// rspamd, when `[spam] rspamd_url` is set.
    pub scanner: Option<crate::spam::Scanner>,
    /// The clients the rate limits and the per-IP cap spare.
    pub exemptions: Arc<Exemptions>,
    /// Our host name and domains, whose Authentication-Results only we may write.
    pub our_domains: OurDomains,
    queue_ids: QueueIds,
}

impl Context {
    pub async fn new(config: Config, store: Arc<dyn MailStore>, tls: Option<TlsSettings>) -> Result<Context, String> {
        // A configured key wins; without one, the key generated and kept in the store (the same on
        // every host sharing it, and unlike any other install's).
        let key = match config.reply_secret()? {
            Some(key) => key,
            None => store
                .reply_key()
                .await
                .map_err(|e| format!("the reply-token key kept in the database: {e}"))?,
        };
        let router = Router::new(config.domains_lowercase(), key);
        let limits = &config.limits;
        let window = Duration::from_secs(limits.rate_window_secs);
        let verifier = match &config.auth {
            a if !a.enabled => None,
            a if a.nameservers.is_empty() => Some(Verifier::new(Duration::from_secs(a.dns_timeout_secs))?),
            a => Some(Verifier::with_nameservers(
                &a.nameservers,
                Duration::from_secs(a.dns_timeout_secs),
            )?),
        };
        let exemptions = Arc::new(Exemptions::new(
            limits.exempt_networks.clone(),
            &limits.exempt_hostnames,
            verifier.clone(),
        ));
        let our_domains = OurDomains::new(
            std::iter::once(config.server.hostname.as_str()).chain(config.server.domains.iter().map(String::as_str)),
        );
        let scanner = match &config.spam.rspamd_url {
            Some(url) => Some(crate::spam::Scanner::new(
                url,
                Duration::from_secs(config.spam.timeout_secs),
            )?),
            None => None,
        };
        Ok(Context {
            verifier,
            scanner,
            exemptions,
            our_domains,
            connections: ConnectionLimits::new(limits.max_connections, limits.max_connections_per_ip),
            connection_rate: RateLimiter::new(limits.connection_rate, window),
            message_rate: RateLimiter::new(limits.message_rate, window),
            message_budget: MessageBudget::new(limits.max_inflight_bytes),
            config,
            router,
            store,
            tls,
            queue_ids: QueueIds::new(),
        })
    }

    pub fn hostname(&self) -> &str {
        &self.config.server.hostname
    }

    /// The idle timeout, shortened when the server is under stress (most connection slots taken),
    /// as Postfix does: slow or idle clients then make room for the others.
    pub fn idle_timeout(&self) -> Duration {
        let limits = &self.config.limits;
        let open = self.connections.open_connections();
        let stressed = open * 100 > limits.max_connections * usize::from(limits.stress_threshold_percent);
        let secs = if stressed {
            limits.stress_idle_timeout_secs.min(limits.idle_timeout_secs)
        } else {
            limits.idle_timeout_secs
        };
        Duration::from_secs(secs)
    }

    /// Relays we trust (the platform's own servers): no sender checks, and no rate or per-IP limits.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        Network::any_contains(&self.config.server.trusted_networks, ip)
    }

    /// Spared the rate limits and the per-IP cap by address (trusted or exempt networks).
    pub fn spared_by_network(&self, ip: IpAddr) -> bool {
        self.is_trusted(ip) || self.exemptions.by_network(ip)
    }

    /// The address a client's rate and connection budgets are kept under (IPv6 per prefix).
    pub fn client_key(&self, ip: IpAddr) -> IpAddr {
        client_key(ip, self.config.limits.ipv6_prefix)
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.config.limits.session_timeout_secs)
    }

    pub fn next_queue_id(&self) -> String {
        self.queue_ids.next()
    }
}

/// Queue ids: 12 hex digits of microseconds since the epoch, then 4 of a per-process counter that
/// starts at a random value, so ids sort by time and two MX hosts are unlikely to collide.
struct QueueIds {
    counter: AtomicU64,
}

impl QueueIds {
    fn new() -> QueueIds {
        let mut seed = [0u8; 2];
        let _ = getrandom::fill(&mut seed);
        QueueIds {
            counter: AtomicU64::new(u64::from(u16::from_le_bytes(seed))),
        }
    }

    fn next(&self) -> String {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:012X}{:04X}", micros & 0xFFFF_FFFF_FFFF, n & 0xFFFF)
    }
}
