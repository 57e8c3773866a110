//! The built-in strategies, one file each.
//!
//! Crossover strategies signal on every cross (as backtesting.py's examples
//! trade: close and reverse); level strategies signal when the position they
//! want changes.

mod bollinger_breakout;
mod ma_cross;
mod macd_cross;
mod rsi_reversion;

pub use bollinger_breakout::BollingerBreakout;
pub use ma_cross::{EmaCross, MaCross, SmaCross};
pub use macd_cross::MacdCross;
pub use rsi_reversion::RsiReversion;

use model::{Bar, Direction, Signal, Symbol, Timeframe};

use crate::{Params, StrategyError};

/// Rules between parameters.
pub(crate) fn check_rules(kind: &str, p: &Params) -> Result<(), StrategyError> {
    let fail = |name: &str, reason: String| {
        Err(StrategyError::InvalidParam {
            name: name.to_string(),
            reason,
        })
    };
    match kind {
        "sma_cross" | "ema_cross" | "macd_cross" if p.int("fast") >= p.int("slow") => fail(
            "fast",
            format!(
                "fast ({}) must be below slow ({})",
                p.int("fast"),
                p.int("slow")
            ),
        ),
        "rsi_reversion" if p.float("oversold") >= p.float("overbought") => fail(
            "oversold",
            format!(
                "oversold ({}) must be below overbought ({})",
                p.float("oversold"),
                p.float("overbought")
            ),
        ),
        _ => Ok(()),
    }
}

/// What every built-in needs to make a signal.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
}

impl Series {
    /// A signal decided on the close of `bar`.
    pub fn signal(&self, bar: &Bar, direction: Direction, reason: String) -> Signal {
        Signal {
            symbol: self.symbol.clone(),
            timeframe: self.timeframe,
            ts: bar.ts,
            direction,
            price: bar.close,
            reason,
            exits: None,
        }
    }

    pub fn accepts(&self, bar: &Bar) -> bool {
        bar.symbol == self.symbol && bar.timeframe == self.timeframe
    }
}

pub(crate) fn f(x: model::Decimal) -> f64 {
    model::to_f64(x)
}
