//! analytics service: `analytics.performance.get`, `analytics.report.get`.

use serde::{Deserialize, Serialize};

use super::backtest::{BacktestReport, RunRequest, Stats};

/// What to analyse: a backtest given in full (as for `backtest.run`), one
/// result of a sweep (`job_id`, `index`), which is run again with its
/// parameters, or a live or paper account from its history (PORTFOLIO for the
/// equity, ORDERS for the trades), compared with buying and holding
/// `benchmark` (default: the symbol it traded most) over the same bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    Backtest(Box<RunRequest>),
    SweepResult {
        job_id: String,
        index: u32,
    },
    Account {
        account: String,
        #[serde(default)]
        benchmark: Option<model::Symbol>,
        /// Bars the equity is sampled at (default: the benchmark's newest series).
        #[serde(default)]
        timeframe: Option<model::Timeframe>,
        /// Where the equity curve comes from (default `portfolio`).
        #[serde(default)]
        equity: AccountEquity,
    },
}

/// How an account's equity curve is built.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccountEquity {
    /// The account's `PORTFOLIO_UPDATE`s over the span they cover (what the
    /// portfolio saw when it saw it).
    #[default]
    Portfolio,
    /// Parity with a backtest: the opening cash and the account's fills,
    /// marked at the close of every bar of the benchmark's whole stored
    /// series (other symbols at their last fill price), exactly as the
    /// backtest engine marks its account. For accounts that traded
    /// history (a paper strategy over stored bars).
    Fills,
}

/// `analytics.performance.get` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformanceRequest {
    pub source: Source,
}

/// Performance against buying and holding the traded symbol over the same bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Performance {
    pub stats: Stats,
    /// Buy & hold of the symbol from the first bar the strategy could trade.
    pub buy_hold_return_pct: Option<f64>,
    /// Return minus buy & hold return, in percentage points.
    pub excess_return_pct: Option<f64>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Json,
    /// A self-contained HTML page: SVG equity and drawdown charts, statistics,
    /// trade list; no external resources.
    Html,
}

/// `analytics.report.get` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub source: Source,
    #[serde(default)]
    pub format: ReportFormat,
    /// Page title (HTML).
    #[serde(default)]
    pub title: Option<String>,
}

/// `analytics.report.get` response: the report, and the HTML page when asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub title: String,
    pub performance: Performance,
    pub backtest: BacktestReport,
    #[serde(default)]
    pub html: Option<String>,
}
