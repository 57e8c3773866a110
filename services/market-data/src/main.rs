//! `market-data`: runs the market-data service alone. The all-in-one `trader`
//! binary runs it together with the others.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "market-data micro service")]
struct Args {
    /// NATS server URL(s), comma-separated (credentials: NATS_USER/NATS_PASSWORD,
    /// NATS_CREDS, NATS_NKEY_SEED_FILE; TLS: NATS_TLS_CA, NATS_TLS_CERT/KEY).
    #[arg(long, env = "NATS_URL")]
    nats_url: String,
    /// Serve /metrics, /health/live and /health/ready on this address (e.g.
    /// 0.0.0.0:9464); unset or `off`: not served.
    #[arg(long, env = "TRADER_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Run the seeded market simulator on these symbols (comma-separated).
    #[arg(long, value_delimiter = ',')]
    simulate: Vec<String>,
    /// Simulator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory `md.import` may read `path` imports from.
    #[arg(long)]
    import_dir: Option<PathBuf>,
    /// Stream and bucket replicas (3 in a cluster).
    #[arg(long, env = "TRADER_REPLICAS", default_value_t = 1)]
    replicas: usize,
    /// Follow this profile's keys in the `config` KV bucket live (the ones this
    /// service applies: `trader config show`); unset: the flags only.
    #[arg(long, env = "TRADER_PROFILE")]
    config_profile: Option<String>,
    /// Export spans over OTLP/HTTP JSON to this collector (e.g.
    /// http://127.0.0.1:4318; `/v1/traces` is added); unset or `off`: no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(flatten)]
    live: market_data::live::LiveArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _otlp = bus::telemetry::init(
        bus::telemetry::SERVICE_LOGS,
        args.otlp_endpoint.as_deref(),
        "market-data",
    );
    let mut config = market_data::Config {
        import_dir: args.import_dir,
        ..Default::default()
    };
    config.stream.replicas = args.replicas;
    config.config_profile = args.config_profile;
    config.live = args.live.config().map_err(anyhow::Error::msg)?;
    if !args.simulate.is_empty() {
        let symbols = args
            .simulate
            .iter()
            .map(|s| model::Symbol::new(s))
            .collect::<Result<Vec<_>, _>>()?;
        config.simulator = Some(market_data::SimulatorConfig {
            symbols,
            seed: args.seed,
            ..Default::default()
        });
    }
    // Before the service starts, so its endpoints record into the exporter.
    let _observe = bus::observe::serve_flag(args.metrics_addr.as_deref()).await?;
    let client = bus::connect::connect(&args.nats_url, "market-data", None).await?;
    market_data::run(config, client, bus::runner::terminate()).await?;
    Ok(())
}
