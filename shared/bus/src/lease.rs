//! Expiring leases in a KV bucket: a piece of work (a strategy, the simulator)
//! runs on exactly one instance, and moves to another when its holder dies.
//!
//! A lease is a key created with `create` (which fails when the key exists) and
//! kept alive with `update` at the revision the holder last wrote (which fails
//! when someone else took it). The bucket's `max_age` is the lease's time to
//! live: a holder that stops renewing loses the key after it. Members announce
//! themselves the same way (`member.<id>`), so work can be spread evenly.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::BusError;

#[derive(Clone)]
pub struct Leases {
    kv: kv::Store,
    holder: String,
}

fn lease_key(name: &str) -> String {
    format!("lease.{name}")
}

fn member_key(id: &str) -> String {
    format!("member.{id}")
}

impl Leases {
    /// Opens (creating if needed) the lease bucket with the given time to live.
    pub async fn open(
        js: &jetstream::Context,
        bucket: &str,
        ttl: Duration,
        replicas: usize,
        holder: &str,
    ) -> Result<Self, BusError> {
        let kv = crate::jetstream::ensure_kv(
            js,
            kv::Config {
                bucket: bucket.to_string(),
                description: "leases: who runs what (expiring)".to_string(),
                history: 1,
                max_age: ttl,
                num_replicas: replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        Ok(Leases {
            kv,
            holder: holder.to_string(),
        })
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes the lease if nobody holds it; returns its revision.
    pub async fn try_acquire(&self, name: &str) -> Option<u64> {
        self.kv
            .create(lease_key(name), Bytes::from(self.holder.clone()))
            .await
            .ok()
    }

    /// Keeps the lease; `None` means it was lost (expired and taken, or released).
    pub async fn renew(&self, name: &str, revision: u64) -> Option<u64> {
        self.kv
            .update(lease_key(name), Bytes::from(self.holder.clone()), revision)
            .await
            .ok()
    }

    /// Gives the lease up (only if still ours at `revision`).
    pub async fn release(&self, name: &str, revision: u64) {
        let _ = self
            .kv
            .delete_expect_revision(lease_key(name), Some(revision))
            .await;
    }

    /// Who holds the lease now.
    pub async fn holder_of(&self, name: &str) -> Option<String> {
        let bytes = self.kv.get(lease_key(name)).await.ok()??;
        String::from_utf8(bytes.to_vec())
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Names of the leases given up (released) from now on, so a waiting
    /// instance can take one at once rather than on its next tick. Leases that
    /// expire are not announced: pollers find those.
    pub async fn released(&self) -> Result<BoxStream<'static, String>, BusError> {
        use futures::StreamExt;
        let watch = self
            .kv
            .watch(lease_key(">"))
            .await
            .map_err(|e| BusError::jetstream("watch leases", e))?;
        Ok(watch
            .filter_map(|entry| async move {
                let entry = entry.ok()?;
                matches!(
                    entry.operation,
                    kv::Operation::Delete | kv::Operation::Purge
                )
                .then(|| entry.key.strip_prefix("lease.").map(str::to_string))?
            })
            .boxed())
    }

    /// Says this instance is alive (call at least once per time to live).
    pub async fn heartbeat(&self) -> Result<(), BusError> {
        self.kv
            .put(member_key(&self.holder), Bytes::from_static(b"1"))
            .await
            .map(|_| ())
            .map_err(|e| BusError::Publish {
                subject: member_key(&self.holder),
                message: e.to_string(),
            })
    }

    /// Leaves the membership at once (on shutdown).
    pub async fn leave(&self) {
        let _ = self.kv.delete(member_key(&self.holder)).await;
    }

    /// Instances alive now (this one included once it has sent a heartbeat).
    pub async fn members(&self) -> usize {
        use futures::StreamExt;
        let Ok(keys) = self.kv.keys().await else {
            return 1;
        };
        let keys: Vec<String> = keys.filter_map(|k| async move { k.ok() }).collect().await;
        keys.iter()
            .filter(|k| k.starts_with("member."))
            .count()
            .max(1)
    }
}
