//! JetStream provisioning: stream definitions and idempotent create-or-update, so
//! every instance of every service can call it at start-up, in any order.

use std::time::Duration;

use async_nats::jetstream::{self, stream, Context};

use crate::{subjects, BusError};

/// Knobs that differ between a laptop and a cluster.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// 1 on a single node, 3 in a cluster.
    pub replicas: usize,
    /// Oldest message kept (by publish time); zero keeps forever.
    pub max_age: Duration,
    /// Size limit of MARKET in bytes (SIGNALS gets a quarter); -1 for none.
    /// JetStream reserves it against the server's `max_file_store`.
    pub max_bytes: i64,
    /// Window in which JetStream drops a repeated `Nats-Msg-Id`.
    pub duplicate_window: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            replicas: 1,
            max_age: Duration::from_secs(90 * 24 * 3600),
            max_bytes: 4 * 1024 * 1024 * 1024,
            duplicate_window: Duration::from_secs(3600),
        }
    }
}

/// A file-backed stream with limits retention: oldest messages discarded past
/// the age or size limit, direct get on (reads from any replica).
fn limits_stream(
    name: &str,
    description: &str,
    subjects: &[&str],
    settings: &StreamSettings,
    max_bytes: i64,
) -> stream::Config {
    stream::Config {
        name: name.to_string(),
        description: Some(description.to_string()),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        storage: stream::StorageType::File,
        num_replicas: settings.replicas,
        max_age: settings.max_age,
        max_bytes,
        duplicate_window: settings.duplicate_window,
        allow_direct: true,
        ..Default::default()
    }
}

/// MARKET: bars (`md.bar.<symbol>.<timeframe>`).
pub fn market_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::MARKET,
        "market data: bars and quotes",
        &subjects::streams::MARKET_SUBJECTS,
        settings,
        settings.max_bytes,
    )
}

/// QUOTES: quote ticks (`md.tick.<symbol>`), one day and 512 MiB at most: only
/// the newest quote per symbol matters after a restart, and ticks live apart
/// from bars so a busy feed never evicts bar history.
pub fn quotes_stream(settings: &StreamSettings) -> stream::Config {
    stream::Config {
        max_age: settings.max_age.min(Duration::from_secs(24 * 3600)),
        ..limits_stream(
            subjects::streams::QUOTES,
            "market data: quote ticks (short retention)",
            &subjects::streams::QUOTES_SUBJECTS,
            settings,
            512 * 1024 * 1024,
        )
    }
}

/// SIGNALS: strategy signals (`evt.signal.<strategy>.<symbol>`), de-duplicated by
/// `Nats-Msg-Id` so replays and restarts never store a signal twice.
pub fn signals_stream(settings: &StreamSettings) -> stream::Config {
    let max_bytes = if settings.max_bytes > 0 {
        settings.max_bytes / 4
    } else {
        -1
    };
    limits_stream(
        subjects::streams::SIGNALS,
        "strategy signals",
        &subjects::streams::SIGNALS_SUBJECTS,
        settings,
        max_bytes,
    )
}

/// JOBS: backtest sweep tasks, work-queue retention: a task is removed when a
/// worker acknowledges it, and every task goes to one worker.
pub fn jobs_stream(settings: &StreamSettings) -> stream::Config {
    stream::Config {
        retention: stream::RetentionPolicy::WorkQueue,
        discard: stream::DiscardPolicy::New,
        ..limits_stream(
            subjects::streams::JOBS,
            "backtest sweep tasks (work queue)",
            &subjects::streams::JOBS_SUBJECTS,
            settings,
            256 * 1024 * 1024,
        )
    }
}

/// BACKTESTS: backtest events (`evt.backtest.<job>.complete`).
pub fn backtests_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::BACKTESTS,
        "backtest events",
        &subjects::streams::BACKTESTS_SUBJECTS,
        settings,
        64 * 1024 * 1024,
    )
}

/// ORDERS: orders, fills and account cash. Kept forever (no age or size
/// limit: positions are rebuilt from it), de-duplicated by `Nats-Msg-Id`.
pub fn orders_stream(settings: &StreamSettings) -> stream::Config {
    stream::Config {
        max_age: Duration::ZERO,
        ..limits_stream(
            subjects::streams::ORDERS,
            "orders, fills and account cash (source of truth)",
            &subjects::streams::ORDERS_SUBJECTS,
            settings,
            -1,
        )
    }
}

/// ALERTS: alerts for people (`evt.alert.<severity>.<source>`).
pub fn alerts_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::ALERTS,
        "alerts",
        &subjects::streams::ALERTS_SUBJECTS,
        settings,
        256 * 1024 * 1024,
    )
}

/// SYSTEM: the monitor's health samples (`evt.system.health`), one day and
/// 256 MiB at most: a recent history, not an archive.
pub fn system_stream(settings: &StreamSettings) -> stream::Config {
    let max_age = Duration::from_secs(24 * 3600);
    stream::Config {
        max_age: if settings.max_age.is_zero() {
            max_age
        } else {
            settings.max_age.min(max_age)
        },
        duplicate_window: settings.duplicate_window.min(Duration::from_secs(600)),
        ..limits_stream(
            subjects::streams::SYSTEM,
            "monitor health samples (SYSTEM_HEALTH)",
            &subjects::streams::SYSTEM_SUBJECTS,
            settings,
            256 * 1024 * 1024,
        )
    }
}

/// NOTIFY_DEAD: notifications given up on (`evt.notify.dead.<channel>`).
pub fn notify_dead_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::NOTIFY_DEAD,
        "notifications given up on, with the last error",
        &subjects::streams::NOTIFY_DEAD_SUBJECTS,
        settings,
        256 * 1024 * 1024,
    )
}

/// NEWS: news items (`evt.news.<id>`) the sentiment service aggregates per
/// symbol, de-duplicated by the item's id, 256 MiB at most.
pub fn news_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::NEWS,
        "news items tagged with symbols (NEWS_PUBLISHED)",
        &subjects::streams::NEWS_SUBJECTS,
        settings,
        256 * 1024 * 1024,
    )
}

/// PORTFOLIO: account summaries (`evt.portfolio.<account>`), the equity history
/// analytics reads.
pub fn portfolio_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::PORTFOLIO,
        "account summaries after every change (equity history)",
        &subjects::streams::PORTFOLIO_SUBJECTS,
        settings,
        1024 * 1024 * 1024,
    )
}

/// REGIMES: regime changes (`evt.regime.<symbol>.<timeframe>.<method>`),
/// de-duplicated by `Nats-Msg-Id` (several instances decide on the same bar).
pub fn regimes_stream(settings: &StreamSettings) -> stream::Config {
    limits_stream(
        subjects::streams::REGIMES,
        "regime changes (REGIME_CHANGE)",
        &subjects::streams::REGIMES_SUBJECTS,
        settings,
        256 * 1024 * 1024,
    )
}

/// MODELS: model versions announced (`evt.model.<name>`, ML_MODEL_UPDATE);
/// kept forever, like the versions themselves in the `models` object store.
pub fn models_stream(settings: &StreamSettings) -> stream::Config {
    stream::Config {
        max_age: Duration::ZERO,
        ..limits_stream(
            subjects::streams::MODELS,
            "model versions announced (ML_MODEL_UPDATE)",
            &subjects::streams::MODELS_SUBJECTS,
            settings,
            64 * 1024 * 1024,
        )
    }
}

/// Creates the stream, or brings an existing one to `config`; returns a handle.
/// Retried with back-off until it works (see [`provision`]). A stream already
/// there with the same settings is read, not written: in a cluster every write
/// is a proposal to the meta leader, and racing identical creates from many
/// instances is what times out.
pub async fn ensure_stream(
    js: &Context,
    config: stream::Config,
) -> Result<stream::Stream, BusError> {
    let js = provisioning_context(js);
    let name = config.name.clone();
    provision(&format!("stream {name}"), || async {
        match js.get_stream(&name).await {
            Ok(stream) if same_stream(&stream.cached_info().config, &config) => Ok(stream),
            Ok(_) => {
                js.update_stream(config.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                js.get_stream(&name).await.map_err(|e| e.to_string())
            }
            Err(e) if stream_not_found(&e) => js
                .create_stream(config.clone())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// Creates or updates a KV bucket; returns a handle. Retried like streams,
/// and like them only written when missing or different.
pub async fn ensure_kv(
    js: &Context,
    config: jetstream::kv::Config,
) -> Result<jetstream::kv::Store, BusError> {
    let js = provisioning_context(js);
    let bucket = config.bucket.clone();
    provision(&format!("KV bucket {bucket}"), || async {
        let existing = js.get_stream(format!("KV_{bucket}")).await;
        match existing {
            Ok(stream) if same_bucket(&stream.cached_info().config, &config) => js
                .get_key_value(bucket.clone())
                .await
                .map_err(|e| e.to_string()),
            Ok(_) => js
                .create_or_update_key_value(config.clone())
                .await
                .map_err(|e| e.to_string()),
            Err(e) if stream_not_found(&e) => js
                .create_key_value(config.clone())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// Provisioning requests time out sooner than the client's default: a lost
/// race is retried (and then found done) rather than waited on.
fn provisioning_context(js: &Context) -> Context {
    let mut js = js.clone();
    js.set_timeout(Duration::from_secs(3));
    js
}

fn stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(err)
            if err.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// The settings we choose, as the server reports them back.
fn same_stream(have: &stream::Config, want: &stream::Config) -> bool {
    let mut have_subjects = have.subjects.clone();
    let mut want_subjects = want.subjects.clone();
    have_subjects.sort();
    want_subjects.sort();
    have_subjects == want_subjects
        && have.retention == want.retention
        && have.discard == want.discard
        && have.storage == want.storage
        && have.num_replicas.max(1) == want.num_replicas.max(1)
        && have.max_age == want.max_age
        && have.max_bytes == want.max_bytes
        && have.duplicate_window == want.duplicate_window
        && have.allow_direct == want.allow_direct
        && have.description == want.description
        && as_json(&have.mirror) == as_json(&want.mirror)
        && as_json(&have.sources) == as_json(&want.sources)
}

fn same_bucket(have: &stream::Config, want: &jetstream::kv::Config) -> bool {
    have.max_messages_per_subject == want.history.max(1)
        && have.max_age == want.max_age
        && have.num_replicas.max(1) == want.num_replicas.max(1)
        && have.storage == want.storage
}

/// Parts of a config whose types have no `PartialEq`, compared as JSON.
fn as_json(v: &impl serde::Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

/// Runs a provisioning step until it succeeds. At start-up JetStream may not
/// be there yet (a cluster without a meta leader, a server still recovering),
/// and several services and instances create the same streams at the same
/// moment: a create racing another can time out or conflict, and an equal
/// config already there is success on the next try. So every failure is
/// retried (back-off 100 ms doubling to 5 s) and logged; it never gives up on
/// its own: the caller's shutdown ends it (the runner selects on it).
pub async fn provision<T, F, Fut>(what: &str, step: F) -> Result<T, BusError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let backoff = crate::retry::Backoff {
        first: Duration::from_millis(100),
        max: Duration::from_secs(5),
    };
    let provisioned = crate::retry::retry(
        &format!("JetStream provisioning of {what}"),
        backoff,
        None,
        step,
    )
    .await;
    Ok(provisioned.expect("without a stop signal the retry ends only with success"))
}
