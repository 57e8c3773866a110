//! Hostile numbers against a real risk service: every quantity or price that
//! is out of bounds, does not parse or would overflow gets a 4xx naming its
//! field, and the very next good check is accepted; a fill in ORDERS whose
//! position overflows is skipped without stopping the view.

use std::time::Duration;

use async_nats::jetstream;
use bus::api::risk::{CheckResponse, StatusResponse};
use bus::{events, request, subjects, RequestOptions};
use model::{Decimal, Side, Symbol, UnixNanos};
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use testkit::Platform;
use trading::event::{AccountOpened, Fill, OrderEvent};
use trading::OrderStatus;

struct Env {
    _platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
}

async fn env() -> Env {
    let platform = Platform::builder()
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    Env {
        js: jetstream::new(client.clone()),
        client,
        _platform: platform,
    }
}

impl Env {
    async fn publish(&self, event: OrderEvent) {
        events::publish_order_event(&self.js, &event, "t", "test")
            .await
            .unwrap();
    }

    async fn fill(&self, n: u32, side: Side, qty: Decimal) {
        let fill = Fill {
            fill_id: format!("acc.o{n}.1"),
            order_id: format!("acc.o{n}"),
            client_order_id: format!("o{n}"),
            account: "acc".into(),
            symbol: Symbol::new("GOOG").unwrap(),
            side,
            qty,
            price: dec!(1),
            commission: Decimal::ZERO,
            market_ts: UnixNanos(1),
            status: OrderStatus::Filled,
            cum_qty: qty,
            leaves_qty: Decimal::ZERO,
            strategy_id: None,
        };
        self.publish(OrderEvent::OrderFilled { fill }).await;
    }

    /// The raw reply: (error code or 0, body).
    async fn raw(&self, subject: &str, body: &Value) -> (u16, Value) {
        testkit::raw_request(&self.client, subject, body).await
    }

    async fn good_check(&self) -> CheckResponse {
        request(
            &self.client,
            subjects::risk::CHECK,
            &json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "10", "price": "100"}),
            RequestOptions::default(),
        )
        .await
        .unwrap()
    }

    async fn status(&self) -> StatusResponse {
        request(
            &self.client,
            subjects::risk::STATUS,
            &json!({"account": "acc"}),
            RequestOptions::default(),
        )
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn hostile_quantities_and_prices_get_a_4xx_naming_the_field_and_risk_keeps_deciding() {
    let env = env().await;
    env.publish(OrderEvent::AccountOpened(AccountOpened {
        account: "acc".into(),
        cash: dec!(100000),
    }))
    .await;
    testkit::wait_until("account known", Duration::from_secs(5), || async {
        env.status().await.known.then_some(())
    })
    .await;
    assert!(env.good_check().await.accepted);

    let base =
        json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "10", "price": "100"});
    let mut cases = Vec::new();
    for v in testkit::hostile_decimals() {
        for field in ["qty", "price"] {
            let mut body = base.clone();
            body[field] = v.clone();
            cases.push((body, field));
        }
    }
    // Both at 1e15: their product would overflow; qty is out of bounds first.
    let mut both = base.clone();
    both["qty"] = json!("1000000000000000");
    both["price"] = json!("1000000000000000");
    cases.push((both, "qty"));

    for (body, field) in cases {
        let (code, err) = env.raw(subjects::risk::CHECK, &body).await;
        assert!((400..500).contains(&code), "{body}: {code} {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(&format!("{field}:")), "{body}: {err}");
        // The same endpoint, right after: still deciding, still answering.
        assert!(env.good_check().await.accepted, "after {body}");
        assert!(env.status().await.known, "after {body}");
    }
    // Out-of-bounds values are 400 with a machine-readable code and field.
    let mut body = base.clone();
    body["qty"] = json!("0.0000000000000000000000000001");
    let (code, err) = env.raw(subjects::risk::CHECK, &body).await;
    assert_eq!(code, 400);
    assert_eq!(
        err["details"],
        json!({"code": "too_precise", "field": "qty"})
    );
}

#[tokio::test]
async fn a_fill_whose_position_overflows_is_skipped_and_later_fills_apply() {
    let env = env().await;
    env.publish(OrderEvent::AccountOpened(AccountOpened {
        account: "acc".into(),
        cash: dec!(100000),
    }))
    .await;
    let half = dec!(50_000_000_000_000_000_000_000_000_000);
    env.fill(1, Side::Buy, half).await;
    let goog = Symbol::new("GOOG").unwrap();
    testkit::wait_until("huge position seen", Duration::from_secs(5), || async {
        let s = env.status().await;
        (s.view.positions.get(&goog) == Some(&half)).then_some(())
    })
    .await;
    // A good order now: its exposure (5e28 × 100) does not fit: 422 naming
    // it, and nothing is reserved.
    let (code, err) = env
        .raw(
            subjects::risk::CHECK,
            &json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "10",
                "price": "100", "client_order_id": "r1"}),
        )
        .await;
    assert_eq!(code, 422, "{err}");
    assert_eq!(
        err["details"],
        json!({"code": "overflow", "field": "position × price"})
    );
    assert_eq!(env.status().await.view.open_orders, 0);
    // 5e28 + 5e28 does not fit in a decimal.
    env.fill(2, Side::Buy, half).await;
    env.fill(3, Side::Sell, half - dec!(10)).await;
    testkit::wait_until("later fills applied", Duration::from_secs(5), || async {
        let s = env.status().await;
        (s.view.positions.get(&goog) == Some(&dec!(10))).then_some(())
    })
    .await;
    assert!(env.good_check().await.accepted);
}
