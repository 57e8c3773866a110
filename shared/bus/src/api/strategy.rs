//! strategy service: `strategy.kinds`, `strategy.start`, `strategy.stop`,
//! `strategy.list`, `strategy.status`, `ind.compute`; and the signal event.

use std::collections::BTreeMap;

use model::{Decimal, Signal, Symbol, Timeframe, UnixNanos};
use serde::{Deserialize, Serialize};

fn day() -> Timeframe {
    Timeframe::DAY
}

/// Where a paper strategy trades and how big.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PaperSettings {
    /// The account its orders go to (opened with `portfolio.account.open`).
    pub account: String,
    pub sizing: trading::Sizing,
    /// When the order is sized: `at_fill` (default; the equity at the fill,
    /// as the backtest engine) or `at_signal` (the signal bar's close).
    #[serde(default)]
    pub sizing_at: trading::SizingMoment,
}

/// The account paper strategies trade in unless told otherwise.
pub const DEFAULT_PAPER_ACCOUNT: &str = "paper";

/// What a strategy's signals are for.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Publish signals only.
    #[default]
    Signals,
    /// Signals also become orders in a paper account (execution turns them into
    /// orders through risk; the paper exchange fills them).
    Paper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    Running,
    Stopped,
}

/// `strategy.kinds` request: no fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindsRequest {}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KindsResponse {
    pub kinds: Vec<KindInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KindInfo {
    pub kind: String,
    pub description: String,
    pub params: Vec<ParamInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ParamInfo {
    pub name: String,
    /// `int` or `float`.
    #[serde(rename = "type")]
    pub kind: String,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    pub description: String,
}

/// `strategy.start`: starts (or re-starts) strategy `id`. Idempotent: starting a
/// running strategy with the same definition returns it unchanged; a different
/// definition under a running id is a conflict (stop it first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// 1 to 64 of `A-Z a-z 0-9 - _` (it is a subject token).
    pub id: String,
    /// A kind from `strategy.kinds`, e.g. `sma_cross`.
    pub kind: String,
    /// Parameters; missing ones take their defaults.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    pub symbols: Vec<Symbol>,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub mode: Mode,
    /// `paper` mode: the account (default `paper`).
    #[serde(default)]
    pub account: Option<String>,
    /// `paper` mode: position size (default `all_in`).
    #[serde(default)]
    pub sizing: Option<trading::Sizing>,
    /// `paper` mode: when the order is sized (default `at_fill`).
    #[serde(default)]
    pub sizing_at: Option<trading::SizingMoment>,
}

/// A strategy as stored in the `strategies` KV bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StrategyRecord {
    pub id: String,
    pub kind: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub symbols: Vec<Symbol>,
    pub timeframe: Timeframe,
    pub mode: Mode,
    /// Set in `paper` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<PaperSettings>,
    pub state: DesiredState,
    pub created_ts: UnixNanos,
    pub updated_ts: UnixNanos,
}

/// `strategy.stop` and `strategy.status` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyIdRequest {
    pub id: String,
}

/// `strategy.list` request: no fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ListResponse {
    pub strategies: Vec<StrategyStatus>,
}

/// Where a strategy is and what it has done, read from JetStream (so any
/// instance can answer).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StrategyStatus {
    pub record: StrategyRecord,
    /// Service instance id running it (`$SRV.PING` id), if any.
    pub owner: Option<String>,
    /// Stream sequence of the last bar fully processed.
    pub position: u64,
    /// Bars waiting for it in MARKET.
    pub pending_bars: u64,
    /// Signals stored in SIGNALS.
    pub signals: u64,
    pub last_signal: Option<Signal>,
}

/// Data of a `TRADING_SIGNAL` event on `evt.signal.<strategy>.<symbol>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignalEvent {
    pub strategy_id: String,
    pub kind: String,
    pub mode: Mode,
    /// Set in `paper` mode: where the signal trades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<PaperSettings>,
    pub signal: Signal,
    /// MARKET stream sequence of the bar that caused it.
    pub bar_sequence: u64,
}

/// A bar sent inline to `ind.compute` (symbol and timeframe not needed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InlineBar {
    pub ts: UnixNanos,
    #[serde(default)]
    pub open: Option<Decimal>,
    #[serde(default)]
    pub high: Option<Decimal>,
    #[serde(default)]
    pub low: Option<Decimal>,
    pub close: Decimal,
}

/// `ind.compute`: an indicator over stored bars (`symbol`, `timeframe`, `from`,
/// `to`) or over `bars` sent inline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputeRequest {
    /// `sma`, `ema`, `wma`, `rsi`, `macd`, `bbands`, `atr`, `stoch`.
    pub indicator: String,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub symbol: Option<Symbol>,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub from: Option<UnixNanos>,
    #[serde(default)]
    pub to: Option<UnixNanos>,
    #[serde(default)]
    pub bars: Option<Vec<InlineBar>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComputeResponse {
    pub indicator: String,
    /// Parameters used, defaults filled in.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Names of the output columns (e.g. `macd`, `signal`, `hist`).
    pub columns: Vec<String>,
    /// One point per input bar from the first one with a value (warm-up skipped).
    pub points: Vec<IndicatorPoint>,
    /// Input bars consumed before the first value.
    pub lookback: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IndicatorPoint {
    pub ts: UnixNanos,
    pub values: BTreeMap<String, f64>,
}

/// Checks a strategy id: it becomes a subject token and a consumer name.
pub fn valid_strategy_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
