//! compose.yml's cluster configs (`nats/cluster-docker/n1..n3.conf`, with the
//! users of `nats/auth/users.conf`) on three real nats-server processes, on
//! loopback ports instead of the containers' names: they form one JetStream
//! cluster, and risk, execution, market-data and portfolio, each logged in as
//! its own user with streams of 3 replicas, fill an order submitted by `client`.

mod auth_common;

use std::time::Duration;

use auth_common::{dev_env, options, Violations};
use bus::{request, subjects, RequestOptions};
use serde_json::{json, Value};
use testkit::{paths::repo_root, spawn_service, NatsServer, ServerOptions, ServiceHandle};
use trading::{Order, OrderStatus};

/// Free loopback ports (bound, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// The three nodes, started from their compose configs; routes, client and
/// monitoring ports moved to loopback (command-line flags win over the file).
async fn docker_cluster() -> Vec<NatsServer> {
    let routes = free_ports(3);
    let route_list = routes
        .iter()
        .map(|p| format!("nats://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut nodes = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let node = NatsServer::start_with(ServerOptions {
            config: Some(repo_root().join(format!("nats/cluster-docker/n{}.conf", i + 1))),
            monitor_port: Some(0),
            env: dev_env(),
            show_logs: std::env::var_os("NATS_LOGS").is_some(),
            extra_args: vec![
                "--cluster".into(),
                format!("nats://127.0.0.1:{route}"),
                "--routes".into(),
                route_list.clone(),
            ],
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("node n{}: {e}", i + 1));
        nodes.push(node);
    }
    nodes
}

fn run_as<F, Fut, E>(
    urls: &[String],
    user: &'static str,
    violations: &Violations,
    run: F,
) -> ServiceHandle<E>
where
    F: FnOnce(async_nats::Client, testkit::Shutdown) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let urls = urls.to_vec();
    let options = options(user, violations);
    spawn_service(move |shutdown| async move {
        let client = options
            .connect(urls)
            .await
            .unwrap_or_else(|e| panic!("{user} cannot log in: {e}"));
        run(client, shutdown).await
    })
}

async fn call(client: &async_nats::Client, subject: &str, body: Value) -> Option<Value> {
    request(
        client,
        subject,
        &body,
        RequestOptions::timeout(Duration::from_secs(10)),
    )
    .await
    .ok()
}

#[tokio::test]
async fn compose_cluster_configs_form_an_authenticated_r3_cluster_that_trades() {
    let nodes = docker_cluster().await;
    let urls: Vec<String> = nodes.iter().map(|n| n.url().to_string()).collect();
    let seen = Violations::default();
    let client = options("client", &seen)
        .connect(urls.clone())
        .await
        .unwrap();

    // JetStream is up once an R3 stream can be made: market-data provisions
    // MARKET and QUOTES with 3 replicas (retrying until the meta leader exists).
    let stream = bus::jetstream::StreamSettings {
        replicas: 3,
        ..Default::default()
    };
    let s = stream.clone();
    let _market_data = run_as(&urls, "market-data", &seen, move |c, sh| {
        let config = market_data::Config {
            stream: s,
            ..Default::default()
        };
        market_data::run(config, c, sh.wait())
    });
    let s = stream.clone();
    let _risk = run_as(&urls, "risk", &seen, move |c, sh| {
        let config = risk_service::Config {
            stream: s,
            ..Default::default()
        };
        risk_service::run(config, c, sh.wait())
    });
    let s = stream.clone();
    let _execution = run_as(&urls, "execution", &seen, move |c, sh| {
        let config = execution_service::Config {
            stream: s,
            lease_ttl: Duration::from_millis(1500),
            ..Default::default()
        };
        execution_service::run(config, c, sh.wait())
    });
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let s = stream.clone();
    let _portfolio = run_as(&urls, "portfolio", &seen, move |c, sh| {
        let mut config = portfolio_service::Config::new(dir);
        config.stream = s;
        portfolio_service::run(config, c, sh.wait())
    });
    for (subject, body) in [
        (subjects::md::SYMBOLS_LIST, ""),
        (subjects::risk::LIMITS_GET, r#"{"account":"x"}"#),
        (subjects::execution::LIST, "{}"),
        (subjects::portfolio::SUMMARY_GET, r#"{"account":"x"}"#),
    ] {
        testkit::wait_for_service_within(&client, subject, body, Duration::from_secs(60)).await;
    }

    let text = std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).unwrap();
    let csv: Vec<&str> = text.lines().take(31).collect();
    let report = call(
        &client,
        subjects::md::IMPORT,
        json!({"symbol": "GOOG", "csv": csv.join("\n") + "\n"}),
    )
    .await
    .expect("md.import");
    assert_eq!(report["published"], 30);
    call(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        json!({"account": "acc", "cash": "100000"}),
    )
    .await
    .expect("portfolio.account.open");
    let bars = testkit::paths::goog_bars();
    call(
        &client,
        subjects::execution::SUBMIT,
        json!({"client_order_id": "m1", "account": "acc", "symbol": "GOOG", "side": "buy",
               "type": "market", "qty": "5", "after_ts": bars[10].ts}),
    )
    .await
    .expect("orders.submit");
    let filled: Order = testkit::wait_until("order m1 filled", Duration::from_secs(30), || async {
        let o: Order = serde_json::from_value(
            call(
                &client,
                subjects::execution::GET,
                json!({"account": "acc", "client_order_id": "m1"}),
            )
            .await?,
        )
        .ok()?;
        (o.status == OrderStatus::Filled).then_some(o)
    })
    .await;
    assert_eq!(filled.avg_fill_price, bars[11].open);

    // ORDERS really has three replicas.
    let info = async_nats::jetstream::new(client.clone())
        .get_stream(subjects::streams::ORDERS)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .clone();
    assert_eq!(info.config.num_replicas, 3);
    let cluster = info.cluster.expect("cluster info");
    assert_eq!(cluster.replicas.len(), 2, "a leader and two followers");
    assert!(seen.all().is_empty(), "refused: {:?}", seen.all());
}
