//! Every service on a 3-node cluster (R3 streams) started at the same moment
//! as the cluster, then a steady order flow while one node is stopped and
//! another killed with SIGKILL and restarted: every acknowledged order is in
//! ORDERS exactly once and in the OMS, requests resume, restarted nodes
//! catch up.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use bus::{subjects, RequestError, RequestOptions};
use futures::StreamExt;
use serde_json::json;
use testkit::{wait_until, Platform};
use tokio::sync::Mutex;
use trading::Order;

const ACCOUNT: &str = "cl";
const ORDERS: usize = 240;

fn stream3() -> bus::jetstream::StreamSettings {
    bus::jetstream::StreamSettings {
        replicas: 3,
        // Three test nodes on one disk: keep the reservations small.
        max_bytes: 256 * 1024 * 1024,
        ..Default::default()
    }
}

async fn platform(data: &std::path::Path) -> Platform {
    let data = data.to_path_buf();
    Platform::builder()
        .cluster(3)
        .racing_start()
        .service(subjects::md::SERVICE, 1, |c, s| {
            let config = market_data::Config {
                stream: stream3(),
                ..Default::default()
            };
            market_data::run(config, c, s.wait())
        })
        .service(subjects::risk::SERVICE, 2, |c, s| {
            let config = risk_service::Config {
                stream: stream3(),
                ..Default::default()
            };
            risk_service::run(config, c, s.wait())
        })
        .service(subjects::execution::SERVICE, 2, |c, s| {
            let config = execution_service::Config {
                stream: stream3(),
                ..Default::default()
            };
            execution_service::run(config, c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            let mut config = portfolio_service::Config::new(data.clone());
            config.stream = stream3();
            portfolio_service::run(config, c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            let config = strategy_service::Config {
                stream: stream3(),
                ..Default::default()
            };
            strategy_service::run(config, c, s.wait())
        })
        .service(subjects::backtest::SERVICE, 1, |c, s| {
            let config = backtest_service::Config {
                stream: stream3(),
                ..Default::default()
            };
            backtest_service::run(config, c, s.wait())
        })
        .service(subjects::analytics::SERVICE, 1, |c, s| {
            analytics_service::run(analytics_service::Config::default(), c, s.wait())
        })
        .start()
        .await
}

/// Submits order `n` until some instance answers (timeouts and 503s are
/// retried with the same client order id, which makes that safe).
async fn submit(client: &async_nats::Client, n: usize) -> (Order, u32) {
    let buy = n.is_multiple_of(2);
    let body = json!({
        "client_order_id": format!("o{n}"), "account": ACCOUNT, "symbol": "GOOG",
        "side": if buy { "buy" } else { "sell" }, "type": "limit",
        "limit_price": if buy { "1" } else { "100000" }, "qty": "1",
    });
    let mut retries = 0;
    loop {
        let answer = bus::request::<_, Order>(
            client,
            subjects::execution::SUBMIT,
            &body,
            RequestOptions::timeout(Duration::from_secs(4)),
        )
        .await;
        match answer {
            Ok(order) => return (order, retries),
            Err(RequestError::Service(e)) if e.code < 500 => {
                panic!("order {n} refused: {e:?}")
            }
            Err(e) => {
                retries += 1;
                assert!(retries < 60, "order {n} never went through: {e}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Every `Nats-Msg-Id` of the account's order decisions in ORDERS. Right
/// after a node restart the stream's leader may be moving: the whole read is
/// retried until it goes through.
async fn decisions(js: &jetstream::Context) -> Vec<String> {
    wait_until("ORDERS read", Duration::from_secs(60), || {
        read_decisions(js)
    })
    .await
}

async fn read_decisions(js: &jetstream::Context) -> Option<Vec<String>> {
    let stream = js.get_stream(subjects::streams::ORDERS).await.ok()?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: format!("evt.order.{ACCOUNT}.>"),
            ..Default::default()
        })
        .await
        .ok()?;
    let pending = consumer.cached_info().num_pending as usize;
    let mut messages = consumer.messages().await.ok()?;
    let mut ids = Vec::new();
    while ids.len() < pending {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .ok()??
            .ok()?;
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        ids.push(id);
    }
    Some(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_a_stopped_node_and_a_killed_one_on_a_3_node_cluster() {
    // The services' logs, when asked for (RUST_LOG=warn): what the faults did.
    if std::env::var_os("RUST_LOG").is_some() {
        bus::telemetry::init_tracing("warn");
    }
    let data = tempfile::tempdir().unwrap();
    let mut platform = platform(data.path()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    // Every stream the services made is R3.
    for name in [
        subjects::streams::ORDERS,
        subjects::streams::MARKET,
        subjects::streams::PORTFOLIO,
        subjects::streams::SIGNALS,
        subjects::streams::JOBS,
    ] {
        let mut stream = js.get_stream(name).await.unwrap();
        assert_eq!(
            stream.info().await.unwrap().config.num_replicas,
            3,
            "{name}"
        );
    }
    platform.import_goog(2000..2148).await;
    // Opening is idempotent: retried while a fresh R3 stream may still move.
    let opened: serde_json::Value =
        wait_until("the account opened", Duration::from_secs(60), || async {
            bus::request(
                &client,
                subjects::portfolio::ACCOUNT_OPEN,
                &json!({"account": ACCOUNT, "cash": "1000000"}),
                RequestOptions::timeout(Duration::from_secs(10)),
            )
            .await
            .map_err(|e| eprintln!("account open: {e}"))
            .ok()
        })
        .await;
    assert_eq!(opened["account"], ACCOUNT);

    // The order flow runs in the background; the test kills nodes meanwhile.
    let acked: Arc<Mutex<HashMap<usize, Order>>> = Arc::default();
    let retried = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let flow = {
        let (client, acked, retried) = (client.clone(), acked.clone(), retried.clone());
        tokio::spawn(async move {
            for n in 0..ORDERS {
                let (order, retries) = submit(&client, n).await;
                retried.fetch_add(retries, std::sync::atomic::Ordering::Relaxed);
                acked.lock().await.insert(n, order);
            }
        })
    };
    let reached = |count: usize| {
        let acked = acked.clone();
        async move {
            wait_until(
                &format!("{count} acknowledged orders"),
                Duration::from_secs(120),
                || async { (acked.lock().await.len() >= count).then_some(()) },
            )
            .await
        }
    };

    reached(40).await;
    platform.cluster().stop_node(0).await;
    reached(90).await;
    platform.cluster().restart_node(0).await;
    reached(130).await;
    platform.cluster().kill_node(1).await;
    reached(180).await;
    platform.cluster().restart_node(1).await;
    tokio::time::timeout(Duration::from_secs(180), flow)
        .await
        .expect("the order flow finished")
        .unwrap();

    let acked = acked.lock().await.clone();
    assert_eq!(acked.len(), ORDERS);
    // In ORDERS once each: one decision per order, no duplicates.
    let ids = decisions(&js).await;
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a decision stored twice");
    for (n, order) in &acked {
        assert!(
            unique.contains(&subjects::msg_id::order_decision(&order.id)),
            "order {n} acknowledged but not in ORDERS"
        );
    }
    assert_eq!(ids.len(), ORDERS, "decisions in ORDERS");
    // In the OMS of whichever instance answers, as acknowledged.
    for (n, order) in &acked {
        let now: Order = wait_until(
            &format!("orders.get o{n}"),
            Duration::from_secs(30),
            || async {
                bus::request::<_, Order>(
                    &client,
                    subjects::execution::GET,
                    &json!({"account": ACCOUNT, "client_order_id": format!("o{n}")}),
                    RequestOptions::timeout(Duration::from_secs(5)),
                )
                .await
                .ok()
            },
        )
        .await;
        assert_eq!(now.id, order.id);
        assert_eq!(now.status, order.status, "o{n}");
    }
    // Both restarted nodes hold ORDERS up to the same last sequence.
    let last = wait_until("ORDERS info", Duration::from_secs(60), || async {
        let mut orders = js.get_stream(subjects::streams::ORDERS).await.ok()?;
        Some(orders.info().await.ok()?.state.last_sequence)
    })
    .await;
    let cluster: &testkit::NatsCluster = platform.cluster();
    for node in [0, 1] {
        wait_until(
            &format!("node {node} caught up on ORDERS"),
            Duration::from_secs(60),
            || async {
                let state = cluster.stream_state(node, "ORDERS").await?;
                (state["last_seq"].as_u64()? >= last).then_some(())
            },
        )
        .await;
    }
    eprintln!(
        "cluster faults: {ORDERS} orders acknowledged, {} retries, ORDERS last sequence {last}",
        retried.load(std::sync::atomic::Ordering::Relaxed)
    );
}
