//! `backtest`: runs the backtest service alone (add instances to add sweep speed).

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "backtest micro service")]
struct Args {
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Sweep tasks run at once by this instance.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS);
    let args = Args::parse();
    let mut config = backtest_service::Config {
        workers: args.workers.max(1),
        ..Default::default()
    };
    config.stream.replicas = args.replicas;
    let client = bus::connect::connect(&args.nats_url, "backtest", None).await?;
    backtest_service::run(config, client, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
