//! Every indicator equals TA-Lib (fixtures/talib_goog.json, made by
//! fixtures/gen_talib.py from TA-Lib itself) on GOOG closes, to 1e-9 relative,
//! in batch and streaming form, with None exactly where TA-Lib has NaN.

use indicators::*;
use serde_json::Value;

fn goog() -> Vec<Hlc> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/GOOG.csv");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
            Hlc {
                high: f[1],
                low: f[2],
                close: f[3],
            }
        })
        .collect()
}

fn fixture() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/talib_goog.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn close_enough(got: f64, want: f64) -> bool {
    let scale = want.abs().max(1e-6);
    (got - want).abs() <= 1e-9 * scale
}

/// Compares one output column; returns how many values were checked.
fn compare(case: &Value, column: &str, got: &[Option<f64>]) -> usize {
    let want = case["outputs"][column].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    let mut checked = 0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w.as_f64()) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                assert!(
                    close_enough(*g, w),
                    "{} {} {column}[{i}]: got {g}, TA-Lib {w}",
                    case["indicator"],
                    case["params"]
                );
                checked += 1;
            }
            (g, w) => panic!(
                "{} {} {column}[{i}]: warm-up differs: got {g:?}, TA-Lib {w:?}",
                case["indicator"], case["params"]
            ),
        }
    }
    checked
}

fn p(case: &Value, name: &str) -> usize {
    case["params"][name].as_u64().unwrap() as usize
}

/// Runs `make()` in batch form and streaming form (update by update, with a
/// reset in the middle to prove reset) and checks the two agree exactly.
fn both<I: Indicator + Clone>(make: impl Fn() -> I, inputs: &[I::Input]) -> Vec<Option<I::Output>>
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

#[test]
fn every_indicator_matches_talib() {
    let bars = goog();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let mut checked = 0;
    for case in fixture() {
        match case["indicator"].as_str().unwrap() {
            "sma" => {
                checked += compare(
                    &case,
                    "value",
                    &both(|| Sma::new(p(&case, "period")).unwrap(), &closes),
                )
            }
            "ema" => {
                checked += compare(
                    &case,
                    "value",
                    &both(|| Ema::new(p(&case, "period")).unwrap(), &closes),
                )
            }
            "wma" => {
                checked += compare(
                    &case,
                    "value",
                    &both(|| Wma::new(p(&case, "period")).unwrap(), &closes),
                )
            }
            "rsi" => {
                checked += compare(
                    &case,
                    "value",
                    &both(|| Rsi::new(p(&case, "period")).unwrap(), &closes),
                )
            }
            "atr" => {
                checked += compare(
                    &case,
                    "value",
                    &both(|| Atr::new(p(&case, "period")).unwrap(), &bars),
                )
            }
            "macd" => {
                let out = both(
                    || Macd::new(p(&case, "fast"), p(&case, "slow"), p(&case, "signal")).unwrap(),
                    &closes,
                );
                checked += compare(
                    &case,
                    "macd",
                    &out.iter().map(|v| v.map(|v| v.macd)).collect::<Vec<_>>(),
                );
                checked += compare(
                    &case,
                    "signal",
                    &out.iter().map(|v| v.map(|v| v.signal)).collect::<Vec<_>>(),
                );
                checked += compare(
                    &case,
                    "hist",
                    &out.iter().map(|v| v.map(|v| v.hist)).collect::<Vec<_>>(),
                );
            }
            "bbands" => {
                let (up, dn) = (
                    case["params"]["nbdevup"].as_f64().unwrap(),
                    case["params"]["nbdevdn"].as_f64().unwrap(),
                );
                let out = both(
                    || BollingerBands::new(p(&case, "period"), up, dn).unwrap(),
                    &closes,
                );
                checked += compare(
                    &case,
                    "upper",
                    &out.iter().map(|v| v.map(|v| v.upper)).collect::<Vec<_>>(),
                );
                checked += compare(
                    &case,
                    "middle",
                    &out.iter().map(|v| v.map(|v| v.middle)).collect::<Vec<_>>(),
                );
                checked += compare(
                    &case,
                    "lower",
                    &out.iter().map(|v| v.map(|v| v.lower)).collect::<Vec<_>>(),
                );
            }
            "stoch" => {
                let out = both(
                    || Stoch::new(p(&case, "fastk"), p(&case, "slowk"), p(&case, "slowd")).unwrap(),
                    &bars,
                );
                checked += compare(
                    &case,
                    "slowk",
                    &out.iter().map(|v| v.map(|v| v.slowk)).collect::<Vec<_>>(),
                );
                checked += compare(
                    &case,
                    "slowd",
                    &out.iter().map(|v| v.map(|v| v.slowd)).collect::<Vec<_>>(),
                );
            }
            other => panic!("fixture has an indicator the test does not know: {other}"),
        }
    }
    assert!(checked > 40_000, "compared {checked} values");
}

#[test]
fn parameters_are_validated() {
    assert!(matches!(
        Sma::new(0),
        Err(IndicatorError::InvalidParam { name: "period", .. })
    ));
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
    assert!(BollingerBands::new(20, f64::NAN, 2.0).is_err());
    assert!(BollingerBands::new(20, -1.0, 2.0).is_err());
    assert!(Stoch::new(0, 3, 3).is_err());
    let mut rsi = Rsi::new(14).unwrap();
    assert!(matches!(
        rsi.update(f64::INFINITY),
        Err(IndicatorError::NonFiniteInput(_))
    ));
    let mut atr = Atr::new(14).unwrap();
    assert!(atr
        .update(Hlc {
            high: 1.0,
            low: f64::NAN,
            close: 1.0
        })
        .is_err());
}
