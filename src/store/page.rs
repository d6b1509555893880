//! Keyset pages: every list reads one page from where the previous one ended, by its sort key in
//! an index, never the rows before it. A page asks for `limit + 1` rows; the extra row only says
//! there is more, and the last row kept is where the next page starts.
//!
//! Outside the store the position travels as an opaque cursor (base64url of the sort key and the
//! id): a client passes back what it was given and never builds one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The most rows one page may hold.
pub const MAX_LIMIT: usize = 500;
/// Rows per page when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;

/// A page to read: where the previous one ended (none for the first), and how many rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<K> {
    pub after: Option<K>,
    pub limit: usize,
}

impl<K> Page<K> {
    pub fn first(limit: usize) -> Page<K> {
        Page { after: None, limit }
    }

    /// The LIMIT to ask the database for: one more than the page holds.
    pub fn fetch(&self) -> i64 {
        self.limit as i64 + 1
    }

    /// Cuts the extra row off `rows` (read with [`Page::fetch`]): the page, and where the next one
    /// starts when there is more.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Paged<T, K> {
        let more = rows.len() > self.limit;
        rows.truncate(self.limit);
        let next = if more { rows.last().map(key) } else { None };
        Paged { items: rows, next }
    }
}

/// One page of a list and where the next one starts (none on the last page).
#[derive(Debug, Clone)]
pub struct Paged<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Paged<T, K> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U, K> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// A sort key as an opaque cursor and back.
pub trait Cursor: Sized {
    fn parts(&self) -> Vec<String>;
    fn from_parts(parts: &[&str]) -> Option<Self>;

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.parts().join("\n"))
    }

    /// None when `text` is not a cursor of this list.
    fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        Self::from_parts(&text.split('\n').collect::<Vec<_>>())
    }
}

/// Lists in id order: the id is the whole key.
impl Cursor for i64 {
    fn parts(&self) -> Vec<String> {
        vec![self.to_string()]
    }

    fn from_parts(parts: &[&str]) -> Option<Self> {
        match parts {
            [id] => id.parse().ok(),
            _ => None,
        }
    }
}

/// Lists in time order: the time (RFC 3339, so text order is time order) and the id that breaks
/// ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub time: String,
    pub id: i64,
}

impl Cursor for At {
    fn parts(&self) -> Vec<String> {
        vec![self.time.clone(), self.id.to_string()]
    }

    fn from_parts(parts: &[&str]) -> Option<Self> {
        match parts {
            [time, id] if crate::time::is_rfc3339(time) => Some(At {
                time: time.to_string(),
                id: id.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// Lists in text order (members by address): the text is the whole key.
impl Cursor for String {
    fn parts(&self) -> Vec<String> {
        vec![self.clone()]
    }

    fn from_parts(parts: &[&str]) -> Option<Self> {
        match parts {
            [text] => Some(text.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let at = At {
            time: "2026-12-07T02:46:31Z".into(),
            id: 42,
        };
        assert_eq!(At::decode(&at.encode()), Some(at));
        assert_eq!(i64::decode(&7i64.encode()), Some(7));
        assert_eq!(i64::decode("not a cursor!"), None);
        assert_eq!(At::decode(&7i64.encode()), None);
        assert_eq!(At::decode(&URL_SAFE_NO_PAD.encode("yesterday\n3")), None);
    }

    #[test]
    fn a_page_keeps_its_limit_and_knows_whether_there_is_more() {
        let page: Page<i64> = Page::first(2);
        let done = page.finish(vec![5, 4, 3], |n| *n);
        assert_eq!((done.items, done.next), (vec![5, 4], Some(4)));
        let last = page.finish(vec![2, 1], |n| *n);
        assert_eq!((last.items, last.next), (vec![2, 1], None));
    }
}
