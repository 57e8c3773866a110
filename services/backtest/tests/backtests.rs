//! backtest.run and sweeps on a real nats-server with market-data and GOOG.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bus::api::backtest::{BacktestReport, JobStatus, SweepAccepted};
use bus::{request, subjects, RequestOptions};
use model::{Decimal, Symbol, Timeframe};
use testkit::{Instance, Platform};

struct Env {
    platform: Platform,
    client: async_nats::Client,
}

impl Env {
    async fn start() -> Env {
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |client, s| {
                market_data::run(market_data::Config::default(), client, s.wait())
            })
            .import_goog()
            .start()
            .await;
        let client = platform.client().clone();
        Env { platform, client }
    }

    /// Starts one more backtest instance and waits until it answers.
    async fn backtest_instance(&self, ack_wait: Duration) -> Arc<Instance> {
        let config = backtest_service::Config {
            ack_wait,
            ..Default::default()
        };
        self.platform
            .add(subjects::backtest::SERVICE, move |client, s| {
                backtest_service::run(config.clone(), client, s.wait())
            })
            .await
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        subject: &str,
        body: serde_json::Value,
    ) -> Result<T, bus::ServiceError> {
        request(
            &self.client,
            subject,
            &body,
            RequestOptions::timeout(Duration::from_secs(30)),
        )
        .await
        .map_err(|e| e.service_error().cloned().unwrap_or_else(|| panic!("{e}")))
    }

    /// Polls job.get. A request can be lost when it reaches an instance that is
    /// dying (core NATS is at most once), so a poll that times out is retried.
    async fn wait_done(&self, job_id: &str, top: u32) -> JobStatus {
        testkit::wait_until("the sweep to finish", Duration::from_secs(120), || async {
            let s: JobStatus = request(
                &self.client,
                "backtest.job.get",
                &serde_json::json!({"job_id": job_id, "top": top}),
                RequestOptions::timeout(Duration::from_secs(5)),
            )
            .await
            .ok()?;
            (s.state == bus::api::backtest::JobState::Done).then_some(s)
        })
        .await
    }
}

/// Equal, allowing the last-digit float difference a JSON round trip can bring.
fn same<T: serde::Serialize + std::fmt::Debug>(got: &T, want: &T) {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
        match (a, b) {
            (serde_json::Value::Number(x), serde_json::Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "{path}: {x} vs {y}"
                );
            }
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                assert_eq!(x.len(), y.len(), "{path}");
                for (k, v) in x {
                    walk(v, &y[k], &format!("{path}.{k}"));
                }
            }
            (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}");
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    walk(v, w, &format!("{path}[{i}]"));
                }
            }
            _ => assert_eq!(a, b, "{path}"),
        }
    }
    walk(
        &serde_json::to_value(got).unwrap(),
        &serde_json::to_value(want).unwrap(),
        "",
    );
}

fn local(
    kind: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    cash: i64,
    commission: Decimal,
) -> BacktestReport {
    let bars = testkit::paths::goog_bars();
    let mut s =
        strategy::build(kind, params, Symbol::new("GOOG").unwrap(), Timeframe::DAY).unwrap();
    backtest::run(
        &bars,
        s.as_mut(),
        &backtest::BacktestConfig {
            cash: Decimal::from(cash),
            commission,
            finalize_trades: false,
            sizing: Default::default(),
            sizing_at: Default::default(),
            exits: None,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn run_over_stored_and_inline_bars_is_the_engine() {
    let env = Env::start().await;
    let _bt = env.backtest_instance(Duration::from_secs(30)).await;
    let report: BacktestReport = env
        .call(
            "backtest.run",
            serde_json::json!({
                "strategy": {"kind": "sma_cross", "params": {"fast": 10, "slow": 20}},
                "data": {"symbol": "GOOG"}, "cash": 10000, "commission": "0.002"
            }),
        )
        .await
        .unwrap();
    let params = serde_json::json!({"fast": 10, "slow": 20})
        .as_object()
        .unwrap()
        .clone();
    let want = local("sma_cross", &params, 10_000, Decimal::new(2, 3));
    same(&report, &want);
    // backtesting.py's number for this run (fixture of the backtest crate).
    assert!((report.stats.return_pct.unwrap() - 462.6351934).abs() < 1e-6);
    assert_eq!(report.equity.len(), 2148);

    let bars: Vec<serde_json::Value> = testkit::paths::goog_bars()
        .iter()
        .map(|b| serde_json::json!({"ts": b.ts, "open": b.open, "high": b.high, "low": b.low, "close": b.close}))
        .collect();
    let inline: BacktestReport = env
        .call(
            "backtest.run",
            serde_json::json!({
                "strategy": {"kind": "sma_cross", "params": {"fast": 10, "slow": 20}},
                "data": {"bars": bars}, "cash": 10000, "commission": "0.002", "include_equity": false
            }),
        )
        .await
        .unwrap();
    same(&inline.stats, &want.stats);
    assert!(inline.equity.is_empty());

    // Sized at the signal's close, through the service as in the engine.
    let at_signal: BacktestReport = env
        .call(
            "backtest.run",
            serde_json::json!({
                "strategy": {"kind": "sma_cross", "params": {"fast": 10, "slow": 20}},
                "data": {"symbol": "GOOG"}, "cash": 10000, "commission": "0.002",
                "sizing": {"rule": "percent_of_equity", "percent": "50"}, "sizing_at": "at_signal",
                "include_equity": false
            }),
        )
        .await
        .unwrap();
    let mut s = strategy::build(
        "sma_cross",
        &params,
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap();
    let config = backtest::BacktestConfig {
        sizing: trading::Sizing::PercentOfEquity {
            percent: Decimal::from(50),
        },
        sizing_at: trading::SizingMoment::AtSignal,
        ..backtest::BacktestConfig::new(Decimal::from(10_000), Decimal::new(2, 3))
    };
    let want = backtest::run(&testkit::paths::goog_bars(), s.as_mut(), &config).unwrap();
    same(&at_signal.stats, &want.stats);
    same(&at_signal.trades, &want.trades);
    assert_ne!(at_signal.trades[0].size, report.trades[0].size);
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            serde_json::json!({
                "strategy": {"kind": "sma_cross"}, "data": {"symbol": "GOOG"},
                "sizing": {"rule": "fixed_qty", "qty": "0"}
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 400, "{}", e.message);

    // Exits for every entry, through the service as in the engine.
    let exits =
        serde_json::json!({"stop_loss": "0.05", "trailing_stop": "0.08", "take_profit": "0.2"});
    let with_exits: BacktestReport = env
        .call(
            "backtest.run",
            serde_json::json!({
                "strategy": {"kind": "sma_cross", "params": {"fast": 10, "slow": 20}},
                "data": {"symbol": "GOOG"}, "cash": 10000, "commission": "0.002",
                "exits": exits, "include_equity": false
            }),
        )
        .await
        .unwrap();
    let mut s = strategy::build(
        "sma_cross",
        &params,
        Symbol::new("GOOG").unwrap(),
        Timeframe::DAY,
    )
    .unwrap();
    let config = backtest::BacktestConfig {
        exits: Some(serde_json::from_value(exits).unwrap()),
        ..backtest::BacktestConfig::new(Decimal::from(10_000), Decimal::new(2, 3))
    };
    let want = backtest::run(&testkit::paths::goog_bars(), s.as_mut(), &config).unwrap();
    same(&with_exits.trades, &want.trades);
    assert_ne!(
        with_exits.trades, report.trades,
        "the exits close trades early"
    );
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            serde_json::json!({
                "strategy": {"kind": "sma_cross"}, "data": {"symbol": "GOOG"},
                "exits": {"stop_loss": "2"}
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 400, "{}", e.message);
    assert!(e.message.starts_with("exits: stop_loss"), "{}", e.message);
}

#[tokio::test]
async fn bad_backtests_get_clear_errors() {
    let env = Env::start().await;
    let _bt = env.backtest_instance(Duration::from_secs(30)).await;
    let run = |strategy: serde_json::Value, data: serde_json::Value| serde_json::json!({"strategy": strategy, "data": data});
    let goog = serde_json::json!({"symbol": "GOOG"});
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            run(serde_json::json!({"kind": "nope"}), goog.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.contains("unknown strategy kind"), "{}", e.message);
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            run(
                serde_json::json!({"kind": "sma_cross", "params": {"fast": 20, "slow": 10}}),
                goog.clone(),
            ),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("must be below slow"), "{}", e.message);
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            run(
                serde_json::json!({"kind": "sma_cross"}),
                serde_json::json!({"bars": []}),
            ),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("no bars"), "{}", e.message);
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            run(
                serde_json::json!({"kind": "sma_cross"}),
                serde_json::json!({"symbol": "NOPE"}),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, 404);
    let gap = serde_json::json!({"bars": [
        {"ts": 2, "open": 1, "high": 1, "low": 1, "close": 1},
        {"ts": 1, "open": 1, "high": 1, "low": 1, "close": 1}
    ]});
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            run(serde_json::json!({"kind": "sma_cross"}), gap),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("increasing time order"), "{}", e.message);
    let e = env
        .call::<BacktestReport>(
            "backtest.run",
            serde_json::json!({"strategy": {"kind": "sma_cross"}, "data": goog, "commission": 0.5}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("commission"), "{}", e.message);

    let sweep = serde_json::json!({"kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "sharpe_ratio",
        "search": {"grid": {"fast": [30, 40], "slow": [10, 20]}}});
    let e = env
        .call::<SweepAccepted>("backtest.sweep.submit", sweep)
        .await
        .unwrap_err();
    assert!(
        e.message.contains("no valid parameter set"),
        "{}",
        e.message
    );
    let e = env
        .call::<JobStatus>("backtest.job.get", serde_json::json!({"job_id": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, 404);
}

fn grid_60() -> serde_json::Value {
    serde_json::json!({
        "kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "sharpe_ratio",
        "cash": 10000, "commission": "0.002",
        "search": {"grid": {"fast": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "slow": [15, 20, 25, 30, 40, 50]}}
    })
}

#[tokio::test]
async fn a_sweep_on_two_instances_equals_a_sequential_run() {
    let env = Env::start().await;
    let _a = env.backtest_instance(Duration::from_secs(30)).await;
    let _b = env.backtest_instance(Duration::from_secs(30)).await;
    let mut complete = env.client.subscribe("evt.backtest.>").await.unwrap();
    let accepted: SweepAccepted = env.call("backtest.sweep.submit", grid_60()).await.unwrap();
    assert_eq!((accepted.tasks, accepted.skipped), (60, 0));
    let status = env.wait_done(&accepted.job_id, 60).await;
    assert_eq!(status.done, 60);

    // Every result equals the same backtest run here, sequentially.
    let mut by_params = BTreeMap::new();
    for r in &status.best {
        let want = local("sma_cross", &r.params, 10_000, Decimal::new(2, 3));
        same(&r.stats, &want.stats);
        same(&r.objective, &want.stats.sharpe_ratio);
        by_params.insert(
            serde_json::Value::Object(r.params.clone()).to_string(),
            r.index,
        );
    }
    assert_eq!(by_params.len(), 60, "every parameter set once");
    let sharpe: Vec<f64> = status.best.iter().map(|r| r.objective.unwrap()).collect();
    assert!(sharpe.windows(2).all(|w| w[0] >= w[1]), "ranked best first");
    let workers: HashSet<&String> = status.best.iter().map(|r| &r.worker).collect();
    assert_eq!(workers.len(), 2, "both instances worked");

    let event = tokio::time::timeout(
        Duration::from_secs(10),
        futures::StreamExt::next(&mut complete),
    )
    .await
    .unwrap()
    .unwrap();
    let event: serde_json::Value = serde_json::from_slice(&event.payload).unwrap();
    assert_eq!(event["type"], "BACKTEST_COMPLETE");
    assert_eq!(event["data"]["job_id"], accepted.job_id.as_str());
    assert_eq!(event["data"]["best"]["index"], status.best[0].index);
}

#[tokio::test]
async fn a_worker_killed_mid_sweep_loses_nothing_and_doubles_nothing() {
    let env = Env::start().await;
    let a = env.backtest_instance(Duration::from_secs(2)).await;
    let _b = env.backtest_instance(Duration::from_secs(2)).await;
    let sweep = serde_json::json!({
        "kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "return_pct",
        "search": {"random": {"samples": 150, "seed": 11}}
    });
    let accepted: SweepAccepted = env.call("backtest.sweep.submit", sweep).await.unwrap();
    testkit::wait_until("some results", Duration::from_secs(60), || async {
        let s: JobStatus = env
            .call(
                "backtest.job.get",
                serde_json::json!({"job_id": accepted.job_id}),
            )
            .await
            .ok()?;
        (s.done >= 10).then_some(())
    })
    .await;
    a.abort();
    let status = env.wait_done(&accepted.job_id, 1000).await;
    assert_eq!(status.done, accepted.tasks);
    let indices: HashSet<u32> = status.best.iter().map(|r| r.index).collect();
    assert_eq!(indices.len() as u32, accepted.tasks, "every task once");

    // The results bucket holds exactly one entry per task.
    let js = async_nats::jetstream::new(env.client.clone());
    let stream = js.get_stream("KV_backtest-results").await.unwrap();
    let mut subjects = stream
        .info_with_subjects(format!("$KV.backtest-results.{}.>", accepted.job_id))
        .await
        .unwrap();
    let mut messages = 0;
    while let Some(Ok((_, n))) = futures::StreamExt::next(&mut subjects).await {
        messages += n;
    }
    assert_eq!(messages as u32, accepted.tasks);
}

#[tokio::test]
async fn a_canceled_sweep_stops() {
    let env = Env::start().await;
    let sweep = serde_json::json!({
        "kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "sqn",
        "search": {"random": {"samples": 200, "seed": 3}}
    });
    // Cancel right after submitting: the worker may have done a few tasks; the rest never run.
    let _bt = env.backtest_instance(Duration::from_secs(30)).await;
    let accepted: SweepAccepted = env.call("backtest.sweep.submit", sweep).await.unwrap();
    let canceled: JobStatus = env
        .call(
            "backtest.job.cancel",
            serde_json::json!({"job_id": accepted.job_id}),
        )
        .await
        .unwrap();
    assert_eq!(canceled.state, bus::api::backtest::JobState::Canceled);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later: JobStatus = env
        .call(
            "backtest.job.get",
            serde_json::json!({"job_id": accepted.job_id}),
        )
        .await
        .unwrap();
    assert_eq!(later.state, bus::api::backtest::JobState::Canceled);
    assert!(
        later.done < accepted.tasks,
        "not every task ran: {}",
        later.done
    );
    let js = async_nats::jetstream::new(env.client.clone());
    let mut jobs = js.get_stream("JOBS").await.unwrap();
    assert_eq!(
        jobs.info().await.unwrap().state.messages,
        0,
        "queued tasks dropped"
    );
}

#[tokio::test]
async fn a_genetic_sweep_breeds_generations_across_instances() {
    let env = Env::start().await;
    let _a = env.backtest_instance(Duration::from_secs(30)).await;
    let _b = env.backtest_instance(Duration::from_secs(30)).await;
    let sweep = serde_json::json!({
        "kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "sharpe_ratio", "commission": "0.002",
        "search": {"genetic": {"population": 12, "generations": 4, "seed": 21}}
    });
    let accepted: SweepAccepted = env.call("backtest.sweep.submit", sweep).await.unwrap();
    assert!(accepted.tasks <= 12);
    let status = env.wait_done(&accepted.job_id, 1000).await;
    assert_eq!(status.generation, 3, "four generations ran");
    assert!(
        status.tasks > accepted.tasks && status.tasks <= 48,
        "{} sets",
        status.tasks
    );
    assert_eq!(status.done, status.tasks);
    let sets: HashSet<String> = status
        .best
        .iter()
        .map(|r| serde_json::Value::Object(r.params.clone()).to_string())
        .collect();
    assert_eq!(
        sets.len() as u32,
        status.tasks,
        "no parameter set run twice"
    );
    // The best found is at least as good as the best of the random first generation.
    let first_best = status
        .best
        .iter()
        .filter(|r| r.index < accepted.tasks)
        .filter_map(|r| r.objective)
        .fold(f64::MIN, f64::max);
    assert!(status.best[0].objective.unwrap() >= first_best);
    for r in status.best.iter().take(3) {
        let want = local("sma_cross", &r.params, 10_000, Decimal::new(2, 3));
        same(&r.stats, &want.stats);
    }
}
