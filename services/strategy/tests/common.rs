//! Shared set-up: a private nats-server, market-data with GOOG, strategy instances.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::Client;
use bus::api::strategy::{SignalEvent, StrategyStatus};
use bus::{request, RequestOptions};
use futures::StreamExt;
use model::{Bar, Decimal, Event, Symbol, Timeframe, UnixNanos};
use testkit::{Instance, Platform};

pub struct Env {
    pub platform: Platform,
    pub client: Client,
}

pub fn goog_bars() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

impl Env {
    pub async fn start() -> Env {
        let platform = Platform::builder()
            .service(bus::subjects::md::SERVICE, 1, |client, s| {
                market_data::run(market_data::Config::default(), client, s.wait())
            })
            .start()
            .await;
        let client = platform.client().clone();
        Env { platform, client }
    }

    /// Starts one more strategy instance; returns it with its `$SRV.PING` id.
    pub async fn strategy_instance(&self) -> (Arc<Instance>, String) {
        let config = strategy_service::Config {
            lease_ttl: Duration::from_millis(1500),
            ..Default::default()
        };
        let instance = self
            .platform
            .add(bus::subjects::strategy::SERVICE, move |client, s| {
                strategy_service::run(config.clone(), client, s.wait())
            })
            .await;
        let id = instance.id();
        (instance, id)
    }

    /// `strategy.status`; `None` when the request is lost (it can reach an
    /// instance that is dying: core NATS is at most once).
    pub async fn status(&self, id: &str) -> Option<StrategyStatus> {
        request(
            &self.client,
            "strategy.status",
            &serde_json::json!({"id": id}),
            RequestOptions::timeout(Duration::from_secs(3)),
        )
        .await
        .ok()
    }

    /// Waits until strategy `id` has processed every bar in MARKET for it.
    pub async fn wait_caught_up(&self, id: &str, last_sequence: u64) -> StrategyStatus {
        testkit::wait_until(
            &format!("strategy {id} to reach {last_sequence}"),
            Duration::from_secs(60),
            || async {
                let s = self.status(id).await?;
                (s.owner.is_some() && s.position >= last_sequence && s.pending_bars == 0)
                    .then_some(s)
            },
        )
        .await
    }

    pub async fn market_last_sequence(&self) -> u64 {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut stream = js.get_stream("MARKET").await.unwrap();
        stream.info().await.unwrap().state.last_sequence
    }

    /// Every signal stored for strategy `id`, in stream order.
    pub async fn signals(&self, id: &str) -> Vec<SignalEvent> {
        let js = async_nats::jetstream::new(self.client.clone());
        let stream = js.get_stream("SIGNALS").await.unwrap();
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: format!("evt.signal.{id}.>"),
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut messages = consumer.messages().await.unwrap();
        while let Ok(Some(Ok(msg))) =
            tokio::time::timeout(Duration::from_millis(500), messages.next()).await
        {
            let event: Event<SignalEvent> = serde_json::from_slice(&msg.payload).unwrap();
            out.push(event.data);
            if msg.info().unwrap().pending == 0 {
                break;
            }
        }
        out
    }
}

/// SMA(fast) / SMA(slow) crossovers computed naively and exactly (decimal
/// sums), with backtesting.py's strict definition: fast below slow on the
/// previous bar and above it on this one → long; the reverse → short.
pub fn expected_sma_crossovers(
    bars: &[Bar],
    fast: usize,
    slow: usize,
) -> Vec<(UnixNanos, model::Direction)> {
    let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
    // diff(t) = fast_mean - slow_mean, scaled by fast*slow to stay exact.
    let diff = |t: usize| -> Option<Decimal> {
        if t + 1 < slow {
            return None;
        }
        let f: Decimal = closes[t + 1 - fast..=t].iter().sum();
        let s: Decimal = closes[t + 1 - slow..=t].iter().sum();
        Some(f * Decimal::from(slow) - s * Decimal::from(fast))
    };
    let mut out = Vec::new();
    for (t, bar) in bars.iter().enumerate().skip(1) {
        let (Some(prev), Some(now)) = (diff(t - 1), diff(t)) else {
            continue;
        };
        if prev < Decimal::ZERO && now > Decimal::ZERO {
            out.push((bar.ts, model::Direction::Long));
        } else if prev > Decimal::ZERO && now < Decimal::ZERO {
            out.push((bar.ts, model::Direction::Short));
        }
    }
    out
}

/// What the strategy crate itself emits over `bars` (a sequential run).
pub fn sequential_signals(
    kind: &str,
    params: serde_json::Value,
    bars: &[Bar],
) -> Vec<(UnixNanos, model::Direction)> {
    let params = params.as_object().cloned().unwrap_or_default();
    let mut s =
        strategy::build(kind, &params, Symbol::new("GOOG").unwrap(), Timeframe::DAY).unwrap();
    bars.iter()
        .filter_map(|b| s.on_bar(b))
        .map(|sig| (sig.ts, sig.direction))
        .collect()
}

pub fn ts_dirs(signals: &[SignalEvent]) -> Vec<(UnixNanos, model::Direction)> {
    signals
        .iter()
        .map(|s| (s.signal.ts, s.signal.direction))
        .collect()
}
