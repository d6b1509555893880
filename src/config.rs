//! The typed configuration: every setting, its default, and the checks run before the server starts.
//!
//! Defaults live here and only here; `config/inboxd.toml` documents the same values. A file is parsed
//! strictly: an unknown key or a bad value is refused with the key and the line that holds it.

pub use crate::mail::DmarcAction;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    pub threading: ThreadingConfig,
    pub reply_tokens: ReplyTokenConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub webhooks: WebhooksConfig,
    pub spam: SpamConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Name in the greeting, EHLO reply and Received headers.
    pub hostname: String,
    /// Plain SMTP listeners (STARTTLS offered when a certificate is configured).
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS listeners (port 465 style); need `tls.certificate`.
    pub listen_tls: Vec<SocketAddr>,
    /// Domains we receive for. Mail for any other domain is refused: we are never a relay.
    pub domains: Vec<String>,
    /// Seconds that sessions with a transaction in flight get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Expect a PROXY protocol (v1 or v2) header on every listener, from `proxy_trusted_networks`.
    pub proxy_protocol: bool,
    /// Load balancers whose PROXY header is believed. Others are served as direct clients.
    pub proxy_trusted_networks: Vec<Network>,
    /// Relays we trust (the platform's own servers): no rate limits, no sender authentication checks.
    pub trusted_networks: Vec<Network>,
}

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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; STARTTLS is offered when both files are set. Reloaded on SIGHUP.
    pub certificate: Option<PathBuf>,
    /// PEM private key.
    pub private_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// The SQLite file (created with its folder if missing).
    pub path: PathBuf,
    /// Largest number of messages committed together (one fsync per batch).
    pub max_batch: usize,
    /// Size cap of the database in bytes (0: none). When reached, MAIL gets 452 4.3.1.
    pub max_size: u64,
    /// Permissions of the database files (octal); the folder gets the same plus the search bit.
    /// `0600` keeps every customer's mail to the service's own user, whatever the umask.
    pub mode: FileMode,
    /// `postgres://USER@HOST:PORT/DB`: PostgreSQL instead of the SQLite file at `path`, for
    /// several MX hosts sharing one store. `sslmode=require|verify-full` (and `sslrootcert=FILE`)
    /// in the query string turn on TLS.
    pub url: Option<String>,
    /// An environment variable holding the URL (then the password need not be in the file).
    pub url_env: Option<String>,
    /// A file whose content (trimmed) is the database password.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL connections per host (0: sized for the machine, 4 per core, at least 8).
    pub pool_size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThreadingConfig {
    /// A message without thread headers joins the same contact's conversation with the same
    /// normalized subject if that conversation was active within this many days. 0 turns it off.
    pub subject_window_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReplyTokenConfig {
    /// HMAC key for signed reply addresses, inline (prefer `secret_file` or `secret_env`).
    pub secret: Option<String>,
    /// A file whose content (trimmed) is the key.
    pub secret_file: Option<PathBuf>,
    /// An environment variable that holds the key.
    pub secret_env: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Verify SPF, DKIM, DMARC and ARC on every message from an untrusted client.
    pub enabled: bool,
    /// Bound on all DNS work for one message, in seconds; what is unfinished is `temperror`.
    pub dns_timeout_secs: u64,
    /// DNS servers as `ip:port`; empty: the system's (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    /// What to do when DMARC fails and the sender's domain publishes `p=reject`: `reject` (550 5.7.1
    /// at the end of DATA) or `accept` (store it, flagged `suspicious`). Accounts may override it.
    pub dmarc_reject: DmarcAction,
    /// Forwarders whose ARC seal we trust to carry the original DMARC verdict (auto-forwarded mail).
    pub trusted_arc_sealers: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dns_timeout_secs: 5,
            nameservers: Vec::new(),
            dmarc_reject: DmarcAction::Reject,
            trusted_arc_sealers: vec!["google.com".into(), "microsoft.com".into(), "outlook.com".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `/healthz` and `/metrics` (Prometheus). Off unless set; keep it on loopback.
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with the certificate of `[tls]` (reloaded with it on SIGHUP).
    pub tls: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// The delays (seconds) before each retry of a delivery that was not answered 2xx; after the
    /// last, the delivery is `failed` (visible, replayable). The default spans about 3 days.
    pub retry_schedule_secs: Vec<u64>,
    /// An endpoint must answer within this many seconds.
    pub timeout_secs: u64,
    /// Endpoints on loopback, private, link-local or otherwise internal addresses are refused
    /// unless this is true (no requests into the operator's own network).
    pub allow_private: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_schedule_secs: vec![
                5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000, 36000, 36000, 36000,
            ],
            timeout_secs: 10,
            allow_private: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SpamConfig {
    /// rspamd's normal worker (`http://127.0.0.1:11333`). Unset: no scoring.
    pub rspamd_url: Option<String>,
    /// A scan must answer within this many seconds.
    pub timeout_secs: u64,
    /// When rspamd does not answer: `accept` (file the message flagged `unscored`) or `tempfail`
    /// (451 4.7.1, the sender retries).
    pub on_failure: SpamFailure,
    /// rspamd's controller, for learning (`http://127.0.0.1:11334`).
    pub controller_url: Option<String>,
    pub controller_password_file: Option<PathBuf>,
    /// Quarantined mail older than this is purged.
    pub quarantine_days: u32,
}

impl Default for SpamConfig {
    fn default() -> Self {
        Self {
            rspamd_url: None,
            timeout_secs: 5,
            on_failure: SpamFailure::Accept,
            controller_url: None,
            controller_password_file: None,
            quarantine_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SpamFailure {
    Accept,
    Tempfail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `inboxd=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
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

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hostname: "inboxd.localhost".into(),
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 2525))],
            listen_tls: Vec::new(),
            domains: vec!["inbox.localhost".into()],
            shutdown_grace_secs: 30,
            proxy_protocol: false,
            proxy_trusted_networks: vec![
                "127.0.0.1/32".parse().expect("a network"),
                "::1/128".parse().expect("a network"),
            ],
            trusted_networks: Vec::new(),
        }
    }
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

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./data/inboxd.db"),
            max_batch: 256,
            max_size: 0,
            mode: FileMode(0o600),
            url: None,
            url_env: None,
            password_file: None,
            pool_size: 0,
        }
    }
}

impl Default for ThreadingConfig {
    fn default() -> Self {
        Self {
            subject_window_days: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// A value that serde accepted but the server cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub why: String,
}

impl Config {
    /// The embedded defaults, or the file when one is given, validated. Errors name the file, the
    /// key and its line.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let Some(path) = path else {
            let config = Config::default();
            config
                .validate()
                .map_err(|e| format!("invalid value for `{}`: {}", e.key, e.why))?;
            return Ok(config);
        };
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config = Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.validate().map_err(|e| {
            let line = key_line(&text, e.key)
                .map(|n| format!(" (line {n})"))
                .unwrap_or_default();
            format!("{}{line}: invalid value for `{}`: {}", path.display(), e.key, e.why)
        })?;
        Ok(config)
    }

    /// Parses TOML text; errors name the key and the line (toml's spans).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        let fail = |key: &'static str, why: &str| {
            Err(Invalid {
                key,
                why: why.to_string(),
            })
        };
        let s = &self.server;
        if s.hostname.trim().is_empty() || s.hostname.contains(char::is_whitespace) {
            return fail("server.hostname", "must be a host name without spaces");
        }
        if s.listen.is_empty() && s.listen_tls.is_empty() {
            return fail("server.listen", "at least one listen address is needed");
        }
        if !s.listen_tls.is_empty() && self.tls.certificate.is_none() {
            return fail(
                "server.listen_tls",
                "implicit TLS needs tls.certificate and tls.private_key",
            );
        }
        if s.domains.is_empty() {
            return fail("server.domains", "at least one domain is needed");
        }
        if let Some(url) = &self.spam.rspamd_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return fail(
                "spam.rspamd_url",
                "must be an http:// or https:// URL of rspamd's normal worker",
            );
        }
        if self.spam.timeout_secs == 0 || self.spam.timeout_secs > 60 {
            return fail("spam.timeout_secs", "must be 1 to 60 seconds");
        }
        if self.spam.quarantine_days == 0 || self.spam.quarantine_days > 3650 {
            return fail("spam.quarantine_days", "must be 1 to 3650 days");
        }
        if let Some(url) = &self.spam.controller_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return fail(
                "spam.controller_url",
                "must be an http:// or https:// URL of rspamd's controller",
            );
        }
        if self.webhooks.timeout_secs == 0 || self.webhooks.timeout_secs > 300 {
            return fail("webhooks.timeout_secs", "must be 1 to 300 seconds");
        }
        if self.webhooks.retry_schedule_secs.iter().any(|&d| d > 30 * 86_400) {
            return fail("webhooks.retry_schedule_secs", "each delay is at most 30 days");
        }
        if self.http.tls && self.tls.certificate.is_none() {
            return fail("http.tls", "HTTPS needs tls.certificate and tls.private_key");
        }
        for domain in &s.domains {
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return fail("server.domains", &format!("`{domain}` is not a domain name"));
            }
        }
        let l = &self.limits;
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
        if self.database.mode.0 & 0o600 != 0o600 || self.database.mode.0 & 0o7007 != 0 {
            return fail(
                "database.mode",
                "must give the owner read and write, and others nothing (e.g. \"0600\" or \"0640\")",
            );
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
        if self.database.max_batch == 0 {
            return fail("database.max_batch", "must be at least 1");
        }
        if self.database.max_size != 0 && self.database.max_size < 1024 * 1024 {
            return fail("database.max_size", "must be 0 (no cap) or at least 1 MiB");
        }
        if self.database.url.is_some() && self.database.url_env.is_some() {
            return fail("database.url_env", "set database.url or database.url_env, not both");
        }
        if let Err(why) = self.database_url() {
            return fail(
                if self.database.url_env.is_some() {
                    "database.url_env"
                } else {
                    "database.url"
                },
                &why,
            );
        }
        if self.tls.certificate.is_some() != self.tls.private_key.is_some() {
            return fail(
                "tls.certificate",
                "set both tls.certificate and tls.private_key, or neither",
            );
        }
        if self.auth.dns_timeout_secs == 0 || self.auth.dns_timeout_secs > 60 {
            return fail("auth.dns_timeout_secs", "must be between 1 and 60 seconds");
        }
        if self.log.level.trim().is_empty() {
            return fail("log.level", "must not be empty");
        }
        if let Err(why) = self.reply_secret() {
            let key = match (&self.reply_tokens.secret_env, &self.reply_tokens.secret_file) {
                (Some(_), _) => "reply_tokens.secret_env",
                (None, Some(_)) => "reply_tokens.secret_file",
                _ => "reply_tokens.secret",
            };
            return fail(key, &why);
        }
        Ok(())
    }

    /// The PostgreSQL URL when one is configured (inline or from `url_env`); None means SQLite.
    pub fn database_url(&self) -> Result<Option<String>, String> {
        let db = &self.database;
        let url = match (&db.url, &db.url_env) {
            (Some(url), _) => url.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?,
            (None, None) => return Ok(None),
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("must be a postgres:// URL".into());
        }
        Ok(Some(url))
    }

    /// The database password from `password_file`, if one is configured.
    pub fn database_password(&self) -> Result<Option<String>, String> {
        match &self.database.password_file {
            None => Ok(None),
            Some(file) => std::fs::read_to_string(file)
                .map(|p| Some(p.trim().to_string()))
                .map_err(|e| format!("database.password_file {}: {e}", file.display())),
        }
    }

    /// Domains in lower case, for comparisons.
    pub fn domains_lowercase(&self) -> Vec<String> {
        self.server.domains.iter().map(|d| d.to_ascii_lowercase()).collect()
    }

    /// The reply-token key, from the environment, a file or the config, in that order of preference.
    pub fn reply_secret(&self) -> Result<Option<Vec<u8>>, String> {
        let cfg = &self.reply_tokens;
        let checked = |key: &str| {
            if key.trim().len() < 16 {
                Err("the key must be at least 16 characters".to_string())
            } else {
                Ok(Some(key.trim().as_bytes().to_vec()))
            }
        };
        if let Some(var) = &cfg.secret_env {
            return match std::env::var(var) {
                Ok(v) => checked(&v),
                Err(_) => Err(format!("environment variable {var} is not set")),
            };
        }
        if let Some(file) = &cfg.secret_file {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            return checked(&text);
        }
        if let Some(secret) = &cfg.secret {
            return checked(secret);
        }
        Ok(None)
    }

    /// Where the configured reply-token key comes from, if one is configured.
    pub fn reply_secret_source(&self) -> Option<&'static str> {
        let cfg = &self.reply_tokens;
        if cfg.secret_env.is_some() {
            Some("reply_tokens.secret_env")
        } else if cfg.secret_file.is_some() {
            Some("reply_tokens.secret_file")
        } else if cfg.secret.is_some() {
            Some("reply_tokens.secret")
        } else {
            None
        }
    }

    /// The effective configuration as TOML, with the inline secret masked.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.reply_tokens.secret.is_some() {
            shown.reply_tokens.secret = Some("********".into());
        }
        toml::to_string(&shown).unwrap_or_default()
    }
}

/// The line (1-based) where `section.key` is set in a TOML text, for error messages.
fn key_line(text: &str, dotted: &str) -> Option<usize> {
    let (section, key) = dotted.split_once('.')?;
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim().to_string();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if (current == section && name == key) || (current.is_empty() && name == dotted) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Config::parse("[server]\nhostname = \"mx\"\nlisten_on = []\n").unwrap_err();
        assert!(err.contains("listen_on"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn bad_value_names_key_and_line() {
        let err = Config::parse("[limits]\nmax_recipients = \"many\"\n").unwrap_err();
        assert!(err.contains("max_recipients") && err.contains("line 2"), "{err}");
        let text = "[server]\nhostname = \"mx\"\n\n[limits]\nidle_timeout_secs = 5\nmax_recipients = 0\n";
        let e = Config::parse(text).unwrap().validate().unwrap_err();
        assert_eq!(e.key, "limits.max_recipients");
        assert_eq!(key_line(text, e.key), Some(6));
    }

    #[test]
    fn networks_match_addresses() {
        let n: Network = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.2.3".parse().unwrap()));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(
            "0.0.0.0/0"
                .parse::<Network>()
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
    }
}

/// File permissions, written in octal (`"0600"`, `"0640"`) in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        u32::from_str_radix(text.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .map(FileMode)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an octal file mode such as \"0600\"")))
    }
}
