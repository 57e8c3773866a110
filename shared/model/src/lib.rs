//! Domain model of the trading platform: plain data with serde, no I/O, no async.
//!
//! - [`time`]: [`UnixNanos`], UTC nanosecond timestamps, and their parsing.
//! - [`symbol`]: [`Symbol`], an instrument name that is also a valid subject token.
//! - [`timeframe`]: [`Timeframe`], the bar interval (`1s`, `1m`, `1d`, …).
//! - [`bar`]: [`Bar`] (OHLCV, decimal prices) and its validation rules.
//! - [`quote`]: [`Quote`], top of book plus last trade price.
//! - [`signal`]: [`Signal`], what a strategy emits.
//! - [`regime`]: [`Regime`] labels and the [`RegimeMethod`] that detects them.
//! - [`event`]: [`Event`], the envelope every durable message travels in.
//! - [`ids`]: message and correlation ids.
//!
//! Money and quantities are [`rust_decimal::Decimal`], never floating point.

pub mod bar;
pub mod event;
pub mod ids;
pub mod quote;
pub mod regime;
pub mod signal;
pub mod symbol;
pub mod time;
pub mod timeframe;

pub use bar::{Bar, BarError};
pub use event::Event;
pub use quote::Quote;
pub use regime::{Regime, RegimeMethod};
pub use rust_decimal::Decimal;
pub use signal::{Direction, Exits, Signal};
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

/// `Decimal` → `f64` for indicators and statistics. Correctly rounded (the
/// `f64` Python parses from the same digits) when the mantissa fits 53 bits,
/// which covers prices, cash and equity in practice, and several times faster
/// than `Decimal::to_f64`, which takes over otherwise.
#[inline]
pub fn to_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let m = d.mantissa();
    match POW10.get(d.scale() as usize) {
        // Both operands are exact in f64, so the one division rounds once.
        Some(p) if m.unsigned_abs() < 1 << 53 => m as i64 as f64 / p,
        _ => d.to_f64().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod to_f64_tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn correctly_rounded_like_parsing_the_digits() {
        for s in [
            "100.34",
            "0.1",
            "-7.0000001",
            "123456789.123456",
            "1e-9",
            "0",
            "2148.99",
        ] {
            let d = Decimal::from_str(s)
                .or_else(|_| Decimal::from_scientific(s))
                .unwrap();
            assert_eq!(to_f64(d), d.to_string().parse::<f64>().unwrap(), "{s}");
        }
        assert_eq!(to_f64(Decimal::MAX), 7.922816251426434e28);
    }
}
