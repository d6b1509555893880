//! Header-field surgery on a raw message: removing the fields a predicate names, with their
//! continuation lines, from the header block only. Used where a trust boundary must drop what
//! only it may write (forged Authentication-Results, spam headers from outside).

use std::borrow::Cow;

/// `raw` without the header fields for which `remove` is true (each is given whole: name, colon,
/// value and continuation lines). The body is never touched, and nothing is copied unless a field
/// must go.
pub fn remove_fields<'a>(raw: &'a [u8], mut remove: impl FnMut(&[u8]) -> bool) -> Cow<'a, [u8]> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut field_start: Option<usize> = None;
    let mut pos = 0;
    let mut end_of_headers = false;
    while pos < raw.len() && !end_of_headers {
        let line_end = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..line_end];
        let blank = line == b"\n" || line == b"\r\n";
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            // The field before this line is complete.
            if let Some(start) = field_start.take()
                && remove(&raw[start..pos])
            {
                spans.push((start, pos));
            }
            if blank {
                end_of_headers = true;
            } else {
                field_start = Some(pos);
            }
        }
        pos = line_end;
    }
    // A message with no body ends in its last field.
    if !end_of_headers
        && let Some(start) = field_start
        && remove(&raw[start..pos])
    {
        spans.push((start, pos));
    }
    if spans.is_empty() {
        return Cow::Borrowed(raw);
    }
    let removed: usize = spans.iter().map(|(start, end)| end - start).sum();
    let mut out = Vec::with_capacity(raw.len() - removed);
    let mut kept_from = 0;
    for (start, end) in spans {
        out.extend_from_slice(&raw[kept_from..start]);
        kept_from = end;
    }
    out.extend_from_slice(&raw[kept_from..]);
    Cow::Owned(out)
}

/// The field's name, as written (before the colon), when it has one.
pub fn field_name(field: &[u8]) -> Option<&[u8]> {
    let colon = memchr::memchr(b':', field)?;
    Some(field[..colon].trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_folded_fields_from_the_header_block_only() {
        let raw = b"X-Spam: yes\r\n  folded\r\nSubject: hi\r\nX-Spam-Score: 9\r\n\r\nX-Spam: body line\r\n";
        let out = remove_fields(raw, |f| field_name(f).is_some_and(|n| n.starts_with(b"X-Spam")));
        assert_eq!(&out[..], b"Subject: hi\r\n\r\nX-Spam: body line\r\n");
    }

    #[test]
    fn borrows_when_nothing_goes() {
        let raw = b"Subject: hi\r\n\r\nbody";
        assert!(matches!(remove_fields(raw, |_| false), Cow::Borrowed(_)));
    }

    #[test]
    fn a_message_without_a_body_loses_its_last_field() {
        let out = remove_fields(b"Subject: hi\r\nX-Spam: 1\r\n", |f| f.starts_with(b"X-Spam"));
        assert_eq!(&out[..], b"Subject: hi\r\n");
    }
}
