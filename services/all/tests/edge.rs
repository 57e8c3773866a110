//! Edge store-and-forward on real servers: a hub (domain `hub`) and leaf nodes
//! with their own domains, linked through relays a test can cut.

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use bus::edge::{self, EdgeName};
use bus::jetstream::{ensure_stream, StreamSettings};
use bus::subjects::{self, edge::LINK_DENY, streams};
use testkit::leaf::{Hub, Leaf};

const HUB: &str = subjects::edge::HUB_DOMAIN;

async fn count(js: &jetstream::Context, name: &str) -> u64 {
    match js.get_stream(name).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

async fn wait_count(js: &jetstream::Context, name: &str, n: u64) {
    testkit::wait_until(
        &format!("{n} messages in {name}"),
        Duration::from_secs(60),
        || async { (count(js, name).await >= n).then_some(()) },
    )
    .await;
    assert_eq!(count(js, name).await, n, "{name} holds more than {n}");
}

/// Every `Nats-Msg-Id` in a stream, and how many messages it holds.
async fn msg_ids(js: &jetstream::Context, name: &str) -> (u64, BTreeSet<String>) {
    let mut stream = js.get_stream(name).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut ids = BTreeSet::new();
    let mut n = 0;
    for seq in 1..=last {
        let Ok(msg) = stream.get_raw_message(seq).await else {
            continue;
        };
        n += 1;
        let id = msg
            .headers
            .get(bus::headers::MSG_ID)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        ids.insert(id);
    }
    (n, ids)
}

async fn publish_order_event(js: &jetstream::Context, account: &str, id: &str) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(bus::headers::MSG_ID, id);
    js.publish_with_headers(
        subjects::order_event(account, "accepted"),
        headers,
        "{}".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

/// The problem and its fix, shown on the wire: a leaf that lets `evt.>` cross
/// has its events stored twice on the hub (the hub's own ORDERS catches them
/// through core interest, besides the sourced copy); with `LINK_DENY` on the
/// leaf connection only the sourced copy exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_events_reach_the_hub_only_through_sources() {
    let hub = Hub::start(HUB).await;
    let hub_js = jetstream::new(hub.server.client().await);
    let settings = StreamSettings::default();
    ensure_stream(&hub_js, bus::jetstream::orders_stream(&settings))
        .await
        .unwrap();
    let leaky = Leaf::start(&hub, "leaky", &[]).await;
    let safe = Leaf::start(&hub, "safe", &LINK_DENY).await;

    for leaf in [&leaky, &safe] {
        let client = leaf.server.client().await;
        leaf.wait_linked(HUB).await;
        let js = jetstream::new(client.clone());
        ensure_stream(&js, bus::jetstream::orders_stream(&settings))
            .await
            .unwrap();
        let name = EdgeName::new(&leaf.domain, HUB).unwrap();
        edge::provision_hub(&jetstream::with_domain(client, HUB), &name, &settings)
            .await
            .unwrap();
        publish_order_event(&js, &leaf.domain, &format!("ord:{}", leaf.domain)).await;
    }
    for leaf in [&leaky, &safe] {
        let copy = subjects::edge::hub_stream(&leaf.domain, streams::ORDERS);
        wait_count(&hub_js, &copy, 1).await;
    }
    // The leaky edge's event is also in the hub's own ORDERS; the safe one's is not.
    wait_count(&hub_js, streams::ORDERS, 1).await;
    let (_, ids) = msg_ids(&hub_js, streams::ORDERS).await;
    assert_eq!(ids, BTreeSet::from(["ord:leaky".to_string()]));
    // Each edge's streams stayed its own: JetStream API calls did not cross.
    for leaf in [&leaky, &safe] {
        let js = jetstream::new(leaf.server.client().await);
        assert_eq!(count(&js, streams::ORDERS).await, 1, "{}", leaf.domain);
    }
}

/// A hub stream per edge sources the edge's ORDERS; cut and restored, the copy
/// catches up with what the edge stored meanwhile, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_catches_up_after_the_link_returns() {
    let hub = Hub::start(HUB).await;
    let hub_js = jetstream::new(hub.server.client().await);
    let settings = StreamSettings::default();
    let leaf = Leaf::start(&hub, "edge-a", &LINK_DENY).await;
    let client = leaf.server.client().await;
    let js = jetstream::new(client.clone());
    ensure_stream(&js, bus::jetstream::orders_stream(&settings))
        .await
        .unwrap();
    leaf.wait_linked(HUB).await;
    let name = EdgeName::new("edge-a", HUB).unwrap();
    edge::provision_hub(&jetstream::with_domain(client, HUB), &name, &settings)
        .await
        .unwrap();
    let copy = name.hub_stream(streams::ORDERS);
    for i in 0..10 {
        publish_order_event(&js, "acc", &format!("ord:{i}")).await;
    }
    wait_count(&hub_js, &copy, 10).await;

    leaf.cut_link();
    for i in 10..200 {
        publish_order_event(&js, "acc", &format!("ord:{i}")).await;
    }
    assert!(count(&hub_js, &copy).await < 200);
    leaf.restore_link();
    wait_count(&hub_js, &copy, 200).await;
    let (n, ids) = msg_ids(&hub_js, &copy).await;
    assert_eq!((n, ids), msg_ids(&js, streams::ORDERS).await);
    let config = hub_js
        .get_stream(&copy)
        .await
        .unwrap()
        .cached_info()
        .config
        .clone();
    assert!(config.subjects.is_empty());
    let sources: Vec<stream::Source> = config.sources.unwrap();
    assert_eq!(sources[0].name, streams::ORDERS);
}
