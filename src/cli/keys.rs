//! `inboxd api-keys`: the keys of the HTTP door. A key's secret is printed once, at creation.

use super::{open_admin, print_json};
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
    let admin = open_admin(config)?;
    let conn = admin.conn();
    match cmd {
        ApiKeysCommand::Create { name, account, json } => {
            if let Some(id) = account
                && !admin.account_exists(id).map_err(|e| e.to_string())?
            {
                return Err(format!("no account {id}"));
            }
            let (key, secret) = admin
                .wait(keys::create(conn, &name, account))
                .map_err(|e| e.to_string())?;
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
        ApiKeysCommand::List { json } => {
            let list = admin.wait(keys::list(conn)).map_err(|e| e.to_string())?;
            if json {
                return print_json(&list);
            }
            for k in list {
                let scope = k.account_id.map_or("platform".to_string(), |a| format!("account {a}"));
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{:>5}  {:<18} {:<12} {:<8} {}", k.id, k.prefix, scope, state, k.name);
            }
            Ok(())
        }
        ApiKeysCommand::Revoke { id } => {
            if !admin.wait(keys::revoke(conn, id)).map_err(|e| e.to_string())? {
                return Err(format!("no api key {id}"));
            }
            eprintln!("api key {id} revoked");
            Ok(())
        }
    }
}
