//! inboxd: an inbound SMTP server for unified inboxes.
//!
//! Mail flows one way through the modules, and no import runs back against the flow:
//!
//! ```text
//! floor 3   smtp      the wire: session, one file per stage, the delivery pipeline
//!            │
//! floor 2   routing   auth      ingest     store ─► SQLite or PostgreSQL
//!           RCPT →    verdicts  bytes →    one commit
//!           route               a plan     per batch
//!            │         │         │          │
//! floor 1   mail      the vocabulary every stage passes along (envelope, delivery, plan, kinds,
//!                     addresses, verdicts); it imports nothing of ours
//! ```
//!
//! `smtp` asks `routing` who a recipient is, `auth` who sent the message, hands the bytes to
//! `ingest::prepare` for a plan, and submits it to the `store`; the three beneath it never import
//! one another, and all of them speak `mail`. `cli` and `http` sit beside the flow as readers of the
//! store (`cli` also starts the server), `export` writes a contact's data for them as one zip, and `review` holds the decisions people make through
//! them (release, mark spam, mark ham); `config` is the typed configuration. Library users (code
//! that links inboxd) mint reply addresses with [`routing::Router::mint_reply_address`] and register
//! outbound mail with [`store::admin::Admin`].

pub mod activity;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod export;
pub mod http;
pub mod ingest;
pub mod mail;
pub mod metrics;
pub mod review;
pub mod routing;
pub mod smtp;
pub mod spam;
pub mod store;
pub mod time;
pub mod web;
pub mod webhooks;
