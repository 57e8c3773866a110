//! The built-ins on GOOG daily bars.

use model::{Bar, Decimal, Direction, Symbol, Timeframe, UnixNanos};
use serde_json::{json, Map, Value};
use strategy::{build, catalog, resolve_params, StrategyError};

fn goog() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn run(kind: &str, p: Value, bars: &[Bar]) -> Vec<(UnixNanos, Direction)> {
    let mut s = build(
        kind,
        &params(p),
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap();
    bars.iter()
        .filter_map(|b| s.on_bar(b))
        .map(|s| (s.ts, s.direction))
        .collect()
}

/// Independent: naive window sums in exact decimals, strict crossings.
fn naive_sma_crossovers(bars: &[Bar], fast: usize, slow: usize) -> Vec<(UnixNanos, Direction)> {
    let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
    let diff = |t: usize| -> Option<Decimal> {
        if t + 1 < slow {
            return None;
        }
        let f: Decimal = closes[t + 1 - fast..=t].iter().sum();
        let s: Decimal = closes[t + 1 - slow..=t].iter().sum();
        Some(f * Decimal::from(slow) - s * Decimal::from(fast))
    };
    let mut out = Vec::new();
    for (t, bar) in bars.iter().enumerate().skip(1) {
        if let (Some(a), Some(b)) = (diff(t - 1), diff(t)) {
            if a < Decimal::ZERO && b > Decimal::ZERO {
                out.push((bar.ts, Direction::Long));
            } else if a > Decimal::ZERO && b < Decimal::ZERO {
                out.push((bar.ts, Direction::Short));
            }
        }
    }
    out
}

#[test]
fn sma_cross_gives_exactly_the_independent_crossovers() {
    let bars = goog();
    for (fast, slow) in [(10, 20), (5, 30), (20, 50)] {
        let got = run("sma_cross", json!({"fast": fast, "slow": slow}), &bars);
        let want = naive_sma_crossovers(&bars, fast, slow);
        assert!(want.len() > 10);
        assert_eq!(got, want, "sma_cross({fast}, {slow})");
    }
}

#[test]
fn every_builtin_trades_goog_deterministically() {
    let bars = goog();
    for info in catalog() {
        let first = run(info.kind, json!({}), &bars);
        assert!(
            first.len() >= 4,
            "{} gave {} signals",
            info.kind,
            first.len()
        );
        assert!(
            first.windows(2).all(|w| w[0].0 < w[1].0),
            "{}: in time order",
            info.kind
        );
        assert_eq!(
            first,
            run(info.kind, json!({}), &bars),
            "{}: deterministic",
            info.kind
        );
        // reset() gives the state right after construction.
        let mut s = build(
            info.kind,
            &Map::new(),
            Symbol::new("GOOG").unwrap(),
            Timeframe::DAY,
        )
        .unwrap();
        for b in &bars[..500] {
            s.on_bar(b);
        }
        s.reset();
        let again: Vec<_> = bars
            .iter()
            .filter_map(|b| s.on_bar(b))
            .map(|s| (s.ts, s.direction))
            .collect();
        assert_eq!(first, again, "{}: reset", info.kind);
        // No signal before the warm-up.
        let first_ts = first[0].0;
        let first_index = bars.iter().position(|b| b.ts == first_ts).unwrap();
        assert!(
            first_index + 1 >= s.warmup(),
            "{}: signal before warm-up",
            info.kind
        );
    }
}

#[test]
fn level_strategies_only_signal_changes() {
    let bars = goog();
    for kind in ["rsi_reversion", "bollinger_breakout"] {
        let got = run(kind, json!({}), &bars);
        assert!(
            got.windows(2).all(|w| w[0].1 != w[1].1),
            "{kind}: repeats a position"
        );
    }
    let rsi = run("rsi_reversion", json!({}), &bars);
    assert!(rsi.iter().all(|(_, d)| *d != Direction::Short), "long only");
}

#[test]
fn bars_of_another_series_are_ignored() {
    let bars = goog();
    let mut s = build(
        "sma_cross",
        &Map::new(),
        Symbol::new("MSFT").unwrap(),
        Timeframe::DAY,
    )
    .unwrap();
    assert!(bars.iter().all(|b| s.on_bar(b).is_none()));
}

#[test]
fn factory_errors_are_clear() {
    let sym = || Symbol::new("GOOG").unwrap();
    let err = |kind: &str, p: Value| {
        build(kind, &params(p), sym(), Timeframe::DAY)
            .err()
            .unwrap()
    };
    assert!(matches!(err("nope", json!({})), StrategyError::UnknownKind(k) if k == "nope"));
    assert!(matches!(
        err("sma_cross", json!({"fats": 3})),
        StrategyError::UnknownParam { .. }
    ));
    let e = err("sma_cross", json!({"fast": 30, "slow": 10}));
    assert!(e.to_string().contains("must be below slow"), "{e}");
    assert!(err("sma_cross", json!({"fast": 2.5}))
        .to_string()
        .contains("whole number"));
    assert!(err("sma_cross", json!({"fast": "10"}))
        .to_string()
        .contains("expected a number"));
    assert!(err("sma_cross", json!({"fast": 0}))
        .to_string()
        .contains("between"));
    assert!(
        err("rsi_reversion", json!({"oversold": 80, "overbought": 70}))
            .to_string()
            .contains("below overbought")
    );
    assert!(err("macd_cross", json!({"fast": 26, "slow": 12}))
        .to_string()
        .contains("below slow"));

    let resolved = resolve_params("sma_cross", &params(json!({"fast": 5}))).unwrap();
    assert_eq!(Value::Object(resolved), json!({"fast": 5, "slow": 20}));
    let resolved = resolve_params("bollinger_breakout", &Map::new()).unwrap();
    assert_eq!(Value::Object(resolved), json!({"period": 20, "nbdev": 2.0}));
}
