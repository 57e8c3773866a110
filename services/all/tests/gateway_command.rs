//! `trader run` with its gateway: the first run prints the dashboard URL with
//! a new admin key (kept in `<data dir>/gateway-admin.key`, mode 0600), and the
//! README "Gateway" commands run exactly as written against it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first ```sh block of the README section `heading`.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(testkit::paths::repo_root().join("README.md")).unwrap();
    let section = readme
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has {heading}"))
        .1;
    let block = section.split_once("```sh\n").unwrap().1;
    block.split_once("```").unwrap().0.to_string()
}

#[tokio::test]
async fn first_run_prints_the_dashboard_url_and_the_readme_commands_work() {
    let data = tempfile::tempdir().unwrap();
    let (port, monitor, http) = (free_port(), free_port(), free_port());
    let nats_bin = testkit::server::nats_server_bin().expect("nats-server installed");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["run", "--data-dir"])
        .arg(data.path())
        .args([
            "--nats-port",
            &port.to_string(),
            "--monitor-port",
            &monitor.to_string(),
        ])
        .args(["--metrics-addr", "off", "--bar-seconds", "1"])
        .args(["--gateway-addr", &format!("127.0.0.1:{http}")])
        .env("NATS_SERVER_BIN", nats_bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            seen.lock().unwrap().push(line);
        }
    });

    let prefix = format!("  dashboard  http://127.0.0.1:{http}/?key=");
    let key = testkit::wait_until("the dashboard URL", Duration::from_secs(60), || async {
        lines
            .lock()
            .unwrap()
            .iter()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    })
    .await;
    let file = data.path().join("gateway-admin.key");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), key);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file is private");

    // The admin key works; the page is served.
    let addr = format!("127.0.0.1:{http}");
    let mut admin = testkit::http::HttpClient::new(&addr).bearer(&key);
    testkit::wait_until(
        "the admin key accepted",
        Duration::from_secs(30),
        || async {
            let mut c = testkit::http::HttpClient::new(&addr).bearer(&key);
            let r = c.get("/api/v1/keys").await.ok()?;
            (r.status == 200).then_some(())
        },
    )
    .await;
    assert_eq!(
        testkit::http::HttpClient::new(&addr)
            .get("/")
            .await
            .unwrap()
            .status,
        200
    );

    // The simulator's first bar, so SIM-A can be traded.
    let nats = format!("nats://127.0.0.1:{port}");
    let client = async_nats::connect(&nats).await.unwrap();
    for (subject, body) in [
        ("md.bars.get", r#"{"symbol":"SIM-A","timeframe":"1s"}"#),
        ("portfolio.summary.get", r#"{"account":"paper"}"#),
    ] {
        testkit::wait_until(subject, Duration::from_secs(60), || async {
            let reply = client.request(subject, body.into()).await.ok()?;
            reply.headers.is_none().then_some(())
        })
        .await;
    }

    // README "Gateway", exactly as written, in bash with `trader` on the PATH.
    let script = readme_block("## Gateway (REST, WebSocket, dashboard)");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_trader"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", path)
        .env("GATEWAY", format!("http://{addr}"))
        .env("NATS_URL", &nats)
        .output()
        .await
        .expect("bash and curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "README Gateway commands: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(r#""symbol":"SIM-A""#), "the quote: {text}");
    assert!(
        text.contains(r#""id":"paper.readme-1""#),
        "the order: {text}"
    );
    assert!(
        text.contains(r#""openapi":"3.1.0""#),
        "the document: {text}"
    );
    assert!(text.contains("revoked k_"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("trader") && l.contains("paper")),
        "keys list: {text}"
    );

    // The revoked key no longer works; the admin's still does.
    let listed = admin.get("/api/v1/keys").await.unwrap().json();
    assert_eq!(
        listed["keys"].as_array().unwrap().len(),
        1,
        "only the admin key is left: {listed}"
    );
    child.kill().await.unwrap();
    let _ = child.wait().await;

    // A second run over the same data dir shows no key, only where it is.
    let mut again = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["run", "--data-dir"])
        .arg(data.path())
        .args([
            "--nats-port",
            &free_port().to_string(),
            "--monitor-port",
            &free_port().to_string(),
        ])
        .args(["--metrics-addr", "off", "--no-simulator"])
        .args(["--gateway-addr", &format!("127.0.0.1:{}", free_port())])
        .env(
            "NATS_SERVER_BIN",
            testkit::server::nats_server_bin().unwrap(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(again.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = stdout.next_line().await {
            if line.starts_with("  dashboard") {
                return line;
            }
        }
        panic!("no dashboard line")
    })
    .await
    .expect("the dashboard line of the second run");
    assert!(
        !line.contains("?key=") && line.contains("gateway-admin.key"),
        "{line}"
    );
    again.kill().await.unwrap();
}
