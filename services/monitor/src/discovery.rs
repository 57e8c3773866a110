//! Every service instance on the bus: `$SRV.STATS` (counters per endpoint) and
//! `$SRV.INFO` (description) sent to all services at once, replies gathered
//! until none came for `quiet` (3 s at most in all).
//!
//! Error counts are `num_errors` plus `data.errors`: our services answer
//! errors with a JSON body, which async-nats does not count, so they count
//! them in the stats handler's data ([`bus::service`]).

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::Client;
use bus::api::monitor::{EndpointStatus, InstanceStatus, ServiceStatus};
use futures::StreamExt;
use serde_json::Value;

const MAX_WAIT: Duration = Duration::from_secs(3);

/// Replies to `subject` (sent with a reply inbox) until `quiet` passes without one.
async fn gather(client: &Client, subject: &str, quiet: Duration) -> Vec<Value> {
    let inbox = client.new_inbox();
    let Ok(mut replies) = client.subscribe(inbox.clone()).await else {
        return Vec::new();
    };
    if client
        .publish_with_reply(subject.to_string(), inbox, "".into())
        .await
        .is_err()
    {
        return Vec::new();
    }
    let deadline = tokio::time::Instant::now() + MAX_WAIT;
    let mut out = Vec::new();
    loop {
        let wait = quiet.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        match tokio::time::timeout(wait, replies.next()).await {
            Ok(Some(msg)) => {
                if let Ok(v) = serde_json::from_slice::<Value>(&msg.payload) {
                    out.push(v);
                }
            }
            _ => break,
        }
    }
    out
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_f64().map(|f| f.max(0.0) as u64))
        .unwrap_or(0)
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn endpoint(v: &Value) -> (EndpointStatus, u64) {
    let requests = u64_of(&v["num_requests"]);
    let errors = u64_of(&v["num_errors"]) + u64_of(&v["data"]["errors"]);
    let processing = u64_of(&v["processing_time"]);
    let last_error = v["data"]["last_error"]
        .as_str()
        .or_else(|| v["last_error"].as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let status = EndpointStatus {
        name: str_of(&v["name"]),
        subject: str_of(&v["subject"]),
        requests,
        errors,
        average_processing_ns: u64_of(&v["average_processing_time"]),
        last_error,
    };
    (status, processing)
}

/// Every service and instance answering now, sorted by name and id.
pub async fn services(client: &Client, quiet: Duration) -> Vec<ServiceStatus> {
    let (stats, infos) = tokio::join!(
        gather(client, "$SRV.STATS", quiet),
        gather(client, "$SRV.INFO", quiet)
    );
    let descriptions: BTreeMap<String, String> = infos
        .iter()
        .filter(|i| i["type"] == "io.nats.micro.v1.info_response")
        .map(|i| (str_of(&i["id"]), str_of(&i["description"])))
        .collect();
    let mut by_name: BTreeMap<String, Vec<(InstanceStatus, u64)>> = BTreeMap::new();
    for s in stats
        .iter()
        .filter(|s| s["type"] == "io.nats.micro.v1.stats_response")
    {
        let id = str_of(&s["id"]);
        let mut endpoints = Vec::new();
        let (mut requests, mut errors, mut processing) = (0u64, 0u64, 0u64);
        for e in s["endpoints"].as_array().into_iter().flatten() {
            let (status, time) = endpoint(e);
            requests += status.requests;
            errors += status.errors;
            processing = processing.saturating_add(time);
            endpoints.push(status);
        }
        endpoints.sort_by(|a, b| a.subject.cmp(&b.subject));
        let instance = InstanceStatus {
            description: descriptions.get(&id).cloned().unwrap_or_default(),
            id,
            version: str_of(&s["version"]),
            started: str_of(&s["started"]),
            endpoints,
            requests,
            errors,
            average_processing_ns: processing.checked_div(requests).unwrap_or(0),
        };
        by_name
            .entry(str_of(&s["name"]))
            .or_default()
            .push((instance, processing));
    }
    by_name
        .into_iter()
        .map(|(name, mut instances)| {
            instances.sort_by(|a, b| a.0.id.cmp(&b.0.id));
            instances.dedup_by(|a, b| a.0.id == b.0.id);
            let requests = instances.iter().map(|(i, _)| i.requests).sum::<u64>();
            let processing = instances
                .iter()
                .fold(0u64, |acc, (_, t)| acc.saturating_add(*t));
            ServiceStatus {
                name,
                errors: instances.iter().map(|(i, _)| i.errors).sum(),
                average_processing_ns: processing.checked_div(requests).unwrap_or(0),
                requests,
                instances: instances.into_iter().map(|(i, _)| i).collect(),
            }
        })
        .collect()
}
