//! From consecutive statuses to alert conditions (pure, no I/O):
//! - an instance seen before is missing from `missing_samples` statuses in a
//!   row → `instance_gone` (critical when its service has no instance left);
//! - a service's errors over the requests of one interval (instances seen in
//!   both statuses; at least `min_requests`) reach `max_error_permille` → `error_rate`;
//! - a durable consumer's lag reaches `max_consumer_lag` → `consumer_lag`.
//!
//! Every condition is reported each time it is evaluated, active or not, so
//! `episodes` can open an episode and close it once the condition has been
//! inactive `clear_samples` times.

use std::collections::{BTreeMap, BTreeSet};

use bus::api::monitor::{AlertKind, MonitorAlert, SystemStatus};

pub const WARNING: &str = "warning";
pub const CRITICAL: &str = "critical";

#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Error replies per thousand requests in one interval that raise `error_rate`.
    pub max_error_permille: u64,
    /// Fewer requests than this in an interval never raise `error_rate`.
    pub min_requests: u64,
    /// Lag (pending + ack pending) that raises `consumer_lag`.
    pub max_consumer_lag: u64,
    /// Statuses in a row an instance must be missing from (a lost `$SRV`
    /// reply on a busy machine is not a death).
    pub missing_samples: u32,
    /// Statuses in a row a condition must be inactive before its episode ends.
    pub clear_samples: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_error_permille: 200,
            min_requests: 20,
            max_consumer_lag: 1000,
            missing_samples: 2,
            clear_samples: 2,
        }
    }
}

/// One condition as evaluated now.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub active: bool,
    pub alert: MonitorAlert,
}

impl Observation {
    pub fn key(&self) -> String {
        bus::subjects::monitor::episode_key(self.alert.kind.as_str(), &self.alert.target)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    requests: u64,
    errors: u64,
}

#[derive(Debug, Default)]
pub struct Detector {
    thresholds: Thresholds,
    /// (service, instance id) → statuses in a row it was missing from.
    missing: BTreeMap<(String, String), u32>,
    /// (service, instance id) → its counters in the previous status.
    counters: BTreeMap<(String, String), Counters>,
}

fn alert(
    kind: AlertKind,
    target: String,
    severity: &str,
    message: String,
    value: u64,
    threshold: u64,
) -> MonitorAlert {
    MonitorAlert {
        kind,
        target,
        severity: severity.to_string(),
        message,
        value,
        threshold,
        episode: 0,
    }
}

impl Detector {
    pub fn new(thresholds: Thresholds) -> Self {
        Detector {
            thresholds,
            ..Default::default()
        }
    }

    pub fn observe(&mut self, status: &SystemStatus) -> Vec<Observation> {
        let mut out = self.instances_gone(status);
        out.extend(self.error_rates(status));
        out.extend(self.consumer_lags(status));
        out
    }

    fn instances_gone(&mut self, status: &SystemStatus) -> Vec<Observation> {
        let present: BTreeSet<(String, String)> = status
            .services
            .iter()
            .flat_map(|s| s.instances.iter().map(|i| (s.name.clone(), i.id.clone())))
            .collect();
        let mut out = Vec::new();
        for (key, misses) in self.missing.iter_mut() {
            if present.contains(key) {
                *misses = 0;
                continue;
            }
            *misses += 1;
            if *misses != self.thresholds.missing_samples.max(1) {
                continue;
            }
            let (service, id) = key;
            let left = status
                .services
                .iter()
                .find(|s| &s.name == service)
                .map_or(0, |s| s.instances.len()) as u64;
            let severity = if left == 0 { CRITICAL } else { WARNING };
            out.push(Observation {
                active: true,
                alert: alert(
                    AlertKind::InstanceGone,
                    format!("{service}/{id}"),
                    severity,
                    format!(
                        "{service} instance {id} stopped answering $SRV; {left} instance(s) of {service} left"
                    ),
                    left,
                    0,
                ),
            });
        }
        // Reported once; an instance id is never reused, so it is forgotten.
        let limit = self.thresholds.missing_samples.max(1);
        self.missing.retain(|_, misses| *misses < limit);
        for key in present {
            self.missing.entry(key).or_insert(0);
        }
        out
    }

    fn error_rates(&mut self, status: &SystemStatus) -> Vec<Observation> {
        let mut out = Vec::new();
        let mut now = BTreeMap::new();
        for service in &status.services {
            let (mut requests, mut errors) = (0u64, 0u64);
            for i in &service.instances {
                let key = (service.name.clone(), i.id.clone());
                let current = Counters {
                    requests: i.requests,
                    errors: i.errors,
                };
                if let Some(before) = self.counters.get(&key) {
                    requests += current.requests.saturating_sub(before.requests);
                    errors += current.errors.saturating_sub(before.errors);
                }
                now.insert(key, current);
            }
            let permille = (errors.saturating_mul(1000))
                .checked_div(requests)
                .unwrap_or(0);
            let t = &self.thresholds;
            let active = requests >= t.min_requests.max(1) && permille >= t.max_error_permille;
            out.push(Observation {
                active,
                alert: alert(
                    AlertKind::ErrorRate,
                    service.name.clone(),
                    WARNING,
                    format!(
                        "{}: {errors} of {requests} requests failed in the last interval ({permille}‰, threshold {}‰)",
                        service.name, t.max_error_permille
                    ),
                    permille,
                    t.max_error_permille,
                ),
            });
        }
        self.counters = now;
        out
    }

    fn consumer_lags(&self, status: &SystemStatus) -> Vec<Observation> {
        let Some(js) = &status.jetstream else {
            return Vec::new();
        };
        let max = self.thresholds.max_consumer_lag;
        js.streams
            .iter()
            .flat_map(|s| s.consumers.iter().map(move |c| (s, c)))
            .map(|(s, c)| Observation {
                active: c.lag >= max,
                alert: alert(
                    AlertKind::ConsumerLag,
                    format!("{}/{}", s.name, c.name),
                    WARNING,
                    format!(
                        "consumer {} on {} is {} message(s) behind ({} pending, {} unacknowledged; threshold {max})",
                        c.name, s.name, c.lag, c.pending, c.ack_pending
                    ),
                    c.lag,
                    max,
                ),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bus::api::monitor::{
        ConsumerStatus, InstanceStatus, JetStreamStatus, ServiceStatus, StreamStatus,
    };
    use model::UnixNanos;

    fn instance(id: &str, requests: u64, errors: u64) -> InstanceStatus {
        InstanceStatus {
            id: id.into(),
            version: "0".into(),
            description: String::new(),
            started: String::new(),
            endpoints: Vec::new(),
            requests,
            errors,
            average_processing_ns: 0,
        }
    }

    fn status(instances: &[(&str, u64, u64)], lag: u64) -> SystemStatus {
        SystemStatus {
            ts: UnixNanos(0),
            monitor: "m".into(),
            services: vec![ServiceStatus {
                name: "risk".into(),
                instances: instances
                    .iter()
                    .map(|(id, r, e)| instance(id, *r, *e))
                    .collect(),
                requests: 0,
                errors: 0,
                average_processing_ns: 0,
            }],
            jetstream: Some(JetStreamStatus {
                streams: vec![StreamStatus {
                    name: "S".into(),
                    messages: 0,
                    bytes: 0,
                    first_seq: 0,
                    last_seq: 0,
                    consumers: vec![ConsumerStatus {
                        name: "c".into(),
                        pending: lag,
                        ack_pending: 0,
                        redelivered: 0,
                        lag,
                    }],
                }],
            }),
            server: None,
        }
    }

    fn active(obs: &[Observation], kind: AlertKind) -> Vec<&MonitorAlert> {
        obs.iter()
            .filter(|o| o.active && o.alert.kind == kind)
            .map(|o| &o.alert)
            .collect()
    }

    #[test]
    fn an_instance_missing_twice_is_gone_once() {
        let mut d = Detector::new(Thresholds::default());
        d.observe(&status(&[("a", 0, 0), ("b", 0, 0)], 0));
        let once = d.observe(&status(&[("a", 0, 0)], 0));
        assert!(active(&once, AlertKind::InstanceGone).is_empty());
        let twice = d.observe(&status(&[("a", 0, 0)], 0));
        let gone = active(&twice, AlertKind::InstanceGone);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].target, "risk/b");
        assert_eq!(gone[0].severity, WARNING);
        assert_eq!(gone[0].value, 1);
        let later = d.observe(&status(&[("a", 0, 0)], 0));
        assert!(active(&later, AlertKind::InstanceGone).is_empty());
    }

    #[test]
    fn a_missed_reply_is_not_a_death_and_the_last_instance_is_critical() {
        let mut d = Detector::new(Thresholds::default());
        d.observe(&status(&[("a", 0, 0)], 0));
        d.observe(&status(&[], 0));
        d.observe(&status(&[("a", 0, 0)], 0));
        d.observe(&status(&[], 0));
        let gone = d.observe(&status(&[], 0));
        let gone = active(&gone, AlertKind::InstanceGone);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].severity, CRITICAL);
    }

    #[test]
    fn error_rate_counts_one_interval_of_known_instances() {
        let mut d = Detector::new(Thresholds::default());
        // Lifetime errors of an instance first seen are not this interval's.
        let first = d.observe(&status(&[("a", 100, 90)], 0));
        assert!(active(&first, AlertKind::ErrorRate).is_empty());
        // 10 of 40 = 250 ‰ ≥ 200 ‰.
        let jump = d.observe(&status(&[("a", 140, 100)], 0));
        let rate = active(&jump, AlertKind::ErrorRate);
        assert_eq!(rate.len(), 1);
        assert_eq!(rate[0].value, 250);
        // 1 of 40: inactive; 10 of 10: too few requests.
        let calm = d.observe(&status(&[("a", 180, 101)], 0));
        assert!(active(&calm, AlertKind::ErrorRate).is_empty());
        let few = d.observe(&status(&[("a", 190, 111)], 0));
        assert!(active(&few, AlertKind::ErrorRate).is_empty());
    }

    #[test]
    fn consumer_lag_past_the_threshold() {
        let mut d = Detector::new(Thresholds {
            max_consumer_lag: 5,
            ..Default::default()
        });
        assert!(active(&d.observe(&status(&[], 4)), AlertKind::ConsumerLag).is_empty());
        let lag = d.observe(&status(&[], 5));
        let lag = active(&lag, AlertKind::ConsumerLag);
        assert_eq!(lag.len(), 1);
        assert_eq!(lag[0].target, "S/c");
    }
}
