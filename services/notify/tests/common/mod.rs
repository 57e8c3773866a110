//! A private nats-server with a notify instance, local receivers standing in
//! for the outside world, and events published the way their services do.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use bus::{events, subjects, RequestOptions};
use notify_service::Config;
use serde_json::{json, Value};
use testkit::sinks::{HttpRequest, HttpResponse, HttpServer};
use testkit::Platform;

pub const WAIT: Duration = Duration::from_secs(60);

/// Fast retries so tests do not wait on production back-offs.
pub fn config() -> Config {
    let mut config = Config::default();
    config.delivery.first_backoff = Duration::from_millis(50);
    config.delivery.max_backoff = Duration::from_millis(400);
    config.delivery.max_attempts = 1000;
    config.delivery.timeout = Duration::from_secs(5);
    config.ack_wait = Duration::from_secs(4);
    config
}

pub async fn platform(config: Config) -> Platform {
    Platform::builder()
        .service(subjects::notify::SERVICE, 1, move |client, s| {
            notify_service::run(config.clone(), client, s.wait())
        })
        .start()
        .await
}

pub async fn req(client: &async_nats::Client, subject: &str, body: Value) -> Value {
    bus::request::<Value, Value>(
        client,
        subject,
        &body,
        RequestOptions::timeout(Duration::from_secs(10)),
    )
    .await
    .unwrap_or_else(|e| panic!("{subject} {body}: {e}"))
}

pub async fn set_channel(client: &async_nats::Client, channel: Value) {
    req(client, subjects::notify::CHANNELS_SET, channel).await;
}

pub async fn set_rule(client: &async_nats::Client, rule: Value) {
    req(client, subjects::notify::RULES_SET, rule).await;
}

/// An alert as a service publishes it into ALERTS.
pub async fn alert(
    js: &jetstream::Context,
    id: &str,
    severity: &str,
    source: &str,
    account: &str,
    message: &str,
) {
    let data = json!({"account": account, "severity": severity, "message": message,
        "violations": [], "state": "ACTIVE"});
    events::publish(
        js,
        subjects::alert(severity, source),
        id,
        model::event::types::RISK_ALERT,
        &format!("corr-{id}"),
        source,
        &data,
        None,
    )
    .await
    .unwrap();
}

/// A fill as execution publishes it into ORDERS.
pub async fn fill(
    js: &jetstream::Context,
    n: usize,
    account: &str,
    symbol: &str,
    strategy: Option<&str>,
) -> String {
    let fill_id = format!("{account}.o{n}.1");
    let data = json!({"event": "order_filled", "fill": {
        "fill_id": fill_id, "order_id": format!("{account}.o{n}"), "client_order_id": format!("o{n}"),
        "account": account, "symbol": symbol, "side": "buy", "qty": "1", "price": "100.5",
        "commission": "0", "market_ts": 0, "status": "filled", "cum_qty": "1", "leaves_qty": "0",
        "strategy_id": strategy,
    }});
    let id = subjects::msg_id::fill(&fill_id);
    events::publish(
        js,
        format!("evt.fill.{account}.{symbol}"),
        &id,
        model::event::types::ORDER_EXECUTED,
        "corr",
        "execution",
        &data,
        None,
    )
    .await
    .unwrap();
    id
}

/// A sweep's end as backtest publishes it into BACKTESTS.
pub async fn backtest_complete(js: &jetstream::Context, job: &str) {
    let data = json!({"job_id": job, "tasks": 12, "best": [{"index": 3, "params": {"fast": 10}, "objective": 1.5}]});
    events::publish(
        js,
        subjects::backtest_complete(job),
        &format!("complete:{job}"),
        model::event::types::BACKTEST_COMPLETE,
        "corr",
        "backtest",
        &data,
        None,
    )
    .await
    .unwrap();
}

/// Event ids in a webhook request body, with their idempotency keys.
pub fn webhook_events(r: &HttpRequest) -> Vec<(String, String)> {
    r.json()["events"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .map(|e| {
                    (
                        e["notice"]["id"].as_str().unwrap_or_default().to_string(),
                        e["idempotency_key"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Distinct event ids a webhook receiver got.
pub fn ids_received(requests: &[HttpRequest]) -> BTreeSet<String> {
    requests
        .iter()
        .flat_map(webhook_events)
        .map(|(id, _)| id)
        .collect()
}

/// Verifies `X-Trader-Signature` the way a receiver would, independently of
/// the service's code: HMAC-SHA256 over `<timestamp>.<body>`.
pub fn signature_ok(r: &HttpRequest, secret: &str) -> bool {
    let (Some(sig), Some(ts)) = (
        r.header("x-trader-signature"),
        r.header("x-trader-timestamp"),
    ) else {
        return false;
    };
    let Some(hex) = sig.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = ts.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(&r.body);
    ring::hmac::verify(&key, &signed, &expected).is_ok()
}

/// A Telegram Bot API subset: `getUpdates` (long polling, offsets) and
/// `sendMessage`, for one bot token.
#[derive(Clone, Default)]
pub struct FakeTelegram {
    state: Arc<Mutex<TelegramState>>,
}

#[derive(Default)]
struct TelegramState {
    updates: Vec<Value>,
    next_id: i64,
    sent: Vec<(String, String)>,
    /// Offsets asked for, in order.
    offsets: Vec<i64>,
}

impl FakeTelegram {
    pub async fn start(token: &str) -> (HttpServer, FakeTelegram) {
        let fake = FakeTelegram::default();
        fake.state.lock().unwrap().next_id = 1000;
        let f = fake.clone();
        let prefix = format!("/bot{token}/");
        let server = HttpServer::start(move |req| {
            let f = f.clone();
            let prefix = prefix.clone();
            async move { f.answer(req, &prefix).await }
        })
        .await;
        (server, fake)
    }

    async fn answer(&self, req: HttpRequest, prefix: &str) -> HttpResponse {
        let Some(method) = req.path.strip_prefix(prefix) else {
            return HttpResponse::json(
                401,
                &json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
            );
        };
        let body = req.json();
        match method {
            "getUpdates" => {
                let offset = body["offset"].as_i64().unwrap_or(0);
                self.state.lock().unwrap().offsets.push(offset);
                let wait = body["timeout"].as_u64().unwrap_or(0).min(1);
                let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
                loop {
                    let result: Vec<Value> = self
                        .state
                        .lock()
                        .unwrap()
                        .updates
                        .iter()
                        .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                        .cloned()
                        .collect();
                    if !result.is_empty() || tokio::time::Instant::now() >= deadline {
                        return HttpResponse::json(200, &json!({"ok": true, "result": result}));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            "sendMessage" => {
                let chat = match &body["chat_id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let text = body["text"].as_str().unwrap_or_default().to_string();
                self.state.lock().unwrap().sent.push((chat, text));
                HttpResponse::json(200, &json!({"ok": true, "result": {"message_id": 1}}))
            }
            _ => HttpResponse::json(404, &json!({"ok": false, "description": "Not Found"})),
        }
    }

    /// A user in `chat` writes `text`; returns its update id.
    pub fn say(&self, chat: i64, text: &str) -> i64 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        let id = s.next_id;
        s.updates.push(json!({"update_id": id, "message": {
            "message_id": id, "chat": {"id": chat, "type": "private"}, "text": text, "date": 0}}));
        id
    }

    /// Messages sent to `chat`.
    pub fn sent_to(&self, chat: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .sent
            .iter()
            .filter(|(c, _)| c == chat)
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub fn all_sent(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn offsets(&self) -> Vec<i64> {
        self.state.lock().unwrap().offsets.clone()
    }
}

/// Counts per key.
pub fn counts<I: IntoIterator<Item = String>>(keys: I) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}
