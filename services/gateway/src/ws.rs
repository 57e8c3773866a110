//! WebSocket `/ws`: clients subscribe to channels with filters; events from
//! core NATS subscriptions are fanned out to them.
//!
//! Client → server: `{"op":"subscribe","channel":"quotes","symbol":"SIM-A"}`,
//! `{"op":"unsubscribe",...}` (same fields). Server → client:
//! `{"channel":"quotes","data":<event JSON>}`, and notices
//! (`{"notice":"dropped","count":N}`, `{"notice":"subscribed",...}`, errors).

use serde::{Deserialize, Serialize};

/// What a client can subscribe to, and the subjects behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// `md.bar.<symbol>.<timeframe>` (filter: `symbol`).
    Bars,
    /// `md.tick.<symbol>` (filter: `symbol`); coalesced per symbol for slow clients.
    Quotes,
    /// `evt.signal.<strategy>.<symbol>` (filters: `strategy`, `symbol`).
    Signals,
    /// `evt.order.<account>.<event>` (filter: `account`).
    Orders,
    /// `evt.fill.<account>.<symbol>` (filters: `account`, `symbol`).
    Fills,
    /// `evt.portfolio.<account>` (filter: `account`); coalesced per account.
    Positions,
    /// `evt.alert.<severity>.<source>` (filter: `account`, read from the alert).
    Alerts,
    /// `evt.system.health` (the monitor's `SYSTEM_HEALTH`).
    Health,
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ClientMessage {
    Subscribe(Subscription),
    Unsubscribe(Subscription),
}

/// A channel and its filters (absent: everything the caller may see).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub channel: Channel,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub strategy: Option<String>,
}

/// A message to the client: an event, or a notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ServerMessage {
    Event {
        channel: Channel,
        /// The event as published (the envelope `{"id","type","ts","correlation_id","source","data"}`).
        data: serde_json::Value,
    },
    Notice {
        /// `dropped` (this many events did not fit in the client's queue),
        /// `subscribed`, `unsubscribed`, `error`.
        notice: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}
