//! RSI mean reversion, long only: RSI crosses below `oversold` → long (buy the
//! dip); RSI crosses above `overbought` → flat (take the profit). A signal only
//! when the wanted position changes.

use indicators::{Indicator, IndicatorError, Rsi};
use model::{Bar, Direction, Signal, Symbol, Timeframe};

use super::{f, Series};
use crate::cross::{Cross, Crossed};
use crate::{ParamSpec, Strategy, StrategyInfo};

pub struct RsiReversion {
    series: Series,
    period: usize,
    oversold: f64,
    overbought: f64,
    rsi: Rsi,
    low_cross: Cross,
    high_cross: Cross,
    position: Direction,
}

impl RsiReversion {
    pub fn info() -> StrategyInfo {
        StrategyInfo {
            kind: "rsi_reversion",
            description: "Long when RSI crosses below the oversold level, flat when it crosses above the overbought level",
            params: vec![
                ParamSpec::int("period", 14.0, 2.0, 500.0, "RSI period"),
                ParamSpec::float("oversold", 30.0, 1.0, 99.0, 1.0, "buy below this RSI"),
                ParamSpec::float("overbought", 70.0, 1.0, 99.0, 1.0, "exit above this RSI"),
            ],
        }
    }

    pub fn new(
        symbol: Symbol,
        timeframe: Timeframe,
        period: usize,
        oversold: f64,
        overbought: f64,
    ) -> Result<Self, IndicatorError> {
        Ok(RsiReversion {
            series: Series { symbol, timeframe },
            period,
            oversold,
            overbought,
            rsi: Rsi::new(period)?,
            low_cross: Cross::default(),
            high_cross: Cross::default(),
            position: Direction::Flat,
        })
    }
}

impl Strategy for RsiReversion {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let rsi = self.rsi.update(f(bar.close)).ok().flatten()?;
        let below = self.low_cross.update(rsi, self.oversold) == Some(Crossed::Below);
        let above = self.high_cross.update(rsi, self.overbought) == Some(Crossed::Above);
        let (want, reason) = if below {
            (
                Direction::Long,
                format!(
                    "rsi({}) {rsi:.2} crossed below {}",
                    self.period, self.oversold
                ),
            )
        } else if above {
            (
                Direction::Flat,
                format!(
                    "rsi({}) {rsi:.2} crossed above {}",
                    self.period, self.overbought
                ),
            )
        } else {
            return None;
        };
        if want == self.position {
            return None;
        }
        self.position = want;
        Some(self.series.signal(bar, want, reason))
    }

    fn reset(&mut self) {
        self.rsi.reset();
        self.low_cross.reset();
        self.high_cross.reset();
        self.position = Direction::Flat;
    }

    fn warmup(&self) -> usize {
        self.rsi.lookback() + 1
    }
}
