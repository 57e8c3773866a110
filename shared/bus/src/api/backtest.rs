//! backtest service: `backtest.run`, `backtest.sweep.submit`, `backtest.job.get`,
//! `backtest.job.cancel`; the sweep task and the completion event.

use std::collections::BTreeMap;

use model::{Decimal, Symbol, Timeframe, UnixNanos};
use serde::{Deserialize, Serialize};

pub use backtest::{BacktestReport, Stats};

fn day() -> Timeframe {
    Timeframe::DAY
}
fn ten_thousand() -> Decimal {
    Decimal::from(10_000)
}
fn yes() -> bool {
    true
}

/// A strategy by kind, with parameters (missing ones take their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategySpec {
    pub kind: String,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// One bar sent inline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OhlcBar {
    pub ts: UnixNanos,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    #[serde(default)]
    pub volume: Decimal,
}

/// Where the bars come from: stored bars of `symbol` (MARKET, through
/// `md.bars.get`, `from`/`to` optional) or `bars` sent inline (`symbol` then
/// only names them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(default)]
    pub symbol: Option<Symbol>,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub from: Option<UnixNanos>,
    #[serde(default)]
    pub to: Option<UnixNanos>,
    #[serde(default)]
    pub bars: Option<Vec<OhlcBar>>,
}

/// Broker settings of a backtest (backtesting.py-compatible).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BrokerSpec {
    #[serde(default = "ten_thousand")]
    pub cash: Decimal,
    /// Fraction of traded value per side (0.002 = 0.2 %).
    #[serde(default)]
    pub commission: Decimal,
    /// Close trades still open at the end (at the last bar's open).
    #[serde(default)]
    pub finalize_trades: bool,
}

/// `backtest.run`: one backtest, answered synchronously.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub strategy: StrategySpec,
    pub data: DataSpec,
    #[serde(default = "ten_thousand")]
    pub cash: Decimal,
    #[serde(default)]
    pub commission: Decimal,
    #[serde(default)]
    pub finalize_trades: bool,
    /// Position size of a signal (default all-in, as backtesting.py).
    #[serde(default)]
    pub sizing: trading::Sizing,
    /// When it is sized: `at_fill` (default: the equity at the next open, as
    /// backtesting.py) or `at_signal` (the signal bar's close).
    #[serde(default)]
    pub sizing_at: trading::SizingMoment,
    /// Protective exits for every position a signal opens (take-profit,
    /// stop-loss, trailing stop as fractions of the entry price), filled by
    /// the paper exchange's rules; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exits: Option<model::Exits>,
    /// Include the per-bar equity curve (default true).
    #[serde(default = "yes")]
    pub include_equity: bool,
}

/// How a sweep picks parameter sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    /// Every combination of the listed values (parameters not listed keep their default).
    Grid(BTreeMap<String, Vec<f64>>),
    /// `samples` sets drawn uniformly on each parameter's declared range and step.
    Random { samples: u32, seed: u64 },
    /// A genetic search: a random first generation of `population`, then each
    /// generation bred from the results so far (tournament selection, uniform
    /// crossover, mutation with probability `mutation`); sets already tried are
    /// not run again. Seeded: the same request explores the same sets.
    Genetic {
        population: u32,
        generations: u32,
        seed: u64,
        #[serde(default = "default_mutation")]
        mutation: f64,
    },
}

fn default_mutation() -> f64 {
    0.2
}

/// Statistics a sweep can rank by (higher is better; drawdown is negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    SharpeRatio,
    SortinoRatio,
    CalmarRatio,
    ReturnPct,
    CagrPct,
    Sqn,
    ProfitFactor,
    WinRatePct,
    MaxDrawdownPct,
}

impl Objective {
    pub fn of(self, s: &Stats) -> Option<f64> {
        match self {
            Objective::SharpeRatio => s.sharpe_ratio,
            Objective::SortinoRatio => s.sortino_ratio,
            Objective::CalmarRatio => s.calmar_ratio,
            Objective::ReturnPct => s.return_pct,
            Objective::CagrPct => s.cagr_pct,
            Objective::Sqn => s.sqn,
            Objective::ProfitFactor => s.profit_factor,
            Objective::WinRatePct => s.win_rate_pct,
            Objective::MaxDrawdownPct => s.max_drawdown_pct,
        }
    }
}

/// `backtest.sweep.submit`: many backtests of one strategy kind, split into
/// tasks on the JOBS work queue; every backtest instance works on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    pub kind: String,
    pub data: DataSpec,
    pub search: Search,
    pub objective: Objective,
    #[serde(default = "ten_thousand")]
    pub cash: Decimal,
    #[serde(default)]
    pub commission: Decimal,
    #[serde(default)]
    pub finalize_trades: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Canceled,
}

/// A sweep job as stored in the `backtest-jobs` bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobRecord {
    pub job_id: String,
    pub request: SweepRequest,
    /// Parameter sets, in task order (defaults filled in).
    pub param_sets: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Parameter sets of the search that the strategy refused (e.g. fast >= slow).
    pub skipped: u32,
    pub state: JobState,
    pub created_ts: UnixNanos,
    /// Generation being run (genetic search; 0 otherwise).
    #[serde(default)]
    pub generation: u32,
}

/// `backtest.sweep.submit` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepAccepted {
    pub job_id: String,
    pub tasks: u32,
    pub skipped: u32,
}

/// One task of a sweep (payload on `job.backtest.<job>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepTask {
    pub job_id: String,
    pub index: u32,
}

/// One finished task (value in `backtest-results`, key `<job>.<index>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepResult {
    pub index: u32,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub objective: Option<f64>,
    pub stats: Stats,
    /// `$SRV` id of the instance that ran it.
    pub worker: String,
}

/// `backtest.job.get` / `backtest.job.cancel` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub job_id: String,
    /// How many of the best results to return (default 10).
    #[serde(default)]
    pub top: Option<u32>,
}

/// Progress and the best results so far (by the job's objective).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobStatus {
    pub job_id: String,
    pub state: JobState,
    pub tasks: u32,
    pub done: u32,
    pub skipped: u32,
    /// Generation being run (genetic search; 0 otherwise).
    pub generation: u32,
    pub objective: Objective,
    pub best: Vec<SweepResult>,
}

/// Data of the `BACKTEST_COMPLETE` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BacktestComplete {
    pub job_id: String,
    pub tasks: u32,
    pub best: Option<SweepResult>,
}
