//! `md.quality.get`: every defect planted in a synthetic series is found, with
//! its kind and time; a clean series has none; GOOG's real gaps are NYSE's
//! closed days; the import report carries the same rules' summary.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bus::api::md::{ImportMode, ImportReport, ImportRequest, QualityReport};
use bus::{request, RequestOptions};
use common::{expect_error, goog_csv, raw, Env};
use model::{Bar, Decimal, Event, Symbol, Timeframe, UnixNanos};
use serde_json::json;

const DAY: i64 = 86_400_000_000_000;

/// Weekdays from Monday 2024-01-01, `n` of them.
fn weekdays(n: usize) -> Vec<UnixNanos> {
    let start = UnixNanos::parse("2024-01-01").unwrap().0;
    (0..)
        .map(|d| start + d * DAY)
        .filter(|t| ((t / DAY) + 3).rem_euclid(7) < 5)
        .take(n)
        .map(UnixNanos)
        .collect()
}

/// A clean random walk: closes within ±1% a day, volume 1000–2000.
fn clean_series(symbol: &str, times: &[UnixNanos]) -> Vec<Bar> {
    let mut seed: u64 = 7;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f64) / ((1u64 << 31) as f64)
    };
    let mut closes = Vec::new();
    let mut c = 100.0f64;
    for _ in times {
        c *= 1.0 + (rnd() - 0.5) * 0.02;
        closes.push(c);
    }
    let volumes: Vec<f64> = times.iter().map(|_| 1000.0 + rnd() * 1000.0).collect();
    build(symbol, times, &closes, &volumes)
}

fn d(x: f64) -> Decimal {
    Decimal::from_f64_retain(x).unwrap().round_dp(4)
}

fn build(symbol: &str, times: &[UnixNanos], closes: &[f64], volumes: &[f64]) -> Vec<Bar> {
    (0..times.len())
        .map(|i| {
            let open = if i == 0 { closes[0] } else { closes[i - 1] };
            let close = closes[i];
            Bar {
                symbol: Symbol::new(symbol).unwrap(),
                timeframe: Timeframe::DAY,
                ts: times[i],
                open: d(open),
                high: d(open.max(close) * 1.002),
                low: d(open.min(close) * 0.998),
                close: d(close),
                volume: d(volumes[i]).round(),
            }
        })
        .collect()
}

/// Stores bars as another producer would (the importer refuses bad bars, but
/// MARKET may hold them from anywhere).
async fn store(env: &Env, bars: &[Bar]) {
    let js = async_nats::jetstream::new(env.client.clone());
    for bar in bars {
        let id = bus::subjects::bar_msg_id(&bar.symbol, bar.timeframe, bar.ts);
        let event = Event::new(
            id.clone(),
            model::event::types::MARKET_DATA_UPDATE,
            "test",
            "test",
            bar,
        );
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        js.publish_with_headers(
            bus::subjects::bar(&bar.symbol, bar.timeframe),
            headers,
            serde_json::to_vec(&event).unwrap().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
}

async fn quality(env: &Env, body: serde_json::Value) -> QualityReport {
    request(
        &env.client,
        "md.quality.get",
        &body,
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap()
}

/// (time, kind) of a part's bars.
fn found(part: &bus::api::md::QualityPart) -> Vec<(UnixNanos, String)> {
    part.bars.iter().map(|f| (f.ts, f.kind.clone())).collect()
}

#[tokio::test]
async fn planted_defects_are_all_found_and_a_clean_series_has_none() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;
    let times = weekdays(120);

    let clean = clean_series("CLEAN", &times);
    store(&env, &clean).await;
    let report = quality(&env, json!({"symbol": "CLEAN", "timeframe": "1d"})).await;
    assert_eq!(report.bars, 120);
    assert_eq!(report.expected, 120);
    for part in [
        &report.gaps,
        &report.outliers,
        &report.stale,
        &report.ohlc,
        &report.volume,
    ] {
        assert_eq!(part.count, 0, "{part:?}");
        assert_eq!(part.score, 100.0);
    }
    assert_eq!(report.score, 100.0);

    // The same walk with one defect of each kind, far enough apart not to touch.
    let mut closes: Vec<f64> = clean.iter().map(|b| model::to_f64(b.close)).collect();
    let mut volumes: Vec<f64> = clean.iter().map(|b| model::to_f64(b.volume)).collect();
    closes[10] *= 1.5; // a one-bar spike: flags bar 10 only
    for c in &mut closes[60..] {
        *c *= 0.7; // a level shift: flags bar 60
    }
    volumes[90] = 0.0;
    volumes[95] = -5.0;
    volumes[100] *= 10_000.0;
    let mut bars = build("BAD", &times, &closes, &volumes);
    for i in 31..=33 {
        // three bars repeating bar 30's prices
        let prev = bars[30].clone();
        bars[i].open = prev.open;
        bars[i].high = prev.high;
        bars[i].low = prev.low;
        bars[i].close = prev.close;
    }
    bars[36].open = bars[36].close + Decimal::ONE; // open above high
    bars[36].high = bars[36].close;
    bars[40].low = bars[40].open.min(bars[40].close) + Decimal::new(1, 2);
    bars[44].close = Decimal::NEGATIVE_ONE;
    bars[48].high = bars[48].low - Decimal::ONE;
    bars[48].open = bars[48].low;
    bars[48].close = bars[48].low;
    // Gaps: bars 20–22 (Wed–Fri, three trading days) and bar 70 alone.
    let missing: Vec<UnixNanos> = [20, 21, 22].iter().map(|&i| times[i]).collect();
    let lone = times[70];
    let stored: Vec<Bar> = bars
        .iter()
        .filter(|b| !missing.contains(&b.ts) && b.ts != lone)
        .cloned()
        .collect();
    store(&env, &stored).await;

    let report = quality(
        &env,
        json!({"symbol": "BAD", "timeframe": "1d", "calendar": {"weekends": false}}),
    )
    .await;
    let kinds = |v: &[(usize, &str)]| -> Vec<(UnixNanos, String)> {
        v.iter().map(|(i, k)| (times[*i], k.to_string())).collect()
    };
    assert_eq!(
        found(&report.gaps),
        kinds(&[
            (20, "missing"),
            (21, "missing"),
            (22, "missing"),
            (70, "possible_holiday")
        ])
    );
    assert_eq!(report.possible_holidays, 1);
    assert_eq!(
        found(&report.outliers),
        kinds(&[(10, "return_outlier"), (60, "return_outlier")])
    );
    assert_eq!(
        found(&report.stale),
        kinds(&[
            (31, "repeated_prices"),
            (32, "repeated_prices"),
            (33, "repeated_prices")
        ])
    );
    assert_eq!(
        found(&report.ohlc),
        kinds(&[
            (36, "high_below_open_close"),
            (40, "low_above_open_close"),
            (44, "non_positive_price"),
            (48, "high_below_low")
        ])
    );
    assert_eq!(
        found(&report.volume),
        kinds(&[
            (90, "zero_volume"),
            (95, "negative_volume"),
            (100, "volume_outlier")
        ])
    );
    // 116 stored + 3 missing expected; 3 + 2 + 3 + 4 + 3 distinct defective times.
    assert_eq!((report.bars, report.expected), (116, 119));
    let want = ((100.0 * (1.0 - 15.0 / 119.0)) * 100.0f64).round() / 100.0;
    assert_eq!(report.score, want);
    assert_eq!(
        report.gaps.score,
        ((100.0 * (1.0 - 3.0 / 119.0)) * 100.0f64).round() / 100.0
    );

    // A listed holiday is not a gap; a range limits what is scored.
    let day70 = lone.to_rfc3339()[..10].to_string();
    let report = quality(
        &env,
        json!({"symbol": "BAD", "calendar": {"holidays": [day70]},
               "from": times[65].0, "to": times[80].0}),
    )
    .await;
    assert_eq!(report.gaps.count, 0);
    assert_eq!(report.bars, 15);

    // Bad requests answer errors.
    let reply = raw(
        &env.client,
        "md.quality.get",
        r#"{"symbol":"BAD","calendar":{"session":"9-5"}}"#,
    )
    .await;
    let body = expect_error(&reply, 400);
    assert!(
        body["message"].as_str().unwrap().contains("HH:MM"),
        "{body}"
    );
    let reply = raw(&env.client, "md.quality.get", r#"{"symbol":"NOPE"}"#).await;
    expect_error(&reply, 404);
}

/// NYSE was closed on these weekdays of 2012 (New Year observed, MLK,
/// Presidents, Good Friday, Memorial, Independence, Labor, Hurricane Sandy ×2,
/// Thanksgiving, Christmas): the exchange's published calendar, not this code.
const NYSE_2012: [&str; 11] = [
    "2012-01-02",
    "2012-01-16",
    "2012-02-20",
    "2012-04-06",
    "2012-05-28",
    "2012-07-04",
    "2012-09-03",
    "2012-10-29",
    "2012-10-30",
    "2012-11-22",
    "2012-12-25",
];

#[tokio::test]
async fn goog_gaps_are_the_exchange_holidays() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;
    let report: ImportReport = request(
        &env.client,
        "md.import",
        &ImportRequest {
            symbol: Symbol::new("GOOG").unwrap(),
            timeframe: Timeframe::DAY,
            mode: ImportMode::Strict,
            csv: Some(goog_csv()),
            path: None,
            calendar: None,
        },
        RequestOptions::timeout(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let summary = report.quality.expect("import reports its quality");

    // 2011-12-30 (a Friday, trading) to 2012-12-31 (a Monday, trading).
    let year = json!({"symbol": "GOOG", "from": "2011-12-30", "to": "2012-12-31"});
    let r = quality(&env, year.clone()).await;
    let gaps: BTreeMap<String, String> = r
        .gaps
        .bars
        .iter()
        .map(|f| (f.ts.to_rfc3339()[..10].to_string(), f.kind.clone()))
        .collect();
    let nyse: Vec<String> = NYSE_2012.iter().map(|s| s.to_string()).collect();
    assert_eq!(gaps.keys().cloned().collect::<Vec<_>>(), nyse);
    // Single closed days read as possible holidays; Sandy's two days as a gap.
    for (day, kind) in &gaps {
        let want = if day.starts_with("2012-10-") {
            "missing"
        } else {
            "possible_holiday"
        };
        assert_eq!(kind, want, "{day}");
    }
    assert_eq!((r.ohlc.count, r.stale.count), (0, 0));

    // With the holidays configured, 2012 has no gaps.
    let mut with_holidays = year.clone();
    with_holidays["calendar"] = json!({"holidays": NYSE_2012});
    let r = quality(&env, with_holidays).await;
    assert_eq!(r.gaps.count, 0);
    assert_eq!(r.expected, r.bars);

    // The whole file: 79 closed weekdays, 75 of them lone; two 2-day closures
    // (New Year 2007 + President Ford's funeral, Hurricane Sandy) read as gaps.
    let all = quality(&env, json!({"symbol": "GOOG"})).await;
    assert_eq!((all.gaps.count, all.possible_holidays), (79, 75));
    let runs: Vec<String> = all
        .gaps
        .bars
        .iter()
        .filter(|f| f.kind == "missing")
        .map(|f| f.ts.to_rfc3339()[..10].to_string())
        .collect();
    assert_eq!(
        runs,
        ["2007-01-01", "2007-01-02", "2012-10-29", "2012-10-30"]
    );
    assert_eq!(summary.gaps, 4);
    assert_eq!(summary.possible_holidays, 75);
    assert_eq!(summary.score, all.score);
    assert_eq!((all.ohlc.count, all.stale.count), (0, 0));
    // Real returns have fat tails: the outliers are earnings days and 2008,
    // each a log return beyond 10% (checked against the CSV's closes).
    let days: Vec<String> = all
        .outliers
        .bars
        .iter()
        .map(|f| f.ts.to_rfc3339()[..10].to_string())
        .collect();
    assert_eq!(
        days,
        [
            "2004-10-22",
            "2008-04-18",
            "2008-09-29",
            "2008-10-13",
            "2011-07-15"
        ]
    );
    for f in &all.outliers.bars {
        let r: f64 = f
            .detail
            .split("return ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(r.abs() > 0.10, "{f:?}");
    }
    eprintln!(
        "GOOG quality: score {} expected {} gaps {} (possible holidays {}) outliers {} {:?} volume {} {:?}",
        all.score,
        all.expected,
        all.gaps.count,
        all.possible_holidays,
        all.outliers.count,
        all.outliers.bars.iter().map(|f| f.ts.to_rfc3339()).collect::<Vec<_>>(),
        all.volume.count,
        all.volume.bars.iter().map(|f| (f.ts.to_rfc3339(), f.kind.clone())).collect::<Vec<_>>(),
    );
}
