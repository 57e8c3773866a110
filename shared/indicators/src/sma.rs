//! Simple moving average (TA-Lib SMA): running sum, lookback `period - 1`.

use crate::{check_period, finite, Indicator, IndicatorError, Window};

#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Window,
    sum: f64,
}

impl Sma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Sma {
            period,
            window: Window::new(period),
            sum: 0.0,
        })
    }
    pub fn period(&self) -> usize {
        self.period
    }
    /// Update without the finiteness check, for callers that checked already.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        self.sum += x;
        if let Some(old) = self.window.push(x) {
            self.sum -= old;
        }
        self.window.is_full().then(|| self.sum / self.period as f64)
    }
}

impl Indicator for Sma {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> Result<Option<f64>, IndicatorError> {
        Ok(self.push(finite(x)?))
    }
    fn reset(&mut self) {
        self.window.clear();
        self.sum = 0.0;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_of_the_last_period() {
        let out = crate::batch(Sma::new(3).unwrap(), &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(out, vec![None, None, Some(2.0), Some(3.0), Some(4.0)]);
        assert!(Sma::new(0).is_err());
        assert!(Sma::new(3).unwrap().update(f64::NAN).is_err());
    }
}
