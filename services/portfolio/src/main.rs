//! `portfolio`: runs the portfolio service alone. The all-in-one `trader`
//! binary runs it together with the others.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "portfolio micro service")]
struct Args {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Where the sled snapshot lives (`<data-dir>/portfolio-<node>`).
    #[arg(long, env = "TRADER_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// This instance's name (its consumer is `portfolio-<node>`).
    #[arg(long, default_value = "local")]
    node: String,
    /// Stream replicas (3 in a cluster).
    #[arg(long, default_value_t = 1)]
    replicas: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS);
    let args = Args::parse();
    let mut config = portfolio_service::Config::new(args.data_dir);
    config.node = args.node;
    config.stream.replicas = args.replicas;
    let client = bus::connect::connect(&args.nats_url, "portfolio", None).await?;
    portfolio_service::run(config, client, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
