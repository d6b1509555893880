//! Running the checks: [`Verifier`] holds the resolver and caches, and `verify` runs SPF (HELO and
//! MAIL FROM), DKIM and ARC at once, then DMARC on their outputs, all under one deadline, and turns
//! `mail-auth`'s outputs into an [`AuthResult`].

use super::header::method_result;
use super::resolver::{self, Caches, TestRecords};
use super::{AuthInput, AuthResult, DkimSignature};
use mail_auth::dkim::DkimError;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, DkimOutput, DkimResult, DmarcOutput, DmarcResult, DnsError, Error,
    IpLookupStrategy, MessageAuthenticator, SpfOutput, SpfResult,
};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// The bound on one whole verification when the configuration gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// DKIM signatures checked per message, topmost (most recent) first, and malformed ones reported. Each costs a DNS lookup and a
/// public-key operation; real mail carries one to three, so more is only a way to make us work
/// (RFC 6376 section 6.1 lets a verifier cap them).
pub(super) const MAX_DKIM_SIGNATURES: usize = 8;

/// Verifies inbound messages. Cheap to clone: clones share the resolver and the DNS caches.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    authenticator: MessageAuthenticator,
    caches: Caches,
    timeout: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a check gave no output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missed {
    Timeout,
    /// `mail-auth` panicked on this input; the check counts as a temporary error.
    Panic,
}

impl Verifier {
    /// Uses the resolvers of `/etc/resolv.conf`; a whole verification takes at most `timeout`.
    pub fn new(timeout: Duration) -> Result<Verifier, String> {
        let authenticator = resolver::system_resolver(timeout)?;
        Ok(Verifier::from_parts(authenticator, Caches::online(), timeout))
    }

    /// Uses exactly these DNS servers (e.g. a local caching resolver on `127.0.0.1:53`).
    pub fn with_nameservers(servers: &[SocketAddr], timeout: Duration) -> Result<Verifier, String> {
        let authenticator = resolver::resolver_for(servers, timeout)?;
        Ok(Verifier::from_parts(authenticator, Caches::online(), timeout))
    }

    /// Answers every lookup from `records` and never touches the network (tests, offline runs).
    pub fn with_records(records: TestRecords, timeout: Duration) -> Result<Verifier, String> {
        let authenticator = resolver::no_resolver()?;
        Ok(Verifier::from_parts(authenticator, Caches::offline(records), timeout))
    }

    fn from_parts(authenticator: MessageAuthenticator, caches: Caches, timeout: Duration) -> Verifier {
        Verifier {
            inner: Arc::new(Inner {
                authenticator,
                caches,
                timeout,
            }),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The client's host names that forward-confirmed reverse DNS proves: each PTR name of `ip`
    /// (at most four) whose own addresses include `ip`. Empty when none does, or when DNS does not
    /// answer within `timeout`. Answers come through the same TTL caches as the checks.
    pub async fn confirmed_hostnames(&self, ip: IpAddr, timeout: Duration) -> Vec<String> {
        let auth = &self.inner.authenticator;
        let caches = &self.inner.caches;
        let lookup = async {
            let Ok(names) = auth.ptr_lookup(ip, Some(&caches.ptr)).await else {
                return Vec::new();
            };
            let mut confirmed = Vec::new();
            for name in names.rrset.iter().take(4) {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let strategy = if ip.is_ipv4() {
                    IpLookupStrategy::Ipv4Only
                } else {
                    IpLookupStrategy::Ipv6Only
                };
                let fqdn = format!("{name}.");
                if let Ok(addrs) = auth
                    .ip_lookup(&fqdn, strategy, 16, Some(&caches.ipv4), Some(&caches.ipv6))
                    .await
                    && addrs.contains(&ip)
                {
                    confirmed.push(name);
                }
            }
            confirmed
        };
        tokio::time::timeout(timeout, lookup).await.unwrap_or_default()
    }

    /// Asks the resolver about `name` and says whether it answered within `timeout` (any answer
    /// counts, NXDOMAIN too), with how long it took: an MX whose resolver does not answer makes
    /// every message wait the whole check timeout.
    pub async fn resolver_answers(&self, name: &str, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let lookup = self.inner.authenticator.ipv4_lookup_raw(&fqdn);
        match tokio::time::timeout(timeout, lookup).await {
            Ok(Ok(_)) | Ok(Err(Error::Dns(DnsError::RecordNotFound(_)))) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        }
    }

    /// All the verdicts for one message, within [`Verifier::timeout`] of the call.
    pub async fn verify(&self, input: AuthInput<'_>) -> AuthResult {
        let deadline = Instant::now() + self.inner.timeout;
        let auth = &self.inner.authenticator;
        let caches = &self.inner.caches;
        let ip = input.client_ip;
        let helo = input.helo.trim();
        let host = input.our_hostname;
        let mail_from = input.mail_from.trim();
        let mail_from = mail_from.strip_prefix('<').unwrap_or(mail_from);
        let mail_from = mail_from.strip_suffix('>').unwrap_or(mail_from);

        // Parsing hashes the body once per (canonicalization, hash) pair the signatures use: at most
        // four passes, since signatures with `l=` are refused.
        let message = catch_unwind(|| AuthenticatedMessage::parse(input.raw)).ok().flatten();
        let message = message.map(|mut message| {
            message.dkim_headers.truncate(MAX_DKIM_SIGNATURES);
            // Malformed signatures cost no lookup, but each would be one more entry in the result.
            let mut malformed = 0;
            message.errors.retain(|h| {
                malformed += usize::from(matches!(h.header, Error::Dkim(_)));
                !matches!(h.header, Error::Dkim(_)) || malformed <= MAX_DKIM_SIGNATURES
            });
            message
        });
        let message = message.as_ref();

        let spf_helo = bounded(
            deadline,
            auth.verify_spf(caches.params(SpfParameters::verify_ehlo(ip, helo, host))),
        );
        let spf_mail = async {
            if mail_from.is_empty() {
                return None;
            }
            let params = SpfParameters::verify_mail_from(ip, helo, host, mail_from);
            Some(bounded(deadline, auth.verify_spf(caches.params(params))).await)
        };
        let dkim = async {
            match message {
                Some(message) => bounded(deadline, auth.verify_dkim(caches.params(message))).await,
                None => Ok(Vec::new()),
            }
        };
        let arc = async {
            match message {
                Some(message) => bounded(deadline, auth.verify_arc(caches.params(message))).await,
                None => Ok(ArcOutput::default()),
            }
        };
        let (spf_helo, spf_mail, dkim, arc) = tokio::join!(spf_helo, spf_mail, dkim, arc);
        let mut timed_out = [&spf_helo, spf_mail.as_ref().unwrap_or(&spf_helo)]
            .iter()
            .any(|r| matches!(r, Err(Missed::Timeout)))
            || matches!(dkim, Err(Missed::Timeout))
            || matches!(arc, Err(Missed::Timeout));

        // SPF: MAIL FROM, or HELO for the null sender (RFC 7208 section 2.4).
        let spf_helo = spf_or_temperror(spf_helo, helo);
        let spf_domain = if mail_from.is_empty() {
            helo.to_string()
        } else {
            mail_from
                .rsplit_once('@')
                .map_or(helo, |(_, domain)| domain)
                .to_string()
        };
        let spf = match spf_mail {
            Some(result) => spf_or_temperror(result, &spf_domain),
            None => spf_helo.clone(),
        };

        // DKIM: a signature whose check was cut short is a temperror, which is also what DMARC must
        // see for it (it can neither pass nor fail on that signature).
        let dkim_outputs: Vec<DkimOutput<'_>> = match dkim {
            Ok(outputs) => outputs,
            Err(_) => message.map_or_else(Vec::new, |message| {
                message
                    .dkim_headers
                    .iter()
                    .map(|h| DkimOutput::temp_err(unfinished()).with_signature(&h.header))
                    .collect()
            }),
        };

        // DMARC needs the From domain, so nothing to do without a parsed message.
        let dmarc = match message {
            Some(message) => {
                let params = DmarcParameters::new(message, &dkim_outputs, &spf_domain, &spf);
                let result = bounded(deadline, auth.verify_dmarc(caches.params(params))).await;
                timed_out |= matches!(result, Err(Missed::Timeout));
                Some(result)
            }
            None => None,
        };

        let dkim_signatures: Vec<DkimSignature> = dkim_outputs.iter().map(dkim_signature).collect();
        let dkim_word = dkim_signatures
            .iter()
            .map(|s| s.result.as_str())
            .min_by_key(|r| dkim_rank(r))
            .unwrap_or("none")
            .to_string();
        let mut dkim_domains: Vec<String> = Vec::new();
        for signature in dkim_signatures.iter().filter(|s| s.result == "pass") {
            if !dkim_domains.contains(&signature.domain) {
                dkim_domains.push(signature.domain.clone());
            }
        }

        let from_domain = from_domain(message, dmarc.as_ref());
        let (dmarc_word, dmarc_policy, record_alignment) = match &dmarc {
            Some(Ok(output)) => dmarc_summary(output),
            Some(Err(_)) => ("temperror".to_string(), None, None),
            None => ("none".to_string(), None, None),
        };
        let from_domain_aligned = record_alignment.unwrap_or_else(|| {
            from_domain.as_deref().is_some_and(|from| {
                dkim_domains.iter().any(|d| related(d, from))
                    || (spf.result() == SpfResult::Pass && related(&spf_domain, from))
            })
        });

        let (arc_word, arc_sealers, arc_dmarc) = match &arc {
            Ok(output) => arc_summary(output, from_domain.as_deref()),
            Err(_) => ("temperror".to_string(), Vec::new(), None),
        };

        AuthResult {
            spf: spf_word(spf.result()).to_string(),
            spf_domain,
            spf_helo: spf_word(spf_helo.result()).to_string(),
            dkim: dkim_word,
            dkim_signatures,
            dkim_domains,
            dmarc: dmarc_word,
            dmarc_policy,
            arc: arc_word,
            arc_sealers,
            arc_dmarc,
            from_domain,
            from_domain_aligned,
            timed_out,
            smtp_mailfrom: mail_from.to_string(),
            smtp_helo: helo.to_string(),
        }
    }

    #[cfg(test)]
    pub(super) fn parts(&self) -> (&MessageAuthenticator, &Caches) {
        (&self.inner.authenticator, &self.inner.caches)
    }
}

/// Runs one check until `deadline`, turning a timeout or a panic into [`Missed`].
async fn bounded<F: Future>(deadline: Instant, check: F) -> Result<F::Output, Missed> {
    match tokio::time::timeout_at(deadline, CatchUnwind(Box::pin(check))).await {
        Ok(result) => result,
        Err(_) => Err(Missed::Timeout),
    }
}

/// Polls a future inside `catch_unwind`, so a panic deep in a parser costs one check, not the
/// session (and with it the message).
struct CatchUnwind<F: Future>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Missed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(Missed::Panic)),
        }
    }
}

/// The error a check that did not finish stands for: a resolver error, which every `mail-auth`
/// check maps to a temperror.
fn unfinished() -> Error {
    Error::Dns(DnsError::Resolver("verification deadline passed".to_string()))
}

fn spf_or_temperror(result: Result<SpfOutput, Missed>, domain: &str) -> SpfOutput {
    result.unwrap_or_else(|_| SpfOutput::new(domain.to_string()).with_result(SpfResult::TempError))
}

fn spf_word(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

fn dkim_signature(output: &DkimOutput<'_>) -> DkimSignature {
    let result = match output.result() {
        DkimResult::Pass => "pass",
        // The signature verified nothing because the body changed: a failed verification (RFC 8601
        // section 2.7.1), not an unprocessable signature.
        DkimResult::Neutral(Error::Dkim(DkimError::FailedBodyHashMatch)) => "fail",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    };
    let (domain, selector) = output
        .signature()
        .map_or((String::new(), String::new()), |s| (s.d.to_lowercase(), s.s.clone()));
    DkimSignature {
        domain,
        selector,
        result: result.to_string(),
    }
}

/// Lower is better: one passing signature is enough, and a temporary error may still turn out to
/// be a pass, so it ranks above a failure.
fn dkim_rank(result: &str) -> u8 {
    match result {
        "pass" => 0,
        "temperror" => 1,
        "fail" => 2,
        "permerror" => 3,
        "neutral" => 4,
        _ => 5,
    }
}

/// The DMARC result word, the published policy, and (when a record was found) the alignment.
fn dmarc_summary(output: &DmarcOutput) -> (String, Option<String>, Option<bool>) {
    let word = match output.result() {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    };
    match output.dmarc_record() {
        Some(_) => {
            let aligned = output.spf_result() == &DmarcResult::Pass || output.dkim_result() == &DmarcResult::Pass;
            (word.to_string(), Some(output.policy().to_string()), Some(aligned))
        }
        None => (word.to_string(), None, None),
    }
}

/// The From domain: DMARC's (already an A-label) or else the first From address's.
fn from_domain(
    message: Option<&AuthenticatedMessage<'_>>,
    dmarc: Option<&Result<DmarcOutput, Missed>>,
) -> Option<String> {
    if let Some(Ok(output)) = dmarc
        && !output.domain().is_empty()
    {
        return Some(output.domain().to_lowercase());
    }
    let address = message?.from.first()?;
    let domain = address.rsplit_once('@')?.1.trim_end_matches('.');
    (!domain.is_empty()).then(|| domain.to_lowercase())
}

/// Alignment without a DMARC record: the same domain, or one inside the other.
fn related(identity: &str, from: &str) -> bool {
    let identity = identity.trim_end_matches('.');
    let from = from.trim_end_matches('.');
    let inside = |child: &str, parent: &str| {
        child.len() > parent.len()
            && child[child.len() - parent.len()..].eq_ignore_ascii_case(parent)
            && child.as_bytes()[child.len() - parent.len() - 1] == b'.'
    };
    !from.is_empty() && (identity.eq_ignore_ascii_case(from) || inside(identity, from) || inside(from, identity))
}

/// ARC's result word, the sealing domains (oldest first), and the first hop's DMARC verdict when
/// the chain passes (see [`AuthResult::arc_dmarc`] for how to use it).
fn arc_summary(output: &ArcOutput<'_>, from_domain: Option<&str>) -> (String, Vec<String>, Option<String>) {
    let word = match output.result() {
        DkimResult::Pass => "pass",
        DkimResult::None => "none",
        DkimResult::TempError(_) => "temperror",
        // A broken, malformed or unverifiable chain, or one whose newest signature no longer
        // matches the body: all mean the chain cannot be relied on.
        DkimResult::Fail(_) | DkimResult::Neutral(_) | DkimResult::PermError(_) => "fail",
    };
    let sets = output.sets();
    let sealers = sets.iter().map(|set| set.seal.header.d.to_lowercase()).collect();
    let arc_dmarc = (word == "pass")
        .then(|| sets.iter().find(|set| set.results.header.i == 1))
        .flatten()
        .and_then(|set| method_result(&String::from_utf8_lossy(set.results.value), "dmarc"))
        .filter(|(_, props)| {
            // A verdict about another author domain says nothing about this message.
            props
                .iter()
                .find(|(k, _)| k == "header.from")
                .is_none_or(|(_, d)| from_domain.is_some_and(|f| d.trim_end_matches('.').eq_ignore_ascii_case(f)))
        })
        .map(|(result, _)| result);
    (word.to_string(), sealers, arc_dmarc)
}
