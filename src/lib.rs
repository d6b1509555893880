//! inboxd: an inbound SMTP server for unified inboxes.
//!
//! Mail flows one way through the modules, and no import runs back against the flow:
//!
//! ```text
//! TCP/TLS ─► smtp ─► routing ─► ingest ─► store ─► SQLite
//!  bytes    session   RCPT →     bytes →   one commit
//!                     account    a plan    per batch
//! ```
//!
//! `cli` sits beside the flow (it starts the server and reads the store); `config` is the typed
//! configuration. Library users (code that links inboxd) mint reply addresses with
//! [`routing::Router::reply_address`] and register outbound mail with [`store::admin::Admin`].

pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod ingest;
pub mod mail;
pub mod metrics;
pub mod routing;
pub mod smtp;
pub mod store;
pub mod time;
