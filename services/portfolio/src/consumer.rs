//! The durable consumer `portfolio-<node>` on the fills and account events of
//! ORDERS. It is re-created at every start from the snapshot's sequence + 1
//! (the snapshot, not the consumer's ack floor, says what this node has: a
//! snapshot lost or deleted means a replay from the start). Each event: apply
//! → save the changed account and the sequence to sled (one atomic batch) →
//! ack → `PORTFOLIO_UPDATE`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::AckKind;
use futures::StreamExt;
use tokio::sync::watch;

use trading::event::OrderEvent;

use crate::{marks, updates, Ctx, APPLIED_SUBJECTS};

/// The durable consumer of node `node` on ORDERS.
pub fn durable_name(node: &str) -> String {
    format!("portfolio-{node}")
}

pub async fn run(
    ctx: Arc<Ctx>,
    snapshot: store::Snapshot,
    applied: watch::Sender<u64>,
    health: bus::runner::Health,
    mut stop: watch::Receiver<bool>,
) {
    let durable = durable_name(&ctx.config.node);
    loop {
        let from = ctx.book.lock().sequence + 1;
        let config = pull::Config {
            durable_name: Some(durable.clone()),
            description: Some(format!("portfolio node {}", ctx.config.node)),
            filter_subjects: APPLIED_SUBJECTS.iter().map(|s| s.to_string()).collect(),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: if from <= 1 {
                DeliverPolicy::All
            } else {
                DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                }
            },
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1_000,
            ..Default::default()
        };
        let Some(mut messages) =
            bus::follow::retry_until(&durable, Duration::from_secs(1), &mut stop, || async {
                // Re-created from the snapshot's sequence, whatever its ack floor says.
                let _ = ctx.orders.delete_consumer(&durable).await;
                ctx.orders
                    .create_consumer(config.clone())
                    .await
                    .map_err(|e| e.to_string())?
                    .messages()
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
        else {
            return;
        };
        tracing::info!(consumer = %durable, from, "following ORDERS");
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                next = messages.next() => next,
            };
            let message = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "reading {durable}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                None => break,
            };
            let Ok(info) = message.info() else { continue };
            let sequence = info.stream_sequence;
            let event = match bus::events::decode_order_event(&message.payload) {
                Ok(e) => Some(e),
                Err(e) => {
                    // A poison message: reported, and passed over like an
                    // event that changes nothing (reads must not wait for it).
                    tracing::error!(sequence, error = %e, "ORDERS message does not parse; skipped");
                    None
                }
            };
            let mut poison = event.is_none();
            let applied_here = {
                let mut book = ctx.book.lock();
                (sequence > book.sequence).then(|| {
                    book.sequence = sequence;
                    let changed = match event.as_ref().map(|e| book.apply(sequence, &e.data)) {
                        Some(Ok(changed)) => changed,
                        Some(Err(e)) => {
                            // A poison event too: its numbers do not fit. The
                            // book is unchanged by it (fills apply all or nothing).
                            tracing::error!(sequence, error = %e, "ORDERS event beyond the decimal range; skipped");
                            poison = true;
                            None
                        }
                        None => None,
                    };
                    let ledger = changed.as_ref().and_then(|a| book.ledgers.get(a).cloned());
                    // The update as of this event, whatever happens next.
                    let update = changed.as_ref().and_then(|a| book.update(a));
                    (changed, ledger, update)
                })
            };
            let Some((changed, ledger, update)) = applied_here else {
                // Already in the snapshot.
                let _ = message.ack().await;
                continue;
            };
            // The book is ahead of the snapshot now: nothing goes on (no ack,
            // no next event) until the snapshot has caught up with it.
            let mut delay = Duration::from_millis(100);
            loop {
                let saved = match (&changed, &ledger) {
                    (Some(account), Some(ledger)) => {
                        snapshot.save(sequence, [(account.as_str(), ledger)])
                    }
                    _ => snapshot.save::<trading::AccountLedger>(sequence, []),
                };
                match saved {
                    Ok(()) => {
                        health.set_failing(false);
                        break;
                    }
                    Err(e) => {
                        // Not ready until the snapshot takes writes again:
                        // this instance can neither apply nor acknowledge.
                        health.set_failing(true);
                        tracing::error!(sequence, error = %e, "snapshot write failed; not ready; retrying");
                        tokio::select! {
                            _ = bus::follow::stopped(&mut stop) => return,
                            _ = tokio::time::sleep(delay) => {}
                        }
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
            let ack = if !poison {
                message.ack().await
            } else {
                message.ack_with(AckKind::Term).await
            };
            if let Err(e) = ack {
                // Harmless: the consumer restarts from the snapshot anyway.
                tracing::debug!(sequence, error = %e, "ack failed");
            }
            if let (Some(account), Some(update), Some(event)) = (&changed, update, &event) {
                // The fill's trace ends here, with the position it made.
                let trace = bus::trace::continue_from(message.headers.as_ref());
                let span = bus::trace_span!("position", trace, service = bus::subjects::portfolio::SERVICE,
                    account = %account, sequence, correlation_id = %event.correlation_id);
                bus::trace::in_span(trace, span, async {
                    updates::publish(&ctx, account, sequence, 0, &update, &event.correlation_id)
                        .await;
                    tracing::debug!(
                        event = event.data.event_type(),
                        "portfolio update published"
                    );
                    // Marked at the newest bar at once (not on the next live one),
                    // so a read after the fill sees what a replay will. What was
                    // in ORDERS at start is marked once, when it is all applied.
                    if let OrderEvent::OrderFilled { fill } = &event.data {
                        if sequence > ctx.start_sequence {
                            marks::mark_at_stored_bars(&ctx, [fill.symbol.clone()]).await;
                        }
                    }
                })
                .await;
            }
            applied.send_replace(sequence);
        }
    }
}
