//! What the monitor tests share: a fast monitor config, typed requests, and
//! the monitor alerts stored in ALERTS.

#![allow(dead_code)]

use std::time::Duration;

use async_nats::jetstream;
use bus::api::monitor::{
    HistoryRequest, HistoryResponse, MonitorAlert, StatusRequest, SystemStatus,
};
use bus::{request, subjects, RequestOptions};
use model::Event;

/// Samples every 250 ms; generous elsewhere (the machine is shared).
pub fn fast_config() -> monitor_service::Config {
    monitor_service::Config {
        interval: Duration::from_millis(250),
        ..Default::default()
    }
}

pub async fn status(client: &async_nats::Client) -> Option<SystemStatus> {
    request(
        client,
        subjects::monitor::STATUS,
        &StatusRequest {},
        RequestOptions::timeout(Duration::from_secs(10)),
    )
    .await
    .ok()
}

pub async fn history(client: &async_nats::Client, limit: u32) -> Option<HistoryResponse> {
    request(
        client,
        subjects::monitor::HISTORY,
        &HistoryRequest { limit: Some(limit) },
        RequestOptions::timeout(Duration::from_secs(10)),
    )
    .await
    .ok()
}

/// Every `MONITOR_ALERT` stored in ALERTS, in order.
pub async fn monitor_alerts(client: &async_nats::Client) -> Vec<MonitorAlert> {
    let js = jetstream::new(client.clone());
    let Ok(mut stream) = js.get_stream(subjects::streams::ALERTS).await else {
        return Vec::new();
    };
    let Ok(info) = stream.info().await else {
        return Vec::new();
    };
    let (first, last) = (info.state.first_sequence, info.state.last_sequence);
    let mut out = Vec::new();
    if info.state.messages == 0 {
        return out;
    }
    for seq in first..=last {
        let Ok(msg) = stream.get_raw_message(seq).await else {
            continue;
        };
        if !msg.subject.ends_with(".monitor") {
            continue;
        }
        let event: Event<MonitorAlert> =
            serde_json::from_slice(&msg.payload).expect("a MONITOR_ALERT envelope");
        assert_eq!(event.kind, model::event::types::MONITOR_ALERT);
        out.push(event.data);
    }
    out
}

/// Waits until at least `n` more samples were stored than `since` (the
/// SYSTEM stream's last sequence before): `n` intervals went by.
pub async fn wait_samples(client: &async_nats::Client, n: u64) {
    let js = jetstream::new(client.clone());
    let last = || async {
        let mut stream = js.get_stream(subjects::streams::SYSTEM).await.ok()?;
        Some(stream.info().await.ok()?.state.last_sequence)
    };
    let start = last().await.unwrap_or(0);
    testkit::wait_until(
        &format!("{n} more health samples"),
        Duration::from_secs(60),
        || async {
            let now = last().await?;
            (now >= start + n).then_some(())
        },
    )
    .await;
}
