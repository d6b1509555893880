//! DATA's byte stream: where it ends, how dots are unstuffed, what happens to bare CR and LF.
//!
//! The policy (Postfix's `smtpd_forbid_bare_newline = normalize` is the reference):
//! - The message ends only at `<CR><LF>.<CR><LF>` (or `.<CR><LF>` as the very first line).
//!   `<LF>.<LF>`, `<LF>.<CR><LF>`, `<CR>.<CR>`, `.<CR><CR><LF>` and every other look-alike are
//!   content, so one DATA can never be split into two messages (SMTP smuggling).
//! - A leading dot is removed from lines that follow a `<CR><LF>` (RFC 5321 §4.5.2).
//! - A bare LF is taken as a line end and stored as CRLF. A bare CR is kept as it is.
//! - Past `max` bytes nothing more is kept, but the stream is still read to its end so that the
//!   client gets a 552 at the right moment; memory stays bounded by `max`.

use memchr::memchr2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of DATA or right after CRLF: a dot here may be stuffing or the end.
    LineStart,
    /// Inside a line.
    Text,
    /// Saw a CR inside a line.
    Cr,
    /// Saw a dot at line start.
    Dot,
    /// Saw `.<CR>` at line start.
    DotCr,
}

pub struct DotReceiver {
    state: State,
    max: usize,
    /// Bytes of content seen, kept or not.
    seen: usize,
    /// Keep nothing more (the server-wide budget ran out); the stream is still read to its end.
    discarding: bool,
}

impl DotReceiver {
    pub fn new(max: usize) -> DotReceiver {
        DotReceiver {
            state: State::LineStart,
            max,
            seen: 0,
            discarding: false,
        }
    }

    /// Bytes of content seen so far, kept or not.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// True once more than `max` bytes of content were seen.
    pub fn overflowed(&self) -> bool {
        self.seen > self.max
    }

    /// Keeps nothing more of this message; its end is still found.
    pub fn discard(&mut self) {
        self.discarding = true;
    }

    fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        let room = if self.discarding {
            0
        } else {
            self.max.saturating_sub(self.seen)
        };
        let keep = bytes.len().min(room);
        if keep > 0 {
            reserve_gradually(out, keep);
            out.extend_from_slice(&bytes[..keep]);
        }
        self.seen = self.seen.saturating_add(bytes.len());
    }

    /// Consumes input, appending content to `out`. Returns the number of bytes consumed and whether
    /// the end of data was reached (bytes after the end are left for the command parser).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Text => {
                    let rest = &input[i..];
                    match memchr2(b'\r', b'\n', rest) {
                        None => {
                            self.emit(out, rest);
                            i = input.len();
                        }
                        Some(pos) => {
                            self.emit(out, &rest[..pos]);
                            i += pos + 1;
                            if rest[pos] == b'\r' {
                                self.state = State::Cr;
                            } else {
                                // Bare LF: normalized to CRLF, but it never starts a line where a dot counts.
                                self.emit(out, b"\r\n");
                            }
                        }
                    }
                }
                State::Cr => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'\n' => {
                            self.emit(out, b"\r\n");
                            self.state = State::LineStart;
                        }
                        b'\r' => self.emit(out, b"\r"),
                        _ => {
                            self.emit(out, &[b'\r', b]);
                            self.state = State::Text;
                        }
                    }
                }
                State::LineStart => {
                    if input[i] == b'.' {
                        i += 1;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Text;
                    }
                }
                State::Dot => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'\r' => self.state = State::DotCr,
                        b'\n' => {
                            // `.<LF>`: not an end; the stuffing dot goes, the bare LF is normalized.
                            self.emit(out, b"\r\n");
                            self.state = State::Text;
                        }
                        _ => {
                            self.emit(out, &[b]);
                            self.state = State::Text;
                        }
                    }
                }
                State::DotCr => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'\n' => return (i, true),
                        b'\r' => {
                            self.emit(out, b"\r");
                            self.state = State::Cr;
                        }
                        _ => {
                            self.emit(out, &[b'\r', b]);
                            self.state = State::Text;
                        }
                    }
                }
            }
        }
        (i, false)
    }
}

/// Grows a buffer in steps of about an eighth of its size (at least 64 KiB), never doubling:
/// a 25 MiB message then costs little more than 25 MiB, and glibc grows large blocks in place.
pub fn reserve_gradually(out: &mut Vec<u8>, additional: usize) {
    if out.capacity() - out.len() >= additional {
        return;
    }
    let step = (out.len() / 8).max(64 * 1024).max(additional);
    out.reserve_exact(step);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, Option<usize>) {
        let mut rx = DotReceiver::new(1 << 20);
        let mut out = Vec::new();
        let (used, done) = rx.feed(input, &mut out);
        (out, done.then_some(used))
    }

    /// Feeds one byte at a time: the result must not depend on how TCP splits the stream.
    fn run_bytewise(input: &[u8]) -> (Vec<u8>, Option<usize>) {
        let mut rx = DotReceiver::new(1 << 20);
        let mut out = Vec::new();
        for (i, b) in input.iter().enumerate() {
            let (used, done) = rx.feed(std::slice::from_ref(b), &mut out);
            assert_eq!(used, 1);
            if done {
                return (out, Some(i + 1));
            }
        }
        (out, None)
    }

    #[test]
    fn ends_only_at_crlf_dot_crlf() {
        let input = b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n";
        let (out, end) = run(input);
        assert_eq!(out, b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(&input[end.unwrap()..], b"QUIT\r\n");
        assert_eq!(run_bytewise(input), (out, end));
        assert_eq!(run(b".\r\n").1, Some(3));
    }

    #[test]
    fn smuggling_forms_are_content() {
        for form in [
            &b"a\n.\nb"[..],
            b"a\n.\r\nb",
            b"a\r.\rb",
            b"a\r\n.\r\r\nb",
            b"a\r.\r\nb",
            b"a\r\n.\nb",
        ] {
            let mut input = form.to_vec();
            input.extend_from_slice(b"\r\nMAIL FROM:<x@y>\r\n");
            let (_, end) = run(&input);
            assert_eq!(
                end,
                None,
                "{:?} must not end the message",
                String::from_utf8_lossy(form)
            );
            assert_eq!(run_bytewise(&input).1, None);
        }
    }

    #[test]
    fn dots_are_unstuffed_after_crlf_only() {
        let (out, _) = run(b"..leading\r\n.x\r\nmid.dle\r\n\r\n..\r\n.\r\n");
        assert_eq!(out, b".leading\r\nx\r\nmid.dle\r\n\r\n.\r\n");
    }

    #[test]
    fn bare_lf_is_normalized_and_bare_cr_kept() {
        let (out, end) = run(b"a\nb\rc\r\r\nd\r\n.\r\n");
        assert_eq!(out, b"a\r\nb\rc\r\r\nd\r\n");
        assert!(end.is_some());
    }

    #[test]
    fn memory_is_capped_but_the_end_is_still_found() {
        let mut rx = DotReceiver::new(10);
        let mut out = Vec::new();
        let body = vec![b'x'; 100_000];
        let (_, done) = rx.feed(&body, &mut out);
        assert!(!done);
        let (_, done) = rx.feed(b"\r\n.\r\n", &mut out);
        assert!(done);
        assert!(rx.overflowed());
        assert!(out.len() <= 10, "{}", out.len());
    }
}
