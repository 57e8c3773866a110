//! Order submit → fill on one node (R1) and on a 3-node cluster (R3), both
//! with `sync_interval: always` as the shipped configs, in the same run.
//! Each round: `orders.submit` of a market order (answered once the accepted
//! decision is stored), then the next bar into MARKET, until the fill event
//! arrives on `evt.fill.<account>.>`. Baseline: a raw JetStream publish with
//! ack into a stream of the same replication, on the same servers.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::StreamExt;
use model::Symbol;
use testkit::Platform;

use crate::bar_to_position::{bar, publish_bar};
use crate::report::{self, Machine, Report, Row};
use crate::request_reply::wait_for_reply;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Measured rounds per topology.
    #[arg(long, default_value_t = 300)]
    rounds: usize,
    #[arg(long, default_value_t = 30)]
    warmup: usize,
}

async fn platform(
    replicas: usize,
    sync_conf: &std::path::Path,
    data: &std::path::Path,
) -> Platform {
    let stream = bus::jetstream::StreamSettings {
        replicas,
        max_bytes: 256 * 1024 * 1024,
        ..Default::default()
    };
    let mut builder = Platform::builder().server_config(sync_conf);
    if replicas > 1 {
        builder = builder.cluster(replicas);
    }
    let (s1, s2, s3, s4) = (stream.clone(), stream.clone(), stream.clone(), stream);
    let data = data.to_path_buf();
    builder
        .service(bus::subjects::md::SERVICE, 1, move |c, s| {
            let config = market_data::Config {
                stream: s1.clone(),
                ..Default::default()
            };
            market_data::run(config, c, s.wait())
        })
        .service(bus::subjects::risk::SERVICE, 1, move |c, s| {
            let config = risk_service::Config {
                stream: s2.clone(),
                ..Default::default()
            };
            risk_service::run(config, c, s.wait())
        })
        .service(bus::subjects::execution::SERVICE, 1, move |c, s| {
            let mut config = execution_service::Config {
                stream: s3.clone(),
                paper_signals: false,
                ..Default::default()
            };
            config.exchange.fill_on_quotes = false;
            execution_service::run(config, c, s.wait())
        })
        .service(bus::subjects::portfolio::SERVICE, 1, move |c, s| {
            let mut config = portfolio_service::Config::new(data.clone());
            config.stream = s4.clone();
            portfolio_service::run(config, c, s.wait())
        })
        .start()
        .await
}

/// Submit → fill rounds on one platform; then the raw publish baseline.
async fn measure(
    label: &str,
    replicas: usize,
    args: &Args,
    sync_conf: &std::path::Path,
) -> anyhow::Result<Vec<Row>> {
    let data = tempfile::tempdir()?;
    let platform = platform(replicas, sync_conf, data.path()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let open = wait_for_reply(
        &client,
        "portfolio.account.open",
        r#"{"account":"bench","cash":"100000000"}"#.into(),
    )
    .await?;
    anyhow::ensure!(open.headers.is_none(), "account open failed");
    let symbol = Symbol::new("BENCH")?;
    publish_bar(&js, &bar(&symbol, 0)).await?;
    let mut fills = client.subscribe("evt.fill.bench.>").await?;

    let total = args.warmup + args.rounds;
    let mut hist = report::histogram();
    let mut submit_hist = report::histogram();
    let mut measured = Duration::ZERO;
    for i in 1..=total {
        let side = if i % 2 == 1 { "buy" } else { "sell" };
        let order = serde_json::json!({"client_order_id": format!("c{i}"), "account": "bench",
            "symbol": "BENCH", "side": side, "type": "market", "qty": "1"});
        let t0 = Instant::now();
        let reply =
            wait_for_reply(&client, "orders.submit", serde_json::to_vec(&order)?.into()).await?;
        anyhow::ensure!(
            reply.headers.is_none(),
            "submit failed: {}",
            String::from_utf8_lossy(&reply.payload)
        );
        let submitted = t0.elapsed();
        publish_bar(&js, &bar(&symbol, i)).await?;
        tokio::time::timeout(Duration::from_secs(10), fills.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("fills ended"))?;
        if i > args.warmup {
            let elapsed = t0.elapsed();
            measured += elapsed;
            hist.record(elapsed.as_nanos() as u64).ok();
            submit_hist.record(submitted.as_nanos() as u64).ok();
        }
    }
    let mut rows = vec![
        Row::new(
            &format!("{label}: orders.submit → fill event"),
            1,
            &hist,
            measured,
        ),
        Row::new(
            &format!("{label}: orders.submit answered (decision stored)"),
            1,
            &submit_hist,
            measured,
        ),
    ];

    // Baseline: a raw publish with ack, same replication, same servers.
    js.create_stream(jetstream::stream::Config {
        name: "RAWBENCH".into(),
        subjects: vec!["rawbench.>".into()],
        num_replicas: replicas,
        ..Default::default()
    })
    .await?;
    let mut raw = report::histogram();
    let started = Instant::now();
    for _ in 0..args.rounds {
        let t0 = Instant::now();
        js.publish("rawbench.x", bytes::Bytes::from_static(&[b'x'; 300]))
            .await?
            .await?;
        raw.record(t0.elapsed().as_nanos() as u64).ok();
    }
    rows.push(Row::new(
        &format!("{label}: raw JetStream publish + ack"),
        1,
        &raw,
        started.elapsed(),
    ));
    for r in &rows {
        println!(
            "{:<58} p50 {:>8.1} µs  p99 {:>8.1} µs  {:>8.1}/s",
            r.target, r.p50_us, r.p99_us, r.throughput_per_s
        );
    }
    drop(platform);
    Ok(rows)
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let conf = tempfile::NamedTempFile::new()?;
    std::fs::write(conf.path(), "jetstream { sync_interval: always }\n")?;
    let mut rows = measure("1 node, R1", 1, &args, conf.path()).await?;
    rows.extend(measure("3-node cluster, R3", 3, &args, conf.path()).await?);
    let report = Report {
        benchmark: "cluster-orders",
        description: "Order submit → fill (market order, next bar, fill event) with market-data, risk, execution and portfolio, on one node with R1 streams and on a 3-node cluster with R3 streams, sync_interval: always on every node; beside a raw JetStream publish + ack of the same replication.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters: serde_json::json!({
            "rounds": args.rounds,
            "warmup": args.warmup,
            "servers": "private nats-servers on loopback, one machine, sync_interval: always",
            "process": "all services and the load generator in one process; sequential rounds (orders/s = 1 / latency)",
        }),
        rows: &rows,
    };
    let notes = "Sequential rounds: the latency is the path's, orders/s is its inverse. A round is three stored writes in a row on the critical path (the accepted decision, the bar, the fill), each fsynced, on R3 by a quorum of two nodes. \
All three cluster nodes share this machine's two cores and one disk, so R3 here pays replication without the parallelism three machines would give.\n";
    report::write(out_dir, "cluster_orders", &report, notes)?;
    Ok(())
}
