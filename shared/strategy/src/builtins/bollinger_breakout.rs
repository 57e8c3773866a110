//! Bollinger breakout: the close crosses above the upper band → long, below the
//! lower band → short; a long whose close falls back through the middle band,
//! or a short whose close rises back through it → flat.

use indicators::{BollingerBands, Indicator, IndicatorError};
use model::{Bar, Direction, Signal, Symbol, Timeframe};

use super::{f, Series};
use crate::cross::{Cross, Crossed};
use crate::{ParamSpec, Strategy, StrategyInfo};

pub struct BollingerBreakout {
    series: Series,
    bands: BollingerBands,
    upper: Cross,
    lower: Cross,
    middle: Cross,
    position: Direction,
}

impl BollingerBreakout {
    pub fn info() -> StrategyInfo {
        StrategyInfo {
            kind: "bollinger_breakout",
            description: "Long on a close above the upper band, short below the lower band, flat back through the middle",
            params: vec![
                ParamSpec::int("period", 20.0, 2.0, 500.0, "moving average period"),
                ParamSpec::float("nbdev", 2.0, 0.1, 10.0, 0.1, "band width in standard deviations"),
            ],
        }
    }

    pub fn new(
        symbol: Symbol,
        timeframe: Timeframe,
        period: usize,
        nbdev: f64,
    ) -> Result<Self, IndicatorError> {
        Ok(BollingerBreakout {
            series: Series { symbol, timeframe },
            bands: BollingerBands::new(period, nbdev, nbdev)?,
            upper: Cross::default(),
            lower: Cross::default(),
            middle: Cross::default(),
            position: Direction::Flat,
        })
    }
}

impl Strategy for BollingerBreakout {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let close = f(bar.close);
        let b = self.bands.update(close).ok().flatten()?;
        let up = self.upper.update(close, b.upper);
        let down = self.lower.update(close, b.lower);
        let mid = self.middle.update(close, b.middle);
        let (want, reason) = if up == Some(Crossed::Above) {
            (Direction::Long, "close broke above the upper band")
        } else if down == Some(Crossed::Below) {
            (Direction::Short, "close broke below the lower band")
        } else if self.position == Direction::Long && mid == Some(Crossed::Below) {
            (Direction::Flat, "close fell back through the middle band")
        } else if self.position == Direction::Short && mid == Some(Crossed::Above) {
            (Direction::Flat, "close rose back through the middle band")
        } else {
            return None;
        };
        if want == self.position {
            return None;
        }
        self.position = want;
        Some(self.series.signal(bar, want, reason.to_string()))
    }

    fn reset(&mut self) {
        self.bands.reset();
        self.upper.reset();
        self.lower.reset();
        self.middle.reset();
        self.position = Direction::Flat;
    }

    fn warmup(&self) -> usize {
        self.bands.lookback() + 1
    }
}
