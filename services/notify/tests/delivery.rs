//! Nothing is lost: a channel that is down gets everything once it is back;
//! after N failures a notice is dead-lettered with the last error (and the
//! event acknowledged); a burst becomes a digest; notify killed mid-delivery
//! and restarted sends every alert, and any resend carries the same
//! idempotency key.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use bus::subjects;
use common::*;
use serde_json::{json, Value};
use testkit::sinks::{HttpRequest, HttpResponse, HttpServer, Recorder};
use testkit::wait_until;

async fn dead_letters(js: &jetstream::Context) -> Vec<Value> {
    let Ok(stream) = js.get_stream(subjects::streams::NOTIFY_DEAD).await else {
        return Vec::new();
    };
    let info = stream.get_info().await.unwrap();
    let mut out = Vec::new();
    for seq in info.state.first_sequence..=info.state.last_sequence {
        if let Ok(m) = stream.get_raw_message(seq).await {
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            out.push(v);
        }
    }
    out
}

async fn ack_pending(js: &jetstream::Context, stream: &str, consumer: &str) -> usize {
    let stream = js.get_stream(stream).await.unwrap();
    let mut c: jetstream::consumer::PullConsumer = stream.get_consumer(consumer).await.unwrap();
    let info = c.info().await.unwrap();
    info.num_ack_pending + info.num_pending as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_down_for_a_while_gets_everything_once_it_is_back() {
    let (server, hook) = Recorder::start().await;
    hook.set_status(503);
    hook.set_retry_after(Some("0"));
    let platform = platform(config()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    set_channel(
        &client,
        json!({"name": "hook", "type": "webhook", "url": server.url()}),
    )
    .await;
    set_rule(&client, json!({"id": "all", "channel": "hook"})).await;

    let ids: Vec<String> = (0..30).map(|i| format!("down-{i}")).collect();
    for id in &ids {
        alert(&js, id, "warning", "risk", "paper", &format!("alert {id}")).await;
    }
    wait_until("several refused attempts", WAIT, || async {
        (hook.refused() >= 6).then_some(())
    })
    .await;
    assert!(hook.requests().is_empty());
    hook.set_status(200);
    wait_until("every alert delivered", WAIT, || async {
        (ids_received(&hook.requests()).len() == ids.len()).then_some(())
    })
    .await;
    let got = ids_received(&hook.requests());
    assert_eq!(got, ids.iter().cloned().collect());
    // Each exactly once (nothing was in doubt: every refusal was an answer).
    let keys = counts(
        hook.requests()
            .iter()
            .flat_map(webhook_events)
            .map(|(_, k)| k),
    );
    assert!(keys.values().all(|n| *n == 1), "{keys:?}");
    assert!(dead_letters(&js).await.is_empty());
    wait_until("every alert acknowledged", WAIT, || async {
        (ack_pending(&js, "ALERTS", subjects::notify::ALERTS_CONSUMER).await == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_n_failures_a_notice_is_dead_lettered_with_the_last_error() {
    let metrics = bus::metrics::install();
    let (server, hook) = Recorder::start().await;
    hook.set_status(500);
    let (gone_server, gone) = Recorder::start().await;
    gone.set_status(404);
    let platform = platform(config()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    set_channel(
        &client,
        json!({"name": "flaky", "type": "webhook", "url": server.url(),
        "limits": {"max_attempts": 3}}),
    )
    .await;
    set_channel(
        &client,
        json!({"name": "gone", "type": "webhook", "url": gone_server.url()}),
    )
    .await;
    set_rule(
        &client,
        json!({"id": "r1", "channel": "flaky", "min_severity": "critical"}),
    )
    .await;
    set_rule(
        &client,
        json!({"id": "r2", "channel": "gone", "accounts": ["acct-gone"]}),
    )
    .await;

    alert(&js, "dl-1", "critical", "risk", "paper", "first").await;
    alert(&js, "dl-2", "critical", "risk", "paper", "second").await;
    alert(
        &js,
        "dl-3",
        "info",
        "risk",
        "acct-gone",
        "to a removed hook",
    )
    .await;

    let letters = wait_until("three dead letters", WAIT, || async {
        let l = dead_letters(&js).await;
        (l.len() >= 3).then_some(l)
    })
    .await;
    let by_key = |k: &str| {
        letters
            .iter()
            .find(|l| l["data"]["idempotency_key"] == k)
            .unwrap_or_else(|| panic!("no dead letter {k}: {letters:?}"))["data"]
            .clone()
    };
    for id in ["dl-1", "dl-2"] {
        let l = by_key(&format!("{id}@flaky"));
        assert_eq!(l["attempts"], 3);
        assert_eq!(l["last_error"], "HTTP 500");
        assert_eq!(l["channel"], "flaky");
        assert_eq!(l["notice"]["id"], id);
    }
    // A 404 will not get better: dead-lettered after one attempt.
    let l = by_key("dl-3@gone");
    assert_eq!(l["attempts"], 1);
    assert_eq!(l["last_error"], "HTTP 404");
    assert_eq!(hook.refused(), 6, "exactly three attempts each");
    assert_eq!(gone.refused(), 1);
    // On the channel's dead-letter subject, and the events are acknowledged.
    assert!(letters.iter().all(|l| l["type"] == "NOTIFICATION_DEAD"));
    wait_until("the alerts acknowledged", WAIT, || async {
        (ack_pending(&js, "ALERTS", subjects::notify::ALERTS_CONSUMER).await == 0).then_some(())
    })
    .await;
    let text = metrics.render();
    for line in [
        r#"trader_notifications_total{channel="flaky",outcome="failed"} 6"#,
        r#"trader_notifications_total{channel="flaky",outcome="dead_lettered"} 2"#,
        r#"trader_notifications_total{channel="gone",outcome="dead_lettered"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    let stream = js.get_stream(subjects::streams::NOTIFY_DEAD).await.unwrap();
    let last = stream
        .get_last_raw_message_by_subject(&subjects::notify::dead("gone"))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&last.payload).contains("dl-3@gone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fills_becomes_a_digest() {
    let (server, hook) = Recorder::start().await;
    let (disc_server, discord) = Recorder::start().await;
    let platform = platform(config()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    set_channel(
        &client,
        json!({"name": "hook", "type": "webhook", "url": server.url(),
        "limits": {"window_ms": 300, "coalesce_after": 5, "digest_max": 1000}}),
    )
    .await;
    set_channel(
        &client,
        json!({"name": "disc", "type": "discord", "url": disc_server.url(),
        "limits": {"per_minute": 60, "burst": 1, "coalesce_after": 3}}),
    )
    .await;
    set_rule(
        &client,
        json!({"id": "fills", "channel": "hook", "event_types": ["ORDER_EXECUTED"]}),
    )
    .await;
    set_rule(
        &client,
        json!({"id": "fills-d", "channel": "disc", "event_types": ["ORDER_EXECUTED"]}),
    )
    .await;

    let mut ids = Vec::new();
    for n in 0..500 {
        ids.push(fill(&js, n, "paper", "SIM-A", Some("p1")).await);
    }
    wait_until("all 500 fills delivered to the webhook", WAIT, || async {
        (ids_received(&hook.requests()).len() == 500).then_some(())
    })
    .await;
    let requests = hook.requests();
    assert!(
        requests.len() <= 10,
        "500 fills took {} messages",
        requests.len()
    );
    let digest = requests
        .iter()
        .map(HttpRequest::json)
        .find(|b| b["kind"] == "digest")
        .expect("a digest");
    assert!(digest["count"].as_u64().unwrap() > 5);
    assert!(
        digest["title"].as_str().unwrap().contains("ORDER_EXECUTED"),
        "{digest}"
    );

    // Discord at one message a second: the first fill alone, then digests.
    wait_until("discord summarised all 500", WAIT, || async {
        let total: usize = discord
            .requests()
            .iter()
            .map(|r| {
                let c = r.json()["content"].as_str().unwrap_or("").to_string();
                match c.split(' ').next().and_then(|n| n.parse::<usize>().ok()) {
                    Some(n) if c.contains("notifications:") => n,
                    _ => 1,
                }
            })
            .sum();
        (total == 500).then_some(())
    })
    .await;
    let d = discord.requests();
    assert!(d.len() <= 5, "{} discord messages", d.len());
    let text = d.last().unwrap().json()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("ORDER_EXECUTED") && text.contains("… and"),
        "{text}"
    );
}

/// A receiver answering slowly, recording each request as it arrives (so a
/// request in flight when notify dies is seen, and may be sent again).
async fn slow_receiver() -> (HttpServer, Arc<Mutex<Vec<HttpRequest>>>) {
    let seen: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
    let s = seen.clone();
    let server = HttpServer::start(move |req| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(req);
            tokio::time::sleep(Duration::from_millis(150)).await;
            HttpResponse::status(204)
        }
    })
    .await;
    (server, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_killed_mid_delivery_and_restarted_loses_nothing_and_keys_repeats() {
    let (server, seen) = slow_receiver().await;
    let platform = platform(config()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    set_channel(
        &client,
        json!({"name": "hook", "type": "webhook", "url": server.url(),
        "limits": {"coalesce_after": 1000}}),
    )
    .await;
    set_rule(&client, json!({"id": "all", "channel": "hook"})).await;

    let ids: Vec<String> = (0..20).map(|i| format!("kill-{i}")).collect();
    for id in &ids {
        alert(&js, id, "critical", "risk", "paper", "halted").await;
    }
    wait_until("a few deliveries", WAIT, || async {
        (seen.lock().unwrap().len() >= 4).then_some(())
    })
    .await;
    let instance = platform.instance(subjects::notify::SERVICE, 0);
    instance.abort();
    let before = ids_received(&seen.lock().unwrap()).len();
    assert!(
        before < ids.len(),
        "killed before the end ({before} delivered)"
    );
    instance.restart().await;

    wait_until("every alert delivered after the restart", WAIT, || async {
        (ids_received(&seen.lock().unwrap()).len() == ids.len()).then_some(())
    })
    .await;
    wait_until("every alert acknowledged", WAIT, || async {
        (ack_pending(&js, "ALERTS", subjects::notify::ALERTS_CONSUMER).await == 0).then_some(())
    })
    .await;
    let requests = seen.lock().unwrap().clone();
    // Every request carries its event's key in the header and in the body;
    // de-duplicated by that key, each alert arrived exactly once.
    for r in &requests {
        let events = webhook_events(r);
        assert_eq!(events.len(), 1);
        assert_eq!(r.header("idempotency-key"), Some(events[0].1.as_str()));
        assert_eq!(events[0].1, format!("{}@hook", events[0].0));
    }
    let keys = counts(requests.iter().flat_map(webhook_events).map(|(_, k)| k));
    assert_eq!(keys.len(), ids.len());
    // Only what was in flight at the crash can come twice (the delivered
    // ones were recorded in notify-sent before their ack).
    let repeats: usize = keys.values().map(|n| n - 1).sum();
    assert!(repeats <= 1, "{repeats} repeats: {keys:?}");
}
