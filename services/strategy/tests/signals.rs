//! MARKET → strategy → SIGNALS, with restarts and two instances.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bus::api::strategy::{Mode, StrategyRecord};
use bus::{request, RequestOptions};
use common::{expected_sma_crossovers, goog_bars, sequential_signals, ts_dirs, Env};

async fn start(env: &Env, id: &str, kind: &str, params: serde_json::Value) -> StrategyRecord {
    request(
        &env.client,
        "strategy.start",
        &serde_json::json!({"id": id, "kind": kind, "params": params, "symbols": ["GOOG"], "timeframe": "1d"}),
        RequestOptions::default(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn sma_cross_on_goog_gives_exactly_the_crossovers() {
    let env = Env::start().await;
    env.platform.import_goog(0..2148).await;
    let (_instance, _) = env.strategy_instance().await;
    let record = start(
        &env,
        "sma-10-20",
        "sma_cross",
        serde_json::json!({"fast": 10, "slow": 20}),
    )
    .await;
    assert_eq!(record.mode, Mode::Signals);

    let last = env.market_last_sequence().await;
    let status = env.wait_caught_up("sma-10-20", last).await;
    let signals = env.signals("sma-10-20").await;
    let expected = expected_sma_crossovers(&goog_bars(), 10, 20);
    assert!(
        expected.len() > 50,
        "GOOG has many crossovers: {}",
        expected.len()
    );
    assert_eq!(ts_dirs(&signals), expected);
    assert_eq!(status.signals, expected.len() as u64);
    assert_eq!(status.last_signal.unwrap().ts, expected.last().unwrap().0);
    // Each signal names the bar that caused it and carries its price.
    let bars: HashMap<_, _> = goog_bars().into_iter().map(|b| (b.ts, b)).collect();
    for s in &signals {
        assert_eq!(s.signal.price, bars[&s.signal.ts].close);
        assert_eq!(s.strategy_id, "sma-10-20");
        assert!(s.bar_sequence > 0);
    }
}

#[tokio::test]
async fn a_crash_mid_stream_and_a_restart_give_the_same_signals_once() {
    let env = Env::start().await;
    env.platform.import_goog(0..1000).await;
    let (first, _) = env.strategy_instance().await;
    start(
        &env,
        "crashy",
        "sma_cross",
        serde_json::json!({"fast": 10, "slow": 20}),
    )
    .await;
    env.wait_caught_up("crashy", env.market_last_sequence().await)
        .await;
    let before = env.signals("crashy").await.len();
    assert!(before > 0);

    // Crash: no graceful shutdown, no lease release.
    first.abort();
    env.platform.import_goog(1000..2148).await;
    let (_second, second_id) = env.strategy_instance().await;
    let status = env
        .wait_caught_up("crashy", env.market_last_sequence().await)
        .await;
    assert_eq!(status.owner.as_deref(), Some(second_id.as_str()));

    let signals = env.signals("crashy").await;
    let expected = expected_sma_crossovers(&goog_bars(), 10, 20);
    assert_eq!(ts_dirs(&signals), expected, "no duplicates, none missing");
    assert!(signals.len() > before);
}

#[tokio::test]
async fn five_strategies_on_two_instances_run_once_and_survive_one_instance() {
    let env = Env::start().await;
    env.platform.import_goog(0..1500).await;
    let (a, a_id) = env.strategy_instance().await;
    let (_b, b_id) = env.strategy_instance().await;
    let defs = [
        (
            "s1",
            "sma_cross",
            serde_json::json!({"fast": 10, "slow": 20}),
        ),
        (
            "s2",
            "sma_cross",
            serde_json::json!({"fast": 5, "slow": 30}),
        ),
        ("s3", "ema_cross", serde_json::json!({})),
        ("s4", "rsi_reversion", serde_json::json!({})),
        ("s5", "macd_cross", serde_json::json!({})),
    ];
    for (id, kind, params) in &defs {
        start(&env, id, kind, params.clone()).await;
    }
    let last = env.market_last_sequence().await;
    let mut owners = HashMap::new();
    for (id, _, _) in &defs {
        let s = env.wait_caught_up(id, last).await;
        owners.insert(*id, s.owner.unwrap());
    }
    let used: HashSet<&String> = owners.values().collect();
    assert_eq!(used.len(), 2, "both instances run strategies: {owners:?}");
    assert!(used.contains(&a_id) && used.contains(&b_id));

    // One instance goes away; its strategies continue on the other.
    a.stop().await.unwrap();
    env.platform.import_goog(1500..2148).await;
    let last = env.market_last_sequence().await;
    let bars = goog_bars();
    for (id, kind, params) in &defs {
        let s = env.wait_caught_up(id, last).await;
        assert_eq!(s.owner.as_deref(), Some(b_id.as_str()), "{id}");
        let got = ts_dirs(&env.signals(id).await);
        assert_eq!(
            got,
            sequential_signals(kind, params.clone(), &bars),
            "{id}: same as one sequential run"
        );
        let unique: HashSet<_> = got.iter().map(|(ts, _)| *ts).collect();
        assert_eq!(unique.len(), got.len(), "{id}: no duplicate signal");
    }
    let _ = Duration::ZERO;
}
