//! notify: alerts from ALERTS to a local webhook receiver. End-to-end delay of
//! one alert at a time (published with its ack → the receiver has the POST),
//! then a burst: alerts/s with one POST per alert and with digests. Baselines
//! in the same run: a raw durable consumer (publish → pull → ack, no HTTP) and
//! raw HTTP POSTs to the same receiver (no NATS).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, AckKind};
use bus::subjects;
use futures::StreamExt;
use serde_json::json;
use testkit::sinks::{HttpResponse, HttpServer};
use testkit::Platform;
use tokio::sync::Notify;

use crate::report::{self, Machine, Report, Row};
use crate::request_reply::{stop, wait_for_reply};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Alerts sent one at a time.
    #[arg(long, default_value_t = 500)]
    rounds: usize,
    /// Alerts in each burst.
    #[arg(long, default_value_t = 5000)]
    burst: usize,
    #[arg(long, default_value_t = 50)]
    warmup: usize,
}

/// When each event id reached the receiver.
#[derive(Clone, Default)]
struct Arrivals {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
    posts: Arc<Mutex<usize>>,
    changed: Arc<Notify>,
}

impl Arrivals {
    async fn wait_for(&self, n: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let notified = self.changed.notified();
            if self.seen.lock().unwrap().len() >= n {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "receiver got too few alerts");
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    fn reset(&self) {
        self.seen.lock().unwrap().clear();
        *self.posts.lock().unwrap() = 0;
    }
}

async fn receiver() -> (HttpServer, Arrivals) {
    let arrivals = Arrivals::default();
    let a = arrivals.clone();
    let server = HttpServer::start(move |req| {
        let a = a.clone();
        async move {
            let now = Instant::now();
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            if let Some(events) = body["events"].as_array() {
                let mut seen = a.seen.lock().unwrap();
                for e in events {
                    if let Some(id) = e["notice"]["id"].as_str() {
                        seen.entry(id.to_string()).or_insert(now);
                    }
                }
            }
            *a.posts.lock().unwrap() += 1;
            a.changed.notify_waiters();
            HttpResponse::status(200)
        }
    })
    .await;
    (server, arrivals)
}

fn alert_body(id: &str) -> bytes::Bytes {
    let event = model::Event::new(
        id,
        model::event::types::RISK_ALERT,
        id,
        "load-tests",
        json!({"account": "bench", "severity": "critical", "message": "bench alert", "violations": [], "state": "ACTIVE"}),
    );
    serde_json::to_vec(&event).unwrap_or_default().into()
}

fn headers(id: &str) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert(bus::headers::MSG_ID, id);
    h.insert(bus::headers::EVENT_TYPE, model::event::types::RISK_ALERT);
    h
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let (server, arrivals) = receiver().await;
    let platform = Platform::builder()
        .service(subjects::notify::SERVICE, 1, |c, s| {
            notify_service::run(notify_service::Config::default(), c, s.wait())
        })
        .start()
        .await;
    let client = async_nats::connect(platform.url()).await?;
    let js = jetstream::new(client.clone());
    let set = |subject: &'static str, body: serde_json::Value| {
        let client = client.clone();
        async move {
            let r = wait_for_reply(&client, subject, body.to_string().into()).await?;
            anyhow::ensure!(
                r.headers.is_none(),
                "{subject}: {}",
                String::from_utf8_lossy(&r.payload)
            );
            anyhow::Ok(())
        }
    };
    let one_by_one = json!({"name": "bench", "type": "webhook", "url": server.url(),
        "limits": {"coalesce_after": 1_000_000}});
    set(subjects::notify::CHANNELS_SET, one_by_one.clone()).await?;
    set(
        subjects::notify::RULES_SET,
        json!({"id": "all", "channel": "bench"}),
    )
    .await?;
    let subject = subjects::alert("critical", "bench");

    // One at a time: publish (with its ack) → the POST reaches the receiver.
    let mut hist = report::histogram();
    let started = Instant::now();
    for i in 0..args.warmup + args.rounds {
        let id = format!("seq-{i}");
        let t0 = Instant::now();
        js.publish_with_headers(subject.clone(), headers(&id), alert_body(&id))
            .await?
            .await?;
        arrivals.wait_for(i + 1).await?;
        if i >= args.warmup {
            hist.record(t0.elapsed().as_nanos() as u64).ok();
        }
    }
    let mut sequential = Row::new(
        "alert → webhook POST, one at a time",
        1,
        &hist,
        started.elapsed(),
    );
    sequential.requests = args.rounds as u64;
    sequential.throughput_per_s = args.rounds as f64 / started.elapsed().as_secs_f64();
    print(&sequential);

    // Bursts: every alert published at once (acks awaited together), until
    // the receiver has them all; the delay of each from its publish.
    let burst = |tag: &'static str| {
        let js = js.clone();
        let arrivals = arrivals.clone();
        let subject = subject.clone();
        let n = args.burst;
        async move {
            arrivals.reset();
            let mut sent_at = HashMap::with_capacity(n);
            let mut acks = Vec::with_capacity(n);
            let started = Instant::now();
            for i in 0..n {
                let id = format!("{tag}-{i}");
                sent_at.insert(id.clone(), Instant::now());
                acks.push(
                    js.publish_with_headers(subject.clone(), headers(&id), alert_body(&id))
                        .await?,
                );
            }
            for ack in acks {
                ack.await?;
            }
            arrivals.wait_for(n).await?;
            let elapsed = started.elapsed();
            let mut hist = report::histogram();
            for (id, at) in arrivals.seen.lock().unwrap().iter() {
                if let Some(t0) = sent_at.get(id) {
                    hist.record(at.duration_since(*t0).as_nanos() as u64).ok();
                }
            }
            let posts = *arrivals.posts.lock().unwrap();
            anyhow::Ok((hist, elapsed, posts))
        }
    };
    let (h, elapsed, posts) = burst("single").await?;
    let mut singles = Row::new(
        "alert burst → webhook, one POST per alert",
        args.burst,
        &h,
        elapsed,
    );
    singles.requests = args.burst as u64;
    singles.throughput_per_s = args.burst as f64 / elapsed.as_secs_f64();
    print(&singles);
    println!("  {posts} POSTs");

    let digests_channel = json!({"name": "bench", "type": "webhook", "url": server.url(),
        "limits": {"coalesce_after": 5, "digest_max": 500}});
    set(subjects::notify::CHANNELS_SET, digests_channel).await?;
    let (h, elapsed, digest_posts) = burst("digest").await?;
    let mut digests = Row::new(
        "alert burst → webhook, digests (coalesce_after 5, ≤500)",
        args.burst,
        &h,
        elapsed,
    );
    digests.requests = args.burst as u64;
    digests.throughput_per_s = args.burst as f64 / elapsed.as_secs_f64();
    print(&digests);
    println!("  {digest_posts} POSTs");
    stop(&platform, subjects::notify::SERVICE).await?;

    // Baseline 1: a raw durable consumer on the same stream, no HTTP.
    let stream = js.get_stream(subjects::streams::ALERTS).await?;
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("raw-bench".into()),
            filter_subject: "evt.alert.critical.raw".into(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut hist = report::histogram();
    let started = Instant::now();
    for i in 0..args.rounds {
        let id = format!("raw-{i}");
        let t0 = Instant::now();
        js.publish_with_headers("evt.alert.critical.raw", headers(&id), alert_body(&id))
            .await?
            .await?;
        let m = messages
            .next()
            .await
            .ok_or_else(|| anyhow::anyhow!("ended"))??;
        m.ack_with(AckKind::Ack)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        hist.record(t0.elapsed().as_nanos() as u64).ok();
    }
    let mut raw_js = Row::new(
        "raw: publish → durable pull consumer → ack (no HTTP)",
        1,
        &hist,
        started.elapsed(),
    );
    raw_js.throughput_per_s = args.rounds as f64 / started.elapsed().as_secs_f64();
    print(&raw_js);

    // Baseline 2: raw HTTP POSTs of the same size to the same receiver.
    let http = reqwest::Client::new();
    let body = serde_json::to_vec(
        &json!({"events": [{"notice": {"id": "x", "text": "bench alert"}}], "padding": "x".repeat(600)}),
    )?;
    let mut hist = report::histogram();
    let started = Instant::now();
    for _ in 0..args.rounds {
        let t0 = Instant::now();
        let r = http.post(server.url()).body(body.clone()).send().await?;
        anyhow::ensure!(r.status().is_success());
        hist.record(t0.elapsed().as_nanos() as u64).ok();
    }
    let mut raw_http = Row::new(
        "raw: HTTP POST to the receiver (reqwest, keep-alive)",
        1,
        &hist,
        started.elapsed(),
    );
    raw_http.throughput_per_s = args.rounds as f64 / started.elapsed().as_secs_f64();
    print(&raw_http);

    let rows = vec![sequential, singles, digests, raw_js, raw_http];
    let report = Report {
        benchmark: "notify",
        description: "Alerts from ALERTS through the notify service to a local webhook receiver: the end-to-end delay of one alert at a time (publish with ack → POST received), and bursts (all published at once) with one POST per alert and with digests; beside a raw durable consumer and raw HTTP POSTs in the same run.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters: json!({
            "rounds": args.rounds,
            "warmup": args.warmup,
            "burst": args.burst,
            "burst_posts_single": posts,
            "burst_posts_digest": digest_posts,
            "server": "private nats-server, loopback, default config",
            "process": "notify, the receiver and the load generator in one process",
        }),
        rows: &rows,
    };
    let notes = format!(
        "For a burst, `req/s` is alerts per second from the first publish until the receiver has all of them, and the latency columns are each alert's delay from its own publish (queueing included). \
One POST per alert: {posts} POSTs for {n}; with digests: {digest_posts}. Each delivery is also recorded in KV `notify-sent` before its ack (one KV put per alert), \
so a redelivery is not sent twice. The machine is shared and noisy: compare rows of one run.\n",
        n = args.burst
    );
    report::write(out_dir, "notify", &report, &notes)?;
    Ok(())
}

fn print(r: &Row) {
    println!(
        "{:<58} {:>9.0}/s  p50 {:>8.1} µs  p99 {:>9.1} µs  ({} alerts)",
        r.target, r.throughput_per_s, r.p50_us, r.p99_us, r.requests
    );
}
