//! A private nats-server with market-data (GOOG imported as needed), risk and
//! execution instances; accounts opened through ORDERS as the portfolio
//! service opens them.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use bus::api::orders::ListResponse;
use bus::{events, request, subjects, RequestOptions};
use model::{Bar, Decimal};
use serde_json::json;
use testkit::{Instance, Platform};
use trading::event::{AccountOpened, OrderEvent};
use trading::Order;

pub struct Env {
    pub platform: Platform,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
}

pub fn goog_bars() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

impl Env {
    pub async fn start() -> Env {
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |client, s| {
                market_data::run(market_data::Config::default(), client, s.wait())
            })
            .service(subjects::risk::SERVICE, 1, |client, s| {
                risk_service::run(risk_service::Config::default(), client, s.wait())
            })
            .start()
            .await;
        let client = platform.client().clone();
        Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
        }
    }

    /// Starts one more execution instance and waits until it answers.
    pub async fn execution(&self, config: execution_service::Config) -> Arc<Instance> {
        self.platform
            .add(subjects::execution::SERVICE, move |client, s| {
                execution_service::run(config.clone(), client, s.wait())
            })
            .await
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
