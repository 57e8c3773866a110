//! One live instance per node name. A node's durable consumer
//! (`portfolio-<node>`) and sled snapshot are its own: a second copy started
//! with the same `--node` would share the consumer (each seeing part of the
//! fills) and the snapshot. So an instance first takes the node's lease
//! (`lease.<node>` in `portfolio-nodes`) and, while another live instance
//! holds it, waits and says so; a crashed holder's lease expires within the
//! time to live.

use std::time::Duration;

use async_nats::jetstream;
use bus::lease::Leases;
use bus::{subjects, BusError};
use tokio::sync::watch;

/// How long a dead instance keeps its node name.
const TTL: Duration = Duration::from_secs(6);

pub struct NodeLease {
    leases: Leases,
    node: String,
    revision: u64,
}

/// Waits until this instance holds `node`'s lease.
pub async fn claim(
    js: &jetstream::Context,
    node: &str,
    replicas: usize,
) -> Result<NodeLease, BusError> {
    let holder = model::ids::new_id();
    let leases = Leases::open(
        js,
        subjects::buckets::PORTFOLIO_NODES,
        TTL,
        replicas,
        &holder,
    )
    .await?;
    let mut waited = 0u32;
    loop {
        if let Some(revision) = leases.try_acquire(node).await {
            return Ok(NodeLease {
                leases,
                node: node.to_string(),
                revision,
            });
        }
        if waited.is_multiple_of(5) {
            let other = leases.holder_of(node).await.unwrap_or_default();
            tracing::warn!(
                node,
                held_by = %other,
                "another portfolio instance runs as this node; waiting for it to stop (give each instance its own --node)"
            );
        }
        waited += 1;
        tokio::time::sleep(TTL / 3).await;
    }
}

impl NodeLease {
    /// Keeps the lease until `stop`, then gives it up at once.
    pub async fn keep(mut self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(TTL / 3);
        loop {
            tokio::select! {
                _ = bus::follow::stopped(&mut stop) => break,
                _ = tick.tick() => match self.leases.renew(&self.node, self.revision).await {
                    Some(revision) => self.revision = revision,
                    None => tracing::error!(node = %self.node, "lost the node lease: another instance may take this node"),
                },
            }
        }
        self.leases.release(&self.node, self.revision).await;
    }
}
