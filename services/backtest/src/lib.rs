//! The `backtest` micro service.
//!
//! - [`run`]: provisions JOBS (work queue), BACKTESTS and the KV buckets, serves
//!   the endpoints and works on sweep tasks until `shutdown`.
//! - `handlers/`: one file per endpoint (`backtest.run`, `backtest.sweep.submit`,
//!   `backtest.job.get`, `backtest.job.cancel`).
//! - `worker`: pulls sweep tasks from the shared durable consumer; a task a dead
//!   worker held is redelivered after `ack_wait` and done by another; results
//!   are written with `create`, so a task done twice is stored once.
//! - `data`: bars for a backtest (MARKET through market-data, or inline).
//! - `search`: parameter sets of a sweep (grid, random).
//!
//! Backtests run the `strategy` crate's strategies in the `backtest` engine: the
//! same code as live trading.

mod data;
mod handlers;
mod jobs;
mod search;
mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// A task not acknowledged within this long goes to another worker.
    pub ack_wait: Duration,
    /// Sweep tasks this instance runs at once (one per core is right).
    pub workers: usize,
    /// Timeout of requests to market-data.
    pub request_timeout: Duration,
    /// Most bars one backtest may use.
    pub max_bars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            ack_wait: Duration::from_secs(30),
            workers: 1,
            request_timeout: Duration::from_secs(10),
            max_bars: 1_000_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
}

pub(crate) struct Ctx {
    pub config: Config,
    pub client: Client,
    pub js: jetstream::Context,
    pub jobs: jobs::Jobs,
    pub instance: String,
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::backtest::SERVICE,
            VERSION,
            "Backtests of the live strategies: single runs and parameter sweeps",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let tasks = runner
        .stream(bus::jetstream::jobs_stream(&config.stream))
        .await?;
    runner
        .stream(bus::jetstream::backtests_stream(&config.stream))
        .await?;
    let jobs = jobs::Jobs::open(runner.js(), config.stream.replicas).await?;
    let instance = runner.start_service().await?.to_string();
    let ctx = Arc::new(Ctx {
        config,
        client: runner.client().clone(),
        js: runner.js().clone(),
        jobs,
        instance,
    });
    runner.serve(handlers::endpoints(ctx.clone())).await?;
    let stop = runner.stop_signal();
    runner.spawn("sweep-worker", worker::run(ctx, tasks, stop));
    runner.watch_consumer(subjects::streams::JOBS, subjects::backtest::WORKERS);
    Ok(runner)
}
