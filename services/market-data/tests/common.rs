//! Shared set-up: a private nats-server and market-data instances on it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use testkit::{Instance, Platform};

pub struct Env {
    pub platform: Platform,
    pub client: Client,
}

impl Env {
    pub async fn start() -> Env {
        let platform = Platform::builder().start().await;
        let client = platform.client().clone();
        Env { platform, client }
    }

    /// Starts one market-data instance and waits until it answers.
    pub async fn market_data(&self, config: market_data::Config) -> Arc<Instance> {
        self.platform
            .add(bus::subjects::md::SERVICE, move |client, shutdown| {
                market_data::run(config.clone(), client, shutdown.wait())
            })
            .await
    }

    pub async fn count_instances(&self) -> usize {
        self.instance_ids().await.len()
    }

    /// `$SRV.PING` ids of the running market-data instances.
    pub async fn instance_ids(&self) -> Vec<String> {
        self.platform.instance_ids(bus::subjects::md::SERVICE).await
    }
}

pub fn goog_csv() -> String {
    testkit::paths::goog_csv()
}

/// Sends `body` and returns the raw reply.
pub async fn raw(client: &Client, subject: &str, body: &str) -> async_nats::Message {
    tokio::time::timeout(
        Duration::from_secs(10),
        client.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .expect("reply within 10 s")
    .expect("a reply")
}

/// Asserts the reply is a micro error with `code`, and returns its JSON body.
pub fn expect_error(reply: &async_nats::Message, code: u16) -> serde_json::Value {
    let headers = reply.headers.as_ref().expect("error replies carry headers");
    assert_eq!(
        headers
            .get("Nats-Service-Error-Code")
            .map(|v| v.as_str().to_string()),
        Some(code.to_string()),
        "code header; body {}",
        String::from_utf8_lossy(&reply.payload)
    );
    let message = headers
        .get("Nats-Service-Error")
        .expect("Nats-Service-Error header");
    assert!(!message.as_str().is_empty());
    let body: serde_json::Value = serde_json::from_slice(&reply.payload).expect("JSON error body");
    assert_eq!(body["code"], code);
    assert_eq!(body["message"].as_str().unwrap(), message.as_str());
    body
}
