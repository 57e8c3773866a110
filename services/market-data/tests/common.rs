//! Shared set-up: a private nats-server and market-data instances on it.

#![allow(dead_code)]

use std::time::Duration;

use async_nats::Client;
use testkit::{spawn_connected, NatsServer, ServiceHandle};

pub struct Env {
    pub server: NatsServer,
    pub client: Client,
}

impl Env {
    pub async fn start() -> Env {
        let server = NatsServer::start().await;
        let client = server.client().await;
        Env { server, client }
    }

    /// Starts one market-data instance and waits until it answers.
    pub async fn market_data(
        &self,
        config: market_data::Config,
    ) -> ServiceHandle<market_data::Error> {
        let before = self.count_instances().await;
        let handle = spawn_connected(self.server.url(), move |client, shutdown| {
            market_data::run(config, client, shutdown.wait())
        });
        testkit::wait_until(
            "the new market-data instance in $SRV.PING",
            Duration::from_secs(10),
            || async { (self.count_instances().await > before).then_some(()) },
        )
        .await;
        handle
    }

    pub async fn count_instances(&self) -> usize {
        self.instance_ids().await.len()
    }

    /// `$SRV.PING` ids of the running market-data instances.
    pub async fn instance_ids(&self) -> Vec<String> {
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await.unwrap();
        self.client
            .publish_with_reply("$SRV.PING.market-data", inbox, "".into())
            .await
            .unwrap();
        let mut ids = Vec::new();
        // A no-responders status message is not an instance: count pongs only.
        while let Ok(Some(msg)) = tokio::time::timeout(
            Duration::from_millis(300),
            futures::StreamExt::next(&mut sub),
        )
        .await
        {
            let pong: Option<serde_json::Value> = serde_json::from_slice(&msg.payload).ok();
            if let Some(p) = pong.filter(|p| p["type"] == "io.nats.micro.v1.ping_response") {
                ids.push(p["id"].as_str().unwrap_or_default().to_string());
            }
        }
        ids
    }
}

pub fn goog_csv() -> String {
    std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).expect("testdata/GOOG.csv")
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
