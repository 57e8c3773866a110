//! Performance of a paper account from its history: PORTFOLIO_UPDATEs and fills
//! published as the portfolio and execution services publish them, market-data
//! for the benchmark bars, analytics on a real server.

use std::time::Duration;

use async_nats::jetstream;
use bus::api::analytics::{Performance, Report};
use bus::api::portfolio::{PortfolioUpdate, Summary};
use bus::{events, request, subjects, RequestOptions};
use model::{Decimal, Side, Symbol, UnixNanos};
use rust_decimal_macros::dec;
use testkit::Platform;
use trading::event::{Fill, OrderEvent};
use trading::OrderStatus;

fn to_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap()
}

#[tokio::test]
async fn a_paper_account_is_measured_against_buy_and_hold() {
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::analytics::SERVICE, 1, |c, s| {
            analytics_service::run(analytics_service::Config::default(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let settings = bus::jetstream::StreamSettings::default();
    bus::jetstream::ensure_stream(&js, bus::jetstream::orders_stream(&settings))
        .await
        .unwrap();
    bus::jetstream::ensure_stream(&js, bus::jetstream::portfolio_stream(&settings))
        .await
        .unwrap();

    let bars: Vec<_> = testkit::paths::goog_bars()[..60].to_vec();
    platform.import_goog(0..60).await;

    // Buy 10 at bar 10's open, sell 10 at bar 40's open; 1 commission each.
    let goog = Symbol::new("GOOG").unwrap();
    let fill = |n: u32, side: Side, bar: usize| Fill {
        fill_id: format!("acc.o{n}.1"),
        order_id: format!("acc.o{n}"),
        client_order_id: format!("o{n}"),
        account: "acc".into(),
        symbol: goog.clone(),
        side,
        qty: dec!(10),
        price: bars[bar].open,
        commission: dec!(1),
        market_ts: bars[bar].ts,
        status: OrderStatus::Filled,
        cum_qty: dec!(10),
        leaves_qty: Decimal::ZERO,
        strategy_id: None,
    };
    for f in [fill(1, Side::Buy, 10), fill(2, Side::Sell, 40)] {
        events::publish_order_event(&js, &OrderEvent::OrderFilled { fill: f }, "t", "test")
            .await
            .unwrap();
    }
    // The account marked at every close, computed here by hand.
    let cash0 = dec!(10000);
    let mut expected = Vec::new();
    for (i, bar) in bars.iter().enumerate() {
        let (cash, qty) = if i < 10 {
            (cash0, Decimal::ZERO)
        } else if i < 40 {
            (cash0 - dec!(10) * bars[10].open - dec!(1), dec!(10))
        } else {
            (
                cash0 - dec!(10) * bars[10].open - dec!(2) + dec!(10) * bars[40].open,
                Decimal::ZERO,
            )
        };
        let equity = cash + qty * bar.close;
        expected.push(equity);
        let summary = Summary {
            account: "acc".into(),
            deposits: cash0,
            cash,
            equity,
            market_value: qty * bar.close,
            realized_pnl: Decimal::ZERO,
            unrealized_pnl: Decimal::ZERO,
            commissions: Decimal::ZERO,
            gross_exposure: qty * bar.close,
            daily_pnl: Decimal::ZERO,
            open_positions: u32::from(!qty.is_zero()),
            fills: 0,
            sequence: i as u64,
            market_ts: bar.ts,
        };
        events::publish(
            &js,
            subjects::portfolio_update("acc"),
            &format!("pf:acc:{i}:{}", bar.ts.0),
            model::event::types::PORTFOLIO_UPDATE,
            "t",
            "test",
            &PortfolioUpdate {
                summary,
                positions: vec![],
            },
            None,
        )
        .await
        .unwrap();
    }

    let perf: Performance = request(
        &client,
        subjects::analytics::PERFORMANCE_GET,
        &serde_json::json!({"source": {"account": {"account": "acc"}}}),
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let s = &perf.stats;
    assert_eq!(s.start, bars[0].ts);
    assert_eq!(s.end, bars[59].ts);
    assert_eq!(s.equity_final, expected[59]);
    assert_eq!(s.equity_peak, *expected.iter().max().unwrap());
    let ret = (to_f64(expected[59]) / to_f64(cash0) - 1.0) * 100.0;
    assert!(
        (s.return_pct.unwrap() - ret).abs() < 1e-9,
        "{:?} vs {ret}",
        s.return_pct
    );
    let bh = (to_f64(bars[59].close) / to_f64(bars[0].close) - 1.0) * 100.0;
    assert!((s.buy_hold_return_pct.unwrap() - bh).abs() < 1e-9);
    assert!((perf.excess_return_pct.unwrap() - (ret - bh)).abs() < 1e-9);
    assert_eq!(s.trades, 1);
    let pnl = dec!(10) * (bars[40].open - bars[10].open) - dec!(2);
    let report: Report = request(&client, subjects::analytics::REPORT_GET,
        &serde_json::json!({"source": {"account": {"account": "acc", "benchmark": "GOOG", "timeframe": "1d"}}, "format": "html"}),
        RequestOptions::timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(report.backtest.trades[0].pnl, pnl);
    assert_eq!(report.backtest.equity.len(), 60);
    assert_eq!(report.title, "Account acc");
    let html = report.html.unwrap();
    assert!(html.contains("<svg") && html.contains("Account acc"));
    // The benchmark's price with the round trip: bought at bar 10, sold at bar 40.
    let day = |i: usize| bars[i].ts.to_rfc3339()[..10].to_string();
    assert!(html.contains(&format!(
        "#1 long entry 10 @ {} on {}",
        bars[10].open,
        day(10)
    )));
    assert!(html.contains(&format!("#1 exit @ {} on {}", bars[40].open, day(40))));

    // Unknown account: a clear error.
    let err = request::<_, Performance>(
        &client,
        subjects::analytics::PERFORMANCE_GET,
        &serde_json::json!({"source": {"account": {"account": "nobody"}}}),
        RequestOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.service_error().unwrap().code, 404);
    let _ = UnixNanos(0);
}
