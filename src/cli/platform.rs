//! What the platform's own services call: agents' addresses (`members`), signed reply addresses
//! (`reply-address`) and outbound messages to thread replies on (`register-sent`).

use super::{Store, print_json};
use crate::config::Config;
use crate::routing::TokenOrigin;
use crate::store::{members, sent};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum MembersCommand {
    /// Add an agent's personal address to an account.
    Add { account: i64, email: String },
    /// Remove an agent's address.
    Remove { account: i64, email: String },
    /// List an account's agents.
    List {
        account: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ReplyAddressArgs {
    account: i64,
    /// The contact the platform is writing to.
    #[arg(long)]
    contact: String,
    /// The campaign the email belongs to.
    #[arg(long, conflicts_with = "automation")]
    campaign: Option<String>,
    /// The automation the email belongs to.
    #[arg(long)]
    automation: Option<String>,
    /// Domain of the address (default: the first configured domain).
    #[arg(long)]
    domain: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RegisterSentArgs {
    account: i64,
    /// The Message-ID of the outbound email, with or without angle brackets.
    #[arg(long)]
    message_id: String,
    #[arg(long)]
    contact: String,
    #[arg(long)]
    campaign: Option<String>,
    #[arg(long)]
    automation: Option<String>,
    /// An address the message copied (repeatable): a reply from it joins the contact's conversation.
    #[arg(long = "cc")]
    cc: Vec<String>,
    #[arg(long)]
    json: bool,
}

pub fn members(config: &Config, cmd: MembersCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        MembersCommand::Add { account, email } => {
            store.require_account(account)?;
            let added = store.run(move |c| Box::pin(async move { members::add(c, account, &email).await }))?;
            println!("{}", if added { "added" } else { "already a member" });
            Ok(())
        }
        MembersCommand::Remove { account, email } => {
            store.require_account(account)?;
            let asked = email.clone();
            if store.run(move |c| Box::pin(async move { members::remove(c, account, &asked).await }))? {
                println!("removed");
                Ok(())
            } else {
                Err(format!("{email} is not a member of account {account}"))
            }
        }
        MembersCommand::List { account, json } => {
            store.require_account(account)?;
            store.list(
                json,
                |store, page| store.run(move |c| Box::pin(async move { members::list(c, account, &page).await })),
                |m| println!("{m}"),
            )
        }
    }
}

pub fn reply_address(config: &Config, args: ReplyAddressArgs) -> Result<(), String> {
    let store = Store::open(config)?;
    store.require_account(args.account)?;
    if crate::mail::normalize_email(&args.contact).is_none() {
        return Err(format!("`{}` is not an address", args.contact));
    }
    let domain = args.domain.unwrap_or_else(|| config.server.domains[0].clone());
    let router = super::router(config, &store)?;
    if !router.is_our_domain(&domain) {
        return Err(format!(
            "`{domain}` is not one of the configured domains (server.domains)"
        ));
    }
    let origin = match (&args.campaign, &args.automation) {
        (Some(c), _) => TokenOrigin::Campaign(c.clone()),
        (None, Some(a)) => TokenOrigin::Automation(a.clone()),
        (None, None) => TokenOrigin::None,
    };
    let address = router.mint_reply_address(&domain, args.account, &args.contact, origin);
    if args.json {
        return print_json(&serde_json::json!({
            "address": address,
            "account_id": args.account,
            "contact": args.contact,
            "campaign_id": args.campaign,
            "automation_id": args.automation,
        }));
    }
    println!("{address}");
    Ok(())
}

pub fn register_sent(config: &Config, args: RegisterSentArgs) -> Result<(), String> {
    let store = Store::open(config)?;
    store.require_account(args.account)?;
    let (account, message_id, contact) = (args.account, args.message_id.clone(), args.contact.clone());
    let (campaign, automation) = (args.campaign.clone(), args.automation.clone());
    for address in &args.cc {
        if crate::mail::normalize_email(address).is_none() {
            return Err(format!("`{address}` (--cc) is not an address"));
        }
    }
    let cc = args.cc.clone();
    store.run(move |c| {
        Box::pin(async move {
            sent::register(
                c,
                account,
                &message_id,
                &contact,
                campaign.as_deref(),
                automation.as_deref(),
                &cc,
            )
            .await
        })
    })?;
    if args.json {
        return print_json(&serde_json::json!({ "registered": true, "message_id": args.message_id }));
    }
    println!("registered");
    Ok(())
}
