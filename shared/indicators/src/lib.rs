//! Streaming technical indicators with TA-Lib's conventions, so results can be
//! checked against TA-Lib itself (`fixtures/gen_talib.py` makes the fixture the
//! tests compare with, to 1e-9 relative).
//!
//! Every indicator is a struct with `new(params)`, `update(input) -> Option<output>`
//! (O(1) work per bar: running sums and ring buffers, no re-scan of history),
//! `reset()` and `lookback()` (inputs consumed before the first output, as
//! TA-Lib's `*_Lookback` functions). [`batch`] runs the streaming form over a
//! slice, so the two forms share one implementation.
//!
//! Conventions (TA-Lib defaults, unstable period 0):
//! - SMA, WMA: plain and linearly weighted means of the last `period` inputs.
//! - EMA: `k = 2 / (period + 1)`, seeded with the SMA of the first `period` inputs.
//! - RSI: Wilder smoothing, seeded with the mean gain/loss of the first `period`
//!   changes; 0 when there was no movement at all.
//! - MACD: both EMAs start at the same bar: the fast EMA is seeded with the SMA of
//!   the `fast` inputs that end where the slow EMA's seed ends (not at input
//!   `fast - 1` as a standalone EMA would be). The signal line is an EMA of the
//!   MACD line; all three outputs start at `slow - 1 + signal - 1`.
//! - Bollinger Bands: SMA middle, population standard deviation (mean of squares
//!   minus square of the mean).
//! - ATR: true range needs the previous close, so ATR(n) starts at input n; the
//!   first value is the SMA of n true ranges, then Wilder smoothing.
//! - Stochastic: fast %K over `fastk` bars (0 when high == low), slow %K = SMA of
//!   fast %K, slow %D = SMA of slow %K; both outputs start together.
//!
//! Inputs are `f64` (indicators are statistics, not money); a non-finite input is
//! an error, never a silent NaN in the output.

mod atr;
mod bbands;
mod ema;
mod macd;
mod rsi;
mod sma;
mod stoch;
mod wma;

pub use atr::Atr;
pub use bbands::{Bands, BollingerBands};
pub use ema::Ema;
pub use macd::{Macd, MacdValue};
pub use rsi::Rsi;
pub use sma::Sma;
pub use stoch::{Stoch, StochValue};
pub use wma::Wma;

/// One bar's high, low and close, for ATR and Stochastic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hlc {
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    #[error("{name} must be between {min} and {max}, got {value}")]
    InvalidParam {
        name: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("fast period ({fast}) must be below slow period ({slow})")]
    FastNotBelowSlow { fast: usize, slow: usize },
    #[error("input is not a finite number: {0}")]
    NonFiniteInput(f64),
}

/// A streaming indicator.
pub trait Indicator {
    type Input: Copy;
    type Output;
    /// Feeds one input; `Ok(None)` during the warm-up.
    fn update(&mut self, input: Self::Input) -> Result<Option<Self::Output>, IndicatorError>;
    /// Back to the state right after `new`.
    fn reset(&mut self);
    /// Inputs consumed before the first output.
    fn lookback(&self) -> usize;
}

/// Runs `indicator` over `inputs` from a fresh state: one output per input,
/// `None` during the warm-up.
pub fn batch<I: Indicator>(
    mut indicator: I,
    inputs: &[I::Input],
) -> Result<Vec<Option<I::Output>>, IndicatorError> {
    indicator.reset();
    inputs.iter().map(|x| indicator.update(*x)).collect()
}

pub(crate) const MAX_PERIOD: usize = 100_000;

pub(crate) fn check_period(
    name: &'static str,
    value: usize,
    min: usize,
) -> Result<usize, IndicatorError> {
    if value < min || value > MAX_PERIOD {
        return Err(IndicatorError::InvalidParam {
            name,
            value: value as f64,
            min: min as f64,
            max: MAX_PERIOD as f64,
        });
    }
    Ok(value)
}

pub(crate) fn finite(x: f64) -> Result<f64, IndicatorError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(IndicatorError::NonFiniteInput(x))
    }
}

pub(crate) fn finite_hlc(x: Hlc) -> Result<Hlc, IndicatorError> {
    finite(x.high)?;
    finite(x.low)?;
    finite(x.close)?;
    Ok(x)
}

/// TA-Lib's "is zero" for denominators.
pub(crate) fn is_zero(v: f64) -> bool {
    -0.000_000_01 < v && v < 0.000_000_01
}

/// A fixed-size window of the last inputs (ring buffer).
#[derive(Debug, Clone)]
pub(crate) struct Window {
    values: Vec<f64>,
    next: usize,
    len: usize,
}

impl Window {
    pub fn new(capacity: usize) -> Self {
        Window {
            values: vec![0.0; capacity],
            next: 0,
            len: 0,
        }
    }
    /// Adds `x`; returns the value that fell out when the window was full.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let cap = self.values.len();
        let out = (self.len == cap).then(|| self.values[self.next]);
        self.values[self.next] = x;
        self.next = (self.next + 1) % cap;
        self.len = (self.len + 1).min(cap);
        out
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_full(&self) -> bool {
        self.len == self.values.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let cap = self.values.len();
        let start = (self.next + cap - self.len) % cap;
        (0..self.len).map(move |i| self.values[(start + i) % cap])
    }
    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }
}
