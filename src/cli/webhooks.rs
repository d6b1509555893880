//! `inboxd webhooks`: the endpoints the inbox application is told of events at, and their
//! deliveries. An endpoint's signing secret is printed once, when it is added.

use super::{Store, print_json};
use crate::config::Config;
use crate::store::page::{self, Page};
use crate::store::webhooks;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// A new endpoint, sent the events from now on; prints its signing secret once.
    Add {
        url: String,
        /// The one account whose events it receives (default: every account's).
        #[arg(long)]
        account: Option<i64>,
        /// The event types it receives, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long)]
        json: bool,
    },
    /// Every endpoint, without secrets.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint and its deliveries.
    Remove { id: i64 },
    /// Deliveries, newest first.
    Deliveries {
        #[arg(long)]
        endpoint: Option<i64>,
        /// `pending`, `delivered` or `failed`.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Send an endpoint every event after CURSOR (an event id) again, and enable it again.
    Replay {
        #[arg(long)]
        endpoint: i64,
        #[arg(long)]
        since: i64,
    },
}

pub fn run(config: &Config, cmd: WebhooksCommand) -> Result<(), String> {
    let store = Store::open(config)?;
    match cmd {
        WebhooksCommand::Add {
            url,
            account,
            events,
            json,
        } => {
            let allow_private = config.webhooks.allow_private;
            let (endpoint, secret) = store.run(move |c| {
                Box::pin(async move {
                    crate::webhooks::add_endpoint(c, account, &url, events.as_deref(), allow_private).await
                })
            })??;
            if json {
                let mut value = serde_json::to_value(&endpoint).map_err(|e| e.to_string())?;
                value["secret"] = secret.into();
                return print_json(&value);
            }
            println!("{secret}");
            eprintln!(
                "webhook endpoint {} ({}): keep the signing secret above; it is not shown again",
                endpoint.id, endpoint.url
            );
            Ok(())
        }
        WebhooksCommand::List { json } => store.list(
            json,
            |store, page| store.run(move |c| Box::pin(async move { webhooks::endpoints(c, None, &page).await })),
            |e| {
                let scope = e.account_id.map_or("platform".to_string(), |a| format!("account {a}"));
                let state = match (&e.enabled, &e.disabled_reason) {
                    (true, _) => "enabled".to_string(),
                    (false, Some(why)) => format!("disabled ({why})"),
                    (false, None) => "disabled".to_string(),
                };
                let events = e.events.as_ref().map_or("all events".to_string(), |l| l.join(","));
                println!("{:>5}  {:<12} {:<18} {}  [{events}]", e.id, scope, state, e.url);
            },
        ),
        WebhooksCommand::Remove { id } => {
            if !store.run(move |c| Box::pin(webhooks::remove_endpoint(c, id)))? {
                return Err(format!("no webhook endpoint {id}"));
            }
            eprintln!("webhook endpoint {id} removed");
            Ok(())
        }
        WebhooksCommand::Deliveries {
            endpoint,
            status,
            limit,
            json,
        } => {
            if let Some(s) = &status
                && !["pending", "delivered", "failed"].contains(&s.as_str())
            {
                return Err(format!("unknown status `{s}` (pending, delivered, failed)"));
            }
            let page = Page::first(limit.clamp(1, page::MAX_LIMIT));
            let list = store
                .run(move |c| {
                    Box::pin(async move { webhooks::deliveries(c, endpoint, status.as_deref(), &page).await })
                })?
                .items;
            if json {
                return print_json(&list);
            }
            for d in list {
                let last = match (d.last_status, &d.last_error) {
                    (_, Some(error)) => error.clone(),
                    (Some(status), None) => status.to_string(),
                    (None, None) => String::new(),
                };
                println!(
                    "{:>7}  endpoint {:<4} event {:<8} {:<20} {:<9} attempts {:<3} {last}",
                    d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts
                );
            }
            Ok(())
        }
        WebhooksCommand::Replay { endpoint, since } => {
            if store.run(move |c| Box::pin(webhooks::endpoint(c, endpoint)))?.is_none() {
                return Err(format!("no webhook endpoint {endpoint}"));
            }
            let again =
                store.run(move |c| Box::pin(webhooks::replay(c, endpoint, since, crate::time::unix_millis())))?;
            eprintln!(
                "webhook endpoint {endpoint}: every event after {since} is sent again ({again} deliveries due again, the rest as they are fanned out)"
            );
            Ok(())
        }
    }
}
