//! The `analytics` micro service: performance of backtests against buy & hold,
//! and reports as JSON or as a self-contained HTML page with SVG charts (the
//! price with every trade's entry and exit, equity, drawdown) and the trade
//! list (no external resources, so it opens offline and can be mailed).
//!
//! - `handlers/`: `analytics.performance.get`, `analytics.report.get`.
//! - `source`: turns a request's source into a backtest report (through
//!   `backtest.run`; a sweep result is run again with its parameters) and the
//!   prices it ran over (`md.bars.get`, or the inline bars).
//! - `account`: a live or paper account's history (PORTFOLIO, ORDERS) as the
//!   same kind of report, against buying and holding a benchmark.
//! - [`html`]: the page.

mod account;
mod handlers;
pub mod html;
mod source;

pub use source::performance;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    /// Timeout of the backtest a report needs.
    pub request_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            request_timeout: Duration::from_secs(60),
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
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::analytics::SERVICE,
            VERSION,
            "Performance and HTML reports of backtests and of live or paper accounts",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let ctx = Arc::new(Ctx {
        config,
        client: runner.client().clone(),
        js: runner.js().clone(),
    });
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}
