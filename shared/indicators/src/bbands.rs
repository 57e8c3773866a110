//! Bollinger Bands (TA-Lib BBANDS with an SMA): middle = SMA(period), bands at
//! `nbdev_up` / `nbdev_dn` population standard deviations; lookback
//! `period - 1`.
//!
//! The variance is TA-Lib 0.8's, not the textbook running `E[x²] − E[x]²`,
//! which cancels catastrophically for a high price with small moves (BTC at
//! 100 000 with 0.01 ticks leaves no correct digit). Deviations are summed from
//! a shift near the mean, and the shift is re-anchored to the window's mean
//! (O(period)) when cancellation shows, when a far outlier leaves the window,
//! and every `32 * period` bars: amortised O(1), bit-identical to TA-Lib.
//! After a re-anchor a variance below 1e-12 of the mean square is 0, so a flat
//! window has bands exactly on the middle.

use crate::{check_period, finite, Indicator, IndicatorError, Sma};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}

#[derive(Debug, Clone)]
pub struct BollingerBands {
    period: usize,
    inv_period: f64,
    nbdev_up: f64,
    nbdev_dn: f64,
    /// The middle band; its window is the one the deviation reads too.
    sma: Sma,
    /// The value deviations are measured from (the first input, then re-anchored).
    shift: Option<f64>,
    /// Σ (x − shift) and Σ (x − shift)² over the newest `period - 1` inputs
    /// between bars, as TA-Lib keeps them.
    dev_sum: f64,
    dev_squares: f64,
    bars_to_reanchor: usize,
}

impl BollingerBands {
    pub fn new(period: usize, nbdev_up: f64, nbdev_dn: f64) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 2)?;
        for (name, v) in [("nbdevup", nbdev_up), ("nbdevdn", nbdev_dn)] {
            if !v.is_finite() || !(0.0..=100.0).contains(&v) {
                return Err(IndicatorError::InvalidParam {
                    name,
                    value: v,
                    min: 0.0,
                    max: 100.0,
                });
            }
        }
        Ok(BollingerBands {
            period,
            inv_period: 1.0 / period as f64,
            nbdev_up,
            nbdev_dn,
            sma: Sma::new(period)?,
            shift: None,
            dev_sum: 0.0,
            dev_squares: 0.0,
            bars_to_reanchor: 32 * period,
        })
    }

    /// Removes the oldest input of the full window from the deviation sums;
    /// returns its squared deviation.
    fn drop_oldest(&mut self, shift: f64) -> f64 {
        let d = self.sma.window().oldest().expect("window is full") - shift;
        self.dev_sum -= d;
        let d2 = d * d;
        self.dev_squares -= d2;
        d2
    }

    /// Re-anchors the shift on the window's mean and recomputes the variance.
    fn reanchor(&mut self) -> f64 {
        self.bars_to_reanchor = 32 * self.period;
        let window = self.sma.window();
        let shift = window.iter().fold(0.0, |s, x| s + x) * self.inv_period;
        let (mut sum, mut squares) = (0.0, 0.0);
        for x in window.iter() {
            let d = x - shift;
            sum += d;
            squares += d * d;
        }
        self.shift = Some(shift);
        self.dev_sum = sum;
        self.dev_squares = squares;
        let mean = sum * self.inv_period;
        let mut variance = squares * self.inv_period - mean * mean;
        if variance < 1e-12 * (squares * self.inv_period) {
            variance = 0.0;
        }
        self.drop_oldest(shift);
        variance
    }
}

impl Indicator for BollingerBands {
    type Input = f64;
    type Output = Bands;
    fn update(&mut self, x: f64) -> Result<Option<Bands>, IndicatorError> {
        let x = finite(x)?;
        let middle = self.sma.push(x);
        let shift = *self.shift.get_or_insert(x);
        let d = x - shift;
        self.dev_sum += d;
        self.dev_squares += d * d;
        let Some(middle) = middle else {
            return Ok(None);
        };
        let mean = self.dev_sum * self.inv_period;
        let mut variance = self.dev_squares * self.inv_period - mean * mean;
        let leaving = self.drop_oldest(shift);
        self.bars_to_reanchor -= 1;
        if variance < 1e-6 * (self.dev_squares * self.inv_period)
            || leaving > 1e6 * self.dev_squares
            || self.bars_to_reanchor == 0
        {
            variance = self.reanchor();
        }
        // TA-Lib takes the root of any non-zero variance; a negative one (only
        // reachable through rounding) would be NaN there and is 0 here.
        let sd = if variance > 0.0 { variance.sqrt() } else { 0.0 };
        let (upper, lower) = if self.nbdev_up == self.nbdev_dn {
            let width = sd * self.nbdev_up;
            (middle + width, middle - width)
        } else {
            (
                sd.mul_add(self.nbdev_up, middle),
                middle - sd * self.nbdev_dn,
            )
        };
        Ok(Some(Bands {
            upper,
            middle,
            lower,
        }))
    }
    fn reset(&mut self) {
        self.sma.reset();
        self.shift = None;
        self.dev_sum = 0.0;
        self.dev_squares = 0.0;
        self.bars_to_reanchor = 32 * self.period;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands(period: usize, inputs: &[f64]) -> Vec<Option<Bands>> {
        crate::batch(BollingerBands::new(period, 2.0, 2.0).unwrap(), inputs).unwrap()
    }

    #[test]
    fn population_standard_deviation() {
        // Mean 5, population variance 4 (sample variance would be 32/7).
        let out = bands(8, &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        let b = out[7].unwrap();
        assert_eq!((b.lower, b.middle, b.upper), (1.0, 5.0, 9.0));
    }

    #[test]
    fn fine_ticks_on_a_high_price_keep_their_width() {
        // 100 000 ± 0.005: sd 0.005 exactly; E[x²] − E[x]² has no digit left.
        let inputs: Vec<f64> = (0..400)
            .map(|i| 100_000.0 + if i % 2 == 0 { 0.005 } else { -0.005 })
            .collect();
        for b in bands(20, &inputs).into_iter().flatten() {
            let sd = (b.upper - b.middle) / 2.0;
            assert!((sd - 0.005).abs() < 1e-9, "sd {sd}");
        }
    }

    #[test]
    fn a_flat_window_has_no_width() {
        let mut inputs = vec![1.0, 5.0, 3.0];
        inputs.extend([101.37; 10]);
        let out = bands(3, &inputs);
        let b = out.last().unwrap().unwrap();
        assert_eq!((b.lower, b.upper), (b.middle, b.middle));
    }
}
