//! Publishing market data into the MARKET stream: the event envelope, the
//! `Nats-Msg-Id` that makes re-publishing harmless, and publish acks.

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::Context;
use async_nats::HeaderMap;
use bus::{headers, subjects};
use model::event::types;
use model::{Bar, Event, Quote};

use crate::Error;
use bus::BusError;

pub const SOURCE: &str = "market-data";

/// Sends a bar; the returned future resolves to the publish ack (whose
/// `duplicate` flag tells a re-import from a new bar).
pub async fn publish_bar(
    js: &Context,
    bar: &Bar,
    correlation_id: &str,
) -> Result<PublishAckFuture, Error> {
    let msg_id = subjects::bar_msg_id(&bar.symbol, bar.timeframe, bar.ts);
    let event = Event::new(
        msg_id.clone(),
        types::MARKET_DATA_UPDATE,
        correlation_id,
        SOURCE,
        bar,
    );
    send(
        js,
        subjects::bar(&bar.symbol, bar.timeframe),
        Some(&msg_id),
        &event,
        correlation_id,
    )
    .await
}

/// Sends a quote tick. Ticks are not de-duplicated: each is new.
pub async fn publish_quote(
    js: &Context,
    quote: &Quote,
    correlation_id: &str,
) -> Result<PublishAckFuture, Error> {
    let event = Event::new(
        model::ids::new_id(),
        types::QUOTE_UPDATE,
        correlation_id,
        SOURCE,
        quote,
    );
    send(
        js,
        subjects::tick(&quote.symbol),
        None,
        &event,
        correlation_id,
    )
    .await
}

async fn send<T: serde::Serialize>(
    js: &Context,
    subject: String,
    msg_id: Option<&str>,
    event: &Event<T>,
    correlation_id: &str,
) -> Result<PublishAckFuture, Error> {
    let payload = serde_json::to_vec(event).map_err(|e| Error::Internal(e.to_string()))?;
    let mut hdrs = HeaderMap::new();
    if let Some(id) = msg_id {
        hdrs.insert(headers::MSG_ID, id);
    }
    hdrs.insert(headers::EVENT_TYPE, event.kind.as_str());
    hdrs.insert(headers::CORRELATION_ID, correlation_id);
    bus::trace::inject(&mut hdrs);
    js.publish_with_headers(subject.clone(), hdrs, payload.into())
        .await
        .map_err(|e| BusError::jetstream(&format!("publish to {subject}"), e).into())
}
