//! market-data: `md.symbols.list`, `md.bars.get`, `md.quote.get`, `md.import`.

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
