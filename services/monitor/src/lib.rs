//! The `monitor` micro service: what runs, how it is doing, and alerts when
//! that changes.
//!
//! - [`run`]: provisions SYSTEM, ALERTS and the `monitor-alerts` bucket,
//!   serves `monitor.status` and `monitor.history`, and samples the platform
//!   every [`Config::interval`] until `shutdown`.
//! - [`MonitorArgs`]: command-line options (its binary and `trader run`).
//! - `discovery`: `$SRV.STATS` + `$SRV.INFO` of every service instance.
//! - `jetstream_state`: streams and their durable consumers (lag).
//! - `server_view`: nats-server's monitoring port (`/varz`, `/routez`, `/leafz`).
//! - `status`: the three together, one [`SystemStatus`].
//! - `sampler`: the interval loop: a `SYSTEM_HEALTH` sample into SYSTEM, then alerts.
//! - `detector`: pure: from consecutive statuses to alert conditions
//!   (instance gone, error rate, consumer lag).
//! - `episodes`: one alert per episode however many monitors run (KV
//!   create-once + deterministic `Nats-Msg-Id`).
//! - `handlers/`: one file per endpoint.

mod args;
mod detector;
mod discovery;
mod episodes;
mod handlers;
mod jetstream_state;
mod sampler;
mod server_view;
mod status;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub use args::MonitorArgs;
pub use bus::api::monitor::SystemStatus;
pub use detector::Thresholds;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// How often a sample is taken, published and checked for alerts.
    pub interval: Duration,
    /// Discovery waits this long after the last `$SRV` reply (at most 3 s in all).
    pub discovery_quiet: Duration,
    /// nats-server's HTTP monitoring URL (`http://127.0.0.1:8222`); none: no
    /// server view.
    pub server_monitor_url: Option<String>,
    pub thresholds: Thresholds,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            interval: Duration::from_secs(5),
            discovery_quiet: Duration::from_millis(300),
            server_monitor_url: None,
            thresholds: Thresholds::default(),
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
    /// This instance's `$SRV` id.
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
            subjects::monitor::SERVICE,
            VERSION,
            "Platform status ($SRV, JetStream, nats-server), SYSTEM_HEALTH samples, alerts",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    runner
        .stream(bus::jetstream::system_stream(&config.stream))
        .await?;
    runner
        .stream(bus::jetstream::alerts_stream(&config.stream))
        .await?;
    let episodes_kv = runner.kv(episodes::bucket(config.stream.replicas)).await?;
    let instance = runner.start_service().await?.to_string();
    let ctx = std::sync::Arc::new(Ctx {
        client: runner.client().clone(),
        js: runner.js().clone(),
        instance,
        config,
    });
    let episodes = episodes::Episodes::new(
        ctx.js.clone(),
        episodes_kv,
        ctx.config.stream.duplicate_window,
        ctx.config.thresholds.clear_samples,
    );
    runner.spawn(
        "sampler",
        sampler::run(ctx.clone(), episodes, runner.stop_signal()),
    );
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}
