//! `risk.check`: throughput and latency through the risk service against a raw
//! async-nats responder that answers with the same bytes, at 1, 16 and 64
//! requests in flight (closed loop) and at a fixed rate (open loop: requests are
//! sent on schedule whether or not earlier ones were answered, and latency
//! counts from the scheduled send, so a stall is not hidden). Then a second risk
//! instance joins and the closed loop runs again: about half the checks now
//! reach the instance that does not own the account and are forwarded to the
//! one that does.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::Client;
use bytes::Bytes;
use rust_decimal_macros::dec;
use testkit::Platform;
use trading::event::{AccountOpened, OrderEvent};

use crate::report::{self, Machine, Report, Row};
use crate::request_reply::{measure, spawn_echo, wait_for_reply, Target};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Measured requests per closed-loop configuration.
    #[arg(long, default_value_t = 20_000)]
    pub(crate) requests: u64,
    #[arg(long, default_value_t = 2_000)]
    pub(crate) warmup: u64,
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub(crate) in_flight: Vec<usize>,
    /// Fixed rate of the open-loop run, requests per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Length of the open-loop run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Only the metrics cost: risk.check with metrics recording off and on,
    /// in alternating rounds of the same run (in flight: the last of
    /// --in-flight, 64 by default).
    #[arg(long)]
    metrics_ab: bool,
    /// Only the telemetry cost: risk.check with metrics AND tracing (request
    /// spans, logs, OTLP export to a local receiver, `traceparent` sent) off
    /// and on, alternating rounds of the same run.
    #[arg(long)]
    pub(crate) telemetry_ab: bool,
    /// Share of traces --telemetry-ab exports over OTLP (what
    /// OTEL_TRACES_SAMPLER_ARG sets in the binaries).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) sample_ratio: f64,
    /// Rounds of each case in --metrics-ab / --telemetry-ab.
    #[arg(long, default_value_t = 5)]
    pub(crate) rounds: usize,
}

pub(crate) const CHECK: &str =
    r#"{"account":"bench","symbol":"GOOG","side":"buy","qty":"10","price":"100"}"#;

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    if args.metrics_ab {
        return metrics_ab(args, out_dir).await;
    }
    if args.telemetry_ab {
        return crate::telemetry_ab::run(args, out_dir).await;
    }
    let Bench {
        platform,
        client,
        js,
        limits,
        answer,
    } = start_bench().await?;
    let echo = spawn_echo(platform.url(), answer.payload.clone()).await?;

    let targets = [
        Target {
            name: "raw async-nats echo (baseline)",
            subject: "bench.echo",
            headers: None,
            payload: CHECK.into(),
        },
        Target {
            name: "risk.check",
            subject: "risk.check",
            headers: None,
            payload: CHECK.into(),
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
            print_row(&row);
            rows.push(row);
        }
    }
    let mut open_loop = Vec::new();
    for target in &targets {
        let (hist, elapsed, errors) = fixed_rate(&client, target, args.rate, args.seconds).await?;
        let mut row = Row::new(
            &format!("{} @ {} req/s", target.name, args.rate),
            0,
            &hist,
            elapsed,
        );
        row.throughput_per_s = hist.len() as f64 / elapsed.as_secs_f64();
        println!(
            "{:<44} open loop: {} answered, {} errors, p50 {:.1} µs, p99 {:.1} µs",
            row.target,
            hist.len(),
            errors,
            row.p50_us,
            row.p99_us
        );
        open_loop.push(row);
    }
    rows.extend(open_loop);

    // Scale-out: a second instance (own connection), once the partitions are
    // spread over both.
    let second = platform
        .add(bus::subjects::risk::SERVICE, |client, shutdown| {
            risk_service::run(risk_service::Config::default(), client, shutdown.wait())
        })
        .await;
    spread_over(&js, 2).await?;
    let two = Target {
        name: "risk.check, 2 instances",
        subject: "risk.check",
        headers: None,
        payload: CHECK.into(),
    };
    let mut scale_out = Vec::new();
    for &in_flight in &args.in_flight {
        measure(&client, &two, in_flight, args.warmup).await?;
        let (hist, elapsed) = measure(&client, &two, in_flight, args.requests).await?;
        let mut row = Row::new(two.name, in_flight, &hist, elapsed);
        if let Some(echo) = rows
            .iter()
            .find(|r| r.in_flight == in_flight && r.overhead_vs_baseline_pct.is_none())
        {
            row.overhead_vs_baseline_pct =
                Some((1.0 - row.throughput_per_s / echo.throughput_per_s) * 100.0);
        }
        print_row(&row);
        scale_out.push(row);
    }
    rows.extend(scale_out);
    echo.stop().await?;
    for instance in [second, platform.instance(bus::subjects::risk::SERVICE, 0)] {
        instance
            .stop()
            .await
            .map_err(|e| anyhow::anyhow!("risk: {e}"))?;
    }

    let parameters = serde_json::json!({
        "requests": args.requests,
        "warmup": args.warmup,
        "in_flight": args.in_flight,
        "open_loop_rate_per_s": args.rate,
        "open_loop_seconds": args.seconds,
        "request": CHECK,
        "reply_bytes": answer.payload.len(),
        "limits": limits["limits"],
        "server": "private nats-server, loopback, JetStream on",
        "process": "load generator, echo responder and risk in one process",
        "scale_out": "rows `risk.check, 2 instances`: a second risk instance in the queue group; checks reaching the non-owner of the account are forwarded to the owner (risk.internal.check.<partition>)",
    });
    let report = Report {
        benchmark: "risk-check",
        description: "risk.check through the risk micro service (every limit set) against a raw async-nats echo of the same reply, same server and run; closed loop at 1/16/64 in flight, then open loop at a fixed rate, then closed loop again with two risk instances.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let notes = "Closed-loop rows: in_flight requests outstanding at all times; overhead vs the echo at the same in-flight count. \
Open-loop rows (in_flight 0): requests sent on a fixed schedule, latency measured from the scheduled send time (no coordinated omission). \
The machine is shared and noisy: compare rows of one run.\n";
    report::write(out_dir, "risk_check", &report, notes)?;
    Ok(())
}

/// A risk service on its own server, the bench account open with every
/// limit set, and one check answered.
pub(crate) struct Bench {
    pub(crate) platform: Platform,
    pub(crate) client: Client,
    js: async_nats::jetstream::Context,
    limits: serde_json::Value,
    answer: async_nats::Message,
}

pub(crate) async fn start_bench() -> anyhow::Result<Bench> {
    let platform = Platform::builder()
        .service(bus::subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .start()
        .await;
    let client = async_nats::connect(platform.url()).await?;
    let js = async_nats::jetstream::new(client.clone());
    bus::events::publish_order_event(
        &js,
        &OrderEvent::AccountOpened(AccountOpened {
            account: "bench".into(),
            cash: dec!(1000000),
        }),
        "bench",
        "load-tests",
    )
    .await
    .context("open the account")?;
    // Every limit set, so the check does all its work.
    let limits = serde_json::json!({"account": "bench", "limits": {
        "max_order_qty": "1000", "max_order_notional": "1000000", "max_position": "100000",
        "max_gross_exposure": "100000000", "max_open_orders": 1000,
        "daily_loss_limit": "100000", "allowed_symbols": ["GOOG", "MSFT"]}});
    let reply = wait_for_reply(
        &client,
        "risk.limits.set",
        serde_json::to_vec(&limits)?.into(),
    )
    .await?;
    anyhow::ensure!(reply.headers.is_none(), "limits.set failed");
    let answer = wait_for_reply(&client, "risk.check", CHECK.into()).await?;
    anyhow::ensure!(
        answer.headers.is_none(),
        "risk.check failed: {}",
        String::from_utf8_lossy(&answer.payload)
    );
    Ok(Bench {
        platform,
        client,
        js,
        limits,
        answer,
    })
}

pub(crate) fn print_row(row: &Row) {
    println!(
        "{:<32} in_flight={:<3} {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs{}",
        row.target,
        row.in_flight,
        row.throughput_per_s,
        row.p50_us,
        row.p99_us,
        row.overhead_vs_baseline_pct
            .map(|o| format!("  overhead {o:.1} %"))
            .unwrap_or_default()
    );
}

/// Sends `rate` requests per second for `seconds`, each at its scheduled time
/// (in 1 ms batches), and records latency from that time.
async fn fixed_rate(
    client: &Client,
    target: &Target,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, Duration, u64)> {
    let total = rate * seconds;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<u64, ()>>();
    let start = Instant::now();
    let per_ms = rate as f64 / 1000.0;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while sent < total {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * 1000.0 + 1.0) * per_ms) as u64;
        while sent < due.min(total) {
            let scheduled = start + Duration::from_secs_f64(sent as f64 / rate as f64);
            let client = client.clone();
            let subject = target.subject;
            let payload: Bytes = target.payload.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let r = client.request(subject, payload).await;
                let ok = matches!(&r, Ok(m) if m.headers.is_none());
                let _ = tx.send(if ok {
                    Ok(scheduled.elapsed().as_nanos() as u64)
                } else {
                    Err(())
                });
            });
            sent += 1;
        }
    }
    drop(tx);
    let mut hist = report::histogram();
    let mut errors = 0;
    while let Some(r) = rx.recv().await {
        match r {
            Ok(ns) => {
                hist.record(ns.max(1)).ok();
            }
            Err(()) => errors += 1,
        }
    }
    Ok((hist, start.elapsed(), errors))
}

/// Waits until every account partition has an owner and `instances` instances
/// hold them evenly.
async fn spread_over(js: &async_nats::jetstream::Context, instances: usize) -> anyhow::Result<()> {
    let partitions = risk_service::Config::default().partitions;
    let kv = js
        .get_key_value(bus::subjects::buckets::RISK_LEASES)
        .await
        .context("risk leases bucket")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut per = std::collections::HashMap::<String, usize>::new();
        let mut all = true;
        for p in 0..partitions {
            let key = format!("lease.{}", bus::subjects::risk::partition_lease(p));
            match kv.get(key).await.ok().flatten() {
                Some(holder) => {
                    *per.entry(String::from_utf8_lossy(&holder).into_owned())
                        .or_default() += 1
                }
                None => all = false,
            }
        }
        let even = usize::from(partitions).div_ceil(instances);
        if all && per.len() == instances && per.values().all(|n| *n == even) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "risk partitions not spread over {instances} instances"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Metrics off vs on, same run: one risk service started before the
/// Prometheus recorder is installed (its handles are no-ops, as in a binary
/// without `--metrics-addr`), one after (every request counted and timed).
/// Rounds alternate off/on so drift of the shared machine hits both alike;
/// the cost is the median of each case.
async fn metrics_ab(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let in_flight = args.in_flight.last().copied().unwrap_or(64);
    let off = start_bench().await?;
    bus::metrics::install();
    let on = start_bench().await?;
    let target = Target {
        name: "risk.check",
        subject: "risk.check",
        headers: None,
        payload: CHECK.into(),
    };
    for bench in [&off, &on] {
        measure(&bench.client, &target, in_flight, args.warmup).await?;
    }
    let mut rows = Vec::new();
    let (mut off_tp, mut on_tp) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        for (case, bench) in [("metrics off", &off), ("metrics on", &on)] {
            let (hist, elapsed) = measure(&bench.client, &target, in_flight, args.requests).await?;
            let row = Row::new(
                &format!("risk.check, {case}, round {}", round + 1),
                in_flight,
                &hist,
                elapsed,
            );
            print_row(&row);
            if case == "metrics off" {
                off_tp.push(row.throughput_per_s)
            } else {
                on_tp.push(row.throughput_per_s)
            }
            rows.push(row);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (off_median, on_median) = (median(&mut off_tp), median(&mut on_tp));
    let cost_pct = (1.0 - on_median / off_median) * 100.0;
    // The recording side really counted: every request of the "on" service.
    let text = bus::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    let counted = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"trader_requests_total{service="risk",endpoint="risk.check"} "#)
        })
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    // (Plus the set-up's first check.)
    let expected = args.warmup + args.requests * args.rounds as u64;
    anyhow::ensure!(
        counted > expected,
        "metrics on counted {counted}, sent {expected} + 1"
    );
    println!(
        "metrics cost at {in_flight} in flight: median {off_median:.0} req/s off, {on_median:.0} req/s on: {cost_pct:.1} % ({counted} requests counted)"
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
        "metrics_cost_pct": cost_pct,
        "counted_by_metrics": counted,
        "server": "two private nats-servers (one per case), loopback, JetStream on",
        "process": "load generator and both risk services in one process",
    });
    let report = Report {
        benchmark: "risk-check-metrics",
        description: "risk.check with Prometheus metrics recording off (handles registered before the recorder: no-ops) and on, alternating rounds in one run.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters,
        rows: &rows,
    };
    let notes = format!(
        "Metrics cost at {in_flight} in flight: median throughput {off_median:.0} req/s off, {on_median:.0} req/s on, {cost_pct:.1} %. \
The machine is shared and noisy: compare rounds of one run.\n"
    );
    report::write(out_dir, "risk_check_metrics", &report, &notes)?;
    Ok(())
}
