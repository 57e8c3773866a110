//! Publishing durable events: the envelope, the headers (`Nats-Msg-Id`,
//! `Event-Type`, `Correlation-Id`, the current `traceparent`) and the publish ack, in one place. And where
//! each ORDERS event goes: its subject and its de-duplication id.

use async_nats::jetstream::{self, context::PublishErrorKind};
use async_nats::HeaderMap;
use model::Event;
use serde::Serialize;
use trading::event::OrderEvent;

use crate::{headers, subjects};

/// Header asking JetStream to store the message only if the subject's last
/// sequence is this (0: the subject is empty), for create-once events.
pub const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";

/// What happened to a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Stream sequence of the message (of the original one for a duplicate).
    pub sequence: u64,
    /// JetStream had it already (same `Nats-Msg-Id` in the duplicate window).
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// `expected_last_subject_sequence` did not hold: someone wrote first.
    #[error("{subject} already has a message")]
    NotFirst { subject: String },
    #[error("publish to {subject} failed: {message}")]
    Failed { subject: String, message: String },
}

/// Publishes `data` in an [`Event`] envelope and waits for the stream's ack.
#[allow(clippy::too_many_arguments)]
pub async fn publish<T: Serialize>(
    js: &jetstream::Context,
    subject: String,
    msg_id: &str,
    event_type: &str,
    correlation_id: &str,
    source: &str,
    data: &T,
    expected_last_subject_sequence: Option<u64>,
) -> Result<Stored, PublishError> {
    let failed = |subject: &str, message: String| PublishError::Failed {
        subject: subject.to_string(),
        message,
    };
    let event = Event::new(msg_id, event_type, correlation_id, source, data);
    let payload = serde_json::to_vec(&event).map_err(|e| failed(&subject, e.to_string()))?;
    let mut hdrs = HeaderMap::new();
    hdrs.insert(headers::MSG_ID, msg_id);
    hdrs.insert(headers::EVENT_TYPE, event_type);
    hdrs.insert(headers::CORRELATION_ID, correlation_id);
    crate::trace::inject(&mut hdrs);
    if let Some(seq) = expected_last_subject_sequence {
        hdrs.insert(EXPECTED_LAST_SUBJECT_SEQUENCE, seq.to_string().as_str());
    }
    let ack = js
        .publish_with_headers(subject.clone(), hdrs, payload.into())
        .await
        .map_err(|e| failed(&subject, e.to_string()))?;
    match ack.await {
        Ok(ack) => Ok(Stored {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        }),
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
            Err(PublishError::NotFirst { subject })
        }
        Err(e) => Err(failed(&subject, e.to_string())),
    }
}

/// Subject and `Nats-Msg-Id` of an ORDERS event.
pub fn order_event_route(event: &OrderEvent) -> (String, String) {
    use subjects::msg_id;
    match event {
        OrderEvent::OrderAccepted { order } => (
            subjects::order_event(&order.account, "accepted"),
            msg_id::order_decision(&order.id),
        ),
        OrderEvent::OrderRejected { order, .. } => (
            subjects::order_event(&order.account, "rejected"),
            msg_id::order_decision(&order.id),
        ),
        OrderEvent::OrderCanceled {
            order_id, account, ..
        } => (
            subjects::order_event(account, "canceled"),
            msg_id::cancel(order_id),
        ),
        OrderEvent::OrderExpired {
            order_id, account, ..
        } => (
            subjects::order_event(account, "expired"),
            msg_id::expire(order_id),
        ),
        OrderEvent::OrderFilled { fill } => (
            subjects::fill(&fill.account, &fill.symbol),
            msg_id::fill(&fill.fill_id),
        ),
        OrderEvent::AccountOpened(a) => (
            subjects::account_event(&a.account, "opened"),
            msg_id::account_opened(&a.account),
        ),
        OrderEvent::ProtectionSet(p) => (
            subjects::account_event(&p.account, "protection"),
            format!("prot:{}:{}:{}", p.account, p.symbol, model::ids::new_id()),
        ),
    }
}

/// Publishes an ORDERS event to its subject with its de-duplication id.
/// `AccountOpened` is create-once (the subject must be empty).
pub async fn publish_order_event(
    js: &jetstream::Context,
    event: &OrderEvent,
    correlation_id: &str,
    source: &str,
) -> Result<Stored, PublishError> {
    let (subject, msg_id) = order_event_route(event);
    let expected = matches!(event, OrderEvent::AccountOpened(_)).then_some(0);
    publish(
        js,
        subject,
        &msg_id,
        event.event_type(),
        correlation_id,
        source,
        event,
        expected,
    )
    .await
}

/// Decodes an ORDERS message body.
pub fn decode_order_event(payload: &[u8]) -> Result<Event<OrderEvent>, serde_json::Error> {
    serde_json::from_slice(payload)
}

/// Publishes a news item to NEWS (`evt.news.<id>`, `NEWS_PUBLISHED`); the
/// item's id is its `Nats-Msg-Id`, so publishing it twice stores it once.
pub async fn publish_news(
    js: &jetstream::Context,
    item: &crate::api::sentiment::NewsItem,
    correlation_id: &str,
    source: &str,
) -> Result<Stored, PublishError> {
    let subject = subjects::sentiment::news(&item.id);
    if !trading::valid_id(&item.id) {
        return Err(PublishError::Failed {
            subject,
            message: format!(
                "invalid news id {:?}: use 1 to 64 of A-Z a-z 0-9 - _",
                item.id
            ),
        });
    }
    publish(
        js,
        subject,
        &subjects::sentiment::news_msg_id(&item.id),
        model::event::types::NEWS_PUBLISHED,
        correlation_id,
        source,
        item,
        None,
    )
    .await
}
