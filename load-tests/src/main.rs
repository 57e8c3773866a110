//! Benchmarks. Each compares the platform with a raw async-nats baseline
//! measured in the same run, on a private nats-server, and writes
//! `results/<name>.json` and `results/<name>.md`.
//!
//! `cargo run --release -p load-tests -- request-reply | indicators | strategy-throughput | backtest | risk-check | bar-to-position | cluster-orders | edge-catch-up | gateway-rest | gateway-ws | notify | sentiment | predict | regime`
//!
//! `cargo run --release -p load-tests -- faults`: the fault and abuse suite
//! (`load_tests::faults`), written to `FAULTS.md` at the repository top level.

mod backtest_bench;
mod bar_to_position;
mod cluster_orders;
mod edge_catch_up;
mod gateway_bench;
mod indicators_bench;
mod intel_bench;
mod notify_bench;
mod regime_bench;
mod report;
mod request_reply;
mod risk_check;
mod strategy_throughput;
mod telemetry_ab;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(about = "platform benchmarks vs raw async-nats")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
    /// Where results go (default: load-tests/results).
    #[arg(long, global = true)]
    out_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Bench {
    /// Raw request-reply (echo) vs md.quote.get, 1 and 64 requests in flight.
    RequestReply(request_reply::Args),
    /// Indicator update cost in ns/bar.
    Indicators(indicators_bench::Args),
    /// MARKET → SIGNALS bars/s through the strategy service vs raw JetStream.
    StrategyThroughput(strategy_throughput::Args),
    /// Backtest engine bars/s (vs backtesting.py) and sweep speed-up 1 → 2 instances.
    Backtest(backtest_bench::Args),
    /// risk.check vs raw request-reply: 1/16/64 in flight and a fixed 10k req/s.
    RiskCheck(risk_check::Args),
    /// Bar published → position updated (PORTFOLIO_UPDATE), p50/p99.
    BarToPosition(bar_to_position::Args),
    /// Order submit → fill on one node (R1) vs a 3-node cluster (R3), sync always.
    ClusterOrders(cluster_orders::Args),
    /// Edge store-and-forward: events queued with the link down until the hub holds them.
    EdgeCatchUp(edge_catch_up::Args),
    /// REST through the gateway vs the same NATS request: req/s, added p50/p99.
    GatewayRest(gateway_bench::RestArgs),
    /// Quotes fanned out by the gateway to 100 WebSocket clients: msgs/s.
    GatewayWs(gateway_bench::WsArgs),
    /// The fault and abuse suite: FAULTS.md (not under --out-dir).
    Faults(load_tests::faults::Args),
    /// Alerts from ALERTS through notify to a local webhook: alerts/s and delay p50/p99.
    Notify(notify_bench::Args),
    /// Headlines scored per second: in process, sentiment.score (hit/miss), sentiment.batch.
    Sentiment(intel_bench::SentimentArgs),
    /// orchestrator.predict p50/p99 on GOOG with every dependency up.
    Predict(intel_bench::PredictArgs),
    /// Regime update per bar in ns (HMM, k-means, the ensemble), pure.
    Regime(regime_bench::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // --telemetry-ab installs a subscriber of its own (switched per round).
    let own_subscriber = matches!(&cli.bench, Bench::RiskCheck(a) if a.telemetry_ab);
    let _otlp = (!own_subscriber).then(|| bus::telemetry::init_tracing(bus::telemetry::CLI_LOGS));
    let out_dir = cli
        .out_dir
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results"));
    match cli.bench {
        Bench::RequestReply(args) => request_reply::run(args, &out_dir).await,
        Bench::Indicators(args) => indicators_bench::run(args, &out_dir),
        Bench::StrategyThroughput(args) => strategy_throughput::run(args, &out_dir).await,
        Bench::Backtest(args) => backtest_bench::run(args, &out_dir).await,
        Bench::RiskCheck(args) => risk_check::run(args, &out_dir).await,
        Bench::BarToPosition(args) => bar_to_position::run(args, &out_dir).await,
        Bench::ClusterOrders(args) => cluster_orders::run(args, &out_dir).await,
        Bench::EdgeCatchUp(args) => edge_catch_up::run(args, &out_dir).await,
        Bench::GatewayRest(args) => gateway_bench::rest(args, &out_dir).await,
        Bench::GatewayWs(args) => gateway_bench::ws(args, &out_dir).await,
        Bench::Faults(args) => {
            let out = args.out.unwrap_or_else(load_tests::faults::default_report);
            let outcomes = load_tests::faults::run(args.mode, &out, args.only.as_deref()).await;
            println!("{}", out.display());
            let failed: Vec<&str> = outcomes
                .iter()
                .filter(|o| !o.passed())
                .map(|o| o.name.as_str())
                .collect();
            anyhow::ensure!(
                failed.is_empty(),
                "failed: {failed:?} (see {})",
                out.display()
            );
            Ok(())
        }
        Bench::Notify(args) => notify_bench::run(args, &out_dir).await,
        Bench::Sentiment(args) => intel_bench::sentiment(args, &out_dir).await,
        Bench::Predict(args) => intel_bench::predict(args, &out_dir).await,
        Bench::Regime(args) => regime_bench::run(args, &out_dir),
    }
}
