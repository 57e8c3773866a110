//! Exponential moving average (TA-Lib EMA): `k = 2 / (period + 1)`, seeded with
//! the SMA of the first `period` inputs; lookback `period - 1`.

use crate::{check_period, finite, Indicator, IndicatorError, Window};

#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    seed: Window,
    seed_sum: f64,
    value: Option<f64>,
}

impl Ema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Ema {
            period,
            k: 2.0 / (period as f64 + 1.0),
            seed: Window::new(period),
            seed_sum: 0.0,
            value: None,
        })
    }

    /// Starts from a given value (MACD seeds its fast EMA itself).
    pub(crate) fn seeded(period: usize, value: f64) -> Self {
        let mut e = Ema::new(period).expect("period checked by the caller");
        e.value = Some(value);
        e
    }

    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        match self.value {
            Some(prev) => {
                let v = (x - prev) * self.k + prev;
                self.value = Some(v);
                Some(v)
            }
            None => {
                self.seed_sum += x;
                self.seed.push(x);
                if self.seed.is_full() {
                    let v = self.seed_sum / self.period as f64;
                    self.value = Some(v);
                    Some(v)
                } else {
                    None
                }
            }
        }
    }
}

impl Indicator for Ema {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> Result<Option<f64>, IndicatorError> {
        Ok(self.push(finite(x)?))
    }
    fn reset(&mut self) {
        self.seed.clear();
        self.seed_sum = 0.0;
        self.value = None;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}
