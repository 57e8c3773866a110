//! `risk`: runs the risk service alone. The all-in-one `trader` binary runs it
//! together with the others.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "risk micro service")]
struct Args {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Stream and bucket replicas (3 in a cluster).
    #[arg(long, default_value_t = 1)]
    replicas: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS);
    let args = Args::parse();
    let mut config = risk_service::Config::default();
    config.stream.replicas = args.replicas;
    let client = bus::connect::connect(&args.nats_url, "risk", None).await?;
    risk_service::run(config, client, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
