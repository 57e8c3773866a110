//! Buying power on a real nats-server: a cash account buys only with its cash
//! (commission included) and never shorts; a margin account holds up to
//! leverage × equity. Cash and positions come from ORDERS events published as
//! execution publishes them; each check names the ORDERS sequence it must see.

use std::time::Duration;

use async_nats::jetstream;
use bus::api::risk::{CheckResponse, RejectCode};
use bus::{events, request, subjects, RequestOptions};
use model::{Decimal, Side, Symbol, UnixNanos};
use rust_decimal_macros::dec;
use serde_json::json;
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
    async fn open(&self, account: &str, buying_power: serde_json::Value) {
        let e = OrderEvent::AccountOpened(AccountOpened {
            account: account.to_string(),
            cash: dec!(10000),
        });
        events::publish_order_event(&self.js, &e, "t", "test")
            .await
            .unwrap();
        let _: serde_json::Value = request(
            &self.client,
            subjects::risk::LIMITS_SET,
            &json!({"account": account, "limits": {"buying_power": buying_power}}),
            RequestOptions::default(),
        )
        .await
        .unwrap();
    }

    async fn fill(&self, account: &str, n: u32, side: Side, qty: Decimal, price: Decimal) {
        let fill = Fill {
            fill_id: format!("{account}.o{n}.1"),
            order_id: format!("{account}.o{n}"),
            client_order_id: format!("o{n}"),
            account: account.to_string(),
            symbol: Symbol::new("GOOG").unwrap(),
            side,
            qty,
            price,
            commission: Decimal::ZERO,
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

    /// `risk.check` at 100, once risk has applied everything in ORDERS now.
    async fn check(&self, account: &str, side: &str, qty: u32, commission: &str) -> CheckResponse {
        let sequence = self
            .js
            .get_stream(subjects::streams::ORDERS)
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .state
            .last_sequence;
        request(
            &self.client,
            subjects::risk::CHECK,
            &json!({"account": account, "symbol": "GOOG", "side": side, "qty": qty,
                "price": "100", "commission_pct": commission, "orders_sequence": sequence}),
            RequestOptions::timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap()
    }
}

/// The one violation of a rejection: code, limit value, actual value.
fn rejected(r: &CheckResponse) -> (RejectCode, Option<Decimal>, Option<Decimal>) {
    assert!(!r.accepted, "{r:?}");
    assert_eq!(r.violations.len(), 1, "{r:?}");
    let v = &r.violations[0];
    assert!(!v.message.is_empty());
    (v.code, v.limit_value, v.actual)
}

#[tokio::test]
async fn a_cash_account_buys_with_its_cash_and_never_shorts() {
    let env = env().await;
    env.open("cash", json!({"type": "cash"})).await;
    // 100 × 100 is all the cash: passes; 0.1 % commission on top does not.
    assert!(env.check("cash", "buy", 100, "0").await.accepted);
    let r = env.check("cash", "buy", 100, "0.001").await;
    assert_eq!(
        rejected(&r),
        (
            RejectCode::InsufficientBuyingPower,
            Some(dec!(10000)),
            Some(dec!(10010))
        )
    );
    // After buying 50 at 100, 5,000 is left: 50 more pass, 51 do not.
    env.fill("cash", 1, Side::Buy, dec!(50), dec!(100)).await;
    assert!(env.check("cash", "buy", 50, "0").await.accepted);
    let r = env.check("cash", "buy", 51, "0").await;
    assert_eq!(
        rejected(&r),
        (
            RejectCode::InsufficientBuyingPower,
            Some(dec!(5000)),
            Some(dec!(5100))
        )
    );
    // Selling what it holds passes; one more would be a short.
    assert!(env.check("cash", "sell", 50, "0").await.accepted);
    let r = env.check("cash", "sell", 51, "0").await;
    assert_eq!(
        rejected(&r),
        (RejectCode::ShortNotAllowed, Some(dec!(50)), Some(dec!(51)))
    );
}

#[tokio::test]
async fn a_margin_account_with_leverage_2_holds_twice_its_equity_and_no_more() {
    let env = env().await;
    env.open(
        "m2",
        json!({"type": "margin", "leverage": "2", "maintenance_margin": "0.25"}),
    )
    .await;
    // Equity 10,000 × 2: 200 at 100 long or short, not 201.
    assert!(env.check("m2", "buy", 200, "0").await.accepted);
    assert!(env.check("m2", "sell", 200, "0").await.accepted);
    let r = env.check("m2", "buy", 201, "0").await;
    assert_eq!(
        rejected(&r),
        (
            RejectCode::InsufficientBuyingPower,
            Some(dec!(20000)),
            Some(dec!(20100))
        )
    );
    // Holding 200 (cash −10,000, equity 10,000): nothing more, but it may
    // reverse to 200 short.
    env.fill("m2", 1, Side::Buy, dec!(200), dec!(100)).await;
    let r = env.check("m2", "buy", 1, "0").await;
    assert_eq!(
        rejected(&r),
        (
            RejectCode::InsufficientBuyingPower,
            Some(dec!(20000)),
            Some(dec!(20100))
        )
    );
    assert!(env.check("m2", "sell", 400, "0").await.accepted);
    let r = env.check("m2", "sell", 401, "0").await;
    assert_eq!(rejected(&r).0, RejectCode::InsufficientBuyingPower);

    // A leverage below 1 is refused.
    let bad: Result<serde_json::Value, _> = request(
        &env.client,
        subjects::risk::LIMITS_SET,
        &json!({"account": "m2", "limits": {"buying_power": {"type": "margin", "leverage": "0.5"}}}),
        RequestOptions::default(),
    )
    .await;
    assert!(bad.unwrap_err().to_string().contains("leverage"));
}
