//! `risk-check --telemetry-ab`: the whole telemetry cost on `risk.check` at 64
//! in flight, off vs on in alternating rounds of one run (issue 12: under 5 %).
//!
//! - off: a risk service started before the Prometheus recorder (no-op
//!   handles), tracing switched off (spans disabled: no fields formatted,
//!   nothing exported), requests without `traceparent`;
//! - on: a risk service started after the recorder (every request counted
//!   and timed), requests with a `traceparent`, every request span formatted
//!   by the fmt layer (info, to a sink) and exported over OTLP/HTTP JSON to a
//!   local receiver that counts the spans.
//!
//! One subscriber serves the process; a switch flipped between rounds turns
//! its layers on or off (a per-span check, as cheap as a disabled level).

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_nats::HeaderMap;
use tracing::subscriber::Interest;
use tracing::Level;
use tracing::Metadata;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::report::{self, Machine, Report, Row};
use crate::request_reply::{measure, Target};
use crate::risk_check::{print_row, start_bench, Args, CHECK};

static TRACING_ON: AtomicBool = AtomicBool::new(false);

/// Info and above while [`TRACING_ON`] (and this layer is part of "on");
/// asked per span (never cached).
struct Switch(bool);

impl<S> Filter<S> for Switch {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.0 && TRACING_ON.load(Ordering::Relaxed) && *meta.level() <= Level::INFO
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if *meta.level() <= Level::INFO {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

/// A collector stand-in: answers 200 to every POST, counts the spans in them.
fn spawn_receiver() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let spans = Arc::new(AtomicU64::new(0));
    let counted = spans.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            // Counted, not parsed: the receiver stands in for a collector on
            // another machine and should take little of this one.
            let n = body.windows(9).filter(|w| w == b"\"spanId\":").count();
            counted.fetch_add(n as u64, Ordering::Relaxed);
            let mut stream = stream;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    Ok((endpoint, spans))
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let in_flight = args.in_flight.last().copied().unwrap_or(64);
    let parts = std::env::var("TELEMETRY_AB_PARTS")
        .unwrap_or_else(|_| "metrics,traceparent,logs,otlp".into());
    let part = |p: &str| parts.split(',').any(|x| x == p);
    let (endpoint, exported) = spawn_receiver()?;
    let (otlp, guard) = bus::otlp::OtlpLayer::new(bus::otlp::OtlpConfig {
        sample_ratio: args.sample_ratio,
        ..bus::otlp::OtlpConfig::new(endpoint, "load-tests")
    })?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::sink);
    tracing_subscriber::registry()
        .with(fmt.with_filter(Switch(part("logs"))))
        .with(otlp.with_filter(Switch(part("otlp"))))
        .try_init()?;

    let off = start_bench().await?;
    if part("metrics") {
        bus::metrics::install();
    }
    let on = start_bench().await?;
    // Both send a Correlation-Id, as every platform client does: the cost
    // measured is the trace context's, not that of having headers at all.
    let mut plain_headers = HeaderMap::new();
    plain_headers.insert(bus::headers::CORRELATION_ID, "bench");
    let plain = Target {
        name: "risk.check",
        subject: "risk.check",
        headers: Some(plain_headers.clone()),
        payload: CHECK.into(),
    };
    let mut traced_headers = plain_headers;
    bus::trace::inject_context(&mut traced_headers, &bus::trace::TraceContext::root());
    let traced = Target {
        headers: Some(if part("traceparent") {
            traced_headers
        } else {
            plain.headers.clone().unwrap_or_default()
        }),
        ..plain.clone()
    };
    TRACING_ON.store(true, Ordering::Relaxed);
    measure(&on.client, &traced, in_flight, args.warmup).await?;
    TRACING_ON.store(false, Ordering::Relaxed);
    measure(&off.client, &plain, in_flight, args.warmup).await?;
    guard.flush();
    let exported_before = exported.load(Ordering::Relaxed);

    let mut rows = Vec::new();
    let (mut off_tp, mut on_tp) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        for on_case in [false, true] {
            TRACING_ON.store(on_case, Ordering::Relaxed);
            let (client, target, case) = if on_case {
                (&on.client, &traced, "telemetry on")
            } else {
                (&off.client, &plain, "telemetry off")
            };
            let (hist, elapsed) = measure(client, target, in_flight, args.requests).await?;
            TRACING_ON.store(false, Ordering::Relaxed);
            let row = Row::new(
                &format!("risk.check, {case}, round {}", round + 1),
                in_flight,
                &hist,
                elapsed,
            );
            print_row(&row);
            if on_case {
                on_tp.push(row.throughput_per_s);
            } else {
                off_tp.push(row.throughput_per_s);
            }
            rows.push(row);
        }
    }
    guard.flush();
    let spans = exported.load(Ordering::Relaxed) - exported_before;
    let dropped = guard.dropped();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (off_median, on_median) = (median(&mut off_tp), median(&mut on_tp));
    let cost_pct = (1.0 - on_median / off_median) * 100.0;
    let sent_on = args.requests * args.rounds as u64;
    // The "on" side really traced: a span per request reached the receiver
    // (or was dropped by a full queue, which is counted).
    // (The sampled share, less a margin: the ratio applies per trace id.)
    let expected = (sent_on as f64 * args.sample_ratio * 0.9) as u64;
    anyhow::ensure!(
        !part("otlp") || spans + dropped >= expected,
        "telemetry on exported {spans} spans (+{dropped} dropped), sent {sent_on} requests"
    );
    println!(
        "telemetry cost at {in_flight} in flight: median {off_median:.0} req/s off, {on_median:.0} req/s on: {cost_pct:.1} % ({spans} spans exported, {dropped} dropped)"
    );
    for bench in [off, on] {
        bench
            .platform
            .instance(bus::subjects::risk::SERVICE, 0)
            .stop()
            .await
            .map_err(|e| anyhow::anyhow!("risk: {e}"))?;
    }
    let parameters = serde_json::json!({
        "requests": args.requests,
        "warmup": args.warmup,
        "in_flight": in_flight,
        "rounds": args.rounds,
        "request": CHECK,
        "median_off_per_s": off_median,
        "median_on_per_s": on_median,
        "telemetry_cost_pct": cost_pct,
        "spans_exported": spans,
        "sample_ratio": args.sample_ratio,
        "spans_dropped": dropped,
        "on": "Prometheus recording, Correlation-Id + traceparent sent, request spans (fmt layer at info to a sink), OTLP/HTTP JSON export (sample_ratio of the traces) to a local receiver",
        "off": "metrics handles no-ops, spans disabled, Correlation-Id sent",
        "parts_on": parts,
        "server": "two private nats-servers (one per case), loopback, JetStream on",
        "process": "load generator, both risk services and the OTLP receiver in one process",
    });
    let report = Report {
        benchmark: "risk-check-telemetry",
        description: "risk.check with metrics and tracing off and on (spans, logs, OTLP export, traceparent), alternating rounds in one run.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let notes = format!(
        "Telemetry cost at {in_flight} in flight: median throughput {off_median:.0} req/s off, {on_median:.0} req/s on, {cost_pct:.1} % \
({spans} spans exported at sample ratio {}, {dropped} dropped). The machine is shared and noisy: compare rounds of one run.\n",
        args.sample_ratio
    );
    report::write(out_dir, "risk_check_telemetry", &report, &notes)?;
    Ok(())
}
