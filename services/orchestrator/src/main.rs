//! `orchestrator`: runs the orchestrator service alone. The all-in-one
//! `trader` binary runs it together with the others.

use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "orchestrator micro service")]
struct Args {
    /// NATS server URL(s), comma-separated (credentials: NATS_USER/NATS_PASSWORD,
    /// NATS_CREDS, NATS_NKEY_SEED_FILE; TLS: NATS_TLS_CA, NATS_TLS_CERT/KEY).
    #[arg(long, env = "NATS_URL")]
    nats_url: String,
    /// Serve /metrics, /health/live and /health/ready on this address; unset
    /// or `off`: not served.
    #[arg(long, env = "TRADER_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Timeout of one step (one dependency), in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    step_timeout_ms: u64,
    /// Failures in a row that open a dependency's circuit breaker.
    #[arg(long, default_value_t = 3)]
    breaker_threshold: u32,
    /// Seconds an open breaker waits before one probe.
    #[arg(long, default_value_t = 10)]
    breaker_cool_down_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS);
    let args = Args::parse();
    let config = orchestrator_service::Config {
        step_timeout: Duration::from_millis(args.step_timeout_ms),
        breaker_threshold: args.breaker_threshold,
        breaker_cool_down: Duration::from_secs(args.breaker_cool_down_secs),
        ..Default::default()
    };
    let _observe = bus::observe::serve_flag(args.metrics_addr.as_deref()).await?;
    let client = bus::connect::connect(&args.nats_url, "orchestrator", None).await?;
    orchestrator_service::run(config, client, bus::runner::terminate()).await?;
    Ok(())
}
