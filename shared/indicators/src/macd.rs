//! MACD (TA-Lib MACD): fast EMA − slow EMA, a signal EMA of that line, and the
//! histogram (line − signal).
//!
//! TA-Lib aligns the two EMAs: both are seeded on input `slow - 1`, the fast
//! one with the mean of the `fast` inputs ending there. A standalone fast EMA
//! would start at input `fast - 1` instead and differ for a long while
//! (for 12/26 by about 10% of the seed difference at the first output). The
//! signal EMA is seeded with the mean of the first `signal` MACD values; all
//! three outputs start at input `slow - 1 + signal - 1`. A signal period of 1
//! makes the signal the line itself and the histogram exactly 0.
//!
//! Unlike TA-Lib, which silently swaps `fast > slow` and accepts `fast == slow`
//! (a line of zeros), both are errors here.

use crate::{check_period, finite, Ema, Indicator, IndicatorError, Window};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    pub macd: f64,
    pub signal: f64,
    pub hist: f64,
}

#[derive(Debug, Clone)]
pub struct Macd {
    fast_period: usize,
    slow_period: usize,
    signal_period: usize,
    /// The last `fast` inputs, to seed the fast EMA when the slow one starts.
    recent: Window,
    fast: Option<Ema>,
    slow: Ema,
    signal: Ema,
}

impl Macd {
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        let fast = check_period("fast", fast, 2)?;
        let slow = check_period("slow", slow, 2)?;
        let signal = check_period("signal", signal, 1)?;
        if fast >= slow {
            return Err(IndicatorError::FastNotBelowSlow { fast, slow });
        }
        Ok(Macd {
            fast_period: fast,
            slow_period: slow,
            signal_period: signal,
            recent: Window::new(fast),
            fast: None,
            slow: Ema::new(slow)?,
            signal: Ema::new(signal)?,
        })
    }
}

impl Indicator for Macd {
    type Input = f64;
    type Output = MacdValue;
    fn update(&mut self, x: f64) -> Result<Option<MacdValue>, IndicatorError> {
        let x = finite(x)?;
        let slow = self.slow.push(x);
        let fast = match &mut self.fast {
            Some(ema) => ema.push(x),
            None => {
                self.recent.push(x);
                slow.map(|_| {
                    // Once per series: the seed is a fresh sum in input order,
                    // exactly as TA-Lib adds it up.
                    let seed = self.recent.iter().fold(0.0, |s, x| s + x) / self.fast_period as f64;
                    self.fast = Some(Ema::seeded(self.fast_period, seed));
                    seed
                })
            }
        };
        let (Some(fast), Some(slow)) = (fast, slow) else {
            return Ok(None);
        };
        let macd = fast - slow;
        Ok(self.signal.push(macd).map(|signal| MacdValue {
            macd,
            signal,
            hist: macd - signal,
        }))
    }
    fn reset(&mut self) {
        self.recent.clear();
        self.fast = None;
        self.slow.reset();
        self.signal.reset();
    }
    fn lookback(&self) -> usize {
        self.slow_period - 1 + self.signal_period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ema_is_seeded_where_the_slow_one_is() {
        let inputs = [1.0, 2.0, 4.0, 8.0, 16.0];
        let out = crate::batch(Macd::new(2, 4, 1).unwrap(), &inputs).unwrap();
        // At input 3: slow seed (1+2+4+8)/4 = 3.75, fast seed (4+8)/2 = 6.
        let first = out[3].unwrap();
        assert_eq!(first.macd, 6.0 - 3.75);
        assert_eq!((first.signal, first.hist), (first.macd, 0.0));
        // Input 4: fast 6 + (16-6)*2/3, slow 3.75 + (16-3.75)*2/5.
        let second = out[4].unwrap();
        let want = (10.0f64).mul_add(2.0 / 3.0, 6.0) - (12.25f64).mul_add(0.4, 3.75);
        assert_eq!(second.macd, want);
    }
}
