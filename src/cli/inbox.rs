//! What the inbox shows: contacts, conversations, messages and the event log, read from the store.

use super::{open_admin, print_json};
use crate::config::Config;
use crate::store::read;
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Subcommand)]
pub enum ContactsCommand {
    /// An account's contacts.
    List {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        json: bool,
    },
    /// One contact and its conversations (the contact's "Conversations" tab).
    Show {
        #[arg(long)]
        account: i64,
        email: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ConversationsCommand {
    /// An account's conversations, newest activity first.
    List {
        #[arg(long)]
        account: i64,
        /// Only this contact's conversations.
        #[arg(long)]
        contact: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One conversation with its messages, oldest first.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum MessagesCommand {
    /// The original bytes as received, with our Received header.
    Raw { id: i64 },
    /// One message.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// An account's messages, newest first (all kinds, including those outside conversations).
    List {
        #[arg(long)]
        account: i64,
        /// Only messages of this kind (message, forward, auto_reply, bounce, feedback, system, bulk, spam).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Teach rspamd the message is spam and move it to the quarantine (a contact only it made is
    /// deleted).
    MarkSpam { id: i64 },
    /// Teach rspamd the message is not spam; a quarantined one is released.
    MarkHam { id: i64 },
}

#[derive(Args)]
pub struct EventsArgs {
    /// Only events after this cursor (the `id` of the last event seen).
    #[arg(long, default_value_t = 0)]
    since: i64,
    /// Only this account's events.
    #[arg(long)]
    account: Option<i64>,
    #[arg(long, default_value_t = 1000)]
    limit: i64,
    #[arg(long)]
    json: bool,
}

pub fn contacts(config: &Config, cmd: ContactsCommand) -> Result<(), String> {
    let admin = open_admin(config)?;
    let conn = admin.conn();
    match cmd {
        ContactsCommand::List { account, json } => {
            require_account(&admin, account)?;
            let contacts = admin.wait(read::contacts(conn, account)).map_err(|e| e.to_string())?;
            if json {
                return print_json(&contacts);
            }
            for c in contacts {
                println!(
                    "{:>6}  {:<40} {:<24} opt_in={} {}",
                    c.id,
                    c.email,
                    c.name.unwrap_or_default(),
                    c.opt_in,
                    c.email_status
                );
            }
            Ok(())
        }
        ContactsCommand::Show { account, email, json } => {
            require_account(&admin, account)?;
            let detail = admin
                .wait(read::contact_detail(conn, account, &email))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no contact {email} in account {account}"))?;
            if json {
                return print_json(&detail);
            }
            let read::ContactDetail { contact, conversations } = detail;
            println!(
                "{} <{}>  opt_in={}  lists={:?}  status={}",
                contact.name.unwrap_or_default(),
                contact.email,
                contact.opt_in,
                contact.lists,
                contact.email_status
            );
            for c in conversations {
                println!(
                    "  #{:<6} {:<50} {} messages, last {}",
                    c.id, c.subject, c.message_count, c.last_message_at
                );
            }
            Ok(())
        }
    }
}

pub fn conversations(config: &Config, cmd: ConversationsCommand) -> Result<(), String> {
    let admin = open_admin(config)?;
    let conn = admin.conn();
    match cmd {
        ConversationsCommand::List { account, contact, json } => {
            require_account(&admin, account)?;
            let contact_id = match contact {
                Some(email) => Some(
                    admin
                        .wait(read::contact_by_email(conn, account, &email))
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("no contact {email} in account {account}"))?
                        .id,
                ),
                None => None,
            };
            let list = admin
                .wait(read::conversations(conn, account, contact_id))
                .map_err(|e| e.to_string())?;
            if json {
                return print_json(&list);
            }
            for c in list {
                println!(
                    "#{:<6} {:<32} {:<50} {:>3} msgs  {}",
                    c.id, c.contact_email, c.subject, c.message_count, c.last_message_at
                );
            }
            Ok(())
        }
        ConversationsCommand::Show { id, json } => {
            let detail = admin
                .wait(read::conversation_detail(conn, id))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no conversation {id}"))?;
            if json {
                return print_json(&detail);
            }
            let read::ConversationDetail { conversation, messages } = detail;
            println!(
                "#{} {} with {} ({} messages)",
                conversation.id, conversation.subject, conversation.contact_email, conversation.message_count
            );
            for m in messages {
                println!(
                    "\n--- {} from {} at {}",
                    m.kind,
                    m.from_email.unwrap_or_default(),
                    m.received_at
                );
                println!("{}", m.reply_text.or(m.text).unwrap_or_default().trim());
            }
            Ok(())
        }
    }
}

pub fn messages(config: &Config, cmd: MessagesCommand) -> Result<(), String> {
    let admin = open_admin(config)?;
    let conn = admin.conn();
    match cmd {
        MessagesCommand::MarkSpam { id } => super::mark(config, &admin, id, true),
        MessagesCommand::MarkHam { id } => super::mark(config, &admin, id, false),
        MessagesCommand::Raw { id } => {
            let raw = admin
                .wait(read::message_raw(conn, id))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no message {id}"))?;
            std::io::stdout().write_all(&raw).map_err(|e| e.to_string())
        }
        MessagesCommand::Show { id, json } => {
            let message = admin
                .wait(read::message(conn, id))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no message {id}"))?;
            if json {
                return print_json(&message);
            }
            println!(
                "{} {} from {} subject {:?}",
                message.id,
                message.kind,
                message.from_email.unwrap_or_default(),
                message.subject.unwrap_or_default()
            );
            println!("{}", message.text.unwrap_or_default());
            Ok(())
        }
        MessagesCommand::List {
            account,
            kind,
            limit,
            json,
        } => {
            require_account(&admin, account)?;
            let list = admin
                .wait(read::messages(conn, account, kind.as_deref(), limit))
                .map_err(|e| e.to_string())?;
            if json {
                return print_json(&list);
            }
            for m in list {
                println!(
                    "{:>7} {:<10} {:<32} {}",
                    m.id,
                    m.kind,
                    m.from_email.unwrap_or_default(),
                    m.subject.unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

pub fn events(config: &Config, args: EventsArgs) -> Result<(), String> {
    let admin = open_admin(config)?;
    let events = admin
        .wait(read::events(admin.conn(), args.since, args.account, args.limit))
        .map_err(|e| e.to_string())?;
    let cursor = events.last().map_or(args.since, |e| e.id);
    if args.json {
        return print_json(&serde_json::json!({ "events": events, "next_cursor": cursor }));
    }
    for e in &events {
        println!(
            "{:>8} {} {:<22} account={} {}",
            e.id, e.created_at, e.kind, e.account_id, e.data
        );
    }
    println!("next cursor: {cursor}");
    Ok(())
}

fn require_account(admin: &crate::store::admin::Admin, id: i64) -> Result<(), String> {
    match admin.account_exists(id) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("no account {id}")),
        Err(e) => Err(e.to_string()),
    }
}
