//! `trader`: the platform in one binary.
//!
//! - `trader run`: starts nats-server (unless `--nats-url` points at one), every
//!   service (or `--services a,b`), and the simulator; Ctrl-C drains and stops.
//!   With `--edge NAME --hub nats-leaf://…` its server is a leaf node of the hub
//!   with its own JetStream domain (`edge.rs`).
//! - `trader import`, `trader quote`, `trader bars`, `trader quality`, `trader services`,
//!   `trader sweep`, `trader order`, `trader orders`, `trader account`,
//!   `trader status`, `trader news import`, `trader sentiment`, `trader predict`: clients that talk to a running platform over NATS, for
//!   people without the `nats` CLI.
//! - `trader keys create|list|revoke`: API keys of the gateway (`trader run`
//!   starts it on 127.0.0.1:8080 and prints the dashboard URL).
//! - `trader notify channels|set-channel|rules|set-rule|chats|set-chat|test …`:
//!   the notify service's channels, rules and Telegram chats.
//! - `trader health --url http://127.0.0.1:9464/health/ready`: a probe for
//!   container health checks (the slim image has no curl).
//! - `trader config show|get|set|unset|profiles`: settings and profiles
//!   (`trader run --profile light`, `--config FILE`; `run_config.rs`).
//! - `trader backtest FILE.csv`: a backtest run here, with the services' engine.

mod backtest_cmds;
mod client_cmds;
mod config_cmds;
mod edge;
mod embedded;
mod gateway_cmds;
mod intel_cmds;
mod monitor_cmds;
mod notify_cmds;
mod run_config;
mod services;
mod trading_cmds;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "trader", version, about = "NATS-native trading platform")]
struct Cli {
    /// Export spans over OTLP/HTTP JSON to this collector (e.g.
    /// http://127.0.0.1:4318; `/v1/traces` is added); unset or `off`: no export.
    #[arg(long, global = true, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
}

// Parsed once per process: the size of `run`'s arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Run services (and, by default, an embedded nats-server and the simulator).
    Run(services::RunArgs),
    /// Import a CSV file of OHLCV bars into MARKET.
    Import(client_cmds::ImportArgs),
    /// Print the last quote of a symbol.
    Quote(client_cmds::QuoteArgs),
    /// Print bars of a symbol.
    Bars(client_cmds::BarsArgs),
    /// Score the quality of a stored series: gaps, outliers, stale prices,
    /// OHLC and volume anomalies (md.quality.get).
    Quality(client_cmds::QualityArgs),
    /// List running service instances ($SRV.PING / $SRV.INFO).
    Services(client_cmds::ServicesArgs),
    /// Backtest a strategy over a CSV file (here, with the platform's engine).
    Backtest(backtest_cmds::BacktestArgs),
    /// Run a parameter sweep on the backtest service, with a progress bar.
    Sweep(backtest_cmds::SweepArgs),
    /// Submit an order (orders.submit).
    Order(trading_cmds::OrderArgs),
    /// List orders (orders.list).
    Orders(trading_cmds::OrdersArgs),
    /// An account's equity, cash, P&L and positions (portfolio).
    Account(trading_cmds::AccountArgs),
    /// The platform's status from the monitor service (monitor.status).
    Status(monitor_cmds::StatusArgs),
    /// API keys of the gateway: create, list, revoke.
    Keys(gateway_cmds::KeysArgs),
    /// Notification channels, rules, Telegram chats, test messages (notify).
    Notify(notify_cmds::NotifyArgs),
    /// Probe a process's health endpoint; exit 0 on HTTP 200 (container health checks).
    Health(client_cmds::HealthArgs),
    /// Settings of the running platform and its profiles: show, get, set,
    /// unset, profiles (the config service).
    Config(config_cmds::ConfigArgs),
    /// News for the sentiment service (`trader news import FILE.jsonl`).
    News(intel_cmds::NewsArgs),
    /// Score a text (sentiment.score).
    Sentiment(intel_cmds::SentimentArgs),
    /// One decision for a symbol over every service (orchestrator.predict).
    Predict(intel_cmds::PredictArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = match cli.command {
        Command::Run(_) => bus::telemetry::SERVICE_LOGS,
        _ => bus::telemetry::CLI_LOGS,
    };
    let otlp = bus::telemetry::init(filter, cli.otlp_endpoint.as_deref(), "trader");
    let result = match cli.command {
        Command::Run(args) => services::run(args).await,
        Command::Import(args) => client_cmds::import(args).await,
        Command::Quote(args) => client_cmds::quote(args).await,
        Command::Bars(args) => client_cmds::bars(args).await,
        Command::Quality(args) => client_cmds::quality(args).await,
        Command::Services(args) => client_cmds::services(args).await,
        Command::Backtest(args) => backtest_cmds::backtest(args),
        Command::Sweep(args) => backtest_cmds::sweep(args).await,
        Command::Order(args) => trading_cmds::order(args).await,
        Command::Orders(args) => trading_cmds::orders(args).await,
        Command::Account(args) => trading_cmds::account(args).await,
        Command::Notify(args) => notify_cmds::notify(args).await,
        Command::Health(args) => client_cmds::health(args).await,
        Command::Status(args) => monitor_cmds::status(args).await,
        Command::Config(args) => config_cmds::config(args).await,
        Command::Keys(args) => gateway_cmds::keys(args).await,
        Command::News(args) => intel_cmds::news(args).await,
        Command::Sentiment(args) => intel_cmds::sentiment(args).await,
        Command::Predict(args) => intel_cmds::predict(args).await,
    };
    drop(otlp); // the last spans
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
