//! `gateway`: runs the HTTP gateway alone. `trader run` runs it with the others.

use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "gateway micro service (REST, WebSocket, dashboard)")]
struct Args {
    /// NATS server URL(s), comma-separated (credentials: NATS_USER/NATS_PASSWORD,
    /// NATS_CREDS, NATS_NKEY_SEED_FILE; TLS: NATS_TLS_CA, NATS_TLS_CERT/KEY).
    #[arg(long, env = "NATS_URL")]
    nats_url: String,
    /// HTTP listen address. Beyond loopback only behind a TLS proxy.
    #[arg(long, env = "GATEWAY_ADDR", default_value = gateway_service::DEFAULT_ADDR)]
    addr: String,
    /// Requests per second per key or user (0: unlimited).
    #[arg(long, env = "GATEWAY_RATE_LIMIT", default_value_t = 50.0)]
    rate_limit: f64,
    /// Burst of the rate limit.
    #[arg(long, env = "GATEWAY_RATE_BURST", default_value_t = 100.0)]
    rate_burst: f64,
    /// Origins allowed by CORS (comma-separated, `*` for any); default: CORS off.
    #[arg(long, env = "GATEWAY_CORS_ORIGINS", value_delimiter = ',')]
    cors_origin: Vec<String>,
    /// Largest request body in bytes.
    #[arg(long, env = "GATEWAY_BODY_LIMIT", default_value_t = 4 * 1024 * 1024)]
    body_limit: usize,
    /// Seconds a route waits for the service's reply (then 504).
    #[arg(long, default_value_t = 30)]
    request_timeout_s: u64,
    /// Serve /metrics, /health/live and /health/ready on this address; unset or `off`: not served.
    #[arg(long, env = "TRADER_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// KV replicas (3 in a cluster).
    #[arg(long, env = "TRADER_REPLICAS", default_value_t = 1)]
    replicas: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _otlp = bus::telemetry::init_tracing(bus::telemetry::SERVICE_LOGS); // OTEL_EXPORTER_OTLP_ENDPOINT
    let args = Args::parse();
    let config = gateway_service::Config {
        addr: args.addr,
        request_timeout: Duration::from_secs(args.request_timeout_s),
        body_limit: args.body_limit,
        rate_limit: (args.rate_limit > 0.0).then_some(gateway_service::RateLimit {
            per_second: args.rate_limit,
            burst: args.rate_burst.max(1.0),
        }),
        cors_origins: args.cors_origin,
        replicas: args.replicas,
        ..Default::default()
    };
    let _observe = bus::observe::serve_flag(args.metrics_addr.as_deref()).await?;
    let client = bus::connect::connect(&args.nats_url, "gateway", None).await?;
    gateway_service::run(config, client, bus::runner::terminate()).await?;
    Ok(())
}
