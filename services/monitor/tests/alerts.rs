//! Alerts into ALERTS: a stopped instance, a consumer held back, an error
//! rate jump; with two monitors each episode is stored once.

mod common;

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use bus::api::monitor::AlertKind;
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use serde_json::json;
use testkit::{wait_until, Platform};

const ALERT_WAIT: Duration = Duration::from_secs(60);

fn monitor(thresholds: monitor_service::Thresholds) -> monitor_service::Config {
    monitor_service::Config {
        thresholds,
        ..common::fast_config()
    }
}

#[tokio::test]
async fn a_stopped_instance_raises_one_alert_with_two_monitors() {
    let platform = Platform::builder()
        .service(subjects::risk::SERVICE, 2, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::monitor::SERVICE, 2, |c, s| {
            monitor_service::run(common::fast_config(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    // Both monitors have sampled both risk instances a few times.
    common::wait_samples(&client, 4).await;
    let gone = platform.instance(subjects::risk::SERVICE, 1);
    let gone_id = gone.id();
    gone.stop().await.expect("risk stops cleanly");
    let target = format!("{}/{gone_id}", subjects::risk::SERVICE);

    let alert = wait_until("an instance_gone alert", ALERT_WAIT, || async {
        common::monitor_alerts(&client)
            .await
            .into_iter()
            .find(|a| a.kind == AlertKind::InstanceGone && a.target == target)
    })
    .await;
    assert_eq!(
        alert.severity, "warning",
        "one risk instance is left: {alert:?}"
    );
    assert_eq!(alert.value, 1);
    // Both monitors saw it (give them several more intervals): stored once.
    common::wait_samples(&client, 8).await;
    let alerts = common::monitor_alerts(&client).await;
    let same: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::InstanceGone && a.target == target)
        .collect();
    assert_eq!(same.len(), 1, "{alerts:?}");
    // Nothing else went: no alert about the risk instance still running.
    assert!(
        alerts.iter().all(|a| a.target == target),
        "unexpected alerts: {alerts:?}"
    );
    // The episode's KV key names the alert's episode.
    let js = jetstream::new(client.clone());
    let kv = js
        .get_key_value(subjects::buckets::MONITOR_ALERTS)
        .await
        .unwrap();
    let key = subjects::monitor::episode_key("instance_gone", &target);
    let entry = kv.entry(&key).await.unwrap().expect("the episode key");
    assert_eq!(entry.revision, alert.episode);

    // The last instance going is critical.
    let last = platform.instance(subjects::risk::SERVICE, 0);
    let last_target = format!("{}/{}", subjects::risk::SERVICE, last.id());
    last.stop().await.expect("risk stops cleanly");
    let critical = wait_until("a critical instance_gone alert", ALERT_WAIT, || async {
        common::monitor_alerts(&client)
            .await
            .into_iter()
            .find(|a| a.target == last_target)
    })
    .await;
    assert_eq!(critical.severity, "critical");
    assert_eq!(critical.value, 0);
}

#[tokio::test]
async fn a_consumer_held_back_shows_lag_and_raises_an_alert() {
    let thresholds = monitor_service::Thresholds {
        max_consumer_lag: 5,
        ..Default::default()
    };
    let platform = Platform::builder()
        .service(subjects::monitor::SERVICE, 2, move |c, s| {
            monitor_service::run(monitor(thresholds.clone()), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let work = js
        .create_stream(stream::Config {
            name: "WORK".into(),
            subjects: vec!["work.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer = work
        .create_consumer(pull::Config {
            durable_name: Some("held".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // 4 behind: under the threshold, no alert.
    for i in 0..4 {
        js.publish("work.item", format!("{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let seen = wait_until("lag 4 in monitor.status", ALERT_WAIT, || async {
        let s = common::status(&client).await?;
        let work = s
            .jetstream?
            .streams
            .into_iter()
            .find(|s| s.name == "WORK")?;
        let held = work.consumers.into_iter().find(|c| c.name == "held")?;
        (held.lag == 4).then_some(held)
    })
    .await;
    assert_eq!(
        (seen.pending, seen.ack_pending, seen.redelivered),
        (4, 0, 0)
    );
    common::wait_samples(&client, 3).await;
    assert!(common::monitor_alerts(&client).await.is_empty());

    // 10 behind, 2 of them delivered and not acknowledged.
    for i in 4..10 {
        js.publish("work.item", format!("{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let mut batch = consumer.fetch().max_messages(2).messages().await.unwrap();
    let mut delivered = Vec::new();
    while let Some(m) = batch.next().await {
        delivered.push(m.unwrap());
    }
    assert_eq!(delivered.len(), 2);
    let held = wait_until("lag 10 in monitor.status", ALERT_WAIT, || async {
        let s = common::status(&client).await?;
        let work = s
            .jetstream?
            .streams
            .into_iter()
            .find(|s| s.name == "WORK")?;
        let held = work.consumers.into_iter().find(|c| c.name == "held")?;
        (held.lag == 10).then_some(held)
    })
    .await;
    assert_eq!((held.pending, held.ack_pending), (8, 2));
    let alert = wait_until("a consumer_lag alert", ALERT_WAIT, || async {
        common::monitor_alerts(&client)
            .await
            .into_iter()
            .find(|a| a.kind == AlertKind::ConsumerLag)
    })
    .await;
    assert_eq!(alert.target, "WORK/held");
    assert!(alert.value >= 5 && alert.threshold == 5, "{alert:?}");

    // Caught up: the episode ends (its key is deleted) and no second alert
    // was stored by the other monitor.
    for m in delivered {
        m.ack().await.unwrap();
    }
    let mut rest = consumer.fetch().max_messages(100).messages().await.unwrap();
    while let Some(m) = rest.next().await {
        m.unwrap().ack().await.unwrap();
    }
    let kv = js
        .get_key_value(subjects::buckets::MONITOR_ALERTS)
        .await
        .unwrap();
    let key = subjects::monitor::episode_key("consumer_lag", "WORK/held");
    wait_until("the lag episode to end", ALERT_WAIT, || async {
        kv.get(&key).await.ok()?.is_none().then_some(())
    })
    .await;
    let lags: Vec<_> = common::monitor_alerts(&client)
        .await
        .into_iter()
        .filter(|a| a.kind == AlertKind::ConsumerLag)
        .collect();
    assert_eq!(lags.len(), 1, "{lags:?}");
}

#[tokio::test]
async fn an_error_rate_jump_raises_an_alert() {
    let thresholds = monitor_service::Thresholds {
        max_error_permille: 500,
        min_requests: 10,
        ..Default::default()
    };
    let platform = Platform::builder()
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::monitor::SERVICE, 1, move |c, s| {
            monitor_service::run(monitor(thresholds.clone()), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let send = |account: &'static str| {
        let client = client.clone();
        async move {
            let _ = request::<_, serde_json::Value>(
                &client,
                subjects::risk::LIMITS_GET,
                &json!({ "account": account }),
                RequestOptions::default(),
            )
            .await;
        }
    };
    // Healthy traffic first: no alert.
    for _ in 0..20 {
        send("ok").await;
    }
    common::wait_samples(&client, 3).await;
    assert!(common::monitor_alerts(&client).await.is_empty());
    // Then mostly errors, until the monitor notices (one interval of them).
    let alert = wait_until("an error_rate alert", ALERT_WAIT, || async {
        for _ in 0..20 {
            send("not valid!").await;
        }
        common::monitor_alerts(&client)
            .await
            .into_iter()
            .find(|a| a.kind == AlertKind::ErrorRate)
    })
    .await;
    assert_eq!(alert.target, subjects::risk::SERVICE);
    assert!(alert.value >= 500, "{alert:?}");
}

/// An episode opened by a monitor that died before publishing its alert is
/// published by the next monitor that sees it (under the same id: once); one
/// opened longer ago than half the duplicate window is left alone.
#[tokio::test]
async fn an_episode_opened_by_a_dead_monitor_is_published_once_by_another() {
    let thresholds = monitor_service::Thresholds {
        max_consumer_lag: 1,
        ..Default::default()
    };
    let platform = Platform::builder()
        .service(subjects::monitor::SERVICE, 1, move |c, s| {
            monitor_service::run(monitor(thresholds.clone()), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let work = js
        .create_stream(stream::Config {
            name: "WORK".into(),
            subjects: vec!["work.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    for name in ["fresh", "stale"] {
        work.create_consumer(pull::Config {
            durable_name: Some(name.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let kv = js
        .get_key_value(subjects::buckets::MONITOR_ALERTS)
        .await
        .unwrap();
    let record = |target: &str, opened: i64| {
        json!({"opened": opened, "alert": {
            "kind": "consumer_lag", "target": target, "severity": "warning",
            "message": format!("opened by a monitor that died: {target}"),
            "value": 3, "threshold": 1, "episode": 0}})
        .to_string()
    };
    let now = model::UnixNanos::now().0;
    let day = 24 * 3600 * 1_000_000_000i64;
    let fresh_key = subjects::monitor::episode_key("consumer_lag", "WORK/fresh");
    let fresh_rev = kv
        .create(&fresh_key, record("WORK/fresh", now).into())
        .await
        .unwrap();
    kv.create(
        subjects::monitor::episode_key("consumer_lag", "WORK/stale"),
        record("WORK/stale", now - day).into(),
    )
    .await
    .unwrap();
    for i in 0..3 {
        js.publish("work.item", format!("{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let alert = wait_until("the dead monitor's alert", ALERT_WAIT, || async {
        common::monitor_alerts(&client).await.into_iter().next()
    })
    .await;
    assert_eq!(alert.target, "WORK/fresh");
    assert_eq!(alert.message, "opened by a monitor that died: WORK/fresh");
    assert_eq!(alert.episode, fresh_rev);
    common::wait_samples(&client, 6).await;
    let alerts = common::monitor_alerts(&client).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}
