//! MACD crossover: the MACD line crosses above its signal line → long, below →
//! short.

use indicators::{Indicator, IndicatorError, Macd};
use model::{Bar, Direction, Signal, Symbol, Timeframe};

use super::{f, Series};
use crate::cross::{Cross, Crossed};
use crate::{ParamSpec, Strategy, StrategyInfo};

pub struct MacdCross {
    series: Series,
    macd: Macd,
    cross: Cross,
}

impl MacdCross {
    pub fn info() -> StrategyInfo {
        StrategyInfo {
            kind: "macd_cross",
            description:
                "Long when the MACD line crosses above its signal line, short when it crosses below",
            params: vec![
                ParamSpec::int("fast", 12.0, 2.0, 500.0, "fast EMA period"),
                ParamSpec::int("slow", 26.0, 3.0, 1000.0, "slow EMA period"),
                ParamSpec::int("signal", 9.0, 1.0, 500.0, "signal EMA period"),
            ],
        }
    }

    pub fn new(
        symbol: Symbol,
        timeframe: Timeframe,
        fast: usize,
        slow: usize,
        signal: usize,
    ) -> Result<Self, IndicatorError> {
        Ok(MacdCross {
            series: Series { symbol, timeframe },
            macd: Macd::new(fast, slow, signal)?,
            cross: Cross::default(),
        })
    }
}

impl Strategy for MacdCross {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let v = self.macd.update(f(bar.close)).ok().flatten()?;
        match self.cross.update(v.macd, v.signal)? {
            Crossed::Above => Some(self.series.signal(
                bar,
                Direction::Long,
                "macd crossed above its signal".to_string(),
            )),
            Crossed::Below => Some(self.series.signal(
                bar,
                Direction::Short,
                "macd crossed below its signal".to_string(),
            )),
        }
    }

    fn reset(&mut self) {
        self.macd.reset();
        self.cross.reset();
    }

    fn warmup(&self) -> usize {
        self.macd.lookback() + 1
    }
}
