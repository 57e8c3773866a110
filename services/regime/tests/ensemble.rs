//! The ensemble strategy through the services, as any strategy: on GOOG
//! (imported through market-data) a paper ensemble publishes exactly the
//! signals the pure strategy gives and its orders fill (market-data +
//! strategy + risk + execution + portfolio); the regime service learns an
//! ensemble model (`regime.train` with `ensemble`), stored as version 1 in
//! the object store; `backtest.run` and a paper strategy pinning
//! `model_version: 1` use exactly that model (loaded back from the store);
//! a version that does not exist is refused.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{pull, DeliverPolicy},
};
use bus::api::backtest::BacktestReport;
use bus::api::regime::TrainResponse;
use bus::api::strategy::SignalEvent;
use bus::models::ModelStore;
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::{Bar, Decimal, Event, Signal, Symbol, Timeframe};
use serde_json::{json, Map, Value};
use testkit::Platform;
use trading::event::OrderEvent;

const ROWS: usize = 1200;

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
    _data: Arc<tempfile::TempDir>,
}

async fn call<T: serde::de::DeserializeOwned>(
    client: &async_nats::Client,
    subject: &str,
    body: Value,
) -> Result<T, bus::RequestError> {
    request(
        client,
        subject,
        &body,
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await
}

impl Env {
    async fn start() -> Env {
        let data = Arc::new(tempfile::tempdir().unwrap());
        let dir = data.path().to_path_buf();
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |c, s| {
                market_data::run(market_data::Config::default(), c, s.wait())
            })
            .service(subjects::risk::SERVICE, 1, |c, s| {
                risk_service::run(risk_service::Config::default(), c, s.wait())
            })
            .service(subjects::strategy::SERVICE, 1, |c, s| {
                strategy_service::run(strategy_service::Config::default(), c, s.wait())
            })
            .service(subjects::execution::SERVICE, 1, |c, s| {
                execution_service::run(execution_service::Config::default(), c, s.wait())
            })
            .service(subjects::portfolio::SERVICE, 1, move |c, s| {
                portfolio_service::run(portfolio_service::Config::new(dir.clone()), c, s.wait())
            })
            .service(subjects::backtest::SERVICE, 1, |c, s| {
                backtest_service::run(backtest_service::Config::default(), c, s.wait())
            })
            .service(subjects::regime::SERVICE, 1, |c, s| {
                regime_service::run(regime_service::Config::default(), c, s.wait())
            })
            .start()
            .await;
        platform.import_goog(0..ROWS).await;
        let client = platform.client().clone();
        Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
            _data: data,
        }
    }

    async fn start_paper(&self, id: &str, params: Value) {
        let _: Value = call(
            &self.client,
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": id, "cash": "100000"}),
        )
        .await
        .unwrap();
        let _: Value = call(
            &self.client,
            subjects::strategy::START,
            json!({"id": id, "kind": "ensemble", "params": params, "symbols": ["GOOG"],
                   "mode": "paper", "account": id,
                   "sizing": {"rule": "fixed_qty", "qty": "10"}}),
        )
        .await
        .unwrap();
    }

    /// Every message of `filter` in `stream`, once `count(messages)` holds.
    async fn messages(&self, stream: &str, filter: String) -> Vec<Vec<u8>> {
        let stream = self.js.get_stream(stream).await.unwrap();
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        if consumer.cached_info().num_pending == 0 {
            return out;
        }
        let mut messages = consumer.messages().await.unwrap();
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_secs(2), messages.next()).await
        {
            out.push(m.payload.to_vec());
            if m.info().unwrap().pending == 0 {
                break;
            }
        }
        out
    }

    async fn signals(&self, id: &str) -> Vec<Signal> {
        self.messages(subjects::streams::SIGNALS, subjects::signals_of(id))
            .await
            .iter()
            .map(|p| {
                serde_json::from_slice::<Event<SignalEvent>>(p)
                    .unwrap()
                    .data
                    .signal
            })
            .collect()
    }

    async fn fills(&self, id: &str) -> usize {
        self.messages(subjects::streams::ORDERS, subjects::fills_of(id))
            .await
            .iter()
            .filter(|p| {
                matches!(
                    serde_json::from_slice::<Event<OrderEvent>>(p).unwrap().data,
                    OrderEvent::OrderFilled { .. }
                )
            })
            .count()
    }
}

fn local_signals(
    bars: &[Bar],
    model: Option<strategy::EnsembleModel>,
    params: &Value,
) -> Vec<Signal> {
    let params: Map<String, Value> = params.as_object().unwrap().clone();
    let mut s = strategy::build_with_model(
        "ensemble",
        &params,
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
        model,
    )
    .unwrap();
    bars.iter().filter_map(|b| s.on_bar(b)).collect()
}

#[tokio::test]
async fn ensemble_trades_in_paper_mode_and_pins_a_stored_model() {
    let env = Env::start().await;
    let mut bars = testkit::paths::goog_bars();
    bars.truncate(ROWS);

    // Unpinned, learning online: the service's signals are the pure strategy's.
    env.start_paper("ens", json!({})).await;
    let want = local_signals(&bars, None, &json!({}));
    assert!(want.len() >= 3, "{} signals", want.len());
    let got = testkit::wait_until(
        "the ensemble's signals",
        Duration::from_secs(120),
        || async {
            let got = env.signals("ens").await;
            (got.len() >= want.len()).then_some(got)
        },
    )
    .await;
    assert_eq!(got, want);
    // Signals became orders and filled in the paper account (the last one
    // may wait for a bar that never comes).
    let fills = testkit::wait_until("ensemble fills", Duration::from_secs(120), || async {
        let n = env.fills("ens").await;
        (n + 1 >= want.len()).then_some(n)
    })
    .await;
    assert!(fills >= 2, "{fills} fills");

    // The regime service has seen the bars: learn the ensemble's model.
    testkit::wait_until("regime of GOOG", Duration::from_secs(60), || async {
        let r: Value = call(
            &env.client,
            subjects::regime::GET,
            json!({"symbol": "GOOG"}),
        )
        .await
        .ok()?;
        (r["bars"] == ROWS as u64).then_some(())
    })
    .await;
    let trained: TrainResponse = call(
        &env.client,
        subjects::regime::TRAIN,
        json!({"symbol": "GOOG", "method": "hmm", "ensemble": true}),
    )
    .await
    .unwrap();
    let info = trained
        .models
        .iter()
        .find(|m| m.kind == "ensemble")
        .unwrap();
    assert_eq!((info.name.as_str(), info.version), ("ensemble-GOOG-1d", 1));
    let store = ModelStore::get(&env.js).await.unwrap();
    let (_, model): (_, strategy::EnsembleModel) = store.load("ensemble-GOOG-1d", 1).await.unwrap();
    assert_eq!(model.trained_on, ROWS);

    // backtest.run pinning version 1 = the engine with the loaded model.
    let pinned = json!({"model_version": 1});
    let report: BacktestReport = call(
        &env.client,
        subjects::backtest::RUN,
        json!({"strategy": {"kind": "ensemble", "params": pinned},
               "data": {"symbol": "GOOG"}, "cash": "10000", "include_equity": false}),
    )
    .await
    .unwrap();
    let mut local = strategy::build_with_model(
        "ensemble",
        pinned.as_object().unwrap(),
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
        Some(model.clone()),
    )
    .unwrap();
    let expected = backtest::run(
        &bars,
        local.as_mut(),
        &backtest::BacktestConfig::new(Decimal::from(10_000), Decimal::ZERO),
    )
    .unwrap();
    // (Compared without the f64 return: JSON reads it back to the last bit
    // only with serde_json's `float_roundtrip`.)
    let key = |t: &backtest::Trade| {
        (
            t.entry_bar,
            t.exit_bar,
            t.size,
            t.entry_price,
            t.exit_price,
            t.pnl,
        )
    };
    let got: Vec<_> = report.trades.iter().map(key).collect();
    let want_trades: Vec<_> = expected.trades.iter().map(key).collect();
    assert!(
        got == want_trades,
        "backtest.run pinned: {} trades, engine: {}",
        got.len(),
        want_trades.len()
    );
    assert!(!got.is_empty());

    // A paper strategy pinning it trades on the stored model too.
    env.start_paper("ens-pinned", pinned.clone()).await;
    let want = local_signals(&bars, Some(model), &pinned);
    let got = testkit::wait_until(
        "the pinned ensemble's signals",
        Duration::from_secs(120),
        || async {
            let got = env.signals("ens-pinned").await;
            (got.len() >= want.len() && !want.is_empty()).then_some(got)
        },
    )
    .await;
    assert_eq!(got, want);

    // A version that is not stored: 404, nothing started.
    let err = call::<Value>(
        &env.client,
        subjects::backtest::RUN,
        json!({"strategy": {"kind": "ensemble", "params": {"model_version": 7}},
               "data": {"symbol": "GOOG"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.service_error().map(|e| e.code), Some(404), "{err:?}");
    let err = call::<Value>(
        &env.client,
        subjects::strategy::START,
        json!({"id": "ens-7", "kind": "ensemble", "params": {"model_version": 7}, "symbols": ["GOOG"]}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.service_error().map(|e| e.code), Some(404), "{err:?}");
    drop(env.platform);
}
