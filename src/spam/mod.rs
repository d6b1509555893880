//! Spam scoring: the message and its envelope handed to rspamd (`POST /checkv2` on its normal
//! worker, the envelope in the headers rspamd reads: `IP`, `Helo`, `From`, `Rcpt`, `Hostname`,
//! `Queue-Id`), and rspamd's answer as a [`SpamVerdict`]. A trust boundary of its own, like `auth`:
//! what rspamd says decides whether a message is refused, deferred, quarantined or filed
//! (`smtp::deliver`), and nothing else here decides anything.
//!
//! The client is reqwest (already the webhook sender's): rspamd's protocol is one JSON POST, and
//! the `rspamd-client` crate would add a second HTTP stack for it.

use crate::mail::fields::{field_name, remove_fields};
use crate::mail::{SpamAction, SpamVerdict};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

pub struct Scanner {
    client: reqwest::Client,
    url: reqwest::Url,
}

/// What rspamd is told of the message besides its bytes.
pub struct Envelope<'a> {
    pub ip: IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a str,
    pub rcpts: Vec<&'a str>,
    pub hostname: &'a str,
    pub queue_id: &'a str,
}

#[derive(Deserialize)]
struct Answer {
    action: String,
    score: f64,
    required_score: f64,
    /// Only the names are kept; each symbol's details (score, description, options) are skipped
    /// unparsed, which is most of the answer's bytes.
    #[serde(default)]
    symbols: BTreeMap<String, serde::de::IgnoredAny>,
}

impl Scanner {
    /// A scanner for rspamd at `url` (its normal worker, e.g. `http://127.0.0.1:11333`).
    pub fn new(url: &str, timeout: Duration) -> Result<Scanner, String> {
        let base = reqwest::Url::parse(url).map_err(|e| format!("spam.rspamd_url `{url}`: {e}"))?;
        let url = base
            .join("/checkv2")
            .map_err(|e| format!("spam.rspamd_url `{url}`: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| format!("rspamd client: {e}"))?;
        Ok(Scanner { client, url })
    }

    /// rspamd's verdict on `message`, or why there is none (unreachable, too slow, an answer
    /// that does not parse).
    /// `message` is shared, not copied: the caller keeps its handle and gets its bytes back.
    pub async fn check(&self, envelope: &Envelope<'_>, message: bytes::Bytes) -> Result<SpamVerdict, String> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header("IP", envelope.ip.to_string())
            .header("Helo", envelope.helo)
            .header("From", envelope.mail_from)
            .header("Hostname", envelope.hostname)
            .header("Queue-Id", envelope.queue_id);
        for rcpt in &envelope.rcpts {
            request = request.header("Rcpt", *rcpt);
        }
        let response = request.body(message).send().await.map_err(|e| format!("rspamd: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("rspamd answered {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| format!("rspamd's answer: {e}"))?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| format!("rspamd's answer: {e}"))?;
        Ok(SpamVerdict {
            score: answer.score,
            required: answer.required_score,
            action: SpamAction::parse(&answer.action),
            symbols: answer.symbols.into_keys().collect(),
        })
    }
}

/// rspamd's controller, taught by people's decisions (`messages mark-spam` / `mark-ham`): the raw
/// message to `POST /learnspam` or `/learnham`, with the controller's password.
pub struct Learner {
    client: reqwest::Client,
    base: reqwest::Url,
    password: String,
}

/// What the controller made of a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    Learned,
    /// rspamd had learned this message the same way before (its answer 208).
    AlreadyLearned,
}

impl Learner {
    /// A learner for the controller at `url` (e.g. `http://127.0.0.1:11334`).
    pub fn new(url: &str, password: String, timeout: Duration) -> Result<Learner, String> {
        let base = reqwest::Url::parse(url).map_err(|e| format!("spam.controller_url `{url}`: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("rspamd controller client: {e}"))?;
        Ok(Learner { client, base, password })
    }

    /// Teaches rspamd that `raw` is spam (or, with `spam` false, ham).
    pub async fn learn(&self, spam: bool, raw: bytes::Bytes) -> Result<Learned, String> {
        let path = if spam { "/learnspam" } else { "/learnham" };
        let url = self.base.join(path).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(url)
            .header("Password", &self.password)
            .body(raw)
            .send()
            .await
            .map_err(|e| format!("rspamd controller: {e}"))?;
        match response.status().as_u16() {
            200 => Ok(Learned::Learned),
            208 => Ok(Learned::AlreadyLearned),
            status => {
                let body = response.text().await.unwrap_or_default();
                Err(format!("rspamd controller answered {status}: {}", body.trim()))
            }
        }
    }
}

/// The message without the spam headers it arrived with (`X-Spam-*`, `X-Spamd-*`, `X-Rspamd-*`):
/// only our filter's verdict may be read in the stored message, or a spammer would write
/// `X-Spam-Status: No` and be believed by a mail client.
pub fn strip_incoming(content: &[u8]) -> Cow<'_, [u8]> {
    remove_fields(content, |field| {
        field_name(field).is_some_and(|name| {
            let name = name.to_ascii_lowercase();
            name.starts_with(b"x-spam") || name.starts_with(b"x-rspamd")
        })
    })
}

/// Our verdict as header fields for the stored message: `X-Spam-Status` (`Yes` when quarantined,
/// with the score, the threshold, the action and the symbols, folded), and `X-Spam-Flag: YES` on
/// quarantined mail, which mail clients read. A message the filter could not score says so.
pub fn status_header(verdict: Option<&SpamVerdict>, unscored: bool) -> String {
    let Some(v) = verdict else {
        return if unscored {
            "X-Spam-Status: Unknown, the spam filter did not answer\r\n".to_string()
        } else {
            String::new()
        };
    };
    let yes = v.quarantines() || v.action == SpamAction::Reject;
    let mut out = format!(
        "X-Spam-Status: {}, score={:.2} required={:.2} action=\"{}\"",
        if yes { "Yes" } else { "No" },
        v.score,
        v.required,
        v.action.as_str()
    );
    let mut line = out.len();
    for (i, symbol) in v.symbols.iter().enumerate() {
        let symbol: String = symbol.chars().filter(|c| c.is_ascii_graphic() && *c != ',').collect();
        let piece = if i == 0 {
            format!(" symbols={symbol}")
        } else {
            format!(",{symbol}")
        };
        if line + piece.len() > 76 {
            out.push_str("\r\n\t");
            line = 1;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out.push_str("\r\n");
    if yes {
        out.push_str("X-Spam-Flag: YES\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_spam_headers_are_removed_and_others_kept() {
        let raw = b"X-Spam-Status: No\r\nX-Rspamd-Score: -10\r\nx-spam-flag: NO\r\nSubject: x\r\n\r\nX-Spam: body\r\n";
        assert_eq!(&strip_incoming(raw)[..], b"Subject: x\r\n\r\nX-Spam: body\r\n");
    }

    #[test]
    fn the_status_header_is_folded_and_flags_quarantined_mail() {
        let verdict = SpamVerdict {
            score: 7.5,
            required: 15.0,
            action: SpamAction::AddHeader,
            symbols: (0..12).map(|i| format!("SOME_LONG_SYMBOL_{i}")).collect(),
        };
        let header = status_header(Some(&verdict), false);
        assert!(header.starts_with("X-Spam-Status: Yes, score=7.50 required=15.00 action=\"add header\""));
        assert!(header.ends_with("X-Spam-Flag: YES\r\n"));
        for line in header.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        assert!(header.contains("\r\n\t"));
        assert_eq!(status_header(None, false), "");
    }
}
