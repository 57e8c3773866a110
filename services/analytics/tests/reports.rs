//! Reports of backtests, through market-data, backtest and analytics on a real server.

use std::time::Duration;

use bus::api::analytics::{Performance, Report};
use bus::api::backtest::{JobState, JobStatus, SweepAccepted};
use bus::{request, subjects, RequestOptions};
use testkit::Platform;

struct Env {
    _platform: Platform,
    client: async_nats::Client,
}

impl Env {
    async fn start() -> Env {
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |c, s| {
                market_data::run(market_data::Config::default(), c, s.wait())
            })
            .service(subjects::backtest::SERVICE, 1, |c, s| {
                backtest_service::run(backtest_service::Config::default(), c, s.wait())
            })
            .service(subjects::analytics::SERVICE, 1, |c, s| {
                analytics_service::run(analytics_service::Config::default(), c, s.wait())
            })
            .import_goog()
            .start()
            .await;
        Env {
            client: platform.client().clone(),
            _platform: platform,
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        subject: &str,
        body: serde_json::Value,
    ) -> Result<T, bus::ServiceError> {
        request(
            &self.client,
            subject,
            &body,
            RequestOptions::timeout(Duration::from_secs(60)),
        )
        .await
        .map_err(|e| e.service_error().cloned().unwrap_or_else(|| panic!("{e}")))
    }
}

fn sma_backtest() -> serde_json::Value {
    serde_json::json!({"backtest": {
        "strategy": {"kind": "sma_cross", "params": {"fast": 10, "slow": 20}},
        "data": {"symbol": "GOOG"}, "cash": 10000, "commission": "0.002"
    }})
}

#[tokio::test]
async fn html_report_is_self_contained_with_charts_stats_and_trades() {
    let env = Env::start().await;
    let report: Report = env
        .call(
            "analytics.report.get",
            serde_json::json!({"source": sma_backtest(), "format": "html", "title": "GOOG <SMA>"}),
        )
        .await
        .unwrap();
    let html = report.html.expect("html asked for");
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "price, equity and drawdown charts"
    );
    assert!(html.contains("<polyline"), "equity line");
    assert!(html.contains("<polygon"), "drawdown area");
    for external in ["<script", "<link", " src=", " href=", "@import", "url("] {
        assert!(
            !html.contains(external),
            "no external resources: found {external}"
        );
    }
    assert!(html.contains("GOOG &lt;SMA&gt;"), "title escaped");
    assert!(
        html.contains("<td>Return [%]</td><td>462.63519</td>"),
        "backtesting.py's return"
    );
    let trade_rows = html.matches("<tr><td>").count() - report.performance.stats.named().len();
    assert_eq!(trade_rows, report.backtest.trades.len());
    assert_eq!(report.backtest.trades.len(), 93);
}

#[tokio::test]
async fn the_page_marks_every_entry_and_exit_on_the_price_and_names_the_parameters() {
    let env = Env::start().await;
    // Only `fast` given: the title shows `slow` at its default too.
    let source = serde_json::json!({"backtest": {
        "strategy": {"kind": "ema_cross", "params": {"fast": 5}},
        "data": {"symbol": "GOOG", "to": 1_230_768_000_000_000_000i64}
    }});
    let report: Report = env
        .call(
            "analytics.report.get",
            serde_json::json!({"source": source, "format": "html"}),
        )
        .await
        .unwrap();
    assert_eq!(
        report.title,
        "Backtest: ema_cross fast=5 slow=26 on GOOG 1d"
    );
    let html = report.html.expect("html asked for");
    assert!(
        html.contains("<title>Backtest: ema_cross fast=5 slow=26 on GOOG 1d</title>"),
        "parameters in the page title"
    );
    let trades = &report.backtest.trades;
    assert!(trades.len() >= 5, "a few trades to mark: {}", trades.len());
    let price = html
        .split("<svg class=\"price\"")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .expect("a price chart");
    let longs = price.matches(r#"class="entry long""#).count();
    let shorts = price.matches(r#"class="entry short""#).count();
    assert_eq!(longs, trades.iter().filter(|t| t.size > 0).count());
    assert_eq!(shorts, trades.iter().filter(|t| t.size < 0).count());
    assert_eq!(price.matches(r#"class="exit""#).count(), trades.len());
    assert!(price.contains("<polyline"), "the close");
    // Each marker says which trade it is, at what price and when.
    for (i, t) in trades.iter().enumerate() {
        let day = |ts: model::UnixNanos| ts.to_rfc3339()[..10].to_string();
        let side = if t.size > 0 { "long" } else { "short" };
        let entry = format!(
            "#{} {side} entry {} @ {} on {}",
            i + 1,
            t.size.abs(),
            t.entry_price,
            day(t.entry_time)
        );
        let exit = format!("#{} exit @ {} on {}", i + 1, t.exit_price, day(t.exit_time));
        assert!(price.contains(&entry), "{entry}");
        assert!(price.contains(&exit), "{exit}");
    }
}

#[tokio::test]
async fn performance_compares_with_buy_and_hold() {
    let env = Env::start().await;
    let p: Performance = env
        .call(
            "analytics.performance.get",
            serde_json::json!({"source": sma_backtest()}),
        )
        .await
        .unwrap();
    let (r, b) = (p.stats.return_pct.unwrap(), p.buy_hold_return_pct.unwrap());
    assert!(
        (b - 607.3703606).abs() < 1e-6,
        "backtesting.py's buy & hold: {b}"
    );
    assert!((p.excess_return_pct.unwrap() - (r - b)).abs() < 1e-9);

    let e = env
        .call::<Performance>(
            "analytics.performance.get",
            serde_json::json!({"source": {"sweep_result": {"job_id": "nope", "index": 0}}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 404);
    let bad =
        serde_json::json!({"backtest": {"strategy": {"kind": "nope"}, "data": {"symbol": "GOOG"}}});
    let e = env
        .call::<Performance>(
            "analytics.performance.get",
            serde_json::json!({"source": bad}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn a_sweep_result_can_be_reported() {
    let env = Env::start().await;
    let accepted: SweepAccepted = env
        .call(
            "backtest.sweep.submit",
            serde_json::json!({"kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "return_pct",
                "search": {"grid": {"fast": [5, 10], "slow": [20, 30]}}}),
        )
        .await
        .unwrap();
    let status = testkit::wait_until("sweep done", Duration::from_secs(60), || async {
        let s: JobStatus = env
            .call(
                "backtest.job.get",
                serde_json::json!({"job_id": accepted.job_id}),
            )
            .await
            .ok()?;
        (s.state == JobState::Done).then_some(s)
    })
    .await;
    let best = &status.best[0];
    let report: Report = env
        .call(
            "analytics.report.get",
            serde_json::json!({"source": {"sweep_result": {"job_id": accepted.job_id, "index": best.index}}}),
        )
        .await
        .unwrap();
    assert!(report.html.is_none());
    assert_eq!(report.backtest.stats.trades, best.stats.trades);
    assert!((report.backtest.stats.return_pct.unwrap() - best.objective.unwrap()).abs() < 1e-9);
    assert!(report.title.contains(&accepted.job_id));
}
