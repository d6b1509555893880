//! HTML as the text a reader sees: the one converter the readers of HTML bodies share (reply
//! text, forward blocks, bounce reports).
//!
//! mail-parser's `html_to_text` decodes entities and drops tags, but breaks lines only at `<br>`
//! and `</p>`; here every block-level element starts a line, table cells stay apart, and the
//! spacing of words after a break is kept as written. Runs of blank lines collapse to one (HTML
//! collapses whitespace, so more carry nothing), and lines are trimmed.

use mail_parser::decoders::html::html_to_text;
use regex::Regex;
use std::sync::LazyLock;

static RE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b([^>]*)>").expect("valid regex"));

/// Noncharacter reserved for internal use: marks a block boundary between our rewrite and html_to_text.
const BLOCK: char = '\u{FDD0}';

/// Second noncharacter: the throwaway word that keeps html_to_text's spacing honest (see visible_text).
const SPACER: char = '\u{FDD1}';
const SPACER_WORD: &str = "\u{FDD1} ";

const BLOCK_TAGS: &[&str] = &[
    "div",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "blockquote",
    "pre",
    "hr",
    "center",
    "section",
    "article",
    "header",
    "footer",
    "address",
    "aside",
    "nav",
    "main",
    "figure",
    "form",
    "fieldset",
];

/// HTML as the text a reader sees: block-level elements on their own lines, blank-line runs collapsed.
pub fn to_text(html: &str) -> String {
    // html_to_text only breaks lines at <br> and </p>; mark other block boundaries so they survive it.
    let mut marked = String::with_capacity(html.len() + 64);
    // html_to_text drops the space before the first word after a line break when that line began with
    // a tag-delimited word ("<b>From:</b> Bob" becomes "From:Bob"). A throwaway word right after every
    // break it makes, removed below, keeps the real words spaced as written.
    marked.push_str(SPACER_WORD);
    let mut last = 0;
    for caps in RE_TAG.captures_iter(html) {
        let (Some(whole), Some(name)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        let closing = caps.get(1).is_some_and(|m| !m.is_empty());
        let name = name.as_str().to_ascii_lowercase();
        let replacement = match name.as_str() {
            "p" if closing => "</p>\u{FDD1} ",
            // Attributes (<br class=...>) hide <br> from html_to_text.
            "br" => "<br>\u{FDD1} ",
            "td" | "th" if !closing => " ",
            _ if BLOCK_TAGS.contains(&name.as_str()) => "\u{FDD0}",
            _ => continue,
        };
        push_without_block_marks(&mut marked, &html[last..whole.start()]);
        marked.push_str(replacement);
        last = whole.end();
    }
    push_without_block_marks(&mut marked, &html[last..]);

    let raw = html_to_text(&marked);
    let mut text = String::with_capacity(raw.len());
    let mut line_has_content = false;
    for ch in raw.chars() {
        match ch {
            SPACER => {}
            BLOCK => {
                if line_has_content {
                    text.push('\n');
                    line_has_content = false;
                }
            }
            '\n' => {
                text.push('\n');
                line_has_content = false;
            }
            c => {
                line_has_content = line_has_content || !c.is_whitespace();
                text.push(c);
            }
        }
    }

    // HTML collapses whitespace, so indentation and trailing spaces carry nothing; one blank line
    // is enough to show a paragraph break.
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.split('\n') {
        let line = line.trim();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

fn push_without_block_marks(out: &mut String, s: &str) {
    if s.contains([BLOCK, SPACER]) {
        out.extend(s.chars().filter(|&c| c != BLOCK && c != SPACER));
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {

    use super::to_text;
    #[test]
    fn blocks_become_lines_and_words_keep_their_spaces() {
        let html = "<div>Hi <b>Ann</b>,</div><div><b>From:</b> Bob &lt;bob@example.com&gt;</div><table><tr><td>a</td><td>b</td></tr></table><p>one</p><p>&nbsp;</p><p>two</p>";
        assert_eq!(to_text(html), "Hi Ann,\nFrom: Bob <bob@example.com>\na b\none\n\ntwo");
        assert_eq!(to_text("line<br class=x>next"), "line\nnext");
        assert_eq!(
            to_text("\u{FDD0}x"),
            "x",
            "our markers in the input are not taken for ours"
        );
    }
}
