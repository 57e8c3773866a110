//! Bollinger Bands (TA-Lib BBANDS with an SMA): middle = SMA(period), bands at
//! `nbdev` population standard deviations (mean of squares minus squared mean,
//! as TA-Lib computes it); lookback `period - 1`.

use crate::{check_period, finite, Indicator, IndicatorError, Sma, Window};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}

#[derive(Debug, Clone)]
pub struct BollingerBands {
    period: usize,
    nbdev_up: f64,
    nbdev_dn: f64,
    sma: Sma,
    squares: Window,
    sum_squares: f64,
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
            nbdev_up,
            nbdev_dn,
            sma: Sma::new(period)?,
            squares: Window::new(period),
            sum_squares: 0.0,
        })
    }
}

impl Indicator for BollingerBands {
    type Input = f64;
    type Output = Bands;
    fn update(&mut self, x: f64) -> Result<Option<Bands>, IndicatorError> {
        let x = finite(x)?;
        let middle = self.sma.push(x);
        self.sum_squares += x * x;
        if let Some(old) = self.squares.push(x * x) {
            self.sum_squares -= old;
        }
        let Some(middle) = middle else {
            return Ok(None);
        };
        let variance = self.sum_squares / self.period as f64 - middle * middle;
        let sd = if variance > 0.0 { variance.sqrt() } else { 0.0 };
        Ok(Some(Bands {
            upper: middle + sd * self.nbdev_up,
            middle,
            lower: middle - sd * self.nbdev_dn,
        }))
    }
    fn reset(&mut self) {
        self.sma.reset();
        self.squares.clear();
        self.sum_squares = 0.0;
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
}
