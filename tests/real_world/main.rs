//! Real-world mail through the real server: forwards, campaign replies, auto-replies, bounces and
//! quoted text, checked against hand-written fixtures and the shared corpora.

mod accuracy;
mod bounces;
mod bulk;
mod charsets;
#[path = "../common/mod.rs"]
mod common;
mod forwards;
mod languages;
mod replies;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

const AGENT: &str = "agent@agency.example";

fn flags(m: &Value) -> Vec<String> {
    m["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn mail(from: &str, subject: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut headers = vec![("From", from), ("To", "x@inbox.localhost"), ("Subject", subject)];
    headers.extend_from_slice(extra);
    message(&headers, body)
}

fn reply_address(server: &Server, account: i64, contact: &str, origin: &[&str]) -> String {
    let mut args = vec!["reply-address", &account.to_string(), "--contact", contact]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(origin.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.json(&args)["address"].as_str().unwrap().to_string()
}
