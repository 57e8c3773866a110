//! Every indicator equals TA-Lib (fixtures/talib_goog.json, made by
//! fixtures/gen_talib.py from TA-Lib itself) to 1e-9 relative, in batch and
//! streaming form, with None exactly where TA-Lib has NaN. Two inputs: GOOG
//! daily bars and a synthetic series of TA-Lib's special cases (flat windows,
//! tiny moves, tiny and huge prices, a spike).
//!
//! The contract is 1e-9; the arithmetic follows TA-Lib's order, so the values
//! are in fact bit-identical. The test prints the largest distance in ULPs
//! (serde_json parses decimals to within a few ULP, so small numbers are noise).

use indicators::*;
use serde_json::Value;

struct Series {
    bars: Vec<Hlc>,
    closes: Vec<f64>,
}

impl Series {
    fn new(bars: Vec<Hlc>) -> Self {
        let closes = bars.iter().map(|b| b.close).collect();
        Series { bars, closes }
    }
}

fn goog() -> Series {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/GOOG.csv");
    let text = std::fs::read_to_string(path).unwrap();
    Series::new(
        text.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<f64> = l.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
                Hlc {
                    high: f[1],
                    low: f[2],
                    close: f[3],
                }
            })
            .collect(),
    )
}

fn edge(fixture: &Value) -> Series {
    let column = |name: &str| -> Vec<f64> {
        fixture["inputs"]["edge"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (high, low, close) = (column("high"), column("low"), column("close"));
    Series::new(
        (0..close.len())
            .map(|i| Hlc {
                high: high[i],
                low: low[i],
                close: close[i],
            })
            .collect(),
    )
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/talib_goog.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close_enough(got: f64, want: f64) -> bool {
    // Relative, with a floor so values that cross 0 (MACD histogram) are not
    // held to a relative error of a tiny number.
    (got - want).abs() <= 1e-9 * want.abs().max(1e-6)
}

fn ulps(a: f64, b: f64) -> u64 {
    if a == b {
        return 0;
    }
    if a.signum() != b.signum() {
        return u64::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

/// Compares one output column; returns how many values were checked.
fn compare(case: &Value, column: &str, got: &[Option<f64>]) -> usize {
    let want = case["outputs"][column].as_array().unwrap();
    let name = format!(
        "{} {} {} {column}",
        case["input"], case["indicator"], case["params"]
    );
    assert_eq!(got.len(), want.len(), "{name}: length");
    let (mut checked, mut worst_ulps) = (0, 0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w.as_f64()) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                assert!(close_enough(*g, w), "{name}[{i}]: got {g}, TA-Lib {w}");
                worst_ulps = worst_ulps.max(ulps(*g, w));
                checked += 1;
            }
            (g, w) => panic!("{name}[{i}]: warm-up differs: got {g:?}, TA-Lib {w:?}"),
        }
    }
    eprintln!("{name}: {checked} values, at most {worst_ulps} ULP apart");
    checked
}

fn period(case: &Value, name: &str) -> usize {
    case["params"][name].as_u64().unwrap() as usize
}

/// Runs `make()` in batch form and streaming form (update by update, after a
/// reset in the middle of a first pass, to prove reset) and checks that the two
/// agree exactly and that the first value comes at `lookback()`.
fn both<I: Indicator>(make: impl Fn() -> I, inputs: &[I::Input]) -> Vec<Option<I::Output>>
where
    I::Output: PartialEq + std::fmt::Debug + Copy,
{
    let batch = batch(make(), inputs).unwrap();
    let mut streaming = make();
    for x in &inputs[..100] {
        streaming.update(*x).unwrap();
    }
    streaming.reset();
    let stream: Vec<_> = inputs
        .iter()
        .map(|x| streaming.update(*x).unwrap())
        .collect();
    assert_eq!(batch, stream, "batch and streaming agree");
    let first = batch.iter().position(Option::is_some).unwrap();
    assert_eq!(first, make().lookback(), "first value at lookback()");
    batch
}

fn column<T: Copy>(out: &[Option<T>], field: impl Fn(T) -> f64) -> Vec<Option<f64>> {
    out.iter().map(|v| v.map(&field)).collect()
}

fn check_case(case: &Value, s: &Series) -> usize {
    let p = |name| period(case, name);
    match case["indicator"].as_str().unwrap() {
        "sma" => compare(
            case,
            "value",
            &both(|| Sma::new(p("period")).unwrap(), &s.closes),
        ),
        "ema" => compare(
            case,
            "value",
            &both(|| Ema::new(p("period")).unwrap(), &s.closes),
        ),
        "wma" => compare(
            case,
            "value",
            &both(|| Wma::new(p("period")).unwrap(), &s.closes),
        ),
        "rsi" => compare(
            case,
            "value",
            &both(|| Rsi::new(p("period")).unwrap(), &s.closes),
        ),
        "atr" => compare(
            case,
            "value",
            &both(|| Atr::new(p("period")).unwrap(), &s.bars),
        ),
        "macd" => {
            let out = both(
                || Macd::new(p("fast"), p("slow"), p("signal")).unwrap(),
                &s.closes,
            );
            compare(case, "macd", &column(&out, |v| v.macd))
                + compare(case, "signal", &column(&out, |v| v.signal))
                + compare(case, "hist", &column(&out, |v| v.hist))
        }
        "bbands" => {
            let dev = |name: &str| case["params"][name].as_f64().unwrap();
            let (up, dn) = (dev("nbdevup"), dev("nbdevdn"));
            let out = both(
                || BollingerBands::new(p("period"), up, dn).unwrap(),
                &s.closes,
            );
            compare(case, "upper", &column(&out, |b| b.upper))
                + compare(case, "middle", &column(&out, |b| b.middle))
                + compare(case, "lower", &column(&out, |b| b.lower))
        }
        "stoch" => {
            let out = both(
                || Stoch::new(p("fastk"), p("slowk"), p("slowd")).unwrap(),
                &s.bars,
            );
            compare(case, "slowk", &column(&out, |v| v.slowk))
                + compare(case, "slowd", &column(&out, |v| v.slowd))
        }
        other => panic!("fixture has an indicator the test does not know: {other}"),
    }
}

#[test]
fn every_indicator_matches_talib() {
    let fixture = fixture();
    let (goog, edge) = (goog(), edge(&fixture));
    let mut checked = std::collections::BTreeMap::new();
    for case in fixture["cases"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        let series = match input {
            "goog" => &goog,
            "edge" => &edge,
            other => panic!("unknown input {other}"),
        };
        *checked.entry(input).or_insert(0) += check_case(case, series);
    }
    // Every case of both inputs ran: 26 output columns each.
    assert!(checked["goog"] > 26 * 2_000, "{checked:?}");
    assert!(checked["edge"] > 26 * 500, "{checked:?}");
}

#[test]
fn parameters_are_validated() {
    assert!(matches!(
        Sma::new(0),
        Err(IndicatorError::InvalidParam { name: "period", .. })
    ));
    assert!(Sma::new(100_001).is_err());
    assert!(Ema::new(0).is_err());
    assert!(Wma::new(0).is_err());
    assert!(Rsi::new(1).is_err());
    assert!(Atr::new(0).is_err());
    assert!(matches!(
        Macd::new(26, 12, 9),
        Err(IndicatorError::FastNotBelowSlow { fast: 26, slow: 12 })
    ));
    assert!(matches!(
        Macd::new(12, 12, 9),
        Err(IndicatorError::FastNotBelowSlow { .. })
    ));
    assert!(matches!(
        Macd::new(12, 26, 0),
        Err(IndicatorError::InvalidParam { name: "signal", .. })
    ));
    assert!(BollingerBands::new(1, 2.0, 2.0).is_err());
    assert!(BollingerBands::new(20, f64::NAN, 2.0).is_err());
    assert!(matches!(
        BollingerBands::new(20, 2.0, -1.0),
        Err(IndicatorError::InvalidParam {
            name: "nbdevdn",
            ..
        })
    ));
    assert!(Stoch::new(5, 0, 3).is_err());
    let e = Macd::new(26, 12, 9).unwrap_err().to_string();
    assert!(e.contains("26") && e.contains("12"), "{e}");
}

#[test]
fn non_finite_inputs_are_errors_that_leave_the_state_alone() {
    let closes = [10.0, 11.0, 12.0, 11.5, 12.5];
    let mut rsi = Rsi::new(3).unwrap();
    for x in &closes[..4] {
        rsi.update(*x).unwrap();
    }
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            rsi.update(bad),
            Err(IndicatorError::NonFiniteInput(_))
        ));
    }
    let want = batch(Rsi::new(3).unwrap(), &closes).unwrap();
    assert_eq!(rsi.update(closes[4]).unwrap(), want[4]);

    let mut atr = Atr::new(14).unwrap();
    let bar = Hlc {
        high: 1.0,
        low: f64::NAN,
        close: 1.0,
    };
    assert!(atr.update(bar).is_err());
    assert!(Stoch::new(5, 3, 3).unwrap().update(bar).is_err());
    assert!(batch(Sma::new(2).unwrap(), &[1.0, f64::NAN]).is_err());
}
