//! The envelope of every durable message (JetStream event). The body of a
//! message on `md.bar.>`, `evt.signal.>` and the other event subjects is an
//! `Event<T>` in JSON:
//!
//! ```json
//! {"id":"…","type":"MARKET_DATA_UPDATE","ts":1700000000000000000,
//!  "correlation_id":"…","source":"market-data","data":{…}}
//! ```

use serde::{Deserialize, Serialize};

use crate::UnixNanos;

/// Event type names (the `type` field).
pub mod types {
    pub const MARKET_DATA_UPDATE: &str = "MARKET_DATA_UPDATE";
    pub const QUOTE_UPDATE: &str = "QUOTE_UPDATE";
    pub const TRADING_SIGNAL: &str = "TRADING_SIGNAL";
    pub const BACKTEST_COMPLETE: &str = "BACKTEST_COMPLETE";
    pub const ORDER_ACCEPTED: &str = "ORDER_ACCEPTED";
    pub const ORDER_REJECTED: &str = "ORDER_REJECTED";
    pub const ORDER_CANCELED: &str = "ORDER_CANCELED";
    pub const ORDER_EXPIRED: &str = "ORDER_EXPIRED";
    /// A fill.
    pub const ORDER_EXECUTED: &str = "ORDER_EXECUTED";
    pub const ACCOUNT_OPENED: &str = "ACCOUNT_OPENED";
    pub const PROTECTION_SET: &str = "PROTECTION_SET";
    pub const PORTFOLIO_UPDATE: &str = "PORTFOLIO_UPDATE";
    pub const RISK_ALERT: &str = "RISK_ALERT";
    /// A monitor's sample of the platform (`evt.system.health`).
    pub const SYSTEM_HEALTH: &str = "SYSTEM_HEALTH";
    /// An alert the monitor raised (instance gone, error rate, consumer lag).
    pub const MONITOR_ALERT: &str = "MONITOR_ALERT";
    /// A news item (`evt.news.<id>`), tagged with the symbols it is about.
    pub const NEWS_PUBLISHED: &str = "NEWS_PUBLISHED";
    /// A symbol's market regime changed (`evt.regime.…`).
    pub const REGIME_CHANGE: &str = "REGIME_CHANGE";
    /// A new model version was stored (`evt.model.<name>`).
    pub const ML_MODEL_UPDATE: &str = "ML_MODEL_UPDATE";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event<T> {
    /// Unique id of this event; also its `Nats-Msg-Id` unless the producer
    /// derives a deterministic one for de-duplication.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event was created (UTC ns).
    pub ts: UnixNanos,
    pub correlation_id: String,
    /// Name of the service that produced it.
    pub source: String,
    pub data: T,
}

impl<T> Event<T> {
    pub fn new(
        id: impl Into<String>,
        kind: &str,
        correlation_id: impl Into<String>,
        source: &str,
        data: T,
    ) -> Self {
        Event {
            id: id.into(),
            kind: kind.to_string(),
            ts: UnixNanos::now(),
            correlation_id: correlation_id.into(),
            source: source.to_string(),
            data,
        }
    }
}
