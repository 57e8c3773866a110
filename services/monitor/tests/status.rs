//! `monitor.status` and `monitor.history` against real services: every
//! service and instance is listed with its requests and errors, JetStream's
//! streams and durable consumers with their lag, and samples are kept in
//! SYSTEM so any monitor instance answers history the same.

mod common;

use std::time::Duration;

use bus::{request, subjects, RequestOptions};
use serde_json::json;
use testkit::{wait_until, Platform};

#[tokio::test]
async fn status_lists_every_service_and_instance() {
    let platform = Platform::builder()
        .service(subjects::risk::SERVICE, 2, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::monitor::SERVICE, 1, |c, s| {
            monitor_service::run(common::fast_config(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    // 3 good requests and 2 bad ones (400) to risk.
    for account in ["a1", "a2", "a3", "bad account", "bad!"] {
        let _ = request::<_, serde_json::Value>(
            &client,
            subjects::risk::LIMITS_GET,
            &json!({"account": account}),
            RequestOptions::default(),
        )
        .await;
    }
    let mut risk_ids = platform.instance_ids(subjects::risk::SERVICE).await;
    risk_ids.sort();
    assert_eq!(risk_ids.len(), 2);
    let monitor_ids = platform.instance_ids(subjects::monitor::SERVICE).await;

    let status = wait_until(
        "both risk instances in monitor.status",
        Duration::from_secs(30),
        || async {
            let s = common::status(&client).await?;
            let risk = s
                .services
                .iter()
                .find(|x| x.name == subjects::risk::SERVICE)?;
            (risk.instances.len() == 2).then_some(s)
        },
    )
    .await;
    let risk = status
        .services
        .iter()
        .find(|x| x.name == subjects::risk::SERVICE)
        .unwrap();
    let ids: Vec<String> = risk.instances.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids, risk_ids);
    assert_eq!(risk.requests, 5, "{risk:?}");
    assert_eq!(risk.errors, 2, "{risk:?}");
    assert_eq!(
        risk.requests,
        risk.instances.iter().map(|i| i.requests).sum::<u64>()
    );
    let endpoint = |sub: &str| {
        risk.instances
            .iter()
            .flat_map(|i| i.endpoints.iter())
            .filter(|e| e.subject == sub)
            .map(|e| (e.requests, e.errors))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    assert_eq!(endpoint(subjects::risk::LIMITS_GET), (5, 2));
    assert_eq!(endpoint(subjects::risk::CHECK), (0, 0));
    for i in &risk.instances {
        assert!(!i.description.is_empty() && !i.version.is_empty());
        assert_eq!(i.endpoints.len(), 7, "{i:?}");
    }
    let monitor = status
        .services
        .iter()
        .find(|x| x.name == subjects::monitor::SERVICE)
        .expect("the monitor lists itself");
    assert_eq!(monitor.instances.len(), 1);
    assert_eq!(monitor.instances[0].id, monitor_ids[0]);
    assert_eq!(status.monitor, monitor_ids[0]);

    // JetStream: the streams risk and the monitor provision, with their state.
    let js = status.jetstream.expect("JetStream state");
    let names: Vec<&str> = js.streams.iter().map(|s| s.name.as_str()).collect();
    for want in [
        "ALERTS",
        "ORDERS",
        "PORTFOLIO",
        "SYSTEM",
        "KV_risk-leases",
        "KV_monitor-alerts",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let leases = js
        .streams
        .iter()
        .find(|s| s.name == "KV_risk-leases")
        .unwrap();
    // 16 partition leases and 2 members, at least once each.
    assert!(
        leases.messages >= 18 && leases.last_seq >= leases.messages,
        "{leases:?}"
    );
    // No server view unless configured.
    assert!(status.server.is_none());
}

#[tokio::test]
async fn history_returns_the_same_samples_from_any_instance() {
    let platform = Platform::builder()
        .service(subjects::monitor::SERVICE, 2, |c, s| {
            monitor_service::run(common::fast_config(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    common::wait_samples(&client, 6).await;
    let history = common::history(&client, 5).await.expect("monitor.history");
    assert_eq!(history.samples.len(), 5);
    for pair in history.samples.windows(2) {
        assert!(pair[0].ts < pair[1].ts, "oldest first, one per interval");
    }
    let last = history.samples.last().unwrap();
    let monitor = last
        .services
        .iter()
        .find(|s| s.name == subjects::monitor::SERVICE)
        .expect("the monitor in its own samples");
    assert_eq!(monitor.instances, 2);
    // Any instance answers from the stream: asking again (another instance,
    // by queue-group chance) gives the samples stored by then.
    let again = common::history(&client, 1000).await.unwrap();
    let first_ts = history.samples[0].ts;
    assert!(again.samples.iter().any(|s| s.ts == first_ts));
    assert!(again.samples.len() >= 6);

    // Samples are one per interval however many monitors: 2 monitors, 250 ms,
    // no two samples closer than the interval.
    for pair in again.samples.windows(2) {
        let gap = pair[1].ts.0 / 250_000_000 - pair[0].ts.0 / 250_000_000;
        assert!(gap >= 1, "two samples in one interval: {pair:?}");
    }

    let (code, body) =
        testkit::raw_request(&client, subjects::monitor::HISTORY, &json!({"limit": 0})).await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = testkit::raw_request(
        &client,
        subjects::monitor::HISTORY,
        &json!({"limit": 5, "x": 1}),
    )
    .await;
    assert_eq!(code, 400, "{body}");
}
