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
    /// Protective exits for the position this signal opens (an order intent:
    /// the backtest engine places them as a bracket on the entry's fill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exits: Option<Exits>,
}

/// Exits of a position, as fractions of its entry price (0.05 = 5 %): a
/// take-profit limit, a stop-loss stop and a trailing stop (offset = the
/// fraction of the best price since entry). Any subset; the first to fill
/// cancels the others (OCO), and they end with the position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing_stop: Option<Decimal>,
}
