//! `inboxd accounts …`: create accounts, list and show them, disable them, rotate their address.

use super::{Store, print_json};
use crate::config::Config;
use crate::mail::{SenderRule, normalize_sender};
use crate::store::accounts::{self, Account, AccountDetail};
use crate::store::senders;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Create an account with a new unique inbound address.
    Create {
        name: String,
        /// Domain of the address (default: the first configured domain).
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List all accounts (in id order, read a page at a time).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one account.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Refuse mail to the account (550 5.2.1) until enabled again.
    Disable {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Accept mail to the account again.
    Enable {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// What to do with this account's mail that fails DMARC under the sender's `p=reject`.
    SetDmarc {
        id: i64,
        /// `reject`, `accept`, or `default` (the server's `auth.dmarc_reject`).
        action: String,
        #[arg(long)]
        json: bool,
    },
    /// Whether bulk mail (newsletters, list mail) to the account creates contacts.
    SetBulk {
        id: i64,
        /// `contact` (a bulk sender becomes a contact, not opt-in) or `no-contact` (the default:
        /// bulk mail joins an existing contact's conversation, or none).
        policy: String,
        #[arg(long)]
        json: bool,
    },
    /// How many days a conversation is kept after its last message (0 keeps forever), or
    /// `default` for the server's `[retention] days`.
    SetRetention {
        id: i64,
        /// A number of days, or `default`.
        days: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a disabled account and everything of it for good (its addresses are never issued
    /// again).
    Delete {
        id: i64,
        /// Confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Give the account a new address; the old one stops routing at once.
    RotateAddress {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Always take mail from a sender (an address, or a domain with its subdomains): never
    /// quarantined, never refused as spam.
    Allow { id: i64, sender: String },
    /// Never take mail from a sender (an address, or a domain with its subdomains): 550 5.7.1 at
    /// RCPT or at the end of DATA.
    Block { id: i64, sender: String },
    /// Remove an `allow`.
    Disallow { id: i64, sender: String },
    /// Remove a `block`.
    Unblock { id: i64, sender: String },
}

pub fn run(config: &Config, cmd: AccountsCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    let not_found = |id: i64| format!("no account {id}");
    let default_days = config.retention.days;
    let show = |account: &Account, json: bool| show(account, json, default_days);
    match cmd {
        AccountsCommand::SetRetention { id, days, json } => {
            let days = match days.as_str() {
                "default" => None,
                n => match n.parse::<u32>() {
                    Ok(n) if n <= crate::config::MAX_RETENTION_DAYS => Some(i64::from(n)),
                    _ => {
                        return Err(format!(
                            "`{n}`: say a number of days (0 keeps forever, at most 36500) or default"
                        ));
                    }
                },
            };
            let account = store
                .run(move |c| Box::pin(accounts::set_retention(c, id, days)))?
                .ok_or_else(|| not_found(id))?;
            show(&account, json)
        }
        AccountsCommand::Delete { id, yes } => {
            if !yes {
                return Err(format!(
                    "deleting account {id} removes all of its mail, contacts and keys for good: add --yes"
                ));
            }
            use crate::store::account_deletion::{Refused, delete};
            match store.block_on(delete(store.db(), id)) {
                Ok(()) => {
                    println!("account {id} deleted");
                    Ok(())
                }
                Err(Refused::NotFound) => Err(not_found(id)),
                Err(Refused::Enabled) => Err(format!(
                    "account {id} is enabled: disable it first (inboxd accounts disable {id})"
                )),
                Err(Refused::Store(e)) => Err(format!("account {id} was not deleted to the end ({e}); run it again")),
            }
        }
        AccountsCommand::Allow { id, sender } => sender_rule(&store, id, &sender, SenderRule::Allow, true),
        AccountsCommand::Block { id, sender } => sender_rule(&store, id, &sender, SenderRule::Block, true),
        AccountsCommand::Disallow { id, sender } => sender_rule(&store, id, &sender, SenderRule::Allow, false),
        AccountsCommand::Unblock { id, sender } => sender_rule(&store, id, &sender, SenderRule::Block, false),
        AccountsCommand::Create { name, domain, json } => {
            let domain = match domain {
                Some(d) if config.domains_lowercase().contains(&d.to_ascii_lowercase()) => d,
                Some(d) => {
                    return Err(format!("`{d}` is not one of the configured domains (server.domains)"));
                }
                None => config.server.domains[0].clone(),
            };
            if name.trim().is_empty() {
                return Err("the account name must not be empty".into());
            }
            let name = name.trim().to_string();
            let account = store.run(move |c| Box::pin(async move { accounts::create(c, &name, &domain).await }))?;
            if json {
                print_json(&account)
            } else {
                println!("{}", account.address);
                Ok(())
            }
        }
        AccountsCommand::List { json } => store.list(
            json,
            |store, page| store.run(move |c| Box::pin(async move { accounts::list(c, None, &page).await })),
            print_account_line,
        ),
        AccountsCommand::Show { id, json } => {
            let detail = store
                .run(move |c| Box::pin(accounts::detail(c, id)))?
                .ok_or_else(|| not_found(id))?;
            if json {
                return print_json(&detail);
            }
            let AccountDetail {
                account,
                members,
                notices,
                senders,
            } = detail;
            show(&account, false)?;
            println!("members:  {}", members.join(", "));
            for rule in senders {
                println!("{:<9} {}", format!("{}:", rule.rule), rule.sender);
            }
            for n in notices {
                println!(
                    "notice:   {} from {} ({}): code {} link {}",
                    n.kind,
                    n.provider.unwrap_or_default(),
                    n.requested_by.unwrap_or_default(),
                    n.code.unwrap_or_default(),
                    n.link.unwrap_or_default()
                );
            }
            Ok(())
        }
        AccountsCommand::Disable { id, json } => {
            let account = store
                .run(move |c| Box::pin(accounts::set_enabled(c, id, false)))?
                .ok_or_else(|| not_found(id))?;
            show(&account, json)
        }
        AccountsCommand::Enable { id, json } => {
            let account = store
                .run(move |c| Box::pin(accounts::set_enabled(c, id, true)))?
                .ok_or_else(|| not_found(id))?;
            show(&account, json)
        }
        AccountsCommand::SetDmarc { id, action, json } => {
            let action = match action.as_str() {
                "default" => None,
                other => Some(
                    crate::config::DmarcAction::parse(other)
                        .ok_or_else(|| format!("`{other}`: say reject, accept or default"))?,
                ),
            };
            let account = store
                .run(move |c| Box::pin(accounts::set_dmarc_reject(c, id, action)))?
                .ok_or_else(|| not_found(id))?;
            show(&account, json)
        }
        AccountsCommand::SetBulk { id, policy, json } => {
            let contacts = match policy.as_str() {
                "contact" => true,
                "no-contact" => false,
                other => return Err(format!("`{other}`: say contact or no-contact")),
            };
            let account = store
                .run(move |c| Box::pin(accounts::set_bulk_contacts(c, id, contacts)))?
                .ok_or_else(|| not_found(id))?;
            show(&account, json)
        }
        AccountsCommand::RotateAddress { id, json } => {
            let account = store
                .run(move |c| Box::pin(accounts::rotate_address(c, id)))?
                .ok_or_else(|| not_found(id))?;
            show(&account, json)
        }
    }
}

fn show(account: &Account, json: bool, default_days: u32) -> Result<(), String> {
    if json {
        return print_json(account);
    }
    println!("id:       {}", account.id);
    println!("name:     {}", account.name);
    println!("address:  {}", account.address);
    println!("enabled:  {}", account.enabled);
    println!("dmarc:    {}", account.dmarc_reject.as_deref().unwrap_or("default"));
    println!("bulk:     {}", account.bulk);
    println!("retention: {}", retention(account.retention_days, default_days));
    println!("created:  {}", account.created_at);
    Ok(())
}

/// Which retention applies, in words: `30 days (the account's)`, `forever (the server's default)`.
fn retention(own: Option<i64>, default_days: u32) -> String {
    let (days, whose) = match own {
        Some(days) => (days, "the account's"),
        None => (i64::from(default_days), "the server's default"),
    };
    match days {
        0 => format!("forever ({whose})"),
        n => format!("{n} days ({whose})"),
    }
}

fn print_account_line(a: &Account) {
    let state = if a.enabled { "enabled" } else { "disabled" };
    println!("{:>5}  {:<40}  {:<9} {}", a.id, a.address, state, a.name);
}

/// Adds (`set`) or removes an account's rule for a sender, and says what changed.
fn sender_rule(store: &Store, id: i64, sender: &str, rule: SenderRule, set: bool) -> Result<(), String> {
    let name = normalize_sender(sender)
        .ok_or_else(|| format!("`{sender}` is neither an address (name@example.com) nor a domain (example.com)"))?;
    store.require_account(id)?;
    let sender = name.clone();
    let changed = store.run(move |c| {
        Box::pin(async move {
            if set {
                senders::set(c, id, &sender, rule).await
            } else {
                senders::remove(c, id, &sender, rule).await
            }
        })
    })?;
    let verb = match (rule, set) {
        (SenderRule::Allow, true) => "allows",
        (SenderRule::Block, true) => "blocks",
        (SenderRule::Allow, false) => "no longer allows",
        (SenderRule::Block, false) => "no longer blocks",
    };
    if changed {
        eprintln!("account {id} {verb} {name}");
    } else if set {
        eprintln!("account {id} already {verb} {name}");
    } else {
        eprintln!("account {id} had no {} rule for {name}", rule.as_str());
    }
    Ok(())
}
