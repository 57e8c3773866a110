//! What the engine refuses, and what it does at the edges of its input: clear
//! errors, never a panic.

use backtest::{run, BacktestConfig, BacktestError};
use model::{Bar, Decimal, Symbol, Timeframe};

fn goog(n: usize) -> Vec<Bar> {
    let mut bars = testkit::paths::goog_bars();
    bars.truncate(n);
    bars
}

fn sma_cross() -> Box<dyn strategy::Strategy> {
    strategy::build(
        "sma_cross",
        &Default::default(),
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap()
}

fn config() -> BacktestConfig {
    BacktestConfig {
        cash: Decimal::from(10_000),
        commission: Decimal::new(2, 3),
        finalize_trades: false,
        sizing: Default::default(),
        sizing_at: Default::default(),
        exits: None,
    }
}

fn error(bars: &[Bar], config: &BacktestConfig) -> BacktestError {
    run(bars, sma_cross().as_mut(), config).expect_err("refused")
}

#[test]
fn no_bars() {
    let e = error(&[], &config());
    assert_eq!(e, BacktestError::NoData);
    assert_eq!(e.to_string(), "no bars to run over");
}

#[test]
fn bars_out_of_order_or_twice() {
    let mut swapped = goog(50);
    swapped.swap(10, 11);
    let e = error(&swapped, &config());
    assert_eq!(
        e,
        BacktestError::Unordered {
            index: 11,
            ts: swapped[11].ts
        }
    );
    assert!(e.to_string().contains("bar 11 at 2004-09-02"), "{e}");

    let mut twice = goog(50);
    twice[20].ts = twice[19].ts;
    assert!(matches!(
        error(&twice, &config()),
        BacktestError::Unordered { index: 20, .. }
    ));
}

#[test]
fn invalid_bars() {
    let mut inverted = goog(50);
    inverted[5].high = inverted[5].low - Decimal::ONE;
    let e = error(&inverted, &config());
    assert_eq!(
        e,
        BacktestError::InvalidBar {
            index: 5,
            reason: "high is below low".into()
        }
    );

    // Prices at different scales take the exact path: still caught.
    let mut zero_open = goog(50);
    zero_open[8].open = Decimal::new(0, 4);
    assert!(matches!(
        error(&zero_open, &config()),
        BacktestError::InvalidBar { index: 8, .. }
    ));

    let mut negative_volume = goog(50);
    negative_volume[9].volume = Decimal::from(-1);
    assert!(matches!(
        error(&negative_volume, &config()),
        BacktestError::InvalidBar { index: 9, .. }
    ));
}

#[test]
fn bars_of_another_series() {
    let mut symbol = goog(50);
    symbol[7].symbol = Symbol::new("MSFT").unwrap();
    assert_eq!(
        error(&symbol, &config()),
        BacktestError::MixedSeries { index: 7 }
    );
    let mut timeframe = goog(50);
    timeframe[3].timeframe = Timeframe::parse("1h").unwrap();
    assert_eq!(
        error(&timeframe, &config()),
        BacktestError::MixedSeries { index: 3 }
    );
}

#[test]
fn cash_must_be_positive() {
    let bars = goog(50);
    for cash in [Decimal::ZERO, Decimal::from(-100)] {
        let e = error(&bars, &BacktestConfig { cash, ..config() });
        assert_eq!(e, BacktestError::Cash(cash));
    }
}

#[test]
fn commission_must_be_a_fee_below_ten_percent() {
    let bars = goog(50);
    for commission in [Decimal::new(-1, 3), Decimal::new(1, 1), Decimal::from(2)] {
        let e = error(
            &bars,
            &BacktestConfig {
                commission,
                ..config()
            },
        );
        assert_eq!(e, BacktestError::Commission(commission));
        assert!(e.to_string().contains("between 0 and 0.1"), "{e}");
    }
    let highest = BacktestConfig {
        commission: Decimal::new(99, 3),
        ..config()
    };
    assert!(run(&bars, sma_cross().as_mut(), &highest).is_ok());
}

#[test]
fn too_little_cash_for_one_share_trades_nothing() {
    let poor = BacktestConfig {
        cash: Decimal::from(50),
        commission: Decimal::ZERO,
        finalize_trades: true,
        sizing: Default::default(),
        sizing_at: Default::default(),
        exits: None,
    };
    let r = run(&goog(2148), sma_cross().as_mut(), &poor).unwrap();
    assert!(r.trades.is_empty());
    assert_eq!(r.open_position, None);
    assert!(r.equity.iter().all(|p| p.equity == Decimal::from(50)));
    assert_eq!(r.stats.equity_final, Decimal::from(50));
    assert_eq!(r.stats.win_rate_pct, None);
    assert_eq!(r.stats.sqn, None);
}

#[test]
fn fewer_bars_than_the_warmup_trade_nothing() {
    let bars = goog(15); // SMA(20) never has a value
    let r = run(&bars, sma_cross().as_mut(), &config()).unwrap();
    assert!(r.trades.is_empty());
    assert_eq!(r.equity.len(), 15);
    assert_eq!(r.stats.return_pct, Some(0.0));
    assert_eq!(r.stats.max_drawdown_duration_ns, None);
}

#[test]
fn one_bar() {
    let r = run(&goog(1), sma_cross().as_mut(), &config()).unwrap();
    assert_eq!(r.stats.duration_ns, 0);
    assert_eq!(r.stats.cagr_pct, None);
    assert_eq!(r.stats.return_ann_pct, None);
    assert_eq!(r.stats.beta, None);
}

#[test]
fn a_strategy_instance_can_run_again() {
    let bars = goog(600);
    let mut s = sma_cross();
    let first = run(&bars, s.as_mut(), &config()).unwrap();
    let again = run(&bars, s.as_mut(), &config()).unwrap();
    assert!(!first.trades.is_empty());
    assert_eq!(first, again);
}

#[test]
fn reports_travel_as_json() {
    let r = run(&goog(300), sma_cross().as_mut(), &config()).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        serde_json::from_value::<backtest::BacktestReport>(json.clone()).unwrap(),
        r
    );

    // Reports stored before trades had a duration and the open position was
    // reported still read.
    let mut old = json;
    old.as_object_mut().unwrap().remove("open_position");
    for t in old["trades"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("duration_ns");
    }
    let read: backtest::BacktestReport = serde_json::from_value(old).unwrap();
    assert_eq!(read.trades.len(), r.trades.len());
    assert_eq!(read.open_position, None);
}
