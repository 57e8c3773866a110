//! The event loop and the broker.
//!
//! One pass over the bars does everything: the bar is checked, a pending order
//! fills at its open, the account is marked at its close, the strategy sees
//! it, and the statistics take the equity point ([`crate::stats`] accumulates
//! them as it goes, so nothing per bar is kept but the equity curve the report
//! returns, and the bars are read once).
//!
//! Money is `Decimal`, but `Decimal` arithmetic is the costly part of a bar, so
//! the loop keeps it to what changes: while flat the equity is the cash (no
//! arithmetic, and its `f64` is reused until the cash changes); while in a
//! position it is `base + size × close` with `base = cash − size × entry`
//! fixed when the trade opens (one multiply and one add per bar, on the raw
//! integers when they fit, see `mark`). Fees, sizes and P&L are `Decimal`
//! and computed only when a trade opens or closes; a trade's return, a ratio,
//! is `f64` as in backtesting.py.

use model::{Bar, Decimal, Direction, Exits, Side, UnixNanos};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use strategy::Strategy;
use trading::{
    AccountAt, ExchangeConfig, Execution, Fees, Order, OrderRequest, OrderStatus, OrderType,
    Sizing, SizingMoment, TimeInForce, Trailing, Working,
};

use crate::stats::{self, to_f64, Stats};

/// How to run a backtest. The simulation is backtesting.py 0.6.6's `Backtest`
/// with `spread=0, margin=1, trade_on_close=False, hedging=False` (see the
/// crate docs for what that means for fills and sizing).
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    /// Starting cash, in the quote currency. Must be positive.
    pub cash: Decimal,
    /// Fraction of traded value, charged at entry and at exit (0.002 = 0.2 %).
    /// In `[0, 0.1)`: backtesting.py also takes rebates down to −10 %; we do not.
    pub commission: Decimal,
    /// Close trades still open at the end (at the last bar's open), so that
    /// they count in the trade statistics: backtesting.py's `finalize_trades`.
    pub finalize_trades: bool,
    /// How big a position a signal opens (`trading::sizing`, the rule the
    /// paper path uses too). All-in is backtesting.py's `buy()`.
    pub sizing: Sizing,
    /// When the size is decided: at the fill with the equity of that moment
    /// (backtesting.py), or at the signal bar's close (then cut at the fill to
    /// what the cash pays).
    pub sizing_at: SizingMoment,
    /// Exits placed for every position a signal opens, unless the signal
    /// names its own (`Signal::exits`): the order-intent path (see [`run`]).
    pub exits: Option<Exits>,
}

impl BacktestConfig {
    /// backtesting.py's defaults: all-in at the fill, trades left open.
    pub fn new(cash: Decimal, commission: Decimal) -> BacktestConfig {
        BacktestConfig {
            cash,
            commission,
            finalize_trades: false,
            sizing: Sizing::AllIn,
            sizing_at: SizingMoment::AtFill,
            exits: None,
        }
    }
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
    #[error("exits: {0}")]
    Exits(String),
    /// Cash, prices and sizes whose money arithmetic leaves the decimal range.
    #[error("at bar {index}, {what} is beyond the decimal range")]
    Overflow { index: usize, what: &'static str },
}

/// What a money computation that overflowed was.
type Overflow = &'static str;

#[inline]
fn ck(v: Option<Decimal>, what: Overflow) -> Result<Decimal, Overflow> {
    v.ok_or(what)
}

/// A closed trade (backtesting.py's `_trades` row). `size` is positive for
/// long, negative for short; bars are indices into the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Trade {
    pub size: i64,
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub entry_time: UnixNanos,
    pub exit_time: UnixNanos,
    /// `exit_time − entry_time` in nanoseconds ("Duration"). Absent from
    /// reports written before it existed, read as 0.
    #[serde(default)]
    pub duration_ns: i64,
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    /// Profit after both commissions ("PnL").
    pub pnl: Decimal,
    /// Return as a fraction of the entry value, after commissions ("ReturnPct",
    /// which despite its name is a fraction: 0.05 is 5 %).
    pub return_pct: f64,
    /// Entry plus exit commission ("Commission").
    pub commission: Decimal,
}

/// The position still open at the end (only without `finalize_trades`, or when
/// the last bar's own signal opened it). backtesting.py leaves it out of the
/// trade list and its statistics but marks it in the equity curve; so do we.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpenPosition {
    pub size: i64,
    pub entry_bar: usize,
    pub entry_time: UnixNanos,
    pub entry_price: Decimal,
    /// Paid at entry (already out of the cash).
    pub entry_commission: Decimal,
    /// The last bar's close, where the position is marked.
    pub last_price: Decimal,
    /// `size × (last_price − entry_price)`, before commissions: backtesting.py's
    /// `Trade.pl` of an open trade.
    pub unrealized_pnl: Decimal,
}

/// Account equity at a bar's close, and its drawdown from the peak so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EquityPoint {
    pub ts: UnixNanos,
    pub equity: Decimal,
    /// Fraction below the running peak, `1 − equity / peak` (0 at a new peak):
    /// backtesting.py's `DrawdownPct`, which is a fraction too.
    pub drawdown: f64,
}

/// What [`run`] returns: backtesting.py's statistics, `_trades` and
/// `_equity_curve`, and the position left open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BacktestReport {
    pub stats: Stats,
    /// Closed trades, in the order they closed.
    pub trades: Vec<Trade>,
    /// One point per input bar.
    pub equity: Vec<EquityPoint>,
    /// The position still open after the last bar, if any. Absent from
    /// reports written before it existed.
    #[serde(default)]
    pub open_position: Option<OpenPosition>,
}

/// A trade's return as a fraction of its entry value, after commissions: a
/// ratio, so in f64, as backtesting.py's `pl_pct` computes it (and without
/// two `Decimal` divisions per trade). Account analytics use it too, so a
/// paper account's trades return what the engine's do.
pub fn trade_return(
    size: i64,
    entry_price: Decimal,
    exit_price: Decimal,
    commission: Decimal,
) -> f64 {
    let (entry, exit) = (to_f64(entry_price), to_f64(exit_price));
    let sign = if size > 0 { 1.0 } else { -1.0 };
    sign * (exit / entry - 1.0) - to_f64(commission) / (size.unsigned_abs() as f64 * entry)
}

struct Open {
    size: i64,
    entry_bar: usize,
    entry_price: Decimal,
    /// `cash − size × entry_price` once the entry fee is paid: the equity at a
    /// close `c` is `base + size × c`.
    base: Decimal,
}

/// An order waiting for the next bar's open: the position wanted and, when
/// sized at the signal, its units.
#[derive(Debug, Clone)]
struct Pending {
    direction: Direction,
    units: Option<Decimal>,
    exits: Option<Exits>,
}

struct Broker {
    cash: Decimal,
    commission: Decimal,
    sizing: Sizing,
    position: Option<Open>,
    trades: Vec<Trade>,
    /// The open position's exits (stops first), as `trading::Working` orders:
    /// the paper exchange's fill rules.
    protect: Vec<Working>,
    /// Counts changes of cash or position: while flat and unchanged, the
    /// equity is the last bar's, already converted to `f64`.
    changes: u64,
}

impl Broker {
    fn fee(&self, size: i64, price: Decimal) -> Result<Decimal, Overflow> {
        let value = ck(
            Decimal::from(size.unsigned_abs()).checked_mul(price),
            "size × price",
        )?;
        ck(value.checked_mul(self.commission), "the commission")
    }

    /// Closes the position at `price` on bar `bar` (backtesting.py's
    /// `_close_trade`: the exit fee now, both fees in the trade's record).
    /// Nothing changes when a number does not fit.
    fn close(&mut self, price: Decimal, bar: usize, bars: &[Bar]) -> Result<(), Overflow> {
        let Some(open) = self.position.as_ref() else {
            return Ok(());
        };
        let size = Decimal::from(open.size);
        let move_ = ck(price.checked_sub(open.entry_price), "the price move")?;
        let gross = ck(size.checked_mul(move_), "the trade's P&L")?;
        let exit_fee = self.fee(open.size, price)?;
        let net = ck(gross.checked_sub(exit_fee), "the trade's P&L")?;
        let cash = ck(self.cash.checked_add(net), "the cash")?;
        let entry_fee = self.fee(open.size, open.entry_price)?;
        let commission = ck(exit_fee.checked_add(entry_fee), "the commission")?;
        let pnl = ck(gross.checked_sub(commission), "the trade's P&L")?;
        let Some(open) = self.position.take() else {
            return Ok(());
        };
        self.protect.clear();
        self.changes += 1;
        self.cash = cash;
        let return_pct = trade_return(open.size, open.entry_price, price, commission);
        let (entry_time, exit_time) = (bars[open.entry_bar].ts, bars[bar].ts);
        self.trades.push(Trade {
            size: open.size,
            entry_bar: open.entry_bar,
            exit_bar: bar,
            entry_time,
            exit_time,
            duration_ns: exit_time.0 - entry_time.0,
            entry_price: open.entry_price,
            exit_price: price,
            pnl,
            return_pct,
            commission,
        });
        Ok(())
    }

    /// The account as `trading::sizing` sees it: the engine's cash leaves
    /// the position's value out, `base` is the cash with it in.
    fn account(&self) -> AccountAt {
        match &self.position {
            Some(p) => AccountAt {
                cash: p.base,
                held: Decimal::from(p.size),
                other_value: Decimal::ZERO,
            },
            None => AccountAt {
                cash: self.cash,
                held: Decimal::ZERO,
                other_value: Decimal::ZERO,
            },
        }
    }

    fn fees(&self) -> Fees {
        Fees {
            pct: self.commission,
            fixed: Decimal::ZERO,
        }
    }

    /// Units the sizing rule gives at `price` with the account as it is now
    /// (its position closed there first): `trading::sizing`, shared with the
    /// paper path. For all-in that is backtesting.py's `buy()`, which asks
    /// for the fraction `1 − ε` of the available margin, so the broker buys
    /// `int(cash × (1 − ε) // (price × (1 + commission)))` units: the floor
    /// of the quotient, one less when it divides exactly.
    fn units(&self, price: Decimal) -> Result<Decimal, Overflow> {
        self.sizing
            .units_for(&self.account(), price, self.fees())
            .map_err(|_| "the position size")
    }

    /// Opens a position at `price`: `presized` units (sized at the signal, cut
    /// to what the cash pays now), or as many as the sizing rule gives now.
    /// Too little cash for one unit cancels the order.
    fn open(
        &mut self,
        long: bool,
        price: Decimal,
        bar: usize,
        presized: Option<Decimal>,
    ) -> Result<(), Overflow> {
        if price <= Decimal::ZERO || self.cash <= Decimal::ZERO {
            return Ok(());
        }
        let now = self.units(price)?;
        let units = match presized {
            Some(u) => u.min(
                Sizing::AllIn
                    .units_for(&self.account(), price, self.fees())
                    .map_err(|_| "the position size")?,
            ),
            None => now,
        };
        let Some(units) = units.floor().to_i64().filter(|u| *u > 0) else {
            return Ok(());
        };
        let size = if long { units } else { -units };
        let cash = ck(self.cash.checked_sub(self.fee(size, price)?), "the cash")?;
        let value = ck(Decimal::from(size).checked_mul(price), "size × price")?;
        let base = ck(cash.checked_sub(value), "the cash")?;
        self.changes += 1;
        self.cash = cash;
        self.position = Some(Open {
            size,
            entry_bar: bar,
            entry_price: price,
            base,
        });
        Ok(())
    }

    /// A market order from `direction`, filled at `price`: close, then open the
    /// other way (`self.position.close(); self.buy()`), also when the position
    /// already points that way; `Flat` only closes.
    fn execute(
        &mut self,
        order: Pending,
        price: Decimal,
        bar: usize,
        bars: &[Bar],
    ) -> Result<(), Overflow> {
        self.close(price, bar, bars)?;
        match order.direction {
            Direction::Long => self.open(true, price, bar, order.units)?,
            Direction::Short => self.open(false, price, bar, order.units)?,
            Direction::Flat => return Ok(()),
        }
        if let (Some(p), Some(exits)) = (&self.position, &order.exits) {
            self.protect = exit_orders(p, exits, &bars[bar]).map_err(|_| "the exits")?;
        }
        Ok(())
    }

    /// The position's exits on bar `bar` (after its entry bar): the first to
    /// fill closes the position at its price (the others end with it).
    fn check_exits(&mut self, bar: usize, bars: &[Bar]) -> Result<(), Overflow> {
        if self.protect.is_empty() {
            return Ok(());
        }
        let cfg = ExchangeConfig {
            fill_on_quotes: false,
            ..Default::default()
        };
        let mut exit = None;
        for w in &mut self.protect {
            let executions = w.on_bar(&bars[bar], &cfg).map_err(|_| "an exit's price")?;
            if let Some(price) = executions.iter().find_map(|e| match e {
                Execution::Fill { price, .. } => Some(*price),
                _ => None,
            }) {
                exit = Some(price);
                break;
            }
        }
        match exit {
            Some(price) => self.close(price, bar, bars),
            None => Ok(()),
        }
    }

    #[inline]
    fn equity(&self, close: Decimal) -> Result<Decimal, Overflow> {
        match &self.position {
            Some(p) => mark(p.base, p.size, close),
            None => Ok(self.cash),
        }
    }

    /// Out of money (equity ≤ 0 at a close): backtesting.py closes everything
    /// at that close, sets the cash to 0 and stops.
    fn liquidate(&mut self, close: Decimal, bar: usize, bars: &[Bar]) -> Result<(), Overflow> {
        self.close(close, bar, bars)?;
        self.cash = Decimal::ZERO;
        self.changes += 1;
        Ok(())
    }
}

/// `base + size × close`, exactly as `Decimal` computes it (same value, same
/// scale), on the 128-bit mantissas when no step rounds or overflows in
/// `Decimal` (prices and equity in practice): that is the one piece of money
/// arithmetic done on every bar in a position.
fn mark(base: Decimal, size: i64, close: Decimal) -> Result<Decimal, Overflow> {
    const MAX_MANTISSA: u128 = (1 << 96) - 1;
    let fits = |m: i128| m.unsigned_abs() <= MAX_MANTISSA;
    let (bs, cs) = (base.scale(), close.scale());
    let fast = || -> Option<Decimal> {
        if size == 0 || close.is_zero() {
            return None; // `Decimal` makes a zero product scale 0
        }
        let product = (size as i128)
            .checked_mul(close.mantissa())
            .filter(|m| fits(*m))?;
        let (scale, sum) = if bs >= cs {
            let product = product
                .checked_mul(10i128.checked_pow(bs - cs)?)
                .filter(|m| fits(*m))?;
            (bs, base.mantissa().checked_add(product)?)
        } else {
            let base = base
                .mantissa()
                .checked_mul(10i128.checked_pow(cs - bs)?)
                .filter(|m| fits(*m))?;
            (cs, base.checked_add(product)?)
        };
        fits(sum).then(|| Decimal::from_i128_with_scale(sum, scale))
    };
    match fast() {
        Some(v) => Ok(v),
        None => ck(
            Decimal::from(size)
                .checked_mul(close)
                .and_then(|v| base.checked_add(v)),
            "the equity",
        ),
    }
}

/// The exits of position `p` opened on `entry` (working from the next bar):
/// stop-loss, trailing stop, take-profit, in that order (when one bar
/// reaches two, the stop is taken to come first, as on the paper exchange).
fn exit_orders(p: &Open, exits: &Exits, entry: &Bar) -> Result<Vec<Working>, String> {
    check_exits(exits)?;
    let long = p.size > 0;
    let side = if long { Side::Sell } else { Side::Buy };
    let qty = Decimal::from(p.size.unsigned_abs());
    let e = p.entry_price;
    let away = |f: Decimal, up: bool| -> Result<Decimal, String> {
        let m = if up {
            Decimal::ONE.checked_add(f)
        } else {
            Decimal::ONE.checked_sub(f)
        };
        m.and_then(|m| e.checked_mul(m))
            .ok_or_else(|| "beyond the decimal range".to_string())
    };
    let mut out = Vec::new();
    let mut add = |id: &str, order_type, limit_price, stop_price, trailing| {
        let req = OrderRequest {
            client_order_id: id.into(),
            account: "backtest".into(),
            symbol: entry.symbol.clone(),
            side,
            order_type,
            qty,
            limit_price,
            stop_price,
            trailing,
            expire_at: None,
            post_only: false,
            tif: TimeInForce::Gtc,
            reduce_only: true,
            timeframe: Some(entry.timeframe),
            strategy_id: None,
            after_ts: Some(entry.ts),
            sizing: None,
            bracket: None,
            oco: Vec::new(),
        };
        let mut o = Order::new(&req, entry.timeframe, entry.ts, entry.ts, "");
        o.status = OrderStatus::Accepted;
        out.push(Working::new(&o));
    };
    if let Some(f) = exits.stop_loss {
        add("sl", OrderType::Stop, None, Some(away(f, !long)?), None);
    }
    if let Some(f) = exits.trailing_stop {
        let offset = f
            .checked_mul(Decimal::from(10_000))
            .ok_or("trailing_stop is too large")?;
        let trailing = Trailing {
            offset,
            offset_type: trading::OffsetType::Bps,
            activation_price: None,
            limit_offset: None,
        };
        add("ts", OrderType::TrailingStop, None, None, Some(trailing));
    }
    if let Some(f) = exits.take_profit {
        add("tp", OrderType::Limit, Some(away(f, long)?), None, None);
    }
    Ok(out)
}

/// Each exit fraction in `(0, 1)`.
fn check_exits(exits: &Exits) -> Result<(), String> {
    for (name, f) in [
        ("take_profit", exits.take_profit),
        ("stop_loss", exits.stop_loss),
        ("trailing_stop", exits.trailing_stop),
    ] {
        if let Some(f) = f {
            if f <= Decimal::ZERO || f >= Decimal::ONE {
                return Err(format!("{name} must be a fraction in (0, 1), got {f}"));
            }
        }
    }
    Ok(())
}

fn validate_config(bars: &[Bar], config: &BacktestConfig) -> Result<(), BacktestError> {
    if let Some(exits) = &config.exits {
        check_exits(exits).map_err(BacktestError::Exits)?;
    }
    if bars.is_empty() {
        return Err(BacktestError::NoData);
    }
    if config.cash <= Decimal::ZERO {
        return Err(BacktestError::Cash(config.cash));
    }
    if config.commission < Decimal::ZERO || config.commission >= Decimal::new(1, 1) {
        return Err(BacktestError::Commission(config.commission));
    }
    Ok(())
}

/// Bar `index` is valid and follows `bars[index - 1]` in the same series.
/// Checked in the main loop, while the bar is in cache anyway: a separate
/// pass over a million bars would cost more than the rest of the engine.
#[inline]
fn check_bar(bars: &[Bar], index: usize) -> Result<(), BacktestError> {
    let bar = &bars[index];
    if !prices_plainly_valid(bar) {
        bar.validate().map_err(|e| BacktestError::InvalidBar {
            index,
            reason: e.to_string(),
        })?;
    }
    if index > 0 {
        let prev = &bars[index - 1];
        if bar.ts <= prev.ts {
            return Err(BacktestError::Unordered { index, ts: bar.ts });
        }
        if bar.timeframe != prev.timeframe || bar.symbol != prev.symbol {
            return Err(BacktestError::MixedSeries { index });
        }
    }
    Ok(())
}

/// `d > 0` from the sign bit, without a `Decimal` comparison (per bar).
#[inline]
fn positive(d: Decimal) -> bool {
    d.is_sign_positive() && !d.is_zero()
}

/// [`Bar::validate`]'s rules on the raw mantissas brought to one scale
/// (`Decimal` comparisons cost more than the rest of a bar's check). `false`
/// means "ask `Bar::validate`", not "invalid".
fn prices_plainly_valid(bar: &Bar) -> bool {
    const POW10: [i128; 10] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
        1_000_000_000,
    ];
    let prices = [bar.open, bar.high, bar.low, bar.close];
    let scale = prices.iter().map(|p| p.scale()).max().unwrap_or(0);
    let mut m = [0i128; 4];
    for (m, p) in m.iter_mut().zip(prices) {
        // A 96-bit mantissa times at most 10^9 cannot overflow 127 bits.
        match POW10.get((scale - p.scale()) as usize) {
            Some(1) => *m = p.mantissa(),
            Some(up) => *m = p.mantissa() * up,
            None => return false,
        }
    }
    let [o, h, l, c] = m;
    let volume_ok = bar.volume.is_sign_positive() || bar.volume.is_zero();
    l > 0 && l <= h && (l..=h).contains(&o) && (l..=h).contains(&c) && volume_ok
}

/// Runs `strategy` over `bars` (one symbol and timeframe, in time order) and
/// reports like backtesting.py. The strategy is [`Strategy::reset`] first, so
/// one instance can run over several data sets; after an error (a bad bar is
/// found when the run reaches it) its state is whatever that bar left.
///
/// backtesting.py calls the strategy from bar `warmup()` on (its first bar
/// where every indicator and the one before have a value, at least bar 1); our
/// strategies see every bar, since their indicators need the history, but
/// their signals count from that bar on too.
pub fn run(
    bars: &[Bar],
    strategy: &mut dyn Strategy,
    config: &BacktestConfig,
) -> Result<BacktestReport, BacktestError> {
    validate_config(bars, config)?;
    strategy.reset();
    let n = bars.len();
    let last = n - 1;
    let start = strategy.warmup().max(1);
    let mut broker = Broker {
        cash: config.cash,
        commission: config.commission,
        sizing: config.sizing.clone(),
        position: None,
        trades: Vec::new(),
        protect: Vec::new(),
        changes: 0,
    };
    let mut acc = stats::Accumulator::new(bars, start - 1);
    let mut equity = Vec::with_capacity(n);
    let mut pending: Option<Pending> = None;
    let mut out_of_money = false;
    // (broker.changes, equity as f64) of the last flat bar.
    let mut flat: Option<(u64, f64)> = None;

    for (i, bar) in bars.iter().enumerate() {
        check_bar(bars, i)?;
        let at = |what| BacktestError::Overflow { index: i, what };
        let value = if out_of_money {
            Decimal::ZERO
        } else if i < start {
            // Indicators warm up; backtesting.py would not have called `next()`.
            let _ = strategy.on_bar(bar);
            config.cash
        } else {
            // backtesting.py's `broker.next()`: orders fill at the open, the
            // account is marked at the close ...
            if let Some(order) = pending.take() {
                broker.execute(order, bar.open, i, bars).map_err(at)?;
            }
            // Exits work on the bars after the entry's, after the pending
            // order (which filled at the open, before anything in the bar).
            if broker.position.as_ref().is_some_and(|p| p.entry_bar < i) {
                broker.check_exits(i, bars).map_err(at)?;
            }
            let mut value = broker.equity(bar.close).map_err(at)?;
            if positive(value) {
                // ... then `strategy.next()` places the order for the next bar.
                let signal = match strategy.on_bar(bar) {
                    Some(signal) => Some(Pending {
                        direction: signal.direction,
                        exits: signal.exits.or_else(|| config.exits.clone()),
                        units: match config.sizing_at {
                            SizingMoment::AtFill => None,
                            SizingMoment::AtSignal => Some(broker.units(bar.close).map_err(at)?),
                        },
                    }),
                    None => None,
                };
                if i == last && config.finalize_trades {
                    // Finalizing closes the trades open now and re-runs the
                    // broker on the last bar: a signal from this bar fills at
                    // this open too, and the trade it opens stays open.
                    match signal {
                        Some(order) => broker.execute(order, bar.open, i, bars),
                        None => broker.close(bar.open, i, bars),
                    }
                    .map_err(at)?;
                    value = broker.equity(bar.close).map_err(at)?;
                } else {
                    pending = signal;
                }
            }
            if !positive(value) {
                broker.liquidate(bar.close, i, bars).map_err(at)?;
                out_of_money = true;
                value = Decimal::ZERO;
            }
            value
        };
        let value_f64 = match flat {
            Some((changes, f)) if broker.position.is_none() && changes == broker.changes => f,
            _ => {
                let f = to_f64(value);
                flat = broker.position.is_none().then_some((broker.changes, f));
                f
            }
        };
        let drawdown = acc.push(bar, value_f64);
        equity.push(EquityPoint {
            ts: bar.ts,
            equity: value,
            drawdown,
        });
    }

    let at_last = |what| BacktestError::Overflow { index: last, what };
    let open_position = match broker.position.as_ref() {
        None => None,
        Some(p) => {
            let last_price = bars[last].close;
            let move_ = ck(last_price.checked_sub(p.entry_price), "the price move");
            let unrealized = move_
                .and_then(|m| ck(Decimal::from(p.size).checked_mul(m), "the unrealized P&L"))
                .map_err(at_last)?;
            Some(OpenPosition {
                size: p.size,
                entry_bar: p.entry_bar,
                entry_time: bars[p.entry_bar].ts,
                entry_price: p.entry_price,
                entry_commission: broker.fee(p.size, p.entry_price).map_err(at_last)?,
                last_price,
                unrealized_pnl: unrealized,
            })
        }
    };
    let stats = acc.finish(bars, &equity, &broker.trades);
    Ok(BacktestReport {
        stats,
        trades: broker.trades,
        equity,
        open_position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Signal, Symbol, Timeframe};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// Bars with the given opens and closes (high and low around them), one a day.
    fn bars(prices: &[(&str, &str)]) -> Vec<Bar> {
        prices
            .iter()
            .enumerate()
            .map(|(i, (open, close))| {
                let (open, close) = (d(open), d(close));
                Bar {
                    symbol: Symbol::new("T").unwrap(),
                    timeframe: Timeframe::DAY,
                    ts: UnixNanos(1_700_006_400_000_000_000 + i as i64 * 86_400_000_000_000),
                    open,
                    high: open.max(close) + Decimal::ONE,
                    low: open.min(close) - Decimal::ONE,
                    close,
                    volume: Decimal::ONE,
                }
            })
            .collect()
    }

    /// Emits `script[i]` on the i-th bar it sees since the last reset.
    struct Scripted {
        warmup: usize,
        script: Vec<Option<Direction>>,
        seen: usize,
    }

    impl Scripted {
        fn new(warmup: usize, script: &[(usize, Direction)], len: usize) -> Self {
            let mut s = vec![None; len];
            for (i, direction) in script {
                s[*i] = Some(*direction);
            }
            Scripted {
                warmup,
                script: s,
                seen: 0,
            }
        }
    }

    impl Strategy for Scripted {
        fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
            let i = self.seen;
            self.seen += 1;
            self.script[i].map(|direction| Signal {
                symbol: bar.symbol.clone(),
                timeframe: bar.timeframe,
                ts: bar.ts,
                direction,
                price: bar.close,
                reason: "scripted".into(),
                exits: None,
            })
        }
        fn reset(&mut self) {
            self.seen = 0;
        }
        fn warmup(&self) -> usize {
            self.warmup
        }
    }

    fn config(cash: &str, commission: &str, finalize_trades: bool) -> BacktestConfig {
        BacktestConfig {
            finalize_trades,
            ..BacktestConfig::new(d(cash), d(commission))
        }
    }

    const PRICES: [(&str, &str); 6] = [
        ("10", "10"),
        ("10", "11"),
        ("12", "12.5"),
        ("13", "12"),
        ("11.5", "11"),
        ("10", "10.5"),
    ];

    #[test]
    fn money_beyond_the_decimal_range_is_an_error_not_a_panic() {
        use Direction::*;
        // Huge cash buys about 7.9e18 units at 1e7; a close of 1e12 makes
        // the position's value (7.9e30) overflow.
        let mut bars = bars(&[("10000000", "10000000"); 3]);
        bars[2].close = d("1000000000000");
        bars[2].high = bars[2].close;
        let mut s = Scripted::new(1, &[(1, Long)], 3);
        let e = run(
            &bars,
            &mut s,
            &config("79228162514264337593543950", "0", false),
        )
        .unwrap_err();
        assert_eq!(
            e,
            BacktestError::Overflow {
                index: 2,
                what: "the equity"
            }
        );
    }

    #[test]
    fn a_long_then_flat_by_hand() {
        use Direction::*;
        let bars = bars(&PRICES);
        let mut s = Scripted::new(1, &[(1, Long), (3, Flat)], 6);
        let r = run(&bars, &mut s, &config("1000", "0.01", false)).unwrap();
        // Filled at bar 2's open: 1000 / (12 × 1.01) = 82.5 → 82 units, fee 9.84.
        // Closed at bar 4's open: 82 × (11.5 − 12) = −41, fee 9.43.
        let t = &r.trades[0];
        assert_eq!((t.size, t.entry_bar, t.exit_bar), (82, 2, 4));
        assert_eq!((t.entry_price, t.exit_price), (d("12"), d("11.5")));
        assert_eq!(t.commission, d("19.27"));
        assert_eq!(t.pnl, d("-60.27"));
        assert_eq!(t.duration_ns, 2 * 86_400_000_000_000);
        assert!((t.return_pct - (11.5 / 12.0 - 1.0 - 19.27 / 984.0)).abs() < 1e-15);
        let equity: Vec<Decimal> = r.equity.iter().map(|p| p.equity).collect();
        // Bar 2: 1000 − 9.84 + 82 × 0.5; bar 3: 1000 − 9.84 + 0; then the cash.
        let want = ["1000", "1000", "1031.16", "990.16", "939.73", "939.73"];
        assert_eq!(equity, want.map(d));
        assert_eq!(r.open_position, None);
        assert_eq!(r.stats.exposure_time_pct, Some(50.0));
        assert_eq!(r.stats.commissions, d("19.27"));
    }

    #[test]
    fn an_opposite_signal_reverses_and_a_repeated_one_reenters() {
        use Direction::*;
        let bars = bars(&PRICES);
        let mut s = Scripted::new(1, &[(1, Long), (2, Long), (3, Short)], 6);
        let r = run(&bars, &mut s, &config("1000", "0", false)).unwrap();
        let sizes: Vec<(i64, usize, usize)> = r
            .trades
            .iter()
            .map(|t| (t.size, t.entry_bar, t.exit_bar))
            .collect();
        // 1000 / 12 → 83; 1000 + 83 × 1 = 1083 / 13 → 83 (83.3); then short
        // 1083 − 83 × 1.5 = 958.5 / 11.5 → 83 (83.3).
        assert_eq!(sizes, [(83, 2, 3), (83, 3, 4)]);
        let open = r.open_position.unwrap();
        assert_eq!((open.size, open.entry_bar), (-83, 4));
        assert_eq!(open.last_price, d("10.5"));
        assert_eq!(open.unrealized_pnl, d("83"));
        assert_eq!(r.stats.equity_final, d("958.5") + d("83"));
    }

    #[test]
    fn signals_count_from_the_warmup_bar_and_never_from_bar_0() {
        use Direction::*;
        let bars = bars(&PRICES);
        // warmup 0 is warmup 1: backtesting.py's first `next()` is on bar 1.
        let mut s = Scripted::new(0, &[(0, Long), (1, Short)], 6);
        let r = run(&bars, &mut s, &config("1000", "0", false)).unwrap();
        assert!(r.trades.is_empty());
        assert_eq!(r.open_position.unwrap().size, -83);

        let mut s = Scripted::new(3, &[(2, Long)], 6);
        let r = run(&bars, &mut s, &config("1000", "0", false)).unwrap();
        assert_eq!(r.open_position, None);
        // Buy & hold starts at the close before the first trading bar.
        let bh = r.stats.buy_hold_return_pct.unwrap();
        assert!((bh - (10.5 / 12.5 - 1.0) * 100.0).abs() < 1e-12);
    }

    #[test]
    fn finalizing_closes_at_the_last_open() {
        use Direction::*;
        let bars = bars(&PRICES);
        let mut s = Scripted::new(1, &[(1, Long)], 6);
        let r = run(&bars, &mut s, &config("1000", "0", true)).unwrap();
        let t = &r.trades[0];
        assert_eq!((t.exit_bar, t.exit_price), (5, d("10")));
        assert_eq!(r.open_position, None);
        assert_eq!(r.stats.equity_final, d("1000") + d("83") * d("-2"));

        // A signal on the last bar fills there and stays open.
        let mut s = Scripted::new(1, &[(1, Long), (5, Short)], 6);
        let r = run(&bars, &mut s, &config("1000", "0", true)).unwrap();
        assert_eq!(r.trades.len(), 1);
        let open = r.open_position.unwrap();
        assert_eq!(
            (open.size, open.entry_bar, open.entry_price),
            (-83, 5, d("10"))
        );
        assert_eq!(r.stats.equity_final, d("834") - d("83") * d("0.5"));
    }

    #[test]
    fn sized_at_the_signal_a_higher_open_cuts_the_order() {
        use Direction::*;
        // Signal at bar 1's close of 10: all in is 99 units (1000 / 10 divides
        // exactly); bar 2 opens at 12, where the cash buys 83.
        let bars = bars(&[("10", "10"), ("10", "10"), ("12", "12"), ("12", "12")]);
        let run_at = |sizing_at, sizing| {
            let mut s = Scripted::new(1, &[(1, Long)], 4);
            let config = BacktestConfig {
                sizing,
                sizing_at,
                ..config("1000", "0", false)
            };
            run(&bars, &mut s, &config)
                .unwrap()
                .open_position
                .unwrap()
                .size
        };
        assert_eq!(run_at(SizingMoment::AtSignal, Sizing::AllIn), 83);
        assert_eq!(run_at(SizingMoment::AtFill, Sizing::AllIn), 83);
        // A smaller order sized at the signal stays as it was.
        let half = Sizing::PercentOfEquity {
            percent: Decimal::from(50),
        };
        assert_eq!(run_at(SizingMoment::AtSignal, half.clone()), 50);
        assert_eq!(run_at(SizingMoment::AtFill, half), 41);
        let fixed = Sizing::FixedQty {
            qty: Decimal::from(7),
        };
        assert_eq!(run_at(SizingMoment::AtFill, fixed), 7);
    }

    #[test]
    fn a_gap_through_the_equity_stops_the_run() {
        use Direction::*;
        let bars = bars(&[
            ("10", "10"),
            ("10", "10"),
            ("10", "12"),
            ("25", "24"),
            ("24", "30"),
        ]);
        // Short 99 at 10 (1000 / 10 divides exactly); bar 3 closes at 24:
        // 1000 + 99 × (10 − 24) < 0.
        let mut s = Scripted::new(1, &[(1, Short), (3, Long)], 5);
        let r = run(&bars, &mut s, &config("1000", "0", true)).unwrap();
        let t = &r.trades[0];
        assert_eq!((t.size, t.exit_bar, t.exit_price), (-99, 3, d("24")));
        assert_eq!(r.trades.len(), 1, "no trading after going broke");
        let equity: Vec<Decimal> = r.equity.iter().map(|p| p.equity).collect();
        assert_eq!(equity, ["1000", "1000", "802", "0", "0"].map(d));
        assert_eq!(r.stats.return_pct, Some(-100.0));
        assert_eq!(r.stats.max_drawdown_pct, Some(-100.0));
    }

    #[test]
    fn marking_on_mantissas_equals_decimal_arithmetic() {
        let bases = [
            "-1234.56789",
            "0",
            "10000",
            "-99999999999999999999.5",
            "7922816251426433759354395033",
            "0.0000000000000000000000000001",
        ];
        let closes = [
            "100.34",
            "0.01",
            "806.19",
            "3",
            "123456789012345678.9",
            "1e-20",
        ];
        for base in bases.map(d) {
            for close in closes.map(d) {
                for size in [0, 1, -59, 1_000_000, i64::MAX, i64::MIN] {
                    let Some(want) = Decimal::from(size)
                        .checked_mul(close)
                        .and_then(|p| base.checked_add(p))
                    else {
                        continue;
                    };
                    let got = mark(base, size, close).unwrap();
                    assert_eq!(got, want, "{base} + {size} × {close}");
                    assert_eq!(got.scale(), want.scale(), "{base} + {size} × {close}");
                }
            }
        }
    }

    #[test]
    fn the_quick_price_check_agrees_with_bar_validate() {
        let cases = [
            ("10.00", "11.00", "9.00", "10.50", "1"),
            ("10.00", "9.00", "11.00", "10.00", "1"),
            ("12.00", "11.00", "9.00", "10.50", "1"),
            ("10.00", "11.00", "9.00", "8.00", "1"),
            ("0.00", "0.00", "0.00", "0.00", "1"),
            ("-1.00", "1.00", "-2.00", "0.00", "1"),
            ("10.00", "11.00", "9.00", "10.00", "-1"),
            ("10", "11.00", "9.0", "10.000", "0"),
            ("10", "10.001", "9.9", "10.0001", "0"),
            ("10", "10.000", "9.99", "10.0001", "0"),
            ("10", "10.0000000000", "9", "10.0001", "0"),
        ];
        for (o, h, l, c, v) in cases {
            let mut bar = bars(&[("1", "1")]).remove(0);
            (bar.open, bar.high, bar.low, bar.close, bar.volume) = (d(o), d(h), d(l), d(c), d(v));
            if prices_plainly_valid(&bar) {
                assert_eq!(bar.validate(), Ok(()), "{o} {h} {l} {c} {v}");
            }
        }
        let plain = bars(&[("10.00", "10.50")]).remove(0);
        assert!(prices_plainly_valid(&plain));
        let mixed_scales = bars(&[("100.0", "104.06")]).remove(0);
        assert!(prices_plainly_valid(&mixed_scales));
    }

    #[test]
    fn exits_close_the_position_by_the_paper_exchange_rules() {
        use Direction::*;
        let exits = |tp: Option<&str>, sl: Option<&str>, ts: Option<&str>| {
            Some(Exits {
                take_profit: tp.map(d),
                stop_loss: sl.map(d),
                trailing_stop: ts.map(d),
            })
        };
        let run_with = |prices: &[(&str, &str)], e: Option<Exits>| {
            let bars = bars(prices);
            let mut s = Scripted::new(1, &[(1, Long)], prices.len());
            let config = BacktestConfig {
                exits: e,
                ..config("1000", "0", false)
            };
            run(&bars, &mut s, &config).unwrap()
        };
        // Entry at bar 2's open 10 (99 units: 1000 / 10 divides exactly).
        // Take-profit 10 % = 11, stop-loss 10 % = 9; bar 2's own high 11.5
        // does not count (exits work from the next bar); bar 3's high 11.8
        // reaches 11, its low 9.5 not 9: out at 11.
        let prices = [
            ("10", "10"),
            ("10", "10"),
            ("10", "10.5"),
            ("10.5", "10.8"),
            ("10.8", "10.8"),
        ];
        let r = run_with(&prices, exits(Some("0.1"), Some("0.1"), None));
        assert_eq!(r.trades.len(), 1);
        let t = &r.trades[0];
        assert_eq!((t.size, t.entry_bar, t.entry_price), (99, 2, d("10")));
        assert_eq!((t.exit_bar, t.exit_price, t.pnl), (3, d("11.0"), d("99.0")));
        assert!(r.open_position.is_none());
        // A bar reaching both (high 11, low 9): the stop is taken first.
        let prices = [
            ("10", "10"),
            ("10", "10"),
            ("10", "10"),
            ("10", "10"),
            ("10", "10"),
        ];
        let r = run_with(&prices, exits(Some("0.1"), Some("0.1"), None));
        assert_eq!(
            (r.trades[0].exit_bar, r.trades[0].exit_price),
            (3, d("9.0"))
        );
        // Trailing stop 10 %: bar 3's level is its open 10.5 × 0.9 = 9.45
        // (low 9.5), then the reference is its high 11.8; bar 4's level
        // 11.8 × 0.9 = 10.62 is reached by its low 9: out at 10.62.
        let prices = [
            ("10", "10"),
            ("10", "10"),
            ("10", "10.5"),
            ("10.5", "10.8"),
            ("11", "10"),
            ("10", "10"),
        ];
        let r = run_with(&prices, exits(None, None, Some("0.1")));
        assert_eq!(
            (r.trades[0].exit_bar, r.trades[0].exit_price),
            (4, d("10.620"))
        );
        // Without exits the position stays open.
        assert!(run_with(&prices, None).open_position.is_some());
        // Exits must be fractions in (0, 1).
        let bad = BacktestConfig {
            exits: exits(Some("1.5"), None, None),
            ..config("1000", "0", false)
        };
        let mut s = Scripted::new(1, &[(1, Long)], prices.len());
        assert!(matches!(
            run(&bars(&prices), &mut s, &bad),
            Err(BacktestError::Exits(_))
        ));
    }
}
