//! The ensemble strategy backtests like any built-in: on GOOG it trades, the
//! same input gives the same trades (twice, and after `reset`), a pinned model
//! is used (its weights decide), and a pinned version that was not loaded is
//! an error.

use std::collections::BTreeMap;

use backtest::{run, BacktestConfig};
use model::{Decimal, Regime, Symbol, Timeframe};
use serde_json::{json, Map, Value};
use strategy::{EnsembleModel, EnsembleParams};

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn config() -> BacktestConfig {
    BacktestConfig::new(Decimal::from(10_000), Decimal::new(2, 3))
}

fn goog() -> Symbol {
    Symbol::new("GOOG").unwrap()
}

#[test]
fn ensemble_backtests_deterministically_on_goog() {
    let bars = testkit::paths::goog_bars();
    let p = strategy::resolve_params("ensemble", &Map::new()).unwrap();
    let mut a = strategy::build("ensemble", &p, goog(), Timeframe::DAY).unwrap();
    let first = run(&bars, a.as_mut(), &config()).unwrap();
    assert!(first.trades.len() >= 5, "{} trades", first.trades.len());
    let mut b = strategy::build("ensemble", &p, goog(), Timeframe::DAY).unwrap();
    let second = run(&bars, b.as_mut(), &config()).unwrap();
    assert_eq!(first.trades, second.trades);
    assert_eq!(first.stats, second.stats);
    a.reset();
    let third = run(&bars, a.as_mut(), &config()).unwrap();
    assert_eq!(first.trades, third.trades);
    // k-means regimes give another, equally repeatable, run.
    let pk = params(json!({"method": 1}));
    let k1 = run(
        &bars,
        strategy::build("ensemble", &pk, goog(), Timeframe::DAY)
            .unwrap()
            .as_mut(),
        &config(),
    )
    .unwrap();
    let k2 = run(
        &bars,
        strategy::build("ensemble", &pk, goog(), Timeframe::DAY)
            .unwrap()
            .as_mut(),
        &config(),
    )
    .unwrap();
    assert_eq!(k1.trades, k2.trades);
}

#[test]
fn a_pinned_model_decides_and_must_be_loaded() {
    let bars = testkit::paths::goog_bars();
    let p = params(json!({"model_version": 3}));
    assert_eq!(strategy::pinned_model("ensemble", &p).unwrap(), Some(3));
    assert_eq!(
        strategy::pinned_model("sma_cross", &Map::new()).unwrap(),
        None
    );
    let err = strategy::build("ensemble", &p, goog(), Timeframe::DAY)
        .err()
        .unwrap();
    assert!(err.to_string().contains("not loaded"), "{err}");

    let ep = EnsembleParams {
        lookback: 60,
        window: 20,
        train_bars: 250,
        threshold: 0.3,
        method: model::RegimeMethod::Hmm,
        model_version: 3,
    };
    let trained = EnsembleModel::train(&bars[..1500], &ep).unwrap();
    assert_eq!(trained, EnsembleModel::train(&bars[..1500], &ep).unwrap());
    for w in trained.weights.values() {
        let total: f64 = w.iter().sum();
        assert!(total == 0.0 || (total - 1.0).abs() < 1e-9, "{w:?}");
    }
    let mut s = strategy::build_with_model(
        "ensemble",
        &p,
        goog(),
        Timeframe::DAY,
        Some(trained.clone()),
    )
    .unwrap();
    let pinned = run(&bars, s.as_mut(), &config()).unwrap();

    // Only sma_cross counts, in every regime: the ensemble then trades
    // exactly when sma_cross changes sides (threshold 0.3 < 1).
    let mut only_sma = trained.clone();
    only_sma.weights = Regime::ALL
        .iter()
        .map(|r| (*r, vec![1.0, 0.0, 0.0, 0.0, 0.0]))
        .collect::<BTreeMap<_, _>>();
    let mut s =
        strategy::build_with_model("ensemble", &p, goog(), Timeframe::DAY, Some(only_sma)).unwrap();
    let ensemble_sma = run(&bars, s.as_mut(), &config()).unwrap();
    let mut sma = strategy::build("sma_cross", &Map::new(), goog(), Timeframe::DAY).unwrap();
    let sma = run(&bars, sma.as_mut(), &config()).unwrap();
    assert_eq!(ensemble_sma.trades, sma.trades);
    assert_ne!(pinned.trades, sma.trades);

    // A model that is not this ensemble's is refused.
    let mut broken = trained;
    broken.members.pop();
    assert!(
        strategy::build_with_model("ensemble", &p, goog(), Timeframe::DAY, Some(broken)).is_err()
    );
}
