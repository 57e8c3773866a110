//! risk against a real nats-server: accounts and positions come from events
//! published into ORDERS and PORTFOLIO, exactly as execution and portfolio
//! publish them.

use std::time::Duration;

use async_nats::jetstream;
use bus::api::portfolio::{PortfolioUpdate, Summary};
use bus::api::risk::{
    CheckResponse, LimitsResponse, RejectCode, StateRecord, StatusResponse, TradingState,
};
use bus::{events, request, subjects, RequestOptions};
use model::{Decimal, Side, Symbol, UnixNanos};
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::Platform;
use trading::event::{AccountOpened, Fill, OrderEvent};
use trading::OrderStatus;

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
}

/// A platform with `risk` instances of the risk service.
async fn env(risk: usize) -> Env {
    env_with(risk, risk_service::Config::default()).await
}

async fn env_with(risk: usize, config: risk_service::Config) -> Env {
    let platform = Platform::builder()
        .service(subjects::risk::SERVICE, risk, move |c, s| {
            risk_service::run(config.clone(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    Env {
        js: jetstream::new(client.clone()),
        client,
        platform,
    }
}

impl Env {
    async fn open(&self, account: &str) {
        let e = OrderEvent::AccountOpened(AccountOpened {
            account: account.to_string(),
            cash: dec!(100000),
        });
        events::publish_order_event(&self.js, &e, "t", "test")
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

    async fn check(&self, account: &str, side: &str, qty: u32) -> CheckResponse {
        request(
            &self.client,
            subjects::risk::CHECK,
            &json!({"account": account, "symbol": "GOOG", "side": side, "qty": qty, "price": "100"}),
            RequestOptions::default(),
        )
        .await
        .unwrap()
    }

    async fn set_limits(&self, account: &str, limits: serde_json::Value) -> LimitsResponse {
        request(
            &self.client,
            subjects::risk::LIMITS_SET,
            &json!({"account": account, "limits": limits}),
            RequestOptions::default(),
        )
        .await
        .unwrap()
    }

    async fn codes(&self, account: &str, side: &str, qty: u32) -> Vec<RejectCode> {
        let r = self.check(account, side, qty).await;
        assert_eq!(r.accepted, r.violations.is_empty());
        r.violations.iter().map(|v| v.code).collect()
    }

    async fn status(&self, account: &str) -> StatusResponse {
        request(
            &self.client,
            subjects::risk::STATUS,
            &json!({"account": account}),
            RequestOptions::default(),
        )
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn each_limit_rejects_with_its_code_and_changes_apply_to_the_next_order() {
    let env = env(1).await;
    env.open("acc").await;
    env.fill("acc", 1, Side::Buy, dec!(10), dec!(100)).await;
    // Account and position reach risk through ORDERS.
    testkit::wait_until("position seen", Duration::from_secs(5), || async {
        let s = env.status("acc").await;
        (s.view.positions.get(&Symbol::new("GOOG").unwrap()) == Some(&dec!(10))).then_some(())
    })
    .await;
    assert!(env.check("acc", "buy", 10).await.accepted);

    use RejectCode::*;
    let cases = [
        (json!({"max_order_qty": "5"}), MaxOrderQty),
        (json!({"max_order_notional": "999"}), MaxOrderNotional),
        (json!({"max_position": "15"}), MaxPosition),
        (json!({"max_gross_exposure": "1500"}), MaxGrossExposure),
        (json!({"allowed_symbols": ["MSFT"]}), SymbolNotAllowed),
        (json!({"max_open_orders": 0}), MaxOpenOrders),
        (json!({"max_orders_per_second": 0}), Throttled),
    ];
    for (limits, code) in cases {
        let set = env.set_limits("acc", limits.clone()).await;
        assert!(set.revision > 0);
        let r = env.check("acc", "buy", 10).await;
        assert!(!r.accepted, "{limits}");
        assert_eq!(r.violations[0].code, code, "{limits}");
        assert!(
            r.violations[0].limit_value.is_some() || code == SymbolNotAllowed,
            "{limits}"
        );
        assert!(!r.violations[0].message.is_empty());
    }
    // A live change applies to the very next order.
    env.set_limits("acc", json!({"max_order_qty": "5"})).await;
    assert_eq!(env.codes("acc", "buy", 10).await, vec![MaxOrderQty]);
    env.set_limits("acc", json!({"max_order_qty": "50"})).await;
    assert!(env.check("acc", "buy", 10).await.accepted);

    // Any KV client can change limits too; the watch applies them.
    let kv = env
        .js
        .get_key_value(subjects::buckets::RISK_LIMITS)
        .await
        .unwrap();
    kv.put(
        "acc",
        serde_json::to_vec(&json!({"max_order_qty": "1"}))
            .unwrap()
            .into(),
    )
    .await
    .unwrap();
    testkit::wait_until("KV change applied", Duration::from_secs(5), || async {
        (env.codes("acc", "buy", 10).await == vec![MaxOrderQty]).then_some(())
    })
    .await;

    // Rejections are RISK_ALERTs in ALERTS.
    let alerts = env.js.get_stream(subjects::streams::ALERTS).await.unwrap();
    testkit::wait_until("alerts stored", Duration::from_secs(5), || async {
        let msg = alerts
            .direct_get_last_for_subject("evt.alert.warning.risk")
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&msg.payload).ok()?;
        (v["type"] == "RISK_ALERT" && v["data"]["account"] == "acc").then_some(())
    })
    .await;
    // One per rejected check above (they are published without delaying the answer).
    testkit::wait_until(
        "every rejection alerted",
        Duration::from_secs(5),
        || async {
            let mut alerts = alerts.clone();
            (alerts.info().await.ok()?.state.messages >= 9).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn halted_rejects_all_and_reducing_lets_only_reducing_orders_through() {
    let env = env(1).await;
    env.open("acc").await;
    env.fill("acc", 1, Side::Buy, dec!(10), dec!(100)).await;
    testkit::wait_until("position seen", Duration::from_secs(5), || async {
        (!env.status("acc").await.view.positions.is_empty()).then_some(())
    })
    .await;

    let halted: StateRecord = request(
        &env.client,
        subjects::risk::HALT,
        &json!({"account": "acc", "reason": "operator"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(halted.state, TradingState::Halted);
    assert_eq!(env.codes("acc", "buy", 1).await, vec![RejectCode::Halted]);
    assert_eq!(env.codes("acc", "sell", 1).await, vec![RejectCode::Halted]);

    let _: StateRecord = request(
        &env.client,
        subjects::risk::REDUCE,
        &json!({"account": "acc"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        env.codes("acc", "buy", 1).await,
        vec![RejectCode::ReducingOnly]
    );
    assert!(
        env.check("acc", "sell", 5).await.accepted,
        "selling half a long reduces it"
    );
    assert_eq!(
        env.codes("acc", "sell", 11).await,
        vec![RejectCode::ReducingOnly],
        "selling more than the long flips it"
    );

    let _: StateRecord = request(
        &env.client,
        subjects::risk::RESUME,
        &json!({"account": "acc"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert!(env.check("acc", "buy", 1).await.accepted);

    let alerts = env.js.get_stream(subjects::streams::ALERTS).await.unwrap();
    testkit::wait_until("critical alert", Duration::from_secs(5), || async {
        alerts
            .direct_get_last_for_subject("evt.alert.critical.risk")
            .await
            .ok()
    })
    .await;
}

#[tokio::test]
async fn the_daily_loss_limit_halts_the_account() {
    let env = env(1).await;
    env.open("acc").await;
    env.set_limits("acc", json!({"daily_loss_limit": "500"}))
        .await;
    assert!(env.check("acc", "buy", 1).await.accepted);
    // What the portfolio service publishes after a losing mark.
    let summary = Summary {
        account: "acc".into(),
        deposits: dec!(100000),
        cash: dec!(99000),
        equity: dec!(99400),
        market_value: dec!(400),
        realized_pnl: Decimal::ZERO,
        unrealized_pnl: dec!(-600),
        commissions: Decimal::ZERO,
        gross_exposure: dec!(400),
        daily_pnl: dec!(-600),
        open_positions: 1,
        fills: 1,
        sequence: 2,
        market_ts: UnixNanos(1),
    };
    events::publish(
        &env.js,
        subjects::portfolio_update("acc"),
        "pf:acc:2:1",
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
    let status = testkit::wait_until("automatic halt", Duration::from_secs(5), || async {
        let s = env.status("acc").await;
        (s.state.state == TradingState::Halted).then_some(s)
    })
    .await;
    assert!(
        status.state.reason.contains("daily loss"),
        "{}",
        status.state.reason
    );
    assert_eq!(status.view.daily_pnl, dec!(-600));
    let r = env.check("acc", "buy", 1).await;
    assert_eq!(r.violations[0].code, RejectCode::Halted);
    assert!(r
        .violations
        .iter()
        .any(|v| v.code == RejectCode::DailyLossLimit));
}

#[tokio::test]
async fn bad_checks_get_clear_errors() {
    let env = env(1).await;
    env.open("acc").await;
    let cases = [
        (
            json!({"account": "nobody", "symbol": "GOOG", "side": "buy", "qty": "1", "price": "1"}),
            "404",
        ),
        (
            json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "0", "price": "1"}),
            "400",
        ),
        (
            json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "-3", "price": "1"}),
            "400",
        ),
        (
            json!({"account": "a.b", "symbol": "GOOG", "side": "buy", "qty": "1", "price": "1"}),
            "400",
        ),
        (
            json!({"account": "acc", "symbol": "GOOG", "side": "hold", "qty": "1"}),
            "400",
        ),
        (
            json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "1"}),
            "400",
        ),
    ];
    for (body, code) in cases {
        let reply = env
            .client
            .request(
                subjects::risk::CHECK,
                serde_json::to_vec(&body).unwrap().into(),
            )
            .await
            .unwrap();
        let headers = reply.headers.as_ref().expect("error headers");
        assert_eq!(
            headers.get("Nats-Service-Error-Code").unwrap().as_str(),
            code,
            "{body}"
        );
        let err: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert!(!err["message"].as_str().unwrap().is_empty(), "{body}");
    }
    let r: Result<LimitsResponse, _> = request(
        &env.client,
        subjects::risk::LIMITS_SET,
        &json!({"account": "acc", "limits": {"max_order_qty": "-1"}}),
        RequestOptions::default(),
    )
    .await;
    assert!(r.is_err());
    drop(env.platform);
}

#[tokio::test]
async fn a_second_risk_instance_serves_the_same_limits() {
    let env = env(2).await;
    env.open("acc").await;
    // Whichever instance served the set, both apply it (KV watch): twenty checks
    // in a row, spread over both by the queue group, all reject.
    env.set_limits("acc", json!({"max_order_qty": "5"})).await;
    testkit::wait_until(
        "limits on both instances",
        Duration::from_secs(5),
        || async {
            for _ in 0..20 {
                let r = env.check("acc", "buy", 10).await;
                if r.accepted {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    // And each answers for the account opened in ORDERS.
    let status = env.status("acc").await;
    assert!(status.known);
}

#[tokio::test]
async fn default_limits_follow_the_config_bucket_live_on_every_instance() {
    let config = risk_service::Config {
        config_profile: Some("t".to_string()),
        ..Default::default()
    };
    let env = env_with(2, config).await;
    env.open("acc").await;
    env.open("own").await;
    env.set_limits("own", json!({"max_order_qty": "1000"}))
        .await;
    testkit::wait_until("accounts seen", Duration::from_secs(10), || async {
        (env.status("acc").await.known && env.status("own").await.known).then_some(())
    })
    .await;
    assert!(env.check("acc", "buy", 50).await.accepted);

    let kv = env
        .js
        .get_key_value(subjects::buckets::CONFIG)
        .await
        .unwrap();
    kv.put("t.risk.max_order_qty", r#""20""#.into())
        .await
        .unwrap();
    // risk.limits.get shows the new defaults (both instances answer in turn).
    testkit::wait_until("new default limits", Duration::from_secs(10), || async {
        let mut seen = 0;
        for _ in 0..4 {
            let r: LimitsResponse = request(
                &env.client,
                subjects::risk::LIMITS_GET,
                &json!({"account": "acc"}),
                RequestOptions::default(),
            )
            .await
            .ok()?;
            seen += usize::from(r.limits.max_order_qty == Some(dec!(20)));
        }
        (seen == 4).then_some(())
    })
    .await;
    assert_eq!(
        env.codes("acc", "buy", 50).await,
        vec![RejectCode::MaxOrderQty]
    );
    assert!(env.check("acc", "buy", 20).await.accepted);
    // An account with limits of its own keeps them.
    assert!(env.check("own", "buy", 50).await.accepted);

    // Back to none once the key is gone.
    kv.delete("t.risk.max_order_qty").await.unwrap();
    testkit::wait_until(
        "defaults without the key",
        Duration::from_secs(10),
        || async { env.check("acc", "buy", 50).await.accepted.then_some(()) },
    )
    .await;
}
