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

/// The `monitor-alerts` bucket: one entry per key, a forgotten episode (its
/// instance never comes back) gone after a day.
pub fn bucket(replicas: usize) -> kv::Config {
    kv::Config {
        bucket: subjects::buckets::MONITOR_ALERTS.to_string(),
        description: "open monitor alert episodes".to_string(),
        history: 1,
        max_age: Duration::from_secs(24 * 3600),
        num_replicas: replicas,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    }
}

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
    /// Observations reported once (instance gone) that JetStream did not
    /// take this round: tried again next round.
    retry: Vec<Observation>,
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
            retry: Vec::new(),
        }
    }

    /// Opens, publishes and closes episodes for this round of observations.
    pub async fn apply(&mut self, mut observations: Vec<Observation>, correlation_id: &str) {
        observations.append(&mut self.retry);
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
        let retry = Observation {
            active: true,
            alert: record.alert.clone(),
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
                Ok(_) if !ends => self.retry.push(retry),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(key, error = %e, "alert episode unreadable; retrying");
                    if !ends {
                        self.retry.push(retry);
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use bus::api::monitor::AlertKind;

    fn lag(active: bool) -> Observation {
        Observation {
            active,
            alert: MonitorAlert {
                kind: AlertKind::ConsumerLag,
                target: "WORK/held".into(),
                severity: "warning".into(),
                message: "behind".into(),
                value: 9,
                threshold: 5,
                episode: 0,
            },
        }
    }

    async fn stored_alerts(js: &jetstream::Context) -> Vec<(String, MonitorAlert)> {
        let mut stream = js.get_stream(subjects::streams::ALERTS).await.unwrap();
        let state = stream.info().await.unwrap().state.clone();
        let mut out = Vec::new();
        for seq in state.first_sequence..=state.last_sequence {
            if let Ok(m) = stream.get_raw_message(seq).await {
                let id = m.headers.get("Nats-Msg-Id").unwrap().as_str().to_string();
                let event: model::Event<MonitorAlert> = serde_json::from_slice(&m.payload).unwrap();
                out.push((id, event.data));
            }
        }
        out
    }

    /// Two monitors see the same condition at the same moment: one opens the
    /// episode, both publish, ALERTS keeps one; once it ended (two inactive
    /// rounds), the next occurrence is a new episode with a new alert.
    #[tokio::test]
    async fn two_monitors_store_one_alert_per_episode() {
        let server = testkit::NatsServer::start().await;
        let js = jetstream::new(server.client().await);
        bus::jetstream::ensure_stream(&js, bus::jetstream::alerts_stream(&Default::default()))
            .await
            .unwrap();
        let kv = bus::jetstream::ensure_kv(&js, bucket(1)).await.unwrap();
        let window = Duration::from_secs(3600);
        let mut a = Episodes::new(js.clone(), kv.clone(), window, 2);
        let mut b = Episodes::new(js.clone(), kv.clone(), window, 2);
        tokio::join!(a.apply(vec![lag(true)], "a"), b.apply(vec![lag(true)], "b"));
        let alerts = stored_alerts(&js).await;
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let key = subjects::monitor::episode_key("consumer_lag", "WORK/held");
        let first = kv.entry(&key).await.unwrap().unwrap().revision;
        assert_eq!(alerts[0].1.episode, first);
        assert_eq!(alerts[0].0, subjects::monitor::alert_msg_id(&key, first));
        // Both know the episode and published it (the second as a duplicate).
        for e in [&a, &b] {
            let open = e.open.get(&key).expect("tracked");
            assert!(open.published && open.revision == first);
        }
        // Still active: nothing new. One inactive round: still open.
        a.apply(vec![lag(true)], "a").await;
        b.apply(vec![lag(false)], "b").await;
        assert!(kv.get(&key).await.unwrap().is_some());
        // A second inactive round ends it where it was seen inactive twice.
        b.apply(vec![lag(false)], "b").await;
        assert!(kv.get(&key).await.unwrap().is_none());
        assert_eq!(stored_alerts(&js).await.len(), 1);
        // `a` still believes it open; it never deletes a newer episode.
        b.apply(vec![lag(true)], "b").await;
        let second = kv.entry(&key).await.unwrap().unwrap().revision;
        assert!(second > first);
        a.apply(vec![lag(false)], "a").await;
        a.apply(vec![lag(false)], "a").await;
        assert_eq!(kv.entry(&key).await.unwrap().unwrap().revision, second);
        let alerts = stored_alerts(&js).await;
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!(alerts[1].1.episode, second);
    }
}
