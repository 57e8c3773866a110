//! The `regime` micro service: the market regime of every symbol, from the
//! bars in MARKET.
//!
//! - [`run`]: provisions MARKET, REGIMES, MODELS and the `models` object
//!   store, follows every bar (ordered consumer from the start of MARKET:
//!   every instance sees every bar, so any instance answers), serves the
//!   endpoints until `shutdown`.
//! - `state`: per symbol and timeframe, the rolling features, their recent
//!   history and, per method, the model in use and its filter state.
//! - `follower`: bar → features → decision per method; a changed label is a
//!   `REGIME_CHANGE` event; the first model of a series is trained once
//!   `train_after` feature vectors are in, and again every `retrain_every` bars.
//! - `training`: train (pure, `regime` crate), store `<model>/<version>` in the
//!   object store, announce `ML_MODEL_UPDATE`, install.
//! - `handlers/`: `regime.get`, `regime.train`, `regime.models.list`.

mod follower;
mod handlers;
mod state;
mod training;

use std::future::Future;
use std::sync::Arc;

use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::models::ModelStore;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};
use parking_lot::Mutex;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// Bars in the rolling window of returns.
    pub window: usize,
    /// Feature vectors before a series' first model is trained.
    pub train_after: usize,
    /// Retrain a series' models after this many new bars (0: only on request).
    pub retrain_every: u64,
    /// Feature vectors (and bars) kept per series for training.
    pub history: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            window: 20,
            train_after: 200,
            retrain_every: 0,
            history: 5000,
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
    pub js: async_nats::jetstream::Context,
    pub models: ModelStore,
    pub series: Mutex<state::AllSeries>,
    /// One training at a time (versions are numbered in order).
    pub training: tokio::sync::Mutex<()>,
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::regime::SERVICE,
            VERSION,
            "Market regimes per symbol (Gaussian HMM, k-means), regime changes, versioned models",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let market = runner
        .stream(bus::jetstream::market_stream(&config.stream))
        .await?;
    runner
        .stream(bus::jetstream::regimes_stream(&config.stream))
        .await?;
    runner
        .stream(bus::jetstream::models_stream(&config.stream))
        .await?;
    let models = ModelStore::open(runner.js(), config.stream.replicas).await?;
    let ctx = Arc::new(Ctx {
        series: Mutex::new(state::AllSeries::default()),
        config,
        js: runner.js().clone(),
        models,
        training: tokio::sync::Mutex::new(()),
    });
    runner.serve(handlers::endpoints(ctx.clone())).await?;
    let stop = runner.stop_signal();
    runner.spawn("bars", follower::follow(ctx, market, stop));
    Ok(runner)
}
