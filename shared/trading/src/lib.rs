//! The trading domain, pure: plain data with serde and the rules over it, no I/O,
//! no async. The risk, execution and portfolio services and the backtest engine
//! share these rules instead of each writing its own.
//!
//! - [`order`]: order requests, validation, [`Order`] and its state machine.
//! - [`event`]: what the ORDERS stream holds (`OrderAccepted`, `OrderFilled`, …).
//! - [`exchange`]: the paper exchange's fill rules on bars and quotes (gaps,
//!   stops, stop-limits, time in force, volume share, slippage, commission).
//! - [`ledger`]: cash, positions, average price, realized and unrealized P&L.
//! - [`risk`]: limits, trading states and the pre-trade check.
//! - [`sizing`]: how a signal becomes an order quantity, at the signal or at
//!   the fill (the backtest engine and the paper path share it).
//! - [`money`]: checked decimal arithmetic ([`MoneyError`] names the fields)
//!   and the bounds of quantities, prices and cash in requests.

pub mod event;
pub mod exchange;
pub mod ledger;
pub mod money;
pub mod order;
pub mod risk;
pub mod sizing;

pub use event::{AccountOpened, OrderEvent, ProtectionSet};
pub use exchange::{ExchangeConfig, Execution, Working};
pub use ledger::{AccountLedger, Position, Totals};
pub use money::{MoneyError, MoneyErrorKind};
pub use order::{
    Bracket, Leg, Links, OffsetType, Order, OrderError, OrderRequest, OrderStatus, OrderType,
    StopLoss, TakeProfit, TimeInForce, Trailing,
};
pub use risk::{BuyingPower, RejectCode, RiskInput, RiskLimits, TradingState, Violation};
pub use sizing::{AccountAt, Fees, FillSizing, Sizing, SizingMoment};

/// True when `id` can be an account or client order id: 1 to 64 of
/// `A-Z a-z 0-9 - _` (account ids are subject tokens).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
