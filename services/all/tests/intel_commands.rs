//! `trader run` with the sentiment and orchestrator services, and the
//! README's client commands for them, exactly as written there:
//! `trader news import testdata/news.jsonl`, `trader sentiment "…"`,
//! `trader predict GOOG`.

use std::process::Stdio;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn trader(url: &str, args: &[&str]) -> serde_json::Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(args)
        .env("NATS_URL", url)
        .current_dir(testkit::paths::repo_root())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "trader {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("trader {args:?}: {e}: {text}"))
}

#[tokio::test]
async fn news_sentiment_and_predict_commands() {
    let data = tempfile::tempdir().unwrap();
    let (port, monitor, metrics) = (free_port(), free_port(), free_port());
    let nats_bin = testkit::server::nats_server_bin().expect("nats-server installed");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["run", "--no-simulator", "--data-dir"])
        .arg(data.path())
        .args(["--nats-port", &port.to_string()])
        .args(["--monitor-port", &monitor.to_string()])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics}")])
        .args([
            "--services",
            "market-data,strategy,risk,portfolio,sentiment,orchestrator",
        ])
        .env("NATS_SERVER_BIN", nats_bin)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let client = testkit::wait_until(
        "the embedded nats-server",
        Duration::from_secs(30),
        || async { async_nats::connect(&url).await.ok() },
    )
    .await;
    for subject in ["md.symbols.list", "orchestrator.status"] {
        testkit::wait_for_service_within(&client, subject, "{}", Duration::from_secs(60)).await;
    }
    testkit::wait_for_service_within(
        &client,
        "sentiment.score",
        r#"{"text":"x"}"#,
        Duration::from_secs(60),
    )
    .await;

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["import", "--symbol", "GOOG", "testdata/GOOG.csv"])
        .env("NATS_URL", &url)
        .current_dir(testkit::paths::repo_root())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report = trader(&url, &["news", "import", "testdata/news.jsonl"]).await;
    assert_eq!(report["published"], 3, "{report}");
    let again = trader(&url, &["news", "import", "testdata/news.jsonl"]).await;
    assert_eq!(again["duplicates"], 3, "{again}");

    let s = trader(
        &url,
        &["sentiment", "Acme beats estimates but guidance cut"],
    )
    .await;
    assert_eq!(s["label"], "negative", "{s}");
    assert_eq!(s["cached"], false);
    let s = trader(
        &url,
        &["sentiment", "Acme beats estimates but guidance cut"],
    )
    .await;
    assert_eq!(s["cached"], true);

    let p = trader(&url, &["predict", "GOOG"]).await;
    assert_eq!(p["symbol"], "GOOG");
    // No regime service runs here: the answer is partial and says so.
    assert_eq!(p["missing"], serde_json::json!(["regime"]), "{p}");
    assert!(["buy", "sell", "hold"].contains(&p["decision"]["action"].as_str().unwrap()));

    // The README's `nats req` lines, with the same bodies.
    let req = |subject: &'static str, body: &'static str| {
        let client = client.clone();
        async move {
            let reply = client
                .request(subject, body.into())
                .await
                .unwrap_or_else(|e| panic!("{subject}: {e}"));
            assert!(reply
                .headers
                .is_none_or(|h| h.get("Nats-Service-Error-Code").is_none()));
            serde_json::from_slice::<serde_json::Value>(&reply.payload).unwrap()
        }
    };
    let acme = req(
        "sentiment.symbol.get",
        r#"{"symbol":"ACME","window_secs":86400,"half_life_secs":21600,"at":"2026-01-06T02:00:00Z"}"#,
    )
    .await;
    assert_eq!(acme["count"], 2, "{acme}");
    let p = req(
        "orchestrator.predict",
        r#"{"symbol":"GOOG","account":"paper","ensemble":[{"kind":"sma_cross","weight":2},{"kind":"rsi_reversion"}]}"#,
    )
    .await;
    assert_eq!(p["missing"], serde_json::json!(["regime"]), "{p}");
    let status = req("orchestrator.status", "{}").await;
    assert_eq!(status["accounts"][0]["account"], "paper", "{status}");
    assert!(
        status["services"].as_array().unwrap().len() >= 6,
        "{status}"
    );

    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("trader run stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}
