//! The wire: SMTP sessions over TCP (and TLS), from the first byte to the 250.
//!
//! Read in the order a connection lives: `listener` accepts connections (PROXY, TLS, shutdown) and
//! takes a place from `limits` and `rate`; `session` drives one connection's state machine with
//! smtp-proto's command parser; one file per stage (`ehlo`, `mail`, `rcpt`, `data`) holds that
//! stage's rules, with `dot` for DATA's byte stream; `deliver` is the pipeline a finished message
//! goes through (account data, authentication, the DMARC decision, ingest, the commit) up to its
//! reply; `reply` lists every reply the server sends. `context` is what all sessions share,
//! `budget` the message bytes they may hold together, `tls` the certificates.
//!
//! This layer knows nothing of contacts or SQL: it asks `routing` and the store's narrow interface
//! about recipients, hands finished messages to `ingest`, and answers only after the store does.

pub mod budget;
mod context;
mod data;
mod deliver;
mod dot;
mod ehlo;
pub mod exempt;
pub mod limits;
pub mod listener;
mod mail;
pub mod proxy;
pub mod rate;
mod rcpt;
pub mod reply;
mod session;
pub mod tls;

#[cfg(test)]
mod tests;

pub use context::Context;
pub use listener::{Server, ShutdownHandle};

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// Runs one SMTP session on any byte stream (used by fuzzing, the in-process stage tests and
/// embedders; the listener adds TCP, limits and STARTTLS around the same session). Returns true when
/// the client asked for STARTTLS and was told to go ahead: the caller owns the stream and decides
/// what to do next.
pub async fn run_session<S>(
    ctx: Arc<Context>,
    stream: &mut S,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = session::Session::new(ctx, peer, shutdown);
    session.greeting();
    session.run(stream).await == session::Outcome::StartTls
}
