//! The report: percentiles and the JSON line a run prints.

use super::*;

pub(super) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(super) fn report(
    shared: &Shared,
    t: &mut Tally,
    elapsed: Duration,
    verified: Option<u64>,
    missing: Option<u64>,
    verify_note: String,
) -> i32 {
    let args = &shared.args;
    t.latencies_us.sort_unstable();
    let acked = t.acked.len() as u64;
    let secs = elapsed.as_secs_f64();
    let rate = acked as f64 / secs.max(1e-9);
    let ms = |us: u64| us as f64 / 1000.0;
    let p50 = percentile(&t.latencies_us, 50.0);
    let p99 = percentile(&t.latencies_us, 99.0);
    let max = t.latencies_us.last().copied().unwrap_or(0);
    let codes = if t.codes.is_empty() {
        "none".to_string()
    } else {
        t.codes
            .iter()
            .map(|(k, v)| format!("{k}x{v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let check = match (verified, missing) {
        (Some(v), Some(0)) => format!("verified {v}/{acked}"),
        (Some(v), Some(m)) => format!("VERIFY FAILED {v}/{acked} ({m} missing)"),
        _ => verify_note.clone(),
    };
    println!(
        "{label}{addr} size={size} conc={conc}{pipe}{rate_note}: {acked}/{sent} acked in {secs:.2}s = {rate:.1} msg/s; \
         end-of-data→250 p50 {p50:.2} ms p99 {p99:.2} ms max {max:.2} ms; non-250: {codes}; io errors {io}; {check}",
        label = if args.label.is_empty() {
            String::new()
        } else {
            format!("[{}] ", args.label)
        },
        addr = args.addr,
        size = args.size,
        conc = args.concurrency,
        pipe = if args.pipelining { " pipelining" } else { "" },
        rate_note = args.rate.map(|r| format!(" offered={r}/s")).unwrap_or_default(),
        sent = t.sent,
        p50 = ms(p50),
        p99 = ms(p99),
        max = ms(max),
        io = t.io_errors,
    );
    if let Some(e) = &t.last_error {
        eprintln!("smtp_load: last error: {e}");
    }
    if args.json {
        let doc = serde_json::json!({
            "label": args.label,
            "addr": args.addr,
            "size": args.size,
            "concurrency": args.concurrency,
            "pipelining": args.pipelining,
            "offered_rate": args.rate,
            "messages": args.messages,
            "sent": t.sent,
            "acked": acked,
            "elapsed_s": secs,
            "msgs_per_s": rate,
            "latency_ms": { "p50": ms(p50), "p99": ms(p99), "max": ms(max) },
            "non_250": t.codes,
            "io_errors": t.io_errors,
            "last_error": t.last_error,
            "verified": verified,
            "missing": missing,
            "verify": verify_note,
        });
        println!("{doc}");
    }
    match missing {
        Some(m) if m > 0 => 1,
        _ if acked == 0 && args.messages > 0 => 1,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Idle sessions (memory per connection).

pub(super) async fn idle(args: &Args, n: usize) -> i32 {
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Open them `concurrency` at a time; each task keeps its connections.
    for _ in 0..args.concurrency.min(n) {
        let next = Arc::clone(&next);
        let tx = tx.clone();
        let addr = args.addr.clone();
        let timeout = args.timeout;
        tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let outcome = async {
                    let mut conn = Conn::open(&addr, timeout).await?;
                    let r = conn.hello().await?;
                    io::Result::Ok((r.code, conn))
                }
                .await;
                if tx.send(outcome).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut open = Vec::with_capacity(n);
    let mut codes: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors = 0u64;
    let mut last_error = None;
    while let Some(outcome) = rx.recv().await {
        match outcome {
            Ok((250, conn)) => open.push(conn),
            Ok((code, _)) => *codes.entry(code).or_default() += 1,
            Err(e) => {
                errors += 1;
                last_error = Some(e.to_string());
            }
        }
    }
    println!(
        "ready: {} idle sessions open after {:.1}s; refused {:?}; io errors {errors}{}",
        open.len(),
        started.elapsed().as_secs_f64(),
        codes,
        last_error.map(|e| format!(" (last: {e})")).unwrap_or_default()
    );
    tokio::time::sleep(args.hold).await;
    // Check they are still alive: one NOOP each.
    let mut alive = 0;
    for conn in open.iter_mut() {
        if matches!(conn.command("NOOP\r\n").await, Ok(r) if r.code == 250) {
            alive += 1;
        }
    }
    println!(
        "done: {alive}/{} sessions still answered NOOP after {:.0}s",
        open.len(),
        args.hold.as_secs_f64()
    );
    if args.json {
        println!(
            "{}",
            serde_json::json!({"idle_sessions": open.len(), "alive": alive, "refused": codes, "io_errors": errors})
        );
    }
    i32::from(open.len() < n)
}
