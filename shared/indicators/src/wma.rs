//! Linearly weighted moving average (TA-Lib WMA): weights 1..=period, newest
//! heaviest, kept in O(1) with a running weighted sum and a running plain sum
//! exactly as TA-Lib updates them; lookback `period - 1`.

use crate::{check_period, finite, Indicator, IndicatorError, Window};

#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    divider: f64,
    window: Window,
    /// Σ weight·x over the window.
    weighted: f64,
    /// Σ x over the window.
    plain: f64,
}

impl Wma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Wma {
            period,
            divider: (period * (period + 1) / 2) as f64,
            window: Window::new(period),
            weighted: 0.0,
            plain: 0.0,
        })
    }
}

impl Indicator for Wma {
    type Input = f64;
    type Output = f64;
    fn update(&mut self, x: f64) -> Result<Option<f64>, IndicatorError> {
        let x = finite(x)?;
        if !self.window.is_full() {
            // Filling: the new input takes the next weight.
            self.window.push(x);
            let n = self.window.len();
            self.plain += x;
            self.weighted += x * n as f64;
            if !self.window.is_full() {
                return Ok(None);
            }
            return Ok(Some(self.weighted / self.divider));
        }
        // Full: every weight drops by one (subtract the plain sum), the oldest
        // leaves with weight 0, the new input enters with weight `period`.
        let old = self.window.push(x).expect("window is full");
        self.weighted -= self.plain;
        self.plain += x - old;
        self.weighted += x * self.period as f64;
        Ok(Some(self.weighted / self.divider))
    }
    fn reset(&mut self) {
        self.window.clear();
        self.weighted = 0.0;
        self.plain = 0.0;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}
