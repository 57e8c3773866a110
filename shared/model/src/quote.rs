//! Quotes: best bid and ask plus the last trade price.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Symbol, UnixNanos};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Quote {
    pub symbol: Symbol,
    pub ts: UnixNanos,
    pub bid: Decimal,
    pub ask: Decimal,
    pub last: Decimal,
}

impl Quote {
    /// Mid price, (bid + ask) / 2.
    pub fn mid(&self) -> Decimal {
        (self.bid + self.ask) / Decimal::TWO
    }
}
