//! Bar → position: from a bar published into MARKET to the `PORTFOLIO_UPDATE`
//! that shows the position its fill made, with market-data, risk, execution
//! and portfolio running. Each round places a market order (not timed), then
//! publishes the next bar and times until the update with that fill arrives.
//! The path: MARKET → paper exchange → fill into ORDERS (publish ack) →
//! portfolio's durable consumer → sled → ack → PORTFOLIO_UPDATE (publish ack)
//! → the subscriber. Baseline in the same run: one raw JetStream hop (publish
//! into a stream, an ordered consumer receives it), and three in a row.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::Client;
use bus::api::portfolio::PortfolioUpdate;
use bus::subjects;
use futures::StreamExt;
use model::{Bar, Event, Symbol, Timeframe, UnixNanos};
use rust_decimal_macros::dec;
use testkit::Platform;

use crate::report::{self, Machine, Report, Row};
use crate::request_reply::{stop, wait_for_reply};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Measured rounds.
    #[arg(long, default_value_t = 500)]
    rounds: usize,
    #[arg(long, default_value_t = 50)]
    warmup: usize,
}

/// Bar `i` of a 1-minute series (also used by `cluster_orders`).
pub(crate) fn bar(symbol: &Symbol, i: usize) -> Bar {
    let p = dec!(100) + rust_decimal::Decimal::from(i % 7);
    Bar {
        symbol: symbol.clone(),
        timeframe: Timeframe::from_seconds(60).expect("1m"),
        ts: UnixNanos(1_700_000_000_000_000_000 + i as i64 * 60_000_000_000),
        open: p,
        high: p + dec!(1),
        low: p - dec!(1),
        close: p,
        volume: dec!(1000000),
    }
}

pub(crate) async fn publish_bar(
    js: &async_nats::jetstream::Context,
    b: &Bar,
) -> anyhow::Result<()> {
    let id = bus::subjects::bar_msg_id(&b.symbol, b.timeframe, b.ts);
    bus::events::publish(
        js,
        bus::subjects::bar(&b.symbol, b.timeframe),
        &id,
        model::event::types::MARKET_DATA_UPDATE,
        &id,
        "load-tests",
        b,
        None,
    )
    .await?;
    Ok(())
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let data = tempfile_dir()?;
    let mut exec_config = execution_service::Config::default();
    exec_config.exchange.fill_on_quotes = false;
    exec_config.paper_signals = false;
    let portfolio_config = portfolio_service::Config::new(data.clone());
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, move |c, s| {
            execution_service::run(exec_config.clone(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_config.clone(), c, s.wait())
        })
        .start()
        .await;
    let url = platform.url().to_string();

    let client = async_nats::connect(&url).await?;
    let js = async_nats::jetstream::new(client.clone());
    let symbol = Symbol::new("BENCH")?;
    let open = wait_for_reply(
        &client,
        "portfolio.account.open",
        r#"{"account":"bench","cash":"100000000"}"#.into(),
    )
    .await?;
    anyhow::ensure!(open.headers.is_none(), "account open failed");
    publish_bar(&js, &bar(&symbol, 0)).await?;

    let mut updates = client.subscribe("evt.portfolio.bench").await?;
    let total = args.warmup + args.rounds;
    let mut hist = report::histogram();
    let started = Instant::now();
    for i in 1..=total {
        let side = if i % 2 == 1 { "buy" } else { "sell" };
        let order = serde_json::json!({"client_order_id": format!("b{i}"), "account": "bench",
            "symbol": "BENCH", "side": side, "type": "market", "qty": "1"});
        let reply =
            wait_for_reply(&client, "orders.submit", serde_json::to_vec(&order)?.into()).await?;
        anyhow::ensure!(
            reply.headers.is_none(),
            "submit failed: {}",
            String::from_utf8_lossy(&reply.payload)
        );
        let t0 = Instant::now();
        publish_bar(&js, &bar(&symbol, i)).await?;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), updates.next())
                .await?
                .ok_or_else(|| anyhow::anyhow!("updates ended"))?;
            let u: Event<PortfolioUpdate> = serde_json::from_slice(&m.payload)?;
            if u.data.summary.fills >= i as u64 {
                break;
            }
        }
        if i > args.warmup {
            hist.record(t0.elapsed().as_nanos() as u64).ok();
        }
    }
    let elapsed = started.elapsed();
    let row = Row::new(
        "bar → position (PORTFOLIO_UPDATE with the fill)",
        1,
        &hist,
        elapsed,
    );
    print(&row);

    let (one, three) = raw_hops(&client, args.rounds).await?;
    let mut rows = vec![row];
    let r1 = Row::new(
        "raw JetStream hop: publish → ordered consumer",
        1,
        &one,
        elapsed,
    );
    let r3 = Row::new("raw JetStream, 3 hops in a row", 1, &three, elapsed);
    print(&r1);
    print(&r3);
    rows.push(r1);
    rows.push(r3);
    for r in rows.iter_mut() {
        r.throughput_per_s = 0.0;
        r.seconds = 0.0;
    }

    for name in [
        subjects::portfolio::SERVICE,
        subjects::execution::SERVICE,
        subjects::risk::SERVICE,
        subjects::md::SERVICE,
    ] {
        stop(&platform, name).await?;
    }
    let _ = std::fs::remove_dir_all(&data);

    let report = Report {
        benchmark: "bar-to-position",
        description: "Latency from a bar published into MARKET to the PORTFOLIO_UPDATE showing the fill it caused (market order working at the paper exchange; risk, execution, portfolio, market-data running), beside raw JetStream publish → consume hops in the same run.",
        date: report::now_rfc3339(),
        machine: Machine::here(),
        parameters: serde_json::json!({
            "rounds": args.rounds,
            "warmup": args.warmup,
            "server": "private nats-server, loopback, default config (no sync_interval: always)",
            "process": "all services and the load generator in one process",
        }),
        rows: &rows,
    };
    let notes = "One round at a time (sequential), so the latency is the pipeline's, not a queue's. \
The path has three JetStream publishes with acks (bar, fill, portfolio update) and a sled write; the raw rows show what the hops alone cost. \
The machine is shared and noisy: compare rows of one run.\n";
    report::write(out_dir, "bar_to_position", &report, notes)?;
    Ok(())
}

fn print(r: &Row) {
    println!(
        "{:<52} p50 {:>8.1} µs  p90 {:>8.1} µs  p99 {:>8.1} µs  ({} rounds)",
        r.target, r.p50_us, r.p90_us, r.p99_us, r.requests
    );
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("bar-to-position-{}", model::ids::new_id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Raw hops: publish with ack into a stream, an ordered consumer receives it;
/// and three such hops chained.
async fn raw_hops(
    client: &Client,
    rounds: usize,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, hdrhistogram::Histogram<u64>)> {
    let js = async_nats::jetstream::new(client.clone());
    let stream = js
        .create_stream(async_nats::jetstream::stream::Config {
            name: "HOPS".into(),
            subjects: vec!["hop.>".into()],
            ..Default::default()
        })
        .await?;
    let mut receivers = Vec::new();
    for n in 0..3 {
        let c = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: format!("hop.{n}"),
                deliver_policy: DeliverPolicy::New,
                ..Default::default()
            })
            .await?;
        receivers.push(c.messages().await?);
    }
    let payload = bytes::Bytes::from(vec![b'x'; 300]);
    let mut one = report::histogram();
    let mut three = report::histogram();
    for _ in 0..rounds {
        let t0 = Instant::now();
        for (n, receiver) in receivers.iter_mut().enumerate() {
            js.publish(format!("hop.{n}"), payload.clone())
                .await?
                .await?;
            receiver
                .next()
                .await
                .ok_or_else(|| anyhow::anyhow!("hop ended"))??;
            if n == 0 {
                one.record(t0.elapsed().as_nanos() as u64).ok();
            }
        }
        three.record(t0.elapsed().as_nanos() as u64).ok();
    }
    Ok((one, three))
}
