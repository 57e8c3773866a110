//! The dashboard in a real browser: Debian's chromium, headless, driven by
//! playwright-core (`web/e2e/dashboard.mjs`) against a private platform
//! (market-data with the simulator and GOOG, strategy, risk, execution,
//! portfolio, backtest, analytics, monitor, gateway). The page shows live simulator
//! prices, places and cancels a paper limit order, places a market order and
//! shows its fill and the position, starts a strategy, runs a GOOG backtest
//! with its report and a grid sweep with its progress, halts the account (the
//! alert shows) and resumes it, saves limits, reloads; a viewer's tab shows no
//! admin controls and its order is refused; then the platform itself is asked whether all
//! of that really happened. Screenshots go to `artifacts/dashboard-e2e/`.
//!
//! chromium and playwright-core missing is a failure with a message, not a
//! skip: `scripts/test.sh` (`scripts/install-browser.sh`) installs them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bus::api::orders::{Order, OrderStatus};
use bus::api::portfolio::PositionsResponse;
use bus::api::strategy::{DesiredState, StrategyStatus};
use bus::{request, subjects, RequestOptions};
use serde_json::{json, Value};
use testkit::Platform;

fn repo() -> PathBuf {
    testkit::paths::repo_root()
}

/// node, the script and playwright-core's directory, or a panic saying what
/// is missing and how to install it.
fn tools() -> (PathBuf, PathBuf, PathBuf) {
    let install = "run scripts/install-browser.sh (scripts/test.sh does) to install Debian's chromium and playwright-core";
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.exists(),
        "the browser test needs chromium at {}: {install}",
        chromium.display()
    );
    let node = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("node"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("the browser test needs Node.js >= 20 on PATH: {install}"));
    let playwright = std::env::var_os("PLAYWRIGHT_CORE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/node"));
    assert!(
        playwright.join("node_modules/playwright-core").is_dir(),
        "the browser test needs playwright-core in {}: {install}",
        playwright.display()
    );
    (
        node,
        repo().join("services/gateway/web/e2e/dashboard.mjs"),
        playwright,
    )
}

async fn call<T: serde::de::DeserializeOwned>(
    client: &async_nats::Client,
    subject: &str,
    body: Value,
) -> T {
    request(
        client,
        subject,
        &body,
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap_or_else(|e| panic!("{subject} {body}: {e}"))
}

async fn platform(data: &Path, http_port: u16) -> Platform {
    let data = data.to_path_buf();
    Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            let config = market_data::Config {
                simulator: Some(market_data::SimulatorConfig::default()),
                ..Default::default()
            };
            market_data::run(config, c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            strategy_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, |c, s| {
            execution_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_service::Config::new(data.clone()), c, s.wait())
        })
        .service(subjects::backtest::SERVICE, 1, |c, s| {
            backtest_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::analytics::SERVICE, 1, |c, s| {
            analytics_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::monitor::SERVICE, 1, |c, s| {
            let config = monitor_service::Config {
                interval: Duration::from_secs(1),
                ..Default::default()
            };
            monitor_service::run(config, c, s.wait())
        })
        .service(subjects::gateway::SERVICE, 1, move |c, s| {
            let config = gateway_service::Config {
                addr: format!("127.0.0.1:{http_port}"),
                ..Default::default()
            };
            gateway_service::run(config, c, s.wait())
        })
        .import_goog()
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_uses_the_dashboard_in_a_real_browser() {
    let (node, script, playwright) = tools();
    let data = tempfile::tempdir().unwrap();
    let port = testkit::leaf::free_port();
    let platform = platform(data.path(), port).await;
    let client = platform.client().clone();

    let _: Value = call(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        json!({"account": "paper", "cash": "100000"}),
    )
    .await;
    // The key `trader run` puts in the dashboard's URL on a first run.
    let key = gateway_service::bootstrap_admin_key(&client, &data.path().join("admin.key"), 1)
        .await
        .unwrap()
        .expect("a new admin key at the first start");

    let viewer: Value = call(
        &client,
        subjects::gateway::KEYS_CREATE,
        json!({"role": "viewer", "name": "browser test viewer"}),
    )
    .await;
    let artifacts = repo().join("artifacts/dashboard-e2e");
    let _ = std::fs::remove_dir_all(&artifacts);
    let url = format!("http://127.0.0.1:{port}");
    let run = tokio::process::Command::new(&node)
        .arg(&script)
        .arg(&url)
        .arg(&key)
        .arg(&artifacts)
        .arg(viewer["key"].as_str().unwrap())
        .env("PLAYWRIGHT_CORE_DIR", &playwright)
        .kill_on_drop(true)
        .output();
    // A bound so a wedged browser ends the test instead of hanging it; each
    // step inside has its own (generous) bound.
    let out = tokio::time::timeout(Duration::from_secs(900), run)
        .await
        .expect("the browser run ended")
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "dashboard.mjs failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for step in [
        "load",
        "live-prices",
        "reconnect",
        "limit-order",
        "market-order",
        "strategy",
        "backtest",
        "sweep",
        "risk",
        "reopen",
        "health",
        "viewer",
        "page-errors",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("ok {step}:"))),
            "step {step} not reported:\n{stdout}"
        );
    }
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|j| serde_json::from_str(j).expect("RESULT is JSON"))
        .expect("a RESULT line");

    // What the page said happened, asked of the platform itself.
    let prices = result["prices_seen"].as_array().unwrap();
    assert!(prices.len() >= 2 && prices[0] != prices[1], "{prices:?}");
    let limit: Order = call(
        &client,
        subjects::execution::GET,
        json!({"account": "paper", "client_order_id": client_order_id(&result["limit_order"])}),
    )
    .await;
    assert_eq!(limit.status, OrderStatus::Canceled, "{limit:?}");
    assert_eq!(limit.qty.to_string(), "5");
    let market: Order = call(
        &client,
        subjects::execution::GET,
        json!({"account": "paper", "client_order_id": client_order_id(&result["market_order"])}),
    )
    .await;
    assert_eq!(market.status, OrderStatus::Filled, "{market:?}");
    assert_eq!(market.filled_qty.to_string(), "10");
    let positions: PositionsResponse = call(
        &client,
        subjects::portfolio::POSITIONS_GET,
        json!({"account": "paper"}),
    )
    .await;
    let sim_a = positions
        .positions
        .iter()
        .find(|p| p.symbol.as_str() == "SIM-A")
        .expect("a SIM-A position");
    assert_eq!(sim_a.qty.to_string(), "10");
    let strategy: StrategyStatus = call(
        &client,
        subjects::strategy::STATUS,
        json!({"id": "e2e-sma"}),
    )
    .await;
    assert_eq!(strategy.record.state, DesiredState::Running);
    assert_eq!(strategy.record.params["fast"], 3);
    assert_eq!(strategy.record.params["slow"], 8);
    assert_eq!(strategy.record.symbols[0].as_str(), "SIM-B");
    // backtesting.py 0.6.6 makes 93 trades of SmaCross(10, 20) on GOOG with
    // commission 0.002 (services/analytics/tests/reports.rs checks the same).
    assert_eq!(result["backtest_trades"], 93, "{result}");
    assert_eq!(result["report_entries"], 93, "{result}");
    assert!(
        result["report_title"]
            .as_str()
            .unwrap()
            .contains("sma_cross fast=10 slow=20 on GOOG 1d"),
        "{result}"
    );
    assert_eq!(result["sweep_rows"], 4, "{result}");
    let sweep_title = result["sweep_report_title"].as_str().unwrap();
    assert!(
        sweep_title.starts_with("Sweep ")
            && sweep_title.ends_with(&format!(
                ": sma_cross {} on GOOG 1d",
                result["sweep_best"].as_str().unwrap()
            )),
        "{result}"
    );
    let risk: Value = call(&client, subjects::risk::STATUS, json!({"account": "paper"})).await;
    assert_eq!(risk["state"]["state"], "ACTIVE", "resumed: {risk}");
    assert_eq!(risk["limits"]["max_order_qty"], "1000", "{risk}");
    assert_eq!(risk["limits"]["max_open_orders"], 50, "{risk}");
    // The viewer's refused SIM-A order is nowhere in the account: SIM-A has
    // the two orders of the admin's tab only (the strategy trades SIM-B).
    let orders: Value = call(
        &client,
        subjects::execution::LIST,
        json!({"account": "paper", "symbol": "SIM-A", "limit": 100}),
    )
    .await;
    let mut ids: Vec<&str> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    ids.sort();
    let mut expected = vec![
        result["limit_order"].as_str().unwrap(),
        result["market_order"].as_str().unwrap(),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(
        result["viewer_order"].as_str().unwrap().starts_with("403"),
        "{result}"
    );
    let services: Vec<&str> = result["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    for s in [
        "analytics",
        "backtest",
        "execution",
        "gateway",
        "market-data",
        "portfolio",
        "risk",
        "strategy",
    ] {
        assert!(
            services.contains(&s),
            "{s} missing from the health panel: {services:?}"
        );
    }
    // The health panel read the monitor, with the durable consumers' lag.
    let consumers: Vec<&str> = result["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(consumers.contains(&"execution-signals"), "{consumers:?}");
    let shots = std::fs::read_dir(&artifacts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(
        shots >= 10,
        "{shots} screenshots in {}",
        artifacts.display()
    );
}

/// `paper.<client order id>` → the client order id.
fn client_order_id(id: &Value) -> String {
    let id = id.as_str().expect("an order id");
    id.strip_prefix("paper.")
        .unwrap_or_else(|| panic!("an order of paper: {id}"))
        .to_string()
}
