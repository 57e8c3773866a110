//! Feeds [`MarketState`] through ordered consumers (re-created by the client
//! after any gap; poison messages are skipped by the follower): every bar of MARKET from the first, and the newest quote per
//! symbol of QUOTES onwards. Only bars move the applied-sequence watermark that
//! reads wait on. Poison messages are logged and skipped: they cannot stop the
//! projection.

use std::sync::Arc;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use bus::subjects::{self, MarketSubject};
use bus::BusError;
use model::{Bar, Event, Quote};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::MarketState;

/// Starts both followers (the one follower loop, [`bus::follow::follow_with`]);
/// they end on `stop`.
pub async fn start(
    market: Stream,
    quotes: Stream,
    state: Arc<MarketState>,
    stop: watch::Receiver<bool>,
) -> Result<[JoinHandle<()>; 2], BusError> {
    let every_subject = |stream: &Stream, deliver_policy| pull::OrderedConfig {
        deliver_policy,
        // Every subject of the stream (last-per-subject needs a filter).
        filter_subjects: stream.cached_info().config.subjects.clone(),
        ..Default::default()
    };
    let s = state.clone();
    let (_, ticks) = bus::follow::follow_with(
        quotes.clone(),
        every_subject(&quotes, DeliverPolicy::LastPerSubject),
        0,
        move |sequence, message| apply(&s, &message.subject, &message.payload, sequence),
        stop.clone(),
    )
    .await?;
    let (_, bars) = bus::follow::follow_with(
        market.clone(),
        every_subject(&market, DeliverPolicy::All),
        0,
        move |sequence, message| {
            apply(&state, &message.subject, &message.payload, sequence);
            state.mark_applied(sequence);
        },
        stop,
    )
    .await?;
    Ok([ticks, bars])
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
