//! The report's statistics, with backtesting.py 0.6.6's definitions
//! (`backtesting/_stats.py`, `compute_stats`), risk-free rate 0.
//!
//! Each field of [`Stats`] says which of backtesting.py's names it is;
//! [`Stats::named`] lists them under those names. Percentages are percent
//! (`12.5` is 12.5 %), as there. Durations are nanoseconds (`*_ns`), rounded up
//! to the resolution of the data's bar spacing (whole days for daily bars,
//! hours for hourly ones) as backtesting.py rounds its timedeltas. A statistic
//! that is undefined or infinite (no trades, no losses, no drawdown, zero
//! volatility) is `None` (`null`) where backtesting.py has NaN or inf.
//!
//! Annualisation, as backtesting.py does it:
//! - the data period is the median spacing of the last 100 bars; its whole
//!   days pick the return bucket: 7 → weeks ending Sunday, 31 → calendar
//!   months, 365 → years, anything else (daily and intraday data) → UTC
//!   calendar days. Returns are those of the last equity of each bucket that
//!   has bars (`resample(freq).last().dropna().pct_change()`);
//! - periods per year: 52, 12, 1, or for daily and intraday data 365 when more
//!   than 60 % of the weekend share of days (2/7) of the bars fall on a
//!   Saturday or Sunday, else 252;
//! - Return (Ann.) compounds the geometric mean bucket return `g`:
//!   `(1 + g)^N − 1`; Volatility (Ann.) is `√((σ² + (1 + g)²)^N − (1 + g)^(2N))`
//!   with the sample variance σ² of the bucket returns (not `σ·√N`); Sharpe is
//!   their ratio; Sortino divides the annual return by
//!   `√(mean(min(r, 0)²)) · √N`; CAGR uses calendar years of 365.25 days;
//! - Beta is the covariance of the equity's and the close's log returns bar by
//!   bar over the close's variance; Alpha is `Return − β · Buy & Hold Return`.
//!
//! Everything per bar is accumulated while the engine runs (`Accumulator`):
//! no per-bar vectors besides the equity curve the report returns.

use model::{Bar, Decimal, UnixNanos};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::engine::{EquityPoint, Trade};

const DAY_NS: i64 = 86_400_000_000_000;

/// backtesting.py's statistics (risk-free rate 0). The doc of each field is
/// its name there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stats {
    /// "Start": the first bar's time.
    pub start: UnixNanos,
    /// "End": the last bar's time.
    pub end: UnixNanos,
    /// "Duration": `end − start`, nanoseconds.
    pub duration_ns: i64,
    /// "Exposure Time [%]": share of bars in a closed trade (entry to exit bar,
    /// both included).
    pub exposure_time_pct: Option<f64>,
    /// "Equity Final [$]".
    pub equity_final: Decimal,
    /// "Equity Peak [$]".
    pub equity_peak: Decimal,
    /// "Commissions [$]" of the closed trades (backtesting.py omits it when 0).
    pub commissions: Decimal,
    /// "Return [%]".
    pub return_pct: Option<f64>,
    /// "Buy & Hold Return [%]": from the close of the bar before the
    /// strategy's first bar to the last close.
    pub buy_hold_return_pct: Option<f64>,
    /// "Return (Ann.) [%]".
    pub return_ann_pct: Option<f64>,
    /// "Volatility (Ann.) [%]".
    pub volatility_ann_pct: Option<f64>,
    /// "CAGR [%]".
    pub cagr_pct: Option<f64>,
    /// "Sharpe Ratio".
    pub sharpe_ratio: Option<f64>,
    /// "Sortino Ratio".
    pub sortino_ratio: Option<f64>,
    /// "Calmar Ratio": annual return over the max. drawdown.
    pub calmar_ratio: Option<f64>,
    /// "Alpha [%]".
    pub alpha_pct: Option<f64>,
    /// "Beta".
    pub beta: Option<f64>,
    /// "Max. Drawdown [%]" (negative).
    pub max_drawdown_pct: Option<f64>,
    /// "Avg. Drawdown [%]" (negative): mean of each drawdown period's deepest point.
    pub avg_drawdown_pct: Option<f64>,
    /// "Max. Drawdown Duration", nanoseconds: a period runs from the bar of the
    /// peak to the bar of recovery (or the last bar).
    pub max_drawdown_duration_ns: Option<i64>,
    /// "Avg. Drawdown Duration", nanoseconds.
    pub avg_drawdown_duration_ns: Option<i64>,
    /// "# Trades": closed trades.
    pub trades: usize,
    /// "Win Rate [%]": trades with a positive P&L.
    pub win_rate_pct: Option<f64>,
    /// "Best Trade [%]".
    pub best_trade_pct: Option<f64>,
    /// "Worst Trade [%]".
    pub worst_trade_pct: Option<f64>,
    /// "Avg. Trade [%]": geometric mean of the trade returns.
    pub avg_trade_pct: Option<f64>,
    /// "Max. Trade Duration", nanoseconds.
    pub max_trade_duration_ns: Option<i64>,
    /// "Avg. Trade Duration", nanoseconds.
    pub avg_trade_duration_ns: Option<i64>,
    /// "Profit Factor": sum of positive trade returns over that of negative ones.
    pub profit_factor: Option<f64>,
    /// "Expectancy [%]": arithmetic mean of the trade returns.
    pub expectancy_pct: Option<f64>,
    /// "SQN": `√n · mean(P&L) / std(P&L)`.
    pub sqn: Option<f64>,
    /// "Kelly Criterion".
    pub kelly_criterion: Option<f64>,
}

impl Stats {
    /// Every statistic under backtesting.py's name, formatted for people
    /// (durations as pandas prints them, ratios to 5 decimals, "-" when
    /// undefined).
    pub fn named(&self) -> Vec<(&'static str, String)> {
        let num = |x: Option<f64>| {
            x.map(|v| format!("{v:.5}"))
                .unwrap_or_else(|| "-".to_string())
        };
        let duration = |ns: Option<i64>| ns.map(format_duration).unwrap_or_else(|| "-".to_string());
        vec![
            ("Start", self.start.to_rfc3339()),
            ("End", self.end.to_rfc3339()),
            ("Duration", duration(Some(self.duration_ns))),
            ("Exposure Time [%]", num(self.exposure_time_pct)),
            (
                "Equity Final [$]",
                self.equity_final.round_dp(5).to_string(),
            ),
            ("Equity Peak [$]", self.equity_peak.round_dp(5).to_string()),
            ("Commissions [$]", self.commissions.round_dp(5).to_string()),
            ("Return [%]", num(self.return_pct)),
            ("Buy & Hold Return [%]", num(self.buy_hold_return_pct)),
            ("Return (Ann.) [%]", num(self.return_ann_pct)),
            ("Volatility (Ann.) [%]", num(self.volatility_ann_pct)),
            ("CAGR [%]", num(self.cagr_pct)),
            ("Sharpe Ratio", num(self.sharpe_ratio)),
            ("Sortino Ratio", num(self.sortino_ratio)),
            ("Calmar Ratio", num(self.calmar_ratio)),
            ("Alpha [%]", num(self.alpha_pct)),
            ("Beta", num(self.beta)),
            ("Max. Drawdown [%]", num(self.max_drawdown_pct)),
            ("Avg. Drawdown [%]", num(self.avg_drawdown_pct)),
            (
                "Max. Drawdown Duration",
                duration(self.max_drawdown_duration_ns),
            ),
            (
                "Avg. Drawdown Duration",
                duration(self.avg_drawdown_duration_ns),
            ),
            ("# Trades", self.trades.to_string()),
            ("Win Rate [%]", num(self.win_rate_pct)),
            ("Best Trade [%]", num(self.best_trade_pct)),
            ("Worst Trade [%]", num(self.worst_trade_pct)),
            ("Avg. Trade [%]", num(self.avg_trade_pct)),
            ("Max. Trade Duration", duration(self.max_trade_duration_ns)),
            ("Avg. Trade Duration", duration(self.avg_trade_duration_ns)),
            ("Profit Factor", num(self.profit_factor)),
            ("Expectancy [%]", num(self.expectancy_pct)),
            ("SQN", num(self.sqn)),
            ("Kelly Criterion", num(self.kelly_criterion)),
        ]
    }
}

/// `3 days`, or `3 days 04:00:00` when not whole days (pandas' way).
fn format_duration(ns: i64) -> String {
    let days = ns.div_euclid(DAY_NS);
    let rest = ns.rem_euclid(DAY_NS) / 1_000_000_000;
    if rest == 0 {
        format!("{days} days")
    } else {
        let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
        format!("{days} days {h:02}:{m:02}:{s:02}")
    }
}

/// `Decimal` → `f64`, correctly rounded and fast: [`model::to_f64`].
#[inline]
pub(crate) fn to_f64(d: Decimal) -> f64 {
    model::to_f64(d)
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Sample variance (ddof = 1), as pandas.
fn var(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
}

/// backtesting.py's `geometric_mean`: 0 when a return is −100 % or worse,
/// NaN when there are none.
fn geometric_mean(returns: &[f64]) -> f64 {
    if returns.iter().any(|r| 1.0 + r <= 0.0) {
        return 0.0;
    }
    if returns.is_empty() {
        return f64::NAN;
    }
    (returns.iter().map(|r| (1.0 + r).ln()).sum::<f64>() / returns.len() as f64).exp() - 1.0
}

/// A statistic, or `None` where it is undefined (NaN or infinite).
fn defined(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Python's `x or nan`.
fn nan_if_zero(x: f64) -> f64 {
    if x == 0.0 {
        f64::NAN
    } else {
        x
    }
}

/// Median spacing of the last 100 bars (backtesting.py's `_data_period`).
fn data_period(bars: &[Bar]) -> i64 {
    let tail = &bars[bars.len().saturating_sub(100)..];
    let mut diffs: Vec<i64> = tail.windows(2).map(|w| w[1].ts.0 - w[0].ts.0).collect();
    if diffs.is_empty() {
        return DAY_NS;
    }
    diffs.sort_unstable();
    let n = diffs.len();
    if n % 2 == 1 {
        diffs[n / 2]
    } else {
        (diffs[n / 2 - 1] + diffs[n / 2]) / 2
    }
}

/// pandas' `Timedelta.ceil(resolution)`: the resolution is the coarsest unit
/// (day, hour, minute, second, ms, µs, ns) the data period is a multiple of.
fn ceil_to_resolution(ns: f64, period: i64) -> Option<i64> {
    if !ns.is_finite() {
        return None;
    }
    let unit = [
        DAY_NS,
        3_600_000_000_000,
        60_000_000_000,
        1_000_000_000,
        1_000_000,
        1_000,
        1,
    ]
    .into_iter()
    .find(|u| period % u == 0)
    .unwrap_or(1);
    let ns = ns.trunc() as i64;
    Some(ns.div_euclid(unit) * unit + if ns.rem_euclid(unit) > 0 { unit } else { 0 })
}

/// The return bucket of weekly, monthly and yearly data: the week ending
/// Sunday, the calendar month, the year.
fn calendar_bucket(ts: UnixNanos, freq_days: i64) -> i64 {
    let d = OffsetDateTime::from_unix_timestamp_nanos(ts.0 as i128)
        .map(|d| d.date())
        .unwrap_or(time::Date::MIN);
    match freq_days {
        7 => (d.to_julian_day() + (7 - d.weekday().number_days_from_sunday() as i32) % 7) as i64,
        31 => d.year() as i64 * 12 + d.month() as i64,
        _ => d.year() as i64,
    }
}

/// Sums for a variance and a covariance in one pass, without a division per
/// value (Welford's would chain one through every bar). Values are shifted by
/// an early one, `k`, which keeps the textbook formula as accurate as numpy's
/// two passes unless the mean sits many standard deviations from `k`, which
/// returns do not.
#[derive(Default)]
struct Sums {
    n: f64,
    k: f64,
    s_y: f64,
    s_yy: f64,
    s_x: f64,
    s_xy: f64,
}

impl Sums {
    /// `x` is the series that is mostly 0 (shifted by 0, summed when not 0).
    #[inline]
    fn push(&mut self, x: f64, y: f64) {
        if self.n == 0.0 {
            self.k = y;
        }
        self.n += 1.0;
        let y = y - self.k;
        self.s_y += y;
        self.s_yy += y * y;
        if x != 0.0 {
            self.s_x += x;
            self.s_xy += x * y;
        }
    }

    /// Sample variance of `y` (ddof = 1).
    fn var_y(&self) -> f64 {
        if self.n < 2.0 {
            f64::NAN
        } else {
            (self.s_yy - self.s_y * self.s_y / self.n) / (self.n - 1.0)
        }
    }

    /// `cov(x, y) / var(y)` (the ddof cancels).
    fn slope(&self) -> f64 {
        (self.s_xy - self.s_x * self.s_y / self.n) / (self.s_yy - self.s_y * self.s_y / self.n)
    }
}

/// The bucket ("day") returns: what Return (Ann.), Volatility (Ann.) and
/// Sortino need of them.
#[derive(Default)]
struct BucketReturns {
    sums: Sums,
    log_growth: f64,
    total_loss: bool,
    downside_squares: f64,
}

impl BucketReturns {
    /// `r` and, when the caller has it, `ln(1 + r)`.
    fn push(&mut self, r: f64, ln_growth: Option<f64>) {
        if r.is_nan() {
            return; // 0 → 0 after going broke: pandas' `dropna()`
        }
        self.sums.push(0.0, r);
        if 1.0 + r <= 0.0 {
            self.total_loss = true;
        } else if r != 0.0 {
            self.log_growth += ln_growth.unwrap_or_else(|| (1.0 + r).ln());
        }
        if r < 0.0 {
            self.downside_squares += r * r;
        }
    }

    fn count(&self) -> f64 {
        self.sums.n
    }

    fn geometric_mean(&self) -> f64 {
        if self.total_loss {
            0.0
        } else if self.count() == 0.0 {
            f64::NAN
        } else {
            (self.log_growth / self.count()).exp() - 1.0
        }
    }
}

/// Drawdown periods: from a bar at the peak (drawdown 0) to the next one, or
/// to the last bar, with at least one bar below the peak in between.
#[derive(Default)]
struct Drawdowns {
    at_peak_ts: i64,
    at_peak_index: usize,
    deepest_since_peak: f64,
    count: usize,
    sum_deepest: f64,
    sum_duration: f64,
    max_duration: f64,
    max: f64,
}

impl Drawdowns {
    fn end_period(&mut self, index: usize, ts: i64) {
        if index > self.at_peak_index + 1 {
            let duration = (ts - self.at_peak_ts) as f64;
            self.count += 1;
            self.sum_deepest += self.deepest_since_peak;
            self.sum_duration += duration;
            self.max_duration = self.max_duration.max(duration);
        }
    }
}

/// The statistics, fed one equity point per bar by the engine.
pub(crate) struct Accumulator {
    period: i64,
    freq_days: i64,
    /// The bar before the strategy's first: the Buy & Hold start.
    first_trading_bar: usize,
    index: usize,
    peak: f64,
    peak_index: usize,
    drawdown: f64,
    drawdowns: Drawdowns,
    prev_equity: f64,
    prev_close: f64,
    /// Equity log returns (x) against close log returns (y), bar by bar.
    log_returns: Sums,
    log_returns_defined: bool,
    /// This bar's equity log return, when defined.
    last_log_return: Option<f64>,
    weekend_bars: usize,
    /// `[start, end)` of the UTC day of the last bar, in ns, and whether it
    /// is a Saturday or a Sunday.
    day: (i64, i64),
    weekend_day: bool,
    bucket: i64,
    bucket_bars: usize,
    bucket_last: f64,
    /// The log return of the bucket's only bar, which is then the bucket's.
    bucket_log_return: Option<f64>,
    prev_bucket_last: f64,
    buckets: BucketReturns,
}

impl Accumulator {
    pub fn new(bars: &[Bar], first_trading_bar: usize) -> Self {
        let period = data_period(bars);
        Accumulator {
            period,
            freq_days: period / DAY_NS,
            first_trading_bar,
            index: 0,
            peak: f64::NEG_INFINITY,
            peak_index: 0,
            drawdown: 0.0,
            drawdowns: Drawdowns::default(),
            prev_equity: f64::NAN,
            prev_close: f64::NAN,
            log_returns: Sums::default(),
            log_returns_defined: true,
            last_log_return: None,
            weekend_bars: 0,
            day: (i64::MAX, i64::MIN),
            weekend_day: false,
            bucket: i64::MIN,
            bucket_bars: 0,
            bucket_last: f64::NAN,
            bucket_log_return: None,
            prev_bucket_last: f64::NAN,
            buckets: BucketReturns::default(),
        }
    }

    /// Takes the next bar's equity (the bars come in order, each once) and
    /// returns its drawdown. An equity equal to the last one, the usual case
    /// while flat, costs no division and no logarithm of its own.
    #[inline]
    pub fn push(&mut self, bar: &Bar, equity: f64) -> f64 {
        let i = self.index;
        self.index += 1;
        let ts = bar.ts.0;
        let unchanged = equity == self.prev_equity;

        if !unchanged {
            if equity > self.peak || i == 0 {
                self.peak = equity;
                self.peak_index = i;
            }
            self.drawdown = 1.0 - equity / self.peak;
        }
        let drawdown = self.drawdown;
        let dd = &mut self.drawdowns;
        if drawdown == 0.0 {
            dd.end_period(i, ts);
            dd.at_peak_index = i;
            dd.at_peak_ts = ts;
            dd.deepest_since_peak = 0.0;
        } else if drawdown > dd.deepest_since_peak {
            dd.deepest_since_peak = drawdown;
            dd.max = dd.max.max(drawdown);
        }

        let close = to_f64(bar.close);
        self.last_log_return = None;
        if i > 0 {
            let x = if unchanged {
                0.0
            } else {
                (equity / self.prev_equity).ln()
            };
            let y = (close / self.prev_close).ln();
            if x.is_finite() && y.is_finite() {
                self.log_returns.push(x, y);
                self.last_log_return = Some(x);
            } else {
                self.log_returns_defined = false;
            }
        }
        self.prev_equity = equity;
        self.prev_close = close;

        if ts >= self.day.1 || ts < self.day.0 {
            let day = ts.div_euclid(DAY_NS);
            self.day = (day * DAY_NS, (day + 1) * DAY_NS);
            // 1970-01-01, day 0, was a Thursday: days 2 and 3 of a week are
            // Saturday and Sunday.
            self.weekend_day = matches!(day.rem_euclid(7), 2 | 3);
        }
        self.weekend_bars += usize::from(self.weekend_day);
        let bucket = match self.freq_days {
            7 | 31 | 365 => calendar_bucket(bar.ts, self.freq_days),
            _ => self.day.0,
        };
        if bucket != self.bucket {
            self.close_bucket();
            self.bucket = bucket;
            self.bucket_bars = 0;
        }
        self.bucket_bars += 1;
        self.bucket_last = equity;
        self.bucket_log_return = self.last_log_return;
        drawdown
    }

    fn close_bucket(&mut self) {
        if self.bucket_last.is_nan() {
            return;
        }
        if !self.prev_bucket_last.is_nan() {
            let r = self.bucket_last / self.prev_bucket_last - 1.0;
            // A one-bar bucket's return is its bar's: its logarithm is known.
            let ln_growth = self.bucket_log_return.filter(|_| self.bucket_bars == 1);
            self.buckets.push(r, ln_growth);
        }
        self.prev_bucket_last = self.bucket_last;
    }

    pub fn finish(mut self, bars: &[Bar], equity: &[EquityPoint], trades: &[Trade]) -> Stats {
        self.close_bucket();
        let n = equity.len();
        let last_ts = bars[n - 1].ts.0;
        let dd = &mut self.drawdowns;
        let last_drawdown = equity[n - 1].drawdown;
        if last_drawdown != 0.0 {
            dd.end_period(n - 1, last_ts);
        }
        let (max_dd_duration, avg_dd_duration, avg_dd) = if dd.count > 0 {
            let count = dd.count as f64;
            (
                dd.max_duration,
                dd.sum_duration / count,
                dd.sum_deepest / count,
            )
        } else {
            // With no period, backtesting.py's peaks are the nonzero drawdowns
            // (there can only be one, on the last bar) and its durations are
            // not durations: we leave those out.
            let avg = if last_drawdown > 0.0 {
                last_drawdown
            } else {
                f64::NAN
            };
            (f64::NAN, f64::NAN, avg)
        };
        let max_dd = dd.max;

        let e0 = equity[0].equity;
        let e_final = equity[n - 1].equity;
        let return_pct = to_f64((e_final - e0) / e0) * 100.0;
        let first_close = bars[if self.first_trading_bar < n {
            self.first_trading_bar
        } else {
            0
        }]
        .close;
        let buy_hold_return_pct = to_f64((bars[n - 1].close - first_close) / first_close) * 100.0;

        let annual_periods = match self.freq_days {
            7 => 52.0,
            31 => 12.0,
            365 => 1.0,
            _ if self.weekend_bars as f64 / n as f64 > 2.0 / 7.0 * 0.6 => 365.0,
            _ => 252.0,
        };
        let g = self.buckets.geometric_mean();
        let annualized = (1.0 + g).powf(annual_periods) - 1.0;
        let return_ann_pct = annualized * 100.0;
        let volatility_ann_pct = ((self.buckets.sums.var_y() + (1.0 + g).powi(2))
            .powf(annual_periods)
            - (1.0 + g).powf(2.0 * annual_periods))
        .sqrt()
            * 100.0;
        let duration_ns = last_ts - bars[0].ts.0;
        let years = (duration_ns / 1_000_000_000) as f64 / 86_400.0 / 365.25;
        let cagr_pct = if years != 0.0 {
            (to_f64(e_final / e0).powf(1.0 / years) - 1.0) * 100.0
        } else {
            f64::NAN
        };
        let sharpe_ratio = return_ann_pct / nan_if_zero(volatility_ann_pct);
        let downside = self.buckets.downside_squares / self.buckets.count();
        let sortino_ratio = annualized / (downside.sqrt() * annual_periods.sqrt());
        let calmar_ratio = annualized / nan_if_zero(max_dd);

        let beta = if self.log_returns_defined && n > 2 {
            self.log_returns.slope()
        } else {
            f64::NAN
        };
        let alpha_pct = return_pct - beta * buy_hold_return_pct;

        let exposure_time_pct = exposed_bars(trades) as f64 / n as f64 * 100.0;
        let trade_stats = TradeStats::new(trades, self.period);
        Stats {
            start: bars[0].ts,
            end: bars[n - 1].ts,
            duration_ns,
            exposure_time_pct: defined(exposure_time_pct),
            equity_final: e_final,
            equity_peak: equity[self.peak_index].equity,
            commissions: trades
                .iter()
                .fold(Decimal::ZERO, |sum, t| sum.saturating_add(t.commission)),
            return_pct: defined(return_pct),
            buy_hold_return_pct: defined(buy_hold_return_pct),
            return_ann_pct: defined(return_ann_pct),
            volatility_ann_pct: defined(volatility_ann_pct),
            cagr_pct: defined(cagr_pct),
            sharpe_ratio: defined(sharpe_ratio),
            sortino_ratio: defined(sortino_ratio),
            calmar_ratio: defined(calmar_ratio),
            alpha_pct: defined(alpha_pct),
            beta: defined(beta),
            max_drawdown_pct: defined(-max_dd * 100.0),
            avg_drawdown_pct: defined(-avg_dd * 100.0),
            max_drawdown_duration_ns: ceil_to_resolution(max_dd_duration, self.period),
            avg_drawdown_duration_ns: ceil_to_resolution(avg_dd_duration, self.period),
            trades: trades.len(),
            win_rate_pct: defined(trade_stats.win_rate * 100.0),
            best_trade_pct: defined(trade_stats.best * 100.0),
            worst_trade_pct: defined(trade_stats.worst * 100.0),
            avg_trade_pct: defined(trade_stats.geometric_mean * 100.0),
            max_trade_duration_ns: trade_stats.max_duration,
            avg_trade_duration_ns: trade_stats.avg_duration,
            profit_factor: defined(trade_stats.profit_factor),
            expectancy_pct: defined(trade_stats.expectancy * 100.0),
            sqn: defined(trade_stats.sqn),
            kelly_criterion: defined(trade_stats.kelly),
        }
    }
}

/// Bars inside some closed trade, entry and exit bar included (a reversal's
/// bar counts once).
fn exposed_bars(trades: &[Trade]) -> usize {
    let mut covered_to: Option<usize> = None;
    let mut count = 0;
    for t in trades {
        let from = covered_to.map_or(t.entry_bar, |c| t.entry_bar.max(c + 1));
        if t.exit_bar >= from {
            count += t.exit_bar - from + 1;
        }
        covered_to = Some(covered_to.map_or(t.exit_bar, |c| c.max(t.exit_bar)));
    }
    count
}

/// The trade statistics: few values, so plain vectors.
struct TradeStats {
    win_rate: f64,
    best: f64,
    worst: f64,
    geometric_mean: f64,
    max_duration: Option<i64>,
    avg_duration: Option<i64>,
    profit_factor: f64,
    expectancy: f64,
    sqn: f64,
    kelly: f64,
}

impl TradeStats {
    fn new(trades: &[Trade], period: i64) -> Self {
        let pl: Vec<f64> = trades.iter().map(|t| to_f64(t.pnl)).collect();
        let returns: Vec<f64> = trades.iter().map(|t| t.return_pct).collect();
        let durations: Vec<f64> = trades
            .iter()
            .map(|t| (t.exit_time.0 - t.entry_time.0) as f64)
            .collect();
        let n = trades.len() as f64;
        let win_rate = if trades.is_empty() {
            f64::NAN
        } else {
            pl.iter().filter(|p| **p > 0.0).count() as f64 / n
        };
        let max_of = |xs: &[f64]| xs.iter().cloned().fold(f64::NAN, f64::max);
        let min_of = |xs: &[f64]| xs.iter().cloned().fold(f64::NAN, f64::min);
        let wins: Vec<f64> = pl.iter().cloned().filter(|p| *p > 0.0).collect();
        let losses: Vec<f64> = pl.iter().cloned().filter(|p| *p < 0.0).collect();
        let gains: f64 = returns.iter().filter(|r| **r > 0.0).sum();
        let drops: f64 = returns.iter().filter(|r| **r < 0.0).sum();
        TradeStats {
            win_rate,
            best: max_of(&returns),
            worst: min_of(&returns),
            geometric_mean: geometric_mean(&returns),
            max_duration: ceil_to_resolution(max_of(&durations), period),
            avg_duration: ceil_to_resolution(mean(&durations), period),
            profit_factor: gains / nan_if_zero(drops.abs()),
            expectancy: mean(&returns),
            sqn: n.sqrt() * mean(&pl) / nan_if_zero(var(&pl).sqrt()),
            kelly: win_rate - (1.0 - win_rate) / (mean(&wins) / -mean(&losses)),
        }
    }
}

/// The statistics of any equity curve, by the same definitions as a backtest:
/// a live or paper account's equity sampled at the bars of a benchmark series
/// (`equity[i]` is the equity at `bars[i]`; buy & hold, alpha and beta are
/// against those bars), with the account's closed trades (`entry_bar` and
/// `exit_bar` index `bars`). Returns the equity points with their drawdowns.
/// `None` when the series are empty or of different lengths.
pub fn curve_stats(
    bars: &[Bar],
    equity: &[Decimal],
    trades: &[Trade],
) -> Option<(Stats, Vec<EquityPoint>)> {
    curve_stats_from(bars, equity, trades, 0)
}

/// [`curve_stats`] with buy & hold (and alpha, beta) measured from the close
/// of bar `first_trading_bar`, as the engine measures them from the close
/// before a strategy's first tradable bar (`warmup().max(1) − 1`).
pub fn curve_stats_from(
    bars: &[Bar],
    equity: &[Decimal],
    trades: &[Trade],
    first_trading_bar: usize,
) -> Option<(Stats, Vec<EquityPoint>)> {
    if bars.is_empty() || bars.len() != equity.len() {
        return None;
    }
    let mut acc = Accumulator::new(bars, first_trading_bar.min(bars.len() - 1));
    let points: Vec<EquityPoint> = bars
        .iter()
        .zip(equity)
        .map(|(bar, e)| EquityPoint {
            ts: bar.ts,
            equity: *e,
            drawdown: acc.push(bar, to_f64(*e)),
        })
        .collect();
    let stats = acc.finish(bars, &points, trades);
    Some((stats, points))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn fast_f64_is_the_correctly_rounded_value() {
        for s in [
            "0",
            "100.34",
            "-169.02",
            "56263.51934",
            "0.1",
            "1e-10",
            "123456789.123456789",
            "9007199254740991",
            "-0.000000000000000000000000001",
            "79228162514264337593543950335",
        ] {
            let d = Decimal::from_str(s).unwrap();
            let parsed: f64 = d.to_string().parse().unwrap();
            assert_eq!(to_f64(d), parsed, "{s}");
        }
    }

    #[test]
    fn durations_print_like_pandas() {
        assert_eq!(format_duration(3 * DAY_NS), "3 days");
        assert_eq!(
            format_duration(2 * DAY_NS + 5 * 3_600_000_000_000 + 61_000_000_000),
            "2 days 05:01:01"
        );
        assert_eq!(format_duration(0), "0 days");
    }

    #[test]
    fn durations_round_up_to_the_data_resolution() {
        let hour = 3_600_000_000_000;
        assert_eq!(
            ceil_to_resolution(1.5 * DAY_NS as f64, DAY_NS),
            Some(2 * DAY_NS)
        );
        assert_eq!(
            ceil_to_resolution(2.0 * DAY_NS as f64, 7 * DAY_NS),
            Some(2 * DAY_NS)
        );
        assert_eq!(ceil_to_resolution(90.5 * 60e9, hour), Some(2 * hour));
        assert_eq!(ceil_to_resolution(f64::NAN, DAY_NS), None);
    }

    #[test]
    fn exposure_counts_a_reversal_bar_once() {
        let t = |entry_bar, exit_bar| Trade {
            size: 1,
            entry_bar,
            exit_bar,
            entry_time: UnixNanos(0),
            exit_time: UnixNanos(0),
            duration_ns: 0,
            entry_price: Decimal::ONE,
            exit_price: Decimal::ONE,
            pnl: Decimal::ZERO,
            return_pct: 0.0,
            commission: Decimal::ZERO,
        };
        assert_eq!(exposed_bars(&[]), 0);
        assert_eq!(exposed_bars(&[t(2, 5), t(5, 9)]), 8);
        assert_eq!(exposed_bars(&[t(2, 5), t(7, 7)]), 5);
    }
}
