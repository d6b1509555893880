//! `inboxd api-keys`: the keys of the HTTP door. A key's secret is printed once, at creation.

use super::{Store, print_json};
use crate::config::Config;
use crate::store::keys;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ApiKeysCommand {
    /// A new key; prints its secret once. Without --account it is the platform's (every account).
    Create {
        name: String,
        /// The one account the key sees.
        #[arg(long)]
        account: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Every key, without secrets.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key at once.
    Revoke { id: i64 },
}

pub fn run(config: &Config, cmd: ApiKeysCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        ApiKeysCommand::Create { name, account, json } => {
            if let Some(id) = account {
                store.require_account(id)?;
            }
            let (key, secret) = store.run(move |c| Box::pin(async move { keys::create(c, &name, account).await }))?;
            if json {
                let mut value = serde_json::to_value(&key).map_err(|e| e.to_string())?;
                value["secret"] = secret.into();
                return print_json(&value);
            }
            println!("{secret}");
            eprintln!(
                "api key {} ({}): keep the secret above; it is not shown again",
                key.id, key.name
            );
            Ok(())
        }
        ApiKeysCommand::List { json } => store.list(
            json,
            |store, page| store.run(move |c| Box::pin(async move { keys::list(c, &page).await })),
            |k| {
                let scope = k.account_id.map_or("platform".to_string(), |a| format!("account {a}"));
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{:>5}  {:<18} {:<12} {:<8} {}", k.id, k.prefix, scope, state, k.name);
            },
        ),
        ApiKeysCommand::Revoke { id } => {
            if !store.run(move |c| Box::pin(keys::revoke(c, id)))? {
                return Err(format!("no api key {id}"));
            }
            eprintln!("api key {id} revoked");
            Ok(())
        }
    }
}
