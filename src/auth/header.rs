//! The RFC 8601 `Authentication-Results:` text: writing ours, removing forged ones that claim our
//! host name, and reading one method's result out of an (ARC-)Authentication-Results value.
//!
//! Everything written here that came from the sender (HELO, MAIL FROM, DKIM domains, the From
//! domain) goes through [`push_pvalue`], so no input can break out of its property into a new header
//! line or a fake result.

use super::AuthResult;
use std::borrow::Cow;

/// A property value longer than this is cut: no real domain or address is that long, and it keeps
/// every header line far below the 998-octet limit.
const MAX_PVALUE: usize = 255;

/// At most this many `dkim=` entries are written (one per signature).
const MAX_DKIM_ENTRIES: usize = 8;

impl AuthResult {
    /// Our `Authentication-Results:` header, one result per folded line, ending in CRLF.
    ///
    /// `spf` is written with `smtp.mailfrom` (or `smtp.helo` for the null sender), one `dkim` entry
    /// per signature (or `dkim=none`), then `dmarc` with the published policy as a comment, then `arc`.
    pub fn authentication_results_header(&self, hostname: &str) -> String {
        let mut h = String::with_capacity(256);
        h.push_str("Authentication-Results: ");
        push_token(&mut h, hostname);

        h.push_str(";\r\n\tspf=");
        h.push_str(&self.spf);
        if self.smtp_mailfrom.is_empty() {
            h.push_str(" smtp.helo=");
            push_pvalue(&mut h, &self.smtp_helo);
        } else {
            h.push_str(" smtp.mailfrom=");
            push_pvalue(&mut h, &self.smtp_mailfrom);
        }

        if self.dkim_signatures.is_empty() {
            h.push_str(";\r\n\tdkim=");
            h.push_str(&self.dkim);
        }
        for signature in self.dkim_signatures.iter().take(MAX_DKIM_ENTRIES) {
            h.push_str(";\r\n\tdkim=");
            h.push_str(&signature.result);
            if !signature.domain.is_empty() {
                h.push_str(" header.d=");
                push_pvalue(&mut h, &signature.domain);
            }
            if !signature.selector.is_empty() {
                h.push_str(" header.s=");
                push_pvalue(&mut h, &signature.selector);
            }
        }

        h.push_str(";\r\n\tdmarc=");
        h.push_str(&self.dmarc);
        if let Some(policy) = &self.dmarc_policy {
            h.push_str(" (p=");
            h.push_str(policy);
            h.push(')');
        }
        if let Some(domain) = &self.from_domain {
            h.push_str(" header.from=");
            push_pvalue(&mut h, domain);
        }

        h.push_str(";\r\n\tarc=");
        h.push_str(&self.arc);
        h.push_str("\r\n");
        h
    }
}

/// Characters that may stand unquoted in a property value: RFC 5322 atext, '.' and '@' (so an
/// address or a domain is written as is).
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.@".contains(c)
}

/// Writes `value` as-is when it is plain, otherwise as a quoted-string without control characters.
fn push_pvalue(out: &mut String, value: &str) {
    let value = truncate(value, MAX_PVALUE);
    if !value.is_empty() && value.chars().all(is_plain) {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The authserv-id is ours (configuration), but keep it a token whatever it holds.
fn push_token(out: &mut String, value: &str) {
    let start = out.len();
    out.extend(
        truncate(value, MAX_PVALUE)
            .chars()
            .filter(|c| is_plain(*c) && *c != '@'),
    );
    if out.len() == start {
        out.push_str("localhost");
    }
}

fn truncate(value: &str, max: usize) -> &str {
    &value[..value.floor_char_boundary(max)]
}

/// Removes every `Authentication-Results` field whose authserv-id is in our administrative domain:
/// one of `ours` (our host name and each domain we receive for) or a subdomain of one (any case,
/// with or without a final dot), with its continuation lines, from the header block. Only we may
/// write results for our domain, so any such field that arrives with the message is a forgery
/// (RFC 8601 section 5). Fields for other hosts stay, and so does the body. Nothing is copied
/// unless a field must go.
///
/// Call it after [`super::Verifier::verify`], which must see the message as received: a DKIM or
/// ARC signature may cover these fields.
pub fn strip_forged_results<'a>(raw: &'a [u8], ours: &OurDomains) -> Cow<'a, [u8]> {
    let ours = ours.0.as_slice();
    if ours.is_empty() {
        return Cow::Borrowed(raw);
    }
    crate::mail::fields::remove_fields(raw, |field| claims(field, ours))
}

/// Our administrative domain for Authentication-Results: the host name and the domains we receive
/// for, lower case without a final dot, normalized once at start.
#[derive(Debug, Clone, Default)]
pub struct OurDomains(Vec<String>);

impl OurDomains {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> OurDomains {
        OurDomains(
            names
                .into_iter()
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        )
    }
}

/// Whether one whole header field (name, colon, value, continuation lines) is an
/// Authentication-Results field for one of `ours` (lower case) or a subdomain of one.
fn claims(field: &[u8], ours: &[String]) -> bool {
    const NAME: &[u8] = b"authentication-results";
    let Some(colon) = memchr::memchr(b':', field) else {
        return false;
    };
    // RFC 5322's obsolete syntax allows blanks before the colon.
    let name = field[..colon].trim_ascii_end();
    if !name.eq_ignore_ascii_case(NAME) {
        return false;
    }
    let value = String::from_utf8_lossy(&field[colon + 1..]);
    let mut cursor = Cursor::new(&value);
    cursor.skip_cfws();
    let id = cursor.value().trim_end_matches('.').to_ascii_lowercase();
    ours.iter()
        .any(|d| id == *d || id.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
}

/// The result one method reports in an Authentication-Results or ARC-Authentication-Results value,
/// with its properties: `("pass", [("header.from", "example.com")])` for `dmarc`. The first entry
/// for the method wins; the authserv-id and ARC's `i=` tag are not methods and never match.
pub(super) fn method_result(value: &str, method: &str) -> Option<(String, Vec<(String, String)>)> {
    for resinfo in split_resinfo(value) {
        let mut cursor = Cursor::new(resinfo);
        cursor.skip_cfws();
        let name = cursor.value();
        cursor.skip_cfws();
        // "dmarc/1=pass" names a method version; only the method counts.
        let name = name.split('/').next().unwrap_or_default();
        if !name.eq_ignore_ascii_case(method) || !cursor.eat(b'=') {
            continue;
        }
        cursor.skip_cfws();
        let result = cursor.value().to_ascii_lowercase();
        let mut props = Vec::new();
        loop {
            cursor.skip_cfws();
            if cursor.at_end() {
                break;
            }
            let before = cursor.pos;
            let key = cursor.value().to_ascii_lowercase();
            cursor.skip_cfws();
            if cursor.eat(b'=') {
                cursor.skip_cfws();
                props.push((key, cursor.value()));
            } else if cursor.pos == before {
                // A stray special character: step over it so the loop always moves on.
                cursor.pos += 1;
            }
        }
        return Some((result, props));
    }
    None
}

/// Splits a value at the `;` that separate results, ignoring those inside comments and quotes.
fn split_resinfo(value: &str) -> impl Iterator<Item = &str> {
    let bytes = value.as_bytes();
    let mut cuts = Vec::new();
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if quoted || depth > 0 => escaped = true,
            b'"' if depth == 0 => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted && depth > 0 => depth -= 1,
            b';' if !quoted && depth == 0 => cuts.push(i),
            _ => {}
        }
    }
    cuts.push(bytes.len());
    let mut from = 0;
    cuts.into_iter().map(move |cut| {
        // Cuts are at ';' or the end, both character boundaries.
        let piece = value.get(from..cut).unwrap_or_default();
        from = cut + 1;
        piece
    })
}

/// A small RFC 8601 lexer over a header value: comments, quoted strings, tokens.
struct Cursor<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Cursor<'a> {
        Cursor {
            s: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips blanks, folding and (nested) comments.
    fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.pos += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// A quoted string (unquoted) or a run of characters up to a blank, `;`, `=`, or `(`.
    fn value(&mut self) -> String {
        if self.eat(b'"') {
            let mut out = Vec::new();
            while let Some(&b) = self.s.get(self.pos) {
                self.pos += 1;
                match b {
                    b'"' => break,
                    b'\\' => {
                        if let Some(&escaped) = self.s.get(self.pos) {
                            out.push(escaped);
                            self.pos += 1;
                        }
                    }
                    _ => out.push(b),
                }
            }
            return String::from_utf8_lossy(&out).into_owned();
        }
        let start = self.pos;
        while let Some(&b) = self.s.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'=' | b'(' | b'"') {
                break;
            }
            self.pos += 1;
        }
        // Stops only at ASCII bytes, so both ends are character boundaries.
        self.text.get(start..self.pos).unwrap_or_default().to_string()
    }
}
