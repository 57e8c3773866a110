//! Average true range (TA-Lib ATR): true range needs the previous close, the
//! first ATR is the mean of `period` true ranges, then Wilder smoothing;
//! lookback `period`.
//!
//! The Wilder step is TA-Lib 0.8's `alpha * tr + beta * prev` with
//! `beta = (period - 1) / period` and `alpha = 1 - beta` (so they sum to
//! exactly 1), the `beta * prev` product fused into the add.

use crate::{check_period, finite_hlc, Hlc, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    alpha: f64,
    beta: f64,
    prev_close: Option<f64>,
    ranges: usize,
    sum: f64,
    value: Option<f64>,
}

impl Atr {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        let beta = (period - 1) as f64 / period as f64;
        Ok(Atr {
            period,
            alpha: 1.0 - beta,
            beta,
            prev_close: None,
            ranges: 0,
            sum: 0.0,
            value: None,
        })
    }
}

/// TA-Lib TRANGE: the greatest of high − low and the distances from the
/// previous close to the high and to the low.
fn true_range(bar: Hlc, prev_close: f64) -> f64 {
    let mut greatest = bar.high - bar.low;
    let to_high = (prev_close - bar.high).abs();
    if to_high > greatest {
        greatest = to_high;
    }
    let to_low = (prev_close - bar.low).abs();
    if to_low > greatest {
        greatest = to_low;
    }
    greatest
}

impl Indicator for Atr {
    type Input = Hlc;
    type Output = f64;
    fn update(&mut self, bar: Hlc) -> Result<Option<f64>, IndicatorError> {
        let bar = finite_hlc(bar)?;
        let Some(prev_close) = self.prev_close.replace(bar.close) else {
            return Ok(None);
        };
        let tr = true_range(bar, prev_close);
        let v = match self.value {
            Some(prev) => self.beta.mul_add(prev, self.alpha * tr),
            None => {
                self.ranges += 1;
                self.sum += tr;
                if self.ranges < self.period {
                    return Ok(None);
                }
                self.sum / self.period as f64
            }
        };
        self.value = Some(v);
        Ok(Some(v))
    }
    fn reset(&mut self) {
        self.prev_close = None;
        self.ranges = 0;
        self.sum = 0.0;
        self.value = None;
    }
    fn lookback(&self) -> usize {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_in_the_true_range() {
        let bar = |high, low, close| Hlc { high, low, close };
        // A gap up: the range from the previous close (10) to the high (15).
        let bars = [
            bar(11.0, 9.0, 10.0),
            bar(15.0, 14.0, 14.5),
            bar(15.0, 13.0, 14.0),
        ];
        let out = crate::batch(Atr::new(1).unwrap(), &bars).unwrap();
        assert_eq!(out, vec![None, Some(5.0), Some(2.0)]);
    }
}
