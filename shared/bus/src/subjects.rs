//! Every subject, stream and bucket name of the platform, in one place.
//! `subjects.md` at the repository root documents the same list; keep them in step.
//!
//! Request subjects (served in queue group [`QUEUE_GROUP`]) never overlap stream
//! subjects: a stream listening on a request subject would answer requests with
//! publish acks.

use model::{Symbol, Timeframe};

/// Queue group of every endpoint (the micro protocol's default).
pub const QUEUE_GROUP: &str = "q";

/// market-data service.
pub mod md {
    pub const SERVICE: &str = "market-data";
    pub const SYMBOLS_LIST: &str = "md.symbols.list";
    pub const BARS_GET: &str = "md.bars.get";
    pub const QUOTE_GET: &str = "md.quote.get";
    pub const IMPORT: &str = "md.import";
    pub const QUALITY_GET: &str = "md.quality.get";
}

/// strategy service (also serves `ind.compute`).
pub mod strategy {
    pub const SERVICE: &str = "strategy";
    pub const KINDS: &str = "strategy.kinds";
    pub const START: &str = "strategy.start";
    pub const STOP: &str = "strategy.stop";
    pub const LIST: &str = "strategy.list";
    pub const STATUS: &str = "strategy.status";
    pub const IND_COMPUTE: &str = "ind.compute";
}

/// backtest service.
pub mod backtest {
    pub const SERVICE: &str = "backtest";
    pub const RUN: &str = "backtest.run";
    pub const SWEEP_SUBMIT: &str = "backtest.sweep.submit";
    pub const JOB_GET: &str = "backtest.job.get";
    pub const JOB_CANCEL: &str = "backtest.job.cancel";
    /// Durable work-queue consumer every backtest instance pulls sweep tasks from.
    pub const WORKERS: &str = "backtest-workers";
}

/// analytics service.
pub mod analytics {
    pub const SERVICE: &str = "analytics";
    pub const PERFORMANCE_GET: &str = "analytics.performance.get";
    pub const REPORT_GET: &str = "analytics.report.get";
}

/// risk service.
pub mod risk {
    pub const SERVICE: &str = "risk";
    pub const CHECK: &str = "risk.check";
    pub const LIMITS_GET: &str = "risk.limits.get";
    pub const LIMITS_SET: &str = "risk.limits.set";
    pub const HALT: &str = "risk.halt";
    pub const REDUCE: &str = "risk.reduce";
    pub const RESUME: &str = "risk.resume";
    pub const STATUS: &str = "risk.status";
    /// Lease names are `partition.<n>` in [`super::buckets::RISK_LEASES`].
    pub const PARTITION_LEASE_PREFIX: &str = "partition";

    /// Internal: `risk.internal.check.<partition>`, served only by the risk
    /// instance holding that partition's lease (a plain subscription in queue
    /// group [`super::QUEUE_GROUP`]: should two instances both believe they own
    /// a partition for a moment, one of them decides); other risk instances
    /// forward `risk.check` here. Not for clients.
    pub fn internal_check(partition: u16) -> String {
        format!("risk.internal.check.{partition}")
    }

    /// Every partition's internal check subject (for permissions).
    pub const INTERNAL_CHECKS: &str = "risk.internal.check.*";

    /// Lease name of one account partition.
    pub fn partition_lease(partition: u16) -> String {
        format!("{PARTITION_LEASE_PREFIX}.{partition}")
    }
}

/// execution service (OMS and paper exchange).
pub mod execution {
    pub const SERVICE: &str = "execution";
    pub const SUBMIT: &str = "orders.submit";
    pub const CANCEL: &str = "orders.cancel";
    pub const GET: &str = "orders.get";
    pub const LIST: &str = "orders.list";
    /// Internal: cancels go to the one instance running the paper exchange, so
    /// a cancel and a fill of the same order can never both be written.
    pub const EXCHANGE_CANCEL: &str = "execution.exchange.cancel";
    /// The micro service the paper exchange's instance (the lease holder)
    /// registers for [`EXCHANGE_CANCEL`]: exactly one instance in `$SRV`.
    pub const EXCHANGE_SERVICE: &str = "paper-exchange";
    /// Durable consumer on SIGNALS turning paper strategies' signals into orders.
    pub const SIGNALS_CONSUMER: &str = "execution-signals";
    /// Lease name of the paper exchange.
    pub const EXCHANGE_LEASE: &str = "exchange";
}

/// portfolio service.
pub mod portfolio {
    pub const SERVICE: &str = "portfolio";
    pub const ACCOUNT_OPEN: &str = "portfolio.account.open";
    pub const POSITIONS_GET: &str = "portfolio.positions.get";
    pub const SUMMARY_GET: &str = "portfolio.summary.get";
    pub const PROTECTION_SET: &str = "portfolio.protection.set";
}

/// monitor service: discovery, JetStream and server state, health samples, alerts.
pub mod monitor {
    pub const SERVICE: &str = "monitor";
    pub const STATUS: &str = "monitor.status";
    pub const HISTORY: &str = "monitor.history";
    /// `SYSTEM_HEALTH` samples (stream SYSTEM).
    pub const HEALTH: &str = "evt.system.health";

    /// `Nats-Msg-Id` of the health sample of interval `bucket` (time divided
    /// by the interval): every monitor instance publishes the same one, and
    /// JetStream keeps one sample per interval.
    pub fn health_msg_id(bucket: i64) -> String {
        format!("health:{bucket}")
    }

    /// Key of an alert episode in [`super::buckets::MONITOR_ALERTS`]
    /// (`<kind>.<target>`, the target's `/` and other non-token characters as `_`).
    pub fn episode_key(kind: &str, target: &str) -> String {
        let target: String = target
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{kind}.{target}")
    }

    /// `Nats-Msg-Id` of an alert: its episode key and the KV revision that
    /// opened the episode, so a repeat (any instance) is dropped by JetStream.
    pub fn alert_msg_id(episode_key: &str, revision: u64) -> String {
        format!("alert:{episode_key}:{revision}")
    }
}

/// config service: settings per profile in the `config` bucket.
pub mod config {
    pub const SERVICE: &str = "config";
    pub const GET: &str = "config.get";
    pub const SET: &str = "config.set";
    pub const PROFILES_LIST: &str = "config.profiles.list";

    /// Key of one setting of one profile in [`super::buckets::CONFIG`]:
    /// `light.sim.bar_seconds`.
    pub fn kv_key(profile: &str, key: &str) -> String {
        format!("{profile}.{key}")
    }

    /// Every key of one profile (a KV watch filter).
    pub fn kv_filter(profile: &str) -> String {
        format!("{profile}.>")
    }
}

/// gateway service (REST/WebSocket edge; its own endpoints are admin over NATS).
pub mod gateway {
    pub const SERVICE: &str = "gateway";
    pub const INFO: &str = "gateway.info";
    pub const KEYS_CREATE: &str = "gateway.keys.create";
    pub const KEYS_LIST: &str = "gateway.keys.list";
    pub const KEYS_REVOKE: &str = "gateway.keys.revoke";
    pub const USERS_CREATE: &str = "gateway.users.create";
    pub const USERS_LIST: &str = "gateway.users.list";
    pub const USERS_DELETE: &str = "gateway.users.delete";
    /// The monitor service's status, used by `GET /api/v1/services` when it answers.
    pub const MONITOR_STATUS: &str = super::monitor::STATUS;
    /// Where the monitor publishes `SYSTEM_HEALTH` (the WebSocket `health` channel).
    pub const SYSTEM_HEALTH: &str = super::monitor::HEALTH;
}

/// notify service: channels, rules, chats, test messages.
pub mod notify {
    pub const SERVICE: &str = "notify";
    pub const CHANNELS_LIST: &str = "notify.channels.list";
    pub const CHANNELS_SET: &str = "notify.channels.set";
    pub const CHANNELS_DELETE: &str = "notify.channels.delete";
    pub const RULES_LIST: &str = "notify.rules.list";
    pub const RULES_SET: &str = "notify.rules.set";
    pub const RULES_DELETE: &str = "notify.rules.delete";
    pub const CHATS_LIST: &str = "notify.chats.list";
    pub const CHATS_SET: &str = "notify.chats.set";
    pub const CHATS_DELETE: &str = "notify.chats.delete";
    pub const TEST: &str = "notify.test";
    /// Durable consumers: alerts (ALERTS), fills (ORDERS, `evt.fill.>`),
    /// backtest results (BACKTESTS).
    pub const ALERTS_CONSUMER: &str = "notify-alerts";
    pub const FILLS_CONSUMER: &str = "notify-fills";
    pub const BACKTESTS_CONSUMER: &str = "notify-backtests";
    /// Durable consumer on SYSTEM (the monitor's `SYSTEM_HEALTH` samples).
    pub const HEALTH_CONSUMER: &str = "notify-health";
    /// Lease name of the one instance polling Telegram for commands.
    pub const TELEGRAM_LEASE: &str = "telegram";
    /// Key in [`super::buckets::NOTIFY_STATE`] of the next Telegram update id.
    pub const TELEGRAM_OFFSET_KEY: &str = "telegram.offset";

    /// `evt.notify.dead.<channel>`: a notification given up on (NOTIFY_DEAD).
    pub fn dead(channel: &str) -> String {
        format!("evt.notify.dead.{channel}")
    }
}

/// sentiment service: lexicon scores of texts and per-symbol news sentiment.
pub mod sentiment {
    pub const SERVICE: &str = "sentiment";
    pub const SCORE: &str = "sentiment.score";
    pub const BATCH: &str = "sentiment.batch";
    pub const SYMBOL_GET: &str = "sentiment.symbol.get";
    /// `NEWS_PUBLISHED` events: `evt.news.<id>` (stream NEWS), tagged with symbols.
    pub fn news(id: &str) -> String {
        format!("evt.news.{id}")
    }
    /// `Nats-Msg-Id` of a news item: its own id, so a re-import stores it once.
    pub fn news_msg_id(id: &str) -> String {
        format!("news:{id}")
    }
    /// Key of a text's scores in [`super::buckets::SENTIMENT_CACHE`]: the
    /// lexicon version and the text's stable hash.
    pub fn cache_key(lexicon_version: &str, text_hash: u64) -> String {
        format!("{lexicon_version}.{text_hash:016x}")
    }
}

/// orchestrator service: one prediction over every service, and the whole
/// system in one answer.
pub mod orchestrator {
    pub const SERVICE: &str = "orchestrator";
    pub const PREDICT: &str = "orchestrator.predict";
    pub const BATCH: &str = "orchestrator.batch";
    pub const STATUS: &str = "orchestrator.status";
}

/// regime service: market regimes per symbol, and the models behind them.
pub mod regime {
    pub const SERVICE: &str = "regime";
    pub const GET: &str = "regime.get";
    pub const TRAIN: &str = "regime.train";
    pub const MODELS_LIST: &str = "regime.models.list";
}

/// `evt.regime.<symbol>.<timeframe>.<method>`: a symbol's regime label changed
/// (event type REGIME_CHANGE).
pub fn regime_change(symbol: &Symbol, timeframe: Timeframe, method: model::RegimeMethod) -> String {
    format!("evt.regime.{symbol}.{timeframe}.{method}")
}

/// `Nats-Msg-Id` of a regime change: every instance deciding on the same bar
/// publishes the same id.
pub fn regime_change_msg_id(
    symbol: &Symbol,
    timeframe: Timeframe,
    method: model::RegimeMethod,
    ts: model::UnixNanos,
) -> String {
    format!("regime:{symbol}:{timeframe}:{method}:{}", ts.0)
}

/// `evt.model.<name>`: a new model version stored (event type ML_MODEL_UPDATE).
pub fn model_update(name: &str) -> String {
    format!("evt.model.{name}")
}

/// `Nats-Msg-Id` of a model update.
pub fn model_update_msg_id(name: &str, version: u64) -> String {
    format!("model:{name}:{version}")
}

/// Model name of a regime model: `regime-<method>-<symbol>-<timeframe>`
/// (a subject token and an object-name prefix).
pub fn regime_model(symbol: &Symbol, timeframe: Timeframe, method: model::RegimeMethod) -> String {
    format!("regime-{method}-{symbol}-{timeframe}")
}

/// Model name of an ensemble's learned weights: `ensemble-<symbol>-<timeframe>`.
pub fn ensemble_model(symbol: &Symbol, timeframe: Timeframe) -> String {
    format!("ensemble-{symbol}-{timeframe}")
}

/// Object name of one model version in [`object_stores::MODELS`]: `<model>/<version>`.
pub fn model_object(name: &str, version: u64) -> String {
    format!("{name}/{version}")
}

/// JetStream object stores.
pub mod object_stores {
    /// Versioned models (`<model>/<version>`): HMM parameters, centroids, weights.
    pub const MODELS: &str = "models";
}

/// Streams and what they hold.
pub mod streams {
    /// Market data: bars (the history backtests and strategies replay).
    pub const MARKET: &str = "MARKET";
    /// Every bar (`md.bar.<symbol>.<timeframe>`).
    pub const ALL_BARS: &str = "md.bar.>";
    pub const MARKET_SUBJECTS: [&str; 1] = [ALL_BARS];
    /// Quote ticks, kept briefly: a busy feed must not push bar history out.
    pub const QUOTES: &str = "QUOTES";
    /// Every quote tick (`md.tick.<symbol>`).
    pub const ALL_TICKS: &str = "md.tick.>";
    pub const QUOTES_SUBJECTS: [&str; 1] = [ALL_TICKS];
    /// Strategy signals.
    pub const SIGNALS: &str = "SIGNALS";
    pub const ALL_SIGNALS: &str = "evt.signal.>";
    pub const SIGNALS_SUBJECTS: [&str; 1] = [ALL_SIGNALS];
    /// Backtest sweep tasks (work queue: each task to one worker, once).
    pub const JOBS: &str = "JOBS";
    pub const JOBS_SUBJECTS: [&str; 1] = ["job.backtest.>"];
    /// Backtest events (`BACKTEST_COMPLETE`).
    pub const BACKTESTS: &str = "BACKTESTS";
    pub const BACKTESTS_SUBJECTS: [&str; 1] = ["evt.backtest.>"];
    /// Orders, fills and account cash: the source of truth of the trade lifecycle.
    pub const ORDERS: &str = "ORDERS";
    pub const ALL_ORDER_EVENTS: &str = "evt.order.>";
    pub const ALL_FILLS: &str = "evt.fill.>";
    pub const ALL_ACCOUNT_EVENTS: &str = "evt.account.>";
    pub const ORDERS_SUBJECTS: [&str; 3] = [ALL_ORDER_EVENTS, ALL_FILLS, ALL_ACCOUNT_EVENTS];
    /// Alerts (`RISK_ALERT`, …) for people and the notify service.
    pub const ALERTS: &str = "ALERTS";
    pub const ALL_ALERTS: &str = "evt.alert.>";
    pub const ALERTS_SUBJECTS: [&str; 1] = [ALL_ALERTS];
    /// Account summaries after every change (`PORTFOLIO_UPDATE`): equity history.
    pub const PORTFOLIO: &str = "PORTFOLIO";
    pub const ALL_PORTFOLIO_UPDATES: &str = "evt.portfolio.>";
    pub const PORTFOLIO_SUBJECTS: [&str; 1] = [ALL_PORTFOLIO_UPDATES];
    /// The monitor's health samples (`SYSTEM_HEALTH`), a day of them.
    pub const SYSTEM: &str = "SYSTEM";
    pub const ALL_SYSTEM: &str = "evt.system.>";
    pub const SYSTEM_SUBJECTS: [&str; 1] = [ALL_SYSTEM];
    /// Notifications notify gave up on, with the last error (`evt.notify.dead.<channel>`).
    pub const NOTIFY_DEAD: &str = "NOTIFY_DEAD";
    pub const NOTIFY_DEAD_SUBJECTS: [&str; 1] = ["evt.notify.dead.>"];
    /// News items (`NEWS_PUBLISHED`, `evt.news.<id>`), each tagged with symbols.
    pub const NEWS: &str = "NEWS";
    pub const ALL_NEWS: &str = "evt.news.>";
    pub const NEWS_SUBJECTS: [&str; 1] = [ALL_NEWS];
    /// Regime changes (`REGIME_CHANGE`).
    pub const REGIMES: &str = "REGIMES";
    pub const ALL_REGIME_CHANGES: &str = "evt.regime.>";
    pub const REGIMES_SUBJECTS: [&str; 1] = [ALL_REGIME_CHANGES];
    /// Model versions announced (`ML_MODEL_UPDATE`).
    pub const MODELS: &str = "MODELS";
    pub const ALL_MODEL_UPDATES: &str = "evt.model.>";
    pub const MODELS_SUBJECTS: [&str; 1] = [ALL_MODEL_UPDATES];
    /// Every event of every `evt.` stream (what a client may subscribe to).
    pub const EVENTS: &str = "evt.>";
}

/// KV buckets.
pub mod buckets {
    /// Started strategies (key: strategy id, value: `StrategyRecord` JSON).
    pub const STRATEGIES: &str = "strategies";
    /// Who runs what: `lease.<strategy id>` and `member.<instance id>`, expiring.
    pub const STRATEGY_LEASES: &str = "strategy-leases";
    /// `lease.simulator`: the one market-data instance that simulates.
    pub const MARKET_DATA_LEASES: &str = "market-data-leases";
    /// Sweep jobs (key: job id).
    pub const BACKTEST_JOBS: &str = "backtest-jobs";
    /// Sweep results (key: `<job id>.<task index>`).
    pub const BACKTEST_RESULTS: &str = "backtest-results";
    /// Risk limits (key: account, value: `RiskLimits` JSON), watched live.
    pub const RISK_LIMITS: &str = "risk-limits";
    /// Trading state (key: account, value: `StateRecord` JSON), watched live.
    pub const RISK_STATE: &str = "risk-state";
    /// `lease.partition.<n>` and `member.<instance id>`: which risk instance owns
    /// which account partition (expiring).
    pub const RISK_LEASES: &str = "risk-leases";
    /// `lease.exchange`: the one execution instance running the paper exchange.
    pub const EXECUTION_LEASES: &str = "execution-leases";
    /// `lease.<node>`: the one live portfolio instance of each node name.
    pub const PORTFOLIO_NODES: &str = "portfolio-nodes";
    /// Open monitor alert episodes (`<kind>.<target>`, created once per
    /// episode, deleted when it ends): several monitors raise an alert once.
    pub const MONITOR_ALERTS: &str = "monitor-alerts";
    /// Settings per profile (key: `<profile>.<setting>`, value: JSON), watched
    /// live by market-data, execution, risk and config.
    pub const CONFIG: &str = "config";
    /// Gateway API keys (key: key id, value: role, accounts and the key's SHA-256).
    pub const GATEWAY_KEYS: &str = "gateway-keys";
    /// Gateway users (key: username, value: role, accounts, argon2 hash).
    pub const GATEWAY_USERS: &str = "gateway-users";
    /// Gateway settings shared by every instance (key `jwt-secret`).
    pub const GATEWAY_CONFIG: &str = "gateway-config";
    /// notify's channels (key: channel name, value: `Channel` JSON), watched live.
    pub const NOTIFY_CHANNELS: &str = "notify-channels";
    /// notify's routing rules (key: rule id, value: `Rule` JSON), watched live.
    pub const NOTIFY_RULES: &str = "notify-rules";
    /// Telegram chats allowed to send commands (key: chat id, value: `Chat` JSON).
    pub const NOTIFY_CHATS: &str = "notify-chats";
    /// `<channel>.<event hash>`: deliveries done (so a redelivered event is not
    /// sent again), expiring after a day.
    pub const NOTIFY_SENT: &str = "notify-sent";
    /// `telegram.offset`: the next Telegram update to read.
    pub const NOTIFY_STATE: &str = "notify-state";
    /// `lease.telegram`: the one notify instance polling Telegram.
    pub const NOTIFY_LEASES: &str = "notify-leases";
    /// Scores of texts already scored (key: [`super::sentiment::cache_key`]),
    /// expiring: the same text is scored once per TTL.
    pub const SENTIMENT_CACHE: &str = "sentiment-cache";
}

/// `evt.order.<account>.<event>`: an order's transition (`accepted`, `rejected`,
/// `canceled`, `expired`).
pub fn order_event(account: &str, event: &str) -> String {
    format!("evt.order.{account}.{event}")
}

/// `evt.fill.<account>.<symbol>`: a fill (event type ORDER_EXECUTED).
pub fn fill(account: &str, symbol: &Symbol) -> String {
    format!("evt.fill.{account}.{symbol}")
}

/// `evt.account.<account>.<event>`: cash and settings of an account (`opened`,
/// `protection`).
pub fn account_event(account: &str, event: &str) -> String {
    format!("evt.account.{account}.{event}")
}

/// `evt.fill.<account>.>`: every fill of one account.
pub fn fills_of(account: &str) -> String {
    format!("evt.fill.{account}.>")
}

/// Every ORDERS subject of one account.
pub fn orders_of(account: &str) -> Vec<String> {
    vec![
        format!("evt.order.{account}.>"),
        fills_of(account),
        format!("evt.account.{account}.>"),
    ]
}

/// `evt.portfolio.<account>`: the account after a change (PORTFOLIO_UPDATE).
pub fn portfolio_update(account: &str) -> String {
    format!("evt.portfolio.{account}")
}

/// `evt.alert.<severity>.<source>`: an alert (RISK_ALERT, …).
pub fn alert(severity: &str, source: &str) -> String {
    format!("evt.alert.{severity}.{source}")
}

/// `Nats-Msg-Id`s on ORDERS. The accept/reject id is the order's own: however
/// many instances race to record one client order id, JetStream keeps the first.
pub mod msg_id {
    pub fn order_decision(order_id: &str) -> String {
        format!("ord:{order_id}")
    }
    pub fn cancel(order_id: &str) -> String {
        format!("cxl:{order_id}")
    }
    pub fn expire(order_id: &str) -> String {
        format!("exp:{order_id}")
    }
    pub fn fill(fill_id: &str) -> String {
        format!("fill:{fill_id}")
    }
    pub fn account_opened(account: &str) -> String {
        format!("acct:{account}")
    }
    /// A portfolio update is named by the ORDERS sequence and mark that made it,
    /// so every portfolio instance publishes the same one.
    pub fn portfolio_update(account: &str, sequence: u64, mark_ts: i64) -> String {
        format!("pf:{account}:{sequence}:{mark_ts}")
    }
}

/// `job.backtest.<job>`: one parameter set of a sweep.
pub fn backtest_task(job_id: &str) -> String {
    format!("job.backtest.{job_id}")
}

/// `evt.backtest.<job>.complete`: a sweep finished (event type BACKTEST_COMPLETE).
pub fn backtest_complete(job_id: &str) -> String {
    format!("evt.backtest.{job_id}.complete")
}

/// `evt.signal.<strategy>.<symbol>`: a strategy's signal (event type TRADING_SIGNAL).
pub fn signal(strategy_id: &str, symbol: &Symbol) -> String {
    format!("evt.signal.{strategy_id}.{symbol}")
}

/// Every signal of one strategy.
pub fn signals_of(strategy_id: &str) -> String {
    format!("evt.signal.{strategy_id}.>")
}

/// Deterministic `Nats-Msg-Id` of a signal: replays and restarts re-publish the
/// same id, and JetStream drops the repeat.
pub fn signal_msg_id(
    strategy_id: &str,
    symbol: &Symbol,
    timeframe: Timeframe,
    ts: model::UnixNanos,
) -> String {
    format!("sig:{strategy_id}:{symbol}:{timeframe}:{}", ts.0)
}

/// Durable consumer on MARKET that feeds one strategy.
pub fn strategy_consumer(strategy_id: &str) -> String {
    format!("strategy-{strategy_id}")
}

/// `md.bar.<symbol>.<timeframe>`: one closed bar (event type MARKET_DATA_UPDATE).
pub fn bar(symbol: &Symbol, timeframe: Timeframe) -> String {
    format!("md.bar.{symbol}.{timeframe}")
}

/// `md.bar.*.*`-style filter for every bar of a symbol (any timeframe).
pub fn bars_of_symbol(symbol: &Symbol) -> String {
    format!("md.bar.{symbol}.*")
}

/// `md.tick.<symbol>`: one quote update (event type QUOTE_UPDATE).
pub fn tick(symbol: &Symbol) -> String {
    format!("md.tick.{symbol}")
}

/// Deterministic `Nats-Msg-Id` of a bar: a re-import or a replayed simulator
/// step is dropped by JetStream de-duplication.
pub fn bar_msg_id(symbol: &Symbol, timeframe: Timeframe, ts: model::UnixNanos) -> String {
    format!("bar:{symbol}:{timeframe}:{}", ts.0)
}

/// What a subject on the MARKET stream carries, parsed back from the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketSubject {
    Bar(Symbol, Timeframe),
    Tick(Symbol),
}

pub fn parse_market_subject(subject: &str) -> Option<MarketSubject> {
    let mut parts = subject.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("md"), Some("bar"), Some(sym), Some(tf), None) => Some(MarketSubject::Bar(
            Symbol::new(sym).ok()?,
            Timeframe::parse(tf).ok()?,
        )),
        (Some("md"), Some("tick"), Some(sym), None, None) => {
            Some(MarketSubject::Tick(Symbol::new(sym).ok()?))
        }
        _ => None,
    }
}

/// Edge deployments: a leaf node with its own JetStream domain (the edge's
/// name) runs the trading services; the hub keeps a copy of the edge's event
/// streams through stream sources across the domain. See `bus::edge`.
pub mod edge {
    use super::streams;

    /// JetStream domain of the hub an edge reports to, unless told otherwise.
    pub const HUB_DOMAIN: &str = "hub";

    /// Kept off the leaf link in both directions (leaf node `deny_exports` and
    /// `deny_imports`): events and market data (each side stores its own; the
    /// hub gets the edge's through sources, so a hub stream on `evt.order.>`
    /// must not also catch them through core interest), KV (`$KV.>`: leases,
    /// limits and states are per domain) and object stores (`$O.>`: models), and every service's request
    /// subjects (an edge trades with its own services only, and the hub's
    /// clients never land on an edge by queue-group chance). What crosses:
    /// `$JS.<domain>.API.>` and the sources' delivery, `$SRV.>` discovery,
    /// replies, and [`query`] subjects.
    pub const LINK_DENY: [&str; 15] = [
        "evt.>",
        "md.>",
        "$KV.>",
        "$O.>",
        "job.>",
        "strategy.>",
        "ind.>",
        "risk.>",
        "orders.>",
        "execution.>",
        "portfolio.>",
        "backtest.>",
        "analytics.>",
        "notify.>",
        "regime.>",
    ];

    /// The edge's streams the hub keeps a copy of, one hub stream each.
    pub const SOURCED_STREAMS: [&str; 4] = [
        streams::ORDERS,
        streams::SIGNALS,
        streams::PORTFOLIO,
        streams::ALERTS,
    ];

    /// Read-only requests a hub client may send to one edge, as
    /// [`query`]`(edge, subject)`; the edge answers them with its own services.
    pub const QUERIES: [&str; 5] = [
        super::portfolio::SUMMARY_GET,
        super::portfolio::POSITIONS_GET,
        super::execution::GET,
        super::execution::LIST,
        super::risk::STATUS,
    ];

    /// `$JS.<domain>.API`: the JetStream API of a domain, from anywhere
    /// connected to it through leaf nodes.
    pub fn api_prefix(domain: &str) -> String {
        format!("$JS.{domain}.API")
    }

    /// Hub stream holding edge `edge`'s copy of `stream`:
    /// `EDGE_<EDGE>_<STREAM>` (`edge-a`, `ORDERS` → `EDGE_EDGE_A_ORDERS`).
    pub fn hub_stream(edge: &str, stream: &str) -> String {
        format!("EDGE_{}_{stream}", edge.to_uppercase().replace('-', "_"))
    }

    /// `edge.<edge>.<subject>`: one of [`QUERIES`] addressed to one edge.
    pub fn query(edge: &str, subject: &str) -> String {
        format!("edge.{edge}.{subject}")
    }

    /// Every query subject of one edge (what its forwarder subscribes to).
    pub fn queries_of(edge: &str) -> String {
        format!("edge.{edge}.>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_subjects_do_not_overlap_streams() {
        for req in [
            md::SYMBOLS_LIST,
            md::BARS_GET,
            md::QUOTE_GET,
            md::IMPORT,
            md::QUALITY_GET,
            strategy::KINDS,
            strategy::START,
            strategy::STOP,
            strategy::LIST,
            strategy::STATUS,
            strategy::IND_COMPUTE,
            backtest::RUN,
            backtest::SWEEP_SUBMIT,
            backtest::JOB_GET,
            backtest::JOB_CANCEL,
            analytics::PERFORMANCE_GET,
            analytics::REPORT_GET,
            risk::CHECK,
            risk::LIMITS_GET,
            risk::LIMITS_SET,
            risk::HALT,
            risk::REDUCE,
            risk::RESUME,
            risk::STATUS,
            risk::internal_check(0).as_str(),
            risk::internal_check(15).as_str(),
            execution::SUBMIT,
            execution::CANCEL,
            execution::GET,
            execution::LIST,
            execution::EXCHANGE_CANCEL,
            portfolio::ACCOUNT_OPEN,
            portfolio::POSITIONS_GET,
            portfolio::SUMMARY_GET,
            portfolio::PROTECTION_SET,
            gateway::INFO,
            gateway::KEYS_CREATE,
            gateway::KEYS_LIST,
            gateway::KEYS_REVOKE,
            gateway::USERS_CREATE,
            gateway::USERS_LIST,
            gateway::USERS_DELETE,
            notify::CHANNELS_LIST,
            notify::CHANNELS_SET,
            notify::CHANNELS_DELETE,
            notify::RULES_LIST,
            notify::RULES_SET,
            notify::RULES_DELETE,
            notify::CHATS_LIST,
            notify::CHATS_SET,
            notify::CHATS_DELETE,
            notify::TEST,
            sentiment::SCORE,
            sentiment::BATCH,
            sentiment::SYMBOL_GET,
            orchestrator::PREDICT,
            orchestrator::BATCH,
            orchestrator::STATUS,
            regime::GET,
            regime::TRAIN,
            regime::MODELS_LIST,
        ] {
            assert!(!req.starts_with("job."), "{req}");
            assert!(!req.starts_with("evt."), "{req}");
            assert!(parse_market_subject(req).is_none(), "{req}");
        }
    }

    #[test]
    fn market_subjects_round_trip() {
        let s = Symbol::new("GOOG").unwrap();
        let tf = Timeframe::DAY;
        assert_eq!(bar(&s, tf), "md.bar.GOOG.1d");
        assert_eq!(
            parse_market_subject(&bar(&s, tf)),
            Some(MarketSubject::Bar(s.clone(), tf))
        );
        assert_eq!(
            parse_market_subject(&tick(&s)),
            Some(MarketSubject::Tick(s))
        );
    }
}
