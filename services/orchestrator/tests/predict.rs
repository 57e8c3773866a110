//! `orchestrator.predict`, `.batch` and `.status` against the real services
//! on a real nats-server, GOOG's 2,148 daily bars imported.

mod common;

use std::time::Duration;

use bus::api::orchestrator::{Action, BatchResponse, StepStatus, SystemStatus};
use bus::subjects;
use common::{env, predict, regime_stand_in, status_of, step, ACCOUNT};
use serde_json::json;

#[tokio::test]
async fn full_decision_batch_and_status() {
    let e = env(Default::default()).await;
    let client = e.platform.client();
    regime_stand_in(client, "trending_up").await;
    let js = async_nats::jetstream::new(client.clone());
    let news = bus::api::sentiment::NewsItem {
        id: "goog-1".into(),
        ts: model::UnixNanos::now(),
        headline: "Google beats estimates as ad revenue surges".into(),
        body: None,
        symbols: vec![model::Symbol::new("GOOG").unwrap()],
        source: None,
    };
    bus::events::publish_news(&js, &news, "t", "test")
        .await
        .unwrap();

    let p = predict(
        client,
        json!({"symbol": "GOOG", "account": ACCOUNT, "qty": "10"}),
    )
    .await;
    assert!(!p.partial, "every dependency is up: {:#?}", p.steps);
    assert!(p.missing.is_empty());
    for name in [
        "bars",
        "quote",
        "indicators",
        "sentiment",
        "regime",
        "strategy",
    ] {
        assert_eq!(
            status_of(&p, name),
            StepStatus::Ok,
            "{name}: {:?}",
            step(&p, name)
        );
    }
    let goog = testkit::paths::goog_bars();
    assert_eq!(p.bar_ts, Some(goog.last().unwrap().ts));
    assert_eq!(step(&p, "bars").result["bars"], 300);
    assert!(step(&p, "sentiment").result["score"].as_f64().unwrap() > 0.05);
    assert_eq!(step(&p, "regime").result["label"], "trending_up");
    let rsi = step(&p, "indicators").result["rsi"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&rsi));
    assert!(p.decision.reasons.iter().any(|r| r == "regime trending_up"));
    assert!(p
        .decision
        .reasons
        .iter()
        .any(|r| r.starts_with("news sentiment")));
    assert!((0.0..=1.0).contains(&p.decision.confidence));
    match p.decision.action {
        Action::Hold => {
            assert_eq!(status_of(&p, "risk"), StepStatus::Skipped);
            assert_eq!(p.decision.size, model::Decimal::ZERO);
        }
        _ => {
            // 10 GOOG on 100,000 of cash passes the default limits.
            assert_eq!(
                status_of(&p, "risk"),
                StepStatus::Ok,
                "{:?}",
                step(&p, "risk")
            );
            assert_eq!(p.decision.size, model::Decimal::from(10));
        }
    }
    for s in &p.steps {
        assert!(s.elapsed_ms >= 0.0);
    }

    // An ensemble of two strategies votes with weights.
    let ens = predict(
        client,
        json!({"symbol": "GOOG", "ensemble": [
            {"kind": "sma_cross", "weight": 2},
            {"kind": "rsi_reversion", "weight": 1}
        ]}),
    )
    .await;
    assert_eq!(
        step(&ens, "strategy").result["signals"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // No account: risk is skipped and not missing.
    assert_eq!(status_of(&ens, "risk"), StepStatus::Skipped);
    assert!(ens.missing.is_empty(), "{:?}", ens.missing);

    // A bad strategy is a clear 400.
    let (code, body) = testkit::raw_request(
        client,
        subjects::orchestrator::PREDICT,
        &json!({"symbol": "GOOG", "strategy": {"kind": "nope"}}),
    )
    .await;
    assert_eq!(code, 400, "{body}");

    // Batch: order kept; an unknown symbol has no bars, so no strategy view.
    let batch: BatchResponse = bus::request(
        client,
        subjects::orchestrator::BATCH,
        &json!({"symbols": ["GOOG", "NOPE"]}),
        bus::RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(batch.results.len(), 2);
    let goog = batch.results[0].prediction.as_ref().unwrap();
    assert_eq!(batch.results[0].symbol.as_str(), "GOOG");
    assert!(!goog.partial, "{:?}", goog.missing);
    let nope = batch.results[1].prediction.as_ref().unwrap();
    assert_eq!(batch.results[1].symbol.as_str(), "NOPE");
    assert!(
        nope.missing.contains(&"bars".to_string()),
        "{:?}",
        nope.missing
    );
    assert_eq!(nope.decision.action, Action::Hold);

    // Status: the whole system in one answer.
    let status: SystemStatus = bus::request(
        client,
        subjects::orchestrator::STATUS,
        &json!({"accounts": [ACCOUNT]}),
        bus::RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    for name in [
        "market-data",
        "strategy",
        "risk",
        "portfolio",
        "sentiment",
        "orchestrator",
    ] {
        let s = status.services.iter().find(|s| s.name == name);
        assert_eq!(
            s.map(|s| s.instances),
            Some(1),
            "{name}: {:?}",
            status.services
        );
    }
    for stream in ["MARKET", "NEWS", "ORDERS"] {
        assert!(
            status.streams.iter().any(|s| s.name == stream),
            "{stream}: {:?}",
            status.streams
        );
    }
    let market = status.streams.iter().find(|s| s.name == "MARKET").unwrap();
    assert_eq!(market.messages, 2148);
    assert_eq!(status.strategies.as_deref().map(|s| s.len()), Some(0));
    let acct = &status.accounts[0];
    assert_eq!(acct.account, ACCOUNT);
    assert_eq!(acct.summary.as_ref().unwrap()["cash"], "100000");
    assert_eq!(acct.risk.as_ref().unwrap()["known"], true);
    // No monitor runs here: named missing, the rest answered.
    assert_eq!(status.missing, vec!["monitor".to_string()]);
    assert!(status
        .breakers
        .iter()
        .all(|b| b.dependency != "sentiment" || b.state == "closed"));
}
