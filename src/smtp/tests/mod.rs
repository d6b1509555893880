//! In-process scenario tests of the SMTP stages, one file per stage (as Stalwart's inbound tests
//! are laid out): each drives `smtp::run_session` over an in-memory stream with a scripted client
//! and checks the replies and what reached the store.
//!
//! The store here is an in-memory `MailStore` ([`TestStore`]): fixed accounts, every submitted
//! delivery kept for the test to read, and failure answers on request. The process-level tests in
//! `tests/` run the same stages against the real server and its SQLite file.

mod data;
mod ehlo;
mod mail;
mod rcpt;
mod session;

use super::{Context, run_session};
use crate::config::Config;
use crate::mail::{AccountData, AccountRoute, Delivery};
use crate::store::{Committed, MailStore, Pending, StoreError};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Acme's unique address (account 1, with the agent `agent@acme.example`).
const ACME: &str = "acme-k7m2q9x4@inbox.localhost";
/// A disabled account's address (account 3).
const DISABLED: &str = "off-bbbb@inbox.localhost";

/// How the test store answers the next submissions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Commit,
    Full,
    Fail,
}

struct TestStore {
    deliveries: Mutex<Vec<Delivery>>,
    answer: Mutex<Answer>,
    /// Account lookups fail (451 at RCPT).
    lookups_fail: Mutex<bool>,
}

impl TestStore {
    fn new() -> Arc<TestStore> {
        Arc::new(TestStore {
            deliveries: Mutex::new(Vec::new()),
            answer: Mutex::new(Answer::Commit),
            lookups_fail: Mutex::new(false),
        })
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn fail_lookups(&self) {
        *self.lookups_fail.lock().unwrap() = true;
    }

    /// The deliveries that were committed (answered Ok), oldest first.
    fn committed(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        self.deliveries.lock().unwrap()
    }

    fn route(id: i64, enabled: bool) -> AccountRoute {
        AccountRoute {
            id,
            enabled,
            dmarc_reject: None,
            bulk_contacts: false,
        }
    }
}

impl MailStore for TestStore {
    fn find_account(&self, local: &str, _domain: &str) -> Pending<Option<AccountRoute>> {
        if *self.lookups_fail.lock().unwrap() {
            return Pending::ready(Err(StoreError::Failed("test: lookup failure".into())));
        }
        Pending::ready(Ok(match local {
            "acme-k7m2q9x4" => Some(Self::route(1, true)),
            "off-bbbb" => Some(Self::route(3, false)),
            _ => None,
        }))
    }

    fn account(&self, id: i64) -> Pending<Option<AccountRoute>> {
        Pending::ready(Ok((id == 1).then(|| Self::route(1, true))))
    }

    fn postmaster_account(&self, _domain: &str) -> Pending<Option<AccountRoute>> {
        Pending::ready(Ok(Some(Self::route(9, true))))
    }

    fn account_data(&self, account_id: i64) -> Pending<AccountData> {
        Pending::ready(Ok(AccountData {
            members: if account_id == 1 {
                vec!["agent@acme.example".into()]
            } else {
                Vec::new()
            },
            senders: Default::default(),
        }))
    }

    fn submit(&self, mut delivery: Delivery) -> Pending<Vec<Committed>> {
        // The raw bytes arrive packed, as the store would write them: kept as received here.
        if let Some(stored) = &delivery.stored {
            delivery.raw =
                crate::store::codec::unpack(stored.raw.codec, Some(stored.raw.size as i64), &stored.raw.data).unwrap();
        }
        let outcome = match *self.answer.lock().unwrap() {
            Answer::Full => Err(StoreError::Full("test: full".into())),
            Answer::Fail => Err(StoreError::Failed("test: failed".into())),
            Answer::Commit => {
                let committed = delivery
                    .plans
                    .iter()
                    .map(|p| Committed {
                        account_id: p.account_id,
                        message_id: 1,
                        duplicate: false,
                    })
                    .collect();
                self.deliveries.lock().unwrap().push(delivery);
                Ok(committed)
            }
        };
        Pending::ready(outcome)
    }

    fn is_full(&self, incoming: u64) -> bool {
        incoming == 4242
    }

    fn ping(&self) -> Pending<()> {
        Pending::ready(Ok(()))
    }
}

/// The defaults, without sender authentication (no DNS here) and with small limits to reach.
fn config() -> Config {
    let mut config = Config::default();
    config.auth.enabled = false;
    config.limits.max_message_size = 64 * 1024;
    config.limits.max_recipients = 3;
    config.reply_tokens.secret = Some("in-process-test-reply-key".into());
    config
}

/// One reply: its code and every line's text (after the code and separator).
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join("\n")
    }

    fn is(&self, code: u16, enhanced: &str) -> bool {
        self.code == code && self.lines.last().is_some_and(|l| l.starts_with(enhanced))
    }
}

/// A scripted client on one in-process session.
struct Client {
    reader: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    writer: tokio::io::WriteHalf<DuplexStream>,
    session: JoinHandle<bool>,
    _shutdown: watch::Sender<bool>,
}

impl Client {
    /// Starts a session on `store` with `config` and reads the greeting.
    async fn connect(store: Arc<TestStore>, config: Config) -> (Client, Reply) {
        let ctx = Arc::new(Context::new(config, store, None).await.expect("a context"));
        let (ours, theirs) = tokio::io::duplex(256 * 1024);
        let (stop, shutdown) = watch::channel(false);
        let peer: SocketAddr = "192.0.2.10:40000".parse().unwrap();
        let session = tokio::spawn(async move {
            let mut stream = theirs;
            run_session(ctx, &mut stream, peer, shutdown).await
        });
        let (reader, writer) = tokio::io::split(ours);
        let mut client = Client {
            reader: BufReader::new(reader),
            writer,
            session,
            _shutdown: stop,
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    async fn start() -> (Client, Arc<TestStore>) {
        let store = TestStore::new();
        let (client, greeting) = Client::connect(Arc::clone(&store), config()).await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        (client, store)
    }

    /// Writes raw bytes (a command line must end in CRLF).
    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("the session reads");
    }

    /// Reads one (possibly multi-line) reply.
    async fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("a reply within 10 s")
                .expect("readable");
            assert!(n > 0, "the session closed before replying; got {lines:?}");
            let line = line.trim_end_matches(['\r', '\n']);
            assert!(line.len() >= 3, "short reply line {line:?}");
            let code: u16 = line[..3].parse().expect("a reply code");
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Reply { code, lines };
            }
        }
    }

    /// Sends one command line and reads its reply.
    async fn command(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// EHLO, MAIL and RCPT for each recipient, each asserted 250.
    async fn envelope(&mut self, from: &str, to: &[&str]) {
        assert_eq!(self.command("EHLO client.example").await.code, 250);
        let mail = self.command(&format!("MAIL FROM:<{from}>")).await;
        assert_eq!(mail.code, 250, "{mail:?}");
        for rcpt in to {
            let reply = self.command(&format!("RCPT TO:<{rcpt}>")).await;
            assert_eq!(reply.code, 250, "{rcpt}: {reply:?}");
        }
    }

    /// DATA with `message` (dot-stuffed by the caller where needed) and the final reply.
    async fn data(&mut self, message: &str) -> Reply {
        let start = self.command("DATA").await;
        assert_eq!(start.code, 354, "{start:?}");
        self.send(message.as_bytes()).await;
        let end: &[u8] = if message.ends_with("\r\n") {
            b".\r\n"
        } else {
            b"\r\n.\r\n"
        };
        self.send(end).await;
        self.reply().await
    }

    /// Half-closes and waits for the session to end; true when it ended for STARTTLS.
    async fn finish(mut self) -> bool {
        let _ = self.writer.shutdown().await;
        let mut rest = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut self.reader, &mut rest).await;
        self.session.await.expect("the session task ends without a panic")
    }
}

/// A plain message from a customer.
fn message(subject: &str) -> String {
    format!(
        "From: Jane Customer <jane@customer.example>\r\nTo: {ACME}\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@customer.example>\r\n\r\nHello there.\r\n"
    )
}
