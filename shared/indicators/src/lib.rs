//! Streaming technical indicators with TA-Lib's conventions, checked against
//! TA-Lib itself.
//!
//! Every indicator is a struct with `new(params)`, `update(input)` (O(1) work
//! per bar, amortised: running sums, ring buffers, monotonic queues; no re-scan
//! of history), `reset()` and `lookback()` (inputs consumed before the first
//! output, as TA-Lib's `*_Lookback`). [`batch`] runs the streaming form over a
//! slice, so the two forms share one implementation. `update` returns
//! `Result<Option<_>>`: `None` during the warm-up, an error for a NaN or
//! infinite input (which leaves the state untouched), never a NaN output.
//!
//! Modules: [`Sma`], [`Ema`], [`Wma`], [`Rsi`], [`Macd`], [`BollingerBands`],
//! [`Atr`] and [`Stoch`] (high/low/close input: [`Hlc`]), one file each.
//!
//! # Reference values
//!
//! `tests/talib_parity.rs` compares every indicator, in both forms, with
//! `fixtures/talib_goog.json` (GOOG daily bars plus a synthetic series of edge
//! cases), to 1e-9 relative with `None` exactly where TA-Lib has NaN. The
//! fixture comes from TA-Lib 0.8.1 (PyPI `ta-lib` 0.8.2); to regenerate it:
//!
//! ```text
//! python3 shared/indicators/fixtures/gen_talib.py
//! ```
//!
//! (it makes the git-ignored venv `.tools/py-ref` and installs TA-Lib into it
//! when missing). The arithmetic follows TA-Lib's own operation order, so the
//! values are bit-identical to that fixture, not just close.
//!
//! # TA-Lib conventions, including the surprising ones
//!
//! - Lookbacks: SMA/EMA/WMA `period - 1`, RSI and ATR `period` (a change and a
//!   true range need a previous bar), MACD `slow - 1 + signal - 1`, BBANDS
//!   `period - 1`, STOCH `fastk - 1 + slowk - 1 + slowd - 1`.
//! - EMA: `k = 2 / (period + 1)`, seeded with the SMA of the first `period`
//!   inputs. MACD seeds its fast EMA on the same bar as the slow one (with the
//!   mean of the `fast` inputs ending there), not where a standalone EMA would
//!   start, so MACD's line differs from `EMA(fast) − EMA(slow)` until the two
//!   seeds' difference has decayed (some 200 bars for 12/26).
//! - RSI and ATR use Wilder smoothing (`1/period`), seeded with plain means.
//! - TA-Lib 0.8 changed results at the edges, and this crate follows 0.8:
//!   the RSI's zero test is exact (0.4 compared with a fixed 1e-8, so any
//!   instrument quoted in tiny units read as flat), STOCH's zero range is
//!   relative to the prices (0.4: exactly 0, so rounding residue of a flat
//!   window became noise), BBANDS' variance is shift-and-reanchor instead of
//!   `E[x²] − E[x]²`, WMA rebuilds its running sums every `8 * period` bars.
//! - An RSI with no movement at all since the seed is 0 (TA-Lib after 0.8.1
//!   answers 50). A STOCH over a flat window is 0. BBANDS of a flat window has
//!   all three bands equal.
//! - Values that should be 0 can come out as ±1e-14 (TA-Lib's running sums do
//!   the same: slow %D of a flat market, for one).
//! - The TA-Lib 0.8.1 wheel, on the (FMA-capable) CPU that made the fixture,
//!   evaluates some multiply-adds fused: EMA and MACD steps, ATR's Wilder
//!   step, BBANDS' upper band when the two widths differ. [`f64::mul_add`]
//!   does the same here, exactly rounded on every CPU, so this crate gives
//!   the same bits everywhere.
//! - TA-Lib accepts and silently "fixes" some parameters that are errors here:
//!   MACD with `fast > slow` is swapped and `fast == slow` gives a line of
//!   zeros; BBANDS takes negative deviations (here 0 to 100). Periods keep
//!   TA-Lib's ranges (SMA, EMA, WMA, ATR, STOCH and MACD's signal from 1, the
//!   rest from 2; at most 100 000), and a moving average of period 1 copies
//!   its input, as TA-Lib's does.

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

/// Why an indicator cannot be built or fed.
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
    /// The oldest value, the next to fall out.
    pub fn oldest(&self) -> Option<f64> {
        let cap = self.values.len();
        (self.len > 0).then(|| self.values[(self.next + cap - self.len) % cap])
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
