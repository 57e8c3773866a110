//! Rolling features of a close series: mean and standard deviation of the log
//! returns over the last `window` bars, updated in O(1) per bar.

use std::collections::VecDeque;

/// Mean log return and volatility (standard deviation of log returns) per bar.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct FeatureVector {
    pub mean_return: f64,
    pub volatility: f64,
}

impl FeatureVector {
    /// What the models see: the trend strength (mean return over volatility,
    /// so a wild market's noisy mean does not pass for a trend) and the log of
    /// the volatility (skewed; its log spreads calm and wild markets evenly).
    pub fn observation(&self) -> [f64; 2] {
        let vol = self.volatility.max(1e-8);
        [self.mean_return / vol, vol.ln()]
    }
}

/// Keeps the last `window` log returns of a close series.
#[derive(Debug, Clone)]
pub struct RollingFeatures {
    window: usize,
    last_close: Option<f64>,
    returns: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
}

impl RollingFeatures {
    /// `window` ≥ 2 returns.
    pub fn new(window: usize) -> Self {
        let window = window.max(2);
        RollingFeatures {
            window,
            last_close: None,
            returns: VecDeque::with_capacity(window + 1),
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    pub fn window(&self) -> usize {
        self.window
    }

    /// Feeds one close; the features once `window` returns are in. A
    /// non-positive or non-finite close is skipped.
    pub fn update(&mut self, close: f64) -> Option<FeatureVector> {
        if !(close.is_finite() && close > 0.0) {
            return None;
        }
        let prev = self.last_close.replace(close)?;
        let r = (close / prev).ln();
        self.returns.push_back(r);
        self.sum += r;
        self.sum_sq += r * r;
        if self.returns.len() > self.window {
            let old = self.returns.pop_front().unwrap_or_default();
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        if self.returns.len() < self.window {
            return None;
        }
        let n = self.window as f64;
        let mean = self.sum / n;
        // Sample variance; clamped (running sums can dip below zero by rounding).
        let var = ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
        Some(FeatureVector {
            mean_return: mean,
            volatility: var.sqrt(),
        })
    }

    pub fn reset(&mut self) {
        *self = RollingFeatures::new(self.window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std_of_log_returns() {
        let mut f = RollingFeatures::new(3);
        assert_eq!(f.update(100.0), None);
        assert_eq!(f.update(110.0), None);
        assert_eq!(f.update(99.0), None);
        let v = f.update(99.0).unwrap();
        let r = [(1.1f64).ln(), (0.9f64).ln(), 0.0];
        let mean = r.iter().sum::<f64>() / 3.0;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0;
        assert!((v.mean_return - mean).abs() < 1e-12);
        assert!((v.volatility - var.sqrt()).abs() < 1e-12);
        // Slides: the first return drops out.
        let v = f.update(99.0).unwrap();
        let r = [(0.9f64).ln(), 0.0, 0.0];
        let mean = r.iter().sum::<f64>() / 3.0;
        assert!((v.mean_return - mean).abs() < 1e-12);
        assert_eq!(f.update(-1.0), None);
    }
}
