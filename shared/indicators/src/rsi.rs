//! Relative strength index (TA-Lib RSI): Wilder smoothing of gains and losses,
//! seeded with their means over the first `period` changes; lookback `period`.

use crate::{check_period, finite, is_zero, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
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
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
        })
    }

    fn value(&self) -> f64 {
        let total = self.gain + self.loss;
        if is_zero(total) {
            0.0
        } else {
            100.0 * (self.gain / total)
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
        let n = self.period as f64;
        self.changes += 1;
        if self.changes <= self.period {
            if change < 0.0 {
                self.loss -= change;
            } else {
                self.gain += change;
            }
            if self.changes < self.period {
                return Ok(None);
            }
            self.loss /= n;
            self.gain /= n;
            return Ok(Some(self.value()));
        }
        self.loss *= n - 1.0;
        self.gain *= n - 1.0;
        if change < 0.0 {
            self.loss -= change;
        } else {
            self.gain += change;
        }
        self.loss /= n;
        self.gain /= n;
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
