//! Bulk and list mail: newsletters, announcements, mailing-list traffic. Not a person writing, and
//! not an answer to anything (so not RFC 3834's business): its own kind, `bulk`.
//!
//! The rule: a `List-Id` (RFC 2919) or `List-Unsubscribe` (RFC 2369) field, or `Precedence: bulk`,
//! `list` or `junk` (the de-facto marks bulk senders put on their mail). Whether a bulk sender
//! becomes a contact is the account's choice (`accounts set-bulk`): by default it does not, since a
//! newsletter sender is not a lead.

use mail_parser::Message;

/// True when the message is bulk or list mail by the rule above.
pub fn is_bulk(msg: &Message<'_>) -> bool {
    msg.headers_raw().any(|(name, value)| {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "list-id" | "list-unsubscribe" => !value.trim().is_empty(),
            "precedence" => {
                let word = value
                    .trim()
                    .split([';', ' ', '('])
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                matches!(word.as_str(), "bulk" | "list" | "junk")
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::is_bulk;
    use mail_parser::MessageParser;

    fn check(headers: &str) -> bool {
        let raw = format!("From: news@shop.example\r\n{headers}\r\nSubject: Sale\r\n\r\nBody\r\n");
        is_bulk(&MessageParser::default().parse(raw.as_bytes()).unwrap())
    }

    #[test]
    fn list_fields_and_bulk_precedence_make_bulk_mail() {
        assert!(check("List-Unsubscribe: <https://shop.example/u?x=1>"));
        assert!(check("List-Id: Shop news <news.shop.example>"));
        assert!(check("Precedence: bulk"));
        assert!(check("Precedence: list"));
        assert!(!check("Precedence: first-class"));
        assert!(!check("X-Mailer: Outlook"));
    }
}
