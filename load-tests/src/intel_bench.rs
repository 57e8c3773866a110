//! The sentiment and orchestrator services.
//!
//! `sentiment`: headlines scored per second: the scorer alone in process (no
//! NATS), then `sentiment.score` with cache hits (the same text) and misses
//! (a new text every request), and `sentiment.batch` of 100 headlines (new
//! and cached), against a raw async-nats echo of the same reply.
//!
//! `predict`: `orchestrator.predict` p50/p99 on GOOG with every dependency
//! up (a raw responder stands in for `regime.get`), against the echo and one
//! `md.bars.get` of 300 bars (the biggest single step).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::Client;
use bytes::Bytes;
use futures::StreamExt;
use testkit::Platform;

use crate::report::{self, Machine, Report, Row};
use crate::request_reply::{measure, spawn_echo, wait_for_reply, Target};

#[derive(clap::Args, Debug)]
pub struct SentimentArgs {
    /// Measured requests per configuration.
    #[arg(long, default_value_t = 5_000)]
    requests: u64,
    #[arg(long, default_value_t = 500)]
    warmup: u64,
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Batches of 100 headlines measured.
    #[arg(long, default_value_t = 100)]
    batches: u64,
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// Measured predictions per in-flight count.
    #[arg(long, default_value_t = 300)]
    requests: u64,
    #[arg(long, default_value_t = 30)]
    warmup: u64,
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    in_flight: Vec<usize>,
}

fn headlines() -> Vec<String> {
    let path = testkit::paths::repo_root().join("testdata/finance_headlines.tsv");
    std::fs::read_to_string(path)
        .expect("testdata/finance_headlines.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('\t'))
        .map(|l| l.split_once('\t').unwrap().1.to_string())
        .collect()
}

fn score_body(text: &str) -> Bytes {
    serde_json::to_vec(&serde_json::json!({ "text": text }))
        .unwrap()
        .into()
}

/// `in_flight` workers sending `make(i)` for i in 0..total (a new body each time).
async fn measure_bodies(
    client: &Client,
    subject: &'static str,
    in_flight: usize,
    total: u64,
    make: impl Fn(u64) -> Bytes + Send + Sync + 'static,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, Duration)> {
    let issued = Arc::new(AtomicU64::new(0));
    let make = Arc::new(make);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (client, issued, make) = (client.clone(), issued.clone(), make.clone());
        workers.push(tokio::spawn(async move {
            let mut hist = report::histogram();
            loop {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t0 = Instant::now();
                let reply = client.request(subject, make(i)).await?;
                hist.record(t0.elapsed().as_nanos() as u64).ok();
                anyhow::ensure!(
                    reply.headers.is_none(),
                    "{subject}: {}",
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

fn with_baseline(mut row: Row, baseline: f64) -> Row {
    row.overhead_vs_baseline_pct = Some((1.0 - row.throughput_per_s / baseline) * 100.0);
    row
}

fn print_row(row: &Row) {
    println!(
        "{:<52} {:>3} in flight: {:>10.0}/s  p50 {:>9.1} µs  p99 {:>9.1} µs",
        row.target, row.in_flight, row.throughput_per_s, row.p50_us, row.p99_us
    );
}

pub async fn sentiment(args: SentimentArgs, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let texts = headlines();
    let mut rows = Vec::new();

    // The scorer alone: headlines per second on one core.
    let analyzer = sentiment_service::Analyzer::new();
    let n = 200_000u64;
    let mut hist = report::histogram();
    let started = Instant::now();
    for i in 0..n {
        let t0 = Instant::now();
        std::hint::black_box(analyzer.score(&texts[i as usize % texts.len()]));
        hist.record(t0.elapsed().as_nanos().max(1) as u64).ok();
    }
    let row = Row::new("scorer in process (no NATS)", 0, &hist, started.elapsed());
    print_row(&row);
    rows.push(row);

    let platform = Platform::builder()
        .service(bus::subjects::sentiment::SERVICE, 1, |c, s| {
            sentiment_service::run(Default::default(), c, s.wait())
        })
        .start()
        .await;
    let client = async_nats::connect(platform.url()).await?;
    let hit = score_body(&texts[0]);
    let answer = wait_for_reply(&client, "sentiment.score", hit.clone()).await?;
    let echo = spawn_echo(platform.url(), answer.payload.clone()).await?;

    let echo_target = Target {
        name: "raw async-nats echo (baseline)",
        subject: "bench.echo",
        headers: None,
        payload: hit.clone(),
    };
    measure(&client, &echo_target, args.in_flight, args.warmup).await?;
    let (hist, elapsed) = measure(&client, &echo_target, args.in_flight, args.requests).await?;
    let baseline = Row::new(echo_target.name, args.in_flight, &hist, elapsed);
    let base = baseline.throughput_per_s;
    print_row(&baseline);
    rows.push(baseline);

    let cached = Target {
        name: "sentiment.score, cache hit (same text)",
        subject: "sentiment.score",
        headers: None,
        payload: hit,
    };
    measure(&client, &cached, args.in_flight, args.warmup).await?;
    let (hist, elapsed) = measure(&client, &cached, args.in_flight, args.requests).await?;
    let row = with_baseline(Row::new(cached.name, args.in_flight, &hist, elapsed), base);
    print_row(&row);
    rows.push(row);

    let t = texts.clone();
    let (hist, elapsed) = measure_bodies(
        &client,
        "sentiment.score",
        args.in_flight,
        args.requests,
        move |i| score_body(&format!("{} #{i}", t[i as usize % t.len()])),
    )
    .await?;
    let row = with_baseline(
        Row::new(
            "sentiment.score, cache miss (new text: score + KV put)",
            args.in_flight,
            &hist,
            elapsed,
        ),
        base,
    );
    print_row(&row);
    rows.push(row);

    // Batches of 100: throughput in headlines per second.
    let batch_of = |tag: &str, k: u64| -> Bytes {
        let texts: Vec<String> = (0..100)
            .map(|j| format!("{} {tag}{k}", texts[j % texts.len()]))
            .collect();
        serde_json::to_vec(&serde_json::json!({ "texts": texts }))
            .unwrap()
            .into()
    };
    let fresh: Vec<Bytes> = (0..args.batches).map(|k| batch_of("b", k)).collect();
    let fresh = Arc::new(fresh);
    let f = fresh.clone();
    let (hist, elapsed) = measure_bodies(&client, "sentiment.batch", 4, args.batches, move |i| {
        f[i as usize].clone()
    })
    .await?;
    let mut row = Row::new(
        "sentiment.batch of 100, new texts (headlines/s)",
        4,
        &hist,
        elapsed,
    );
    row.throughput_per_s *= 100.0;
    let row = with_baseline(row, base);
    print_row(&row);
    rows.push(row);
    // The same batches again: every headline a cache hit.
    let f = fresh.clone();
    let (hist, elapsed) = measure_bodies(&client, "sentiment.batch", 4, args.batches, move |i| {
        f[i as usize].clone()
    })
    .await?;
    let mut row = Row::new(
        "sentiment.batch of 100, cached (headlines/s)",
        4,
        &hist,
        elapsed,
    );
    row.throughput_per_s *= 100.0;
    let row = with_baseline(row, base);
    print_row(&row);
    rows.push(row);
    echo.stop().await?;

    let parameters = serde_json::json!({
        "requests": args.requests,
        "warmup": args.warmup,
        "in_flight": args.in_flight,
        "batches": args.batches,
        "batch_size": 100,
        "texts": "testdata/finance_headlines.tsv (40 headlines; misses append a counter)",
        "server": "private nats-server, loopback, JetStream on (KV sentiment-cache, file storage)",
    });
    let report = Report {
        benchmark: "sentiment",
        description: "Headlines scored per second: the VADER + finance scorer in process, sentiment.score (cache hit / miss) and sentiment.batch of 100 (new / cached) against a raw async-nats echo of the same reply.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let notes = "The batch rows' req/s column is headlines per second (100 per request); their latency is per batch. \
A miss costs a KV get, the scoring and a KV put (acknowledged by JetStream); a hit costs the KV get. \
The machine is shared and noisy: compare rows of one run.\n";
    report::write(out_dir, "sentiment", &report, notes)?;
    Ok(())
}

/// Answers `regime.get` like a regime service would (`{"symbol","label"}`).
async fn regime_stand_in(url: &str) -> anyhow::Result<testkit::ServiceHandle<anyhow::Error>> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let handle = testkit::spawn_connected(url, move |client, shutdown| async move {
        let mut sub = client.queue_subscribe("regime.get", "q".into()).await?;
        client.flush().await?;
        let _ = ready_tx.send(());
        let reply: Bytes = br#"{"symbol":"GOOG","label":"ranging"}"#.to_vec().into();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                msg = sub.next() => match msg {
                    Some(msg) => if let Some(to) = msg.reply {
                        let _ = client.publish(to, reply.clone()).await;
                    },
                    None => break,
                },
            }
        }
        Ok(())
    });
    ready_rx.await?;
    Ok(handle)
}

pub async fn predict(args: PredictArgs, out_dir: &std::path::Path) -> anyhow::Result<()> {
    use bus::subjects;
    let data = tempfile::tempdir()?;
    let dir = data.path().to_path_buf();
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(Default::default(), c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            strategy_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_service::Config::new(dir.clone()), c, s.wait())
        })
        .service(subjects::sentiment::SERVICE, 1, |c, s| {
            sentiment_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::orchestrator::SERVICE, 1, |c, s| {
            orchestrator_service::run(Default::default(), c, s.wait())
        })
        .import_goog()
        .start()
        .await;
    let client = async_nats::connect(platform.url()).await?;
    let regime = regime_stand_in(platform.url()).await?;
    let open = wait_for_reply(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        br#"{"account":"bench","cash":"1000000"}"#.to_vec().into(),
    )
    .await?;
    anyhow::ensure!(open.headers.is_none(), "account.open failed");
    let body: Bytes = br#"{"symbol":"GOOG","account":"bench","qty":"10"}"#.to_vec().into();
    let answer = wait_for_reply(&client, subjects::orchestrator::PREDICT, body.clone()).await?;
    let first: serde_json::Value = serde_json::from_slice(&answer.payload)?;
    anyhow::ensure!(
        first["missing"].as_array().is_some_and(|m| m.is_empty()),
        "a partial prediction: {first}"
    );
    let echo = spawn_echo(platform.url(), answer.payload.clone()).await?;
    let bars = serde_json::json!({"symbol": "GOOG", "from": first["steps"][0]["result"]["first_ts"], "limit": 300});
    let targets = [
        Target {
            name: "raw async-nats echo of the answer (baseline)",
            subject: "bench.echo",
            headers: None,
            payload: body.clone(),
        },
        Target {
            name: "md.bars.get, 300 bars (one step)",
            subject: subjects::md::BARS_GET,
            headers: None,
            payload: serde_json::to_vec(&bars)?.into(),
        },
        Target {
            name: "orchestrator.predict (7 steps, every dependency up)",
            subject: subjects::orchestrator::PREDICT,
            headers: None,
            payload: body,
        },
    ];
    let mut rows = Vec::new();
    for &in_flight in &args.in_flight {
        let mut baseline = None;
        for target in &targets {
            measure(&client, target, in_flight, args.warmup).await?;
            let (hist, elapsed) = measure(&client, target, in_flight, args.requests).await?;
            let row = Row::new(target.name, in_flight, &hist, elapsed);
            let row = match baseline {
                None => {
                    baseline = Some(row.throughput_per_s);
                    row
                }
                Some(b) => with_baseline(row, b),
            };
            print_row(&row);
            rows.push(row);
        }
    }
    echo.stop().await?;
    regime.stop().await?;
    let steps: Vec<serde_json::Value> = first["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| serde_json::json!({"name": s["name"], "status": s["status"], "elapsed_ms": s["elapsed_ms"]}))
                .collect()
        })
        .unwrap_or_default();
    let parameters = serde_json::json!({
        "requests": args.requests,
        "warmup": args.warmup,
        "in_flight": args.in_flight,
        "request": "{\"symbol\":\"GOOG\",\"account\":\"bench\",\"qty\":\"10\"}",
        "first_prediction_steps": steps,
        "services": "market-data, strategy, risk, portfolio, sentiment, orchestrator (each its own runtime and connection), a raw regime.get responder",
        "server": "private nats-server, loopback, JetStream on; GOOG's 2,148 daily bars imported",
    });
    let report = Report {
        benchmark: "orchestrator-predict",
        description: "orchestrator.predict latency on GOOG (bars, quote, indicators, sentiment, regime concurrently, then strategy and risk) against a raw echo of the same answer and one md.bars.get of 300 bars.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let notes = "One prediction is md.symbols.list + md.bars.get (300 bars), md.quote.get, sentiment.symbol.get and regime.get at once, then two ind.compute (each reads the bars from market-data again) and the strategy run in process, then risk.check. \
The machine is shared and noisy: compare rows of one run.\n";
    report::write(out_dir, "orchestrator_predict", &report, notes)?;
    Ok(())
}
