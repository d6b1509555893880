//! What the inbox shows: contacts, conversations, messages and the event log, read from the store.

use super::{Store, print_json};
use crate::config::Config;
use crate::mail::Kind;
use crate::store::contacts::{self, Contact, ContactDetail};
use crate::store::conversations::{self, ConversationFilter, Listed};
use crate::store::merge::{self, Refusal};
use crate::store::messages;
use crate::store::page::{At, Page};
use crate::store::search::{self, Query};
use crate::store::{erasure, events, page, participants};
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Subcommand)]
pub enum ContactsCommand {
    /// An account's contacts (in the order they were created, read a page at a time).
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
    /// Erase a contact and all of its mail for good (GDPR Art. 17); prints
    /// `{"erased": {"contact_id", "messages", "conversations", "quarantined"}}`.
    Erase {
        #[arg(long)]
        account: i64,
        email: String,
    },
    /// Write a contact's data as one zip: contact.json and each message as messages/<id>.eml.
    Export {
        #[arg(long)]
        account: i64,
        email: String,
        #[arg(long)]
        output: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ErasuresCommand {
    /// The erasure log, newest first: when, which account and contact id, what went, who asked,
    /// and the keyed hash of the address (never the address).
    List {
        #[arg(long)]
        account: Option<i64>,
        #[arg(long)]
        json: bool,
        /// Only the erasures of this address (its keyed hash): was it erased?
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ConversationsCommand {
    /// An account's conversations, newest activity first (read a page at a time).
    List {
        #[arg(long)]
        account: i64,
        /// Only this contact's conversations.
        #[arg(long)]
        contact: Option<String>,
        /// Only conversations holding a message of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Full-text search: every word must appear (`"a phrase"` in order); newest match first,
        /// each conversation with its matching message and a snippet.
        #[arg(long)]
        query: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One conversation with its participants and all its messages, oldest first (streamed: any
    /// length). A merged conversation's id says where it went.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Merge a conversation into another of the same account: its messages move, its participants
    /// join, its id points to the other from then on (`conversation.merged`).
    Merge {
        id: i64,
        /// The conversation that takes the messages.
        #[arg(long)]
        into: i64,
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
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Teach rspamd the message is spam and move it to the quarantine (a contact only it made is
    /// deleted).
    MarkSpam { id: i64 },
    /// Teach rspamd the message is not spam; a quarantined one is released.
    MarkHam { id: i64 },
    /// Split the message and its sender's later ones in its conversation off into a new
    /// conversation (`conversation.split`); merging it back restores the conversation.
    Split {
        id: i64,
        #[arg(long)]
        json: bool,
    },
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

fn kind_of(kind: Option<&str>) -> Result<Option<Kind>, String> {
    match kind {
        Some(name) => Kind::from_name(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown kind `{name}` ({})", known.join(", "))
        }),
        None => Ok(None),
    }
}

fn contact_line(c: &Contact) {
    println!(
        "{:>6}  {:<40} {:<24} opt_in={} {}",
        c.id,
        c.email,
        c.name.clone().unwrap_or_default(),
        c.opt_in,
        c.email_status
    );
}

pub fn contacts(config: &Config, cmd: ContactsCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        ContactsCommand::Erase { account, email } => {
            store.require_account(account)?;
            let asked = email.clone();
            let id = store
                .run(move |c| Box::pin(async move { erasure::begin(c, account, &asked, "cli").await }))?
                .ok_or_else(|| format!("no contact {email} in account {account}"))?;
            let erased = store.block_on(erasure::run(store.db(), id)).map_err(|e| {
                format!(
                    "the erasure stopped ({e}); it is finished by the next `contacts erase` or at the server's start"
                )
            })?;
            print_json(&serde_json::json!({ "erased": erased }))
        }
        ContactsCommand::Export { account, email, output } => {
            store.require_account(account)?;
            let file =
                std::fs::File::create(&output).map_err(|e| format!("cannot create {}: {e}", output.display()))?;
            match store.block_on(crate::export::contact(
                store.db(),
                account,
                &email,
                std::io::BufWriter::new(file),
            )) {
                Ok(done) => print_json(&done),
                Err(e) => {
                    let _ = std::fs::remove_file(&output);
                    Err(match e {
                        crate::export::ExportError::NoContact => format!("no contact {email} in account {account}"),
                        crate::export::ExportError::Store(e) => e.to_string(),
                        crate::export::ExportError::Write(e) => format!("cannot write {}: {e}", output.display()),
                    })
                }
            }
        }
        ContactsCommand::List { account, json } => {
            store.require_account(account)?;
            store.list(
                json,
                |store, page| store.run(move |c| Box::pin(async move { contacts::list(c, account, &page).await })),
                contact_line,
            )
        }
        ContactsCommand::Show { account, email, json } => {
            store.require_account(account)?;
            let asked = email.clone();
            let detail = store
                .run(move |c| Box::pin(async move { contacts::detail(c, account, &asked).await }))?
                .ok_or_else(|| format!("no contact {email} in account {account}"))?;
            if json {
                return print_json(&detail);
            }
            let ContactDetail {
                contact,
                conversations,
                conversations_cursor,
            } = detail;
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
            if conversations_cursor.is_some() {
                println!(
                    "  … more: conversations list --account {account} --contact {}",
                    contact.email
                );
            }
            Ok(())
        }
    }
}

fn conversation_line(l: &Listed) {
    let c = &l.conversation;
    println!(
        "#{:<6} {:<32} {:<50} {:>3} msgs  {}",
        c.id, c.contact_email, c.subject, c.message_count, c.last_message_at
    );
    if let Some(found) = &l.found {
        println!("        message {}: {}", found.message_id, found.snippet);
    }
}

pub fn conversations(config: &Config, cmd: ConversationsCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        ConversationsCommand::List {
            account,
            contact,
            kind,
            query,
            json,
        } => {
            store.require_account(account)?;
            let mut filter = ConversationFilter {
                kind: kind_of(kind.as_deref())?,
                ..ConversationFilter::default()
            };
            if let Some(email) = contact {
                let asked = email.clone();
                let found = store
                    .run(move |c| Box::pin(async move { contacts::by_email(c, account, &asked).await }))?
                    .ok_or_else(|| format!("no contact {email} in account {account}"))?;
                filter.contact = Some(found.id);
            }
            match query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
                Some(text) => {
                    let query = Query::parse(text).map_err(|e| format!("cannot search: {}", e.0))?;
                    store.list(
                        json,
                        |store, page: Page<i64>| {
                            let (filter, query) = (filter.clone(), query.clone());
                            store.run(move |c| {
                                Box::pin(async move { search::conversations(c, account, &filter, &query, &page).await })
                            })
                        },
                        conversation_line,
                    )
                }
                None => store.list(
                    json,
                    |store, page: Page<At>| {
                        let filter = filter.clone();
                        store.run(move |c| {
                            Box::pin(async move {
                                Ok(conversations::list(c, account, &filter, &page).await?.map(Listed::from))
                            })
                        })
                    },
                    conversation_line,
                ),
            }
        }
        ConversationsCommand::Show { id, json } => show_conversation(&store, id, json),
        ConversationsCommand::Merge { id, into, json } => {
            let index = config.search.index;
            let merged = store
                .in_transaction(move |c| Box::pin(async move { merge::merge(c, id, into, None, index).await }))?
                .map_err(refusal)?;
            if json {
                return print_json(&merged);
            }
            println!(
                "merged conversation {} into {} ({} messages moved)",
                merged.from, merged.into, merged.moved
            );
            Ok(())
        }
    }
}

/// A threading tool's refusal, as the sentence the CLI exits with.
fn refusal(r: Refusal) -> String {
    match r {
        Refusal::NotFound(why) | Refusal::Invalid(why) | Refusal::Conflict(why) => why,
    }
}

/// A conversation with every message, oldest first, read a page at a time and written as it
/// comes (a conversation of any length costs a page of memory): the JSON is the API's
/// conversation shape with all its messages and no cursor.
fn show_conversation(store: &Store, id: i64, json: bool) -> Result<(), String> {
    let (conversation, participants) = match store.run(move |c| {
        Box::pin(async move {
            Ok(match conversations::get(c, id).await? {
                Some(found) => Ok((found, participants::of_conversation(c, id).await?)),
                None => Err(merge::merged(c, id).await?),
            })
        })
    })? {
        Ok(found) => found,
        Err(Some(merged)) if json => return print_json(&merged),
        Err(Some(merged)) => {
            println!("#{id} was merged into #{} at {}", merged.merged_into, merged.merged_at);
            return Ok(());
        }
        Err(None) => return Err(format!("no conversation {id}")),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let fail = |e: std::io::Error| e.to_string();
    if json {
        let mut head = serde_json::to_value(&conversation).map_err(|e| e.to_string())?;
        head["participants"] = serde_json::to_value(&participants).map_err(|e| e.to_string())?;
        head["messages_cursor"] = serde_json::Value::Null;
        let head = serde_json::to_string_pretty(&head).map_err(|e| e.to_string())?;
        // The conversation's fields, then `"messages": [` … `]` and the closing brace.
        let open = head.trim_end().trim_end_matches('}').trim_end();
        write!(out, "{open},\n  \"messages\": [").map_err(fail)?;
    } else {
        writeln!(
            out,
            "#{} {} with {} ({} messages)",
            conversation.id, conversation.subject, conversation.contact_email, conversation.message_count
        )
        .map_err(fail)?;
        for p in &participants {
            writeln!(out, "  {} {}", p.role, p.email).map_err(fail)?;
        }
    }
    let mut first = true;
    let mut page: Page<i64> = Page::first(page::MAX_LIMIT);
    loop {
        let wanted = page.clone();
        let got = store
            .run(move |c| Box::pin(async move { messages::of_conversation_oldest_first(c, id, &wanted).await }))?;
        for m in got.items {
            if json {
                let text = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
                write!(out, "{}\n{text}", if first { "" } else { "," }).map_err(fail)?;
            } else {
                writeln!(
                    out,
                    "\n--- {} from {} at {}",
                    m.kind.as_str(),
                    m.from_email.unwrap_or_default(),
                    m.received_at
                )
                .map_err(fail)?;
                writeln!(out, "{}", m.reply_text.or(m.text).unwrap_or_default().trim()).map_err(fail)?;
            }
            first = false;
        }
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    if json {
        writeln!(out, "\n  ]\n}}").map_err(fail)?;
    }
    out.flush().map_err(fail)
}

pub fn messages(config: &Config, cmd: MessagesCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        MessagesCommand::MarkSpam { id } => super::mark(config, &store, id, true),
        MessagesCommand::MarkHam { id } => super::mark(config, &store, id, false),
        MessagesCommand::Split { id, json } => {
            let index = config.search.index;
            let split = store
                .in_transaction(move |c| Box::pin(async move { merge::split(c, id, None, index).await }))?
                .map_err(refusal)?;
            if json {
                return print_json(&split);
            }
            println!(
                "split message {} and {} more off conversation {} into {}",
                split.message_id,
                split.moved - 1,
                split.from,
                split.into
            );
            Ok(())
        }
        MessagesCommand::Raw { id } => {
            let raw = store
                .run(move |c| Box::pin(messages::raw(c, id)))?
                .ok_or_else(|| format!("no message {id}"))?;
            std::io::stdout().write_all(&raw).map_err(|e| e.to_string())
        }
        MessagesCommand::Show { id, json } => {
            let message = store
                .run(move |c| Box::pin(messages::get(c, id)))?
                .ok_or_else(|| format!("no message {id}"))?;
            if json {
                return print_json(&message);
            }
            println!(
                "{} {} from {} subject {:?}",
                message.id,
                message.kind.as_str(),
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
            store.require_account(account)?;
            let kind = kind_of(kind.as_deref())?;
            let page = Page::first(limit.clamp(1, page::MAX_LIMIT));
            let list = store.run(move |c| Box::pin(async move { messages::list(c, account, kind, &page).await }))?;
            if json {
                return print_json(&list.items);
            }
            for m in list.items {
                println!(
                    "{:>7} {:<10} {:<32} {}",
                    m.id,
                    m.kind.as_str(),
                    m.from_email.unwrap_or_default(),
                    m.subject.unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

pub fn events(config: &Config, args: EventsArgs) -> Result<(), String> {
    let store = Store::open(config)?;
    let (since, account, limit) = (args.since, args.account, args.limit);
    let list = store.run(move |c| Box::pin(events::list(c, since, account, limit)))?;
    let cursor = list.last().map_or(args.since, |e| e.id);
    if args.json {
        return print_json(&serde_json::json!({ "events": list, "next_cursor": cursor }));
    }
    for e in &list {
        println!(
            "{:>8} {} {:<22} account={} {}",
            e.id, e.created_at, e.kind, e.account_id, e.data
        );
    }
    println!("next cursor: {cursor}");
    Ok(())
}

pub fn erasures(config: &Config, cmd: ErasuresCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        ErasuresCommand::List { account, json, email } => {
            let hash = match email {
                Some(email) => {
                    Some(store.run(move |c| Box::pin(async move { erasure::address_hash(c, &email).await }))?)
                }
                None => None,
            };
            let list: Vec<erasure::Erasure> = store
                .run(move |c| Box::pin(erasure::list(c, account)))?
                .into_iter()
                .filter(|e| hash.as_ref().is_none_or(|h| *h == e.address_hash))
                .collect();
            if json {
                return print_json(&list);
            }
            for e in list {
                println!(
                    "{}  account {}  contact {}  {} messages, {} conversations, {} quarantined  by {}  {}  {}",
                    e.finished_at.as_deref().unwrap_or(&e.started_at),
                    e.account_id,
                    e.contact_id,
                    e.messages,
                    e.conversations,
                    e.quarantined,
                    e.requested_by,
                    e.status,
                    e.address_hash
                );
            }
            Ok(())
        }
    }
}
