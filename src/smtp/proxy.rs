//! The PROXY protocol (v1 text, v2 binary) from a load balancer: who the client really is.
//!
//! Only peers in `server.proxy_trusted_networks` are asked for a header; anyone else is served as
//! a direct client, so a forged PROXY line from the Internet is just an unknown command. The header
//! is read byte-exactly (never past its end, so the SMTP stream that follows is untouched) and is
//! bounded: v1 is at most 107 bytes, v2 at most 16 + 65535 and we allow 512 of address data.

use ppp::{HeaderResult, v1, v2};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

const V2_PREFIX: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
const V1_MAX: usize = 107;
const V2_MAX_PAYLOAD: usize = 512;

/// Reads one header and returns the client's address (None for a v2 LOCAL health check or an
/// UNKNOWN v1 source, where the proxy's own address stands).
pub async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
    timeout: Duration,
) -> Result<Option<SocketAddr>, String> {
    tokio::time::timeout(timeout, read(stream))
        .await
        .map_err(|_| "timed out waiting for the PROXY header".to_string())?
}

async fn read<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Option<SocketAddr>, String> {
    let mut buf = vec![0u8; 16];
    stream.read_exact(&mut buf[..5]).await.map_err(|e| e.to_string())?;
    if buf.starts_with(&V2_PREFIX[..5]) {
        stream.read_exact(&mut buf[5..16]).await.map_err(|e| e.to_string())?;
        if !buf.starts_with(V2_PREFIX) {
            return Err("not a PROXY protocol header".into());
        }
        let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
        if len > V2_MAX_PAYLOAD {
            return Err("PROXY v2 header too long".into());
        }
        buf.resize(16 + len, 0);
        stream.read_exact(&mut buf[16..]).await.map_err(|e| e.to_string())?;
        return match HeaderResult::parse(&buf) {
            HeaderResult::V2(Ok(header)) => Ok(match (header.command, header.addresses) {
                (v2::Command::Local, _) => None,
                (_, v2::Addresses::IPv4(a)) => Some(SocketAddr::from((a.source_address, a.source_port))),
                (_, v2::Addresses::IPv6(a)) => Some(SocketAddr::from((a.source_address, a.source_port))),
                _ => None,
            }),
            other => Err(format!("bad PROXY v2 header: {other:?}")),
        };
    }
    if &buf[..5] != b"PROXY" {
        return Err("not a PROXY protocol header".into());
    }
    buf.truncate(5);
    // v1 is one CRLF-terminated line; read byte by byte so nothing after it is consumed.
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n") {
        if buf.len() >= V1_MAX {
            return Err("PROXY v1 header too long".into());
        }
        stream.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
        buf.push(byte[0]);
    }
    match HeaderResult::parse(&buf) {
        HeaderResult::V1(Ok(header)) => Ok(match header.addresses {
            v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
            v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
            v1::Addresses::Unknown => None,
        }),
        other => Err(format!("bad PROXY v1 header: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn v1_and_v2_give_the_client_address_and_leave_the_rest() {
        let mut input: &[u8] = b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 25\r\nEHLO x\r\n";
        let addr = read_header(&mut input, Duration::from_secs(1)).await.unwrap();
        assert_eq!(addr, Some("203.0.113.7:40000".parse().unwrap()));
        assert_eq!(input, b"EHLO x\r\n");

        let mut v2 = V2_PREFIX.to_vec();
        v2.extend_from_slice(&[0x21, 0x11, 0, 12, 198, 51, 100, 9, 10, 0, 0, 1, 0x9c, 0x40, 0, 25]);
        v2.extend_from_slice(b"EHLO y\r\n");
        let mut input = v2.as_slice();
        let addr = read_header(&mut input, Duration::from_secs(1)).await.unwrap();
        assert_eq!(addr, Some("198.51.100.9:40000".parse().unwrap()));
        assert_eq!(input, b"EHLO y\r\n");

        let mut garbage: &[u8] = b"EHLO direct\r\n";
        assert!(read_header(&mut garbage, Duration::from_secs(1)).await.is_err());
        let long = format!("PROXY TCP4 {}\r\n", "1".repeat(200));
        assert!(read_header(&mut long.as_bytes(), Duration::from_secs(1)).await.is_err());
    }
}
