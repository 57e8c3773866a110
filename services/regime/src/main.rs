//! `regime`: runs the regime service alone. The all-in-one `trader` binary runs
//! it together with the others.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "regime micro service")]
struct Args {
    /// NATS server URL(s), comma-separated (credentials: NATS_USER/NATS_PASSWORD,
    /// NATS_CREDS, NATS_NKEY_SEED_FILE; TLS: NATS_TLS_CA, NATS_TLS_CERT/KEY).
    #[arg(long, env = "NATS_URL")]
    nats_url: String,
    /// Serve /metrics, /health/live and /health/ready on this address; unset
    /// or `off`: not served.
    #[arg(long, env = "TRADER_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Stream and bucket replicas (3 in a cluster).
    #[arg(long, env = "TRADER_REPLICAS", default_value_t = 1)]
    replicas: usize,
    /// Retrain every model after this many new bars (0: only on request).
    #[arg(long, env = "TRADER_REGIME_RETRAIN_EVERY", default_value_t = 0)]
    retrain_every: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS);
    let args = Args::parse();
    let mut config = regime_service::Config::default();
    config.stream.replicas = args.replicas;
    config.retrain_every = args.retrain_every;
    let _observe = bus::observe::serve_flag(args.metrics_addr.as_deref()).await?;
    let client = bus::connect::connect(&args.nats_url, "regime", None).await?;
    regime_service::run(config, client, bus::runner::terminate()).await?;
    Ok(())
}
