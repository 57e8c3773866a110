//! `analytics`: runs the analytics service alone.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "analytics micro service")]
struct Args {
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS);
    let args = Args::parse();
    let client = bus::connect::connect(&args.nats_url, "analytics", None).await?;
    analytics_service::run(analytics_service::Config::default(), client, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
