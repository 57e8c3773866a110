//! `trader run --profile light --config FILE` end to end, and the README's
//! config commands exactly as written there: a profile starts exactly its
//! services; each key reports the layer that set it (file < env < flag < KV);
//! a live key applies without a restart; a bad value is refused naming the key.

use std::process::{Output, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `trader <words>` as typed in the README, against the test's server.
async fn trader(url: &str, line: &str) -> Output {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "trader");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(&words[1..])
        .env("NATS_URL", url)
        .output()
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `key value source` columns of `trader config show` / `get`.
fn row(text: &str, key: &str) -> (String, String) {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} in\n{text}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    (cols[1].to_string(), cols[2].to_string())
}

#[tokio::test]
async fn a_profile_starts_its_services_and_every_layer_shows_in_config_show() {
    let data = tempfile::tempdir().unwrap();
    // README: trader.toml under "Configuration".
    let file = data.path().join("trader.toml");
    std::fs::write(
        &file,
        "[sim]\nseed = 7\nbar_seconds = 4\n\n[execution]\ncommission_pct = 0.0011\nslippage_bps = 1\n",
    )
    .unwrap();
    let (port, monitor) = (free_port(), free_port());
    let nats_bin = testkit::server::nats_server_bin().expect("nats-server installed");
    // README: TRADER_SIM_BAR_SECONDS=2 TRADER_EXECUTION_SLIPPAGE_BPS=2 trader run --profile light --config trader.toml --slippage-bps 3
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["run", "--profile", "light", "--config"])
        .arg(&file)
        .args(["--slippage-bps", "3"])
        .arg("--data-dir")
        .arg(data.path())
        .args(["--nats-port", &port.to_string()])
        .args(["--monitor-port", &monitor.to_string()])
        .args(["--metrics-addr", "off"])
        .args(["--gateway-addr", &format!("127.0.0.1:{}", free_port())])
        .env("TRADER_SIM_BAR_SECONDS", "2")
        .env("TRADER_EXECUTION_SLIPPAGE_BPS", "2")
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
    testkit::wait_for_service_within(&client, "config.get", "{}", Duration::from_secs(60)).await;

    // Exactly light's services ($SRV.PING; execution also runs paper-exchange;
    // the gateway runs with every profile).
    let want = [
        "config",
        "execution",
        "gateway",
        "market-data",
        "paper-exchange",
        "portfolio",
        "risk",
        "strategy",
    ];
    let names = testkit::wait_until("light's services", Duration::from_secs(60), || async {
        let mut names = ping_names(&client).await;
        names.sort_unstable();
        names.dedup();
        (names == want).then_some(names)
    })
    .await;
    assert!(!names.iter().any(|n| n == "backtest" || n == "analytics"));

    let out = trader(&url, "trader config show").await;
    assert!(out.status.success(), "{out:?}");
    let show = stdout(&out);
    assert!(show.starts_with("profile light"), "{show}");
    assert_eq!(row(&show, "sim.enabled"), ("true".into(), "default".into()));
    assert_eq!(
        row(&show, "sim.symbols"),
        (r#"["SIM-A","SIM-B"]"#.into(), "profile".into())
    );
    assert_eq!(row(&show, "sim.seed"), ("7".into(), "file".into()));
    assert_eq!(
        row(&show, "execution.commission_pct"),
        (r#""0.0011""#.into(), "file".into())
    );
    assert_eq!(row(&show, "sim.bar_seconds"), ("2".into(), "env".into()));
    assert_eq!(
        row(&show, "execution.slippage_bps"),
        (r#""3""#.into(), "flag".into())
    );

    let out = trader(&url, "trader config profiles").await;
    let text = stdout(&out);
    assert!(
        out.status.success() && text.contains("* light") && text.contains("heavy"),
        "{text}"
    );

    // Live: the simulator's bars switch to the new interval.
    let out = trader(&url, "trader config set sim.bar_seconds 1").await;
    let text = stdout(&out);
    assert!(
        out.status.success() && text.contains("applies live (market-data)"),
        "{text}"
    );
    let js = async_nats::jetstream::new(client.clone());
    testkit::wait_until("1 s bars of SIM-A", Duration::from_secs(30), || async {
        let stream = js.get_stream("MARKET").await.ok()?;
        stream
            .direct_get_last_for_subject("md.bar.SIM-A.1s")
            .await
            .ok()
    })
    .await;
    let out = trader(&url, "trader config set execution.slippage_bps 4").await;
    assert!(out.status.success(), "{out:?}");
    let out = trader(&url, "trader config get execution.slippage_bps").await;
    assert_eq!(
        row(&stdout(&out), "execution.slippage_bps"),
        (r#""4""#.into(), "kv".into())
    );
    let out = trader(&url, "trader config unset execution.slippage_bps").await;
    assert!(out.status.success(), "{out:?}");
    let out = trader(&url, "trader config get execution.slippage_bps").await;
    assert_eq!(
        row(&stdout(&out), "execution.slippage_bps"),
        (r#""3""#.into(), "flag".into())
    );

    let out = trader(&url, "trader config set services market-data,risk").await;
    let text = stdout(&out);
    assert!(
        text.contains("needs a restart of trader run: services"),
        "{text}"
    );

    // Refused, naming the key; nothing written.
    let out = trader(&url, "trader config set sim.bar_seconds 0").await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("400") && err.contains("sim.bar_seconds"),
        "{err}"
    );
    let out = trader(&url, "trader config get sim.bar_seconds").await;
    assert_eq!(
        row(&stdout(&out), "sim.bar_seconds"),
        ("1".into(), "kv".into())
    );

    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("trader run stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// Service names answering `$SRV.PING` (one per instance).
async fn ping_names(client: &async_nats::Client) -> Vec<String> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.unwrap();
    client
        .publish_with_reply("$SRV.PING", inbox, "".into())
        .await
        .unwrap();
    let mut names = Vec::new();
    while let Ok(Some(msg)) = tokio::time::timeout(
        Duration::from_millis(500),
        futures::StreamExt::next(&mut sub),
    )
    .await
    {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&msg.payload) {
            if let Some(name) = v["name"].as_str() {
                names.push(name.to_string());
            }
        }
    }
    names
}
