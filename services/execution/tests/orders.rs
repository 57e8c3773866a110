//! The OMS and paper exchange against a real nats-server, market-data and risk.

mod common;

use std::time::Duration;

use common::{goog_bars, Env};
use model::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use trading::{OrderStatus, TimeInForce};

fn config() -> execution_service::Config {
    execution_service::Config {
        lease_ttl: Duration::from_millis(1500),
        ..Default::default()
    }
}

#[tokio::test]
async fn market_orders_fill_on_the_next_bar_and_limits_wait_for_their_price() {
    let env = Env::start().await;
    let bars = goog_bars();
    env.platform.import_goog(0..50).await;
    env.open_account("acc", dec!(100000)).await;
    let _execution = env.execution(config()).await;

    // A signal-style order on replayed history: fills at the open of the bar
    // after bars[20], not at the end of the data.
    let o = env
        .submit(
            json!({"client_order_id": "m1", "account": "acc", "symbol": "GOOG", "side": "buy",
            "type": "market", "qty": "10", "after_ts": bars[20].ts}),
        )
        .await
        .unwrap();
    assert_eq!(o.id, "acc.m1");
    assert!(
        matches!(o.status, OrderStatus::Accepted | OrderStatus::Filled),
        "{o:?}"
    );
    let done = env.wait_done("acc", "m1").await;
    assert_eq!(done.status, OrderStatus::Filled);
    assert_eq!(done.avg_fill_price, bars[21].open);
    assert_eq!(done.filled_qty, dec!(10));
    assert_eq!(done.last_fill_bar_ts, Some(bars[21].ts));

    // Live: orders placed now work after the newest bar (bars[49]).
    let m2 = env
        .submit(
            json!({"client_order_id": "m2", "account": "acc", "symbol": "GOOG", "side": "sell",
            "type": "market", "qty": "4"}),
        )
        .await
        .unwrap();
    assert_eq!(m2.status, OrderStatus::Accepted);
    assert_eq!(m2.after_ts, bars[49].ts);
    // A buy limit a little under the next bars' lows: the first bar whose low
    // reaches it fills, at the limit (or at the open on a gap down).
    let limit = bars[50..60].iter().map(|b| b.low).min().unwrap() + dec!(1);
    let l1 = env
        .submit(
            json!({"client_order_id": "l1", "account": "acc", "symbol": "GOOG", "side": "buy",
            "type": "limit", "qty": "3", "limit_price": limit}),
        )
        .await
        .unwrap();
    assert_eq!(l1.status, OrderStatus::Accepted);
    // A sell limit no bar reaches stays working.
    let far = env
        .submit(
            json!({"client_order_id": "far", "account": "acc", "symbol": "GOOG", "side": "sell",
            "type": "limit", "qty": "1", "limit_price": "100000", "tif": "GTC"}),
        )
        .await
        .unwrap();
    assert_eq!(far.tif, TimeInForce::Gtc);

    env.platform.import_goog(50..60).await;
    let m2 = env.wait_done("acc", "m2").await;
    assert_eq!(m2.avg_fill_price, bars[50].open);
    let l1 = env.wait_done("acc", "l1").await;
    let hit = bars[50..60].iter().find(|b| b.low <= limit).unwrap();
    let expected = if hit.open <= limit { hit.open } else { limit };
    assert_eq!(l1.avg_fill_price, expected);
    assert_eq!(l1.last_fill_bar_ts, Some(hit.ts));
    assert_eq!(
        env.get("acc", "far").await.unwrap().status,
        OrderStatus::Accepted
    );

    // Fills are events on evt.fill.<account>.<symbol>.
    assert_eq!(env.orders_count("evt.fill.acc.GOOG").await, 3);
    let open = env.list(json!({"account": "acc", "open": true})).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].client_order_id, "far");
}

#[tokio::test]
async fn one_hundred_concurrent_duplicates_make_one_order() {
    let env = Env::start().await;
    env.platform.import_goog(0..30).await;
    env.open_account("acc", dec!(100000)).await;
    let _e1 = env.execution(config()).await;
    let _e2 = env.execution(config()).await;
    // Both instances serve (queue group); give the second a moment to join.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let body = json!({"client_order_id": "dup", "account": "acc", "symbol": "GOOG", "side": "buy",
        "type": "market", "qty": "5", "after_ts": goog_bars()[10].ts});
    let replies = futures::future::join_all((0..100).map(|_| env.submit(body.clone()))).await;
    let orders: Vec<_> = replies
        .into_iter()
        .map(|r| r.expect("every duplicate is answered"))
        .collect();
    assert!(orders.iter().all(|o| o.id == "acc.dup"));
    let done = env.wait_done("acc", "dup").await;
    assert_eq!(done.filled_qty, dec!(5));
    assert_eq!(env.orders_count("evt.order.acc.accepted").await, 1);
    assert_eq!(
        env.orders_count("evt.fill.acc.>").await,
        1,
        "at most its own fills"
    );
    // The same client order id for a different order is a conflict.
    let mut other = body.clone();
    other["qty"] = json!("6");
    let err = env.submit(other).await.unwrap_err();
    assert_eq!(err.service_error().unwrap().code, 409);
}

#[tokio::test]
async fn bad_orders_get_clear_errors_and_nothing_is_written() {
    let env = Env::start().await;
    env.platform.import_goog(0..5).await;
    env.open_account("acc", dec!(1000)).await;
    let _execution = env.execution(config()).await;
    let before = env.orders_count(">").await;
    let base = json!({"client_order_id": "b1", "account": "acc", "symbol": "GOOG", "side": "buy",
        "type": "market", "qty": "1"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("qty", json!("0")), 400, "qty"),
        (with("qty", json!("-2")), 400, "qty"),
        (with("symbol", json!("NOPE")), 404, "unknown symbol"),
        (with("type", json!("limit")), 400, "limit_price"),
        (
            {
                let mut b = with("type", json!("stop_limit"));
                b["limit_price"] = json!("10");
                b
            },
            400,
            "stop_price",
        ),
        (with("account", json!("ghost")), 404, "unknown account"),
        (with("client_order_id", json!("")), 400, "client_order_id"),
        (with("tif", json!("FOREVER")), 400, "unknown variant"),
        // Numbers out of bounds, unparseable, or whose product would overflow.
        (
            with("qty", json!("79228162514264337593543950335")),
            400,
            "qty:",
        ),
        (with("qty", json!("1e30")), 400, "qty:"),
        (with("qty", json!("NaN")), 400, "qty:"),
        (
            with("qty", json!("0.0000000000000000000000000001")),
            400,
            "qty:",
        ),
        (
            {
                let mut b = with("type", json!("limit"));
                b["qty"] = json!("1000000000000000");
                b["limit_price"] = json!("1000000000000000");
                b
            },
            400,
            "qty:",
        ),
        (
            {
                let mut b = with("type", json!("limit"));
                b["limit_price"] = json!("1000000000000000");
                b
            },
            400,
            "limit_price:",
        ),
        (
            {
                let mut b = with("type", json!("stop"));
                b["stop_price"] = json!("Infinity");
                b
            },
            400,
            "stop_price:",
        ),
    ];
    for (body, code, words) in cases {
        let reply = env
            .client
            .request("orders.submit", serde_json::to_vec(&body).unwrap().into())
            .await
            .unwrap();
        let headers = reply
            .headers
            .as_ref()
            .unwrap_or_else(|| panic!("an error for {body}"));
        assert_eq!(
            headers.get("Nats-Service-Error-Code").unwrap().as_str(),
            code.to_string(),
            "{body}"
        );
        let err: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{body}: {err}"
        );
    }
    assert_eq!(env.orders_count(">").await, before, "nothing written");
}

#[tokio::test]
async fn risk_rejections_are_recorded_once_and_cancels_stop_working_orders() {
    let env = Env::start().await;
    env.platform.import_goog(0..5).await;
    env.open_account("acc", dec!(100000)).await;
    let _execution = env.execution(config()).await;
    let _: serde_json::Value = bus::request(
        &env.client,
        "risk.limits.set",
        &json!({"account": "acc", "limits": {"max_order_qty": "5"}}),
        bus::RequestOptions::default(),
    )
    .await
    .unwrap();
    let body = json!({"client_order_id": "big", "account": "acc", "symbol": "GOOG", "side": "buy",
        "type": "market", "qty": "10"});
    let o = env.submit(body.clone()).await.unwrap();
    assert_eq!(o.status, OrderStatus::Rejected);
    assert_eq!(o.violations[0].limit, "max_order_qty");
    let again = env.submit(body).await.unwrap();
    assert_eq!(
        again, o,
        "a resubmitted client order id returns the decision made"
    );
    assert_eq!(env.orders_count("evt.order.acc.rejected").await, 1);

    let l = env
        .submit(
            json!({"client_order_id": "low", "account": "acc", "symbol": "GOOG", "side": "buy",
            "type": "limit", "qty": "1", "limit_price": "1"}),
        )
        .await
        .unwrap();
    assert_eq!(l.status, OrderStatus::Accepted);
    let canceled: trading::Order = bus::request(
        &env.client,
        "orders.cancel",
        &json!({"account": "acc", "client_order_id": "low"}),
        bus::RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(canceled.status, OrderStatus::Canceled);
    let again: Result<trading::Order, _> = bus::request(
        &env.client,
        "orders.cancel",
        &json!({"account": "acc", "client_order_id": "low"}),
        bus::RequestOptions::default(),
    )
    .await;
    assert_eq!(again.unwrap_err().service_error().unwrap().code, 409);
    let missing: Result<trading::Order, _> = bus::request(
        &env.client,
        "orders.get",
        &json!({"account": "acc", "client_order_id": "nope"}),
        bus::RequestOptions::default(),
    )
    .await;
    assert_eq!(missing.unwrap_err().service_error().unwrap().code, 404);
}

#[tokio::test]
async fn a_restarted_execution_rebuilds_the_same_orders_and_finishes_working_ones() {
    let env = Env::start().await;
    let bars = goog_bars();
    env.platform.import_goog(0..40).await;
    env.open_account("acc", dec!(100000)).await;
    let execution = env.execution(config()).await;
    for i in 0..5 {
        env.submit(
            json!({"client_order_id": format!("h{i}"), "account": "acc", "symbol": "GOOG",
            "side": if i % 2 == 0 { "buy" } else { "sell" }, "type": "market", "qty": "2",
            "after_ts": bars[10 + i].ts}),
        )
        .await
        .unwrap();
    }
    for i in 0..5 {
        env.wait_done("acc", &format!("h{i}")).await;
    }
    // Working orders that fill only on bars to come.
    env.submit(
        json!({"client_order_id": "w1", "account": "acc", "symbol": "GOOG", "side": "buy",
        "type": "market", "qty": "1"}),
    )
    .await
    .unwrap();
    let before = env.list(json!({"account": "acc"})).await;
    assert_eq!(before.len(), 6);

    execution.abort();
    let _execution = env.execution(config()).await;
    let after = env.list(json!({"account": "acc"})).await;
    assert_eq!(after, before, "the OMS is rebuilt from ORDERS");

    env.platform.import_goog(40..42).await;
    let w1 = env.wait_done("acc", "w1").await;
    assert_eq!(w1.avg_fill_price, bars[40].open);
    assert_eq!(env.orders_count("evt.fill.acc.>").await, 6, "no fill twice");
    let _ = Decimal::ZERO;
}

#[tokio::test]
async fn the_paper_exchange_moves_to_another_instance_when_its_holder_dies() {
    let env = Env::start().await;
    let bars = goog_bars();
    env.platform.import_goog(0..20).await;
    env.open_account("acc", dec!(100000)).await;
    let first = env.execution(config()).await;
    let first_id = first.id();
    // The first instance takes the exchange lease (before the second exists).
    let holder_of_lease = || async {
        let leases = env
            .js
            .get_key_value(bus::subjects::buckets::EXECUTION_LEASES)
            .await
            .ok()?;
        let v = leases.get("lease.exchange").await.ok()??;
        Some(String::from_utf8(v.to_vec()).unwrap())
    };
    let holder =
        testkit::wait_until("exchange lease", Duration::from_secs(10), holder_of_lease).await;
    assert_eq!(holder, first_id);
    let _second = env.execution(config()).await;

    // A working order, then the holder crashes.
    env.submit(
        json!({"client_order_id": "w", "account": "acc", "symbol": "GOOG", "side": "buy",
        "type": "market", "qty": "3"}),
    )
    .await
    .unwrap();
    first.abort();
    env.platform.import_goog(20..22).await;
    // The other instance takes the lease within its time to live and fills it
    // on the bar after the order, not a later one.
    let w = env.wait_done("acc", "w").await;
    assert_eq!(w.status, OrderStatus::Filled);
    assert_eq!(w.avg_fill_price, bars[20].open);
    let holder = holder_of_lease().await.unwrap();
    assert_ne!(holder, first_id);
    assert_eq!(env.orders_count("evt.fill.acc.>").await, 1);
}

/// Submits a market order for 10 and feeds the next GOOG bar (`bar`) so it fills.
async fn fill_on_bar(env: &Env, coid: &str, bar: usize) -> trading::Order {
    env.submit(
        json!({"client_order_id": coid, "account": "acc", "symbol": "GOOG",
        "side": "buy", "type": "market", "qty": "10"}),
    )
    .await
    .unwrap();
    env.platform.import_goog(bar..bar + 1).await;
    env.wait_done("acc", coid).await
}

#[tokio::test]
async fn a_commission_change_in_the_config_bucket_applies_from_the_next_fill() {
    let env = Env::start().await;
    let bars = goog_bars();
    env.platform.import_goog(0..40).await;
    env.open_account("acc", dec!(1000000)).await;
    let _execution = env
        .execution(execution_service::Config {
            config_profile: Some("t".to_string()),
            ..config()
        })
        .await;

    let before = fill_on_bar(&env, "c0", 40).await;
    assert_eq!(before.status, OrderStatus::Filled);
    assert_eq!(before.avg_fill_price, bars[40].open);
    assert_eq!(before.commission, Decimal::ZERO);

    // Any KV client; no restart. The watch and the bars are separate streams,
    // so the first fill after the write is the one that sees it, give or take
    // the watch's delivery: each later fill is checked until one is charged.
    let js = async_nats::jetstream::new(env.client.clone());
    let kv = js
        .get_key_value(bus::subjects::buckets::CONFIG)
        .await
        .unwrap();
    kv.put("t.execution.commission_pct", r#""0.01""#.into())
        .await
        .unwrap();
    let mut charged = None;
    for (bar, next) in bars.iter().enumerate().take(48).skip(41) {
        let o = fill_on_bar(&env, &format!("c{bar}"), bar).await;
        assert_eq!(o.avg_fill_price, next.open);
        if o.commission > Decimal::ZERO {
            charged = Some((o, bar));
            break;
        }
    }
    let (o, bar) = charged.expect("a fill after the change is charged");
    // 1 % of 10 × the fill price, exactly.
    assert_eq!(o.commission, dec!(10) * bars[bar].open * dec!(0.01));

    // Deleting the key returns to the service's own commission (none).
    kv.delete("t.execution.commission_pct").await.unwrap();
    let mut free = false;
    for (later, next) in bars.iter().enumerate().take(bar + 8).skip(bar + 1) {
        let o = fill_on_bar(&env, &format!("d{later}"), later).await;
        if o.commission == Decimal::ZERO {
            free = true;
            break;
        }
        assert_eq!(o.commission, dec!(10) * next.open * dec!(0.01));
    }
    assert!(free, "commission back to zero after the key was deleted");
}
