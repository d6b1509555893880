//! `inboxd quarantine`: an account's quarantined spam (kind `spam`: no contact, no conversation),
//! listed, shown, released (filed as new mail, once) and deleted. The ids are the messages' own.

use super::{Store, print_json};
use crate::config::Config;
use crate::mail::Kind;
use crate::review::Released;
use crate::store::messages::{self, Message};
use crate::store::page::{self, Page};
use crate::store::quarantine;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// An account's quarantined messages, newest first.
    List {
        #[arg(long)]
        account: i64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One quarantined message, with the spam verdict.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Files a quarantined message as if it had just arrived (its contact is created then), once.
    Release { id: i64 },
    /// Deletes a quarantined message for good.
    Delete { id: i64 },
}

pub fn run(config: &Config, cmd: QuarantineCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    let quarantined = |id: i64| -> Result<Message, String> {
        match store.run(move |c| Box::pin(messages::get(c, id)))? {
            Some(m) if m.kind == Kind::Spam => Ok(m),
            Some(_) => Err(format!("message {id} is not in the quarantine")),
            None => Err(format!("no message {id}")),
        }
    };
    match cmd {
        QuarantineCommand::List { account, limit, json } => {
            store.require_account(account)?;
            let page = Page::first(limit.clamp(1, page::MAX_LIMIT));
            let list = store
                .run(move |c| Box::pin(async move { messages::list(c, account, Some(Kind::Spam), &page).await }))?
                .items;
            if json {
                return print_json(&list);
            }
            for m in list {
                let score = m.spam.as_ref().map_or(0.0, |v| v.score);
                println!(
                    "{:>7}  {}  score {score:>5.1}  {:<30} {}",
                    m.id,
                    m.received_at,
                    m.from_email.as_deref().unwrap_or("-"),
                    m.subject.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        QuarantineCommand::Show { id, json } => {
            let m = quarantined(id)?;
            if json {
                return print_json(&m);
            }
            println!("message:  {}", m.id);
            println!("from:     {}", m.from_email.as_deref().unwrap_or("-"));
            println!("subject:  {}", m.subject.as_deref().unwrap_or(""));
            println!("received: {}", m.received_at);
            println!("spam:     {}", serde_json::to_string(&m.spam).unwrap_or_default());
            Ok(())
        }
        QuarantineCommand::Release { id } => {
            let review = std::sync::Arc::new(super::review(config, &store)?);
            match super::decide(&store, &review, move |r, c| {
                Box::pin(async move { r.release(c, id).await })
            })?
            .map_err(|e| format!("message {id}: {e}"))?
            {
                Released::Filed { message_id } => eprintln!("message {id} released: filed as message {message_id}"),
                Released::AlreadyReleased { message_id } => super::say_already_released(id, message_id),
            }
            Ok(())
        }
        QuarantineCommand::Delete { id } => {
            quarantined(id)?;
            if !store.run(move |c| Box::pin(quarantine::delete(c, id)))? {
                return Err(format!("message {id} is not in the quarantine"));
            }
            eprintln!("quarantined message {id} deleted");
            Ok(())
        }
    }
}
