//! The pipeline's shared vocabulary: the types every stage passes along, from the envelope smtp
//! builds to the plan the store carries out.
//!
//! This floor sits beneath `smtp`, `routing`, `auth`, `ingest` and `store` and imports nothing of
//! ours, so that each of them can speak of a delivery without importing the stage that made it (the
//! store writes a [`Plan`] without knowing `ingest`; a second backend shares the same types).
//!
//! - `envelope`: the SMTP facts and each accepted recipient;
//! - `account`: what routing and planning know of an account, and its DMARC answer;
//! - `address`: email addresses as the inbox matches them ([`email_key`], [`normalize_email`]);
//! - `message`: a parsed message and its attachments;
//! - `auth`: the sender-authentication verdicts;
//! - `plan`: kinds, flags, the contact choice and the plan per account;
//! - `facts`: what a bounce, a forward or a notice carries;
//! - `delivery`: all of it, on its way to the commit.

pub mod account;
pub mod address;
pub mod auth;
pub mod delivery;
pub mod envelope;
pub mod facts;
pub mod fields;
pub mod message;
pub mod plan;
pub mod senders;
pub mod spam;

pub use account::{AccountData, AccountRoute, DmarcAction};
pub use address::{Mailbox, email_key, mailbox, normalize_email};
pub use auth::{AuthResult, DkimSignature};
pub use delivery::{Delivery, Packed, Stored};
pub use envelope::{AcceptedRecipient, Envelope, TokenOrigin};
pub use facts::{BounceInfo, BouncedRecipient, Forwarded, Notice, Reason};
pub use message::{Attachment, ParsedMessage};
pub use plan::{ContactChoice, Flag, Kind, Plan};
pub use senders::{SenderRule, SenderRules, normalize_sender};
pub use spam::{SpamAction, SpamVerdict};

/// The local part of the postmaster account, and of the role address RFC 5321 §4.5.1 requires
/// every SMTP server to accept.
pub const POSTMASTER: &str = "postmaster";
