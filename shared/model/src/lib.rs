//! Domain model of the trading platform: plain data with serde, no I/O, no async.
//!
//! - [`time`]: [`UnixNanos`], UTC nanosecond timestamps, and their parsing.
//! - [`symbol`]: [`Symbol`], an instrument name that is also a valid subject token.
//! - [`timeframe`]: [`Timeframe`], the bar interval (`1s`, `1m`, `1d`, …).
//! - [`bar`]: [`Bar`] (OHLCV, decimal prices) and its validation rules.
//! - [`quote`]: [`Quote`], top of book plus last trade price.
//! - [`signal`]: [`Signal`], what a strategy emits.
//! - [`event`]: [`Event`], the envelope every durable message travels in.
//! - [`ids`]: message and correlation ids.
//!
//! Money and quantities are [`rust_decimal::Decimal`], never floating point.

pub mod bar;
pub mod event;
pub mod ids;
pub mod quote;
pub mod signal;
pub mod symbol;
pub mod time;
pub mod timeframe;

pub use bar::{Bar, BarError};
pub use event::Event;
pub use quote::Quote;
pub use rust_decimal::Decimal;
pub use signal::{Direction, Signal};
pub use symbol::{Symbol, SymbolError};
pub use time::{TimeError, UnixNanos};
pub use timeframe::{Timeframe, TimeframeError};

/// Buy or sell.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}
