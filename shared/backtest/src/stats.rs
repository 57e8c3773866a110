//! The report's statistics, with backtesting.py 0.6.6's definitions
//! (`backtesting/_stats.py`, `compute_stats`), risk-free rate 0.
//!
//! Names map one to one: `return_ann_pct` is "Return (Ann.) [%]", and so on.
//! Durations are nanoseconds, rounded up to the data's resolution (whole days
//! for daily bars) as backtesting.py rounds them. A statistic that is undefined
//! (no trades, no drawdown, zero volatility) is `None` (`null`).
//!
//! Annualisation: bar returns are taken per calendar day (per week, month or
//! year for weekly, monthly or yearly bars: the median bar spacing of the last
//! 100 bars decides), and a year has 252 trading days, or 365 when the data has
//! weekends, 52 weeks, 12 months. Annual return compounds the geometric mean
//! daily return; annual volatility is the compounded-variance formula
//! backtesting.py uses (not `std · √252`).

use model::{Bar, Decimal, UnixNanos};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::engine::Trade;

const DAY_NS: i64 = 86_400_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stats {
    pub start: UnixNanos,
    pub end: UnixNanos,
    pub duration_ns: i64,
    pub exposure_time_pct: Option<f64>,
    pub equity_final: Decimal,
    pub equity_peak: Decimal,
    pub commissions: Decimal,
    pub return_pct: Option<f64>,
    pub buy_hold_return_pct: Option<f64>,
    pub return_ann_pct: Option<f64>,
    pub volatility_ann_pct: Option<f64>,
    pub cagr_pct: Option<f64>,
    pub sharpe_ratio: Option<f64>,
    pub sortino_ratio: Option<f64>,
    pub calmar_ratio: Option<f64>,
    pub alpha_pct: Option<f64>,
    pub beta: Option<f64>,
    pub max_drawdown_pct: Option<f64>,
    pub avg_drawdown_pct: Option<f64>,
    pub max_drawdown_duration_ns: Option<i64>,
    pub avg_drawdown_duration_ns: Option<i64>,
    pub trades: usize,
    pub win_rate_pct: Option<f64>,
    pub best_trade_pct: Option<f64>,
    pub worst_trade_pct: Option<f64>,
    pub avg_trade_pct: Option<f64>,
    pub max_trade_duration_ns: Option<i64>,
    pub avg_trade_duration_ns: Option<i64>,
    pub profit_factor: Option<f64>,
    pub expectancy_pct: Option<f64>,
    pub sqn: Option<f64>,
    pub kelly_criterion: Option<f64>,
}

impl Stats {
    /// Every statistic under backtesting.py's name, formatted for people
    /// (durations in days, ratios to 5 decimals, "-" when undefined).
    pub fn named(&self) -> Vec<(&'static str, String)> {
        let num = |x: Option<f64>| {
            x.map(|v| format!("{v:.5}"))
                .unwrap_or_else(|| "-".to_string())
        };
        let days = |ns: Option<i64>| {
            ns.map(|n| format!("{} days", n / DAY_NS))
                .unwrap_or_else(|| "-".to_string())
        };
        vec![
            ("Start", self.start.to_rfc3339()),
            ("End", self.end.to_rfc3339()),
            ("Duration", days(Some(self.duration_ns))),
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
                days(self.max_drawdown_duration_ns),
            ),
            (
                "Avg. Drawdown Duration",
                days(self.avg_drawdown_duration_ns),
            ),
            ("# Trades", self.trades.to_string()),
            ("Win Rate [%]", num(self.win_rate_pct)),
            ("Best Trade [%]", num(self.best_trade_pct)),
            ("Worst Trade [%]", num(self.worst_trade_pct)),
            ("Avg. Trade [%]", num(self.avg_trade_pct)),
            ("Max. Trade Duration", days(self.max_trade_duration_ns)),
            ("Avg. Trade Duration", days(self.avg_trade_duration_ns)),
            ("Profit Factor", num(self.profit_factor)),
            ("Expectancy [%]", num(self.expectancy_pct)),
            ("SQN", num(self.sqn)),
            ("Kelly Criterion", num(self.kelly_criterion)),
        ]
    }
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
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

/// pandas' `Timedelta.ceil(resolution)`: the resolution is the smallest unit
/// present in the data period (day, hour, minute, second, ns).
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

fn date(ts: UnixNanos) -> time::Date {
    OffsetDateTime::from_unix_timestamp_nanos(ts.0 as i128)
        .map(|d| d.date())
        .unwrap_or(time::Date::MIN)
}

/// Resampling bucket: calendar day, week ending Sunday, month or year.
fn bucket(ts: UnixNanos, freq_days: i64) -> i64 {
    if !matches!(freq_days, 7 | 31 | 365) {
        return ts.0.div_euclid(DAY_NS); // the UTC calendar day
    }
    let d = date(ts);
    match freq_days {
        7 => (d.to_julian_day() + (7 - d.weekday().number_days_from_sunday() as i32) % 7) as i64,
        31 => d.year() as i64 * 12 + d.month() as i64,
        365 => d.year() as i64,
        _ => d.to_julian_day() as i64,
    }
}

/// The equity curve as f64 and its drawdown (`1 − equity / running peak`),
/// converted once per bar.
pub(crate) struct Curve {
    pub equity: Vec<f64>,
    pub drawdown: Vec<f64>,
}

impl Curve {
    pub fn new(equity: &[Decimal]) -> Curve {
        let equity: Vec<f64> = equity.iter().map(|e| f(*e)).collect();
        let mut peak = f64::MIN;
        let drawdown = equity
            .iter()
            .map(|e| {
                peak = peak.max(*e);
                1.0 - e / peak
            })
            .collect();
        Curve { equity, drawdown }
    }
}

pub(crate) fn compute(
    bars: &[Bar],
    equity: &[Decimal],
    curve: &Curve,
    trades: &[Trade],
    first_trading_bar: usize,
) -> Stats {
    let (eq, dd) = (curve.equity.as_slice(), curve.drawdown.as_slice());
    let n = bars.len();
    let start = bars[0].ts;
    let end = bars[n - 1].ts;
    let duration_ns = end.0 - start.0;
    let period = data_period(bars);

    // Drawdown.
    // Ratios are f64 from here, as backtesting.py computes them.
    let mut zeros: Vec<usize> = dd
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0.0)
        .map(|(i, _)| i)
        .collect();
    if zeros.last() != Some(&(n - 1)) {
        zeros.push(n - 1);
    }
    let mut dd_durations = Vec::new();
    let mut dd_peaks = Vec::new();
    for w in zeros.windows(2) {
        let (prev, cur) = (w[0], w[1]);
        if cur > prev + 1 {
            dd_durations.push((bars[cur].ts.0 - bars[prev].ts.0) as f64);
            dd_peaks.push(dd[prev..=cur].iter().cloned().fold(f64::MIN, f64::max));
        }
    }
    let max_dd = dd.iter().cloned().fold(0.0, f64::max);

    // Exposure: bars with a position of a closed trade.
    let mut exposed = vec![false; n];
    for t in trades {
        for flag in &mut exposed[t.entry_bar..=t.exit_bar.min(n - 1)] {
            *flag = true;
        }
    }
    let exposure_time_pct = exposed.iter().filter(|e| **e).count() as f64 / n as f64 * 100.0;

    let e0 = equity[0];
    let e_final = equity[n - 1];
    let return_pct = f((e_final - e0) / e0) * 100.0;
    let c_first = bars[first_trading_bar.min(n - 1)].close;
    let buy_hold_return_pct = f((bars[n - 1].close - c_first) / c_first) * 100.0;

    // Annualisation.
    let freq_days = period / DAY_NS;
    // 1970-01-01 was a Thursday: day 2 and 3 of each week are Saturday and Sunday.
    let weekend_share = bars
        .iter()
        .filter(|b| matches!(b.ts.0.div_euclid(DAY_NS).rem_euclid(7), 2 | 3))
        .count() as f64
        / n as f64;
    let have_weekends = weekend_share > 2.0 / 7.0 * 0.6;
    let annual_trading_days = match freq_days {
        7 => 52.0,
        31 => 12.0,
        365 => 1.0,
        _ if have_weekends => 365.0,
        _ => 252.0,
    };
    let mut per_bucket: Vec<f64> = Vec::new();
    let mut last_bucket = None;
    for (bar, e) in bars.iter().zip(eq) {
        let b = bucket(bar.ts, freq_days);
        if last_bucket == Some(b) {
            *per_bucket.last_mut().expect("pushed with the bucket") = *e;
        } else {
            per_bucket.push(*e);
            last_bucket = Some(b);
        }
    }
    let day_returns: Vec<f64> = per_bucket.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let gmean_day = if day_returns.is_empty() {
        0.0
    } else {
        geometric_mean(&day_returns)
    };
    let annualized = (1.0 + gmean_day).powf(annual_trading_days) - 1.0;
    let return_ann_pct = annualized * 100.0;
    let volatility_ann_pct = ((var(&day_returns) + (1.0 + gmean_day).powi(2))
        .powf(annual_trading_days)
        - (1.0 + gmean_day).powf(2.0 * annual_trading_days))
    .sqrt()
        * 100.0;
    let years = (duration_ns / 1_000_000_000) as f64 / 86_400.0 / 365.25;
    let cagr_pct = if years > 0.0 {
        (f(e_final / e0).powf(1.0 / years) - 1.0) * 100.0
    } else {
        f64::NAN
    };
    let sharpe_ratio = return_ann_pct / nan_if_zero(volatility_ann_pct);
    let downside: Vec<f64> = day_returns.iter().map(|r| r.min(0.0).powi(2)).collect();
    let sortino_ratio = annualized / (mean(&downside).sqrt() * annual_trading_days.sqrt());
    let calmar_ratio = annualized / nan_if_zero(max_dd);

    // Beta and alpha on log returns.
    let e_log: Vec<f64> = eq.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let closes: Vec<f64> = bars.iter().map(|b| f(b.close)).collect();
    let m_log: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let beta = if e_log.len() > 1 {
        let (me, mm) = (mean(&e_log), mean(&m_log));
        let cov = e_log
            .iter()
            .zip(&m_log)
            .map(|(a, b)| (a - me) * (b - mm))
            .sum::<f64>()
            / (e_log.len() - 1) as f64;
        cov / var(&m_log)
    } else {
        f64::NAN
    };
    let alpha_pct = return_pct - beta * buy_hold_return_pct;

    // Trades.
    let pl: Vec<f64> = trades.iter().map(|t| f(t.pnl)).collect();
    let returns: Vec<f64> = trades.iter().map(|t| t.return_pct).collect();
    let durations: Vec<f64> = trades
        .iter()
        .map(|t| (t.exit_time.0 - t.entry_time.0) as f64)
        .collect();
    let n_trades = trades.len();
    let win_rate = if n_trades == 0 {
        f64::NAN
    } else {
        pl.iter().filter(|p| **p > 0.0).count() as f64 / n_trades as f64
    };
    let max_of = |xs: &[f64]| xs.iter().cloned().fold(f64::NAN, f64::max);
    let min_of = |xs: &[f64]| xs.iter().cloned().fold(f64::NAN, f64::min);
    let wins: Vec<f64> = pl.iter().cloned().filter(|p| *p > 0.0).collect();
    let losses: Vec<f64> = pl.iter().cloned().filter(|p| *p < 0.0).collect();
    let pos_returns: f64 = returns.iter().filter(|r| **r > 0.0).sum();
    let neg_returns: f64 = returns.iter().filter(|r| **r < 0.0).sum();

    Stats {
        start,
        end,
        duration_ns,
        exposure_time_pct: defined(exposure_time_pct),
        equity_final: e_final,
        equity_peak: equity.iter().cloned().fold(Decimal::MIN, Decimal::max),
        commissions: trades.iter().map(|t| t.commission).sum(),
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
        avg_drawdown_pct: defined(-mean(&dd_peaks) * 100.0),
        max_drawdown_duration_ns: ceil_to_resolution(max_of(&dd_durations), period),
        avg_drawdown_duration_ns: ceil_to_resolution(mean(&dd_durations), period),
        trades: n_trades,
        win_rate_pct: defined(win_rate * 100.0),
        best_trade_pct: defined(max_of(&returns) * 100.0),
        worst_trade_pct: defined(min_of(&returns) * 100.0),
        avg_trade_pct: if n_trades == 0 {
            None
        } else {
            defined(geometric_mean(&returns) * 100.0)
        },
        max_trade_duration_ns: ceil_to_resolution(max_of(&durations), period),
        avg_trade_duration_ns: ceil_to_resolution(mean(&durations), period),
        profit_factor: defined(pos_returns / nan_if_zero(neg_returns.abs())),
        expectancy_pct: defined(mean(&returns) * 100.0),
        sqn: defined((n_trades as f64).sqrt() * mean(&pl) / nan_if_zero(var(&pl).sqrt())),
        kelly_criterion: defined(win_rate - (1.0 - win_rate) / (mean(&wins) / -mean(&losses))),
    }
}
