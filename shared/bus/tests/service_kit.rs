//! The service kit against a real nats-server: typed endpoints, error envelopes,
//! panics, correlation ids, draining shutdown, provisioning.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::client::{request, RequestError, RequestOptions};
use bus::{EndpointSpec, MicroService, ServiceError, ServiceSpec};
use serde::{Deserialize, Serialize};
use testkit::NatsServer;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Echo {
    text: String,
    #[serde(default)]
    sleep_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
struct Echoed {
    text: String,
    correlation_id: String,
}

/// `started` counts requests that reached the handler, `handled` those it answered.
#[derive(Default, Clone)]
struct Counters {
    started: Arc<AtomicUsize>,
    handled: Arc<AtomicUsize>,
}

async fn echo_service(client: &async_nats::Client, counters: Counters) -> MicroService {
    let mut svc = MicroService::start(client, ServiceSpec::new("echo", "1.2.3", "test echo"))
        .await
        .unwrap();
    svc.add_endpoint(
        EndpointSpec {
            name: "echo".to_string(),
            subject: "test.echo",
            description: "echoes",
        },
        move |ctx, req: Echo| {
            let counters = counters.clone();
            async move {
                counters.started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(req.sleep_ms)).await;
                match req.text.as_str() {
                    "panic" => panic!("boom"),
                    "missing" => Err(ServiceError::not_found("no such thing")
                        .with_details(serde_json::json!({"id": 7}))),
                    _ => {
                        counters.handled.fetch_add(1, Ordering::SeqCst);
                        Ok(Echoed {
                            text: req.text,
                            correlation_id: ctx.correlation_id,
                        })
                    }
                }
            }
        },
    )
    .await
    .unwrap();
    svc
}

#[tokio::test]
async fn typed_requests_errors_and_panics() {
    let server = NatsServer::start().await;
    let client = server.client().await;
    let _svc = echo_service(&client, Counters::default()).await;

    let opts = RequestOptions {
        correlation_id: Some("corr-1".into()),
        ..Default::default()
    };
    let ok: Echoed = request(
        &client,
        "test.echo",
        &serde_json::json!({"text": "hi"}),
        opts,
    )
    .await
    .unwrap();
    assert_eq!(
        ok,
        Echoed {
            text: "hi".into(),
            correlation_id: "corr-1".into()
        }
    );

    let err = request::<_, Echoed>(
        &client,
        "test.echo",
        &serde_json::json!({"text": "missing"}),
        RequestOptions::default(),
    )
    .await
    .unwrap_err();
    let se = err.service_error().expect("a service error");
    assert_eq!((se.code, se.message.as_str()), (404, "no such thing"));
    assert_eq!(se.details["id"], 7);

    // A panicking handler answers 500 and the endpoint keeps serving.
    let err = request::<_, Echoed>(
        &client,
        "test.echo",
        &serde_json::json!({"text": "panic"}),
        RequestOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.service_error().unwrap().code, 500);
    let ok: Echoed = request(
        &client,
        "test.echo",
        &serde_json::json!({"text": "after"}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(ok.text, "after");

    // Correlation id is echoed on the reply headers.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Correlation-Id", "abc");
    let reply = client
        .request_with_headers("test.echo", headers, r#"{"text":"h"}"#.into())
        .await
        .unwrap();
    assert_eq!(
        reply
            .headers
            .unwrap()
            .get("Correlation-Id")
            .unwrap()
            .as_str(),
        "abc"
    );

    let err = request::<_, Echoed>(
        &client,
        "test.nobody",
        &serde_json::json!({}),
        RequestOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RequestError::NoResponders(_)), "{err}");
}

#[tokio::test]
async fn requests_time_out_when_the_handler_is_slow() {
    let server = NatsServer::start().await;
    let client = server.client().await;
    let _svc = echo_service(&client, Counters::default()).await;
    let err = request::<_, Echoed>(
        &client,
        "test.echo",
        &serde_json::json!({"text": "slow", "sleep_ms": 2000}),
        RequestOptions::timeout(Duration::from_millis(100)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RequestError::Timeout(_)), "{err}");
}

#[tokio::test]
async fn shutdown_answers_requests_in_flight_then_leaves() {
    let server = NatsServer::start().await;
    let client = server.client().await;
    let counters = Counters::default();
    let svc = echo_service(&server.client().await, counters.clone()).await;

    // The endpoint's subscription reaches the server asynchronously: wait until
    // it answers before counting.
    testkit::wait_until("the echo endpoint", Duration::from_secs(10), || async {
        request::<_, Echoed>(
            &client,
            "test.echo",
            &serde_json::json!({"text": "probe"}),
            RequestOptions::timeout(Duration::from_secs(1)),
        )
        .await
        .ok()
    })
    .await;
    let base = counters.handled.load(Ordering::SeqCst);
    let mut pending = Vec::new();
    for i in 0..10 {
        let client = client.clone();
        pending.push(tokio::spawn(async move {
            request::<_, Echoed>(
                &client,
                "test.echo",
                &serde_json::json!({"text": format!("{i}"), "sleep_ms": 300}),
                RequestOptions::default(),
            )
            .await
        }));
    }
    // Shut down while all ten handlers sleep.
    testkit::wait_until(
        "ten requests in the handler",
        Duration::from_secs(10),
        || async { (counters.started.load(Ordering::SeqCst) == base + 10).then_some(()) },
    )
    .await;
    svc.shutdown().await;
    assert_eq!(
        counters.handled.load(Ordering::SeqCst),
        base + 10,
        "every request in flight finished before shutdown returned"
    );
    for p in pending {
        assert!(p.await.unwrap().is_ok());
    }
    let err = request::<_, Echoed>(
        &client,
        "test.echo",
        &serde_json::json!({"text": "late"}),
        RequestOptions::timeout(Duration::from_secs(1)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RequestError::NoResponders(_)), "{err}");
}

#[tokio::test]
async fn provisioning_is_idempotent_and_applies_changes() {
    let server = NatsServer::start().await;
    let js = async_nats::jetstream::new(server.client().await);
    let settings = bus::jetstream::StreamSettings::default();
    let config = bus::jetstream::market_stream(&settings);
    let mut a = bus::jetstream::ensure_stream(&js, config.clone())
        .await
        .unwrap();
    let _b = bus::jetstream::ensure_stream(&js, config.clone())
        .await
        .unwrap();
    assert_eq!(a.info().await.unwrap().config.subjects, vec!["md.bar.>"]);
    let mut changed = config;
    changed.duplicate_window = Duration::from_secs(600);
    let mut c = bus::jetstream::ensure_stream(&js, changed).await.unwrap();
    assert_eq!(
        c.info().await.unwrap().config.duplicate_window,
        Duration::from_secs(600)
    );
}

#[tokio::test]
async fn connect_retries_until_the_server_appears() {
    // Reserve a port, start connecting, then start the server on it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("nats://127.0.0.1:{port}");
    let connecting = tokio::spawn(async move {
        bus::connect::connect(&url, "retry-test", Some(Duration::from_secs(20))).await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!connecting.is_finished(), "still retrying without a server");
    let _server = NatsServer::start_with(testkit::ServerOptions {
        port: Some(port),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = connecting
        .await
        .unwrap()
        .expect("connected once the server is up");
    client.flush().await.unwrap();

    let err = bus::connect::connect(
        "nats://127.0.0.1:1",
        "nobody",
        Some(Duration::from_millis(300)),
    )
    .await;
    assert!(err.is_err());
}
