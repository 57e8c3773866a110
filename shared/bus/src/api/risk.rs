//! risk service: `risk.check`, `risk.limits.get|set`, `risk.halt|reduce|resume`,
//! `risk.status`; and the `RISK_ALERT` event.

use std::collections::BTreeMap;

use model::{Decimal, Side, Symbol, UnixNanos};
use serde::{Deserialize, Serialize};
pub use trading::risk::{RejectCode, RiskLimits, TradingState, Violation};

/// `risk.check`: would this order pass? Answers accept or reject; never writes
/// an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub account: String,
    pub symbol: Symbol,
    pub side: Side,
    /// Positive, at most 1e12, at most 12 decimal places.
    #[serde(deserialize_with = "trading::money::de::qty")]
    #[schemars(with = "Decimal")]
    pub qty: Decimal,
    /// Price for notional and exposure (limit price, or the last price). Default:
    /// the last price risk knows for the symbol. Bounded like `qty`.
    #[serde(default, deserialize_with = "trading::money::de::price")]
    #[schemars(with = "Option<Decimal>")]
    pub price: Option<Decimal>,
    #[serde(default)]
    pub reduce_only: bool,
    /// When given, an accepted check reserves room (open orders, position, rate)
    /// for this order until it shows up in ORDERS.
    #[serde(default)]
    pub client_order_id: Option<String>,
    /// The exchange's commission (fraction of notional, and per order) the
    /// order will pay: buying power counts it. Default 0.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub commission_pct: Decimal,
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub commission_fixed: Decimal,
    /// Decide on ORDERS applied at least up to this sequence (execution sends
    /// what its OMS has applied), so risk sees the fills the order was sized
    /// on: every instance then answers alike. Waits `catch_up_timeout` at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders_sequence: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckResponse {
    pub accepted: bool,
    pub account: String,
    pub state: TradingState,
    /// Why not (empty when accepted); the first is the primary reason.
    pub violations: Vec<Violation>,
}

/// `risk.limits.get`, `risk.resume`, `risk.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    pub account: String,
}

/// `risk.limits.set`: replaces the account's limits (applied to the next order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSetRequest {
    pub account: String,
    pub limits: RiskLimits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LimitsResponse {
    pub account: String,
    pub limits: RiskLimits,
    /// KV revision (0: never set, the defaults apply).
    pub revision: u64,
}

/// `risk.halt` and `risk.reduce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    pub account: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// An account's trading state as stored in the `risk-state` bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StateRecord {
    pub account: String,
    pub state: TradingState,
    pub reason: String,
    pub since: UnixNanos,
}

/// What risk knows of an account, from ORDERS and PORTFOLIO.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountView {
    pub open_orders: u32,
    pub positions: BTreeMap<Symbol, Decimal>,
    pub gross_exposure: Decimal,
    pub equity: Option<Decimal>,
    pub daily_pnl: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusResponse {
    pub account: String,
    /// The account was opened (an `ACCOUNT_OPENED` event in ORDERS).
    pub known: bool,
    pub state: StateRecord,
    pub limits: RiskLimits,
    pub view: AccountView,
}

/// `RISK_ALERT` (subject `evt.alert.<severity>.risk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RiskAlert {
    pub account: String,
    /// `warning` for a rejected order, `critical` for a halt.
    pub severity: String,
    pub message: String,
    #[serde(default)]
    pub violations: Vec<Violation>,
    pub state: TradingState,
    #[serde(default)]
    pub client_order_id: Option<String>,
}
