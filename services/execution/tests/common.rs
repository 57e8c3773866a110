//! A private nats-server with market-data (GOOG imported as needed), risk and
//! execution instances; accounts opened through ORDERS as the portfolio
//! service opens them.

#![allow(dead_code)]

use std::time::Duration;

use async_nats::jetstream;
use bus::api::orders::ListResponse;
use bus::{events, request, subjects, RequestOptions};
use model::{Bar, Decimal};
use serde_json::json;
use testkit::{spawn_connected, NatsServer, ServiceHandle};
use trading::event::{AccountOpened, OrderEvent};
use trading::Order;

pub struct Env {
    pub server: NatsServer,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub market_data: ServiceHandle<market_data::Error>,
    pub risk: ServiceHandle<risk_service::Error>,
}

pub fn goog_bars() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

pub async fn ready(client: &async_nats::Client, subject: &str, body: &str) {
    testkit::wait_for_service(client, subject, body).await;
}

impl Env {
    pub async fn start() -> Env {
        let server = NatsServer::start().await;
        let client = server.client().await;
        let js = jetstream::new(client.clone());
        let market_data = spawn_connected(server.url(), |client, s| {
            market_data::run(market_data::Config::default(), client, s.wait())
        });
        let risk = spawn_connected(server.url(), |client, s| {
            risk_service::run(risk_service::Config::default(), client, s.wait())
        });
        ready(&client, "md.symbols.list", "").await;
        ready(&client, "risk.limits.get", r#"{"account":"x"}"#).await;
        Env {
            server,
            client,
            js,
            market_data,
            risk,
        }
    }

    pub fn execution(
        &self,
        config: execution_service::Config,
    ) -> ServiceHandle<execution_service::Error> {
        spawn_connected(self.server.url(), move |client, s| {
            execution_service::run(config, client, s.wait())
        })
    }

    pub async fn execution_ready(&self) {
        ready(&self.client, "orders.list", "{}").await;
    }

    /// Imports GOOG rows `[from, to)` through `md.import`.
    pub async fn import_goog(&self, from: usize, to: usize) {
        let text = std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        let csv = format!(
            "Date,Open,High,Low,Close,Volume\n{}\n",
            rows[from..to].join("\n")
        );
        let report: serde_json::Value = request(
            &self.client,
            "md.import",
            &json!({"symbol": "GOOG", "csv": csv}),
            RequestOptions::timeout(Duration::from_secs(60)),
        )
        .await
        .unwrap();
        assert_eq!(report["published"], (to - from) as u64);
    }

    pub async fn open_account(&self, account: &str, cash: Decimal) {
        let e = OrderEvent::AccountOpened(AccountOpened {
            account: account.to_string(),
            cash,
        });
        let _ = events::publish_order_event(&self.js, &e, "test", "test").await;
    }

    pub async fn submit(&self, body: serde_json::Value) -> Result<Order, bus::RequestError> {
        request(
            &self.client,
            subjects::execution::SUBMIT,
            &body,
            RequestOptions::timeout(Duration::from_secs(10)),
        )
        .await
    }

    pub async fn get(&self, account: &str, coid: &str) -> Option<Order> {
        request(
            &self.client,
            subjects::execution::GET,
            &json!({"account": account, "client_order_id": coid}),
            RequestOptions::timeout(Duration::from_secs(3)),
        )
        .await
        .ok()
    }

    /// Waits until the order reaches a state no longer working.
    pub async fn wait_done(&self, account: &str, coid: &str) -> Order {
        testkit::wait_until(
            &format!("order {coid} done"),
            Duration::from_secs(20),
            || async {
                self.get(account, coid)
                    .await
                    .filter(|o| !o.status.is_open())
            },
        )
        .await
    }

    pub async fn list(&self, body: serde_json::Value) -> Vec<Order> {
        let r: ListResponse = request(
            &self.client,
            subjects::execution::LIST,
            &body,
            RequestOptions::default(),
        )
        .await
        .unwrap();
        r.orders
    }

    /// Messages in ORDERS (optionally on one subject filter).
    pub async fn orders_count(&self, filter: &str) -> u64 {
        let stream = self.js.get_stream(subjects::streams::ORDERS).await.unwrap();
        let info = stream.info_with_subjects(filter).await.unwrap();
        let mut total = 0;
        let mut info = info;
        while let Some(Ok((_, n))) = futures::StreamExt::next(&mut info).await {
            total += n as u64;
        }
        total
    }
}
