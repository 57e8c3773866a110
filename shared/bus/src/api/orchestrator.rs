//! orchestrator service: `orchestrator.predict`, `orchestrator.batch`,
//! `orchestrator.status`.
//!
//! A prediction fans out to market data, indicators, sentiment, regime and
//! the strategy, then asks risk what size it would allow. Every step reports
//! its status and time; a step that failed, timed out or whose dependency's
//! circuit breaker is open is listed in `missing` and the decision is taken
//! without it.

use model::{Decimal, Symbol, Timeframe, UnixNanos};
use serde::{Deserialize, Serialize};

fn day() -> Timeframe {
    Timeframe::DAY
}

/// Most symbols in one `orchestrator.batch`.
pub const MAX_BATCH: usize = 100;
/// Most bars a prediction looks back over.
pub const MAX_LOOKBACK: u32 = 2_000;

/// A built-in strategy (a kind of `strategy.kinds`) with its parameters; in
/// an ensemble, its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategySpec {
    pub kind: String,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Weight in an ensemble (default 1).
    #[serde(default)]
    pub weight: Option<f64>,
}

/// `orchestrator.predict`: what should be done in `symbol` now?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    pub symbol: Symbol,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    /// One strategy; default `sma_cross` with its default parameters.
    #[serde(default)]
    pub strategy: Option<StrategySpec>,
    /// Several strategies voting with weights (instead of `strategy`).
    #[serde(default)]
    pub ensemble: Option<Vec<StrategySpec>>,
    /// Account risk sizes the order for; without one the risk step is skipped.
    #[serde(default)]
    pub account: Option<String>,
    /// Units proposed to risk (halved until risk accepts); default 100.
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// Bars the strategy and indicators look at (default 300).
    #[serde(default)]
    pub lookback: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Buy,
    Sell,
    Hold,
}

/// The one decision of a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decision {
    pub action: Action,
    /// Units risk would allow (0 for hold or when risk allows nothing; the
    /// proposed size when no account was given or risk is missing).
    pub size: Decimal,
    /// 0 to 1: how strongly the parts agree.
    pub confidence: f64,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    /// The dependency answered with an error or could not be reached.
    Failed,
    /// No answer within the step's timeout.
    Timeout,
    /// Not asked: the dependency's circuit breaker is open.
    CircuitOpen,
    /// Not needed (e.g. risk without an account) or an input it needs is missing.
    Skipped,
}

/// One step of a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Step {
    /// `bars`, `quote`, `indicators`, `sentiment`, `regime`, `strategy`, `risk`.
    pub name: String,
    /// The subject asked (empty for local steps).
    pub subject: String,
    pub status: StepStatus,
    pub elapsed_ms: f64,
    /// The dependency's answer (or a summary of it).
    #[serde(default)]
    pub result: serde_json::Value,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PredictResponse {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub decision: Decision,
    /// Every step, in a fixed order.
    pub steps: Vec<Step>,
    /// Steps whose part is missing from the decision (failed, timed out, breaker open).
    pub missing: Vec<String>,
    /// `missing` is not empty.
    pub partial: bool,
    /// Open time of the newest bar the decision saw.
    pub bar_ts: Option<UnixNanos>,
    pub elapsed_ms: f64,
}

/// `orchestrator.batch`: one prediction per symbol with the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub symbols: Vec<Symbol>,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub strategy: Option<StrategySpec>,
    #[serde(default)]
    pub ensemble: Option<Vec<StrategySpec>>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub qty: Option<Decimal>,
    #[serde(default)]
    pub lookback: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchItem {
    pub symbol: Symbol,
    #[serde(default)]
    pub prediction: Option<PredictResponse>,
    /// Why there is no prediction (e.g. an invalid strategy).
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchResponse {
    pub results: Vec<BatchItem>,
    pub elapsed_ms: f64,
}

/// `orchestrator.status`: the whole system in one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// Accounts to report (default: `paper`).
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemStatus {
    pub ts: UnixNanos,
    /// Every micro service answering `$SRV.PING`, with its instance count.
    pub services: Vec<ServiceUp>,
    /// `monitor.status` when a monitor answered (its full view), else null.
    #[serde(default)]
    pub monitor: Option<serde_json::Value>,
    /// Every JetStream stream.
    pub streams: Vec<StreamSummary>,
    /// `strategy.list`, when the strategy service answered.
    #[serde(default)]
    pub strategies: Option<Vec<StrategySummary>>,
    pub accounts: Vec<AccountState>,
    /// Each dependency's circuit breaker in this orchestrator instance.
    pub breakers: Vec<BreakerState>,
    /// Parts that did not answer.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceUp {
    pub name: String,
    pub instances: usize,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreamSummary {
    pub name: String,
    pub messages: u64,
    pub bytes: u64,
    pub consumers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StrategySummary {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub owner: Option<String>,
    pub signals: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountState {
    pub account: String,
    /// `risk.status` (state, limits, view), when risk answered.
    #[serde(default)]
    pub risk: Option<serde_json::Value>,
    /// `portfolio.summary.get`, when portfolio answered.
    #[serde(default)]
    pub summary: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BreakerState {
    pub dependency: String,
    /// `closed`, `open` or `half_open`.
    pub state: String,
    pub consecutive_failures: u32,
    /// Times it opened since the service started.
    pub opened: u64,
}
