//! Linearly weighted moving average (TA-Lib WMA): weights 1..=period, newest
//! heaviest; lookback `period - 1`.
//!
//! O(1) per bar with TA-Lib's two running totals: the weighted sum and the
//! plain sum (subtracting the plain sum lowers every weight by one). Running
//! totals keep the rounding of every bar they ever held, so, like TA-Lib 0.8,
//! both are rebuilt from the window every `8 * period` bars: amortised O(1),
//! bounded drift on an endless live stream, and bit-identical to TA-Lib.

use crate::{check_period, finite, Indicator, IndicatorError, Window};

#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    divider: f64,
    window: Window,
    /// Σ weight·x, weights as of the next bar (TA-Lib's `periodSum`).
    weighted: f64,
    /// Σ x over the window (TA-Lib's `periodSub`).
    plain: f64,
    /// The input that leaves the window on the next bar (0 before one exists).
    trailing: f64,
    bars_to_rebuild: usize,
}

impl Wma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Wma {
            period,
            divider: period as f64 * (period + 1) as f64 / 2.0,
            window: Window::new(period),
            weighted: 0.0,
            plain: 0.0,
            trailing: 0.0,
            bars_to_rebuild: 8 * period,
        })
    }

    fn rebuild(&mut self) {
        self.plain = 0.0;
        self.weighted = 0.0;
        for (i, x) in self.window.iter().enumerate() {
            self.plain += x;
            self.weighted += x * (i + 1) as f64;
        }
    }
}

impl Indicator for Wma {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> Result<Option<f64>, IndicatorError> {
        let x = finite(x)?;
        if self.period == 1 {
            return Ok(Some(x));
        }
        self.window.push(x);
        if !self.window.is_full() {
            // Filling: the new input takes the next weight.
            self.plain += x;
            self.weighted += x * self.window.len() as f64;
            return Ok(None);
        }
        self.plain += x;
        self.plain -= self.trailing;
        self.weighted += x * self.period as f64;
        self.bars_to_rebuild -= 1;
        if self.bars_to_rebuild == 0 {
            self.bars_to_rebuild = 8 * self.period;
            self.rebuild();
        }
        self.trailing = self.window.oldest().expect("window is full");
        let value = self.weighted / self.divider;
        // Every weight drops by one for the next bar; the oldest input's reaches 0.
        self.weighted -= self.plain;
        Ok(Some(value))
    }
    fn reset(&mut self) {
        self.window.clear();
        self.weighted = 0.0;
        self.plain = 0.0;
        self.trailing = 0.0;
        self.bars_to_rebuild = 8 * self.period;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_the_newest_heaviest() {
        let out = crate::batch(Wma::new(3).unwrap(), &[1.0, 2.0, 3.0, 6.0]).unwrap();
        // (1+4+9)/6, then (2+6+18)/6.
        assert_eq!(out, vec![None, None, Some(14.0 / 6.0), Some(26.0 / 6.0)]);
    }

    #[test]
    fn stays_exact_across_rebuilds() {
        // Small integers are exact in f64, so any drift or a wrong rebuild shows.
        let inputs: Vec<f64> = (0..200).map(|i| ((i * 37) % 11) as f64).collect();
        let out = crate::batch(Wma::new(4).unwrap(), &inputs).unwrap();
        for (t, v) in out.iter().enumerate().skip(3) {
            let want: f64 = (0..4)
                .map(|w| inputs[t - 3 + w] * (w + 1) as f64)
                .sum::<f64>()
                / 10.0;
            assert_eq!(v.unwrap(), want, "bar {t}");
        }
    }
}
