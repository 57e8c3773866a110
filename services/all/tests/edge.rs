//! Edge store-and-forward on real servers: a hub (domain `hub`) and leaf nodes
//! with their own domains, linked through relays a test can cut.

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use bus::api::portfolio::Summary;
use bus::edge::{self, EdgeName};
use bus::jetstream::{ensure_stream, StreamSettings};
use bus::subjects::{self, edge::LINK_DENY, streams};
use bus::{request, RequestOptions};
use serde_json::json;
use testkit::leaf::{Hub, Leaf};
use testkit::{spawn_connected, ServiceHandle};
use trading::{Order, OrderStatus};

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

/// Every message of a stream by its `Nats-Msg-Id` (the body when it has
/// none), and how many messages it holds.
async fn msg_ids(js: &jetstream::Context, name: &str) -> (u64, BTreeSet<String>) {
    let Ok(mut stream) = js.get_stream(name).await else {
        return (0, BTreeSet::new());
    };
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
            .unwrap_or_else(|| String::from_utf8_lossy(&msg.payload).into_owned());
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

/// An edge box: a leaf server (domain = the edge's name) with market-data,
/// risk, execution and portfolio on it, GOOG bars imported, one account open,
/// the hub copies of its streams provisioned through the hub's domain, and
/// the query forwarder.
struct Edge {
    leaf: Leaf,
    name: EdgeName,
    account: String,
    client: async_nats::Client,
    js: jetstream::Context,
    bars: Vec<model::Bar>,
    _data: tempfile::TempDir,
    _md: ServiceHandle<market_data::Error>,
    _risk: ServiceHandle<risk_service::Error>,
    _execution: ServiceHandle<execution_service::Error>,
    _portfolio: ServiceHandle<portfolio_service::Error>,
    _queries: ServiceHandle<bus::BusError>,
}

impl Edge {
    async fn start(hub: &Hub, name: &str) -> Edge {
        let leaf = Leaf::start(hub, name, &LINK_DENY).await;
        let name = EdgeName::new(name, HUB).unwrap();
        let url = leaf.server.url().to_string();
        let data = tempfile::tempdir().unwrap();
        let md = spawn_connected(&url, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        });
        let risk = spawn_connected(&url, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        });
        let execution = spawn_connected(&url, |c, s| {
            execution_service::run(execution_service::Config::default(), c, s.wait())
        });
        let portfolio_config = portfolio_service::Config::new(data.path().to_path_buf());
        let portfolio = spawn_connected(&url, move |c, s| {
            portfolio_service::run(portfolio_config, c, s.wait())
        });
        let queries_name = name.clone();
        let queries = spawn_connected(&url, move |c, s| {
            edge::serve_queries(c, queries_name, s.wait())
        });
        let client = leaf.server.client().await;
        for (subject, body) in [
            (subjects::md::SYMBOLS_LIST, ""),
            (subjects::risk::LIMITS_GET, r#"{"account":"x"}"#),
            (subjects::execution::LIST, "{}"),
            (subjects::portfolio::SUMMARY_GET, r#"{"account":"x"}"#),
        ] {
            testkit::wait_for_service(&client, subject, body).await;
        }
        let edge = Edge {
            account: format!("acct-{name}"),
            leaf,
            name,
            js: jetstream::new(client.clone()),
            client,
            bars: testkit::paths::goog_bars(),
            _data: data,
            _md: md,
            _risk: risk,
            _execution: execution,
            _portfolio: portfolio,
            _queries: queries,
        };
        edge.import_goog(60).await;
        let _: serde_json::Value = edge
            .request(
                subjects::portfolio::ACCOUNT_OPEN,
                json!({"account": edge.account, "cash": "100000"}),
            )
            .await
            .unwrap();
        edge.leaf.wait_linked(HUB).await;
        let hub_js = jetstream::with_domain(edge.client.clone(), HUB);
        edge::provision_hub(&hub_js, &edge.name, &StreamSettings::default())
            .await
            .unwrap();
        edge
    }

    async fn request<T: serde::de::DeserializeOwned>(
        &self,
        subject: &str,
        body: serde_json::Value,
    ) -> Result<T, bus::RequestError> {
        request(
            &self.client,
            subject,
            &body,
            RequestOptions::timeout(Duration::from_secs(10)),
        )
        .await
    }

    async fn import_goog(&self, rows: usize) {
        let text = std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).unwrap();
        let body: Vec<&str> = text.lines().skip(1).take(rows).collect();
        let csv = format!("Date,Open,High,Low,Close,Volume\n{}\n", body.join("\n"));
        let report: serde_json::Value = self
            .request(subjects::md::IMPORT, json!({"symbol": "GOOG", "csv": csv}))
            .await
            .unwrap();
        assert_eq!(report["published"], rows as u64);
    }

    /// A market order on stored history (working after bar `i`), until filled.
    async fn trade(&self, coid: &str, side: &str, i: usize) -> Order {
        let order: Order = self
            .request(
                subjects::execution::SUBMIT,
                json!({"client_order_id": coid, "account": self.account, "symbol": "GOOG",
                       "side": side, "type": "market", "qty": "1", "after_ts": self.bars[i].ts}),
            )
            .await
            .unwrap();
        assert_ne!(order.status, OrderStatus::Rejected, "{order:?}");
        testkit::wait_until(
            &format!("{coid} filled"),
            Duration::from_secs(30),
            || async {
                let o: Order = self
                    .request(
                        subjects::execution::GET,
                        json!({"account": self.account, "client_order_id": coid}),
                    )
                    .await
                    .ok()?;
                (o.status == OrderStatus::Filled).then_some(o)
            },
        )
        .await
    }

    /// Waits until the hub's copy of each sourced stream holds exactly what
    /// the edge's stream holds: the same count, the same messages by
    /// `Nats-Msg-Id`, none twice.
    async fn wait_hub_caught_up(&self, hub_js: &jetstream::Context) {
        for stream in subjects::edge::SOURCED_STREAMS {
            let copy = self.name.hub_stream(stream);
            testkit::wait_until(
                &format!("{copy} equal to {}'s {stream}", self.name),
                Duration::from_secs(60),
                || async {
                    let here = msg_ids(&self.js, stream).await;
                    let there = msg_ids(hub_js, &copy).await;
                    (here == there).then_some(())
                },
            )
            .await;
            let (n, ids) = msg_ids(hub_js, &copy).await;
            assert_eq!(n, ids.len() as u64, "{copy}: a message stored twice");
            eprintln!("{copy}: {n} messages, equal to {}'s {stream}", self.name);
        }
    }
}

/// Two edges trade on their own; edge A's link is cut while it trades, and it
/// keeps accepting and filling orders; once the link is back the hub's copies
/// hold every edge A event exactly once, edge B's events are in edge B's hub
/// streams only, and the hub's own streams caught nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_trade_through_a_cut_link_and_the_hub_catches_up_exactly_once() {
    let hub = Hub::start(HUB).await;
    let hub_client = hub.server.client().await;
    let hub_js = jetstream::new(hub_client.clone());
    // The hub's own streams, as the hub's services would provision them.
    let settings = StreamSettings::default();
    for config in [
        bus::jetstream::orders_stream(&settings),
        bus::jetstream::signals_stream(&settings),
        bus::jetstream::portfolio_stream(&settings),
        bus::jetstream::alerts_stream(&settings),
        bus::jetstream::market_stream(&settings),
    ] {
        ensure_stream(&hub_js, config).await.unwrap();
    }
    let a = Edge::start(&hub, "edge-a").await;
    let b = Edge::start(&hub, "edge-b").await;

    for (edge, tag) in [(&a, "a"), (&b, "b")] {
        for i in 0..3 {
            let side = if i % 2 == 0 { "buy" } else { "sell" };
            edge.trade(&format!("{tag}-up-{i}"), side, 10 + i).await;
        }
    }
    a.wait_hub_caught_up(&hub_js).await;

    // Link down: edge A keeps trading (risk, execution, portfolio are local).
    a.leaf.cut_link();
    let hub_orders_a = a.name.hub_stream(streams::ORDERS);
    let before = count(&hub_js, &hub_orders_a).await;
    for i in 0..10 {
        let side = if i % 3 == 2 { "sell" } else { "buy" };
        let order = a.trade(&format!("a-down-{i}"), side, 20 + i).await;
        assert_eq!(order.avg_fill_price, a.bars[21 + i].open);
    }
    let _: serde_json::Value = a
        .request(
            subjects::risk::HALT,
            json!({"account": a.account, "reason": "link test"}),
        )
        .await
        .unwrap();
    let _: serde_json::Value = a
        .request(subjects::risk::RESUME, json!({"account": a.account}))
        .await
        .unwrap();
    // A strategy on edge A replays the stored bars into SIGNALS meanwhile.
    let _strategy = spawn_connected(a.leaf.server.url(), |c, s| {
        strategy_service::run(strategy_service::Config::default(), c, s.wait())
    });
    testkit::wait_for_service(&a.client, subjects::strategy::KINDS, "").await;
    let _: serde_json::Value = a
        .request(
            subjects::strategy::START,
            json!({"id": "edge-sma", "kind": "sma_cross", "params": {"fast": 2, "slow": 5},
                   "symbols": ["GOOG"], "timeframe": "1d"}),
        )
        .await
        .unwrap();
    testkit::wait_until(
        "edge A's strategy through the bars",
        Duration::from_secs(60),
        || async {
            let status: serde_json::Value = a
                .request(subjects::strategy::STATUS, json!({"id": "edge-sma"}))
                .await
                .ok()?;
            (status["pending_bars"] == 0 && status["signals"].as_u64()? > 0).then_some(())
        },
    )
    .await;
    for i in 0..3 {
        b.trade(&format!("b-during-{i}"), "buy", 30 + i).await;
    }
    // The hub saw none of edge A's new events, and cannot ask edge A anything.
    assert_eq!(count(&hub_js, &hub_orders_a).await, before);
    let edge_orders_a = count(&a.js, streams::ORDERS).await;
    assert!(edge_orders_a >= before + 20, "{edge_orders_a} vs {before}");
    let summary: Result<Summary, _> = request(
        &hub_client,
        &subjects::edge::query(a.name.as_str(), subjects::portfolio::SUMMARY_GET),
        &json!({"account": a.account}),
        RequestOptions::timeout(Duration::from_secs(1)),
    )
    .await;
    assert!(summary.is_err(), "{summary:?}");

    a.leaf.restore_link();
    a.leaf.wait_linked(HUB).await;
    a.wait_hub_caught_up(&hub_js).await;
    b.wait_hub_caught_up(&hub_js).await;

    // Edges apart: nothing of A's account in B's copies and the other way
    // round; the hub's own streams hold nothing (no double capture).
    for stream in subjects::edge::SOURCED_STREAMS {
        let (_, of_b) = msg_ids(&hub_js, &b.name.hub_stream(stream)).await;
        let (_, of_a) = msg_ids(&hub_js, &a.name.hub_stream(stream)).await;
        assert!(of_a.is_disjoint(&of_b), "{stream}");
        assert!(
            of_b.iter().all(|id| !id.contains(&a.account)),
            "{stream}: an edge A event in edge B's copy"
        );
        assert_eq!(count(&hub_js, stream).await, 0, "hub's own {stream}");
    }
    assert_eq!(count(&hub_js, streams::MARKET).await, 0);
    let (signals_a, _) = msg_ids(&hub_js, &a.name.hub_stream(streams::SIGNALS)).await;
    assert!(signals_a > 0, "edge A's signals on the hub");
    let (_, alerts_a) = msg_ids(&hub_js, &a.name.hub_stream(streams::ALERTS)).await;
    assert!(alerts_a.len() >= 2, "halt and resume alerts: {alerts_a:?}");

    // Across the link, a hub client reads edge A's account through the edge's
    // query subject (answered by edge A's portfolio); the plain service
    // subjects and anything but a query do not cross.
    let summary: Summary = request(
        &hub_client,
        &subjects::edge::query(a.name.as_str(), subjects::portfolio::SUMMARY_GET),
        &json!({"account": a.account}),
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(summary.fills, 13);
    let not_a_query: Result<serde_json::Value, _> = request(
        &hub_client,
        &subjects::edge::query(a.name.as_str(), subjects::execution::SUBMIT),
        &json!({}),
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await;
    assert!(
        matches!(&not_a_query, Err(bus::RequestError::Service(e)) if e.code == 404),
        "{not_a_query:?}"
    );
    let plain: Result<Summary, _> = request(
        &hub_client,
        subjects::portfolio::SUMMARY_GET,
        &json!({"account": a.account}),
        RequestOptions::timeout(Duration::from_secs(1)),
    )
    .await;
    assert!(plain.is_err(), "{plain:?}");
}

/// `nats/leaf/hub.conf` on free ports with a temp store: the hub of the README.
async fn start_shipped_hub(leaf_port: u16, store: &std::path::Path) -> testkit::NatsServer {
    let text = std::fs::read_to_string(testkit::paths::repo_root().join("nats/leaf/hub.conf"))
        .unwrap()
        .replace("127.0.0.1:7422", &format!("127.0.0.1:{leaf_port}"))
        .replace("http: 127.0.0.1:8222\n", "")
        .replace("store_dir: \"./data/hub\"\n", ""); // given as -sd (both is an error)
    let conf = store.join("hub.conf");
    std::fs::write(&conf, text).unwrap();
    testkit::NatsServer::start_with(testkit::ServerOptions {
        config: Some(conf),
        store_dir: Some(store.join("jetstream")),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn trader() -> tokio::process::Command {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
}

/// The README's edge section as processes: `trader run --edge edge-a --hub …`
/// starts and trades with the hub down; once the hub (`nats/leaf/hub.conf`)
/// is up, the edge provisions its hub streams and the hub's copy of ORDERS
/// equals the edge's; a hub client reads the edge's account through
/// `edge.edge-a.portfolio.summary.get`; SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trader_run_edge_trades_with_the_hub_down_and_its_events_reach_the_hub() {
    let data = tempfile::tempdir().unwrap();
    let hub_store = tempfile::tempdir().unwrap();
    let leaf_port = testkit::leaf::free_port();
    let (port, monitor) = (testkit::leaf::free_port(), testkit::leaf::free_port());
    let nats_bin = testkit::server::nats_server_bin().expect("nats-server installed");
    let hub_url = format!("nats-leaf://127.0.0.1:{leaf_port}");
    let mut child = trader()
        .args(["run", "--edge", "edge-a", "--hub", &hub_url])
        .args(["--nats-port", &port.to_string()])
        .args(["--monitor-port", &monitor.to_string()])
        .arg("--data-dir")
        .arg(data.path())
        .args(["--simulate", "EDGE-A"])
        .env("NATS_SERVER_BIN", &nats_bin)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let client = testkit::wait_until(
        "the edge's nats-server",
        Duration::from_secs(30),
        || async { async_nats::connect(&url).await.ok() },
    )
    .await;
    // (Orders are taken once the simulator has stored the symbol's first bar.)
    testkit::wait_until("a simulated bar", Duration::from_secs(30), || async {
        let reply = client
            .request(
                subjects::md::BARS_GET,
                r#"{"symbol":"EDGE-A","timeframe":"1s"}"#.into(),
            )
            .await
            .ok()?;
        reply.headers.is_none().then_some(())
    })
    .await;

    // The hub is down: the edge trades anyway.
    let paper_fills = || async {
        let s: Summary = request(
            &client,
            subjects::portfolio::SUMMARY_GET,
            &json!({"account": "paper"}),
            RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        .ok()?;
        (s.fills >= 1).then_some(s)
    };
    testkit::wait_until("the paper account", Duration::from_secs(30), || async {
        let s: Summary = request(
            &client,
            subjects::portfolio::SUMMARY_GET,
            &json!({"account": "paper"}),
            RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        .ok()?;
        Some(s)
    })
    .await;
    let out = trader()
        .args(["order", "--nats-url", &url])
        .args(["--symbol", "EDGE-A", "--side", "buy", "--qty", "1"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    testkit::wait_until("a fill on the edge", Duration::from_secs(30), paper_fills).await;

    // The hub comes up: provisioning succeeds on a retry and the sources copy
    // what the edge stored meanwhile.
    let hub = start_shipped_hub(leaf_port, hub_store.path()).await;
    let hub_client = hub.client().await;
    let hub_js = jetstream::new(hub_client.clone());
    let edge_js = jetstream::new(client.clone());
    let copy = subjects::edge::hub_stream("edge-a", streams::ORDERS);
    let (n, ids) = testkit::wait_until(
        "the hub's copy of edge-a's ORDERS",
        Duration::from_secs(60),
        || async {
            let here = msg_ids(&edge_js, streams::ORDERS).await;
            let there = msg_ids(&hub_js, &copy).await;
            (here.0 > 0 && here == there).then_some(there)
        },
    )
    .await;
    assert!(n >= 3, "account, order, fill: {ids:?}");
    assert!(
        ids.iter().any(|id| id.starts_with("fill:paper.")),
        "{ids:?}"
    );
    // The hub's copy of PORTFOLIO exists too (sourced like ORDERS).
    wait_count_at_least(
        &hub_js,
        &subjects::edge::hub_stream("edge-a", streams::PORTFOLIO),
        1,
    )
    .await;

    let summary: Summary = testkit::wait_until(
        "edge-a's account from the hub",
        Duration::from_secs(30),
        || async {
            request(
                &hub_client,
                &subjects::edge::query("edge-a", subjects::portfolio::SUMMARY_GET),
                &json!({"account": "paper"}),
                RequestOptions::timeout(Duration::from_secs(2)),
            )
            .await
            .ok()
        },
    )
    .await;
    assert!(summary.fills >= 1);

    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("trader stops within 30 s")
        .unwrap();
    assert!(status.success(), "clean exit, got {status}");
    assert!(data.path().join("nats/edge.conf").is_file());
}

async fn wait_count_at_least(js: &jetstream::Context, name: &str, n: u64) {
    testkit::wait_until(
        &format!("{n} messages in {name}"),
        Duration::from_secs(60),
        || async { (count(js, name).await >= n).then_some(()) },
    )
    .await;
}

/// The hub itself goes down (every link with it) and comes back on the same
/// ports and store: its source resumes, and the events the edge stored
/// meanwhile arrive once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_restart_resumes_the_sources() {
    let hub = Hub::start(HUB).await;
    let settings = StreamSettings::default();
    let leaf = Leaf::start(&hub, "edge-r", &LINK_DENY).await;
    let client = leaf.server.client().await;
    let js = jetstream::new(client.clone());
    ensure_stream(&js, bus::jetstream::orders_stream(&settings))
        .await
        .unwrap();
    leaf.wait_linked(HUB).await;
    let name = EdgeName::new("edge-r", HUB).unwrap();
    edge::provision_hub(&jetstream::with_domain(client, HUB), &name, &settings)
        .await
        .unwrap();
    let copy = name.hub_stream(streams::ORDERS);
    for i in 0..10 {
        publish_order_event(&js, "acc", &format!("ord:{i}")).await;
    }
    wait_count(&jetstream::new(hub.server.client().await), &copy, 10).await;

    let hub = hub
        .restart(async {
            for i in 10..110 {
                publish_order_event(&js, "acc", &format!("ord:{i}")).await;
            }
        })
        .await;
    let hub_js = jetstream::new(hub.server.client().await);
    leaf.wait_linked(HUB).await;
    testkit::wait_until(
        "the hub's copy after its restart",
        // nats-server retries a source 10 s × failed attempts later, at most 2 min.
        Duration::from_secs(150),
        || async {
            (msg_ids(&hub_js, &copy).await == msg_ids(&js, streams::ORDERS).await).then_some(())
        },
    )
    .await;
    assert_eq!(count(&hub_js, &copy).await, 110);
}
