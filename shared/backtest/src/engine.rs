//! The event loop and the broker.

use model::{Bar, Decimal, Direction, UnixNanos};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use strategy::Strategy;

use crate::stats::{self, Stats};

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    pub cash: Decimal,
    /// Fraction of traded value, charged at entry and at exit (0.002 = 0.2 %).
    pub commission: Decimal,
    /// Close trades still open at the end (at the last bar's open).
    pub finalize_trades: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    #[error("no bars to run over")]
    NoData,
    #[error("bars must be in strictly increasing time order (bar {index} at {ts} is not after the one before)")]
    Unordered { index: usize, ts: UnixNanos },
    #[error("bars must all be of one symbol and timeframe (bar {index} differs)")]
    MixedSeries { index: usize },
    #[error("bar {index} is invalid: {reason}")]
    InvalidBar { index: usize, reason: String },
    #[error("cash must be positive, got {0}")]
    Cash(Decimal),
    #[error("commission must be between 0 and 0.1 (10 %), got {0}")]
    Commission(Decimal),
}

/// A closed trade. `size` is positive for long, negative for short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Trade {
    pub size: i64,
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub entry_time: UnixNanos,
    pub exit_time: UnixNanos,
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    /// Profit after both commissions.
    pub pnl: Decimal,
    /// Return as a fraction of the entry value, after commissions.
    pub return_pct: f64,
    /// Entry plus exit commission.
    pub commission: Decimal,
}

/// Account equity at a bar's close, and its drawdown from the peak so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EquityPoint {
    pub ts: UnixNanos,
    pub equity: Decimal,
    /// Fraction below the running peak (0 at a new peak).
    pub drawdown: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BacktestReport {
    pub stats: Stats,
    pub trades: Vec<Trade>,
    pub equity: Vec<EquityPoint>,
}

struct Open {
    size: i64,
    entry_bar: usize,
    entry_price: Decimal,
}

struct Broker {
    cash: Decimal,
    commission: Decimal,
    position: Option<Open>,
    trades: Vec<Trade>,
}

impl Broker {
    fn fee(&self, size: i64, price: Decimal) -> Decimal {
        Decimal::from(size.abs()) * price * self.commission
    }

    fn close(&mut self, price: Decimal, bar: usize, bars: &[Bar]) {
        let Some(open) = self.position.take() else {
            return;
        };
        let size = Decimal::from(open.size);
        let gross = size * (price - open.entry_price);
        let exit_fee = self.fee(open.size, price);
        self.cash += gross - exit_fee;
        let commission = exit_fee + self.fee(open.size, open.entry_price);
        let entry_value = Decimal::from(open.size.abs()) * open.entry_price;
        let sign = if open.size > 0 { 1.0 } else { -1.0 };
        let gross_pct = sign * ((price / open.entry_price).to_f64().unwrap_or(f64::NAN) - 1.0);
        let fee_pct = (commission / entry_value).to_f64().unwrap_or(f64::NAN);
        self.trades.push(Trade {
            size: open.size,
            entry_bar: open.entry_bar,
            exit_bar: bar,
            entry_time: bars[open.entry_bar].ts,
            exit_time: bars[bar].ts,
            entry_price: open.entry_price,
            exit_price: price,
            pnl: gross - commission,
            return_pct: gross_pct - fee_pct,
            commission,
        });
    }

    /// All-in: the most whole units the cash buys with commission.
    fn open(&mut self, long: bool, price: Decimal, bar: usize) {
        let per_unit = price * (Decimal::ONE + self.commission);
        if per_unit <= Decimal::ZERO || self.cash <= Decimal::ZERO {
            return;
        }
        let quotient = self.cash / per_unit;
        let mut units = quotient.floor();
        if units == quotient {
            units -= Decimal::ONE; // backtesting.py sizes with (1 − ε) of equity
        }
        let Some(units) = units.to_i64().filter(|u| *u > 0) else {
            return; // not enough cash for one unit: the order is dropped
        };
        let size = if long { units } else { -units };
        self.cash -= self.fee(size, price);
        self.position = Some(Open {
            size,
            entry_bar: bar,
            entry_price: price,
        });
    }

    fn equity(&self, close: Decimal) -> Decimal {
        match &self.position {
            Some(p) => self.cash + Decimal::from(p.size) * (close - p.entry_price),
            None => self.cash,
        }
    }

    fn execute(&mut self, direction: Direction, price: Decimal, bar: usize, bars: &[Bar]) {
        self.close(price, bar, bars);
        match direction {
            Direction::Long => self.open(true, price, bar),
            Direction::Short => self.open(false, price, bar),
            Direction::Flat => {}
        }
    }
}

fn validate(bars: &[Bar], config: &BacktestConfig) -> Result<(), BacktestError> {
    if bars.is_empty() {
        return Err(BacktestError::NoData);
    }
    if config.cash <= Decimal::ZERO {
        return Err(BacktestError::Cash(config.cash));
    }
    if config.commission < Decimal::ZERO || config.commission >= Decimal::new(1, 1) {
        return Err(BacktestError::Commission(config.commission));
    }
    for (index, bar) in bars.iter().enumerate() {
        bar.validate().map_err(|e| BacktestError::InvalidBar {
            index,
            reason: e.to_string(),
        })?;
        if index > 0 {
            let prev = &bars[index - 1];
            if bar.ts <= prev.ts {
                return Err(BacktestError::Unordered { index, ts: bar.ts });
            }
            if bar.symbol != prev.symbol || bar.timeframe != prev.timeframe {
                return Err(BacktestError::MixedSeries { index });
            }
        }
    }
    Ok(())
}

/// Runs `strategy` (from its current state: pass a fresh or reset one) over `bars`.
pub fn run(
    bars: &[Bar],
    strategy: &mut dyn Strategy,
    config: &BacktestConfig,
) -> Result<BacktestReport, BacktestError> {
    validate(bars, config)?;
    let mut broker = Broker {
        cash: config.cash,
        commission: config.commission,
        position: None,
        trades: Vec::new(),
    };
    // backtesting.py calls the strategy from the first bar where every
    // indicator has a value and one before it: `warmup()` bars in.
    let start = strategy.warmup().min(bars.len());
    let mut equity = vec![config.cash; bars.len()];
    let mut pending: Option<Direction> = None;
    for (i, bar) in bars.iter().enumerate() {
        if let Some(direction) = pending.take() {
            broker.execute(direction, bar.open, i, bars);
        }
        // The strategy sees every bar (its indicators need the history), but
        // trades only from `start`, as backtesting.py's `next()` does.
        let signal = strategy.on_bar(bar);
        if i >= start {
            equity[i] = broker.equity(bar.close);
            if let Some(s) = signal {
                pending = Some(s.direction);
            }
        }
    }
    let last = bars.len() - 1;
    if config.finalize_trades && start <= last {
        // backtesting.py closes them by re-running its broker on the last bar:
        // at that bar's open. An order from the last bar's signal goes first.
        if let Some(direction) = pending.take() {
            broker.execute(direction, bars[last].open, last, bars);
        }
        broker.close(bars[last].open, last, bars);
        equity[last] = broker.equity(bars[last].close);
    }
    let first_trading_bar = start.saturating_sub(1);
    let curve = stats::Curve::new(&equity);
    let stats = stats::compute(bars, &equity, &curve, &broker.trades, first_trading_bar);
    let equity = bars
        .iter()
        .zip(&equity)
        .zip(&curve.drawdown)
        .map(|((bar, e), dd)| EquityPoint {
            ts: bar.ts,
            equity: *e,
            drawdown: *dd,
        })
        .collect();
    Ok(BacktestReport {
        stats,
        trades: broker.trades,
        equity,
    })
}
