//! Following a stream: a state built by replaying a stream from its start (or
//! from a snapshot's sequence) and then tailing it, with "applied up to
//! sequence N" published so request handlers can read their own writes.
//!
//! The ordered consumer re-creates itself on gaps and reconnects, so the
//! handler sees every message once, in stream order. A live message with a
//! `traceparent` is applied in an `apply` span of its trace ([`crate::trace`]).

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::Message;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BusError;

/// How far a follower got.
#[derive(Clone)]
pub struct Applied {
    rx: watch::Receiver<u64>,
    stream: Stream,
}

impl Applied {
    /// The stream sequence of the last message applied.
    pub fn sequence(&self) -> u64 {
        *self.rx.borrow()
    }

    /// Waits until `sequence` is applied; false on timeout.
    pub async fn wait(&self, sequence: u64, timeout: Duration) -> bool {
        let mut rx = self.rx.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s >= sequence))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits until everything stored when called is applied (read your writes
    /// across instances); false on timeout.
    pub async fn catch_up(&self, timeout: Duration) -> Result<bool, BusError> {
        let mut stream = self.stream.clone();
        let last = stream
            .info()
            .await
            .map_err(|e| BusError::jetstream("read stream info", e))?
            .state
            .last_sequence;
        Ok(self.wait(last, timeout).await)
    }
}

/// Follows `stream` from `start` (a sequence; 1 or 0 for the beginning) through
/// `apply(sequence, message)` until `stop`. Every message of the stream goes
/// through (no filter), so [`Applied::catch_up`] can compare sequences.
pub async fn follow<F>(
    stream: Stream,
    start: u64,
    apply: F,
    stop: watch::Receiver<bool>,
) -> Result<(Applied, JoinHandle<()>), BusError>
where
    F: FnMut(u64, &Message) + Send + 'static,
{
    let config = pull::OrderedConfig {
        deliver_policy: if start <= 1 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: start,
            }
        },
        ..Default::default()
    };
    follow_with(stream, config, start.saturating_sub(1), apply, stop).await
}

/// [`follow`] with any ordered consumer (a filter, last per subject, …);
/// `applied` is the sequence reported before the first message. With a filter,
/// [`Applied::catch_up`] does not apply (the stream's last message may not be
/// one this follower sees); [`Applied::wait`] does.
pub async fn follow_with<F>(
    stream: Stream,
    config: pull::OrderedConfig,
    applied: u64,
    mut apply: F,
    mut stop: watch::Receiver<bool>,
) -> Result<(Applied, JoinHandle<()>), BusError>
where
    F: FnMut(u64, &Message) + Send + 'static,
{
    let name = stream.cached_info().config.name.clone();
    let mut messages = crate::jetstream::provision(&format!("follower of {name}"), || async {
        let consumer = stream
            .create_consumer(config.clone())
            .await
            .map_err(|e| e.to_string())?;
        consumer.messages().await.map_err(|e| e.to_string())
    })
    .await?;
    let (tx, rx) = watch::channel(applied);
    // Messages stored before we started are a replay: not part of live traces.
    let live_after = stream.cached_info().state.last_sequence;
    let task = tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    let Ok(info) = message.info() else { continue };
                    let sequence = info.stream_sequence;
                    match crate::trace::extract(message.headers.as_ref()) {
                        Some(remote) if sequence > live_after => {
                            let trace = remote.child();
                            let span = crate::trace_span!("apply", trace, stream = %name, sequence);
                            span.in_scope(|| apply(sequence, &message));
                        }
                        _ => apply(sequence, &message),
                    }
                    tx.send_replace(sequence);
                }
                Some(Err(e)) => {
                    tracing::warn!(stream = %name, error = %e, "following stream: retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => {
                    tracing::warn!(stream = %name, "stream follower ended");
                    break;
                }
            }
        }
    });
    Ok((Applied { rx, stream }, task))
}

/// Resolves once `stop` turns true (without holding the watch's guard, so the
/// caller's future stays `Send`).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs `attempt` until it succeeds (creating a consumer, say), saying so in
/// the log each time it fails and pausing `pause` in between; `None` once
/// `stop` turns true ([`crate::retry::retry`] with a fixed pause).
pub async fn retry_until<T, E, F, Fut>(
    what: &str,
    pause: Duration,
    stop: &mut watch::Receiver<bool>,
    attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    crate::retry::retry(
        what,
        crate::retry::Backoff::fixed(pause),
        Some(stop),
        attempt,
    )
    .await
}
