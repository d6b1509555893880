//! The SMTP fuzz corpus against the real server over TCP: every input the long runs kept, and every
//! saved finding, goes through a running inboxd (real sockets, real SQLite) without a hang or a dead
//! server. The targets themselves (in-memory, with their stricter checks) are replayed and mutated
//! by `tests/fuzz_smoke.rs`.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "artifacts"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) {
            files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

/// A fuzz input as the client's bytes: `0xFF` marks where one TCP write ends and the next begins
/// (`0xFF 0xFF` is a literal `0xFF`), as in fuzz/harness/smtp_session.rs.
fn writes(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut i = 0;
    while i < data.len() {
        if data[i] == 0xFF {
            if data.get(i + 1) == Some(&0xFF) {
                out.last_mut().unwrap().push(0xFF);
                i += 2;
                continue;
            }
            out.push(Vec::new());
        } else {
            out.last_mut().unwrap().push(data[i]);
        }
        i += 1;
    }
    out
}

#[test]
fn the_smtp_corpus_goes_through_a_real_server() {
    let files = inputs("smtp_session");
    assert!(files.len() > 100, "the corpus is missing: {}", files.len());
    let server = builder()
        .set("limits.max_message_size", 64 * 1024)
        .set("limits.idle_timeout_secs", 5)
        .set("limits.max_connections_per_ip", 100)
        .start();
    server.create_account("Fuzz");
    let started = Instant::now();
    let chunks: Vec<Vec<PathBuf>> = files.chunks(files.len().div_ceil(8)).map(|c| c.to_vec()).collect();
    std::thread::scope(|scope| {
        for chunk in &chunks {
            let addr = server.addr;
            scope.spawn(move || {
                for path in chunk {
                    let data = std::fs::read(path).unwrap();
                    let mut stream = TcpStream::connect(addr).unwrap();
                    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
                    for piece in writes(&data) {
                        if stream.write_all(&piece).is_err() {
                            break; // the server closed first (421 after too many errors): fine
                        }
                    }
                    let _ = stream.shutdown(Shutdown::Write);
                    // The server must answer and then close; a read that times out is a hang.
                    let mut sink = Vec::new();
                    match stream.read_to_end(&mut sink) {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                        Err(e) => panic!("{}: {e}", path.display()),
                    }
                    assert!(sink.starts_with(b"220 "), "{}: no greeting", path.display());
                }
            });
        }
    });
    assert_eq!(server.connect().greeting.code, 220, "the server survived the corpus");
    println!("smtp corpus: {} sessions in {:?}", files.len(), started.elapsed());
}
