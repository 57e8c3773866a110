//! CSV import into MARKET, idempotency, validation, and reading bars back.

mod common;

use std::str::FromStr;
use std::time::Duration;

use bus::api::md::{BarsRequest, BarsResponse, ImportMode, ImportReport, ImportRequest};
use bus::{request, RequestOptions};
use common::{expect_error, goog_csv, raw, Env};
use model::{Decimal, Symbol, Timeframe, UnixNanos};

fn import_req(symbol: &str, csv: String, mode: ImportMode) -> ImportRequest {
    ImportRequest {
        symbol: Symbol::new(symbol).unwrap(),
        timeframe: Timeframe::DAY,
        mode,
        csv: Some(csv),
        path: None,
        calendar: None,
    }
}

async fn stored_bars(env: &Env, subject: &str) -> u64 {
    let js = async_nats::jetstream::new(env.client.clone());
    let stream = js.get_stream("MARKET").await.unwrap();
    let info = stream.info_with_subjects(subject).await.unwrap();
    let mut total = 0;
    let mut info = info;
    while let Some(Ok((_, n))) = futures::StreamExt::next(&mut info).await {
        total += n as u64;
    }
    total
}

async fn import(env: &Env, req: &ImportRequest) -> ImportReport {
    request(
        &env.client,
        "md.import",
        req,
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn goog_imports_once_and_reads_back_exactly() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;
    let csv = goog_csv();

    let first = import(&env, &import_req("GOOG", csv.clone(), ImportMode::Strict)).await;
    assert_eq!(
        (
            first.rows,
            first.valid,
            first.published,
            first.duplicates,
            first.rejected
        ),
        (2148, 2148, 2148, 0, 0)
    );
    assert_eq!(stored_bars(&env, "md.bar.GOOG.1d").await, 2148);

    let again = import(&env, &import_req("GOOG", csv.clone(), ImportMode::Strict)).await;
    assert_eq!((again.published, again.duplicates), (0, 2148));
    assert_eq!(stored_bars(&env, "md.bar.GOOG.1d").await, 2148);

    let resp: BarsResponse = request(
        &env.client,
        "md.bars.get",
        &serde_json::json!({"symbol": "GOOG", "timeframe": "1d"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(resp.bars.len(), 2148);
    assert_eq!(resp.next_from, None);
    // Every bar equals its CSV row, to the digit, in file (= time) order.
    for (bar, line) in resp.bars.iter().zip(csv.lines().skip(1)) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(bar.ts, UnixNanos::parse(f[0]).unwrap());
        assert_eq!(bar.open, Decimal::from_str(f[1]).unwrap());
        assert_eq!(bar.high, Decimal::from_str(f[2]).unwrap());
        assert_eq!(bar.low, Decimal::from_str(f[3]).unwrap());
        assert_eq!(bar.close, Decimal::from_str(f[4]).unwrap());
        assert_eq!(bar.volume, Decimal::from_str(f[5]).unwrap());
        assert_eq!(bar.close.to_string(), f[4], "exact text of the decimal");
    }

    // Range and paging.
    let page: BarsResponse = request(
        &env.client,
        "md.bars.get",
        &BarsRequest {
            symbol: Symbol::new("GOOG").unwrap(),
            timeframe: Timeframe::DAY,
            from: Some(UnixNanos::parse("2004-08-20").unwrap()),
            to: Some(UnixNanos::parse("2004-08-31").unwrap()),
            limit: Some(3),
        },
        RequestOptions::default(),
    )
    .await
    .unwrap();
    let days: Vec<String> = page.bars.iter().map(|b| b.ts.to_rfc3339()).collect();
    assert_eq!(
        days,
        [
            "2004-08-20T00:00:00Z",
            "2004-08-23T00:00:00Z",
            "2004-08-24T00:00:00Z"
        ]
    );
    assert_eq!(
        page.next_from,
        Some(UnixNanos::parse("2004-08-25").unwrap())
    );

    // The last close is the quote.
    let quote: model::Quote = request(
        &env.client,
        "md.quote.get",
        &serde_json::json!({"symbol": "goog"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(quote.last, Decimal::from_str("806.19").unwrap());

    let symbols: bus::api::md::SymbolsResponse = request(
        &env.client,
        "md.symbols.list",
        &serde_json::json!({}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(symbols.symbols.len(), 1);
    assert_eq!(symbols.symbols[0].series[0].bars, 2148);
}

#[tokio::test]
async fn a_second_instance_reads_what_the_first_imported() {
    let env = Env::start().await;
    let a = env.market_data(market_data::Config::default()).await;
    import(&env, &import_req("GOOG", goog_csv(), ImportMode::Strict)).await;
    a.stop().await.unwrap();
    // A fresh instance rebuilds its view from MARKET.
    let _b = env.market_data(market_data::Config::default()).await;
    let resp: BarsResponse = request(
        &env.client,
        "md.bars.get",
        &serde_json::json!({"symbol": "GOOG"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(resp.bars.len(), 2148);
}

const BAD_CSV: &str = "Date,Open,High,Low,Close,Volume
2020-01-02,10,12,9,11,100
2020-01-03,10,9,12,11,100
2020-01-06,ten,12,9,11,100
2020-01-07,0,12,9,11,100
2020-01-02,10,12,9,11,100
2020-01-08,10,12,9,11,100
";

#[tokio::test]
async fn strict_import_of_a_bad_file_names_lines_and_publishes_nothing() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;
    let body =
        serde_json::to_string(&import_req("BAD", BAD_CSV.to_string(), ImportMode::Strict)).unwrap();
    let reply = raw(&env.client, "md.import", &body).await;
    let err = expect_error(&reply, 422);
    assert_eq!(err["kind"], "unprocessable");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("line 3: high_below_low"), "{message}");
    let rejects: Vec<(u64, String)> = err["details"]["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejects,
        vec![
            (3, "high_below_low".to_string()),
            (4, "non_numeric_price".to_string()),
            (5, "non_positive_price".to_string()),
            (6, "duplicate_timestamp".to_string()),
        ]
    );
    assert_eq!(err["details"]["rejects_by_reason"]["high_below_low"], 1);
    assert_eq!(err["details"]["published"], 0);
    assert_eq!(stored_bars(&env, "md.bar.BAD.>").await, 0);

    // Lenient: the two good rows go in, the bad ones are reported.
    let report = import(
        &env,
        &import_req("BAD", BAD_CSV.to_string(), ImportMode::Lenient),
    )
    .await;
    assert_eq!((report.rows, report.published, report.rejected), (6, 2, 4));
    assert_eq!(stored_bars(&env, "md.bar.BAD.1d").await, 2);
}

#[tokio::test]
async fn file_level_errors_and_path_imports() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("goog.csv"), goog_csv()).unwrap();
    let _md = env
        .market_data(market_data::Config {
            import_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        })
        .await;

    let no_header =
        serde_json::json!({"symbol": "X", "csv": "Date,Close\n2020-01-01,1\n"}).to_string();
    let err = expect_error(&raw(&env.client, "md.import", &no_header).await, 400);
    assert!(err["message"].as_str().unwrap().contains("open"), "{err}");

    let both = serde_json::json!({"symbol": "X", "csv": "a", "path": "b"}).to_string();
    expect_error(&raw(&env.client, "md.import", &both).await, 400);

    let escape = serde_json::json!({"symbol": "X", "path": "../../etc/passwd"}).to_string();
    expect_error(&raw(&env.client, "md.import", &escape).await, 400);

    let by_path = serde_json::json!({"symbol": "GOOG", "path": "goog.csv"});
    let report: ImportReport = request(
        &env.client,
        "md.import",
        &by_path,
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(report.published, 2148);
}
