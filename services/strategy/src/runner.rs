//! Runs one strategy.
//!
//! 1. Reads where the strategy's durable consumer on MARKET got to (its ack
//!    floor), then deletes it: whoever ran it before may have bars in flight.
//! 2. Warm-up: replays the strategy's bars up to that floor through an ordered
//!    consumer, feeding the strategy without publishing, so its indicators are
//!    exactly as they were.
//! 3. Re-creates the durable consumer from floor + 1 and processes bars in
//!    order: signal → SIGNALS (deterministic `Nats-Msg-Id`, publish ack awaited)
//!    → ack the bar. A crash between the two re-delivers the bar, the strategy
//!    emits the same signal, and JetStream drops the duplicate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::AckKind;
use async_nats::HeaderMap;
use bus::api::strategy::{SignalEvent, StrategyRecord};
use bus::{headers, subjects};
use futures::StreamExt;
use model::event::types;
use model::{Bar, Event, Symbol};
use tokio::sync::watch;

use crate::{Ctx, Error};
use bus::BusError;

/// The model each symbol's strategy pins (an ensemble's `model_version`),
/// loaded from the `models` object store.
pub async fn load_models(
    js: &async_nats::jetstream::Context,
    record: &StrategyRecord,
) -> Result<HashMap<Symbol, strategy::EnsembleModel>, bus::ServiceError> {
    let mut out = HashMap::new();
    for symbol in &record.symbols {
        if let Some(m) =
            bus::models::pinned(js, &record.kind, &record.params, symbol, record.timeframe).await?
        {
            out.insert(symbol.clone(), m);
        }
    }
    Ok(out)
}

/// Builds the strategy instance for each symbol (with the models it pins,
/// from [`load_models`]).
pub fn build_all(
    record: &StrategyRecord,
    models: &HashMap<Symbol, strategy::EnsembleModel>,
) -> Result<HashMap<Symbol, Box<dyn strategy::Strategy>>, String> {
    let mut out = HashMap::new();
    for symbol in &record.symbols {
        let s = strategy::build_with_model(
            &record.kind,
            &record.params,
            symbol.clone(),
            record.timeframe,
            models.get(symbol).cloned(),
        )
        .map_err(|e| e.to_string())?;
        out.insert(symbol.clone(), s);
    }
    Ok(out)
}

/// A fingerprint of what the strategy computes: a changed definition starts
/// from the beginning instead of resuming.
fn definition(record: &StrategyRecord) -> String {
    serde_json::json!([
        record.kind,
        record.params,
        record.symbols,
        record.timeframe.to_string()
    ])
    .to_string()
}

pub async fn run(
    ctx: Arc<Ctx>,
    record: StrategyRecord,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let id = record.id.clone();
    let fail = |message: String| Error::Strategy {
        id: id.clone(),
        message,
    };
    let models = load_models(&ctx.js, &record)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut strategies = build_all(&record, &models).map_err(&fail)?;
    let filters: Vec<String> = record
        .symbols
        .iter()
        .map(|s| subjects::bar(s, record.timeframe))
        .collect();
    let durable = subjects::strategy_consumer(&id);
    let fingerprint = definition(&record);

    // 1. Where it got to.
    let mut floor = 0;
    if let Ok(mut existing) = ctx.market.get_consumer::<pull::Config>(&durable).await {
        if let Ok(info) = existing.info().await {
            if info.config.metadata.get("definition") == Some(&fingerprint) {
                floor = info.ack_floor.stream_sequence;
            }
        }
        ctx.market
            .delete_consumer(&durable)
            .await
            .map_err(|e| BusError::jetstream(&format!("reset consumer {durable}"), e))?;
    }

    // 2. Warm-up.
    if floor > 0 {
        let warmed = warm_up(&ctx, &filters, floor, &mut strategies).await?;
        tracing::info!(strategy = %id, bars = warmed, floor, "warm-up replay done");
    }

    // 3. Live.
    let consumer = ctx
        .market
        .create_consumer(pull::Config {
            durable_name: Some(durable.clone()),
            description: Some(format!("feeds strategy {id}")),
            filter_subjects: filters,
            ack_policy: AckPolicy::Explicit,
            deliver_policy: if floor > 0 {
                DeliverPolicy::ByStartSequence {
                    start_sequence: floor + 1,
                }
            } else {
                DeliverPolicy::All
            },
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1_000,
            metadata: HashMap::from([("definition".to_string(), fingerprint)]),
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::jetstream(&format!("create consumer {durable}"), e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| BusError::jetstream(&format!("read consumer {durable}"), e))?;
    tracing::info!(strategy = %id, kind = %record.kind, from = floor + 1, "strategy running");

    loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                return Err(BusError::jetstream(&format!("read consumer {durable}"), e).into())
            }
            None => return Err(fail("consumer stream ended".to_string())),
        };
        let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
        let event: Event<Bar> = match serde_json::from_slice(&message.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(strategy = %id, sequence, error = %e, "poison bar terminated");
                let _ = message.ack_with(AckKind::Term).await;
                continue;
            }
        };
        // The bar's trace goes on into the signal.
        let trace = bus::trace::continue_from(message.headers.as_ref());
        let span = bus::trace_span!("bar", trace, service = subjects::strategy::SERVICE,
            strategy = %id, correlation_id = %event.correlation_id, sequence);
        let signal = span.in_scope(|| {
            strategies
                .get_mut(&event.data.symbol)
                .and_then(|s| s.on_bar(&event.data))
        });
        if let Some(signal) = signal {
            let signal_event = SignalEvent {
                strategy_id: id.clone(),
                kind: record.kind.clone(),
                mode: record.mode,
                paper: record.paper.clone(),
                signal,
                bar_sequence: sequence,
            };
            bus::trace::in_span(trace, span, async {
                publish_signal(&ctx, &signal_event, &event.correlation_id).await?;
                tracing::debug!(direction = ?signal_event.signal.direction, "signal published");
                Ok::<_, String>(())
            })
            .await
            .map_err(&fail)?;
            bus::metrics::signal(&id);
        }
        message
            .ack()
            .await
            .map_err(|e| fail(format!("ack of bar {sequence} failed: {e}")))?;
    }
    tracing::info!(strategy = %id, "strategy stopped on this instance");
    Ok(())
}

async fn warm_up(
    ctx: &Ctx,
    filters: &[String],
    floor: u64,
    strategies: &mut HashMap<Symbol, Box<dyn strategy::Strategy>>,
) -> Result<u64, Error> {
    let replay = ctx
        .market
        .create_consumer(pull::OrderedConfig {
            filter_subjects: filters.to_vec(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::jetstream("create warm-up consumer", e))?;
    let mut messages = replay
        .messages()
        .await
        .map_err(|e| BusError::jetstream("read warm-up consumer", e))?;
    let mut fed = 0;
    while let Ok(Some(next)) = tokio::time::timeout(Duration::from_secs(5), messages.next()).await {
        let message = next.map_err(|e| BusError::jetstream("read warm-up consumer", e))?;
        let Ok(info) = message.info() else { continue };
        let (sequence, pending) = (info.stream_sequence, info.pending);
        if sequence > floor {
            break;
        }
        if let Ok(event) = serde_json::from_slice::<Event<Bar>>(&message.payload) {
            if let Some(s) = strategies.get_mut(&event.data.symbol) {
                let _ = s.on_bar(&event.data);
                fed += 1;
            }
        }
        if sequence == floor || pending == 0 {
            break;
        }
    }
    Ok(fed)
}

async fn publish_signal(
    ctx: &Ctx,
    signal: &SignalEvent,
    correlation_id: &str,
) -> Result<(), String> {
    let s = &signal.signal;
    let msg_id = subjects::signal_msg_id(&signal.strategy_id, &s.symbol, s.timeframe, s.ts);
    let event = Event::new(
        msg_id.clone(),
        types::TRADING_SIGNAL,
        correlation_id,
        subjects::strategy::SERVICE,
        signal,
    );
    let payload = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
    let mut hdrs = HeaderMap::new();
    hdrs.insert(headers::MSG_ID, msg_id.as_str());
    hdrs.insert(headers::EVENT_TYPE, types::TRADING_SIGNAL);
    hdrs.insert(headers::CORRELATION_ID, correlation_id);
    bus::trace::inject(&mut hdrs);
    let subject = subjects::signal(&signal.strategy_id, &s.symbol);
    let ack = ctx
        .js
        .publish_with_headers(subject.clone(), hdrs, payload.into())
        .await
        .map_err(|e| format!("publish to {subject}: {e}"))?;
    ack.await
        .map_err(|e| format!("SIGNALS did not acknowledge {msg_id}: {e}"))?;
    Ok(())
}
