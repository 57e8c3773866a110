//! Stochastic oscillator (TA-Lib STOCH with SMA smoothing): fast %K over
//! `fastk` bars, slow %K = SMA(slowk) of it, slow %D = SMA(slowd) of slow %K.
//! Both outputs start at `fastk - 1 + slowk - 1 + slowd - 1`.

use crate::{check_period, finite_hlc, Hlc, Indicator, IndicatorError, Sma, Window};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochValue {
    pub slowk: f64,
    pub slowd: f64,
}

#[derive(Debug, Clone)]
pub struct Stoch {
    fastk_period: usize,
    slowk_period: usize,
    slowd_period: usize,
    highs: Window,
    lows: Window,
    slowk: Sma,
    slowd: Sma,
}

impl Stoch {
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, IndicatorError> {
        let fastk = check_period("fastk", fastk, 1)?;
        let slowk = check_period("slowk", slowk, 1)?;
        let slowd = check_period("slowd", slowd, 1)?;
        Ok(Stoch {
            fastk_period: fastk,
            slowk_period: slowk,
            slowd_period: slowd,
            highs: Window::new(fastk),
            lows: Window::new(fastk),
            slowk: Sma::new(slowk)?,
            slowd: Sma::new(slowd)?,
        })
    }
}

impl Indicator for Stoch {
    type Input = Hlc;
    type Output = StochValue;
    fn update(&mut self, bar: Hlc) -> Result<Option<StochValue>, IndicatorError> {
        let bar = finite_hlc(bar)?;
        self.highs.push(bar.high);
        self.lows.push(bar.low);
        if !self.highs.is_full() {
            return Ok(None);
        }
        // The window is at most `fastk` long: scanning it is O(fastk), a constant.
        let highest = self.highs.iter().fold(f64::MIN, f64::max);
        let lowest = self.lows.iter().fold(f64::MAX, f64::min);
        let diff = (highest - lowest) / 100.0;
        let fastk = if diff != 0.0 {
            (bar.close - lowest) / diff
        } else {
            0.0
        };
        let Some(slowk) = self.slowk.push(fastk) else {
            return Ok(None);
        };
        Ok(self
            .slowd
            .push(slowk)
            .map(|slowd| StochValue { slowk, slowd }))
    }
    fn reset(&mut self) {
        self.highs.clear();
        self.lows.clear();
        self.slowk.reset();
        self.slowd.reset();
    }
    fn lookback(&self) -> usize {
        self.fastk_period - 1 + self.slowk_period - 1 + self.slowd_period - 1
    }
}
