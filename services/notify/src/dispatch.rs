//! From the streams to the channels, losing nothing.
//!
//! Each source has a durable pull consumer (explicit acks). An event is
//! matched against the rules; each channel it goes to gets it in its own
//! queue, served by one worker (in order, paced by the channel's token
//! bucket; when more than `coalesce_after` notices wait, they go as one
//! digest). A delivery is retried with exponential back-off and jitter,
//! honouring `Retry-After`, and after the channel's last attempt (or at once
//! on an error retrying cannot fix) each notice goes to NOTIFY_DEAD with the
//! last error. The event is acknowledged when every channel it went to has
//! delivered or dead-lettered it; until then a crash means redelivery. A
//! delivery is written to `notify-sent` before the ack, and a redelivered
//! event skips the channels that already have it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{self, AckKind};
use bus::api::notify::{ChannelLimits, DeadLetter, Notice};
use bus::{subjects, BusError};
use futures::StreamExt;
use parking_lot::Mutex;
use rand::Rng;
use tokio::sync::{mpsc, watch};

use crate::channels::{self, Delivery};
use crate::store::sent_key;
use crate::{Ctx, DeliveryPolicy};

/// Event type of a dead letter.
pub const NOTIFICATION_DEAD: &str = "NOTIFICATION_DEAD";

/// One event on its way to one channel.
pub struct Item {
    notice: Arc<Notice>,
    /// `<event id>@<channel>`.
    key: String,
    pending: Arc<Pending>,
}

/// An event not acknowledged yet: how many channels still owe it.
struct Pending {
    message: Mutex<Option<jetstream::Message>>,
    remaining: AtomicUsize,
    consumer: &'static str,
    sequence: u64,
}

pub struct Dispatcher {
    ctx: Weak<Ctx>,
    stop: watch::Receiver<bool>,
    workers: Mutex<HashMap<String, mpsc::UnboundedSender<Item>>>,
    in_flight: Mutex<HashMap<(&'static str, u64), Arc<Pending>>>,
    /// The last SYSTEM_HEALTH sample this instance saw, summarised.
    health: Mutex<Option<crate::notice::HealthSummary>>,
}

/// The idempotency key of an event on a channel.
pub fn idempotency_key(event_id: &str, channel: &str) -> String {
    format!("{event_id}@{channel}")
}

/// The durable consumer `name` on `stream` (created, or updated to this
/// configuration); new events only, from its first creation on.
pub async fn consumer(
    ctx: &Ctx,
    stream: &jetstream::stream::Stream,
    name: &'static str,
    filter: &str,
) -> Result<PullConsumer, BusError> {
    let config = pull::Config {
        durable_name: Some(name.to_string()),
        description: Some("notify: events to channels".to_string()),
        filter_subject: filter.to_string(),
        deliver_policy: DeliverPolicy::New,
        ack_policy: AckPolicy::Explicit,
        ack_wait: ctx.config.ack_wait,
        max_ack_pending: ctx.config.max_ack_pending,
        max_deliver: -1,
        num_replicas: ctx.config.stream.replicas,
        ..Default::default()
    };
    bus::jetstream::provision(&format!("consumer {name}"), || async {
        stream
            .create_consumer(config.clone())
            .await
            .map_err(|e| e.to_string())
    })
    .await
}

/// Pulls `consumer` until the stop signal.
pub async fn consume(
    ctx: Arc<Ctx>,
    consumer: PullConsumer,
    name: &'static str,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let mut messages = tokio::select! {
            _ = bus::follow::stopped(&mut stop) => return,
            m = consumer.messages() => match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "cannot pull; retrying");
                    if !pause(Duration::from_secs(1), &mut stop).await {
                        return;
                    }
                    continue;
                }
            },
        };
        loop {
            let next = tokio::select! {
                _ = bus::follow::stopped(&mut stop) => return,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => ctx.dispatcher.accept(&ctx, name, message).await,
                Some(Err(e)) => tracing::debug!(consumer = name, error = %e, "pull"),
                None => break,
            }
        }
    }
}

impl Dispatcher {
    pub fn new(ctx: Weak<Ctx>, stop: watch::Receiver<bool>) -> Self {
        Dispatcher {
            ctx,
            stop,
            workers: Mutex::default(),
            in_flight: Mutex::default(),
            health: Mutex::default(),
        }
    }

    async fn accept(&self, ctx: &Ctx, consumer: &'static str, message: jetstream::Message) {
        let Ok(info) = message.info() else {
            return;
        };
        let (sequence, delivered) = (info.stream_sequence, info.delivered);
        if let Some(pending) = self.in_flight.lock().get(&(consumer, sequence)) {
            // Redelivered while still on its way here: keep the newest handle.
            *pending.message.lock() = Some(message);
            return;
        }
        let mut notice = match crate::notice::from_event(&message.subject, &message.payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(consumer, sequence, error = %e, "not an event; terminated");
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
        };
        if notice.event_type == crate::notice::SYSTEM_HEALTH {
            // Samples come every few seconds: only a change is news.
            let summary = crate::notice::HealthSummary::of(&notice.data);
            let previous = self.health.lock().replace(summary.clone());
            if !previous.is_some_and(|p| summary.describe_change(&p, &mut notice)) {
                let _ = message.ack().await;
                return;
            }
        }
        let notice = Arc::new(notice);
        let mut channels = ctx.store.channels_for(&notice);
        if delivered > 1 {
            // A redelivery: leave out the channels that have it already.
            let mut todo = Vec::new();
            for channel in channels {
                let key = sent_key(&channel, &notice.id);
                match ctx.store.sent.get(&key).await {
                    Ok(Some(_)) => {}
                    _ => todo.push(channel),
                }
            }
            channels = todo;
        }
        if channels.is_empty() {
            if let Err(e) = message.ack().await {
                tracing::warn!(consumer, sequence, error = %e, "ack failed");
            }
            return;
        }
        let pending = Arc::new(Pending {
            message: Mutex::new(Some(message)),
            remaining: AtomicUsize::new(channels.len()),
            consumer,
            sequence,
        });
        self.in_flight
            .lock()
            .insert((consumer, sequence), pending.clone());
        for channel in channels {
            let item = Item {
                notice: notice.clone(),
                key: idempotency_key(&notice.id, &channel),
                pending: pending.clone(),
            };
            self.enqueue(channel, item);
        }
    }

    fn enqueue(&self, channel: String, item: Item) {
        let mut workers = self.workers.lock();
        let item = match workers.get(&channel) {
            Some(tx) => match tx.send(item) {
                Ok(()) => return,
                Err(mpsc::error::SendError(item)) => item,
            },
            None => item,
        };
        let Some(ctx) = self.ctx.upgrade() else {
            return;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(item);
        workers.insert(channel.clone(), tx);
        tokio::spawn(worker(ctx, channel, rx, self.stop.clone()));
    }

    /// One channel is done with an item; the last one acknowledges the event.
    async fn done(&self, item: Item) {
        let pending = item.pending;
        if pending.remaining.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let message = pending.message.lock().take();
        if let Some(message) = message {
            if let Err(e) = message.ack().await {
                tracing::warn!(sequence = pending.sequence, error = %e, "ack failed; the event will come again");
            }
        }
        self.in_flight
            .lock()
            .remove(&(pending.consumer, pending.sequence));
    }
}

/// Serves one channel's queue until the stop signal.
async fn worker(
    ctx: Arc<Ctx>,
    name: String,
    mut rx: mpsc::UnboundedReceiver<Item>,
    mut stop: watch::Receiver<bool>,
) {
    let mut queue: VecDeque<Item> = VecDeque::new();
    let mut bucket = TokenBucket::new();
    loop {
        if queue.is_empty() {
            tokio::select! {
                _ = bus::follow::stopped(&mut stop) => return,
                item = rx.recv() => match item {
                    Some(item) => queue.push_back(item),
                    None => return,
                },
            }
        }
        let channel = match ctx.store.channel(&name) {
            Some(c) if c.enabled => c,
            _ => {
                tracing::warn!(channel = %name, dropped = queue.len(), "channel deleted or disabled; its queued notices are dropped");
                for item in queue.drain(..) {
                    ctx.dispatcher.done(item).await;
                }
                continue;
            }
        };
        let limits = channel.limits;
        if let Some(window) = limits.window_ms.filter(|w| *w > 0) {
            if !pause(Duration::from_millis(window), &mut stop).await {
                return;
            }
        }
        drain(&mut rx, &mut queue);
        if let Some(wait) = bucket.wait(&limits) {
            if !pause(wait, &mut stop).await {
                return;
            }
            drain(&mut rx, &mut queue);
        }
        let n = if queue.len() > limits.coalesce_after() {
            queue.len().min(limits.digest_max())
        } else {
            1
        };
        let batch: Vec<Item> = queue.drain(..n).collect();
        bucket.take(&limits);
        if !deliver(&ctx, &name, batch, &mut stop).await {
            return;
        }
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Item>, queue: &mut VecDeque<Item>) {
    while let Ok(item) = rx.try_recv() {
        queue.push_back(item);
    }
}

/// Sleeps unless stopped first (false).
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = bus::follow::stopped(stop) => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// Delivers a batch (one notice or a digest) until it is sent or dead-lettered;
/// false when stopped first (nothing acknowledged: the events come again).
async fn deliver(
    ctx: &Arc<Ctx>,
    name: &str,
    batch: Vec<Item>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let delivery = Delivery::new(
        name,
        batch
            .iter()
            .map(|i| (i.notice.clone(), i.key.clone()))
            .collect(),
    );
    let policy = &ctx.config.delivery;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let Some(channel) = ctx.store.channel(name) else {
            for item in batch {
                ctx.dispatcher.done(item).await;
            }
            return true;
        };
        let max = channel
            .limits
            .max_attempts
            .unwrap_or(policy.max_attempts)
            .max(1);
        match channels::send(ctx, &channel, &delivery).await {
            Ok(()) => {
                tracing::debug!(channel = name, key = %delivery.key, notices = batch.len(), attempt, "delivered");
                bus::metrics::notification(name, "delivered", batch.len());
                record_sent(ctx, name, &batch).await;
                for item in batch {
                    ctx.dispatcher.done(item).await;
                }
                return true;
            }
            Err(e) => {
                tracing::warn!(channel = name, key = %delivery.key, attempt, max, error = %e.message, "delivery failed");
                bus::metrics::notification(name, "failed", batch.len());
                if e.permanent || attempt >= max {
                    bus::metrics::notification(name, "dead_lettered", batch.len());
                    for item in &batch {
                        if !dead_letter(ctx, name, item, attempt, &e.message, stop).await {
                            return false;
                        }
                    }
                    for item in batch {
                        ctx.dispatcher.done(item).await;
                    }
                    return true;
                }
                let delay = match e.retry_after {
                    Some(after) => after.min(policy.max_retry_after),
                    None => backoff(policy, attempt),
                };
                if !pause(delay, stop).await {
                    return false;
                }
            }
        }
    }
}

/// `first × 2^(attempt-1)`, at most `max`, ±25 % jitter.
pub fn backoff(policy: &DeliveryPolicy, attempt: u32) -> Duration {
    let base = policy
        .first_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(policy.max_backoff);
    base.mul_f64(rand::thread_rng().gen_range(0.75..1.25))
}

async fn record_sent(ctx: &Ctx, channel: &str, batch: &[Item]) {
    let puts = batch.iter().map(|item| {
        let key = sent_key(channel, &item.notice.id);
        let value = bytes::Bytes::from(item.key.clone());
        async move { ctx.store.sent.put(key, value).await }
    });
    for result in futures::future::join_all(puts).await {
        if let Err(e) = result {
            tracing::warn!(channel, error = %e, "delivery not recorded; a redelivery would send it again");
        }
    }
}

/// Stores the dead letter (retried until JetStream takes it); false when
/// stopped first.
async fn dead_letter(
    ctx: &Ctx,
    channel: &str,
    item: &Item,
    attempts: u32,
    error: &str,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let letter = DeadLetter {
        channel: channel.to_string(),
        idempotency_key: item.key.clone(),
        attempts,
        last_error: error.to_string(),
        notice: (*item.notice).clone(),
    };
    let msg_id = format!("dead:{}", item.key);
    let mut wait = Duration::from_millis(100);
    loop {
        match bus::events::publish(
            &ctx.js,
            subjects::notify::dead(channel),
            &msg_id,
            NOTIFICATION_DEAD,
            &item.notice.correlation_id,
            subjects::notify::SERVICE,
            &letter,
            None,
        )
        .await
        {
            Ok(_) => {
                tracing::error!(channel, key = %item.key, attempts, error, "notice dead-lettered");
                return true;
            }
            Err(e) => {
                tracing::warn!(channel, error = %e, "dead letter not stored; retrying");
                if !pause(wait, stop).await {
                    return false;
                }
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Messages per minute, in bursts of at most `burst`.
struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new() -> Self {
        TokenBucket {
            tokens: f64::MAX,
            at: Instant::now(),
        }
    }

    fn rate(limits: &ChannelLimits) -> Option<(f64, f64)> {
        let per_minute = limits.per_minute.filter(|p| *p > 0)? as f64;
        let burst = limits
            .burst
            .map(|b| b as f64)
            .unwrap_or(per_minute)
            .max(1.0);
        Some((per_minute / 60.0, burst))
    }

    fn refill(&mut self, limits: &ChannelLimits) {
        if let Some((rate, burst)) = Self::rate(limits) {
            let now = Instant::now();
            let elapsed = now.duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens.min(burst) + elapsed * rate).min(burst);
            self.at = now;
        }
    }

    /// How long until a message may go (None: now).
    fn wait(&mut self, limits: &ChannelLimits) -> Option<Duration> {
        let (rate, _) = Self::rate(limits)?;
        self.refill(limits);
        (self.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - self.tokens) / rate))
    }

    fn take(&mut self, limits: &ChannelLimits) {
        if Self::rate(limits).is_some() {
            self.refill(limits);
            self.tokens -= 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let policy = DeliveryPolicy {
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..Default::default()
        };
        for (attempt, base) in [
            (1, 100.0),
            (2, 200.0),
            (3, 400.0),
            (5, 1000.0),
            (30, 1000.0),
        ] {
            let d = backoff(&policy, attempt).as_secs_f64() * 1000.0;
            assert!(
                d >= base * 0.75 && d <= base * 1.25,
                "attempt {attempt}: {d} ms"
            );
        }
    }

    #[test]
    fn the_bucket_holds_a_burst_then_waits() {
        let limits = ChannelLimits {
            per_minute: Some(60),
            burst: Some(2),
            ..Default::default()
        };
        let mut bucket = TokenBucket::new();
        assert!(bucket.wait(&limits).is_none());
        bucket.take(&limits);
        assert!(bucket.wait(&limits).is_none());
        bucket.take(&limits);
        let wait = bucket.wait(&limits).expect("a wait after the burst");
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1));
        assert!(TokenBucket::new().wait(&ChannelLimits::default()).is_none());
    }
}
