//! `$SRV` discovery and scale-out: what `nats micro ls/info/stats` shows.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{raw, Env};

#[tokio::test]
async fn ping_and_info_describe_the_endpoints_with_schemas() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;

    let pong: serde_json::Value =
        serde_json::from_slice(&raw(&env.client, "$SRV.PING.market-data", "").await.payload)
            .unwrap();
    assert_eq!(pong["type"], "io.nats.micro.v1.ping_response");
    assert_eq!(pong["name"], "market-data");

    let info: serde_json::Value =
        serde_json::from_slice(&raw(&env.client, "$SRV.INFO.market-data", "").await.payload)
            .unwrap();
    assert_eq!(info["type"], "io.nats.micro.v1.info_response");
    assert!(!info["description"].as_str().unwrap().is_empty());
    let endpoints = info["endpoints"].as_array().unwrap();
    let subjects: BTreeSet<&str> = endpoints
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        BTreeSet::from([
            "md.bars.get",
            "md.import",
            "md.quality.get",
            "md.quote.get",
            "md.symbols.list"
        ])
    );
    for e in endpoints {
        assert_eq!(e["queue_group"], "q");
        let meta = &e["metadata"];
        for key in ["request_schema", "response_schema"] {
            let schema: serde_json::Value =
                serde_json::from_str(meta[key].as_str().unwrap()).unwrap();
            assert!(
                schema.get("$schema").is_some() || schema.get("type").is_some(),
                "{key} of {}",
                e["name"]
            );
        }
    }
    let bars = endpoints
        .iter()
        .find(|e| e["subject"] == "md.bars.get")
        .unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(bars["metadata"]["request_schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["required"], serde_json::json!(["symbol"]));
    assert_eq!(bars["metadata"]["formats"], "json,protobuf");
}

#[tokio::test]
async fn two_instances_share_the_queue_group_and_both_serve() {
    let env = Env::start().await;
    let a = env.market_data(market_data::Config::default()).await;
    let b = env.market_data(market_data::Config::default()).await;
    assert_eq!(env.count_instances().await, 2);

    for _ in 0..400 {
        raw(&env.client, "md.symbols.list", "").await;
    }
    // Each instance's $SRV.STATS shows it took part of the load.
    let inbox = env.client.new_inbox();
    let mut sub = env.client.subscribe(inbox.clone()).await.unwrap();
    env.client
        .publish_with_reply("$SRV.STATS.market-data", inbox, "".into())
        .await
        .unwrap();
    let mut per_instance = Vec::new();
    while let Ok(Some(msg)) = tokio::time::timeout(
        Duration::from_millis(500),
        futures::StreamExt::next(&mut sub),
    )
    .await
    {
        let stats: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
        let list = stats["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["subject"] == "md.symbols.list")
            .unwrap()["num_requests"]
            .as_u64()
            .unwrap();
        per_instance.push(list);
    }
    assert_eq!(per_instance.len(), 2);
    assert!(
        per_instance.iter().all(|n| *n > 0),
        "both instances served: {per_instance:?}"
    );
    assert!(per_instance.iter().sum::<u64>() >= 400);

    // Stopping one leaves the other serving.
    a.stop().await.unwrap();
    testkit::wait_until("one instance left", Duration::from_secs(10), || async {
        (env.count_instances().await == 1).then_some(())
    })
    .await;
    let reply = raw(&env.client, "md.symbols.list", "").await;
    assert!(reply.headers.is_none());
    b.stop().await.unwrap();
}
