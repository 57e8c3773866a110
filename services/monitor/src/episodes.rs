//! One alert per episode, however many monitor instances see it.
//!
//! Every monitor evaluates the same conditions on its own samples, so several
//! see the same instance die. An episode is a key `<kind>.<target>` in the KV
//! bucket `monitor-alerts`, opened with `create` (which only one instance can
//! win) and deleted with `delete_expect_revision` once the condition has been
//! inactive `clear_samples` times in a row. The revision `create` returned
//! names the episode, and the alert's `Nats-Msg-Id` is
//! `alert:<kind>.<target>:<revision>`: whoever publishes it (the instance that
//! opened it, again after a failed publish, or another instance that finds the
//! episode open and cannot know whether the opener published before dying),
//! ALERTS' duplicate window keeps one. Others only publish within half that
//! window of the opening, so a long episode is never stored twice.
//!
//! Why not a lease (one alerting instance): at a takeover the new holder does
//! not know which episodes were raised, and would raise them again or miss
//! them; the episode key is that knowledge, shared.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bus::api::monitor::MonitorAlert;
use bus::{events, subjects};
use model::event::types;
use model::UnixNanos;
use serde::{Deserialize, Serialize};

use crate::detector::Observation;

/// The value of an episode key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    opened: UnixNanos,
    alert: MonitorAlert,
}

#[derive(Debug)]
struct Open {
    revision: u64,
    record: Record,
    /// Statuses in a row the condition was inactive (or not seen).
    inactive: u32,
    published: bool,
    /// Instance-gone episodes never end: they are not tracked after publishing.
    ends: bool,
}

pub struct Episodes {
    js: jetstream::Context,
    kv: kv::Store,
    republish_within: Duration,
    clear_samples: u32,
    open: BTreeMap<String, Open>,
}

impl Episodes {
    pub fn new(
        js: jetstream::Context,
        kv: kv::Store,
        duplicate_window: Duration,
        clear_samples: u32,
    ) -> Self {
        Episodes {
            js,
            kv,
            republish_within: duplicate_window / 2,
            clear_samples: clear_samples.max(1),
            open: BTreeMap::new(),
        }
    }

    /// Opens, publishes and closes episodes for this round of observations.
    pub async fn apply(&mut self, observations: Vec<Observation>, correlation_id: &str) {
        let mut seen = BTreeSet::new();
        for obs in observations {
            let key = obs.key();
            seen.insert(key.clone());
            if obs.active {
                self.activate(key, obs).await;
            } else {
                self.deactivate(&key).await;
            }
        }
        let unseen: Vec<String> = self
            .open
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in unseen {
            self.deactivate(&key).await;
        }
        self.publish_pending(correlation_id).await;
    }

    async fn activate(&mut self, key: String, obs: Observation) {
        let ends = obs.alert.kind != bus::api::monitor::AlertKind::InstanceGone;
        if let Some(open) = self.open.get_mut(&key) {
            open.inactive = 0;
            return;
        }
        let record = Record {
            opened: UnixNanos::now(),
            alert: obs.alert,
        };
        let Ok(value) = serde_json::to_vec(&record) else {
            return;
        };
        match self.kv.create(&key, value.into()).await {
            Ok(revision) => {
                tracing::info!(key, revision, "alert episode opened");
                self.track(key, revision, record, ends);
            }
            Err(_) => match self.kv.entry(&key).await {
                Ok(Some(entry)) if entry.operation == kv::Operation::Put => {
                    // Opened by another instance (or by us before a restart).
                    if let Ok(record) = serde_json::from_slice::<Record>(&entry.value) {
                        self.track(key, entry.revision, record, ends);
                    }
                }
                // Closed in between: the next round opens it.
                Ok(_) => {}
                Err(e) => tracing::debug!(key, error = %e, "alert episode unreadable"),
            },
        }
    }

    fn track(&mut self, key: String, revision: u64, record: Record, ends: bool) {
        self.open.insert(
            key,
            Open {
                revision,
                record,
                inactive: 0,
                published: false,
                ends,
            },
        );
    }

    async fn deactivate(&mut self, key: &str) {
        let Some(open) = self.open.get_mut(key) else {
            return;
        };
        open.inactive += 1;
        if open.inactive < self.clear_samples {
            return;
        }
        let revision = open.revision;
        self.open.remove(key);
        // Only the episode we know: one opened since is somebody else's.
        match self.kv.delete_expect_revision(key, Some(revision)).await {
            Ok(()) => tracing::info!(key, revision, "alert episode closed"),
            Err(e) => tracing::debug!(key, revision, error = %e, "alert episode closed elsewhere"),
        }
    }

    async fn publish_pending(&mut self, correlation_id: &str) {
        let now = UnixNanos::now().0;
        let window = i64::try_from(self.republish_within.as_nanos()).unwrap_or(i64::MAX);
        let mut done = Vec::new();
        for (key, open) in self.open.iter_mut().filter(|(_, o)| !o.published) {
            if now.saturating_sub(open.record.opened.0) > window {
                // Too old to be sure ALERTS would drop a repeat.
                open.published = true;
                continue;
            }
            let mut alert = open.record.alert.clone();
            alert.episode = open.revision;
            let msg_id = subjects::monitor::alert_msg_id(key, open.revision);
            let subject = subjects::alert(&alert.severity, subjects::monitor::SERVICE);
            match events::publish(
                &self.js,
                subject,
                &msg_id,
                types::MONITOR_ALERT,
                correlation_id,
                subjects::monitor::SERVICE,
                &alert,
                None,
            )
            .await
            {
                Ok(stored) => {
                    if !stored.duplicate {
                        tracing::warn!(target: "monitor::alert", kind = alert.kind.as_str(),
                            target_name = %alert.target, severity = %alert.severity,
                            message = %alert.message, "alert raised");
                    }
                    open.published = true;
                    if !open.ends {
                        done.push(key.clone());
                    }
                }
                // Tried again next round, under the same id.
                Err(e) => tracing::warn!(key, error = %e, "alert not stored yet"),
            }
        }
        for key in done {
            self.open.remove(&key);
        }
    }
}
