//! The committed auth config (`nats/secure.conf` → `nats/auth/users.conf`, from
//! `bus::permissions`) on a real nats-server: each service's real `run()` works
//! under its own user, and what a user may not do is refused by the server and
//! leaves no trace in the streams.

mod auth_common;

use std::time::Duration;

use async_nats::jetstream;
use auth_common::{login, options, secure_server, Violations};
use bus::{request, subjects, RequestOptions};
use model::Decimal;
use serde_json::{json, Value};
use testkit::{spawn_service, NatsServer, ServiceHandle};
use trading::{Order, OrderStatus};

/// Messages stored in `stream`.
async fn stored(js: &jetstream::Context, stream: &str) -> u64 {
    js.get_stream(stream)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .messages
}

/// ORDERS, provisioned by the execution user (as the execution service does).
async fn orders_stream(server: &NatsServer) -> jetstream::Context {
    let (execution, _) = login(server, "execution").await;
    let js = jetstream::new(execution);
    bus::jetstream::ensure_stream(&js, bus::jetstream::orders_stream(&Default::default()))
        .await
        .unwrap();
    js
}

#[tokio::test]
async fn a_service_cannot_write_another_services_stream() {
    let server = secure_server().await;
    let owner = orders_stream(&server).await;

    // strategy publishes an order event: refused, nothing stored.
    let (strategy, refused) = login(&server, "strategy").await;
    strategy
        .publish("evt.order.acc.accepted", "{}".into())
        .await
        .unwrap();
    strategy.flush().await.unwrap();
    refused.wait_for("evt.order.acc.accepted").await;
    // Through JetStream the publish is refused the same way: no ack comes.
    let ack = jetstream::new(strategy.clone())
        .publish("evt.fill.acc.GOOG", "{}".into())
        .await
        .unwrap();
    assert!(
        ack.await.is_err(),
        "a refused publish is never acknowledged"
    );
    refused.wait_for("evt.fill.acc.GOOG").await;
    assert_eq!(stored(&owner, subjects::streams::ORDERS).await, 0);

    // The owner writes the same subject: stored (the count above is meaningful).
    owner
        .publish("evt.order.acc.accepted", "{}".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(stored(&owner, subjects::streams::ORDERS).await, 1);

    // Nor may it touch the stream through the JetStream API.
    let strategy_js = jetstream::new(strategy);
    assert!(strategy_js
        .delete_stream(subjects::streams::ORDERS)
        .await
        .is_err());
    refused.wait_for("$JS.API.STREAM.DELETE.ORDERS").await;
    assert_eq!(stored(&owner, subjects::streams::ORDERS).await, 1);
}

#[tokio::test]
async fn a_service_cannot_serve_another_services_endpoints() {
    let server = secure_server().await;
    let (risk, refused) = login(&server, "risk").await;

    let _sub = risk
        .queue_subscribe(subjects::execution::SUBMIT, "q".to_string())
        .await
        .unwrap();
    risk.flush().await.unwrap();
    refused.wait_for(subjects::execution::SUBMIT).await;

    // Its own endpoints only in queue group `q`: a plain subscription (which
    // would see every request, next to the real instances) is refused too.
    let _plain = risk.subscribe(subjects::risk::CHECK).await.unwrap();
    risk.flush().await.unwrap();
    refused.wait_for(subjects::risk::CHECK).await;

    // It still serves its own in `q`: no violation for that one.
    let _own = risk
        .queue_subscribe(subjects::risk::LIMITS_GET, "q".to_string())
        .await
        .unwrap();
    risk.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !refused
            .all()
            .iter()
            .any(|v| v.contains(subjects::risk::LIMITS_GET)),
        "{:?}",
        refused.all()
    );
}

#[tokio::test]
async fn the_client_cannot_write_orders_nor_call_internal_subjects() {
    let server = secure_server().await;
    let owner = orders_stream(&server).await;
    let (client, refused) = login(&server, "client").await;

    client.publish("evt.order.x.y", "{}".into()).await.unwrap();
    client.flush().await.unwrap();
    refused.wait_for("evt.order.x.y").await;
    assert_eq!(stored(&owner, subjects::streams::ORDERS).await, 0);

    // The paper exchange's internal cancel: refused before it reaches anyone.
    let (execution, _) = login(&server, "execution").await;
    let mut exchange = execution
        .queue_subscribe(subjects::execution::EXCHANGE_CANCEL, "q".to_string())
        .await
        .unwrap();
    execution.flush().await.unwrap();
    let reply = tokio::time::timeout(
        Duration::from_secs(2),
        client.request(subjects::execution::EXCHANGE_CANCEL, "{}".into()),
    )
    .await;
    assert!(!matches!(reply, Ok(Ok(_))), "the internal subject answered");
    refused.wait_for(subjects::execution::EXCHANGE_CANCEL).await;
    let delivered = tokio::time::timeout(
        Duration::from_millis(300),
        futures::StreamExt::next(&mut exchange),
    )
    .await;
    assert!(
        delivered.is_err(),
        "the exchange received the client's cancel"
    );

    // Nor anything under `<service>.internal.>` (risk's partitioned checks).
    let internal = subjects::risk::internal_check(3);
    let reply = tokio::time::timeout(
        Duration::from_secs(2),
        client.request(internal.clone(), "{}".into()),
    )
    .await;
    assert!(!matches!(reply, Ok(Ok(_))), "{internal} answered");
    refused.wait_for(&internal).await;

    // JetStream: reading is allowed, writing is not.
    let js = jetstream::new(client.clone());
    assert_eq!(stored(&js, subjects::streams::ORDERS).await, 0);
    assert!(js.delete_stream(subjects::streams::ORDERS).await.is_err());
    refused.wait_for("$JS.API.STREAM.DELETE.ORDERS").await;
    assert!(js
        .create_stream(jetstream::stream::Config {
            name: "MINE".to_string(),
            subjects: vec!["mine.>".to_string()],
            ..Default::default()
        })
        .await
        .is_err());
    refused.wait_for("$JS.API.STREAM.CREATE.MINE").await;

    // Reading events live is what the client is for: no violation.
    let before = refused.all().len();
    let _events = client.subscribe("evt.>").await.unwrap();
    let _bars = client.subscribe("md.bar.>").await.unwrap();
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(refused.all().len(), before, "{:?}", refused.all());
}

fn as_order(v: Value) -> Order {
    serde_json::from_value(v).expect("an Order")
}

/// A service's real `run` on its own runtime, logged in as its own user.
fn run_as<F, Fut, E>(
    server: &NatsServer,
    user: &'static str,
    violations: &Violations,
    run: F,
) -> ServiceHandle<E>
where
    F: FnOnce(async_nats::Client, testkit::Shutdown) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let url = server.url().to_string();
    let options = options(user, violations);
    spawn_service(move |shutdown| async move {
        let client = options
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{user} cannot log in: {e}"));
        run(client, shutdown).await
    })
}

async fn call(client: &async_nats::Client, subject: &str, body: serde_json::Value) -> Value {
    request(
        client,
        subject,
        &body,
        RequestOptions::timeout(Duration::from_secs(20)),
    )
    .await
    .unwrap_or_else(|e| panic!("{subject}: {e}"))
}

#[tokio::test]
async fn services_trade_end_to_end_under_their_own_users() {
    let server = secure_server().await;
    let data = tempfile::tempdir().unwrap();
    let seen = Violations::default();

    let _market_data = run_as(&server, "market-data", &seen, |c, s| {
        // The simulator too: its lease in KV, quotes into QUOTES.
        let config = market_data::Config {
            simulator: Some(market_data::SimulatorConfig {
                symbols: vec![model::Symbol::new("SIM-A").unwrap()],
                ..Default::default()
            }),
            ..Default::default()
        };
        market_data::run(config, c, s.wait())
    });
    let _risk = run_as(&server, "risk", &seen, |c, s| {
        risk_service::run(risk_service::Config::default(), c, s.wait())
    });
    let _execution = run_as(&server, "execution", &seen, |c, s| {
        let config = execution_service::Config {
            lease_ttl: Duration::from_millis(1500),
            ..Default::default()
        };
        execution_service::run(config, c, s.wait())
    });
    let portfolio_dir = data.path().to_path_buf();
    let _portfolio = run_as(&server, "portfolio", &seen, move |c, s| {
        portfolio_service::run(portfolio_service::Config::new(portfolio_dir), c, s.wait())
    });
    let _strategy = run_as(&server, "strategy", &seen, |c, s| {
        strategy_service::run(strategy_service::Config::default(), c, s.wait())
    });
    let _backtest = run_as(&server, "backtest", &seen, |c, s| {
        backtest_service::run(backtest_service::Config::default(), c, s.wait())
    });
    let _analytics = run_as(&server, "analytics", &seen, |c, s| {
        analytics_service::run(analytics_service::Config::default(), c, s.wait())
    });
    let _monitor = run_as(&server, "monitor", &seen, |c, s| {
        let config = monitor_service::Config {
            interval: Duration::from_millis(250),
            ..Default::default()
        };
        monitor_service::run(config, c, s.wait())
    });
    let _notify = run_as(&server, "notify", &seen, |c, s| {
        notify_service::run(notify_service::Config::default(), c, s.wait())
    });
    let (hook_server, hook) = testkit::sinks::Recorder::start().await;

    // Everything below goes through the public endpoints as `client`.
    let (client, refused) = login(&server, "client").await;
    for (subject, body) in [
        (subjects::md::SYMBOLS_LIST, ""),
        (subjects::risk::LIMITS_GET, r#"{"account":"x"}"#),
        (subjects::execution::LIST, "{}"),
        (subjects::portfolio::SUMMARY_GET, r#"{"account":"x"}"#),
        (subjects::strategy::KINDS, ""),
        (subjects::backtest::JOB_GET, r#"{"job_id":"x"}"#),
        (subjects::notify::CHANNELS_LIST, "{}"),
    ] {
        testkit::wait_for_service(&client, subject, body).await;
    }
    // notify: the account's fills to a local webhook.
    call(
        &client,
        subjects::notify::CHANNELS_SET,
        json!({"name": "hook", "type": "webhook", "url": hook_server.url()}),
    )
    .await;
    call(
        &client,
        subjects::notify::RULES_SET,
        json!({"id": "fills", "channel": "hook", "event_types": ["ORDER_EXECUTED"], "accounts": ["acc"]}),
    )
    .await;
    let text = std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).unwrap();
    let csv: Vec<&str> = text.lines().take(61).collect();
    let report = call(
        &client,
        subjects::md::IMPORT,
        json!({"symbol": "GOOG", "csv": csv.join("\n") + "\n"}),
    )
    .await;
    assert_eq!(report["published"], 60);
    let bars = testkit::paths::goog_bars();
    call(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        json!({"account": "acc", "cash": "100000"}),
    )
    .await;

    // risk.check → accepted → the paper exchange fills on the next bar → the
    // portfolio holds the position.
    let order = as_order(
        call(
            &client,
            subjects::execution::SUBMIT,
            json!({"client_order_id": "m1", "account": "acc", "symbol": "GOOG", "side": "buy",
               "type": "market", "qty": "10", "after_ts": bars[20].ts}),
        )
        .await,
    );
    assert_eq!(order.id, "acc.m1");
    let filled = testkit::wait_until("order m1 filled", Duration::from_secs(20), || async {
        let o = as_order(
            call(
                &client,
                subjects::execution::GET,
                json!({"account": "acc", "client_order_id": "m1"}),
            )
            .await,
        );
        (o.status == OrderStatus::Filled).then_some(o)
    })
    .await;
    assert_eq!(filled.avg_fill_price, bars[21].open);
    testkit::wait_until("position of 10 GOOG", Duration::from_secs(20), || async {
        let p = call(
            &client,
            subjects::portfolio::POSITIONS_GET,
            json!({"account": "acc"}),
        )
        .await;
        (p["positions"][0]["qty"].as_str()? == "10").then_some(())
    })
    .await;
    testkit::wait_until(
        "notify delivered the fill",
        Duration::from_secs(20),
        || async {
            hook.requests()
                .iter()
                .any(|r| {
                    r.json()["events"][0]["notice"]["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("BUY 10 GOOG"))
                })
                .then_some(())
        },
    )
    .await;

    // A cancel goes through execution's internal exchange subject.
    let limit = as_order(
        call(
            &client,
            subjects::execution::SUBMIT,
            json!({"client_order_id": "l1", "account": "acc", "symbol": "GOOG", "side": "buy",
               "type": "limit", "qty": "1", "limit_price": "1"}),
        )
        .await,
    );
    assert_eq!(limit.status, OrderStatus::Accepted);
    let canceled = as_order(
        call(
            &client,
            subjects::execution::CANCEL,
            json!({"account": "acc", "client_order_id": "l1"}),
        )
        .await,
    );
    assert_eq!(canceled.status, OrderStatus::Canceled);

    // risk's KV, strategy's durable consumer and SIGNALS, backtest's JOBS and
    // KV, analytics reading PORTFOLIO and ORDERS.
    call(
        &client,
        subjects::risk::LIMITS_SET,
        json!({"account": "acc", "limits": {"max_order_qty": "100"}}),
    )
    .await;
    call(
        &client,
        subjects::strategy::START,
        json!({"id": "s1", "kind": "sma_cross", "params": {"fast": 3, "slow": 8},
               "symbols": ["GOOG"], "timeframe": "1d"}),
    )
    .await;
    testkit::wait_until("signals of s1", Duration::from_secs(20), || async {
        let s = call(&client, subjects::strategy::STATUS, json!({"id": "s1"})).await;
        (s["signals"].as_u64()? > 0).then_some(())
    })
    .await;
    // A rejected order: risk's alert lands in ALERTS.
    let big = as_order(
        call(
            &client,
            subjects::execution::SUBMIT,
            json!({"client_order_id": "big", "account": "acc", "symbol": "GOOG", "side": "buy",
                   "type": "market", "qty": "1000"}),
        )
        .await,
    );
    assert_eq!(big.status, OrderStatus::Rejected);
    let js = jetstream::new(client.clone());
    testkit::wait_until(
        "risk's alert in ALERTS",
        Duration::from_secs(10),
        || async { (stored(&js, subjects::streams::ALERTS).await > 0).then_some(()) },
    )
    .await;
    // The simulator runs under market-data's lease and publishes quotes.
    testkit::wait_until("a SIM-A quote", Duration::from_secs(10), || async {
        request::<_, Value>(
            &client,
            subjects::md::QUOTE_GET,
            &json!({"symbol": "SIM-A"}),
            RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        .ok()
    })
    .await;

    let sweep = call(
        &client,
        subjects::backtest::SWEEP_SUBMIT,
        json!({"kind": "sma_cross", "data": {"symbol": "GOOG"},
               "search": {"grid": {"fast": [3, 5], "slow": [10]}}, "objective": "return_pct"}),
    )
    .await;
    let job_id = sweep["job_id"].as_str().unwrap().to_string();
    testkit::wait_until("sweep done", Duration::from_secs(30), || async {
        let s = call(
            &client,
            subjects::backtest::JOB_GET,
            json!({"job_id": job_id}),
        )
        .await;
        (s["state"].as_str()? == "done").then_some(())
    })
    .await;
    // A canceled sweep purges its queued tasks from JOBS.
    let doomed = call(
        &client,
        subjects::backtest::SWEEP_SUBMIT,
        json!({"kind": "sma_cross", "data": {"symbol": "GOOG"},
               "search": {"grid": {"fast": (2..20).collect::<Vec<_>>(), "slow": (21..40).collect::<Vec<_>>()}},
               "objective": "return_pct"}),
    )
    .await;
    let canceled_job = call(
        &client,
        subjects::backtest::JOB_CANCEL,
        json!({"job_id": doomed["job_id"]}),
    )
    .await;
    assert_eq!(canceled_job["state"], "canceled", "{canceled_job}");
    // analytics: a sweep result (backtest-jobs KV, backtest.run) and an account.
    let best = call(
        &client,
        subjects::analytics::PERFORMANCE_GET,
        json!({"source": {"sweep_result": {"job_id": job_id, "index": 0}}}),
    )
    .await;
    assert!(best["stats"].is_object(), "{best}");
    let perf = call(
        &client,
        subjects::analytics::PERFORMANCE_GET,
        json!({"source": {"account": {"account": "acc", "benchmark": "GOOG"}}}),
    )
    .await;
    assert!(perf["stats"].is_object(), "{perf}");

    let cash: Decimal = call(
        &client,
        subjects::portfolio::SUMMARY_GET,
        json!({"account": "acc"}),
    )
    .await["cash"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cash < Decimal::from(100_000));

    // The monitor sees every service, every stream and their consumers, and
    // keeps samples in SYSTEM (its own stream), with nothing refused.
    let status = testkit::wait_until(
        "all 8 services in monitor.status",
        Duration::from_secs(30),
        || async {
            let s = call(&client, subjects::monitor::STATUS, json!({})).await;
            (s["services"].as_array()?.len() >= 8).then_some(s)
        },
    )
    .await;
    let streams: Vec<&str> = status["jetstream"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        streams.contains(&"ORDERS") && streams.contains(&"SYSTEM"),
        "{streams:?}"
    );
    testkit::wait_until("health samples", Duration::from_secs(30), || async {
        let h = call(&client, subjects::monitor::HISTORY, json!({"limit": 2})).await;
        (h["samples"].as_array()?.len() == 2).then_some(())
    })
    .await;

    // The gateway under its own user: KV, its endpoints, events for the
    // WebSocket, a REST route's request. Keys are made as `trader` (an
    // administrator over NATS); `client` may not make them.
    let gateway_addr = format!("127.0.0.1:{}", testkit::leaf::free_port());
    let gateway_config = gateway_service::Config {
        addr: gateway_addr.clone(),
        ..Default::default()
    };
    let _gateway = run_as(&server, "gateway", &seen, move |c, s| {
        gateway_service::run(gateway_config, c, s.wait())
    });
    testkit::wait_for_service(&client, subjects::gateway::INFO, "{}").await;
    let (admin, _) = login(&server, "trader").await;
    let created = call(
        &admin,
        subjects::gateway::KEYS_CREATE,
        json!({"role": "viewer", "accounts": ["acc"]}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_string();
    let mut http = testkit::http::HttpClient::new(&gateway_addr).bearer(&key);
    let r = http.get("/api/v1/accounts/acc").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());

    // Nobody was refused anything along the way.
    assert!(
        seen.all().is_empty(),
        "services were refused: {:?}",
        seen.all()
    );
    assert!(
        refused.all().is_empty(),
        "client was refused: {:?}",
        refused.all()
    );
    // ...but `client` may not make gateway keys.
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        client.request(subjects::gateway::KEYS_CREATE, r#"{"role":"admin"}"#.into()),
    )
    .await;
    refused.wait_for(subjects::gateway::KEYS_CREATE).await;
}

/// The regime service under its own user: it follows MARKET, owns the `models`
/// object store (train, store, list) and publishes into REGIMES and MODELS;
/// backtest, under its own user, reads a pinned model version back.
#[tokio::test]
async fn regime_and_pinned_models_work_under_their_own_users() {
    let server = secure_server().await;
    let seen = Violations::default();
    let _market_data = run_as(&server, "market-data", &seen, |c, s| {
        market_data::run(market_data::Config::default(), c, s.wait())
    });
    let _regime = run_as(&server, "regime", &seen, |c, s| {
        let config = regime_service::Config {
            train_after: 40,
            ..Default::default()
        };
        regime_service::run(config, c, s.wait())
    });
    let _backtest = run_as(&server, "backtest", &seen, |c, s| {
        backtest_service::run(backtest_service::Config::default(), c, s.wait())
    });
    let (client, refused) = login(&server, "client").await;
    for (subject, body) in [
        (subjects::md::SYMBOLS_LIST, ""),
        (subjects::regime::MODELS_LIST, "{}"),
        (subjects::backtest::JOB_GET, r#"{"job_id":"x"}"#),
    ] {
        testkit::wait_for_service(&client, subject, body).await;
    }
    let text = std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).unwrap();
    let csv: Vec<&str> = text.lines().take(121).collect();
    let report = call(
        &client,
        subjects::md::IMPORT,
        json!({"symbol": "GOOG", "csv": csv.join("\n") + "\n"}),
    )
    .await;
    assert_eq!(report["published"], 120);
    let got = testkit::wait_until("regime of GOOG", Duration::from_secs(30), || async {
        let r: Value = request(
            &client,
            subjects::regime::GET,
            &json!({"symbol": "GOOG"}),
            RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        .ok()?;
        (r["bars"] == 120).then_some(r)
    })
    .await;
    assert_eq!(got["model"]["version"], 1);
    let trained = call(
        &client,
        subjects::regime::TRAIN,
        json!({"symbol": "GOOG", "ensemble": true}),
    )
    .await;
    assert_eq!(trained["models"].as_array().unwrap().len(), 3, "{trained}");
    let listed = call(&client, subjects::regime::MODELS_LIST, json!({})).await;
    assert_eq!(listed["models"].as_array().unwrap().len(), 5, "{listed}");
    let pinned = call(
        &client,
        subjects::backtest::RUN,
        json!({"strategy": {"kind": "ensemble", "params": {"model_version": 1}},
               "data": {"symbol": "GOOG"}, "include_equity": false}),
    )
    .await;
    assert!(pinned["stats"].is_object(), "{pinned}");
    let js = jetstream::new(client.clone());
    assert_eq!(stored(&js, subjects::streams::MODELS).await, 5);
    assert!(stored(&js, subjects::streams::REGIMES).await >= 2);
    assert!(seen.all().is_empty(), "{:?}", seen.all());
    assert!(refused.all().is_empty(), "{:?}", refused.all());
}
