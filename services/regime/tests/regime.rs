//! The regime service against a real nats-server: bars with known regimes
//! published to MARKET, then `regime.get` (both methods), REGIME_CHANGE and
//! ML_MODEL_UPDATE events, `regime.train` (a new version), versions loaded
//! back from the object store, and bad requests answered with errors.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use bus::api::regime::{GetResponse, ModelInfo, ModelsListResponse, RegimeChange, TrainResponse};
use bus::models::ModelStore;
use bus::{request, subjects, RequestError, RequestOptions};
use futures::StreamExt;
use model::event::types;
use model::{Bar, Event, Regime, RegimeMethod, Symbol, Timeframe, UnixNanos};
use regime::RegimeModel;
use rust_decimal::Decimal;
use testkit::Platform;

const DAY: i64 = 86_400_000_000_000;

fn bars(symbol: &str, closes: &[f64]) -> Vec<Bar> {
    let d = |x: f64| Decimal::from_f64_retain(x).unwrap().round_dp(6);
    closes
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let (open, close) = (d(w[0]), d(w[1]));
            Bar {
                symbol: Symbol::new(symbol).unwrap(),
                timeframe: Timeframe::DAY,
                ts: UnixNanos(1_600_000_000_000_000_000 + i as i64 * DAY),
                open,
                high: open.max(close),
                low: open.min(close),
                close,
                volume: Decimal::ONE,
            }
        })
        .collect()
}

async fn events<T: serde::de::DeserializeOwned>(
    js: &async_nats::jetstream::Context,
    stream: &str,
) -> Vec<Event<T>> {
    let Ok(stream) = js.get_stream(stream).await else {
        return Vec::new();
    };
    let last = stream.cached_info().state.last_sequence;
    let mut out = Vec::new();
    if stream.cached_info().state.messages == 0 {
        return out;
    }
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    while let Some(Ok(m)) = messages.next().await {
        let seq = m.info().unwrap().stream_sequence;
        out.push(serde_json::from_slice(&m.payload).unwrap());
        if seq >= last {
            break;
        }
    }
    out
}

async fn get(
    client: &async_nats::Client,
    symbol: &str,
    method: &str,
) -> Result<GetResponse, RequestError> {
    request(
        client,
        subjects::regime::GET,
        &serde_json::json!({"symbol": symbol, "timeframe": "1d", "method": method}),
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await
}

#[tokio::test]
async fn regimes_of_published_bars_models_and_versions() {
    let platform = Platform::builder()
        .service(subjects::regime::SERVICE, 1, |client, s| {
            // The first models wait until every regime has been seen once.
            let config = regime_service::Config {
                train_after: 1250,
                ..Default::default()
            };
            regime_service::run(config, client, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = async_nats::jetstream::new(client.clone());

    // A series with known regimes; the last 300 bars trend down.
    let (closes, truth) = regime::synthetic::series(&regime::synthetic::standard_segments(), 11);
    let bars = bars("SYN", &closes);
    assert_eq!(*truth.last().unwrap(), Regime::TrendingDown);
    for bar in &bars {
        bus::events::publish(
            &js,
            subjects::bar(&bar.symbol, bar.timeframe),
            &subjects::bar_msg_id(&bar.symbol, bar.timeframe, bar.ts),
            types::MARKET_DATA_UPDATE,
            "test",
            "test",
            bar,
            None,
        )
        .await
        .unwrap();
    }
    let n = bars.len() as u64;
    let last_ts = bars.last().unwrap().ts;

    for method in ["hmm", "kmeans"] {
        let r = testkit::wait_until(
            &format!("regime.get {method} after all {n} bars"),
            Duration::from_secs(60),
            || async {
                get(&client, "SYN", method)
                    .await
                    .ok()
                    .filter(|r| r.bars == n)
            },
        )
        .await;
        assert_eq!(r.regime, Regime::TrendingDown, "{method}: {r:?}");
        assert_eq!(r.as_of, last_ts);
        assert_eq!(r.model.version, 1);
        assert_eq!(r.model.name, format!("regime-{method}-SYN-1d"));
        let total: f64 = r.probabilities.values().sum();
        assert!((total - 1.0).abs() < 1e-9, "{r:?}");
        assert!(r.features.mean_return < 0.0 && r.features.volatility > 0.0);
        assert_eq!(r.distances.is_empty(), method == "hmm");
    }

    // Regime changes: several (the series goes through every regime), each
    // from the label before; the last one says trending down.
    let changes: Vec<Event<RegimeChange>> = events(&js, subjects::streams::REGIMES).await;
    for method in [RegimeMethod::Hmm, RegimeMethod::Kmeans] {
        let mine: Vec<_> = changes.iter().filter(|e| e.data.method == method).collect();
        assert!(mine.len() >= 7, "{method}: {} changes", mine.len());
        assert_eq!(mine[0].data.from, None);
        for w in mine.windows(2) {
            assert_eq!(w[1].data.from, Some(w[0].data.to));
            assert!(w[1].data.as_of > w[0].data.as_of);
        }
        assert_eq!(mine.last().unwrap().data.to, Regime::TrendingDown);
        assert!(mine.iter().all(|e| e.kind == types::REGIME_CHANGE));
    }

    // Auto-trained models were announced once each.
    let updates: Vec<Event<ModelInfo>> = events(&js, subjects::streams::MODELS).await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates
        .iter()
        .all(|e| e.kind == types::ML_MODEL_UPDATE && e.data.version == 1));

    // Retrain on request: version 2 of both, announced, in use.
    let trained: TrainResponse = request(
        &client,
        subjects::regime::TRAIN,
        &serde_json::json!({"symbol": "SYN"}),
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(trained.models.len(), 2);
    assert!(trained.models.iter().all(|m| m.version == 2));
    assert_eq!(get(&client, "SYN", "hmm").await.unwrap().model.version, 2);
    let updates: Vec<Event<ModelInfo>> = events(&js, subjects::streams::MODELS).await;
    assert_eq!(updates.len(), 4);

    // Versions listed and loaded back from the object store.
    let listed: ModelsListResponse = request(
        &client,
        subjects::regime::MODELS_LIST,
        &serde_json::json!({"name": "regime-hmm-SYN-1d"}),
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let versions: Vec<u64> = listed.models.iter().map(|m| m.version).collect();
    assert_eq!(versions, vec![1, 2]);
    let store = ModelStore::get(&js).await.unwrap();
    let (info, v1): (ModelInfo, RegimeModel) = store.load("regime-hmm-SYN-1d", 1).await.unwrap();
    assert_eq!(
        (info.version, info.object.as_str()),
        (1, "regime-hmm-SYN-1d/1")
    );
    v1.validate().unwrap();
    assert_eq!(v1.method, RegimeMethod::Hmm);
    // The same model decodes the training series' regimes.
    let mut f = regime::RollingFeatures::new(v1.window);
    let feats: Vec<_> = closes.iter().filter_map(|c| f.update(*c)).collect();
    let decoded = v1.decode(&feats);
    let right = decoded
        .iter()
        .zip(&truth[v1.window - 1..])
        .filter(|(a, b)| a == b)
        .count();
    assert!(right as f64 / decoded.len() as f64 > 0.8);
    assert!(matches!(
        store.load::<RegimeModel>("regime-hmm-SYN-1d", 9).await,
        Err(bus::models::ModelError::NotFound(_))
    ));

    // Errors: an unknown series, a bad method, a series still warming up.
    let err = get(&client, "NOPE", "hmm").await.unwrap_err();
    assert_eq!(err.service_error().map(|e| e.code), Some(404), "{err:?}");
    let err = get(&client, "SYN", "lstm").await.unwrap_err();
    assert_eq!(err.service_error().map(|e| e.code), Some(400), "{err:?}");
}
