//! A raw SMTP client on a blocking socket, and the replies it reads.

use super::text::dot_stuff;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The enhanced status code of the last line, e.g. "5.1.1".
    pub fn status(&self) -> &str {
        self.lines
            .last()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
    }

    /// The queue id of a `250 2.0.0 Ok: queued as X`.
    pub fn queue_id(&self) -> String {
        self.text().rsplit(' ').next().unwrap().to_string()
    }

    #[track_caller]
    pub fn expect(&self, code: u16, status: &str) -> &Self {
        assert_eq!((self.code, self.status()), (code, status), "reply: {self:?}");
        self
    }
}

/// A raw SMTP client on a blocking socket: every byte is ours to choose.
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    pub greeting: Reply,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut c = Client {
            stream,
            reader,
            greeting: Reply { code: 0, lines: vec![] },
        };
        c.greeting = c.reply();
        c
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one (possibly multi-line) reply. Panics on EOF.
    pub fn reply(&mut self) -> Reply {
        self.try_reply().expect("a reply before the connection closed")
    }

    pub fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            assert!(line.len() >= 3, "short reply line {line:?}");
            let code: u16 = line[..3].parse().expect("numeric code");
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if !more {
                return Some(Reply { code, lines });
            }
        }
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.write(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    pub fn ehlo(&mut self) -> Reply {
        let r = self.cmd("EHLO client.test.example");
        assert_eq!(r.code, 250, "{r:?}");
        r
    }

    /// MAIL, RCPT…, DATA with dot-stuffing; returns the reply to the final dot.
    pub fn transaction(&mut self, from: &str, to: &[&str], message: &[u8]) -> Reply {
        self.cmd(&format!("MAIL FROM:<{from}>")).expect(250, "2.1.0");
        for rcpt in to {
            self.cmd(&format!("RCPT TO:<{rcpt}>")).expect(250, "2.1.5");
        }
        self.cmd("DATA").expect(354, "2.0.0");
        self.write(&dot_stuff(message));
        self.write(b".\r\n");
        self.reply()
    }

    pub fn quit(&mut self) {
        self.write(b"QUIT\r\n");
        let _ = self.try_reply();
    }

    /// True when the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}
