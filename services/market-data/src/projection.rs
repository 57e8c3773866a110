//! Feeds [`MarketState`] through ordered consumers (re-created by the client
//! after any gap): every bar of MARKET from the first, and the newest quote per
//! symbol of QUOTES onwards. Only bars move the applied-sequence watermark that
//! reads wait on. Poison messages are logged and skipped: they cannot stop the
//! projection.

use std::sync::Arc;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use bus::subjects::{self, MarketSubject};
use futures::StreamExt;
use model::{Bar, Event, Quote};

use crate::state::MarketState;
use crate::Error;
use bus::BusError;

pub async fn run(market: Stream, quotes: Stream, state: Arc<MarketState>) -> Result<(), Error> {
    let ticks = tokio::spawn(follow(
        quotes,
        DeliverPolicy::LastPerSubject,
        state.clone(),
        false,
    ));
    let bars = follow(market, DeliverPolicy::All, state, true).await;
    ticks.abort();
    bars
}

async fn follow(
    stream: Stream,
    deliver_policy: DeliverPolicy,
    state: Arc<MarketState>,
    watermark: bool,
) -> Result<(), Error> {
    let name = stream.cached_info().config.name.clone();
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy,
            // Every subject of the stream (last-per-subject needs a filter).
            filter_subjects: stream.cached_info().config.subjects.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::jetstream(&format!("create the {name} projection consumer"), e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| BusError::jetstream(&format!("read {name}"), e))?;
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(stream = %name, error = %e, "projection: consumer error; continuing");
                continue;
            }
        };
        let sequence = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(e) => {
                tracing::warn!(stream = %name, error = %e, "projection: message without metadata");
                continue;
            }
        };
        apply(&state, &message.subject, &message.payload, sequence);
        if watermark {
            state.mark_applied(sequence);
        }
    }
    Ok(())
}

fn apply(state: &MarketState, subject: &str, payload: &[u8], sequence: u64) {
    match subjects::parse_market_subject(subject) {
        Some(MarketSubject::Bar(..)) => match serde_json::from_slice::<Event<Bar>>(payload) {
            Ok(event) => state.apply_bar(event.data),
            Err(e) => tracing::warn!(subject, sequence, error = %e, "skipping undecodable bar"),
        },
        Some(MarketSubject::Tick(_)) => match serde_json::from_slice::<Event<Quote>>(payload) {
            Ok(event) => state.apply_quote(event.data),
            Err(e) => tracing::warn!(subject, sequence, error = %e, "skipping undecodable quote"),
        },
        None => tracing::warn!(
            subject,
            sequence,
            "skipping message on an unknown MARKET subject"
        ),
    }
}
