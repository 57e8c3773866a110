//! `/ws`: filters, account scopes, and a stalled client that never reads
//! while another receives every event.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{ws_connect, ws_next, ws_subscribe, Services, Stack};
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn event(n: u64, pad: usize) -> bytes::Bytes {
    json!({"id": format!("e{n}"), "type": "TEST", "data": {"n": n, "pad": "x".repeat(pad)}})
        .to_string()
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_symbol_and_scopes_accounts() {
    let stack = Stack::start(Services::None, common::gateway_config()).await;
    let nats = stack.platform.client().clone();
    let viewer = stack.key("viewer", &[]).await;
    let scoped = stack.key("viewer", &["acct-a"]).await;

    // No credentials: refused before the upgrade.
    assert!(ws_connect(&stack.addr, "", None).await.is_err());

    let mut only_aaa = ws_connect(&stack.addr, "", Some(&viewer)).await.unwrap();
    ws_subscribe(&mut only_aaa, json!({"channel": "quotes", "symbol": "AAA"})).await;
    // Browsers pass the key in the query.
    let mut all = ws_connect(&stack.addr, &format!("?token={viewer}"), None)
        .await
        .unwrap();
    ws_subscribe(&mut all, json!({"channel": "quotes"})).await;
    // Or as a sub-protocol next to `trader`, which the server picks.
    let mut request = format!("ws://{}/ws", stack.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("trader, bearer.{viewer}").parse().unwrap(),
    );
    let tcp = tokio::net::TcpStream::connect(&stack.addr).await.unwrap();
    let (_by_protocol, response) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "trader");
    let mut mine = ws_connect(&stack.addr, "", Some(&scoped)).await.unwrap();
    ws_subscribe(&mut mine, json!({"channel": "orders"})).await;
    // Another account's filter is refused.
    common::ws_send(
        &mut mine,
        json!({"op": "subscribe", "channel": "orders", "account": "acct-b"}),
    )
    .await;
    let refused = ws_next(&mut mine).await;
    assert_eq!(refused["notice"], "error", "{refused}");

    for n in 0..20u64 {
        let symbol = if n % 2 == 0 { "AAA" } else { "BBB" };
        nats.publish(format!("md.tick.{symbol}"), event(n, 0))
            .await
            .unwrap();
        let account = if n % 2 == 0 { "acct-a" } else { "acct-b" };
        nats.publish(format!("evt.order.{account}.accepted"), event(n, 0))
            .await
            .unwrap();
        // Quotes are coalesced per symbol for a client that lags: pace them.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nats.flush().await.unwrap();

    let mut seen_all = Vec::new();
    while seen_all.len() < 20 {
        let m = ws_next(&mut all).await;
        assert_eq!(m["channel"], "quotes", "{m}");
        seen_all.push(m["data"]["data"]["n"].as_u64().unwrap());
    }
    assert_eq!(
        seen_all,
        (0..20).collect::<Vec<_>>(),
        "every quote, in order"
    );
    let mut seen_aaa = Vec::new();
    while seen_aaa.len() < 10 {
        seen_aaa.push(
            ws_next(&mut only_aaa).await["data"]["data"]["n"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(seen_aaa, (0..20).step_by(2).collect::<Vec<_>>(), "AAA only");
    let mut seen_mine = Vec::new();
    while seen_mine.len() < 10 {
        let m = ws_next(&mut mine).await;
        assert_eq!(m["channel"], "orders", "{m}");
        seen_mine.push(m["data"]["data"]["n"].as_u64().unwrap());
    }
    assert_eq!(
        seen_mine,
        (0..20).step_by(2).collect::<Vec<_>>(),
        "acct-a's orders only"
    );
    // Nothing else is pending for the filtered clients: a marker arrives next.
    nats.publish("md.tick.AAA", event(999, 0)).await.unwrap();
    assert_eq!(ws_next(&mut only_aaa).await["data"]["data"]["n"], 999);
    nats.publish("evt.order.acct-a.canceled", event(998, 0))
        .await
        .unwrap();
    assert_eq!(ws_next(&mut mine).await["data"]["data"]["n"], 998);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_does_not_slow_another() {
    let mut config = common::gateway_config();
    config.ws_queue = 256;
    let stack = Stack::start(Services::None, config).await;
    let nats = stack.platform.client().clone();
    let key = stack.key("viewer", &[]).await;

    // Subscribes, then never reads again.
    let mut stalled = ws_connect(&stack.addr, "", Some(&key)).await.unwrap();
    ws_subscribe(&mut stalled, json!({"channel": "bars"})).await;

    let mut healthy = ws_connect(&stack.addr, "", Some(&key)).await.unwrap();
    ws_subscribe(&mut healthy, json!({"channel": "bars", "symbol": "AAA"})).await;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let reader = tokio::spawn(async move {
        let mut expected = 0u64;
        while let Some(Ok(msg)) = healthy.next().await {
            if let Message::Text(t) = msg {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                assert!(
                    v.get("notice").is_none(),
                    "the healthy client lost events: {v}"
                );
                assert_eq!(v["data"]["data"]["n"], expected, "in order, none missing");
                expected += 1;
                counter.store(expected, Ordering::SeqCst);
            }
        }
    });

    // 8 MiB in total: far more than the stalled client's socket buffers and queue hold.
    let total = 8_000u64;
    let batch = 100u64;
    for start in (0..total).step_by(batch as usize) {
        for n in start..start + batch {
            nats.publish("md.bar.AAA.1m", event(n, 1000)).await.unwrap();
        }
        nats.flush().await.unwrap();
        let want = start + batch;
        testkit::wait_until(
            &format!("the healthy client at {want} events"),
            Duration::from_secs(60),
            || async { (received.load(Ordering::SeqCst) >= want).then_some(()) },
        )
        .await;
    }
    assert_eq!(received.load(Ordering::SeqCst), total);
    reader.abort();

    // The stalled client, reading at last: its queue overflowed and it is told how much.
    let mut dropped = 0;
    let mut events = 0;
    while dropped == 0 {
        let m = ws_next(&mut stalled).await;
        if m["notice"] == "dropped" {
            dropped = m["count"].as_u64().unwrap();
        } else {
            events += 1;
        }
    }
    assert!(
        dropped > 0 && events < total,
        "dropped {dropped}, delivered {events}"
    );
}
