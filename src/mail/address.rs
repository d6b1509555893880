//! Email addresses as the inbox shows and matches them: Unicode domains (IDNA labels decoded),
//! the local part as written, and a lower-case key for case-insensitive matching.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mailbox {
    pub email: String,
    pub name: Option<String>,
}

impl Mailbox {
    /// The key contacts are matched on: the whole address in lower case (domain always; local
    /// part too, as every large mailbox provider treats it).
    pub fn key(&self) -> String {
        email_key(&self.email)
    }
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A mailbox from a parsed address, or None when the address is not usable (`local@domain`).
pub fn mailbox(address: &str, name: Option<&str>) -> Option<Mailbox> {
    let email = normalize_email(address)?;
    let name = name
        .map(|n| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&email));
    Some(Mailbox { email, name })
}

/// `Local@Xn--Mnchen-3ya.DE` → `Local@münchen.de`; None for anything that is not an address.
pub fn normalize_email(address: &str) -> Option<String> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>').trim();
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || address.len() > 320
        || address.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let domain = domain.trim_end_matches('.');
    if domain.is_empty() || domain.starts_with('.') || domain.contains("..") {
        return None;
    }
    let domain: Vec<String> = domain.split('.').map(decode_label).collect();
    Some(format!("{local}@{}", domain.join(".")))
}

/// Decodes one IDNA A-label (`xn--...`) to Unicode, lower-cases any label. A label that is not
/// valid punycode is kept as written (lower-cased): never lose an address over its spelling.
fn decode_label(label: &str) -> String {
    let lower = label.to_lowercase();
    match lower.strip_prefix("xn--").and_then(punycode_decode) {
        Some(unicode) => unicode.to_lowercase(),
        None => lower,
    }
}

/// RFC 3492 decoding.
fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    const INITIAL_BIAS: u32 = 72;
    const INITIAL_N: u32 = 128;
    if input.is_empty() || input.len() > 63 || !input.is_ascii() {
        return None;
    }
    let (basic, extended) = match input.rfind('-') {
        Some(pos) => (&input[..pos], &input[pos + 1..]),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (INITIAL_N, 0u32, INITIAL_BIAS);
    let mut chars = extended.bytes().peekable();
    while chars.peek().is_some() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let byte = chars.next()?;
            let digit = match byte {
                b'a'..=b'z' => byte - b'a',
                b'A'..=b'Z' => byte - b'A',
                b'0'..=b'9' => byte - b'0' + 26,
                _ => return None,
            } as u32;
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = output.len() as u32 + 1;
        bias = {
            let mut delta = if old_i == 0 {
                (i - old_i) / DAMP
            } else {
                (i - old_i) / 2
            };
            delta += delta / len;
            let mut k = 0;
            while delta > ((BASE - TMIN) * TMAX) / 2 {
                delta /= BASE - TMIN;
                k += BASE;
            }
            k + (((BASE - TMIN + 1) * delta) / (delta + SKEW))
        };
        n = n.checked_add(i / len)?;
        i %= len;
        output.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(output.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idna_domains_come_out_as_unicode() {
        assert_eq!(normalize_email("Jo@Xn--Mnchen-3ya.DE").unwrap(), "Jo@münchen.de");
        assert_eq!(normalize_email("a@xn--fsqu00a.xn--0zwm56d").unwrap(), "a@例子.测试");
        assert_eq!(normalize_email("<пример@пример.рф>").unwrap(), "пример@пример.рф");
        assert_eq!(
            normalize_email("x@xn--zz-invalid!.com").unwrap(),
            "x@xn--zz-invalid!.com"
        );
    }

    #[test]
    fn non_addresses_are_refused() {
        for bad in ["", "no-at", "@d.example", "l@", "a b@c.d", "a@.x", "a@b..c"] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_ignore_case_and_names_are_cleaned() {
        let m = mailbox("Jane.DOE@Example.COM", Some(" \"Jane Doe\" ")).unwrap();
        assert_eq!(m.email, "Jane.DOE@example.com");
        assert_eq!(m.key(), "jane.doe@example.com");
        assert_eq!(m.name.as_deref(), Some("Jane Doe"));
        assert_eq!(mailbox("a@b.c", Some("a@b.c")).unwrap().name, None);
    }
}
