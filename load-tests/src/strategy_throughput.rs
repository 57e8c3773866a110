//! Strategy service throughput, MARKET → SIGNALS, against raw JetStream in the
//! same run and on the same server:
//! - raw async publish of the bars into MARKET (what market-data does);
//! - raw durable pull consume of them with an explicit ack each (the floor of
//!   what any consumer of MARKET can do);
//! - the strategy service running `sma_cross` over them: first bar to last bar
//!   processed (its consumer's ack floor reaching the end), signals stored.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use futures::StreamExt;
use market_data::simulator::{Simulator, SimulatorConfig};
use model::{Symbol, UnixNanos};
use serde::Serialize;
use testkit::Platform;

use crate::report::{self, Machine};
use crate::request_reply::stop;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bars to push through.
    #[arg(long, default_value_t = 50_000)]
    bars: usize,
}

#[derive(Serialize)]
struct Row {
    stage: String,
    messages: usize,
    seconds: f64,
    per_second: f64,
}

fn row(stage: &str, messages: usize, elapsed: Duration) -> Row {
    let r = Row {
        stage: stage.to_string(),
        messages,
        seconds: elapsed.as_secs_f64(),
        per_second: messages as f64 / elapsed.as_secs_f64(),
    };
    println!(
        "{:<48} {:>9} msgs {:>10.0} /s",
        r.stage, r.messages, r.per_second
    );
    r
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let platform = Platform::builder().start().await;
    let client = async_nats::connect(platform.url()).await?;
    let js = async_nats::jetstream::new(client.clone());
    let settings = bus::jetstream::StreamSettings::default();
    let market =
        bus::jetstream::ensure_stream(&js, bus::jetstream::market_stream(&settings)).await?;

    // Bars from the seeded simulator, one symbol, 1-minute bars.
    let symbol = Symbol::new("BENCH")?;
    let mut sim = Simulator::new(
        SimulatorConfig {
            symbols: vec![symbol.clone()],
            interval: Duration::from_secs(60),
            ticks_per_bar: 4,
            volatility: 0.9,
            ..Default::default()
        },
        |_| None,
    )?;
    let bars: Vec<model::Bar> = (0..args.bars as i64)
        .map(|i| {
            sim.step(UnixNanos(1_700_000_000_000_000_000 + i * 60_000_000_000))
                .remove(0)
                .bar
        })
        .collect();

    let mut rows = Vec::new();
    let started = Instant::now();
    let mut acks = Vec::with_capacity(1024);
    for bar in &bars {
        acks.push(market_data::publisher::publish_bar(&js, bar, "bench").await?);
        if acks.len() == 1024 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for a in acks.drain(..) {
        a.await?;
    }
    rows.push(row(
        "raw JetStream async publish into MARKET",
        bars.len(),
        started.elapsed(),
    ));

    let consumer = market
        .create_consumer(pull::Config {
            durable_name: Some("bench-raw".into()),
            filter_subject: bus::subjects::bar(&symbol, bars[0].timeframe),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            max_ack_pending: 1_000,
            ..Default::default()
        })
        .await?;
    let started = Instant::now();
    let mut messages = consumer.messages().await?;
    let mut seen = 0;
    while seen < bars.len() {
        let m = messages
            .next()
            .await
            .ok_or_else(|| anyhow::anyhow!("consumer ended"))??;
        let _: model::Event<model::Bar> = serde_json::from_slice(&m.payload)?;
        m.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        seen += 1;
    }
    rows.push(row(
        "raw JetStream durable pull + decode + ack",
        seen,
        started.elapsed(),
    ));
    drop(messages);

    platform
        .add(bus::subjects::strategy::SERVICE, |c, s| {
            strategy_service::run(strategy_service::Config::default(), c, s.wait())
        })
        .await;
    let start_req = serde_json::json!({
        "id": "bench", "kind": "sma_cross", "params": {"fast": 10, "slow": 20},
        "symbols": ["BENCH"], "timeframe": "1m"
    });
    let last = market.clone().info().await?.state.last_sequence;
    let started = Instant::now();
    let _: serde_json::Value =
        bus::request(&client, "strategy.start", &start_req, Default::default())
            .await
            .map_err(|e| anyhow::anyhow!("strategy.start: {e}"))?;
    let status = loop {
        let s: bus::api::strategy::StrategyStatus = bus::request(
            &client,
            "strategy.status",
            &serde_json::json!({"id": "bench"}),
            Default::default(),
        )
        .await?;
        if s.position >= last && s.pending_bars == 0 {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed();
    rows.push(row(
        &format!(
            "strategy service sma_cross(10,20) → SIGNALS ({} signals)",
            status.signals
        ),
        bars.len(),
        elapsed,
    ));
    stop(&platform, bus::subjects::strategy::SERVICE).await?;

    let json = serde_json::json!({
        "benchmark": "strategy-throughput",
        "description": "Bars per second from MARKET to SIGNALS through the strategy service, beside raw JetStream publish and consume of the same bars, same server and run.",
        "date": report::now_rfc3339(),
        "machine": Machine::here(),
        "parameters": {"bars": args.bars, "server": "private nats-server, default config (no sync_interval: always)"},
        "rows": rows,
    });
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("strategy_throughput.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let mut md = format!(
        "# strategy-throughput\n\n{}\n\nRun {}, {} bars of one symbol.\n\n| stage | messages | seconds | per second |\n|---|---:|---:|---:|\n",
        json["description"].as_str().unwrap_or(""),
        json["date"].as_str().unwrap_or(""),
        args.bars
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {:.2} | {:.0} |\n",
            r.stage, r.messages, r.seconds, r.per_second
        ));
    }
    md.push_str("\nThe strategy figure includes its start-up (lease, consumer creation) and status polling every 20 ms.\n");
    std::fs::write(out_dir.join("strategy_throughput.md"), md)?;
    println!("wrote {}", out_dir.join("strategy_throughput.md").display());
    Ok(())
}
