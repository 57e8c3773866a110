//! `portfolio`: runs the portfolio service alone. The all-in-one `trader`
//! binary runs it together with the others.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "portfolio micro service")]
struct Args {
    /// NATS server URL(s), comma-separated (credentials: NATS_USER/NATS_PASSWORD,
    /// NATS_CREDS, NATS_NKEY_SEED_FILE; TLS: NATS_TLS_CA, NATS_TLS_CERT/KEY).
    #[arg(long, env = "NATS_URL")]
    nats_url: String,
    /// Serve /metrics, /health/live and /health/ready on this address (e.g.
    /// 0.0.0.0:9464); unset or `off`: not served.
    #[arg(long, env = "TRADER_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Where the sled snapshot lives (`<data-dir>/portfolio-<node>`); default
    /// `$XDG_DATA_HOME/trader`, else `~/.local/share/trader`.
    #[arg(long, env = "TRADER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// This instance's name (its consumer is `portfolio-<node>`).
    #[arg(long, default_value = "local")]
    node: String,
    /// Stream and bucket replicas (3 in a cluster).
    #[arg(long, env = "TRADER_REPLICAS", default_value_t = 1)]
    replicas: usize,
    /// Export spans over OTLP/HTTP JSON to this collector (e.g.
    /// http://127.0.0.1:4318; `/v1/traces` is added); unset or `off`: no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _otlp = bus::telemetry::init(
        bus::telemetry::SERVICE_LOGS,
        args.otlp_endpoint.as_deref(),
        "portfolio",
    );
    let mut config =
        portfolio_service::Config::new(args.data_dir.unwrap_or_else(store::default_data_dir));
    config.node = args.node;
    config.stream.replicas = args.replicas;
    // Before the service starts, so its endpoints record into the exporter.
    let _observe = bus::observe::serve_flag(args.metrics_addr.as_deref()).await?;
    let client = bus::connect::connect(&args.nats_url, "portfolio", None).await?;
    portfolio_service::run(config, client, bus::runner::terminate()).await?;
    Ok(())
}
