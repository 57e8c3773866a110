//! The `strategy` micro service.
//!
//! - [`run`]: provisions SIGNALS and the KV buckets, serves the endpoints, and
//!   runs its share of the started strategies until `shutdown`.
//! - `handlers/`: one file per endpoint (`strategy.kinds|start|stop|list|status`,
//!   `ind.compute`).
//! - `scheduler`: decides which strategies this instance runs, through expiring
//!   leases in KV (each strategy runs on exactly one instance; a dead instance's
//!   strategies move to the others).
//! - `runner`: runs one strategy: warm-up replay of its history, then a durable
//!   consumer on MARKET, signals into SIGNALS with de-duplication ids, acks after
//!   the signal is stored.
//! - `records`: the `strategies` KV bucket (what should run).

mod handlers;
mod records;
mod runner;
mod scheduler;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::Stream};
use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::lease::Leases;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    /// Limits and replicas of SIGNALS (and replicas of the KV buckets).
    pub stream: StreamSettings,
    /// A strategy whose instance stops renewing its lease moves after this long.
    pub lease_ttl: Duration,
    /// Timeout of requests to other services (market-data).
    pub request_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            lease_ttl: Duration::from_secs(6),
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("strategy {id}: {message}")]
    Strategy { id: String, message: String },
}

/// What handlers and runners share.
pub(crate) struct Ctx {
    pub config: Config,
    pub client: Client,
    pub js: jetstream::Context,
    pub market: Stream,
    pub signals: Stream,
    pub records: records::Records,
    pub leases: Leases,
}

/// Runs the service until `shutdown` resolves, then drains: stops taking
/// requests, stops its strategies (their unacknowledged bars are redelivered to
/// whoever runs them next) and gives up its leases.
pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::strategy::SERVICE,
            VERSION,
            "Strategies on market data: start, stop, status; signals into SIGNALS; indicators",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let market = runner
        .stream(bus::jetstream::market_stream(&config.stream))
        .await?;
    let signals = runner
        .stream(bus::jetstream::signals_stream(&config.stream))
        .await?;
    let records = records::Records::open(runner.js(), config.stream.replicas).await?;
    let instance = runner.start_service().await?.to_string();
    let leases = Leases::open(
        runner.js(),
        subjects::buckets::STRATEGY_LEASES,
        config.lease_ttl,
        config.stream.replicas,
        &instance,
    )
    .await?;
    let ctx = Arc::new(Ctx {
        config,
        client: runner.client().clone(),
        js: runner.js().clone(),
        market,
        signals,
        records,
        leases,
    });
    runner.serve(handlers::endpoints(ctx.clone())).await?;
    let stop = runner.stop_signal();
    runner.spawn("scheduler", scheduler::run(ctx, stop));
    Ok(runner)
}
