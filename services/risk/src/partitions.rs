//! Account partitions: which risk instance decides which account's checks, so
//! rate, open-order and position limits hold across any number of instances.
//!
//! Accounts hash (FNV-1a of the name: the same on every process and build)
//! into `Config::partitions` partitions. Each instance holds expiring leases
//! (`lease.partition.<n>` in `risk-leases`) over its fair share,
//! `ceil(partitions / members)`, and serves `risk.internal.check.<n>` for each
//! one it holds. A check of an owned account is decided here from the
//! in-memory view; any other is forwarded to its owner (`handlers/check.rs`).
//!
//! Every `lease_ttl / 3` the loop says this instance is alive, renews what it
//! holds (a lease that cannot be renewed is dropped at once), gives up
//! partitions beyond its share and takes free ones up to it. A lease another
//! instance releases wakes the loop at once, so a hand-over takes milliseconds;
//! a dead owner's leases expire and are taken within about one time to live.
//!
//! An owner decides only until `0.9 × lease_ttl` after its last renewal was
//! sent: an instance cut off from KV stops deciding before its lease can expire
//! and be taken by another.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bus::internal::InternalEndpoint;
use bus::lease::Leases;
use bus::subjects::risk as s;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::sync::watch;

use crate::Ctx;

/// The partition of an account: FNV-1a (32 bit) of its name, modulo
/// `partitions`. Stable across processes, unlike std's randomized hasher.
pub fn partition_of(account: &str, partitions: u16) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in account.as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let n = u32::from(partitions.max(1));
    // The remainder is below `partitions`, so it fits.
    u16::try_from(hash % n).unwrap_or(0)
}

/// Which partitions this instance may decide now, read on every check without
/// a lock.
pub struct Ownership {
    epoch: Instant,
    /// Per partition: until when (µs after `epoch`) this instance may decide;
    /// 0: not ours.
    until: Vec<AtomicU64>,
}

impl Ownership {
    pub fn new(partitions: u16) -> Self {
        Ownership {
            epoch: Instant::now(),
            until: (0..partitions.max(1)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn partitions(&self) -> u16 {
        u16::try_from(self.until.len()).unwrap_or(u16::MAX)
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    /// True while this instance holds the partition's lease (and renewed it
    /// recently enough).
    pub fn owns(&self, partition: u16) -> bool {
        let Some(until) = self.until.get(usize::from(partition)) else {
            return false;
        };
        let until = until.load(Ordering::Acquire);
        until != 0 && self.micros(Instant::now()) < until
    }

    fn grant(&self, partition: u16, until: Instant) {
        if let Some(slot) = self.until.get(usize::from(partition)) {
            slot.store(self.micros(until).max(1), Ordering::Release);
        }
    }

    fn revoke(&self, partition: u16) {
        if let Some(slot) = self.until.get(usize::from(partition)) {
            slot.store(0, Ordering::Release);
        }
    }

    /// The partitions this instance decides now.
    pub fn owned(&self) -> Vec<u16> {
        (0..self.partitions()).filter(|p| self.owns(*p)).collect()
    }
}

/// A partition this instance holds.
struct Held {
    revision: u64,
    endpoint: InternalEndpoint,
}

/// The lease loop of one instance.
pub struct Partitions {
    ctx: Arc<Ctx>,
    leases: Leases,
    held: BTreeMap<u16, Held>,
    /// Where this instance starts looking for free partitions, so instances
    /// starting together do not all race for partition 0.
    offset: u16,
}

impl Partitions {
    pub fn new(ctx: Arc<Ctx>, leases: Leases) -> Self {
        let offset = partition_of(leases.holder(), ctx.ownership.partitions());
        Partitions {
            ctx,
            leases,
            held: BTreeMap::new(),
            offset,
        }
    }

    fn valid_for(&self) -> Duration {
        self.ctx.config.lease_ttl.mul_f64(0.9)
    }

    /// One full pass: heartbeat, renew, hand over beyond the share, take up to it.
    pub async fn reconcile(&mut self) {
        if let Err(e) = self.leases.heartbeat().await {
            tracing::warn!(error = %e, "risk lease heartbeat failed");
        }
        let held: Vec<(u16, u64)> = self.held.iter().map(|(p, h)| (*p, h.revision)).collect();
        for (partition, revision) in held {
            let sent = Instant::now();
            match self
                .leases
                .renew(&s::partition_lease(partition), revision)
                .await
            {
                Some(revision) => {
                    self.ctx.ownership.grant(partition, sent + self.valid_for());
                    if let Some(h) = self.held.get_mut(&partition) {
                        h.revision = revision;
                    }
                }
                None => {
                    tracing::warn!(
                        partition,
                        "risk partition lease lost; no longer deciding it"
                    );
                    self.ctx.ownership.revoke(partition);
                    if let Some(h) = self.held.remove(&partition) {
                        h.endpoint.stop().await;
                    }
                }
            }
        }
        let share = self.share().await;
        while self.held.len() > share {
            let Some((partition, held)) = self.held.pop_last() else {
                break;
            };
            tracing::info!(
                partition,
                share,
                "handing a risk partition over to another instance"
            );
            self.give_up(partition, held).await;
        }
        self.take_free(share).await;
    }

    /// How many partitions this instance should hold.
    async fn share(&self) -> usize {
        let members = self.leases.members().await;
        usize::from(self.ctx.ownership.partitions()).div_ceil(members.max(1))
    }

    /// Stops deciding, answers what is queued (as "not the owner"), then
    /// releases the lease so the next owner can take it at once.
    async fn give_up(&mut self, partition: u16, held: Held) {
        self.ctx.ownership.revoke(partition);
        held.endpoint.stop().await;
        self.leases
            .release(&s::partition_lease(partition), held.revision)
            .await;
    }

    /// Takes free partitions until this instance holds `share`.
    async fn take_free(&mut self, share: usize) {
        let n = self.ctx.ownership.partitions();
        for i in 0..n {
            if self.held.len() >= share {
                break;
            }
            let partition =
                u16::try_from((u32::from(self.offset) + u32::from(i)) % u32::from(n)).unwrap_or(0);
            if self.held.contains_key(&partition) {
                continue;
            }
            let name = s::partition_lease(partition);
            let sent = Instant::now();
            let Some(revision) = self.leases.try_acquire(&name).await else {
                continue;
            };
            self.ctx.ownership.grant(partition, sent + self.valid_for());
            match crate::handlers::serve_internal_check(&self.ctx, partition).await {
                Ok(endpoint) => {
                    tracing::info!(partition, "risk partition taken: deciding it here");
                    self.held.insert(partition, Held { revision, endpoint });
                }
                Err(e) => {
                    tracing::warn!(partition, error = %e, "cannot serve a risk partition; giving it back");
                    self.ctx.ownership.revoke(partition);
                    self.leases.release(&name, revision).await;
                }
            }
        }
    }

    /// Runs until `stop`, then gives every partition up and leaves.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let tick = (self.ctx.config.lease_ttl / 3).max(Duration::from_millis(50));
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate; `reconcile` ran already
        let mut released: Option<BoxStream<'static, String>> = match self.leases.released().await {
            Ok(stream) => Some(stream),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch risk leases; relying on the tick");
                None
            }
        };
        loop {
            let next_release = async {
                match released.as_mut() {
                    Some(stream) => stream.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = bus::follow::stopped(&mut stop) => break,
                _ = ticks.tick() => self.reconcile().await,
                release = next_release => match release {
                    Some(_) => {
                        let share = self.share().await;
                        self.take_free(share).await;
                    }
                    None => released = None,
                },
            }
        }
        let held = std::mem::take(&mut self.held);
        for (partition, h) in held {
            self.give_up(partition, h).await;
        }
        self.leases.leave().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_in_range() {
        // FNV-1a 32 of "a" is 0xe40c292c (the published test vector).
        assert_eq!(partition_of("a", 16), (0xe40c_292c_u32 % 16) as u16);
        assert_eq!(partition_of("", 16), (0x811c_9dc5_u32 % 16) as u16);
        for account in ["acc", "bench", "x", "A-very_long-account-name-0123456789"] {
            assert!(partition_of(account, 16) < 16);
            assert_eq!(partition_of(account, 16), partition_of(account, 16));
            assert_eq!(partition_of(account, 1), 0);
            assert_eq!(partition_of(account, 0), 0);
        }
    }

    #[test]
    fn ownership_lapses_without_renewal() {
        let o = Ownership::new(4);
        assert!(!o.owns(2));
        o.grant(2, Instant::now() + Duration::from_secs(60));
        assert!(o.owns(2));
        assert_eq!(o.owned(), vec![2]);
        o.grant(3, Instant::now());
        assert!(!o.owns(3), "a grant that ends now is already over");
        o.revoke(2);
        assert!(!o.owns(2));
        assert!(!o.owns(99));
    }
}
