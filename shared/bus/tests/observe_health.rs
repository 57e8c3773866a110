//! `/health/ready` follows the process's services: 200 once the service is
//! set up and connected, 503 (with each service's state) while its
//! nats-server is down, 200 again once a server is back on the same port and
//! store; the reconnection is counted. `/health/live` stays 200 throughout.

mod common;

use std::time::Duration;

use testkit::{wait_until, NatsServer, ServerOptions};

async fn ready(addr: std::net::SocketAddr) -> (u16, serde_json::Value) {
    let (status, body) = bus::observe::get(&format!("http://{addr}/health/ready"))
        .await
        .unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

async fn wait_status(addr: std::net::SocketAddr, want: u16) -> serde_json::Value {
    wait_until(
        &format!("/health/ready {want}"),
        Duration::from_secs(30),
        || async move {
            let (status, body) = ready(addr).await;
            (status == want).then_some(body)
        },
    )
    .await
}

async fn live(addr: std::net::SocketAddr) -> u16 {
    bus::observe::get(&format!("http://{addr}/health/live"))
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn ready_follows_the_nats_connection() {
    let observe = bus::observe::serve("127.0.0.1:0").await.unwrap();
    let addr = observe.addr();
    // No service yet: live, not ready.
    assert_eq!(live(addr).await, 200);
    assert_eq!(ready(addr).await.0, 503);

    let store = tempfile::tempdir().unwrap();
    let port = testkit::leaf::free_port();
    let options = || ServerOptions {
        port: Some(port),
        store_dir: Some(store.path().to_path_buf()),
        ..Default::default()
    };
    let server = NatsServer::start_with(options()).await.unwrap();
    let client = bus::connect::connect(server.url(), "toy", None)
        .await
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(common::toy(client, async {
        let _ = stop_rx.await;
    }));

    let body = wait_status(addr, 200).await;
    assert_eq!(body["ready"], true);
    assert_eq!(
        body["services"],
        serde_json::json!([{"service": "toy", "ready": true, "connected": true}])
    );
    let reconnects = |s: &[common::Sample]| common::value(s, "trader_nats_reconnects_total", &[]);
    let before = reconnects(&common::scrape(addr).await);

    server.stop(Duration::from_secs(5)).await;
    let body = wait_status(addr, 503).await;
    assert_eq!(
        body["services"],
        serde_json::json!([{"service": "toy", "ready": false, "connected": false}])
    );
    assert_eq!(live(addr).await, 200, "live while NATS is down");
    let s = common::scrape(addr).await;
    assert_eq!(
        common::value(&s, "trader_nats_connected", &[("service", "toy")]),
        0.0
    );
    assert_eq!(
        common::value(&s, "trader_service_ready", &[("service", "toy")]),
        0.0
    );

    // The same port and store: the client reconnects by itself.
    let _server = wait_until(
        "the server back on its port",
        Duration::from_secs(20),
        || async { NatsServer::start_with(options()).await.ok() },
    )
    .await;
    let body = wait_status(addr, 200).await;
    assert_eq!(body["services"][0]["connected"], true);
    assert_eq!(reconnects(&common::scrape(addr).await), before + 1.0);

    let _ = stop_tx.send(());
    service.await.unwrap().unwrap();
    assert_eq!(ready(addr).await.0, 503, "no service left");
}
