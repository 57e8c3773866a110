//! The `execution` micro service: order management and the paper exchange.
//!
//! - [`run`]: provisions streams, rebuilds the OMS from ORDERS, serves the
//!   endpoints, runs the paper exchange (on one instance, by lease) and turns
//!   paper strategies' signals into orders.
//! - `handlers/`: one file per endpoint (`orders.submit|cancel|get|list`).
//! - `submit`: the path every order takes: validation, market lookup,
//!   idempotency on `(account, client_order_id)`, `risk.check`, the decision
//!   recorded in ORDERS.
//! - `oms`: orders and account ledgers from ORDERS.
//! - `exchange`: the paper exchange: matches working orders on MARKET bars
//!   (and quotes) with `trading::exchange`'s rules, publishes fills, expiries
//!   and cancels; exactly one instance holds it.
//! - `signals`: durable consumer on SIGNALS: a paper strategy's signal → an
//!   order sized by its rule.

mod exchange;
mod handlers;
mod oms;
mod signals;
mod submit;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::Stream};
use async_nats::Client;
use bus::follow::Applied;
use bus::jetstream::StreamSettings;
use bus::lease::Leases;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};
use parking_lot::Mutex;
use tokio::sync::mpsc;

pub use trading::ExchangeConfig;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// Fill rules of the paper exchange (commission, slippage, volume share).
    pub exchange: ExchangeConfig,
    /// Another instance takes the paper exchange over this long after its
    /// holder dies.
    pub lease_ttl: Duration,
    /// Timeout of `risk.check` and `md.bars.get`.
    pub request_timeout: Duration,
    /// How long a handler waits for this instance to apply its own write.
    pub catch_up_timeout: Duration,
    /// Turn paper strategies' signals into orders.
    pub paper_signals: bool,
    /// Follow this profile's `execution.*` keys in the `config` bucket:
    /// commission and slippage change live, from the next fill (`trader run`
    /// sets it; `None`: fixed as given).
    pub config_profile: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            exchange: ExchangeConfig::default(),
            lease_ttl: Duration::from_secs(6),
            request_timeout: Duration::from_secs(5),
            catch_up_timeout: Duration::from_secs(5),
            paper_signals: true,
            config_profile: None,
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
    pub market: Stream,
    pub quotes: Stream,
    pub oms: Arc<Mutex<oms::Oms>>,
    pub applied: Applied,
    /// One submit at a time per order id on this instance (100 concurrent
    /// duplicates wait for the first and get its order).
    pub submitting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The fill rules in force: `config.exchange`, with live changes from the
    /// `config` bucket.
    pub exchange: Arc<parking_lot::RwLock<ExchangeConfig>>,
}

impl Ctx {
    pub fn exchange(&self) -> ExchangeConfig {
        self.exchange.read().clone()
    }
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::execution::SERVICE,
            VERSION,
            "Orders: submit (idempotent per client order id, through risk), cancel, get, list; paper exchange",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let orders = runner
        .stream(bus::jetstream::orders_stream(&config.stream))
        .await?;
    let market = runner
        .stream(bus::jetstream::market_stream(&config.stream))
        .await?;
    let quotes = runner
        .stream(bus::jetstream::quotes_stream(&config.stream))
        .await?;
    let signals_stream = runner
        .stream(bus::jetstream::signals_stream(&config.stream))
        .await?;

    let (notice_tx, notice_rx) = mpsc::unbounded_channel();
    let oms = Arc::new(Mutex::new(oms::Oms::new(notice_tx)));
    let o = oms.clone();
    let (applied, follower) = bus::follow::follow(
        orders,
        0,
        move |sequence, message| match bus::events::decode_order_event(&message.payload) {
            Ok(event) => {
                if let Err(e) = o.lock().apply(sequence, &event) {
                    tracing::error!(sequence, event = event.data.event_type(), error = %e,
                        "ORDERS event beyond the decimal range; skipped, the OMS is unchanged");
                }
            }
            Err(e) => tracing::warn!(sequence, error = %e, "ORDERS message does not parse"),
        },
        runner.stop_signal(),
    )
    .await?;
    runner.adopt("orders-follower", follower);
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        client: runner.client().clone(),
        js: runner.js().clone(),
        market,
        quotes,
        oms,
        applied,
        submitting: Mutex::default(),
        exchange: Arc::new(parking_lot::RwLock::new(config.exchange.clone())),
    });
    if let Some(profile) = &config.config_profile {
        let (live, started) = (ctx.exchange.clone(), config.exchange.clone());
        bus::live_config::follow_service(
            &mut runner,
            profile,
            config.stream.replicas,
            subjects::execution::SERVICE,
            |base| {
                base.execution.commission_pct = started.commission_pct;
                base.execution.slippage_bps = started.slippage_bps;
            },
            move |settings| {
                let mut exchange = live.write();
                exchange.commission_pct = settings.execution.commission_pct;
                exchange.slippage_bps = settings.execution.slippage_bps;
            },
        )
        .await?;
    }

    let instance = runner.start_service().await?.to_string();
    runner.serve(handlers::endpoints(ctx.clone())).await?;
    let leases = Leases::open(
        runner.js(),
        subjects::buckets::EXECUTION_LEASES,
        config.lease_ttl,
        config.stream.replicas,
        &instance,
    )
    .await?;
    let stop = runner.stop_signal();
    runner.spawn(
        "paper-exchange",
        exchange::run(ctx.clone(), leases, notice_rx, stop),
    );
    if config.paper_signals {
        let stop = runner.stop_signal();
        runner.spawn("paper-signals", signals::run(ctx, signals_stream, stop));
        runner.watch_consumer(
            subjects::streams::SIGNALS,
            subjects::execution::SIGNALS_CONSUMER,
        );
    }
    Ok(runner)
}
