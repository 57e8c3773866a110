//! Backtests: the very same [`strategy::Strategy`] implementations as live
//! trading, run over history, with backtesting.py 0.6.6's fills and statistics
//! so that results can be checked against the tool most people know.
//!
//! - [`engine`]: the event loop and the broker — bars in order, strategy
//!   signals become market orders filled at the next bar's open, positions,
//!   trades and the equity curve, all money in `Decimal`.
//! - [`stats`]: the report's statistics, with backtesting.py's definitions.
//!
//! The engine reproduces backtesting.py's `Backtest(data, Strategy, cash,
//! commission, finalize_trades)` with its other defaults (no spread, margin 1,
//! no trade on close, no hedging), for strategies that do what its docs'
//! SmaCross does (`self.position.close(); self.buy()`); `tests/parity.rs`
//! checks every statistic, trade and equity point against
//! `fixtures/backtesting_py_goog.json` (made by `fixtures/gen_backtesting_py.py`):
//! - the strategy trades from bar `max(warmup, 1)` on (backtesting.py's first
//!   `next()` is at the first bar where every indicator and the bar before it
//!   have values); a signal on bar `i` is a market order filled at bar
//!   `i + 1`'s open;
//! - `Long`/`Short` close the open position and open the opposite one with all
//!   available cash, also when the position already points that way; `Flat`
//!   only closes;
//! - size in whole units: `floor(cash / (price × (1 + commission)))`, one unit
//!   less when that divides exactly (backtesting.py asks for `1 − ε` of its
//!   margin); an order that cannot buy one unit is dropped;
//! - commission is a fraction of traded value, charged at entry and at exit;
//! - the account is marked to each close; when equity reaches 0 or less, the
//!   position is closed at that close, the cash is set to 0 and nothing trades
//!   again (the rest of the curve is 0);
//! - a trade still open at the end stays open: marked in the equity curve,
//!   reported as [`OpenPosition`], left out of the trade list and its
//!   statistics; with `finalize_trades` it closes at the last bar's open,
//!   except one opened there by the last bar's own signal.
//!
//! Where floats make backtesting.py differ from exact decimals (sizes when
//! `cash / price` is within 1e-15 of a whole number, drawdown periods when an
//! equity equals a past peak only up to rounding), we follow the decimals.

pub mod engine;
pub mod stats;

pub use engine::{
    run, BacktestConfig, BacktestError, BacktestReport, EquityPoint, OpenPosition, Trade,
};
pub use stats::Stats;
