//! Stochastic oscillator (TA-Lib STOCH with SMA smoothing): fast %K over
//! `fastk` bars, slow %K = SMA(slowk) of it, slow %D = SMA(slowd) of slow %K.
//! Both outputs start at `fastk - 1 + slowk - 1 + slowd - 1`.
//!
//! Fast %K is `(close − lowest) / (highest − lowest) · 100`, and 0 when the
//! range is zero relative to the prices (|range| ≤ 1e-14·(|highest| + |lowest|),
//! TA-Lib 0.8's test: it absorbs the rounding residue of a flat window at any
//! price level, yet a real range on a 1e-6 quote is not taken for flat). The
//! highest high and lowest low come from monotonic queues: amortised O(1) per
//! bar for any `fastk`.

use std::collections::VecDeque;

use crate::{check_period, finite_hlc, Hlc, Indicator, IndicatorError, Sma};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochValue {
    pub slowk: f64,
    pub slowd: f64,
}

#[derive(Debug, Clone)]
pub struct Stoch {
    fastk_period: usize,
    slowk_period: usize,
    slowd_period: usize,
    /// Bars seen, to age values out of the queues.
    seen: usize,
    highs: MonotonicQueue,
    lows: MonotonicQueue,
    slowk: Sma,
    slowd: Sma,
}

impl Stoch {
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Result<Self, IndicatorError> {
        let fastk = check_period("fastk", fastk, 1)?;
        let slowk = check_period("slowk", slowk, 1)?;
        let slowd = check_period("slowd", slowd, 1)?;
        Ok(Stoch {
            fastk_period: fastk,
            slowk_period: slowk,
            slowd_period: slowd,
            seen: 0,
            highs: MonotonicQueue::new(fastk, |new, old| new >= old),
            lows: MonotonicQueue::new(fastk, |new, old| new <= old),
            slowk: Sma::new(slowk)?,
            slowd: Sma::new(slowd)?,
        })
    }
}

impl Indicator for Stoch {
    type Input = Hlc;
    type Output = StochValue;
    fn update(&mut self, bar: Hlc) -> Result<Option<StochValue>, IndicatorError> {
        let bar = finite_hlc(bar)?;
        let i = self.seen;
        self.seen += 1;
        let highest = self.highs.push(i, bar.high);
        let lowest = self.lows.push(i, bar.low);
        if self.seen < self.fastk_period {
            return Ok(None);
        }
        let range = highest - lowest;
        let fastk = if range.abs() <= 1e-14 * (highest.abs() + lowest.abs()) {
            0.0
        } else {
            ((bar.close - lowest) / range) * 100.0
        };
        let Some(slowk) = self.slowk.push(fastk) else {
            return Ok(None);
        };
        Ok(self
            .slowd
            .push(slowk)
            .map(|slowd| StochValue { slowk, slowd }))
    }
    fn reset(&mut self) {
        self.seen = 0;
        self.highs.clear();
        self.lows.clear();
        self.slowk.reset();
        self.slowd.reset();
    }
    fn lookback(&self) -> usize {
        self.fastk_period - 1 + self.slowk_period - 1 + self.slowd_period - 1
    }
}

/// The extreme of the last `period` values: a queue of candidates, each
/// better than every newer one, so the front is the extreme. Every value is
/// pushed and popped at most once.
#[derive(Debug, Clone)]
struct MonotonicQueue {
    period: usize,
    /// Whether a new value makes an older candidate useless.
    supersedes: fn(f64, f64) -> bool,
    items: VecDeque<(usize, f64)>,
}

impl MonotonicQueue {
    fn new(period: usize, supersedes: fn(f64, f64) -> bool) -> Self {
        MonotonicQueue {
            period,
            supersedes,
            items: VecDeque::with_capacity(period),
        }
    }

    /// Adds value `x` at position `i`; returns the extreme of the window ending there.
    fn push(&mut self, i: usize, x: f64) -> f64 {
        while let Some(&(_, last)) = self.items.back() {
            if !(self.supersedes)(x, last) {
                break;
            }
            self.items.pop_back();
        }
        self.items.push_back((i, x));
        while let Some(&(j, _)) = self.items.front() {
            if j + self.period > i {
                break;
            }
            self.items.pop_front();
        }
        self.items.front().expect("holds the newest value").1
    }

    fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_tracks_the_window_extreme() {
        let xs = [5.0, 1.0, 4.0, 4.0, 2.0, 8.0, 3.0, 3.0, 0.5, 7.0, 6.0];
        let mut max = MonotonicQueue::new(3, |new, old| new >= old);
        let mut min = MonotonicQueue::new(3, |new, old| new <= old);
        for (i, &x) in xs.iter().enumerate() {
            let window = &xs[i.saturating_sub(2)..=i];
            assert_eq!(
                max.push(i, x),
                window.iter().copied().fold(f64::MIN, f64::max)
            );
            assert_eq!(
                min.push(i, x),
                window.iter().copied().fold(f64::MAX, f64::min)
            );
        }
    }

    #[test]
    fn flat_range_reads_zero_and_tiny_quotes_do_not() {
        let flat = Hlc {
            high: 3.0,
            low: 3.0,
            close: 3.0,
        };
        let out = crate::batch(Stoch::new(2, 1, 1).unwrap(), &[flat; 3]).unwrap();
        assert_eq!(out[2].unwrap().slowk, 0.0);
        let tiny = |close| Hlc {
            high: 2e-9,
            low: 1e-9,
            close,
        };
        let out = crate::batch(Stoch::new(1, 1, 1).unwrap(), &[tiny(1.5e-9)]).unwrap();
        assert!((out[0].unwrap().slowk - 50.0).abs() < 1e-9);
    }
}
