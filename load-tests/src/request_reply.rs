//! Request-reply: the cost of going through a platform service.
//!
//! Baseline: a plain async-nats queue subscriber on `bench.echo` that answers
//! every request with the same bytes `md.quote.get` returns (a JSON quote), so
//! both sides move the same payload. Service: `md.quote.get` on the market-data
//! service (micro API, typed decoding, schema'd endpoint, stats), JSON and
//! protobuf. Same server, same client, same run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use futures::StreamExt;
use prost::Message;
use testkit::{spawn_connected, Platform};

use crate::report::{self, Machine, Report, Row};

#[derive(clap::Args, Debug)]
pub struct Args {
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

#[derive(Clone)]
pub(crate) struct Target {
    pub name: &'static str,
    pub subject: &'static str,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    // market-data with GOOG to quote.
    let platform = Platform::builder()
        .service(bus::subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .import_goog()
        .start()
        .await;
    let client = async_nats::connect(platform.url()).await?;

    let quote_json: Bytes = client
        .request("md.quote.get", r#"{"symbol":"GOOG"}"#.into())
        .await?
        .payload;
    let echo = spawn_echo(platform.url(), quote_json.clone()).await?;

    let mut pb_headers = HeaderMap::new();
    pb_headers.insert("Content-Type", "application/protobuf");
    let targets = [
        Target {
            name: "raw async-nats echo (baseline)",
            subject: "bench.echo",
            headers: None,
            payload: r#"{"symbol":"GOOG"}"#.into(),
        },
        Target {
            name: "md.quote.get (JSON)",
            subject: "md.quote.get",
            headers: None,
            payload: r#"{"symbol":"GOOG"}"#.into(),
        },
        Target {
            name: "md.quote.get (protobuf)",
            subject: "md.quote.get",
            headers: Some(pb_headers),
            payload: bus::proto::QuoteRequestPb {
                symbol: "GOOG".into(),
            }
            .encode_to_vec()
            .into(),
        },
    ];

    let mut rows = Vec::new();
    for &in_flight in &args.in_flight {
        let mut baseline: Option<f64> = None;
        for target in &targets {
            measure(&client, target, in_flight, args.warmup).await?;
            let (hist, elapsed) = measure(&client, target, in_flight, args.requests).await?;
            let mut row = Row::new(target.name, in_flight, &hist, elapsed);
            match baseline {
                None => baseline = Some(row.throughput_per_s),
                Some(b) => {
                    row.overhead_vs_baseline_pct = Some((1.0 - row.throughput_per_s / b) * 100.0)
                }
            }
            println!(
                "{:<32} in_flight={:<3} {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs",
                row.target, row.in_flight, row.throughput_per_s, row.p50_us, row.p99_us
            );
            rows.push(row);
        }
    }
    echo.stop().await?;
    stop(&platform, bus::subjects::md::SERVICE).await?;

    let parameters = serde_json::json!({
        "requests": args.requests,
        "warmup": args.warmup,
        "in_flight": args.in_flight,
        "reply_bytes": quote_json.len(),
        "server": "private nats-server, loopback, JetStream on, default config",
        "process": "load generator, echo responder and market-data in one process",
    });
    let report = Report {
        benchmark: "request-reply",
        description: "Raw async-nats request-reply (echo of a quote-sized JSON payload) against md.quote.get through the market-data micro service, same server and run.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let notes = "Throughput vs baseline compares with the raw echo at the same in-flight count (negative: slower). \
Latency is per request, measured at the client. The machine is shared and noisy: compare rows of one run, not runs.\n";
    report::write(out_dir, "request_reply", &report, notes)?;
    Ok(())
}

pub(crate) async fn wait_for_reply(
    client: &Client,
    subject: &str,
    payload: Bytes,
) -> anyhow::Result<async_nats::Message> {
    for _ in 0..200 {
        match client
            .send_request(
                subject.to_string(),
                async_nats::Request::new()
                    .payload(payload.clone())
                    .timeout(Some(Duration::from_secs(60))),
            )
            .await
        {
            Ok(m) => return Ok(m),
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("{subject} never answered")
}

/// The baseline responder: a queue subscription that answers with `reply`
/// bytes, on a runtime of its own with one worker thread and its own
/// connection, exactly as the services under test run (testkit's
/// `spawn_service`), so both sides pay the same thread hop.
pub(crate) async fn spawn_echo(
    url: &str,
    reply: Bytes,
) -> anyhow::Result<testkit::ServiceHandle<anyhow::Error>> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let handle = spawn_connected(url, move |client, shutdown| async move {
        let mut sub = client.queue_subscribe("bench.echo", "q".into()).await?;
        client.flush().await?;
        let _ = ready_tx.send(());
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                msg = sub.next() => match msg {
                    Some(msg) => {
                        if let Some(to) = msg.reply {
                            let _ = client.publish(to, reply.clone()).await;
                        }
                    }
                    None => break,
                },
            }
        }
        Ok(())
    });
    ready_rx.await?;
    Ok(handle)
}

pub(crate) async fn measure(
    client: &Client,
    target: &Target,
    in_flight: usize,
    total: u64,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, Duration)> {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(in_flight);
    for _ in 0..in_flight {
        let client = client.clone();
        let target = target.clone();
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            let mut hist = report::histogram();
            while issued.fetch_add(1, Ordering::Relaxed) < total {
                let t0 = Instant::now();
                let reply = match &target.headers {
                    None => client.request(target.subject, target.payload.clone()).await,
                    Some(h) => {
                        let mut h = h.clone();
                        // A traced target: each request a trace of its own, as
                        // from independent callers (sampling decides per trace).
                        if h.get(bus::headers::TRACEPARENT).is_some() {
                            bus::trace::inject_context(&mut h, &bus::trace::TraceContext::root());
                        }
                        client
                            .request_with_headers(target.subject, h, target.payload.clone())
                            .await
                    }
                }?;
                hist.record(t0.elapsed().as_nanos() as u64).ok();
                let failed = reply
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Service-Error-Code"))
                    .is_some();
                anyhow::ensure!(
                    !failed,
                    "{} answered an error: {}",
                    target.subject,
                    String::from_utf8_lossy(&reply.payload)
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

/// Stops instance 0 of service `name` on `platform` (it drains).
pub(crate) async fn stop(platform: &Platform, name: &str) -> anyhow::Result<()> {
    platform
        .instance(name, 0)
        .stop()
        .await
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))
}
