//! portfolio service: `portfolio.account.open`, `portfolio.positions.get`,
//! `portfolio.summary.get`, `portfolio.protection.set`; and `PORTFOLIO_UPDATE`.

use model::{Decimal, UnixNanos};
use serde::{Deserialize, Serialize};
pub use trading::event::{AccountOpened, ProtectionSet};
pub use trading::ledger::Position;

/// `portfolio.account.open`: a new account with its cash. Opening an open
/// account again returns it unchanged (the first cash stands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountRequest {
    pub account: String,
    /// At least 0, at most 1e18, at most 12 decimal places.
    #[serde(deserialize_with = "trading::money::de::cash")]
    #[schemars(with = "Decimal")]
    pub cash: Decimal,
}

/// `portfolio.positions.get`, `portfolio.summary.get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    pub account: String,
}

/// An account's money. `equity = cash + Σ position qty × last price`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub account: String,
    pub deposits: Decimal,
    pub cash: Decimal,
    pub equity: Decimal,
    pub market_value: Decimal,
    pub realized_pnl: Decimal,
    pub unrealized_pnl: Decimal,
    pub commissions: Decimal,
    pub gross_exposure: Decimal,
    pub daily_pnl: Decimal,
    pub open_positions: u32,
    pub fills: u64,
    /// ORDERS sequence the summary includes.
    pub sequence: u64,
    /// Market time of the newest fill or mark.
    pub market_ts: UnixNanos,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PositionsResponse {
    pub account: String,
    /// Open positions (non-zero quantity), by symbol.
    pub positions: Vec<Position>,
    pub sequence: u64,
}

/// `PORTFOLIO_UPDATE` (subject `evt.portfolio.<account>`): the account after a
/// fill or a new mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PortfolioUpdate {
    pub summary: Summary,
    pub positions: Vec<Position>,
}

/// `portfolio.protection.set` request: a [`ProtectionSet`] (stop-loss and
/// take-profit of one position; `null` clears a level). Answers the position.
pub type ProtectionRequest = ProtectionSet;
