//! A platform with every service a prediction asks (market data, strategy
//! for `ind.compute`, risk, portfolio, sentiment) plus the orchestrator, GOOG
//! imported and account `acct1` opened.

#![allow(dead_code)]

use std::time::Duration;

use bus::api::orchestrator::{PredictResponse, Step, StepStatus};
use bus::subjects;
use futures::StreamExt;
use serde_json::{json, Value};
use testkit::Platform;

pub struct Env {
    pub platform: Platform,
    _data: tempfile::TempDir,
}

pub const ACCOUNT: &str = "acct1";

pub async fn env(config: orchestrator_service::Config) -> Env {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let platform = Platform::builder()
        .single_node()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(Default::default(), c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            strategy_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_service::Config::new(dir.clone()), c, s.wait())
        })
        .service(subjects::sentiment::SERVICE, 1, |c, s| {
            sentiment_service::run(Default::default(), c, s.wait())
        })
        .service(subjects::orchestrator::SERVICE, 1, move |c, s| {
            orchestrator_service::run(config.clone(), c, s.wait())
        })
        .import_goog()
        .start()
        .await;
    let (code, body) = testkit::raw_request(
        platform.client(),
        subjects::portfolio::ACCOUNT_OPEN,
        &json!({"account": ACCOUNT, "cash": "100000"}),
    )
    .await;
    assert_eq!(code, 0, "{body}");
    Env {
        platform,
        _data: data,
    }
}

/// A stand-in for the regime service (built on another branch): answers
/// `regime.get` in queue group `q` with `label` for any symbol.
pub async fn regime_stand_in(client: &async_nats::Client, label: &'static str) {
    let mut sub = client
        .queue_subscribe(subjects::regime::GET, subjects::QUEUE_GROUP.to_string())
        .await
        .unwrap();
    let c = client.clone();
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let req: Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
            if let Some(reply) = msg.reply {
                let body = json!({"symbol": req["symbol"], "label": label});
                let _ = c.publish(reply, body.to_string().into()).await;
            }
        }
    });
    c_flush(client).await;
}

async fn c_flush(client: &async_nats::Client) {
    client.flush().await.unwrap();
}

pub async fn predict(client: &async_nats::Client, body: Value) -> PredictResponse {
    let reply = bus::request(
        client,
        subjects::orchestrator::PREDICT,
        &body,
        bus::RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await;
    reply.unwrap_or_else(|e| panic!("orchestrator.predict {body}: {e}"))
}

pub fn step<'a>(p: &'a PredictResponse, name: &str) -> &'a Step {
    p.steps
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step {name}: {p:?}"))
}

pub fn status_of(p: &PredictResponse, name: &str) -> StepStatus {
    step(p, name).status
}
