//! A tiny authoritative DNS server on a loopback UDP port, for tests without network: the server
//! under test resolves SPF, DKIM and DMARC records against it like against any DNS server.
//! Unknown names answer NXDOMAIN at once; known names with no record of the asked type answer
//! NOERROR with no answer.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};

const TXT: u16 = 16;
const A: u16 = 1;
const PTR: u16 = 12;

/// Record type and data, per lower-case name.
type Records = HashMap<String, Vec<(u16, Vec<u8>)>>;

#[derive(Clone, Default)]
pub struct Zone {
    records: Arc<Mutex<Records>>,
}

impl Zone {
    pub fn txt(&self, name: &str, text: &str) {
        // A TXT record is a sequence of strings of at most 255 bytes each.
        let mut rdata = Vec::new();
        for chunk in text.as_bytes().chunks(255) {
            rdata.push(chunk.len() as u8);
            rdata.extend_from_slice(chunk);
        }
        self.add(name, TXT, rdata);
    }

    pub fn a(&self, name: &str, ip: Ipv4Addr) {
        self.add(name, A, ip.octets().to_vec());
    }

    /// The reverse-DNS name of an IPv4 address (`7.2.0.192.in-addr.arpa` → `host`).
    pub fn ptr(&self, ip: Ipv4Addr, host: &str) {
        let o = ip.octets();
        let name = format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
        let mut rdata = Vec::new();
        for label in host.trim_end_matches('.').split('.') {
            rdata.push(label.len() as u8);
            rdata.extend_from_slice(label.as_bytes());
        }
        rdata.push(0);
        self.add(&name, PTR, rdata);
    }

    fn add(&self, name: &str, rtype: u16, rdata: Vec<u8>) {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        self.records
            .lock()
            .unwrap()
            .entry(key)
            .or_default()
            .push((rtype, rdata));
    }
}

/// Starts the server; it lives as long as the test process.
pub fn start() -> (SocketAddr, Zone) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let zone = Zone::default();
    let served = zone.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(reply) = answer(&buf[..n], &served) {
                let _ = socket.send_to(&reply, from);
            }
        }
    });
    (addr, zone)
}

fn answer(query: &[u8], zone: &Zone) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels, then type and class.
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(pos..pos + len)?).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question_end = pos + 4;
    let name = labels.join(".");
    let records = zone.records.lock().unwrap();
    let found = records.get(&name);
    let answers: Vec<&(u16, Vec<u8>)> = found
        .map(|r| r.iter().filter(|(t, _)| *t == qtype).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]); // id
    let rcode = if found.is_none() { 3 } else { 0 };
    out.extend_from_slice(&[0x84 | (query[2] & 0x01), 0x80 | rcode]); // QR, AA, RD copied, RA
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(query.get(12..question_end)?);
    for (rtype, rdata) in answers {
        out.extend_from_slice(&[0xC0, 0x0C]); // the name: a pointer to the question
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&[0, 1]); // IN
        out.extend_from_slice(&300u32.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    Some(out)
}
