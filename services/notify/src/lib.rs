//! The `notify` micro service: what happens on the platform reaches people,
//! and people steer it from Telegram.
//!
//! - [`run`]: provisions the streams, buckets and durable consumers, serves the
//!   endpoints, runs the delivery workers and the Telegram poller until `shutdown`.
//! - `notice`: an event from ALERTS, ORDERS (fills) or BACKTESTS made readable.
//! - `store`: channels, rules and chats in KV (watched live).
//! - `dispatch`: durable consumers → rules → one queue per channel (rate limit,
//!   coalescing into digests) → delivery with retries → ack, or dead letter.
//! - `channels/`: rendering and sending per kind (webhook with HMAC, Discord,
//!   Slack, Telegram, email).
//! - `telegram/`: the command bot (long polling, allowlist with roles).
//! - `handlers/`: one file per endpoint.
//! - `flags`: flags and environment (the binary and `trader run`).
//! - `secrets`: secrets from env or files, read when used, never logged.

mod channels;
mod dispatch;
mod flags;
mod handlers;
mod notice;
mod secrets;
mod store;
mod telegram;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use bus::api::notify::{Chat, Role};
use bus::jetstream::StreamSettings;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub use flags::{Flags, TELEGRAM_TOKEN_ENV};
pub use notice::from_event as notice_from_event;
pub use secrets::SecretRef;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How hard a notice is tried before it is dead-lettered.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Attempts per notice (a channel may set its own).
    pub max_attempts: u32,
    /// Back-off after the first failure; doubles, with jitter (±25 %).
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is cut to it.
    pub max_retry_after: Duration,
    /// One HTTP request or SMTP session.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            max_attempts: 8,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The Telegram command bot.
#[derive(Debug, Clone)]
pub struct TelegramBot {
    /// Bot API base, e.g. `https://api.telegram.org` (tests: a local server).
    pub api_base: String,
    pub token: SecretRef,
    /// Long-poll timeout of one `getUpdates`.
    pub poll_timeout: Duration,
    /// Chats allowed besides those in KV `notify-chats` (KV wins).
    pub chats: Vec<Chat>,
    /// Timeout of each NATS request a command makes.
    pub request_timeout: Duration,
}

impl TelegramBot {
    pub fn new(api_base: impl Into<String>, token: SecretRef) -> Self {
        TelegramBot {
            api_base: api_base.into(),
            token,
            poll_timeout: Duration::from_secs(25),
            chats: Vec::new(),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// Parses `--telegram-chat 123:admin[:account]`.
    pub fn parse_chat(spec: &str) -> Result<Chat, String> {
        let mut parts = spec.split(':');
        let chat_id = parts.next().unwrap_or_default().trim().to_string();
        let role = match parts.next().map(str::trim) {
            Some("viewer") => Role::Viewer,
            Some("trader") => Role::Trader,
            Some("admin") => Role::Admin,
            other => {
                return Err(format!(
                    "chat {spec:?}: role {other:?} is not viewer|trader|admin"
                ))
            }
        };
        let account = parts.next().unwrap_or("paper").trim().to_string();
        if chat_id.is_empty() {
            return Err(format!("chat {spec:?}: no chat id"));
        }
        Ok(Chat {
            chat_id,
            role,
            account,
        })
    }
}

/// Which streams notify listens to.
#[derive(Debug, Clone)]
pub struct Sources {
    /// ALERTS (`evt.alert.>`: risk alerts and halts, monitor's alerts).
    pub alerts: bool,
    /// ORDERS, fills only (`evt.fill.>`).
    pub fills: bool,
    /// BACKTESTS (`evt.backtest.>`: BACKTEST_COMPLETE).
    pub backtests: bool,
    /// SYSTEM (`evt.system.health`: the monitor's SYSTEM_HEALTH samples), a
    /// notice only when a sample differs from the previous one.
    pub system_health: bool,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            alerts: true,
            fills: true,
            backtests: true,
            system_health: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    pub delivery: DeliveryPolicy,
    pub sources: Sources,
    /// Redelivery of an unacknowledged event (longer than a notice's whole
    /// retry budget, so a live instance never gets its own work back).
    pub ack_wait: Duration,
    /// Events in flight per consumer (a burst waiting to be coalesced).
    pub max_ack_pending: i64,
    /// How long a delivery is remembered (`notify-sent`), so a redelivered
    /// event is not sent again.
    pub sent_ttl: Duration,
    pub telegram: Option<TelegramBot>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            delivery: DeliveryPolicy::default(),
            sources: Sources::default(),
            ack_wait: Duration::from_secs(300),
            max_ack_pending: 20_000,
            sent_ttl: Duration::from_secs(24 * 3600),
            telegram: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("notify: {0}")]
    Setup(String),
}

pub(crate) struct Ctx {
    pub config: Config,
    pub client: Client,
    pub js: async_nats::jetstream::Context,
    pub store: store::Store,
    pub http: reqwest::Client,
    pub dispatcher: dispatch::Dispatcher,
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::notify::SERVICE,
            VERSION,
            "Notifications: alerts, fills and backtests to webhooks, Discord, Slack, Telegram and email; Telegram commands",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let settings = config.stream.clone();
    let alerts = runner
        .stream(bus::jetstream::alerts_stream(&settings))
        .await?;
    let orders = runner
        .stream(bus::jetstream::orders_stream(&settings))
        .await?;
    let backtests = runner
        .stream(bus::jetstream::backtests_stream(&settings))
        .await?;
    let system = runner
        .stream(bus::jetstream::system_stream(&settings))
        .await?;
    runner
        .stream(bus::jetstream::notify_dead_stream(&settings))
        .await?;
    let store = store::Store::open(runner.js(), &config, runner.stop_signal()).await?;
    let http = reqwest::Client::builder()
        .timeout(config.delivery.timeout)
        .build()
        .map_err(|e| Error::Setup(format!("HTTP client: {e}")))?;
    let ctx = Arc::new_cyclic(|weak| Ctx {
        dispatcher: dispatch::Dispatcher::new(weak.clone(), runner.stop_signal()),
        config,
        client: runner.client().clone(),
        js: runner.js().clone(),
        store,
        http,
    });
    let mut sources = Vec::new();
    if ctx.config.sources.alerts {
        sources.push((
            alerts,
            subjects::notify::ALERTS_CONSUMER,
            subjects::streams::ALL_ALERTS,
        ));
    }
    if ctx.config.sources.fills {
        sources.push((
            orders,
            subjects::notify::FILLS_CONSUMER,
            subjects::streams::ALL_FILLS,
        ));
    }
    if ctx.config.sources.backtests {
        sources.push((
            backtests,
            subjects::notify::BACKTESTS_CONSUMER,
            subjects::streams::BACKTESTS_SUBJECTS[0],
        ));
    }
    if ctx.config.sources.system_health {
        sources.push((
            system,
            subjects::notify::HEALTH_CONSUMER,
            subjects::monitor::HEALTH,
        ));
    }
    let instance = runner.start_service().await?.to_string();
    for (stream, name, filter) in sources {
        let consumer = dispatch::consumer(&ctx, &stream, name, filter).await?;
        let stream_name = stream.cached_info().config.name.clone();
        runner.watch_consumer(&stream_name, name);
        runner.spawn(
            "notify-consumer",
            dispatch::consume(ctx.clone(), consumer, name, runner.stop_signal()),
        );
    }
    if let Some(bot) = ctx.config.telegram.clone() {
        let poller = telegram::Poller::open(ctx.clone(), bot, &instance).await?;
        runner.spawn("telegram-poller", poller.run(runner.stop_signal()));
    }
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}
