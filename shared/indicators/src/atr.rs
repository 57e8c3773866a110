//! Average true range (TA-Lib ATR): true range needs the previous close, the
//! first ATR is the mean of `period` true ranges, then Wilder smoothing;
//! lookback `period`.

use crate::{check_period, finite_hlc, Hlc, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    ranges: usize,
    sum: f64,
    value: Option<f64>,
}

impl Atr {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Atr {
            period,
            prev_close: None,
            ranges: 0,
            sum: 0.0,
            value: None,
        })
    }
}

/// TA-Lib TRANGE.
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
        let n = self.period as f64;
        if let Some(prev) = self.value {
            let v = (prev * (n - 1.0) + tr) / n;
            self.value = Some(v);
            return Ok(Some(v));
        }
        self.ranges += 1;
        self.sum += tr;
        if self.ranges == self.period {
            let v = self.sum / n;
            self.value = Some(v);
            return Ok(Some(v));
        }
        Ok(None)
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
