//! The `market-data` micro service.
//!
//! - [`run`]: starts everything with a [`Config`]; returns after `shutdown` resolves
//!   and the service has drained.
//! - `handlers/`: one file per endpoint (`md.symbols.list`, `md.bars.get`,
//!   `md.quote.get`, `md.import`, `md.quality.get`).
//! - [`quality`]: the data-quality rules (pure), shared by `md.quality.get`,
//!   the import report and the live feed's gap detection.
//! - [`csv_import`]: CSV parsing and validation (pure).
//! - [`simulator`]: the seeded GBM market (pure); `live_sim` runs it on the clock.
//! - [`state`] and `projection`: the in-memory view of the MARKET stream, rebuilt
//!   from the stream by every instance.
//! - [`live`]: the live feed (Alpaca-style WebSocket trades and quotes → bars,
//!   gaps backfilled over REST); off unless configured.
//! - [`publisher`]: bar and quote events into MARKET with de-duplication ids.

pub mod csv_import;
mod handlers;
pub mod live;
mod live_sim;
mod projection;
pub mod publisher;
pub mod quality;
pub mod simulator;
pub mod state;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::Stream};
use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceError, ServiceSpec};

pub use simulator::SimulatorConfig;
use state::MarketState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    /// Limits and replicas of the MARKET stream.
    pub stream: StreamSettings,
    /// Runs the simulator when set.
    pub simulator: Option<SimulatorConfig>,
    /// Directory `md.import` may read `path` imports from; `None` disables path
    /// imports (files are then sent inline in `csv`).
    pub import_dir: Option<PathBuf>,
    /// Largest file a `path` import reads (bytes); a bigger one is refused
    /// before it is read, so memory stays bounded.
    pub max_import_bytes: u64,
    /// How long a read waits for this instance's view to catch up with MARKET.
    pub catch_up_timeout: Duration,
    /// Time to live of the simulator lease: another instance takes the
    /// simulator over this long after its holder dies.
    pub lease_ttl: Duration,
    /// Follow this profile's `sim.*` keys in the `config` bucket: the
    /// simulator's symbols, bar interval and seed change live (`trader run`
    /// sets it; `None`: fixed as given).
    pub config_profile: Option<String>,
    /// Runs the live market-data feed when set.
    pub live: Option<live::LiveFeedConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            simulator: None,
            import_dir: None,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
            catch_up_timeout: Duration::from_secs(5),
            lease_ttl: Duration::from_secs(6),
            config_profile: None,
            live: None,
        }
    }
}

/// [`Config::max_import_bytes`] unless told otherwise: 32 MiB (about 700,000
/// rows of one-minute bars).
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Simulator(#[from] simulator::SimulatorConfigError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What every handler shares.
pub(crate) struct Ctx {
    pub config: Config,
    pub js: jetstream::Context,
    pub stream: Stream,
    pub state: Arc<MarketState>,
}

impl Ctx {
    /// Read-your-writes: waits until this instance's view holds the newest
    /// message on `subject` (one direct get on the stream), so a read right after
    /// an import on another instance sees it.
    pub async fn catch_up(&self, subject: &str) -> Result<(), ServiceError> {
        match self.stream.direct_get_last_for_subject(subject).await {
            Ok(message) => {
                if self
                    .state
                    .wait_applied(message.sequence, self.config.catch_up_timeout)
                    .await
                {
                    Ok(())
                } else {
                    Err(ServiceError::unavailable(
                        "market data view is still catching up with the MARKET stream; retry shortly",
                    ))
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    async_nats::jetstream::stream::DirectGetErrorKind::NotFound
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(ServiceError::unavailable(format!(
                "cannot read MARKET: {e}"
            ))),
        }
    }
}

/// Runs the service until `shutdown` resolves, then drains.
pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::md::SERVICE,
            VERSION,
            "Market data: CSV import, simulator, bars and quotes",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let stream = runner
        .stream(bus::jetstream::market_stream(&config.stream))
        .await?;
    let quotes = runner
        .stream(bus::jetstream::quotes_stream(&config.stream))
        .await?;
    let state = Arc::new(MarketState::default());
    let [ticks, bars] =
        projection::start(stream.clone(), quotes, state.clone(), runner.stop_signal()).await?;
    runner.adopt("quotes-projection", ticks);
    runner.adopt("bars-projection", bars);

    let ctx = Arc::new(Ctx {
        config: config.clone(),
        js: runner.js().clone(),
        stream,
        state,
    });
    let id = runner.start_service().await?.to_string();
    runner.serve(handlers::endpoints(ctx.clone())).await?;
    if let Some(live) = config.live.clone() {
        let stop = runner.stop_signal();
        runner.spawn("live-feed", live::run(live, ctx.clone(), stop));
    }
    if let Some(sim) = config.simulator.clone() {
        let leases = bus::lease::Leases::open(
            runner.js(),
            subjects::buckets::MARKET_DATA_LEASES,
            config.lease_ttl,
            config.stream.replicas,
            &id,
        )
        .await?;
        let (sim_tx, sim_rx) = tokio::sync::watch::channel(sim.clone());
        if let Some(profile) = &config.config_profile {
            bus::live_config::follow_service(
                &mut runner,
                profile,
                config.stream.replicas,
                subjects::md::SERVICE,
                |base| {
                    base.sim.symbols = sim.symbols.clone();
                    base.sim.bar_seconds = sim.interval.as_secs();
                    base.sim.seed = sim.seed;
                },
                move |settings| {
                    sim_tx
                        .send_if_modified(|current| live_sim::reconfigure(current, &settings.sim));
                },
            )
            .await?;
        }
        let stop = runner.stop_signal();
        runner.spawn(
            "simulator",
            live_sim::run_with_lease(sim_rx, ctx, leases, config.lease_ttl, stop),
        );
    }
    Ok(runner)
}
