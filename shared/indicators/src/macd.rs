//! MACD (TA-Lib MACD): fast EMA − slow EMA, a signal EMA of that, and the
//! histogram. TA-Lib starts both EMAs at input `slow - 1`: the fast EMA is seeded
//! with the mean of the `fast` inputs ending there. All outputs start at input
//! `slow - 1 + signal - 1`.

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
    recent_sum: f64,
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
            recent_sum: 0.0,
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
                self.recent_sum += x;
                if let Some(old) = self.recent.push(x) {
                    self.recent_sum -= old;
                }
                if slow.is_some() {
                    let seed = self.recent_sum / self.fast_period as f64;
                    self.fast = Some(Ema::seeded(self.fast_period, seed));
                    Some(seed)
                } else {
                    None
                }
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
        self.recent_sum = 0.0;
        self.fast = None;
        self.slow.reset();
        self.signal.reset();
    }
    fn lookback(&self) -> usize {
        self.slow_period - 1 + self.signal_period - 1
    }
}
