//! The `trader` binary against a server with the auth config, credentials from
//! the environment (`NATS_USER`, `NATS_PASSWORD`) as in production: as user
//! `trader` every service runs and a paper order fills; with a wrong password
//! it stops at once with an error instead of retrying.

mod auth_common;

use std::process::Stdio;
use std::time::Duration;

use auth_common::{login, password, secure_server};
use serde_json::json;

fn trader_run(
    url: &str,
    data: &std::path::Path,
    user: &str,
    password: &str,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"));
    cmd.args(["run", "--nats-url", url, "--data-dir"])
        .arg(data)
        .args(["--simulate", "RUN-A", "--bar-seconds", "1"])
        .env("NATS_USER", user)
        .env("NATS_PASSWORD", password)
        .env_remove("NATS_PASSWORD_FILE")
        .env_remove("NATS_CREDS")
        .env_remove("NATS_NKEY_SEED_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn trader_runs_every_service_as_user_trader() {
    let server = secure_server().await;
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("trader.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let gateway_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = trader_run(server.url(), data.path(), "trader", &password("trader"))
        .args(["--gateway-addr", &format!("127.0.0.1:{gateway_port}")])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let (client, refused) = login(&server, "client").await;

    // Live bars from the simulator, a market order filled on the next one.
    testkit::wait_until("a RUN-A quote", Duration::from_secs(30), || async {
        let reply = client
            .request("md.quote.get", r#"{"symbol":"RUN-A"}"#.into())
            .await
            .ok()?;
        reply.headers.is_none().then_some(())
    })
    .await;
    let submit = json!({"client_order_id": "t1", "account": "paper", "symbol": "RUN-A",
                        "side": "buy", "type": "market", "qty": "3"});
    testkit::wait_until(
        "orders.submit accepted",
        Duration::from_secs(30),
        || async {
            let reply = client
                .request("orders.submit", submit.to_string().into())
                .await
                .ok()?;
            reply.headers.is_none().then_some(())
        },
    )
    .await;
    testkit::wait_until("order t1 filled", Duration::from_secs(30), || async {
        let reply = client
            .request(
                "orders.get",
                r#"{"account":"paper","client_order_id":"t1"}"#.into(),
            )
            .await
            .ok()?;
        let order: serde_json::Value = serde_json::from_slice(&reply.payload).ok()?;
        (order["status"] == "filled").then_some(())
    })
    .await;
    // Every micro service of the process answers the monitor's discovery
    // (one connection: 15 replies per $SRV request, all allowed).
    testkit::wait_until(
        "15 micro services in monitor.status",
        Duration::from_secs(30),
        || async {
            let reply = client.request("monitor.status", "".into()).await.ok()?;
            let status: serde_json::Value = serde_json::from_slice(&reply.payload).ok()?;
            (status["services"].as_array()?.len() == 15).then_some(())
        },
    )
    .await;
    // The gateway runs under the same user: its KV, its endpoints, and its
    // REST route's request to market-data.
    let key = testkit::wait_until(
        "the gateway's admin key",
        Duration::from_secs(30),
        || async { std::fs::read_to_string(data.path().join("gateway-admin.key")).ok() },
    )
    .await;
    let addr = format!("127.0.0.1:{gateway_port}");
    testkit::wait_until(
        "a quote through the gateway",
        Duration::from_secs(30),
        || async {
            let mut http = testkit::http::HttpClient::new(&addr).bearer(key.trim());
            let r = http.get("/api/v1/quotes/RUN-A").await.ok()?;
            (r.status == 200).then_some(())
        },
    )
    .await;
    assert!(refused.all().is_empty(), "{:?}", refused.all());
    assert!(child.try_wait().unwrap().is_none(), "trader run exited");
    // The process was refused nothing either (it logs every server error).
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("service started"), "{log}");
    assert!(!log.to_lowercase().contains("violation"), "{log}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_stops_trader_at_once() {
    let server = secure_server().await;
    let data = tempfile::tempdir().unwrap();
    let status = tokio::time::timeout(
        Duration::from_secs(20),
        trader_run(server.url(), data.path(), "trader", "not-the-password").status(),
    )
    .await
    .expect("trader gave up instead of retrying forever")
    .unwrap();
    assert!(!status.success());
}
