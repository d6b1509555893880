//! The SMTP client side: one connection, its replies, and the commands a load run sends.

use super::*;

pub(super) struct Conn {
    pub(super) rd: BufReader<OwnedReadHalf>,
    pub(super) wr: BufWriter<OwnedWriteHalf>,
    pub(super) line: String,
    pub(super) timeout: Duration,
    pub(super) pipelining: bool,
    pub(super) size: bool,
}

#[derive(Debug)]
pub(super) struct Reply {
    pub(super) code: u16,
    pub(super) text: String,
}

impl Conn {
    pub(super) async fn open(addr: &str, timeout: Duration) -> io::Result<Conn> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let (rd, wr) = stream.into_split();
        Ok(Conn {
            rd: BufReader::with_capacity(16 * 1024, rd),
            wr: BufWriter::with_capacity(64 * 1024, wr),
            line: String::new(),
            timeout,
            pipelining: false,
            size: false,
        })
    }

    pub(super) async fn reply(&mut self) -> io::Result<Reply> {
        let mut text = String::new();
        loop {
            self.line.clear();
            let n = tokio::time::timeout(self.timeout, self.rd.read_line(&mut self.line))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "reply timed out"))??;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
            }
            let line = self.line.trim_end();
            if line.len() < 3 || !line.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad reply line {line:?}"),
                ));
            }
            text.push_str(line);
            text.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                let code = line[..3].parse().expect("three digits");
                return Ok(Reply { code, text });
            }
        }
    }

    pub(super) async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.wr.write_all(bytes).await?;
        self.wr.flush().await
    }

    pub(super) async fn command(&mut self, line: &str) -> io::Result<Reply> {
        self.send(line.as_bytes()).await?;
        self.reply().await
    }

    /// Reads the greeting and says EHLO; remembers PIPELINING and SIZE.
    pub(super) async fn hello(&mut self) -> io::Result<Reply> {
        let greeting = self.reply().await?;
        if greeting.code != 220 {
            return Ok(greeting);
        }
        let ehlo = self.command("EHLO smtp-load.localhost\r\n").await?;
        for line in ehlo.text.lines().skip(1) {
            let keyword = line.get(4..).unwrap_or("").split_whitespace().next().unwrap_or("");
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => self.pipelining = true,
                "SIZE" => self.size = true,
                _ => {}
            }
        }
        Ok(ehlo)
    }

    /// Writes `data` at `rate` bytes per second (or at once) and flushes.
    pub(super) async fn send_throttled(&mut self, data: &[u8], rate: Option<u64>) -> io::Result<()> {
        let Some(rate) = rate.filter(|r| *r > 0) else {
            return self.wr.write_all(data).await;
        };
        let started = Instant::now();
        let mut sent = 0usize;
        for chunk in data.chunks(64 * 1024) {
            self.wr.write_all(chunk).await?;
            self.wr.flush().await?;
            sent += chunk.len();
            let due = started + Duration::from_secs_f64(sent as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        Ok(())
    }
}
