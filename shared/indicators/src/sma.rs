//! Simple moving average (TA-Lib SMA); lookback `period - 1`.
//!
//! The running sum is updated in TA-Lib's order: add the new input, divide,
//! then drop the oldest input. The sum therefore holds the newest `period - 1`
//! inputs between bars, which makes the results bit-identical to TA-Lib (and
//! SMA(1) an exact copy of its input).

use crate::{check_period, finite, Indicator, IndicatorError, Window};

#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Window,
    /// Sum of the newest `period - 1` inputs (all inputs while filling).
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
    /// The last `period` inputs (Bollinger Bands reads the same window).
    pub(crate) fn window(&self) -> &Window {
        &self.window
    }
    /// Update without the finiteness check, for callers that checked already.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        self.sum += x;
        if !self.window.is_full() {
            return None;
        }
        let mean = self.sum / self.period as f64;
        self.sum -= self.window.oldest().expect("window is full");
        Some(mean)
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
    }

    #[test]
    fn period_one_is_an_exact_copy() {
        let inputs = [0.1, 1e300, 0.3, 1e-300, 7.77];
        let out = crate::batch(Sma::new(1).unwrap(), &inputs).unwrap();
        assert_eq!(out, inputs.map(Some).to_vec());
    }
}
