//! The `portfolio` micro service: every account's cash, positions and P&L,
//! from the fills in ORDERS.
//!
//! - [`run`]: provisions streams, restores the sled snapshot, consumes ORDERS
//!   from the snapshot's sequence, marks positions on live bars, serves the
//!   endpoints until `shutdown`.
//! - `book`: ledgers per account (rules in `trading::ledger`).
//! - `consumer`: the durable consumer `portfolio-<node>` on the fills and
//!   account events of ORDERS: apply, snapshot to sled, then ack; a
//!   `PORTFOLIO_UPDATE` per change.
//! - `marks`: once the book has caught up with ORDERS, the newest stored bar
//!   and then every live bar mark positions (and trip stop-loss / take-profit,
//!   which send a closing order through `orders.submit`).
//! - `updates`: publishing `PORTFOLIO_UPDATE`s, never one PORTFOLIO has already.
//! - `node`: one live instance per node name (a KV lease taken before the
//!   snapshot and the consumer, which belong to the node).
//! - `handlers/`: `portfolio.account.open`, `portfolio.summary.get`,
//!   `portfolio.positions.get`, `portfolio.protection.set`.
//!
//! Several instances (different `node`s) each keep the whole book with their
//! own consumer and snapshot; their updates carry the same ids, so JetStream
//! keeps one of each.

mod book;
mod consumer;
mod handlers;
mod marks;
mod node;
mod updates;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::stream::{LastRawMessageError, LastRawMessageErrorKind, Stream};
use async_nats::jetstream::{self};
use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};
use parking_lot::Mutex;
use tokio::sync::watch;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// sled snapshots live in `<data_dir>/portfolio-<node>`.
    pub data_dir: PathBuf,
    /// This instance's name: its consumer is `portfolio-<node>`.
    pub node: String,
    /// How long a read waits for this instance to catch up with ORDERS.
    pub catch_up_timeout: Duration,
    /// Timeout of `orders.submit` for protective orders.
    pub request_timeout: Duration,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            stream: StreamSettings::default(),
            data_dir,
            node: "local".to_string(),
            catch_up_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
        }
    }

    pub fn snapshot_dir(&self) -> PathBuf {
        self.data_dir.join(format!("portfolio-{}", self.node))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("snapshot: {0}")]
    Store(#[from] store::StoreError),
    #[error("invalid node name {0:?}: use A-Z a-z 0-9 - _")]
    Node(String),
}

pub(crate) struct Ctx {
    pub config: Config,
    pub client: Client,
    pub js: jetstream::Context,
    pub orders: Stream,
    pub portfolio: Stream,
    pub market: Stream,
    pub book: Arc<Mutex<book::Book>>,
    /// Everything in ORDERS up to here was there at start: the consumer
    /// replays it without marks, and marks the result once (`marks`).
    pub start_sequence: u64,
    /// ORDERS sequence applied so far.
    pub applied: watch::Receiver<u64>,
    /// Whether the positions replayed at start are marked at the newest stored
    /// bars (and live bars are followed).
    pub marked: watch::Receiver<bool>,
    /// Per account, the (ORDERS sequence, mark time) of the newest update known
    /// to be in PORTFOLIO.
    pub published: Mutex<HashMap<String, (u64, i64)>>,
    /// Protective orders sent, by (account, symbol), with the position they
    /// close: one per position until it changes.
    pub protective: Arc<Mutex<HashMap<(String, model::Symbol), model::Decimal>>>,
}

impl Ctx {
    /// Waits until `sequence` is applied.
    pub async fn wait_applied(&self, sequence: u64) -> bool {
        let mut rx = self.applied.clone();
        tokio::time::timeout(
            self.config.catch_up_timeout,
            rx.wait_for(|s| *s >= sequence),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// Waits until everything in ORDERS now is applied (read your writes),
    /// and the book is marked at the stored bars after a start.
    pub async fn catch_up(&self) -> bool {
        let target = match self.orders_target().await {
            Ok(target) => target,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the end of ORDERS");
                return false;
            }
        };
        let mut applied = self.applied.clone();
        let mut marked = self.marked.clone();
        tokio::time::timeout(self.config.catch_up_timeout, async move {
            let applied = applied.wait_for(|s| *s >= target).await.is_ok();
            let marked = marked.wait_for(|m| *m).await.is_ok();
            applied && marked
        })
        .await
        .unwrap_or(false)
    }

    /// The sequence of the newest ORDERS message this service applies (a fill
    /// or an account event; order transitions are not its business), 0 if
    /// none. Asked of the stream leader, not through direct get, which a
    /// lagging replica may answer: a write just acknowledged must be seen.
    pub async fn orders_target(&self) -> Result<u64, LastRawMessageError> {
        let last = |subject: &'static str| async move {
            match self.orders.get_last_raw_message_by_subject(subject).await {
                Ok(m) => Ok(m.sequence),
                Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(0),
                Err(e) => Err(e),
            }
        };
        let (fills, accounts) =
            futures::join!(last(APPLIED_SUBJECTS[0]), last(APPLIED_SUBJECTS[1]));
        Ok(fills?.max(accounts?))
    }
}

/// What the consumer reads of ORDERS: fills (`evt.fill.>`) and account events
/// (`evt.account.>`), not order transitions (`evt.order.>`).
pub(crate) const APPLIED_SUBJECTS: [&str; 2] = [
    subjects::streams::ALL_FILLS,
    subjects::streams::ALL_ACCOUNT_EVENTS,
];

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    if !trading::valid_id(&config.node) {
        return Err(Error::Node(config.node.clone()));
    }
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::portfolio::SERVICE,
            VERSION,
            "Accounts: cash, positions, realized and unrealized P&L from ORDERS; stop-loss and take-profit",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    // Before the snapshot and the consumer, which belong to the node.
    let node = node::claim(runner.js(), &config.node, config.stream.replicas).await?;
    let orders = runner
        .stream(bus::jetstream::orders_stream(&config.stream))
        .await?;
    let portfolio = runner
        .stream(bus::jetstream::portfolio_stream(&config.stream))
        .await?;
    let market = runner
        .stream(bus::jetstream::market_stream(&config.stream))
        .await?;

    let snapshot = store::Snapshot::open(&config.snapshot_dir())?;
    let mut restored = book::Book {
        sequence: snapshot.sequence()?,
        ..Default::default()
    };
    for (account, ledger) in snapshot.load::<trading::AccountLedger>()? {
        restored.ledgers.insert(account, ledger);
    }
    tracing::info!(
        node = %config.node,
        accounts = restored.ledgers.len(),
        sequence = restored.sequence,
        "portfolio snapshot restored"
    );
    let (applied_tx, applied) = watch::channel(restored.sequence);
    let (marked_tx, marked) = watch::channel(false);
    let mut ctx = Ctx {
        config,
        client: runner.client().clone(),
        js: runner.js().clone(),
        orders: orders.clone(),
        portfolio,
        market,
        book: Arc::new(Mutex::new(restored)),
        start_sequence: 0,
        applied,
        marked,
        published: Mutex::new(HashMap::new()),
        protective: Arc::default(),
    };
    ctx.start_sequence = bus::jetstream::provision("the end of ORDERS", || async {
        ctx.orders_target().await.map_err(|e| e.to_string())
    })
    .await?;
    let ctx = Arc::new(ctx);
    let stop = runner.stop_signal();
    let consumer = consumer::run(
        ctx.clone(),
        snapshot.clone(),
        applied_tx,
        runner.health(),
        stop,
    );
    runner.spawn("orders-consumer", async move {
        consumer.await;
        // Once the consumer stopped, nothing writes the snapshot any more.
        snapshot.flush()
    });
    let stop = runner.stop_signal();
    runner.spawn("marks", marks::run(ctx.clone(), marked_tx, stop));
    runner.watch_consumer(
        subjects::streams::ORDERS,
        &consumer::durable_name(&ctx.config.node),
    );
    let stop = runner.stop_signal();
    runner.spawn("node-lease", node.keep(stop));
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}

#[cfg(test)]
mod tests {
    #[test]
    fn applies_fills_and_account_events() {
        assert_eq!(super::APPLIED_SUBJECTS, ["evt.fill.>", "evt.account.>"]);
    }
}
