//! The sentiment service on a real nats-server: scores and the cache,
//! batches, news imported from JSON lines and the decayed per-symbol mean.

use std::time::Duration;

use bus::api::sentiment::{
    BatchRequest, BatchResponse, ScoreRequest, ScoreResponse, SymbolRequest, SymbolSentiment,
};
use bus::{subjects::sentiment as s, RequestOptions};
use model::{Symbol, UnixNanos};
use sentiment_service::Analyzer;
use testkit::Platform;

mod common;

async fn platform() -> Platform {
    Platform::builder()
        .single_node()
        .service("sentiment", 1, |c, sd| {
            sentiment_service::run(Default::default(), c, sd.wait())
        })
        .start()
        .await
}

fn opts() -> RequestOptions {
    RequestOptions::timeout(Duration::from_secs(10))
}

async fn score(client: &async_nats::Client, text: &str) -> ScoreResponse {
    bus::request(
        client,
        s::SCORE,
        &ScoreRequest {
            text: text.to_string(),
        },
        opts(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn second_score_of_a_text_is_a_cache_hit() {
    let p = platform().await;
    let text = "Globex shares plunge after profit warning";
    let first = score(p.client(), text).await;
    assert!(!first.cached);
    assert_eq!(first.label, "negative");
    assert_eq!(first.scores, Analyzer::new().score(text));
    let second = score(p.client(), text).await;
    assert!(second.cached, "the same text again comes from the cache");
    assert_eq!(second.scores, first.scores);
    // Another text is not.
    assert!(!score(p.client(), "Acme beats estimates").await.cached);
    // Too long: a clear 400.
    let long = "a".repeat(bus::api::sentiment::MAX_TEXT_BYTES + 1);
    let (code, body) =
        testkit::raw_request(p.client(), s::SCORE, &serde_json::json!({ "text": long })).await;
    assert_eq!(code, 400, "{body}");
}

#[tokio::test]
async fn batch_equals_single_scores() {
    let p = platform().await;
    let headlines: Vec<String> = common::headlines().into_iter().map(|(_, t)| t).collect();
    // Half scored singly first, so the batch mixes hits and misses.
    let mut single = Vec::new();
    for text in &headlines[..20] {
        single.push(score(p.client(), text).await);
    }
    let batch: BatchResponse = bus::request(
        p.client(),
        s::BATCH,
        &BatchRequest {
            texts: headlines.clone(),
        },
        opts(),
    )
    .await
    .unwrap();
    assert_eq!(batch.results.len(), 40);
    assert_eq!(batch.cached, 20);
    for text in &headlines[20..] {
        let one = score(p.client(), text).await;
        assert!(one.cached, "scored by the batch already: {text}");
        single.push(one);
    }
    for ((b, one), text) in batch.results.iter().zip(&single).zip(&headlines) {
        assert_eq!(b.scores, one.scores, "{text}");
        assert_eq!(b.label, one.label, "{text}");
    }
    // Every sign right through the service as well.
    for ((sign, text), r) in common::headlines().iter().zip(&batch.results) {
        assert!(r.scores.compound * sign >= 0.05, "{text}: {:?}", r.scores);
    }
}

#[tokio::test]
async fn imported_news_aggregates_with_decay() {
    let p = platform().await;
    let js = async_nats::jetstream::new(p.client().clone());
    let text = std::fs::read_to_string(testkit::paths::testdata("news.jsonl")).unwrap();
    let report = sentiment_service::import::import_lines(&js, &text, "test")
        .await
        .unwrap();
    assert_eq!(
        (report.lines, report.published, report.duplicates),
        (3, 3, 0)
    );
    let again = sentiment_service::import::import_lines(&js, &text, "test")
        .await
        .unwrap();
    assert_eq!((again.published, again.duplicates), (0, 3));

    let a = Analyzer::new();
    let c1 = a
        .score("Acme beats estimates as quarterly revenue jumps")
        .compound;
    let c2 = a.score("Acme shares plunge after profit warning").compound;
    let c3 = a.score("Globex raises guidance for the full year").compound;
    let at = UnixNanos::parse("2026-01-06T02:00:00Z").unwrap();
    let get = |symbol: &str| SymbolRequest {
        symbol: Symbol::new(symbol).unwrap(),
        window_secs: Some(24 * 3600),
        half_life_secs: Some(6 * 3600),
        at: Some(at),
    };
    // ACME: n1 is 12 h old (weight 0.25), n2 6 h (0.5).
    let acme: SymbolSentiment = bus::request(p.client(), s::SYMBOL_GET, &get("ACME"), opts())
        .await
        .unwrap();
    assert_eq!(acme.count, 2);
    assert!((acme.weight - 0.75).abs() < 1e-9, "{acme:?}");
    let expected = (0.25 * c1 + 0.5 * c2) / 0.75;
    assert!(
        (acme.score - expected).abs() < 1e-9,
        "{} vs {expected}",
        acme.score
    );
    assert_eq!(acme.items[0].id, "n2");
    // GLOBEX: n2 (0.5) and n3 at `at` (1).
    let globex: SymbolSentiment = bus::request(p.client(), s::SYMBOL_GET, &get("GLOBEX"), opts())
        .await
        .unwrap();
    assert_eq!(globex.count, 2);
    let expected = (0.5 * c2 + c3) / 1.5;
    assert!((globex.score - expected).abs() < 1e-9);
    assert_eq!(globex.label, bus::api::sentiment::label(expected));
    // A 7-hour window leaves n1 out.
    let mut narrow = get("ACME");
    narrow.window_secs = Some(7 * 3600);
    let narrow: SymbolSentiment = bus::request(p.client(), s::SYMBOL_GET, &narrow, opts())
        .await
        .unwrap();
    assert_eq!(narrow.count, 1);
    assert!((narrow.score - c2).abs() < 1e-9);
    // Any client may publish news; it counts at once (read your writes).
    let item = bus::api::sentiment::NewsItem {
        id: "n4".into(),
        ts: at,
        headline: "Acme upgraded to buy".into(),
        body: None,
        symbols: vec![Symbol::new("ACME").unwrap()],
        source: None,
    };
    bus::events::publish_news(&js, &item, "cid", "test")
        .await
        .unwrap();
    let after: SymbolSentiment = bus::request(p.client(), s::SYMBOL_GET, &get("ACME"), opts())
        .await
        .unwrap();
    assert_eq!(after.count, 3);
    // A bad line names its number.
    let err = sentiment_service::import::parse_lines("\n{\"id\":\"x\"}\n").unwrap_err();
    assert!(err.to_string().starts_with("line 2:"), "{err}");
}
