//! Forwarding confirmations: the mail Gmail (and Outlook) send to our address when an agent sets up
//! auto-forwarding from a personal mailbox. Not a customer conversation: a system notice of the
//! account, with the confirmation link and code the agent needs.

use super::text::email;
use crate::mail::{Notice, ParsedMessage};
use regex::Regex;
use std::sync::LazyLock;

/// Gmail's sender, and the words confirmation subjects use across providers and languages.
/// Microsoft's mail is recognised by its sender domain plus one of these subjects: when an agent adds
/// our address to an Outlook.com account (as the forwarding target or a verified alias) Microsoft
/// mails it a security code, which is what the agent needs to read.
const GMAIL_SENDER: &str = "forwarding-noreply@google.com";
static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(forwarding confirmation|confirm(ation)? (of )?(your )?forwarding|confirmation de transfert|weiterleitungsbestätigung|confirmación de reenvío|conferma dell'inoltro|confirmação de encaminhamento|bevestiging doorsturen|vidarebefordringsbekräftelse|bekræftelse af videresendelse|verify your email address|verify your e-mail address|account security code|security code|verification code)",
    )
    .expect("valid regex")
});
static CODE_IN_SUBJECT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\(#(\d{5,12})\)").expect("valid regex"));
static CODE_IN_BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:confirmation code|code de confirmation|bestätigungscode|código de confirmación|codice di conferma|código de confirmação|verification code|security code)\s*[:：]?\s*([0-9]{5,12})")
        .expect("valid regex")
});
static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"https://[^\s<>"')\]]+"#).expect("valid regex"));
static REQUESTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:receive mail from|mail from|de|von)\s+(\S+@\S+)").expect("valid regex"));

/// Recognises a forwarding confirmation and extracts its link and code.
pub fn forwarding_confirmation(message: &ParsedMessage) -> Option<Notice> {
    let from = message.from.as_ref()?.key();
    let subject = message.subject.as_deref().unwrap_or("");
    let provider = if from == GMAIL_SENDER {
        "gmail"
    } else if (from.ends_with("@microsoft.com") || from.ends_with("@outlook.com") || from.ends_with(".microsoft.com"))
        && SUBJECT.is_match(subject)
    {
        "outlook"
    } else {
        return None;
    };
    let text = message.text.as_deref().unwrap_or("");
    let code = CODE_IN_SUBJECT
        .captures(subject)
        .or_else(|| CODE_IN_BODY.captures(text))
        .map(|c| c[1].to_string());
    // The confirmation link is the one that names verification; failing that, the first link.
    let links: Vec<&str> = LINK
        .find_iter(text)
        .map(|m| m.as_str().trim_end_matches(['.', ',']))
        .collect();
    let link = links
        .iter()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("/vf") || l.contains("confirm") || l.contains("verif")
        })
        .or(links.first())
        .map(|l| l.to_string());
    let requested_by = REQUESTER.captures(subject).and_then(|c| email::find_first(&c[1]));
    Some(Notice {
        kind: "forwarding_confirmation",
        provider,
        link,
        code,
        requested_by,
    })
}

#[cfg(test)]
mod tests {

    use super::forwarding_confirmation;
    #[test]
    fn gmail_confirmation_gives_link_and_code() {
        let raw = "From: Gmail Team <forwarding-noreply@google.com>\r\n\
Subject: (#468201937) Gmail Forwarding Confirmation - Receive Mail from agent.smith@gmail.com\r\n\r\n\
agent.smith@gmail.com has requested to automatically forward mail to your email\r\n\
address acme-k7m2q9x4@inbox.localhost.\r\n\
Confirmation code: 468201937\r\n\r\n\
To allow agent.smith@gmail.com to automatically forward mail to your address,\r\n\
please click the link below to confirm the request:\r\n\r\n\
https://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz\r\n\r\n\
If you click the link and it appears to be broken, please copy and paste it\r\n";
        let m = crate::ingest::parse::parse(raw.as_bytes());
        let n = forwarding_confirmation(&m).unwrap();
        assert_eq!(n.provider, "gmail");
        assert_eq!(n.code.as_deref(), Some("468201937"));
        assert_eq!(
            n.link.as_deref(),
            Some("https://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz")
        );
        assert_eq!(n.requested_by.as_deref(), Some("agent.smith@gmail.com"));
    }

    #[test]
    fn outlook_security_code_gives_code_and_link() {
        let raw = "From: Microsoft account team <account-security-noreply@accountprotection.microsoft.com>\r\n\
Subject: Verify your email address\r\n\r\n\
Microsoft account\r\n\
Verify your email address\r\n\r\n\
To finish setting up forwarding for agent.smith@outlook.com, use this security code.\r\n\r\n\
Security code: 8042317\r\n\r\n\
Or confirm here: https://account.live.com/confirm?token=AbC123\r\n\r\n\
Privacy statement: https://go.microsoft.com/fwlink/?LinkId=521839\r\n";
        let m = crate::ingest::parse::parse(raw.as_bytes());
        let n = forwarding_confirmation(&m).unwrap();
        assert_eq!(n.provider, "outlook");
        assert_eq!(n.code.as_deref(), Some("8042317"));
        assert_eq!(n.link.as_deref(), Some("https://account.live.com/confirm?token=AbC123"));
    }

    #[test]
    fn a_customer_at_microsoft_is_not_a_notice() {
        let m = crate::ingest::parse::parse(
            b"From: Jane <jane@microsoft.com>\r\nSubject: Question about pricing\r\n\r\nMy code: 1234567\r\n",
        );
        assert_eq!(forwarding_confirmation(&m), None);
    }

    #[test]
    fn ordinary_mail_is_not_a_notice() {
        let m = crate::ingest::parse::parse(b"From: jane@c.example\r\nSubject: Forwarding confirmation\r\n\r\nhi\r\n");
        assert_eq!(forwarding_confirmation(&m), None);
    }
}
