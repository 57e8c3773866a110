//! Feeds [`MarketState`] from the MARKET stream through an ordered consumer
//! (from the first message, re-created by the client after any gap). Poison
//! messages are logged and skipped: they cannot stop the projection.

use std::sync::Arc;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use bus::subjects::{self, MarketSubject};
use futures::StreamExt;
use model::{Bar, Event, Quote};

use crate::state::MarketState;
use crate::Error;
use bus::BusError;

pub async fn run(stream: Stream, state: Arc<MarketState>) -> Result<(), Error> {
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::All,
            filter_subjects: subjects::streams::MARKET_SUBJECTS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::jetstream("create the MARKET projection consumer", e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| BusError::jetstream("read MARKET", e))?;
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "MARKET projection: consumer error; continuing");
                continue;
            }
        };
        let sequence = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(e) => {
                tracing::warn!(error = %e, "MARKET projection: message without metadata");
                continue;
            }
        };
        apply(&state, &message.subject, &message.payload, sequence);
        state.mark_applied(sequence);
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
