//! Backtests: the very same [`strategy::Strategy`] implementations as live
//! trading, run over history.
//!
//! - [`engine`]: the event loop and the broker — bars in order, strategy
//!   signals become market orders filled at the next bar's open, positions,
//!   trades and the equity curve, all money in `Decimal`.
//! - [`stats`]: the report's statistics, with backtesting.py's definitions.
//!
//! The engine reproduces backtesting.py 0.6.6's `Backtest` (see
//! `tests/parity.rs` and `fixtures/gen_backtesting_py.py`):
//! - a signal on bar `i` is an order filled at bar `i + 1`'s open;
//! - `Long`/`Short` close the open position and open the opposite one with all
//!   available cash (what `self.position.close(); self.buy()` does), also when
//!   the position is already on that side; `Flat` only closes;
//! - size in whole units: `floor(cash / (price × (1 + commission)))`, one unit
//!   less when that divides exactly (backtesting.py sizes with
//!   `1 − ε` of its equity);
//! - commission is a fraction of traded value, charged at entry and at exit;
//! - trades still open at the end stay open and are marked to the last close
//!   (they are not in the trade list or its statistics), unless
//!   `finalize_trades`, which closes them at the last bar's open, as
//!   backtesting.py does.

pub mod engine;
pub mod stats;

pub use engine::{run, BacktestConfig, BacktestError, BacktestReport, EquityPoint, Trade};
pub use stats::Stats;
