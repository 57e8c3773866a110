//! Relative strength index (TA-Lib RSI): Wilder smoothing of gains and losses,
//! seeded with their means over the first `period` changes; lookback `period`.
//!
//! Arithmetic as TA-Lib 0.8: the loss accumulates `gain - change` (so no
//! branch), smoothing multiplies by a precomputed `1 / period`, and the zero
//! test on `gain + loss` is exact. (TA-Lib 0.4 compared it with a fixed 1e-8,
//! which zeroed the RSI of any instrument quoted in tiny units.) No
//! movement at all since the start gives 0, TA-Lib 0.8.1's answer.

use crate::{check_period, finite, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    inv_period: f64,
    prev: Option<f64>,
    changes: usize,
    gain: f64,
    loss: f64,
}

impl Rsi {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 2)?;
        Ok(Rsi {
            period,
            inv_period: 1.0 / period as f64,
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
        })
    }

    fn accumulate(&mut self, change: f64) {
        let gain = if change > 0.0 { change } else { 0.0 };
        self.gain += gain;
        self.loss += gain - change;
    }

    fn value(&self) -> f64 {
        let total = self.gain + self.loss;
        if total > 0.0 {
            100.0 * (self.gain / total)
        } else {
            0.0
        }
    }
}

impl Indicator for Rsi {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> Result<Option<f64>, IndicatorError> {
        let x = finite(x)?;
        let Some(prev) = self.prev.replace(x) else {
            return Ok(None);
        };
        let change = x - prev;
        if self.changes < self.period {
            self.changes += 1;
            self.accumulate(change);
            if self.changes < self.period {
                return Ok(None);
            }
        } else {
            let keep = (self.period - 1) as f64;
            self.loss *= keep;
            self.gain *= keep;
            self.accumulate(change);
        }
        self.loss *= self.inv_period;
        self.gain *= self.inv_period;
        Ok(Some(self.value()))
    }
    fn reset(&mut self) {
        self.prev = None;
        self.changes = 0;
        self.gain = 0.0;
        self.loss = 0.0;
    }
    fn lookback(&self) -> usize {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_and_flat_markets() {
        let up: Vec<f64> = (0..6).map(f64::from).collect();
        let flat = [5.0; 6];
        let out = |inputs: &[f64]| crate::batch(Rsi::new(3).unwrap(), inputs).unwrap();
        assert_eq!(out(&up)[3..], [Some(100.0), Some(100.0), Some(100.0)]);
        assert_eq!(out(&flat)[3..], [Some(0.0), Some(0.0), Some(0.0)]);
        // Tiny quotes are not mistaken for no movement.
        let tiny: Vec<f64> = (0..6).map(|i| 1e-9 * f64::from(i % 2)).collect();
        assert!(out(&tiny)[5].unwrap() > 40.0);
    }
}
