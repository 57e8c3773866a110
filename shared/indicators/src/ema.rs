//! Exponential moving average (TA-Lib EMA): `k = 2 / (period + 1)`, seeded with
//! the SMA of the first `period` inputs; lookback `period - 1`.
//!
//! The step is `(x - prev) * k + prev` with the multiply-add fused
//! ([`f64::mul_add`]), as TA-Lib 0.8's build computes it: bit-identical to
//! the fixture, and the same on every CPU (a fused multiply-add is exactly
//! rounded by definition). Period 1 copies its input, as TA-Lib does.

use crate::{check_period, finite, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    /// Inputs summed into the seed so far.
    seen: usize,
    seed_sum: f64,
    value: Option<f64>,
}

impl Ema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Ema {
            period,
            k: 2.0 / (period as f64 + 1.0),
            seen: 0,
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
        if self.period == 1 {
            self.value = Some(x);
            return self.value;
        }
        match self.value {
            Some(prev) => {
                let v = (x - prev).mul_add(self.k, prev);
                self.value = Some(v);
                Some(v)
            }
            None => {
                self.seed_sum += x;
                self.seen += 1;
                if self.seen < self.period {
                    return None;
                }
                self.value = Some(self.seed_sum / self.period as f64);
                self.value
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
        self.seen = 0;
        self.seed_sum = 0.0;
        self.value = None;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_with_the_sma_then_smoothed() {
        let out = crate::batch(Ema::new(3).unwrap(), &[1.0, 2.0, 3.0, 7.0]).unwrap();
        // Seed (1+2+3)/3 = 2, then 2 + (7-2)*0.5 = 4.5.
        assert_eq!(out, vec![None, None, Some(2.0), Some(4.5)]);
    }

    #[test]
    fn period_one_is_an_exact_copy() {
        let inputs = [0.1, 1e300, 0.3, 1e-300, 7.77];
        let out = crate::batch(Ema::new(1).unwrap(), &inputs).unwrap();
        assert_eq!(out, inputs.map(Some).to_vec());
    }
}
