//! JetStream's state: every stream (KV buckets' streams included) with its
//! messages, bytes and sequences, and its durable consumers with their lag
//! (also set as the `trader_consumer_*` gauges of this process, so every
//! durable consumer's lag is in `/metrics`, a strategy's `strategy-<id>` too).

use async_nats::jetstream::{self, consumer};
use bus::api::monitor::{ConsumerStatus, JetStreamStatus, StreamStatus};
use futures::TryStreamExt;

/// A consumer that outlives its subscriber: a durable name, or a named
/// consumer with no inactivity threshold. Ordered and ephemeral consumers
/// (every follower makes one) are left out.
fn durable(info: &consumer::Info) -> bool {
    info.config.durable_name.is_some() || info.config.inactive_threshold.is_zero()
}

pub fn consumer_status(info: &consumer::Info) -> ConsumerStatus {
    let ack_pending = info.num_ack_pending as u64;
    ConsumerStatus {
        name: info.name.clone(),
        pending: info.num_pending,
        ack_pending,
        redelivered: info.num_redelivered as u64,
        lag: info.num_pending.saturating_add(ack_pending),
    }
}

/// Streams sorted by name, consumers by name; `Err` when JetStream does not answer.
pub async fn state(js: &jetstream::Context) -> Result<JetStreamStatus, String> {
    let infos: Vec<jetstream::stream::Info> = js
        .streams()
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    let mut streams = Vec::with_capacity(infos.len());
    for info in infos {
        let mut consumers = Vec::new();
        if info.state.consumer_count > 0 {
            // A stream deleted meanwhile has no consumers to show.
            if let Ok(stream) = js.get_stream(&info.config.name).await {
                let list: Vec<consumer::Info> =
                    stream.consumers().try_collect().await.unwrap_or_default();
                consumers = list
                    .iter()
                    .filter(|c| durable(c))
                    .inspect(|c| bus::metrics::set_consumer_lag(&info.config.name, &c.name, c))
                    .map(consumer_status)
                    .collect();
                consumers.sort_by(|a: &ConsumerStatus, b| a.name.cmp(&b.name));
            }
        }
        streams.push(StreamStatus {
            name: info.config.name,
            messages: info.state.messages,
            bytes: info.state.bytes,
            first_seq: info.state.first_sequence,
            last_seq: info.state.last_sequence,
            consumers,
        });
    }
    streams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(JetStreamStatus { streams })
}
