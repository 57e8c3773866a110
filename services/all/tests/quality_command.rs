//! README "Data quality": `trader import` then `trader quality` exactly as
//! written there, against a private server running market-data.

use std::process::Output;
use std::time::Duration;

use testkit::Platform;

/// `trader <words>` as typed in the README (from the repository root).
async fn trader(url: &str, line: &str) -> Output {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "trader");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(&words[1..])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("NATS_URL", url)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn trader_quality_reports_goog_gaps() {
    let platform = Platform::builder().start().await;
    platform
        .add(bus::subjects::md::SERVICE, |client, shutdown| {
            market_data::run(market_data::Config::default(), client, shutdown.wait())
        })
        .await;
    let url = platform.url().to_string();
    let out = trader(&url, "trader import --symbol GOOG testdata/GOOG.csv").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["quality"]["possible_holidays"], 75);

    let out = tokio::time::timeout(
        Duration::from_secs(60),
        trader(
            &url,
            "trader quality GOOG --from 2011-12-30 --to 2012-12-31",
        ),
    )
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("GOOG 1d: score "), "{text}");
    let gaps = text.lines().find(|l| l.starts_with("gaps")).unwrap();
    assert_eq!(gaps.split_whitespace().nth(1), Some("11"), "{text}");
    assert!(text.contains("2012-10-29T00:00:00Z  missing"), "{text}");
    assert!(
        text.contains("2012-12-25T00:00:00Z  possible_holiday"),
        "{text}"
    );

    let out = trader(&url, "trader quality GOOG").await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("score 99.58 (2148 bars, 2152 expected, 75 possible holidays"),
        "{text}"
    );
}
