//! EMA crossover: fast EMA crosses above the slow one → long, below → short.

use indicators::{Ema, Indicator, IndicatorError};
use model::{Bar, Direction, Signal, Symbol, Timeframe};

use super::{f, Series};
use crate::cross::{Cross, Crossed};
use crate::{ParamSpec, Strategy, StrategyInfo};

pub struct EmaCross {
    series: Series,
    periods: (usize, usize),
    fast: Ema,
    slow: Ema,
    cross: Cross,
}

impl EmaCross {
    pub fn info() -> StrategyInfo {
        StrategyInfo {
            kind: "ema_cross",
            description:
                "Long when the fast EMA crosses above the slow EMA, short when it crosses below",
            params: vec![
                ParamSpec::int("fast", 12.0, 1.0, 500.0, "fast EMA period"),
                ParamSpec::int("slow", 26.0, 2.0, 1000.0, "slow EMA period"),
            ],
        }
    }

    pub fn new(
        symbol: Symbol,
        timeframe: Timeframe,
        fast: usize,
        slow: usize,
    ) -> Result<Self, IndicatorError> {
        if fast >= slow {
            return Err(IndicatorError::FastNotBelowSlow { fast, slow });
        }
        Ok(EmaCross {
            series: Series { symbol, timeframe },
            periods: (fast, slow),
            fast: Ema::new(fast)?,
            slow: Ema::new(slow)?,
            cross: Cross::default(),
        })
    }
}

impl Strategy for EmaCross {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let close = f(bar.close);
        let fast = self.fast.update(close).ok().flatten();
        let slow = self.slow.update(close).ok().flatten();
        let (fast, slow) = (fast?, slow?);
        let (pf, ps) = self.periods;
        match self.cross.update(fast, slow)? {
            Crossed::Above => Some(self.series.signal(
                bar,
                Direction::Long,
                format!("ema({pf}) crossed above ema({ps})"),
            )),
            Crossed::Below => Some(self.series.signal(
                bar,
                Direction::Short,
                format!("ema({pf}) crossed below ema({ps})"),
            )),
        }
    }

    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.cross.reset();
    }

    fn warmup(&self) -> usize {
        self.slow.lookback() + 1
    }
}
