//! market-data: `md.symbols.list`, `md.bars.get`, `md.quote.get`, `md.import`,
//! `md.quality.get`.

use std::collections::BTreeMap;

use model::{Bar, Decimal, Quote, Symbol, Timeframe, UnixNanos};
use serde::{Deserialize, Serialize};

fn day() -> Timeframe {
    Timeframe::DAY
}

/// `md.symbols.list` request: no fields (an empty body works).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolsRequest {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SymbolsResponse {
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SymbolInfo {
    pub symbol: Symbol,
    /// Last known price (last tick, else the close of the newest bar).
    pub last: Option<Decimal>,
    pub last_ts: Option<UnixNanos>,
    pub series: Vec<SeriesInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeriesInfo {
    pub timeframe: Timeframe,
    pub bars: u64,
    pub first_ts: UnixNanos,
    pub last_ts: UnixNanos,
}

/// `md.bars.get` request. Bars with `from <= ts <= to`, oldest first, at most
/// `limit` (default and maximum [`MAX_BARS`]); when more remain, the response's
/// `next_from` is the `from` of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BarsRequest {
    pub symbol: Symbol,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub from: Option<UnixNanos>,
    #[serde(default)]
    pub to: Option<UnixNanos>,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub const MAX_BARS: u32 = 5_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BarsResponse {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub bars: Vec<Bar>,
    pub next_from: Option<UnixNanos>,
}

/// `md.quote.get` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub symbol: Symbol,
}

/// `md.quote.get` response: the last quote.
pub type QuoteResponse = Quote;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Any bad row rejects the whole file: nothing is published.
    #[default]
    Strict,
    /// Good rows are published, bad rows are reported.
    Lenient,
}

/// `md.import` request: CSV text with header `Date,Open,High,Low,Close,Volume`
/// (case-insensitive, extra columns ignored), inline in `csv` or read by the
/// service from `path` (a file on the service's machine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub symbol: Symbol,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub mode: ImportMode,
    #[serde(default)]
    pub csv: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    /// Calendar the import's quality summary judges gaps against (default:
    /// weekends closed, whole day open).
    #[serde(default)]
    pub calendar: Option<Calendar>,
}

/// What an import did. Also the `details` of the error reply when a strict
/// import is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImportReport {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub mode: ImportMode,
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Bars newly stored in MARKET.
    pub published: u64,
    /// Valid bars already in MARKET (same symbol, timeframe and time).
    pub duplicates: u64,
    pub rejected: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// The first rejects, in file order (at most [`MAX_REPORTED_REJECTS`]).
    pub rejects: Vec<RowReject>,
    pub first_ts: Option<UnixNanos>,
    pub last_ts: Option<UnixNanos>,
    /// The `md.quality.get` rules applied to the file's valid bars.
    #[serde(default)]
    pub quality: Option<QualitySummary>,
}

pub const MAX_REPORTED_REJECTS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RowReject {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// Machine-readable reason: `wrong_column_count`, `invalid_timestamp`,
    /// `non_numeric_price`, `non_numeric_volume`, `non_positive_price`,
    /// `high_below_low`, `open_close_outside_range`, `negative_volume`,
    /// `duplicate_timestamp`, `out_of_order_timestamp`.
    pub reason: String,
    pub message: String,
}

/// When a market is open, for gap detection. Times are UTC. The default:
/// weekends closed, open all day, no holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// Saturdays and Sundays are trading days (crypto); default false.
    #[serde(default)]
    pub weekends: bool,
    /// Daily session `HH:MM-HH:MM` (UTC) for intraday timeframes; a start after
    /// the end spans midnight. Default: the whole day.
    #[serde(default)]
    pub session: Option<String>,
    /// Known closed days (`YYYY-MM-DD`, e.g. exchange holidays): not gaps.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl Calendar {
    /// Every day, all day (crypto, the simulator).
    pub fn always_open() -> Self {
        Calendar {
            weekends: true,
            ..Default::default()
        }
    }
}

/// `md.quality.get` request: scores the stored bars of a series with
/// `from <= ts <= to` (default: all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityRequest {
    pub symbol: Symbol,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    #[serde(default)]
    pub from: Option<UnixNanos>,
    #[serde(default)]
    pub to: Option<UnixNanos>,
    #[serde(default)]
    pub calendar: Option<Calendar>,
    /// Thresholds; defaults in [`QualityThresholds::default`].
    #[serde(default)]
    pub thresholds: Option<QualityThresholds>,
}

/// Thresholds of the quality rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QualityThresholds {
    /// A return is an outlier past this robust z-score (0.6745·(r − median)/MAD).
    pub outlier_z: f64,
    /// A volume is an anomaly past this robust z-score of ln(1 + volume).
    pub volume_z: f64,
    /// This many bars in a row with the previous bar's open, high, low and close
    /// are stale.
    pub stale_run: u32,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        QualityThresholds {
            outlier_z: 8.0,
            volume_z: 8.0,
            stale_run: 3,
        }
    }
}

/// One flagged bar (or, for gaps, one missing bar time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Flagged {
    pub ts: UnixNanos,
    /// Machine-readable kind: gaps `missing` or `possible_holiday` (a lone
    /// missing trading day of a daily series); outliers `return_outlier`; stale
    /// `repeated_prices`; ohlc `non_positive_price`, `high_below_low`,
    /// `high_below_open_close`, `low_above_open_close`; volume
    /// `negative_volume`, `zero_volume`, `volume_outlier`.
    pub kind: String,
    pub detail: String,
}

/// One rule's findings. `count` is exact; `bars` lists at most
/// [`MAX_FLAGGED`] of them, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QualityPart {
    pub count: u64,
    /// 100 × (1 − count / expected bars).
    pub score: f64,
    pub bars: Vec<Flagged>,
}

pub const MAX_FLAGGED: usize = 1_000;

/// `md.quality.get` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QualityReport {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub calendar: Calendar,
    pub thresholds: QualityThresholds,
    /// Bars examined.
    pub bars: u64,
    /// Bars the calendar expects between the first and the last bar (present +
    /// missing; possible holidays excluded).
    pub expected: u64,
    pub first_ts: Option<UnixNanos>,
    pub last_ts: Option<UnixNanos>,
    /// 100 × (1 − distinct flagged times / expected); possible holidays are
    /// reported but not counted.
    pub score: f64,
    /// Gap bars of kind `possible_holiday` (also in `gaps`, not scored).
    pub possible_holidays: u64,
    pub gaps: QualityPart,
    pub outliers: QualityPart,
    pub stale: QualityPart,
    pub ohlc: QualityPart,
    pub volume: QualityPart,
}

/// The score and per-rule counts (in import reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QualitySummary {
    pub score: f64,
    pub gaps: u64,
    pub possible_holidays: u64,
    pub outliers: u64,
    pub stale: u64,
    pub ohlc: u64,
    pub volume: u64,
}
