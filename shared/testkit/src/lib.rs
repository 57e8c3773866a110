//! Real parts for tests: private nats-servers and clusters with JetStream on free
//! ports and temporary stores, killed on drop, and the one platform builder every
//! integration test starts from to run services' `run` against them.
//!
//! - [`platform`]: what a test starts from ([`Platform::builder`]): a server or a
//!   cluster, service instances, the GOOG fixture, one readiness wait.
//! - [`server`]: finding and starting nats-server ([`NatsServer`]), from the
//!   `natsproc` crate that the all-in-one binary uses for its embedded server.
//! - [`cluster`]: a private JetStream cluster ([`NatsCluster`]) whose nodes can be
//!   stopped, killed and restarted.
//! - [`spawn`]: [`spawn_service`] / [`spawn_connected`] run a service on a runtime of
//!   its own, with a shutdown signal; `abort` is a real crash.
//! - [`leaf`]: a hub and leaf (edge) servers with JetStream domains, linked
//!   through a relay a test can cut and restore.
//! - [`paths`]: the repository root and test data.
//! - [`http`]: a small HTTP/1.1 client (keep-alive) for the gateway's tests and load tests.
//! - [`sinks`]: local HTTP and SMTP servers standing in for external APIs.
//! - [`wait_until`]: polls a condition with a deadline (tests never assert on time);
//!   [`wait_for_service`]: until an endpoint of a service started by hand answers.

pub mod cluster;
pub mod http;
pub mod leaf;
pub mod paths;
pub mod platform;
pub mod sinks;
pub mod spawn;

pub use cluster::NatsCluster;
/// Finding and starting nats-server (the `natsproc` crate, which `trader run` uses too).
pub use natsproc::server;
pub use natsproc::{NatsServer, ServerOptions};
pub use platform::{Instance, Platform, PlatformBuilder};
pub use spawn::{spawn_connected, spawn_service, ServiceHandle, Shutdown};

use std::future::Future;
use std::time::Duration;

/// Polls `check` every 20 ms until it yields `Some`, or panics after `timeout`
/// with `what` in the message.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `subject` answers `body` with a reply that is not an error
/// (a 404 counts as an answer: the service is up, the thing is unknown). Each
/// try waits one second at most: a request that reaches an instance that just
/// died is lost, not failed. Only for services the [`Platform`] does not start
/// (e.g. each under its own NATS user); the platform waits for its own.
pub async fn wait_for_service(client: &async_nats::Client, subject: &str, body: &str) {
    wait_for_service_within(client, subject, body, Duration::from_secs(15)).await
}

/// [`wait_for_service`] with a deadline of its own (a cluster starting up
/// takes longer than a single node).
pub async fn wait_for_service_within(
    client: &async_nats::Client,
    subject: &str,
    body: &str,
    timeout: Duration,
) {
    wait_until(subject, timeout, || async {
        let reply = tokio::time::timeout(
            Duration::from_secs(1),
            client.request(subject.to_string(), body.to_string().into()),
        )
        .await
        .ok()?
        .ok()?;
        let code = reply
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Service-Error-Code"))
            .map(|v| v.as_str().to_string());
        matches!(code.as_deref(), None | Some("404")).then_some(())
    })
    .await;
}

/// Sends `body` as JSON to `subject` and returns the reply as it came: the
/// micro error code (0 for a success) and the JSON body (the answer or the
/// error envelope). For tests of error replies.
pub async fn raw_request(
    client: &async_nats::Client,
    subject: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let payload = serde_json::to_vec(body).expect("a JSON body");
    let reply = client
        .request(subject.to_string(), payload.into())
        .await
        .unwrap_or_else(|e| panic!("{subject}: {e}"));
    let code = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Service-Error-Code"))
        .map(|v| v.as_str().parse().expect("a numeric error code"))
        .unwrap_or(0);
    let body = serde_json::from_slice(&reply.payload)
        .unwrap_or_else(|e| panic!("{subject}: reply is not JSON: {e}"));
    (code, body)
}

/// Values for a decimal field that a service must refuse with a 4xx naming
/// the field, never a panic: beyond the bounds, `Decimal::MAX`, negative,
/// zero, exponents (as text and as a JSON number), NaN and infinities, and
/// more decimal places than a `Decimal` holds.
pub fn hostile_decimals() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!("1000000000000000"),
        json!("79228162514264337593543950335"),
        json!("-1"),
        json!("0"),
        json!("1e30"),
        json!(1e30),
        json!("NaN"),
        json!("Infinity"),
        json!("-Infinity"),
        json!("0.0000000000000000000000000001"),
    ]
}
