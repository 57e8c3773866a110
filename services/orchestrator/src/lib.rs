//! The `orchestrator` micro service: one decision over every service, and
//! the whole system in one answer.
//!
//! - [`run`]: serves the endpoints until `shutdown` (no streams of its own).
//! - `predict`: the fan-out (market data, indicators, sentiment, regime, the
//!   strategy on the fetched bars) and the decision, then risk's size.
//! - `call`: one step: through the dependency's breaker, within the step
//!   timeout, reported with status and time.
//! - `breaker`: per-dependency circuit breakers (closed, open, half-open).
//! - `handlers/`: `orchestrator.predict`, `orchestrator.batch`, `orchestrator.status`.

mod breaker;
mod call;
mod handlers;
mod predict;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub use predict::{decide, View};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    /// Longest wait for one step (one dependency).
    pub step_timeout: Duration,
    /// Failures in a row that open a dependency's breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker keeps its dependency out before one probe.
    pub breaker_cool_down: Duration,
    /// Predictions of one `orchestrator.batch` run at once.
    pub batch_concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            step_timeout: Duration::from_secs(2),
            breaker_threshold: 3,
            breaker_cool_down: Duration::from_secs(10),
            batch_concurrency: 8,
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
    pub js: async_nats::jetstream::Context,
    pub breakers: breaker::Breakers,
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::orchestrator::SERVICE,
            VERSION,
            "One decision over market data, indicators, sentiment, regime, strategy and risk; system status",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let ctx = Arc::new(Ctx {
        breakers: breaker::Breakers::new(config.breaker_threshold, config.breaker_cool_down),
        config,
        client: runner.client().clone(),
        js: runner.js().clone(),
    });
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}
