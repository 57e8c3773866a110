//! The load the fault scenarios run under: orders submitted one after another
//! by a few workers, each retried with the same client order id until some
//! instance answers (timeouts, no responders and 5xx are retried; a 4xx is a
//! bug in the scenario); and readers of what ended in ORDERS.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use bus::{subjects, RequestError, RequestOptions};
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::json;
use trading::Order;

/// How one order is placed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Buy far below / sell far above the market: accepted, never filled.
    RestingLimit,
    /// Market, alternately buy and sell: fills on the next bar.
    Market,
}

/// The body of order `n` (client order id `<prefix><n>`).
pub fn order_body(
    account: &str,
    symbol: &str,
    prefix: &str,
    n: u64,
    kind: Kind,
) -> serde_json::Value {
    let buy = n.is_multiple_of(2);
    let side = if buy { "buy" } else { "sell" };
    match kind {
        Kind::RestingLimit => json!({
            "client_order_id": format!("{prefix}{n}"), "account": account, "symbol": symbol,
            "side": side, "type": "limit", "limit_price": if buy { "1" } else { "100000" }, "qty": "1",
        }),
        Kind::Market => json!({
            "client_order_id": format!("{prefix}{n}"), "account": account, "symbol": symbol,
            "side": side, "type": "market", "qty": "1",
        }),
    }
}

/// Counters of a flow, shared by its workers.
#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    /// Orders that needed more than one attempt.
    pub retried_orders: AtomicU64,
    /// Longest time one order took from its first attempt to its answer.
    pub longest_ms: AtomicU64,
    pub acked: Mutex<HashMap<u64, Order>>,
    /// Orders given up on (no answer within the scenario's bound).
    pub unanswered: Mutex<Vec<u64>>,
    /// Orders refused with a 4xx (the scenario sent something wrong).
    pub refused: Mutex<Vec<String>>,
}

impl Counters {
    pub fn acked_count(&self) -> usize {
        self.acked.lock().len()
    }
}

/// Submits `body` until an instance answers: at most `give_up` in all.
pub async fn submit(
    client: &async_nats::Client,
    body: &serde_json::Value,
    counters: &Counters,
    give_up: Duration,
) -> Result<Order, String> {
    let started = Instant::now();
    let mut attempt = 0u64;
    loop {
        counters.sent.fetch_add(1, Ordering::Relaxed);
        if attempt > 0 {
            counters.retried.fetch_add(1, Ordering::Relaxed);
        }
        attempt += 1;
        let answer = bus::request::<_, Order>(
            client,
            subjects::execution::SUBMIT,
            body,
            RequestOptions::timeout(Duration::from_secs(3)),
        )
        .await;
        match answer {
            Ok(order) => {
                if attempt > 1 {
                    counters.retried_orders.fetch_add(1, Ordering::Relaxed);
                }
                let ms = started.elapsed().as_millis() as u64;
                counters.longest_ms.fetch_max(ms, Ordering::Relaxed);
                return Ok(order);
            }
            Err(RequestError::Service(e)) if e.code < 500 => {
                if attempt > 1 {
                    counters.retried_orders.fetch_add(1, Ordering::Relaxed);
                }
                return Err(format!("refused: {} {}", e.code, e.message));
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                if started.elapsed() >= give_up {
                    return Err(format!("no answer after {give_up:?}: {e}"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A flow of resting limit orders from `workers` workers until `stop` is set
/// or `total` orders were acknowledged.
pub struct Flow {
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Flow {
    pub fn start(
        client: &async_nats::Client,
        account: &str,
        symbol: &str,
        workers: u64,
        total: u64,
    ) -> Flow {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(0));
        let workers = (0..workers)
            .map(|_| {
                let (client, counters, stop, next) =
                    (client.clone(), counters.clone(), stop.clone(), next.clone());
                let (account, symbol) = (account.to_string(), symbol.to_string());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= total {
                            break;
                        }
                        let body = order_body(&account, &symbol, "k", n, Kind::RestingLimit);
                        match submit(&client, &body, &counters, Duration::from_secs(60)).await {
                            Ok(order) => {
                                counters.acked.lock().insert(n, order);
                            }
                            Err(e) if e.starts_with("refused") => {
                                counters.refused.lock().push(format!("k{n}: {e}"))
                            }
                            Err(_) => counters.unanswered.lock().push(n),
                        }
                    }
                })
            })
            .collect();
        Flow {
            counters,
            stop,
            workers,
        }
    }

    /// Waits until `count` orders are acknowledged (or `timeout`).
    pub async fn reached(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.counters.acked_count() < count {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Lets the workers finish the orders they are on and waits for them.
    pub async fn finish(self) -> Arc<Counters> {
        for w in self.workers {
            let _ = w.await;
        }
        self.counters
    }

    /// Stops taking new orders.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Every message of `stream` on `filter`: (subject, Nats-Msg-Id). Retried as a
/// whole until it goes through (a server just restarted may not serve yet).
pub async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
) -> Result<Vec<(String, String)>, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match try_read(js, stream, filter).await {
            Ok(all) => return Ok(all),
            Err(e) if Instant::now() >= deadline => return Err(format!("{stream}: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn try_read(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let stream = js.get_stream(stream).await?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: filter.to_string(),
            ..Default::default()
        })
        .await?;
    let pending = consumer.cached_info().num_pending as usize;
    let mut messages = consumer.messages().await?;
    let mut all = Vec::with_capacity(pending);
    while all.len() < pending {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the stream ended"))??;
        let id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        all.push((m.subject.to_string(), id));
    }
    Ok(all)
}

/// How many of `expected` ids are missing from `found` and how many ids of
/// `found` are there more than once.
pub fn lost_and_duplicated<'a>(
    expected: impl IntoIterator<Item = &'a String>,
    found: &[String],
) -> (u64, u64) {
    let unique: HashSet<&String> = found.iter().collect();
    let lost = expected
        .into_iter()
        .filter(|id| !unique.contains(id))
        .count() as u64;
    (lost, (found.len() - unique.len()) as u64)
}
