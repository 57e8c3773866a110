//! A dependency stopped or hung: the prediction is partial, on time, and the
//! dependency's circuit breaker opens, half-opens after the cool-down and
//! closes when it is back.

mod common;

use std::time::Duration;

use bus::api::orchestrator::{StepStatus, SystemStatus};
use bus::subjects;
use common::{env, predict, regime_stand_in, status_of, step, ACCOUNT};
use futures::StreamExt;
use serde_json::json;

fn config(
    step_timeout: Duration,
    threshold: u32,
    cool_down: Duration,
) -> orchestrator_service::Config {
    orchestrator_service::Config {
        step_timeout,
        breaker_threshold: threshold,
        breaker_cool_down: cool_down,
        ..Default::default()
    }
}

#[tokio::test]
async fn sentiment_stopped_or_hung_gives_a_partial_answer_in_time() {
    let timeout = Duration::from_millis(800);
    // A high threshold: this test is about single answers, not the breaker.
    let e = env(config(timeout, 100, Duration::from_secs(60))).await;
    let client = e.platform.client();
    regime_stand_in(client, "ranging").await;
    e.platform.instance("sentiment", 0).stop().await.unwrap();

    let body = json!({"symbol": "GOOG", "account": ACCOUNT, "qty": "5"});
    let p = predict(client, body.clone()).await;
    assert!(p.partial);
    assert_eq!(p.missing, vec!["sentiment".to_string()], "{:#?}", p.steps);
    let s = step(&p, "sentiment");
    assert_eq!(s.status, StepStatus::Failed);
    assert!(
        s.error.as_deref().unwrap().contains("sentiment.symbol.get"),
        "{s:?}"
    );
    // Everything else is there and the decision is still taken.
    for name in ["bars", "quote", "indicators", "regime", "strategy"] {
        assert_eq!(status_of(&p, name), StepStatus::Ok, "{name}");
    }
    assert!(!p
        .decision
        .reasons
        .iter()
        .any(|r| r.starts_with("news sentiment")));

    // Hung: something takes the requests and never answers. The step ends
    // at its timeout (the orchestrator's own bound, not the client's).
    let mut hole = client
        .queue_subscribe(subjects::sentiment::SYMBOL_GET, "q".to_string())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let swallowed = tokio::spawn(async move { hole.next().await.is_some() });
    let p = predict(client, body).await;
    assert_eq!(p.missing, vec!["sentiment".to_string()]);
    let s = step(&p, "sentiment");
    assert_eq!(s.status, StepStatus::Timeout, "{s:?}");
    assert!(s.elapsed_ms >= timeout.as_secs_f64() * 1e3 * 0.9, "{s:?}");
    assert!(
        swallowed.await.unwrap(),
        "the request reached the hung subscriber"
    );
    // The other steps did not wait for it to start (they ran concurrently):
    // each is well inside its own bound.
    for name in ["quote", "regime"] {
        assert_eq!(status_of(&p, name), StepStatus::Ok, "{name}");
    }
}

#[tokio::test]
async fn breaker_opens_after_failures_and_half_opens_after_cool_down() {
    let cool_down = Duration::from_secs(2);
    let e = env(config(Duration::from_secs(1), 2, cool_down)).await;
    let client = e.platform.client();
    regime_stand_in(client, "trending_down").await;
    let sentiment = e.platform.instance("sentiment", 0);
    sentiment.stop().await.unwrap();
    let body = json!({"symbol": "GOOG"});

    // Two failures in a row (the threshold) open the breaker ...
    for _ in 0..2 {
        let p = predict(client, body.clone()).await;
        assert_eq!(status_of(&p, "sentiment"), StepStatus::Failed);
    }
    // ... then sentiment is not asked at all.
    let p = predict(client, body.clone()).await;
    assert_eq!(status_of(&p, "sentiment"), StepStatus::CircuitOpen);
    assert_eq!(p.missing, vec!["sentiment".to_string()]);
    let breakers = |s: &SystemStatus| {
        s.breakers
            .iter()
            .find(|b| b.dependency == "sentiment")
            .cloned()
            .unwrap()
    };
    let status: SystemStatus = bus::request(
        client,
        subjects::orchestrator::STATUS,
        &json!({}),
        bus::RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let b = breakers(&status);
    assert_eq!((b.state.as_str(), b.opened), ("open", 1), "{b:?}");

    // After the cool-down one probe goes through; sentiment is still down,
    // so it opens again at once.
    testkit::wait_until("the half-open probe", Duration::from_secs(30), || async {
        let p = predict(client, body.clone()).await;
        (status_of(&p, "sentiment") == StepStatus::Failed).then_some(())
    })
    .await;
    let p = predict(client, body.clone()).await;
    assert_eq!(status_of(&p, "sentiment"), StepStatus::CircuitOpen);

    // Back up: after the next cool-down the probe succeeds and it closes.
    sentiment.restart().await;
    testkit::wait_until(
        "sentiment answering again",
        Duration::from_secs(30),
        || async {
            let p = predict(client, body.clone()).await;
            (status_of(&p, "sentiment") == StepStatus::Ok).then_some(())
        },
    )
    .await;
    let p = predict(client, body.clone()).await;
    assert_eq!(status_of(&p, "sentiment"), StepStatus::Ok);
    assert!(p.missing.is_empty(), "{:?}", p.missing);
    let status: SystemStatus = bus::request(
        client,
        subjects::orchestrator::STATUS,
        &json!({}),
        bus::RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let b = breakers(&status);
    assert_eq!(
        (b.state.as_str(), b.opened, b.consecutive_failures),
        ("closed", 2, 0)
    );
}
