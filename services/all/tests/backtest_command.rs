//! `trader backtest FILE.csv`: the report of the platform's engine, and clear
//! errors for files it cannot use.

use std::process::Command;

fn trader(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn goog_report_matches_backtesting_py_and_writes_html() {
    let csv = testkit::paths::testdata("GOOG.csv");
    let html = tempfile::NamedTempFile::new().unwrap();
    let out = trader(&[
        "backtest",
        csv.to_str().unwrap(),
        "--symbol",
        "GOOG",
        "--param",
        "fast=10",
        "--param",
        "slow=20",
        "--commission",
        "0.002",
        "--html",
        html.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // backtesting.py 0.6.6 on the same run: Return 462.63519 %, 93 trades.
    assert!(
        text.contains("Return [%]") && text.contains("462.63519"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("# Trades") && l.trim_end().ends_with("93")),
        "{text}"
    );
    let page = std::fs::read_to_string(html.path()).unwrap();
    assert_eq!(page.matches("<svg").count(), 3, "price, equity, drawdown");
    assert!(
        page.contains("<title>sma_cross fast=10 slow=20 on GOOG 1d ("),
        "parameters in the title"
    );
}

#[test]
fn unusable_files_and_parameters_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let gaps = dir.path().join("gaps.csv");
    std::fs::write(
        &gaps,
        "Date,Open,High,Low,Close,Volume\n2020-01-02,10,12,9,11,100\n2020-01-03,,12,9,11,100\n2020-01-06,10,12,9,,100\n",
    )
    .unwrap();
    let out = trader(&["backtest", gaps.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 of 3 rows are invalid") && err.contains("line 3: non_numeric_price"),
        "{err}"
    );

    let out = trader(&[
        "backtest",
        testkit::paths::testdata("GOOG.csv").to_str().unwrap(),
        "--param",
        "fast=30",
        "--param",
        "slow=10",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be below slow"));

    let out = trader(&[
        "backtest",
        testkit::paths::testdata("GOOG.csv").to_str().unwrap(),
        "--kind",
        "nope",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown strategy kind"));

    let out = trader(&["backtest", dir.path().join("missing.csv").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}
