//! The durable consumer `portfolio-<node>` on ORDERS. It is re-created at every
//! start from the snapshot's sequence + 1 (the snapshot, not the consumer's ack
//! floor, says what this node has: a snapshot lost or deleted means a replay
//! from the start). Each event: apply → save the changed account and the
//! sequence to sled (one atomic batch) → ack → `PORTFOLIO_UPDATE`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::AckKind;
use bus::{events, subjects};
use futures::StreamExt;
use model::event::types;
use tokio::sync::watch;

use crate::Ctx;

pub async fn run(
    ctx: Arc<Ctx>,
    snapshot: store::Snapshot,
    applied: watch::Sender<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let durable = format!("portfolio-{}", ctx.config.node);
    loop {
        let from = ctx.book.lock().unwrap().sequence + 1;
        let config = pull::Config {
            durable_name: Some(durable.clone()),
            description: Some(format!("portfolio node {}", ctx.config.node)),
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
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(sequence, error = %e, "ORDERS message does not parse; skipped");
                    let _ = message.ack_with(AckKind::Term).await;
                    continue;
                }
            };
            let applied_here = {
                let mut book = ctx.book.lock().unwrap();
                (sequence > book.sequence).then(|| {
                    let changed = book.apply(sequence, &event.data);
                    let ledger = changed.as_ref().and_then(|a| book.ledgers.get(a).cloned());
                    (changed, ledger)
                })
            };
            let Some((changed, ledger)) = applied_here else {
                // Already in the snapshot.
                let _ = message.ack().await;
                continue;
            };
            let saved = match (&changed, &ledger) {
                (Some(account), Some(ledger)) => {
                    snapshot.save(sequence, [(account.as_str(), ledger)])
                }
                _ => snapshot.save::<trading::AccountLedger>(sequence, []),
            };
            if let Err(e) = saved {
                // Not persisted: do not ack; the message comes again.
                tracing::error!(sequence, error = %e, "snapshot write failed");
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
                continue;
            }
            let _ = message.ack().await;
            applied.send_replace(sequence);
            if let Some(account) = changed {
                publish_update(&ctx, &account, sequence, 0, &event.correlation_id).await;
            }
        }
    }
}

/// Publishes the account's `PORTFOLIO_UPDATE` (its id names what made it, so
/// every node publishes the same one).
pub async fn publish_update(
    ctx: &Ctx,
    account: &str,
    sequence: u64,
    mark_ts: i64,
    correlation_id: &str,
) {
    let update = ctx.book.lock().unwrap().update(account);
    let Some(update) = update else { return };
    let msg_id = subjects::msg_id::portfolio_update(account, sequence, mark_ts);
    if let Err(e) = events::publish(
        &ctx.js,
        subjects::portfolio_update(account),
        &msg_id,
        types::PORTFOLIO_UPDATE,
        correlation_id,
        subjects::portfolio::SERVICE,
        &update,
        None,
    )
    .await
    {
        tracing::warn!(account, error = %e, "PORTFOLIO_UPDATE not stored");
    }
}
