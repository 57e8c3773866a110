//! Where things are. Paths are derived from this crate's manifest directory,
//! never from the current directory.

use std::path::PathBuf;

/// The repository root (two levels above `shared/testkit`).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// A file under `testdata/` (e.g. `GOOG.csv`).
pub fn testdata(name: &str) -> PathBuf {
    repo_root().join("testdata").join(name)
}

/// `testdata/GOOG.csv` as text: a header and 2,148 daily rows.
pub fn goog_csv() -> String {
    std::fs::read_to_string(testdata("GOOG.csv")).expect("testdata/GOOG.csv")
}

/// `testdata/GOOG.csv` as daily bars of symbol GOOG, in file order (2,148 bars,
/// 2004-08-19 to 2013-03-01).
pub fn goog_bars() -> Vec<model::Bar> {
    use std::str::FromStr;
    let text = goog_csv();
    let symbol = model::Symbol::new("GOOG").expect("valid symbol");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let d = |i: usize| model::Decimal::from_str(f[i]).expect("a decimal in GOOG.csv");
            model::Bar {
                symbol: symbol.clone(),
                timeframe: model::Timeframe::DAY,
                ts: model::UnixNanos::parse(f[0]).expect("a date in GOOG.csv"),
                open: d(1),
                high: d(2),
                low: d(3),
                close: d(4),
                volume: d(5),
            }
        })
        .collect()
}
