//! Signals: what a strategy wants the position in a symbol to be.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Symbol, Timeframe, UnixNanos};

/// The position a strategy asks for. `Long` after `Short` means reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Long,
    Short,
    Flat,
}

/// A strategy's decision on the close of one bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Signal {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    /// Open time of the bar the decision was taken on.
    pub ts: UnixNanos,
    pub direction: Direction,
    /// Close of that bar: the price the decision saw.
    pub price: Decimal,
    /// Human-readable cause, e.g. `sma(10) crossed above sma(20)`.
    pub reason: String,
}
