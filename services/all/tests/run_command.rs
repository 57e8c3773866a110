//! `trader run` end to end: embedded nats-server, services, simulator, clean
//! stop; spans exported over OTLP to a local collector stand-in.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a collector received: (path, JSON body) of each POST.
type Posts = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A local OTLP/HTTP receiver: answers 200 and keeps every POST.
fn otlp_receiver() -> (String, Posts) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let posts = Arc::new(Mutex::new(Vec::new()));
    let kept = posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut request_line, mut length) = (String::new(), 0usize);
            reader.read_line(&mut request_line).ok();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_ok() {
                let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
                let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                kept.lock().unwrap().push((path, json));
            }
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (endpoint, posts)
}

/// Trace id → the services (`service.name`) that exported spans of it.
fn services_per_trace(
    posts: &[(String, serde_json::Value)],
) -> std::collections::HashMap<String, std::collections::BTreeSet<String>> {
    let mut traces: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (_, json) in posts {
        for resource in json["resourceSpans"].as_array().into_iter().flatten() {
            let service = resource["resource"]["attributes"][0]["value"]["stringValue"]
                .as_str()
                .unwrap_or("")
                .to_string();
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let trace = span["traceId"].as_str().unwrap_or("").to_string();
                    traces.entry(trace).or_default().insert(service.clone());
                }
            }
        }
    }
    traces
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of `name{labels}` in Prometheus text (labels as the bus
/// registers them: service, endpoint, code).
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let series = if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{labels}}}")
    };
    text.lines()
        .find_map(|line| line.strip_prefix(&series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn run_starts_everything_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let (port, monitor, metrics, gateway) = (free_port(), free_port(), free_port(), free_port());
    let nats_bin = testkit::server::nats_server_bin().expect("nats-server installed");
    let (otlp, posts) = otlp_receiver();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["run", "--data-dir"])
        .arg(data.path())
        .args([
            "--nats-port",
            &port.to_string(),
            "--monitor-port",
            &monitor.to_string(),
        ])
        .args(["--simulate", "RUN-A", "--bar-seconds", "1"])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics}")])
        .args(["--gateway-addr", &format!("127.0.0.1:{gateway}")])
        .args(["--otlp-endpoint", &otlp])
        .env("NATS_SERVER_BIN", nats_bin)
        .stdout(Stdio::piped())
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
    // The simulator's quotes reach md.quote.get.
    let quote: model::Quote =
        testkit::wait_until("a simulated quote", Duration::from_secs(30), || async {
            let reply = client
                .request("md.quote.get", r#"{"symbol":"RUN-A"}"#.into())
                .await
                .ok()?;
            if reply.headers.is_some() {
                return None;
            }
            serde_json::from_slice(&reply.payload).ok()
        })
        .await;
    assert!(quote.bid < quote.ask);

    // A strategy on the simulated symbol turns live bars into signals.
    let start = serde_json::json!({
        "id": "e2e", "kind": "sma_cross", "params": {"fast": 2, "slow": 3},
        "symbols": ["RUN-A"], "timeframe": "1s",
        "mode": "paper", "sizing": {"rule": "fixed_qty", "qty": "5"}
    });
    // (Accepted once the simulator has stored the symbol's first bar.)
    testkit::wait_until(
        "strategy.start to accept RUN-A",
        Duration::from_secs(30),
        || async {
            let reply = client
                .request("strategy.start", start.to_string().into())
                .await
                .ok()?;
            reply.headers.is_none().then_some(())
        },
    )
    .await;
    let mut signals = client.subscribe("evt.signal.e2e.>").await.unwrap();
    let signal = tokio::time::timeout(
        Duration::from_secs(60),
        futures::StreamExt::next(&mut signals),
    )
    .await
    .expect("a signal within 60 s")
    .unwrap();
    let event: serde_json::Value = serde_json::from_slice(&signal.payload).unwrap();
    assert_eq!(event["type"], "TRADING_SIGNAL");
    assert_eq!(event["data"]["signal"]["symbol"], "RUN-A");
    assert!(
        data.path().join("nats/jetstream").is_dir(),
        "JetStream store under the data dir"
    );

    // Paper mode: the signal becomes an order in the default `paper` account,
    // through risk, filled by the paper exchange, booked by the portfolio.
    testkit::wait_until("a paper fill", Duration::from_secs(60), || async {
        let reply = client
            .request("portfolio.summary.get", r#"{"account":"paper"}"#.into())
            .await
            .ok()?;
        let s: serde_json::Value = serde_json::from_slice(&reply.payload).ok()?;
        (s["fills"].as_u64()? >= 1).then_some(())
    })
    .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["account", "--nats-url", &url])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("equity") && text.contains("RUN-A"),
        "{text}"
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["orders", "--nats-url", &url])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("paper.sig-"));
    assert!(
        data.path().join("portfolio-local").is_dir(),
        "sled snapshot under the data dir"
    );

    // One HTTP port for every service of the process.
    let observe = format!("http://127.0.0.1:{metrics}");
    let ready = testkit::wait_until("/health/ready 200", Duration::from_secs(30), || async {
        let (status, body) = bus::observe::get(&format!("{observe}/health/ready"))
            .await
            .ok()?;
        (status == 200).then_some(body)
    })
    .await;
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let mut names: Vec<&str> = ready["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "analytics",
            "backtest",
            "config",
            "execution",
            "gateway",
            "market-data",
            "monitor",
            "notify",
            "orchestrator",
            "portfolio",
            "regime",
            "risk",
            "sentiment",
            "strategy"
        ]
    );
    // README "Observe": the probe compose runs, and /metrics through it.
    let trader_health = |path: &str| {
        let url = format!("{observe}{path}");
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
                .args(["health", "--url", &url])
                .output()
                .await
                .unwrap()
        }
    };
    let out = trader_health("/health/ready").await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""ready":true"#));
    let out = trader_health("/metrics").await;
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.lines().any(|l| l.starts_with("trader_requests_total")));
    // The quotes asked above, the paper order's trip, each service's gauge.
    for (name, labels) in [
        (
            "trader_requests_total",
            r#"service="market-data",endpoint="md.quote.get""#,
        ),
        (
            "trader_request_duration_seconds_count",
            r#"service="risk",endpoint="risk.check""#,
        ),
        ("trader_orders_total", r#"status="accepted""#),
        ("trader_fills_total", ""),
        ("trader_signals_total", r#"strategy="e2e""#),
        ("trader_service_ready", r#"service="portfolio""#),
        ("trader_nats_connected", r#"service="analytics""#),
    ] {
        let value = sample(&text, name, labels).unwrap_or_else(|| panic!("{name}{{{labels}}}"));
        assert!(value >= 1.0, "{name}{{{labels}}} = {value}");
    }

    // The client commands talk to it.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["services", "--nats-url", &url])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        [
            "market-data",
            "md.quote.get",
            "risk",
            "execution",
            "portfolio"
        ]
        .iter()
        .all(|w| text.contains(w)),
        "{text}"
    );

    // README "Observe": the monitor's view, with the embedded server's own.
    let status = testkit::wait_until(
        "trader status with every service",
        Duration::from_secs(30),
        || async {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
                .args(["status", "--json", "--nats-url", &url])
                .output()
                .await
                .unwrap();
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (status["services"].as_array()?.len() >= 8).then_some(status)
        },
    )
    .await;
    let names: Vec<&str> = status["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"monitor") && names.contains(&"risk"),
        "{names:?}"
    );
    assert_eq!(status["server"]["reachable"], true, "{status}");
    assert_eq!(
        status["server"]["url"],
        format!("http://127.0.0.1:{monitor}")
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["status", "--nats-url", &url])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        [
            "monitor",
            "execution",
            "ORDERS",
            "execution-signals",
            "connections"
        ]
        .iter()
        .all(|w| text.contains(w)),
        "{text}"
    );
    // README "Observe": spans went to the collector, one trace from the
    // simulator's bar through strategy, execution and risk to the portfolio.
    let traced = testkit::wait_until(
        "a paper trade's trace over OTLP",
        Duration::from_secs(30),
        || async {
            let posts = posts.lock().unwrap().clone();
            assert!(
                posts.iter().all(|(path, _)| path == "/v1/traces"),
                "{posts:?}"
            );
            services_per_trace(&posts).into_values().find(|services| {
                ["market-data", "strategy", "execution", "risk", "portfolio"]
                    .iter()
                    .all(|s| services.contains(*s))
            })
        },
    )
    .await;
    assert!(traced.contains("risk"));

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
    // Its HTTP port is closed with it: the probe fails.
    assert!(!trader_health("/health/live").await.status.success());
    // Its nats-server is gone too.
    assert!(async_nats::connect(&url).await.is_err());
}
