//! The built-ins on GOOG daily bars, against signals derived independently:
//! SMA crossovers from exact decimal window sums, the RSI, MACD and Bollinger
//! strategies from TA-Lib's own indicator values (the indicators crate's
//! fixture) run through the documented rules in plain loops.

use model::{Bar, Decimal, Direction, Signal, Symbol, Timeframe, UnixNanos};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{json, Map, Value};
use strategy::{build, catalog, resolve_params, ParamKind, Strategy, StrategyError};

fn goog() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn strategy(kind: &str, p: Value) -> Box<dyn Strategy> {
    build(
        kind,
        &params(p),
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap()
}

fn signals(s: &mut dyn Strategy, bars: &[Bar]) -> Vec<Signal> {
    bars.iter().filter_map(|b| s.on_bar(b)).collect()
}

fn run(kind: &str, p: Value, bars: &[Bar]) -> Vec<(UnixNanos, Direction)> {
    signals(strategy(kind, p).as_mut(), bars)
        .into_iter()
        .map(|s| (s.ts, s.direction))
        .collect()
}

/// Independent: naive window sums in exact decimals, strict crossings.
fn naive_sma_crossovers(bars: &[Bar], fast: usize, slow: usize) -> Vec<(UnixNanos, Direction)> {
    let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
    // fast SMA − slow SMA, scaled by fast·slow to stay exact.
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

/// One output column of a TA-Lib case on GOOG from the indicators fixture.
fn talib(indicator: &str, params: Value, column: &str) -> Vec<Option<f64>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../indicators/fixtures/talib_goog.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["input"] == "goog" && c["indicator"] == indicator && c["params"] == params)
        .unwrap_or_else(|| panic!("no TA-Lib case {indicator} {params}"));
    case["outputs"][column]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::as_f64)
        .collect()
}

/// Emits `want` on bar `t` when it differs from the position held.
struct Positions {
    held: Direction,
    out: Vec<(UnixNanos, Direction)>,
}

impl Positions {
    fn new() -> Self {
        Positions {
            held: Direction::Flat,
            out: Vec::new(),
        }
    }
    fn want(&mut self, bar: &Bar, want: Direction) {
        if want != self.held {
            self.held = want;
            self.out.push((bar.ts, want));
        }
    }
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
fn rsi_reversion_follows_talib_rsi() {
    let bars = goog();
    let rsi = talib("rsi", json!({"period": 14}), "value");
    let mut p = Positions::new();
    for t in 1..bars.len() {
        if let (Some(a), Some(b)) = (rsi[t - 1], rsi[t]) {
            if a > 30.0 && b < 30.0 {
                p.want(&bars[t], Direction::Long);
            } else if a < 70.0 && b > 70.0 {
                p.want(&bars[t], Direction::Flat);
            }
        }
    }
    assert!(p.out.len() > 10);
    assert_eq!(run("rsi_reversion", json!({}), &bars), p.out);
}

#[test]
fn macd_cross_follows_talib_macd() {
    let bars = goog();
    let p = json!({"fast": 12, "slow": 26, "signal": 9});
    let (line, signal) = (talib("macd", p.clone(), "macd"), talib("macd", p, "signal"));
    let mut want = Vec::new();
    for t in 1..bars.len() {
        if let (Some(m0), Some(s0), Some(m1), Some(s1)) =
            (line[t - 1], signal[t - 1], line[t], signal[t])
        {
            if m0 < s0 && m1 > s1 {
                want.push((bars[t].ts, Direction::Long));
            } else if m0 > s0 && m1 < s1 {
                want.push((bars[t].ts, Direction::Short));
            }
        }
    }
    assert!(want.len() > 50);
    assert_eq!(run("macd_cross", json!({}), &bars), want);
}

#[test]
fn bollinger_breakout_follows_talib_bands() {
    let bars = goog();
    let p = json!({"period": 20, "nbdevup": 2.0, "nbdevdn": 2.0});
    let upper = talib("bbands", p.clone(), "upper");
    let middle = talib("bbands", p.clone(), "middle");
    let lower = talib("bbands", p, "lower");
    let close = |t: usize| bars[t].close.to_f64().unwrap();
    let mut p = Positions::new();
    for t in 1..bars.len() {
        let (Some(u0), Some(m0), Some(l0)) = (upper[t - 1], middle[t - 1], lower[t - 1]) else {
            continue;
        };
        let (u1, m1, l1) = (upper[t].unwrap(), middle[t].unwrap(), lower[t].unwrap());
        let (c0, c1) = (close(t - 1), close(t));
        if c0 < u0 && c1 > u1 {
            p.want(&bars[t], Direction::Long);
        } else if c0 > l0 && c1 < l1 {
            p.want(&bars[t], Direction::Short);
        } else if p.held == Direction::Long && c0 > m0 && c1 < m1
            || p.held == Direction::Short && c0 < m0 && c1 > m1
        {
            p.want(&bars[t], Direction::Flat);
        }
    }
    assert!(p.out.len() > 10);
    assert_eq!(run("bollinger_breakout", json!({}), &bars), p.out);
}

#[test]
fn every_builtin_trades_goog_sensibly_and_deterministically() {
    let bars = goog();
    for info in catalog() {
        let kind = info.kind;
        let mut s = strategy(kind, json!({}));
        let first = signals(s.as_mut(), &bars);
        assert!(first.len() >= 4, "{kind} gave {} signals", first.len());
        for sig in &first {
            let bar = bars.iter().find(|b| b.ts == sig.ts).unwrap();
            assert_eq!(
                (&sig.symbol, sig.timeframe, sig.price),
                (&bar.symbol, bar.timeframe, bar.close),
                "{kind}: the signal describes its bar"
            );
            assert!(!sig.reason.is_empty(), "{kind}: a reason");
        }
        assert!(
            first.windows(2).all(|w| w[0].ts < w[1].ts),
            "{kind}: in time order"
        );
        // A second instance, and the first one after reset(), repeat it all.
        assert_eq!(first, signals(strategy(kind, json!({})).as_mut(), &bars));
        s.reset();
        assert_eq!(first, signals(s.as_mut(), &bars), "{kind}: reset");
        // Reset in the middle of a run, too.
        signals(s.as_mut(), &bars[..500]);
        s.reset();
        assert_eq!(first, signals(s.as_mut(), &bars), "{kind}: reset");
        // No signal before the warm-up.
        let first_index = bars.iter().position(|b| b.ts == first[0].ts).unwrap();
        assert!(first_index >= s.warmup(), "{kind}: signal before warm-up");
    }
}

#[test]
fn positions_alternate_as_documented() {
    let bars = goog();
    let directions = |kind| -> Vec<Direction> {
        run(kind, json!({}), &bars)
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    };
    // Crossovers: on GOOG every cross is followed by the opposite one.
    for kind in ["sma_cross", "ema_cross", "macd_cross"] {
        let d = directions(kind);
        assert!(d.windows(2).all(|w| w[0] != w[1]), "{kind}: {d:?}");
        assert!(
            d.iter().all(|d| *d != Direction::Flat),
            "{kind}: never flat"
        );
    }
    // RSI reversion is long only: Long, Flat, Long, Flat...
    let d = directions("rsi_reversion");
    assert_eq!(d[0], Direction::Long);
    assert!(d.windows(2).all(|w| w[0] != w[1]));
    assert!(d.iter().all(|d| *d != Direction::Short), "long only");
    // Bollinger: a position change every time; flat only out of a position.
    let d = directions("bollinger_breakout");
    assert!(d.windows(2).all(|w| w[0] != w[1]));
    assert_ne!(d[0], Direction::Flat);
    assert!(d.contains(&Direction::Short) && d.contains(&Direction::Flat));
}

/// A seeded pseudo-random walk (LCG), for property checks.
fn walk(seed: u64, n: usize) -> Vec<Bar> {
    let mut state = seed;
    let mut close = 1000i64;
    let symbol = Symbol::new("GOOG").unwrap();
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            close = (close + ((state >> 33) % 201) as i64 - 100).max(10);
            let price = Decimal::new(close, 1);
            Bar {
                symbol: symbol.clone(),
                timeframe: Timeframe::DAY,
                ts: UnixNanos::from_seconds(i as i64 * 86_400),
                open: price,
                high: price,
                low: price,
                close: price,
                volume: Decimal::ONE,
            }
        })
        .collect()
}

#[test]
fn warmup_is_exact() {
    let small = [
        ("sma_cross", json!({"fast": 2, "slow": 3})),
        ("ema_cross", json!({"fast": 2, "slow": 3})),
        ("rsi_reversion", json!({"period": 2})),
        ("macd_cross", json!({"fast": 2, "slow": 3, "signal": 2})),
        ("bollinger_breakout", json!({"period": 3, "nbdev": 0.5})),
    ];
    for (kind, p) in small {
        let mut s = strategy(kind, p);
        let warmup = s.warmup();
        let mut earliest = usize::MAX;
        for seed in 0..200 {
            s.reset();
            let bars = walk(seed, 20);
            if let Some(i) = bars.iter().position(|b| s.on_bar(b).is_some()) {
                assert!(i >= warmup, "{kind}: a signal on bar {i}, warm-up {warmup}");
                earliest = earliest.min(i);
            }
        }
        assert_eq!(
            earliest, warmup,
            "{kind}: some series signals right at the warm-up"
        );
    }
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
    assert!(err("nope", json!({})).to_string().contains("sma_cross"));
    let e = err("sma_cross", json!({"fats": 3}));
    assert!(
        matches!(&e, StrategyError::UnknownParam { name, .. } if name == "fats"),
        "{e}"
    );
    assert!(e.to_string().contains("fast, slow"), "lists the known: {e}");
    let e = err("sma_cross", json!({"fast": 30, "slow": 10}));
    assert!(
        matches!(&e, StrategyError::InvalidParam { name, .. } if name == "fast"),
        "{e}"
    );
    assert!(e.to_string().contains("must be below slow"), "{e}");
    let reason = |kind: &str, p: Value| err(kind, p).to_string();
    assert!(reason("sma_cross", json!({"fast": 2.5})).contains("whole number"));
    assert!(reason("sma_cross", json!({"fast": "10"})).contains("expected a number"));
    assert!(reason("sma_cross", json!({"fast": true})).contains("expected a number"));
    assert!(reason("sma_cross", json!({"fast": 0})).contains("between"));
    assert!(reason("bollinger_breakout", json!({"nbdev": 11})).contains("between"));
    assert!(
        reason("rsi_reversion", json!({"oversold": 80, "overbought": 70}))
            .contains("below overbought")
    );
    assert!(reason("macd_cross", json!({"fast": 26, "slow": 12})).contains("below slow"));
    assert!(reason("ema_cross", json!({"fast": 26, "slow": 26})).contains("below slow"));

    // Defaults fill what is missing (null counts as missing); whole floats are ints.
    let resolved = resolve_params("sma_cross", &params(json!({"fast": 5.0, "slow": null})));
    assert_eq!(
        Value::Object(resolved.unwrap()),
        json!({"fast": 5, "slow": 20})
    );
    let resolved = resolve_params("bollinger_breakout", &Map::new()).unwrap();
    assert_eq!(Value::Object(resolved), json!({"period": 20, "nbdev": 2.0}));
}

#[test]
fn catalog_is_consistent_for_optimisers() {
    let infos = catalog();
    let kinds: Vec<_> = infos.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            "sma_cross",
            "ema_cross",
            "rsi_reversion",
            "macd_cross",
            "bollinger_breakout",
            "ensemble"
        ]
    );
    for info in &infos {
        for p in &info.params {
            let name = format!("{}.{}", info.kind, p.name);
            assert!(p.min <= p.default && p.default <= p.max, "{name}");
            assert!(p.step > 0.0, "{name}");
            if p.kind == ParamKind::Int {
                assert!(
                    [p.min, p.default, p.max, p.step]
                        .iter()
                        .all(|v| v.fract() == 0.0),
                    "{name}"
                );
            }
            // The bounds themselves are accepted (cross-parameter rules aside).
            for bound in [p.min, p.max] {
                let given = params(json!({ p.name: bound }));
                match resolve_params(info.kind, &given) {
                    Ok(_) => {}
                    Err(StrategyError::InvalidParam { reason, .. }) => {
                        assert!(reason.contains("below"), "{name}={bound}: {reason}")
                    }
                    Err(e) => panic!("{name}={bound}: {e}"),
                }
            }
        }
    }
    // Served as JSON with a schema.
    let json = serde_json::to_value(&infos).unwrap();
    assert_eq!(json[0]["params"][0]["kind"], "int");
    let schema = serde_json::to_value(schemars::schema_for!(Vec<strategy::StrategyInfo>)).unwrap();
    assert!(schema.to_string().contains("description"));
}
