//! SMA crossover: fast SMA crosses above the slow one → long, below → short.

use indicators::{Indicator, IndicatorError, Sma};
use model::{Bar, Direction, Signal, Symbol, Timeframe};

use super::{f, Series};
use crate::cross::{Cross, Crossed};
use crate::{ParamSpec, Strategy, StrategyInfo};

pub struct SmaCross {
    series: Series,
    fast: Sma,
    slow: Sma,
    cross: Cross,
}

impl SmaCross {
    pub fn info() -> StrategyInfo {
        StrategyInfo {
            kind: "sma_cross",
            description:
                "Long when the fast SMA crosses above the slow SMA, short when it crosses below",
            params: vec![
                ParamSpec::int("fast", 10.0, 1.0, 500.0, "fast SMA period"),
                ParamSpec::int("slow", 20.0, 2.0, 1000.0, "slow SMA period"),
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
        Ok(SmaCross {
            series: Series { symbol, timeframe },
            fast: Sma::new(fast)?,
            slow: Sma::new(slow)?,
            cross: Cross::default(),
        })
    }
}

impl Strategy for SmaCross {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let close = f(bar.close);
        let fast = self.fast.update(close).ok().flatten();
        let slow = self.slow.update(close).ok().flatten();
        let (fast, slow) = (fast?, slow?);
        let (p_fast, p_slow) = (self.fast.period(), self.slow.period());
        match self.cross.update(fast, slow)? {
            Crossed::Above => Some(self.series.signal(
                bar,
                Direction::Long,
                format!("sma({p_fast}) crossed above sma({p_slow})"),
            )),
            Crossed::Below => Some(self.series.signal(
                bar,
                Direction::Short,
                format!("sma({p_fast}) crossed below sma({p_slow})"),
            )),
        }
    }

    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.cross.reset();
    }

    fn warmup(&self) -> usize {
        // Both SMAs on two bars in a row.
        self.slow.lookback() + 1
    }
}
