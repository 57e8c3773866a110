//! The engine equals backtesting.py 0.6.6: for every case of
//! `fixtures/backtesting_py_goog.json` (made by `fixtures/gen_backtesting_py.py`),
//! every statistic to 1e-6 relative (times and durations exactly), every closed
//! trade, the trade left open, and every point of the equity curve. The
//! strategies are the live ones, built with `strategy::build`.

use std::str::FromStr;

use backtest::{run, BacktestConfig, BacktestReport, Stats};
use model::{Bar, Decimal, Symbol, Timeframe, UnixNanos};
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

fn fixture() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/backtesting_py_goog.json"
    ))
    .expect("the fixture is committed");
    let json: Value = serde_json::from_str(&text).expect("the fixture is JSON");
    json["cases"].as_array().expect("cases").clone()
}

fn case(name: &str) -> Value {
    fixture()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in the fixture"))
}

fn bar(symbol: &Symbol, timeframe: Timeframe, fields: &[&str]) -> Bar {
    let d = |i: usize| Decimal::from_str(fields[i].trim()).expect("a decimal");
    Bar {
        symbol: symbol.clone(),
        timeframe,
        ts: UnixNanos::parse(fields[0]).expect("a time"),
        open: d(1),
        high: d(2),
        low: d(3),
        close: d(4),
        volume: d(5),
    }
}

/// The case's bars: rows of a repository CSV (`Date,Open,High,Low,Close,Volume`)
/// or the bars themselves, as decimal strings.
fn bars_of(case: &Value) -> Vec<Bar> {
    let data = &case["data"];
    let symbol = Symbol::new("TEST").unwrap();
    let timeframe = Timeframe::parse(data["timeframe"].as_str().unwrap()).unwrap();
    if let Some(csv) = data["csv"].as_str() {
        let text = std::fs::read_to_string(testkit::paths::repo_root().join(csv)).unwrap();
        let rows = data["rows"].as_array().unwrap();
        let (from, to) = (rows[0].as_u64().unwrap(), rows[1].as_u64().unwrap());
        text.lines()
            .skip(1)
            .skip(from as usize)
            .take((to - from) as usize)
            .map(|line| bar(&symbol, timeframe, &line.split(',').collect::<Vec<_>>()))
            .collect()
    } else {
        data["bars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let fields: Vec<&str> = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap())
                    .collect();
                bar(&symbol, timeframe, &fields)
            })
            .collect()
    }
}

fn run_case(case: &Value) -> BacktestReport {
    let bars = bars_of(case);
    let kind = case["strategy"]["kind"].as_str().unwrap();
    let params = case["strategy"]["params"].as_object().unwrap().clone();
    let mut strategy =
        strategy::build(kind, &params, bars[0].symbol.clone(), bars[0].timeframe).unwrap();
    let config = BacktestConfig {
        cash: Decimal::from_str(&case["cash"].to_string()).unwrap(),
        commission: Decimal::from_str(&case["commission"].to_string()).unwrap(),
        finalize_trades: case["finalize_trades"].as_bool().unwrap(),
        sizing: Default::default(),
        sizing_at: Default::default(),
        exits: None,
    };
    run(&bars, strategy.as_mut(), &config).unwrap()
}

fn dec(d: Decimal) -> f64 {
    d.to_f64().unwrap()
}

fn assert_close(what: &str, got: f64, want: f64) {
    let tolerance = 1e-6 * want.abs();
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, backtesting.py {want}"
    );
}

/// A statistic we report, as backtesting.py's fixture value: a number, or
/// NaN/inf (`null`, `"inf"`), which we report as `None`.
enum Got {
    Number(f64),
    Defined(Option<f64>),
    Nanos(Option<i64>),
}

fn statistics(s: &Stats) -> Vec<(&'static str, Got)> {
    use Got::*;
    let d = |x: Decimal| Number(dec(x));
    vec![
        ("Start", Nanos(Some(s.start.0))),
        ("End", Nanos(Some(s.end.0))),
        ("Duration", Nanos(Some(s.duration_ns))),
        ("Exposure Time [%]", Defined(s.exposure_time_pct)),
        ("Equity Final [$]", d(s.equity_final)),
        ("Equity Peak [$]", d(s.equity_peak)),
        ("Commissions [$]", d(s.commissions)),
        ("Return [%]", Defined(s.return_pct)),
        ("Buy & Hold Return [%]", Defined(s.buy_hold_return_pct)),
        ("Return (Ann.) [%]", Defined(s.return_ann_pct)),
        ("Volatility (Ann.) [%]", Defined(s.volatility_ann_pct)),
        ("CAGR [%]", Defined(s.cagr_pct)),
        ("Sharpe Ratio", Defined(s.sharpe_ratio)),
        ("Sortino Ratio", Defined(s.sortino_ratio)),
        ("Calmar Ratio", Defined(s.calmar_ratio)),
        ("Alpha [%]", Defined(s.alpha_pct)),
        ("Beta", Defined(s.beta)),
        ("Max. Drawdown [%]", Defined(s.max_drawdown_pct)),
        ("Avg. Drawdown [%]", Defined(s.avg_drawdown_pct)),
        ("Max. Drawdown Duration", Nanos(s.max_drawdown_duration_ns)),
        ("Avg. Drawdown Duration", Nanos(s.avg_drawdown_duration_ns)),
        ("# Trades", Number(s.trades as f64)),
        ("Win Rate [%]", Defined(s.win_rate_pct)),
        ("Best Trade [%]", Defined(s.best_trade_pct)),
        ("Worst Trade [%]", Defined(s.worst_trade_pct)),
        ("Avg. Trade [%]", Defined(s.avg_trade_pct)),
        ("Max. Trade Duration", Nanos(s.max_trade_duration_ns)),
        ("Avg. Trade Duration", Nanos(s.avg_trade_duration_ns)),
        ("Profit Factor", Defined(s.profit_factor)),
        ("Expectancy [%]", Defined(s.expectancy_pct)),
        ("SQN", Defined(s.sqn)),
        ("Kelly Criterion", Defined(s.kelly_criterion)),
    ]
}

fn check_statistics(name: &str, report: &BacktestReport, want: &Value) {
    let got = statistics(&report.stats);
    let want = want.as_object().unwrap();
    for key in want.keys() {
        assert!(
            got.iter().any(|(k, _)| k == key),
            "{name}: backtesting.py's {key:?} is not reported"
        );
    }
    for (key, value) in got {
        let what = format!("{name} {key}");
        let Some(w) = want.get(key) else {
            // backtesting.py leaves "Commissions [$]" out when there are none.
            assert_eq!(key, "Commissions [$]", "{what}: not in the fixture");
            assert_eq!(report.stats.commissions, Decimal::ZERO, "{what}");
            continue;
        };
        match (value, w) {
            (Got::Nanos(g), Value::Null) => assert_eq!(g, None, "{what}"),
            (Got::Nanos(g), w) => assert_eq!(g, w.as_i64(), "{what}"),
            (Got::Defined(g), Value::Null | Value::String(_)) => {
                assert_eq!(g, None, "{what}: backtesting.py has {w}")
            }
            (Got::Defined(Some(g)) | Got::Number(g), w) => {
                assert_close(&what, g, w.as_f64().unwrap())
            }
            (Got::Defined(None), w) => panic!("{what}: got none, backtesting.py {w}"),
        }
    }
}

fn check_trades(name: &str, report: &BacktestReport, want: &[Value]) {
    assert_eq!(report.trades.len(), want.len(), "{name}: closed trades");
    for (i, (t, w)) in report.trades.iter().zip(want).enumerate() {
        let what = format!("{name} trade {i}");
        let int = |k: &str| w[k].as_i64().unwrap();
        assert_eq!(t.size, int("size"), "{what} size");
        assert_eq!(t.entry_bar as i64, int("entry_bar"), "{what} entry bar");
        assert_eq!(t.exit_bar as i64, int("exit_bar"), "{what} exit bar");
        assert_eq!(t.entry_time.0, int("entry_time"), "{what} entry time");
        assert_eq!(t.exit_time.0, int("exit_time"), "{what} exit time");
        assert_eq!(t.duration_ns, int("duration"), "{what} duration");
        let num = |k: &str| w[k].as_f64().unwrap();
        assert_close(
            &format!("{what} entry price"),
            dec(t.entry_price),
            num("entry_price"),
        );
        assert_close(
            &format!("{what} exit price"),
            dec(t.exit_price),
            num("exit_price"),
        );
        assert_close(&format!("{what} pnl"), dec(t.pnl), num("pnl"));
        assert_close(&format!("{what} return"), t.return_pct, num("return_pct"));
        assert_close(
            &format!("{what} commission"),
            dec(t.commission),
            num("commission"),
        );
    }
}

fn check_open_position(name: &str, report: &BacktestReport, want: &[Value]) {
    match (&report.open_position, want) {
        (None, []) => {}
        (Some(p), [w]) => {
            assert_eq!(p.size, w["size"].as_i64().unwrap(), "{name} open size");
            assert_eq!(
                p.entry_bar as u64,
                w["entry_bar"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(p.entry_time.0, w["entry_time"].as_i64().unwrap(), "{name}");
            let num = |k: &str| w[k].as_f64().unwrap();
            assert_close(
                &format!("{name} open entry"),
                dec(p.entry_price),
                num("entry_price"),
            );
            assert_close(&format!("{name} open pl"), dec(p.unrealized_pnl), num("pl"));
        }
        (got, want) => panic!("{name}: open position {got:?}, backtesting.py {want:?}"),
    }
}

fn check_equity(name: &str, report: &BacktestReport, case: &Value) {
    let equity = case["equity"].as_array().unwrap();
    let drawdown = case["drawdown_pct"].as_array().unwrap();
    assert_eq!(report.equity.len(), equity.len(), "{name}: equity points");
    for (i, ((p, e), d)) in report.equity.iter().zip(equity).zip(drawdown).enumerate() {
        assert_close(
            &format!("{name} equity[{i}]"),
            dec(p.equity),
            e.as_f64().unwrap(),
        );
        let d = d.as_f64().unwrap();
        assert!(
            (p.drawdown - d).abs() <= 1e-9,
            "{name} drawdown[{i}]: got {}, backtesting.py {d}",
            p.drawdown
        );
    }
}

fn check(name: &str) {
    let case = case(name);
    let report = run_case(&case);
    check_statistics(name, &report, &case["stats"]);
    check_trades(name, &report, case["trades"].as_array().unwrap());
    check_open_position(name, &report, case["open_trades"].as_array().unwrap());
    check_equity(name, &report, &case);
}

#[test]
fn every_case_of_the_fixture_is_checked() {
    let names: Vec<String> = fixture()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "sma_cross_10_20",
            "ema_cross_12_26_finalized",
            "rsi_reversion_14_30_70",
            "sma_cross_5_30_signal_on_last_bar_finalized",
            "sma_cross_3_6_out_of_money",
            "sma_cross_24_72_hourly_24_7",
            "sma_cross_4_13_weekly_finalized",
            "sma_cross_2_3_whole_units",
        ]
    );
}

/// GOOG daily, the SmaCross of backtesting.py's docs, a trade open at the end.
#[test]
fn sma_cross_10_20_on_goog() {
    check("sma_cross_10_20");
}

/// TA-Lib EMAs, 100,000 cash, 0.1 %, the last trade closed by finalizing.
#[test]
fn ema_cross_12_26_on_goog_finalized() {
    check("ema_cross_12_26_finalized");
}

/// TA-Lib's RSI, long only: `Flat` signals close without reversing.
#[test]
fn rsi_reversion_on_goog_exits_on_flat() {
    check("rsi_reversion_14_30_70");
}

/// The last bar's own signal fills at that bar's open; the trade it opens
/// stays open although trades are finalized.
#[test]
fn a_signal_on_the_last_bar_opens_a_trade_that_finalizing_leaves_open() {
    check("sma_cross_5_30_signal_on_last_bar_finalized");
}

/// A short squeeze takes equity below 0: closed at that close, 0 ever after.
#[test]
fn running_out_of_money_closes_everything_and_stops() {
    check("sma_cross_3_6_out_of_money");
}

/// Hourly bars every day of the week: 365 periods a year, calendar-day
/// returns, durations rounded up to hours, no commission.
#[test]
fn hourly_bars_with_weekends() {
    check("sma_cross_24_72_hourly_24_7");
}

/// Weekly bars: 52 periods a year, weekly returns.
#[test]
fn weekly_bars() {
    check("sma_cross_4_13_weekly_finalized");
}

/// The cash buys exactly 80 units at the first fill: backtesting.py buys 79.
#[test]
fn all_in_sizing_leaves_a_unit_when_the_cash_divides_exactly() {
    check("sma_cross_2_3_whole_units");
}
