//! Moving-average crossover, for any moving average: the fast one crosses above
//! the slow one → long, below → short. `sma_cross` and `ema_cross` are this
//! with SMAs and EMAs.

use indicators::{Ema, Indicator, IndicatorError, Sma};
use model::{Bar, Direction, Signal, Symbol, Timeframe};

use super::{f, Series};
use crate::cross::{Cross, Crossed};
use crate::{ParamSpec, Strategy, StrategyInfo};

pub struct MaCross<M> {
    series: Series,
    label: &'static str,
    periods: (usize, usize),
    fast: M,
    slow: M,
    cross: Cross,
}

/// SMA crossover (`sma_cross`).
pub type SmaCross = MaCross<Sma>;
/// EMA crossover (`ema_cross`).
pub type EmaCross = MaCross<Ema>;

impl<M: Indicator<Input = f64, Output = f64>> MaCross<M> {
    fn with(
        symbol: Symbol,
        timeframe: Timeframe,
        label: &'static str,
        (fast, slow): (usize, usize),
        make: fn(usize) -> Result<M, IndicatorError>,
    ) -> Result<Self, IndicatorError> {
        if fast >= slow {
            return Err(IndicatorError::FastNotBelowSlow { fast, slow });
        }
        Ok(MaCross {
            series: Series { symbol, timeframe },
            label,
            periods: (fast, slow),
            fast: make(fast)?,
            slow: make(slow)?,
            cross: Cross::default(),
        })
    }
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
        Self::with(symbol, timeframe, "sma", (fast, slow), Sma::new)
    }
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
        Self::with(symbol, timeframe, "ema", (fast, slow), Ema::new)
    }
}

impl<M: Indicator<Input = f64, Output = f64> + Send> Strategy for MaCross<M> {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let close = f(bar.close);
        let fast = self.fast.update(close).ok().flatten();
        let slow = self.slow.update(close).ok().flatten();
        let (fast, slow) = (fast?, slow?);
        let ((pf, ps), ma) = (self.periods, self.label);
        match self.cross.update(fast, slow)? {
            Crossed::Above => Some(self.series.signal(
                bar,
                Direction::Long,
                format!("{ma}({pf}) crossed above {ma}({ps})"),
            )),
            Crossed::Below => Some(self.series.signal(
                bar,
                Direction::Short,
                format!("{ma}({pf}) crossed below {ma}({ps})"),
            )),
        }
    }

    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.cross.reset();
    }

    fn warmup(&self) -> usize {
        // Both averages on two bars in a row.
        self.slow.lookback() + 1
    }
}
