//! Hostile numbers against the whole trading path on a real nats-server
//! (market-data, risk, execution, portfolio): requests with quantities or
//! prices that are out of bounds, do not parse or would overflow get a 4xx
//! naming the field, and the platform keeps trading right after each; events
//! whose numbers overflow (a fill into huge cash, a bar with absurd prices)
//! are skipped with state unchanged, and later events still apply.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use bus::api::portfolio::Summary;
use bus::api::risk::StatusResponse;
use bus::{events, request, subjects, RequestOptions};
use model::event::types;
use model::{Bar, Decimal, Event, Side, Symbol, UnixNanos};
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use testkit::{Instance, Platform};
use trading::event::{Fill, OrderEvent};
use trading::{Order, OrderStatus};

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
    data: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |c, s| {
                market_data::run(market_data::Config::default(), c, s.wait())
            })
            .service(subjects::risk::SERVICE, 1, |c, s| {
                risk_service::run(risk_service::Config::default(), c, s.wait())
            })
            .start()
            .await;
        let client = platform.client().clone();
        Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
            data: tempfile::tempdir().unwrap(),
        }
    }

    async fn execution(&self) -> Arc<Instance> {
        let config = execution_service::Config {
            lease_ttl: Duration::from_millis(1500),
            ..Default::default()
        };
        self.platform
            .add(subjects::execution::SERVICE, move |c, s| {
                execution_service::run(config.clone(), c, s.wait())
            })
            .await
    }

    async fn portfolio(&self) -> Arc<Instance> {
        let config = portfolio_service::Config::new(self.data.path().to_path_buf());
        self.platform
            .add(subjects::portfolio::SERVICE, move |c, s| {
                portfolio_service::run(config.clone(), c, s.wait())
            })
            .await
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, subject: &str, body: Value) -> T {
        request(
            &self.client,
            subject,
            &body,
            RequestOptions::timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap_or_else(|e| panic!("{subject} {body}: {e}"))
    }

    /// The raw reply: (error code or 0, body).
    async fn raw(&self, subject: &str, body: &Value) -> (u16, Value) {
        testkit::raw_request(&self.client, subject, body).await
    }

    async fn summary(&self, account: &str) -> Summary {
        self.call(
            subjects::portfolio::SUMMARY_GET,
            json!({ "account": account }),
        )
        .await
    }

    async fn get(&self, account: &str, coid: &str) -> Option<Order> {
        request(
            &self.client,
            subjects::execution::GET,
            &json!({"account": account, "client_order_id": coid}),
            RequestOptions::timeout(Duration::from_secs(3)),
        )
        .await
        .ok()
    }

    async fn wait_done(&self, account: &str, coid: &str) -> Order {
        testkit::wait_until(
            &format!("order {coid} done"),
            Duration::from_secs(20),
            || async {
                self.get(account, coid)
                    .await
                    .filter(|o| !o.status.is_open())
            },
        )
        .await
    }

    async fn wait_fills(&self, account: &str, fills: u64) -> Summary {
        testkit::wait_until(
            &format!("{fills} fills in the portfolio"),
            Duration::from_secs(10),
            || async {
                let s = self.summary(account).await;
                (s.fills == fills).then_some(s)
            },
        )
        .await
    }

    async fn fill(&self, account: &str, n: u32, qty: Decimal, price: Decimal, commission: Decimal) {
        let fill = Fill {
            fill_id: format!("{account}.o{n}.1"),
            order_id: format!("{account}.o{n}"),
            client_order_id: format!("o{n}"),
            account: account.into(),
            symbol: Symbol::new("GOOG").unwrap(),
            side: Side::Buy,
            qty,
            price,
            commission,
            market_ts: UnixNanos(1),
            status: OrderStatus::Filled,
            cum_qty: qty,
            leaves_qty: Decimal::ZERO,
            strategy_id: None,
        };
        events::publish_order_event(&self.js, &OrderEvent::OrderFilled { fill }, "t", "test")
            .await
            .unwrap();
    }

    /// A bar published into MARKET as market-data would.
    async fn publish_bar(&self, bar: Bar) {
        let msg_id = subjects::bar_msg_id(&bar.symbol, bar.timeframe, bar.ts);
        let subject = subjects::bar(&bar.symbol, bar.timeframe);
        let event = Event::new(
            msg_id.clone(),
            types::MARKET_DATA_UPDATE,
            "test",
            "test",
            bar,
        );
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        self.js
            .publish_with_headers(subject, headers, serde_json::to_vec(&event).unwrap().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn hostile_orders_get_a_4xx_naming_the_field_and_the_next_order_fills() {
    let env = Env::start().await;
    let bars = testkit::paths::goog_bars();
    let mut next_bar = 5;
    env.platform.import_goog(0..next_bar).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    let opened: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "1000000"}),
        )
        .await;
    assert_eq!(opened.cash, dec!(1000000));

    let market = json!({"client_order_id": "x", "account": "acc", "symbol": "GOOG",
        "side": "buy", "type": "market", "qty": "1"});
    let limit = json!({"client_order_id": "x", "account": "acc", "symbol": "GOOG",
        "side": "buy", "type": "limit", "qty": "1", "limit_price": "100"});
    let stop = json!({"client_order_id": "x", "account": "acc", "symbol": "GOOG",
        "side": "buy", "type": "stop", "qty": "1", "stop_price": "100"});
    let mut cases = Vec::new();
    for v in testkit::hostile_decimals() {
        for (base, field) in [
            (&market, "qty"),
            (&limit, "limit_price"),
            (&stop, "stop_price"),
        ] {
            let mut body = base.clone();
            body[field] = v.clone();
            cases.push((body, field));
        }
    }
    // qty × limit_price would overflow; qty is out of bounds first.
    let mut both = limit.clone();
    both["qty"] = json!("1000000000000000");
    both["limit_price"] = json!("1000000000000000");
    cases.push((both, "qty"));

    let mut good = 0u64;
    for (i, (body, field)) in cases.into_iter().enumerate() {
        let (code, err) = env.raw(subjects::execution::SUBMIT, &body).await;
        assert!((400..500).contains(&code), "{body}: {code} {err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{field}:")) || message.contains(&format!("{field} ")),
            "{body}: {err}"
        );
        // The same hostile numbers straight at risk.check.
        let risk_field = if field == "qty" { "qty" } else { "price" };
        let check = json!({"account": "acc", "symbol": "GOOG", "side": "buy",
            "qty": if field == "qty" { body["qty"].clone() } else { json!("1") },
            "price": if field == "qty" { json!("100") } else { body[field].clone() }});
        let (code, err) = env.raw(subjects::risk::CHECK, &check).await;
        assert!((400..500).contains(&code), "{check}: {code} {err}");
        assert!(
            err["message"].as_str().unwrap().contains(risk_field),
            "{check}: {err}"
        );

        // Every few hostile requests, a good order: accepted, filled on the
        // next bar, and risk and portfolio still answer.
        if i % 4 != 0 {
            continue;
        }
        let coid = format!("g{i}");
        let order: Order = env
            .call(
                subjects::execution::SUBMIT,
                json!({"client_order_id": coid, "account": "acc", "symbol": "GOOG",
                    "side": "buy", "type": "market", "qty": "1"}),
            )
            .await;
        assert_eq!(order.status, OrderStatus::Accepted, "after {body}");
        env.platform.import_goog(next_bar..next_bar + 1).await;
        let done = env.wait_done("acc", &coid).await;
        assert_eq!(done.status, OrderStatus::Filled, "after {body}");
        assert_eq!(done.avg_fill_price, bars[next_bar].open);
        next_bar += 1;
        good += 1;
        let status: StatusResponse = env
            .call(subjects::risk::STATUS, json!({"account": "acc"}))
            .await;
        assert!(status.known);
        let summary = env.wait_fills("acc", good).await;
        assert_eq!(summary.open_positions, 1, "after {body}: {summary:?}");
    }
    assert!(good >= 7);

    // An account cannot open with cash that does not parse or is beyond bounds.
    for cash in [
        json!("1e30"),
        json!("NaN"),
        json!("-1"),
        json!("79228162514264337593543950335"),
    ] {
        let (code, err) = env
            .raw(
                subjects::portfolio::ACCOUNT_OPEN,
                &json!({"account": "rich", "cash": cash}),
            )
            .await;
        assert_eq!(code, 400, "{cash}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains("cash"),
            "{cash}: {err}"
        );
    }
}

#[tokio::test]
async fn fills_and_bars_whose_numbers_overflow_are_skipped_and_later_ones_apply() {
    let env = Env::start().await;
    let bars = testkit::paths::goog_bars();
    env.platform.import_goog(0..5).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;

    // Huge cash, then fills whose value or commission overflows.
    let huge = dec!(1_000_000_000_000_000_000);
    let _: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "whale", "cash": huge}),
        )
        .await;
    let e15 = dec!(1_000_000_000_000_000);
    env.fill("whale", 1, e15, e15, Decimal::ZERO).await;
    env.fill("whale", 2, dec!(1), dec!(1), Decimal::MAX).await;
    // A good fill after them still applies, and only it.
    env.fill("whale", 3, dec!(10), dec!(100), dec!(1)).await;
    let s = env.wait_fills("whale", 1).await;
    assert_eq!(s.cash, huge - dec!(1001));
    assert_eq!(s.commissions, dec!(1));
    // The consumer is still going: one more.
    env.fill("whale", 4, dec!(5), dec!(100), dec!(0)).await;
    let s = env.wait_fills("whale", 2).await;
    assert_eq!(s.cash, huge - dec!(1501));

    // A bar with absurd prices: the paper exchange skips it for the working
    // order (its fill's value would overflow) and portfolio does not mark at
    // it; the next sane bar fills the order and marks the position.
    let _: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "1000000"}),
        )
        .await;
    let order: Order = env
        .call(
            subjects::execution::SUBMIT,
            json!({"client_order_id": "m1", "account": "acc", "symbol": "GOOG",
                "side": "buy", "type": "market", "qty": "10"}),
        )
        .await;
    assert_eq!(order.status, OrderStatus::Accepted);
    let absurd = Decimal::MAX / dec!(2);
    env.publish_bar(Bar {
        ts: UnixNanos(bars[4].ts.0 + 1),
        open: absurd,
        high: absurd,
        low: absurd,
        close: absurd,
        volume: Decimal::MAX,
        ..bars[4].clone()
    })
    .await;
    // While that bar is the newest, a market order has no usable price.
    let (code, err) = env
        .raw(
            subjects::execution::SUBMIT,
            &json!({"client_order_id": "m2", "account": "acc", "symbol": "GOOG",
                "side": "buy", "type": "market", "qty": "1"}),
        )
        .await;
    assert_eq!(code, 422, "{err}");
    assert_eq!(err["details"]["field"], "last_price", "{err}");
    env.platform.import_goog(5..6).await;
    let done = env.wait_done("acc", "m1").await;
    assert_eq!(done.status, OrderStatus::Filled);
    assert_eq!(done.avg_fill_price, bars[5].open);
    let s = env.wait_fills("acc", 1).await;
    assert_eq!(s.cash, dec!(1000000) - dec!(10) * bars[5].open);
    // The whale's position (GOOG) was not marked at the absurd close either.
    let w = env.summary("whale").await;
    assert!(w.market_value < dec!(1_000_000_000), "{w:?}");
    // After all that, risk still decides and answers.
    let status: StatusResponse = env
        .call(subjects::risk::STATUS, json!({"account": "acc"}))
        .await;
    assert!(status.known);
}
