//! Running inboxd as a postmaster would: configuration, TLS reloads, implicit TLS, PROXY protocol,
//! rate limits, the storage cap, metrics and health, socket activation, the systemd unit.

mod abuse;
mod api;
mod api_writes;
mod at_rest;
#[path = "../common/mod.rs"]
mod common;
mod configuration;
mod forwarders;
mod observability;
mod openapi;
mod proxy;
mod systemd;
mod tls;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn read_reply_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            break;
        }
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).to_string()
}

fn deliver_raw(stream: &mut TcpStream, rcpt: &str, subject: &str) -> String {
    stream
        .write_all(format!("EHLO lb.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n").as_bytes())
        .unwrap();
    let mut replies = Vec::new();
    while replies.len() < 4 {
        let line = read_reply_line(stream);
        if line.as_bytes().get(3) == Some(&b' ') {
            replies.push(line);
        }
    }
    assert!(replies[3].starts_with("354"), "{replies:?}");
    stream
        .write_all(format!("Subject: {subject}\r\n\r\nx\r\n.\r\n").as_bytes())
        .unwrap();
    read_reply_line(stream)
}

/// Polls `/metrics` until `name` satisfies `ok` (the server works through what a client wrote).
fn wait_for_metric(http: SocketAddr, name: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = metric(&http_get(http, "/metrics").1, name);
        if ok(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stayed at {value}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing"))
}

/// A TCP connection from a chosen loopback address (127.0.0.0/8 is all ours).
fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(to).await.unwrap();
        let std = stream.into_std().unwrap();
        std.set_nonblocking(false).unwrap();
        std.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        std
    })
}
