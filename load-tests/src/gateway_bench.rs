//! The gateway's cost and fan-out.
//!
//! `gateway-rest`: `GET /api/v1/quotes/GOOG` through the gateway (API key,
//! keep-alive HTTP/1.1, one connection per request in flight) against the same
//! `md.quote.get` request over NATS, same server and run: requests/s, and the
//! latency the HTTP hop adds at p50 and p99.
//!
//! `gateway-ws`: quotes published on `md.tick.*` fanned out to N WebSocket
//! clients subscribed to `quotes`: messages/s delivered, and how many were
//! dropped (per-client queues; no client is slow on purpose here).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use testkit::http::HttpClient;
use testkit::Platform;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::report::{self, Machine, Report, Row};
use crate::request_reply::{measure, Target};

#[derive(clap::Args, Debug)]
pub struct RestArgs {
    /// Measured requests per configuration.
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Unmeasured requests first.
    #[arg(long, default_value_t = 2_000)]
    warmup: u64,
    /// In-flight counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    in_flight: Vec<usize>,
}

#[derive(clap::Args, Debug)]
pub struct WsArgs {
    /// WebSocket clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Quotes published (each goes to every client).
    #[arg(long, default_value_t = 20_000)]
    quotes: u64,
    /// Symbols the quotes cycle through (coalescing only merges a symbol's quotes).
    #[arg(long, default_value_t = 1_000)]
    symbols: u64,
}

fn gateway_config() -> gateway_service::Config {
    gateway_service::Config {
        addr: format!("127.0.0.1:{}", testkit::leaf::free_port()),
        rate_limit: None,
        ..Default::default()
    }
}

async fn admin_key(platform: &Platform, dir: &std::path::Path) -> anyhow::Result<String> {
    gateway_service::bootstrap_admin_key(platform.client(), &dir.join("admin.key"), 1)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no admin key"))
}

pub async fn rest(args: RestArgs, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let config = gateway_config();
    let addr = config.addr.clone();
    let platform = Platform::builder()
        .service(bus::subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(bus::subjects::gateway::SERVICE, 1, move |c, s| {
            gateway_service::run(config.clone(), c, s.wait())
        })
        .start()
        .await;
    platform.import_goog(0..100).await;
    let dir = tempfile::tempdir()?;
    let key = admin_key(&platform, dir.path()).await?;
    let client = async_nats::connect(platform.url()).await?;
    let nats = Target {
        name: "md.quote.get over NATS (baseline)",
        subject: "md.quote.get",
        headers: None,
        payload: r#"{"symbol":"GOOG"}"#.into(),
    };
    let mut rows = Vec::new();
    for &in_flight in &args.in_flight {
        measure(&client, &nats, in_flight, args.warmup).await?;
        let (hist, elapsed) = measure(&client, &nats, in_flight, args.requests).await?;
        let base = Row::new(nats.name, in_flight, &hist, elapsed);
        http_measure(&addr, &key, in_flight, args.warmup).await?;
        let (hist, elapsed) = http_measure(&addr, &key, in_flight, args.requests).await?;
        let mut row = Row::new(
            "GET /api/v1/quotes/GOOG via gateway",
            in_flight,
            &hist,
            elapsed,
        );
        row.overhead_vs_baseline_pct =
            Some((1.0 - row.throughput_per_s / base.throughput_per_s) * 100.0);
        for r in [&base, &row] {
            println!(
                "{:<40} in_flight={:<3} {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs",
                r.target, r.in_flight, r.throughput_per_s, r.p50_us, r.p99_us
            );
        }
        println!(
            "  added by the gateway: p50 {:+.1} µs, p99 {:+.1} µs",
            row.p50_us - base.p50_us,
            row.p99_us - base.p99_us
        );
        rows.push(base);
        rows.push(row);
    }
    let added: Vec<serde_json::Value> = rows
        .chunks(2)
        .map(|pair| {
            serde_json::json!({
                "in_flight": pair[0].in_flight,
                "added_p50_us": pair[1].p50_us - pair[0].p50_us,
                "added_p99_us": pair[1].p99_us - pair[0].p99_us,
            })
        })
        .collect();
    let parameters = serde_json::json!({
        "requests": args.requests,
        "warmup": args.warmup,
        "in_flight": args.in_flight,
        "added_latency": added,
        "http": "HTTP/1.1 keep-alive, one connection per request in flight, Authorization: Bearer <API key>, rate limit off",
        "process": "load generator, market-data and the gateway in one process, private nats-server",
    });
    let report = Report {
        benchmark: "gateway-rest",
        description: "GET /api/v1/quotes/GOOG through the gateway (auth, route, NATS request to md.quote.get, reply) against the same md.quote.get request over NATS, same server and run.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let mut notes = String::from(
        "Throughput vs baseline compares with md.quote.get over NATS at the same in-flight count. Added latency (gateway p50/p99 minus NATS p50/p99):\n\n",
    );
    for a in &added {
        notes.push_str(&format!(
            "- {} in flight: p50 {:+.1} µs, p99 {:+.1} µs\n",
            a["in_flight"],
            a["added_p50_us"].as_f64().unwrap_or(0.0),
            a["added_p99_us"].as_f64().unwrap_or(0.0)
        ));
    }
    notes.push_str("\nThe machine is shared and noisy: compare rows of one run, not runs.\n");
    report::write(out_dir, "gateway_rest", &report, &notes)?;
    platform
        .instance(bus::subjects::gateway::SERVICE, 0)
        .stop()
        .await
        .ok();
    Ok(())
}

async fn http_measure(
    addr: &str,
    key: &str,
    in_flight: usize,
    total: u64,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, Duration)> {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let issued = issued.clone();
        let mut http = HttpClient::new(addr).bearer(key);
        workers.push(tokio::spawn(async move {
            let mut hist = report::histogram();
            while issued.fetch_add(1, Ordering::Relaxed) < total {
                let t0 = Instant::now();
                let r = http.get("/api/v1/quotes/GOOG").await?;
                hist.record(t0.elapsed().as_nanos() as u64).ok();
                anyhow::ensure!(
                    r.status == 200,
                    "gateway answered {}: {}",
                    r.status,
                    r.text()
                );
            }
            Ok::<_, anyhow::Error>(hist)
        }));
    }
    let mut hist = report::histogram();
    for w in workers {
        hist.add(w.await??)?;
    }
    Ok((hist, started.elapsed()))
}

pub async fn ws(args: WsArgs, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let config = gateway_config();
    let addr = config.addr.clone();
    let queue = config.ws_queue;
    let platform = Platform::builder()
        .service(bus::subjects::gateway::SERVICE, 1, move |c, s| {
            gateway_service::run(config.clone(), c, s.wait())
        })
        .start()
        .await;
    let dir = tempfile::tempdir()?;
    let key = admin_key(&platform, dir.path()).await?;

    let delivered = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..args.clients {
        let mut request = format!("ws://{addr}/ws").into_client_request()?;
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {key}").parse()?);
        let tcp = tokio::net::TcpStream::connect(&addr).await?;
        let (mut ws, _) = tokio_tungstenite::client_async(request, tcp).await?;
        ws.send(Message::Text(
            r#"{"op":"subscribe","channel":"quotes"}"#.into(),
        ))
        .await?;
        // The subscription's acknowledgement.
        ws.next().await;
        let (delivered, dropped) = (delivered.clone(), dropped.clone());
        readers.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg {
                    if t.as_str().starts_with(r#"{"notice":"dropped""#) {
                        let v: serde_json::Value =
                            serde_json::from_str(t.as_str()).unwrap_or_default();
                        dropped.fetch_add(v["count"].as_u64().unwrap_or(0), Ordering::Relaxed);
                    } else {
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let client = async_nats::connect(platform.url()).await?;
    let payloads: Vec<Bytes> = (0..args.symbols)
        .map(|i| {
            serde_json::json!({"id": format!("q{i}"), "type": "QUOTE_UPDATE", "data": {"symbol": format!("S{i}"), "bid": "99.99", "ask": "100.01", "last": "100"}})
                .to_string()
                .into()
        })
        .collect();
    let expected = args.quotes * args.clients as u64;
    let started = Instant::now();
    for n in 0..args.quotes {
        let i = n % args.symbols;
        client
            .publish(format!("md.tick.S{i}"), payloads[i as usize].clone())
            .await?;
    }
    client.flush().await?;
    let published = started.elapsed();
    // Until every quote is delivered or reported dropped (coalesced ones are
    // neither: wait for quiet then).
    let mut last = 0;
    let mut quiet_since = Instant::now();
    let mut last_change = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = delivered.load(Ordering::Relaxed) + dropped.load(Ordering::Relaxed);
        if seen != last {
            last = seen;
            last_change = Instant::now();
            quiet_since = last_change;
        }
        if seen >= expected || quiet_since.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let elapsed = last_change.duration_since(started);
    for r in readers {
        r.abort();
    }
    let delivered = delivered.load(Ordering::Relaxed);
    let dropped = dropped.load(Ordering::Relaxed);
    let rate = delivered as f64 / elapsed.as_secs_f64();
    println!(
        "{} clients: {delivered} of {expected} delivered in {:.2} s ({rate:.0} msgs/s), {dropped} dropped, {} coalesced; published in {:.2} s",
        args.clients,
        elapsed.as_secs_f64(),
        expected.saturating_sub(delivered + dropped),
        published.as_secs_f64()
    );
    let row = Row {
        target: format!("quotes to {} WebSocket clients", args.clients),
        in_flight: args.clients,
        requests: delivered,
        seconds: elapsed.as_secs_f64(),
        throughput_per_s: rate,
        p50_us: 0.0,
        p90_us: 0.0,
        p99_us: 0.0,
        p999_us: 0.0,
        max_us: 0.0,
        overhead_vs_baseline_pct: None,
    };
    let parameters = serde_json::json!({
        "clients": args.clients,
        "quotes_published": args.quotes,
        "symbols": args.symbols,
        "expected_deliveries": expected,
        "delivered": delivered,
        "dropped": dropped,
        "coalesced": expected.saturating_sub(delivered + dropped),
        "publish_seconds": published.as_secs_f64(),
        "client_queue": queue,
        "process": "publisher, gateway and the 100 clients in one process, private nats-server, loopback",
    });
    let report = Report {
        benchmark: "gateway-ws",
        description: "Quotes published on md.tick.* as fast as the client can, fanned out by the gateway to every WebSocket client subscribed to `quotes`: messages delivered per second (all clients together). No latency columns: throughput only.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: std::slice::from_ref(&row),
    };
    let notes = format!(
        "Delivered {delivered} of {expected} ({dropped} dropped with a notice, {} coalesced into a newer quote of the same symbol). \
The clients read as fast as they can; drops and coalescing happen when the publisher outruns the fan-out. The machine is shared and noisy.\n",
        expected.saturating_sub(delivered + dropped)
    );
    report::write(out_dir, "gateway_ws", &report, &notes)?;
    Ok(())
}
