//! The engine equals backtesting.py 0.6.6 (fixtures/backtesting_py_goog.json,
//! made by fixtures/gen_backtesting_py.py) on GOOG: every statistic to 1e-6
//! relative, every trade, the equity curve.

use std::str::FromStr;

use backtest::{run, BacktestConfig, BacktestError, BacktestReport};
use model::{Bar, Decimal, Symbol, Timeframe};
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

fn goog() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/backtesting_py_goog.json"
    ))
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["cases"]
        .as_array()
        .unwrap()
        .clone()
}

fn run_case(case: &Value, bars: &[Bar]) -> BacktestReport {
    let kind = case["strategy"]["kind"].as_str().unwrap();
    let params = case["strategy"]["params"].as_object().unwrap().clone();
    let mut s =
        strategy::build(kind, &params, Symbol::new("GOOG").unwrap(), Timeframe::DAY).unwrap();
    let config = BacktestConfig {
        cash: Decimal::from_str(&case["cash"].to_string()).unwrap(),
        commission: Decimal::from_str(&case["commission"].to_string()).unwrap(),
        finalize_trades: case["finalize_trades"].as_bool().unwrap(),
    };
    run(bars, s.as_mut(), &config).unwrap()
}

fn close(name: &str, got: f64, want: Option<f64>) {
    match want {
        None => assert!(
            !got.is_finite(),
            "{name}: got {got}, backtesting.py has none"
        ),
        Some(w) => {
            let tol = 1e-6 * w.abs().max(1e-9);
            assert!(
                (got - w).abs() <= tol,
                "{name}: got {got}, backtesting.py {w}"
            );
        }
    }
}

fn dec(d: Decimal) -> f64 {
    d.to_f64().unwrap()
}

fn o(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

fn ns(d: Option<i64>) -> f64 {
    d.map(|v| v as f64).unwrap_or(f64::NAN)
}

#[test]
fn every_statistic_and_trade_equals_backtesting_py() {
    let bars = goog();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let report = run_case(&case, &bars);
        let s = &report.stats;
        let want = &case["stats"];
        let w = |k: &str| want[k].as_f64();
        let got = [
            ("Start", s.start.0 as f64),
            ("End", s.end.0 as f64),
            ("Duration", s.duration_ns as f64),
            ("Exposure Time [%]", o(s.exposure_time_pct)),
            ("Equity Final [$]", dec(s.equity_final)),
            ("Equity Peak [$]", dec(s.equity_peak)),
            ("Commissions [$]", dec(s.commissions)),
            ("Return [%]", o(s.return_pct)),
            ("Buy & Hold Return [%]", o(s.buy_hold_return_pct)),
            ("Return (Ann.) [%]", o(s.return_ann_pct)),
            ("Volatility (Ann.) [%]", o(s.volatility_ann_pct)),
            ("CAGR [%]", o(s.cagr_pct)),
            ("Sharpe Ratio", o(s.sharpe_ratio)),
            ("Sortino Ratio", o(s.sortino_ratio)),
            ("Calmar Ratio", o(s.calmar_ratio)),
            ("Alpha [%]", o(s.alpha_pct)),
            ("Beta", o(s.beta)),
            ("Max. Drawdown [%]", o(s.max_drawdown_pct)),
            ("Avg. Drawdown [%]", o(s.avg_drawdown_pct)),
            ("Max. Drawdown Duration", ns(s.max_drawdown_duration_ns)),
            ("Avg. Drawdown Duration", ns(s.avg_drawdown_duration_ns)),
            ("# Trades", s.trades as f64),
            ("Win Rate [%]", o(s.win_rate_pct)),
            ("Best Trade [%]", o(s.best_trade_pct)),
            ("Worst Trade [%]", o(s.worst_trade_pct)),
            ("Avg. Trade [%]", o(s.avg_trade_pct)),
            ("Max. Trade Duration", ns(s.max_trade_duration_ns)),
            ("Avg. Trade Duration", ns(s.avg_trade_duration_ns)),
            ("Profit Factor", o(s.profit_factor)),
            ("Expectancy [%]", o(s.expectancy_pct)),
            ("SQN", o(s.sqn)),
            ("Kelly Criterion", o(s.kelly_criterion)),
        ];
        let keys: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), got.len(), "{name}: every statistic compared");
        for (key, value) in got {
            close(&format!("{name} {key}"), value, w(key));
        }

        let trades = case["trades"].as_array().unwrap();
        assert_eq!(report.trades.len(), trades.len(), "{name}: trade count");
        for (i, (t, want)) in report.trades.iter().zip(trades).enumerate() {
            let tn = format!("{name} trade {i}");
            assert_eq!(t.size, want["size"].as_i64().unwrap(), "{tn} size");
            assert_eq!(
                t.entry_bar as u64,
                want["entry_bar"].as_u64().unwrap(),
                "{tn} entry bar"
            );
            assert_eq!(
                t.exit_bar as u64,
                want["exit_bar"].as_u64().unwrap(),
                "{tn} exit bar"
            );
            assert_eq!(
                t.entry_time.0,
                want["entry_time"].as_i64().unwrap(),
                "{tn} entry time"
            );
            assert_eq!(
                t.exit_time.0,
                want["exit_time"].as_i64().unwrap(),
                "{tn} exit time"
            );
            close(
                &format!("{tn} entry price"),
                dec(t.entry_price),
                want["entry_price"].as_f64(),
            );
            close(
                &format!("{tn} exit price"),
                dec(t.exit_price),
                want["exit_price"].as_f64(),
            );
            close(&format!("{tn} pnl"), dec(t.pnl), want["pnl"].as_f64());
            close(
                &format!("{tn} return"),
                t.return_pct,
                want["return_pct"].as_f64(),
            );
            close(
                &format!("{tn} commission"),
                dec(t.commission),
                want["commission"].as_f64(),
            );
        }

        let equity = case["equity"].as_array().unwrap();
        assert_eq!(report.equity.len(), equity.len());
        for (i, (e, w)) in report.equity.iter().zip(equity).enumerate() {
            close(&format!("{name} equity[{i}]"), dec(e.equity), w.as_f64());
        }
        for (i, (e, w)) in report
            .equity
            .iter()
            .zip(case["drawdown_pct"].as_array().unwrap())
            .enumerate()
        {
            let want = w.as_f64().unwrap();
            assert!(
                (e.drawdown - want).abs() <= 1e-9,
                "{name} drawdown[{i}]: {} vs {want}",
                e.drawdown
            );
        }
    }
}

#[test]
fn bad_inputs_are_refused() {
    let bars = goog();
    let mut s = strategy::build(
        "sma_cross",
        &Default::default(),
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap();
    let ok = BacktestConfig {
        cash: Decimal::from(10_000),
        commission: Decimal::new(2, 3),
        finalize_trades: false,
    };
    assert_eq!(
        run(&[], s.as_mut(), &ok).unwrap_err(),
        BacktestError::NoData
    );
    let mut swapped = bars[..50].to_vec();
    swapped.swap(10, 11);
    assert!(matches!(
        run(&swapped, s.as_mut(), &ok),
        Err(BacktestError::Unordered { index: 11, .. })
    ));
    let mut dup = bars[..50].to_vec();
    dup[20].ts = dup[19].ts;
    assert!(matches!(
        run(&dup, s.as_mut(), &ok),
        Err(BacktestError::Unordered { index: 20, .. })
    ));
    let mut bad = bars[..50].to_vec();
    bad[5].high = bad[5].low - Decimal::ONE;
    assert!(matches!(
        run(&bad, s.as_mut(), &ok),
        Err(BacktestError::InvalidBar { index: 5, .. })
    ));
    let mut mixed = bars[..50].to_vec();
    mixed[7].symbol = Symbol::new("MSFT").unwrap();
    assert!(matches!(
        run(&mixed, s.as_mut(), &ok),
        Err(BacktestError::MixedSeries { index: 7 })
    ));
    let broke = BacktestConfig {
        cash: Decimal::ZERO,
        ..ok.clone()
    };
    assert!(matches!(
        run(&bars, s.as_mut(), &broke),
        Err(BacktestError::Cash(_))
    ));
    let greedy = BacktestConfig {
        commission: Decimal::new(2, 1),
        ..ok.clone()
    };
    assert!(matches!(
        run(&bars, s.as_mut(), &greedy),
        Err(BacktestError::Commission(_))
    ));
    let negative = BacktestConfig {
        commission: Decimal::new(-1, 3),
        ..ok
    };
    assert!(matches!(
        run(&bars, s.as_mut(), &negative),
        Err(BacktestError::Commission(_))
    ));
}

#[test]
fn too_little_cash_for_one_share_trades_nothing() {
    let bars = goog();
    let mut s = strategy::build(
        "sma_cross",
        &Default::default(),
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap();
    let poor = BacktestConfig {
        cash: Decimal::from(50),
        commission: Decimal::ZERO,
        finalize_trades: true,
    };
    let r = run(&bars, s.as_mut(), &poor).unwrap();
    assert_eq!(r.trades.len(), 0);
    assert_eq!(r.stats.equity_final, Decimal::from(50));
    assert_eq!(r.stats.win_rate_pct, None);
}
