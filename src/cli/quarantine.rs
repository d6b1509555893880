//! `inboxd quarantine`: an account's quarantined spam (kind `spam`: no contact, no conversation),
//! listed, shown, released (filed as new mail, once) and deleted. The ids are the messages' own.

use super::{open_admin, print_json};
use crate::config::Config;
use crate::review::Released;
use crate::store::read;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// An account's quarantined messages, newest first.
    List {
        #[arg(long)]
        account: i64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
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
    let admin = open_admin(config)?;
    let conn = admin.conn();
    let failed = |e: crate::store::StoreError| e.to_string();
    let quarantined = |id: i64| -> Result<read::Message, String> {
        match admin.wait(read::message(conn, id)).map_err(failed)? {
            Some(m) if m.kind == "spam" => Ok(m),
            Some(_) => Err(format!("message {id} is not in the quarantine")),
            None => Err(format!("no message {id}")),
        }
    };
    match cmd {
        QuarantineCommand::List { account, limit, json } => {
            let list = admin
                .wait(read::messages(conn, account, Some("spam"), limit))
                .map_err(failed)?;
            if json {
                return print_json(&list);
            }
            for m in list {
                let score = m.spam.get("score").and_then(|s| s.as_f64()).unwrap_or(0.0);
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
            println!("spam:     {}", m.spam);
            Ok(())
        }
        QuarantineCommand::Release { id } => {
            let review = super::review(config, &admin)?;
            match admin
                .wait(review.release(conn, id))
                .map_err(|e| format!("message {id}: {e}"))?
            {
                Released::Filed { message_id } => eprintln!("message {id} released: filed as message {message_id}"),
                Released::AlreadyReleased { message_id } => super::say_already_released(id, message_id),
            }
            Ok(())
        }
        QuarantineCommand::Delete { id } => {
            quarantined(id)?;
            admin
                .wait(crate::store::admin::delete_message(conn, id))
                .map_err(failed)?;
            eprintln!("quarantined message {id} deleted");
            Ok(())
        }
    }
}
