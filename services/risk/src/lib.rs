//! The `risk` micro service: every order passes `risk.check` before it reaches
//! the exchange.
//!
//! - [`run`]: provisions the buckets and streams, rebuilds the account view,
//!   takes its share of account partitions, serves the endpoints until
//!   `shutdown`.
//! - `handlers/`: one file per endpoint (`risk.check`, `risk.limits.get|set`,
//!   `risk.halt|reduce|resume`, `risk.status`, and the internal
//!   `risk.internal.check.<partition>` that owners serve).
//! - `partitions`: accounts hashed into partitions, each owned by one instance
//!   through an expiring KV lease; a check is decided by its account's owner,
//!   so limits hold across instances.
//! - `settings`: limits and trading states in KV, watched live.
//! - `view`: accounts, working orders, positions and P&L from ORDERS and
//!   PORTFOLIO, plus reservations for orders accepted but not yet recorded.
//! - `alerts`: `RISK_ALERT` events.
//!
//! The rules themselves are pure, in `trading::risk`.

mod alerts;
mod handlers;
mod partitions;
mod settings;
mod view;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::{self, stream::Stream};
use async_nats::Client;
use bus::api::portfolio::PortfolioUpdate;
use bus::api::risk::{RiskLimits, StateRecord, TradingState};
use bus::follow::Applied;
use bus::jetstream::StreamSettings;
use bus::lease::Leases;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};
use model::{Event, UnixNanos};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

/// The partition an account belongs to (the same on every instance).
pub use partitions::partition_of;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// Limits of accounts with none in the `risk-limits` bucket.
    pub default_limits: RiskLimits,
    /// Follow this profile's `risk.*` keys in the `config` bucket: the default
    /// limits change live (`trader run` sets it; `None`: fixed defaults).
    pub config_profile: Option<String>,
    /// How long an accepted check holds room for its order before the order
    /// must have shown up in ORDERS.
    pub reservation_ttl: Duration,
    /// How long a check waits for this instance to catch up with ORDERS when
    /// it does not know the account yet.
    pub catch_up_timeout: Duration,
    /// Account partitions (every instance must use the same number).
    pub partitions: u16,
    /// Time to live of a partition lease: a dead owner's accounts move to
    /// another instance within about this long.
    pub lease_ttl: Duration,
    /// How long one forwarded check waits for the owner's answer.
    pub forward_timeout: Duration,
    /// How long a check whose partition has no reachable owner keeps retrying
    /// (an owner just died or is handing over) before answering 503.
    pub owner_wait: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            default_limits: RiskLimits::default(),
            config_profile: None,
            reservation_ttl: Duration::from_secs(5),
            catch_up_timeout: Duration::from_secs(2),
            partitions: 16,
            lease_ttl: Duration::from_secs(3),
            forward_timeout: Duration::from_secs(1),
            // Below execution's 5 s `risk.check` timeout, above a takeover
            // (lease expiry plus one tick).
            owner_wait: Duration::from_secs(4),
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
    pub ownership: partitions::Ownership,
    pub js: jetstream::Context,
    pub settings: settings::Settings,
    pub view: Arc<Mutex<view::View>>,
    pub orders: Applied,
}

impl Ctx {
    /// Sets an account's trading state (KV, applied here at once).
    pub async fn set_state(
        &self,
        account: &str,
        state: TradingState,
        reason: String,
    ) -> Result<StateRecord, String> {
        let record = StateRecord {
            account: account.to_string(),
            state,
            reason,
            since: UnixNanos::now(),
        };
        self.settings.states.put(account, &record).await?;
        Ok(record)
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
            subjects::risk::SERVICE,
            VERSION,
            "Pre-trade risk: limits per account in KV (live), trading states, risk alerts",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let orders = runner
        .stream(bus::jetstream::orders_stream(&config.stream))
        .await?;
    let portfolio = runner
        .stream(bus::jetstream::portfolio_stream(&config.stream))
        .await?;
    runner
        .stream(bus::jetstream::alerts_stream(&config.stream))
        .await?;
    let js = runner.js().clone();
    let settings = settings::Settings::open(
        &js,
        config.stream.replicas,
        config.default_limits.clone(),
        runner.stop_signal(),
    )
    .await?;
    if let Some(profile) = &config.config_profile {
        let (defaults, started) = (
            settings.default_limits.clone(),
            config.default_limits.clone(),
        );
        bus::live_config::follow_service(
            &mut runner,
            profile,
            config.stream.replicas,
            subjects::risk::SERVICE,
            |base| base.risk = started,
            move |settings| *defaults.write() = settings.risk.clone(),
        )
        .await?;
    }

    let view = Arc::new(Mutex::new(view::View::default()));
    let v = view.clone();
    let (applied, follower) = bus::follow::follow(
        orders,
        0,
        move |sequence, message| match bus::events::decode_order_event(&message.payload) {
            Ok(event) => {
                if let Err(e) = v.lock().apply_order_event(&event.data) {
                    tracing::error!(sequence, event = event.data.event_type(), error = %e,
                        "ORDERS event beyond the decimal range; skipped, the view is unchanged");
                }
            }
            Err(e) => tracing::warn!(sequence, error = %e, "ORDERS message does not parse"),
        },
        runner.stop_signal(),
    )
    .await?;
    runner.adopt("orders-follower", follower);
    let ownership = partitions::Ownership::new(config.partitions);
    let ctx = Arc::new(Ctx {
        config,
        client: runner.client().clone(),
        ownership,
        js,
        settings,
        view,
        orders: applied,
    });
    // Take this instance's share of partitions before serving, so a lone
    // instance decides every check from its first request. The lease holder
    // is the instance id of `$SRV.PING`.
    let holder = runner.start_service().await?.to_string();
    let leases = Leases::open(
        &ctx.js,
        subjects::buckets::RISK_LEASES,
        ctx.config.lease_ttl,
        ctx.config.stream.replicas,
        &holder,
    )
    .await?;
    let mut partitions = partitions::Partitions::new(ctx.clone(), leases);
    partitions.reconcile().await;
    tracing::info!(partitions = ?ctx.ownership.owned(), "risk partitions taken");
    // On shutdown (after the endpoints drained) it hands the partitions over
    // at once instead of at expiry.
    runner.spawn("partitions", partitions.run(runner.stop_signal()));
    // After the partitions: accounts already past their loss limit when the
    // replay reaches them are halted by their owner.
    let (breach_tx, breach_rx) = mpsc::unbounded_channel();
    let portfolio_follower =
        follow_portfolio(ctx.clone(), portfolio, breach_tx, runner.stop_signal()).await?;
    runner.adopt("portfolio-follower", portfolio_follower);
    runner.spawn("halt-on-breach", halt_on_breach(ctx.clone(), breach_rx));
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}

/// Equity and daily P&L per account from PORTFOLIO: the newest update of each
/// account first, then every new one. Accounts this instance owns that are
/// past their daily loss limit go to `breaches`.
async fn follow_portfolio(
    ctx: Arc<Ctx>,
    portfolio: Stream,
    breaches: mpsc::UnboundedSender<(String, rust_decimal::Decimal)>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, BusError> {
    let config = pull::OrderedConfig {
        filter_subject: subjects::streams::ALL_PORTFOLIO_UPDATES.to_string(),
        deliver_policy: DeliverPolicy::LastPerSubject,
        ..Default::default()
    };
    let apply = move |_sequence: u64, message: &jetstream::Message| {
        let Ok(update) = serde_json::from_slice::<Event<PortfolioUpdate>>(&message.payload) else {
            return;
        };
        ctx.view.lock().apply_portfolio(&update);
        let summary = &update.data.summary;
        // Only the account's owner halts it, so a breach is written and
        // alerted once however many instances run. One that falls between
        // owners is caught by the next check (daily_loss_limit), which halts.
        let partition = partition_of(&summary.account, ctx.ownership.partitions());
        if !ctx.ownership.owns(partition) {
            return;
        }
        let (limits, _) = ctx.settings.limits_of(&summary.account);
        if trading::risk::daily_loss_breached(&limits, summary.daily_pnl) {
            let _ = breaches.send((summary.account.clone(), summary.daily_pnl));
        }
    };
    let (_, follower) = bus::follow::follow_with(portfolio, config, 0, apply, stop).await?;
    Ok(follower)
}

/// Halts accounts that reached their daily loss limit (once per breach).
async fn halt_on_breach(
    ctx: Arc<Ctx>,
    mut breaches: mpsc::UnboundedReceiver<(String, rust_decimal::Decimal)>,
) {
    while let Some((account, daily_pnl)) = breaches.recv().await {
        handlers::halt_for_daily_loss(&ctx, &account, daily_pnl, &model::ids::new_correlation_id())
            .await;
    }
}
