//! HTML replies: where the quoted history's container (blockquote, Gmail/Yahoo/Outlook quote divs,
//! separator rules) begins.

use regex::Regex;
use std::sync::LazyLock;

use super::patterns::{RE_FORWARD, compile};
use crate::ingest::text::html::to_text;
use crate::ingest::text::truncate;
/// Any start or end tag, with its name and attributes.
pub(super) static RE_TAG: LazyLock<Regex> = LazyLock::new(|| compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b([^>]*)>"));

/// Outlook 2007-2016 draws the reply header in a div with a thin top border; Windows Mail likewise.
pub(super) static RE_OUTLOOK_BORDER: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)border-top:\s*solid\s+#(?:e1e1e1|b5c4df)\s+1(?:\.0)?pt|border-top:\s*1(?:\.0)?pt\s+solid\s+(?:#e1e1e1|#b5c4df|rgb\(\s*225,\s*225,\s*225\s*\))|border-top-color:\s*rgb\(\s*229,\s*229,\s*229\s*\)",
    )
});

/// Outlook's separator rule above the reply header (desktop 2003 and Outlook on the web).
pub(super) static RE_TABINDEX_MINUS_ONE: LazyLock<Regex> = LazyLock::new(|| compile(r#"(?i)tabindex\s*=\s*["']?-1"#));

/// Class and id values that mark where a client put the quoted message.
pub(super) const QUOTE_MARKERS: &[&str] = &[
    "gmail_quote",
    "yahoo_quoted",
    "protonmail_quote",
    "moz-cite-prefix",
    "divrplyfwdmsg",
    "appendonsend",
    "olk_src_body_section",
    "mail-editor-reference-message-container",
    "stopspelling",
    "zwchr",
    "__divider__",
    "__quoted_text__",
];

/// Byte offset of the first tag that opens quoted history, unless it opens a forwarded message.
pub(super) fn quote_container_start(html: &str) -> Option<usize> {
    for caps in RE_TAG.captures_iter(html) {
        let (Some(whole), Some(name)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        if caps.get(1).is_some_and(|m| !m.is_empty()) {
            continue;
        }
        let name = name.as_str();
        let attrs = caps.get(3).map_or("", |m| m.as_str());
        let lower = attrs.to_ascii_lowercase();
        let is_quote = name.eq_ignore_ascii_case("blockquote")
            || QUOTE_MARKERS.iter().any(|m| lower.contains(m))
            || (name.eq_ignore_ascii_case("div") && RE_OUTLOOK_BORDER.is_match(attrs))
            || (name.eq_ignore_ascii_case("hr") && RE_TABINDEX_MINUS_ONE.is_match(attrs));
        if !is_quote {
            continue;
        }
        // Gmail wraps forwarded messages in the same container; a forward is the content.
        let following = to_text(truncate(&html[whole.end()..], 2000));
        let first_line = following.lines().find(|l| !l.trim().is_empty());
        if first_line.is_some_and(|l| RE_FORWARD.is_match(l)) {
            return None;
        }
        return Some(whole.start());
    }
    None
}
