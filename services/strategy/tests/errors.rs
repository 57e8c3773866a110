//! Bad requests get clear errors and the service keeps serving.

mod common;

use bus::{request, RequestOptions};
use common::Env;

async fn call(
    env: &Env,
    subject: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, bus::ServiceError> {
    request(&env.client, subject, &body, RequestOptions::default())
        .await
        .map_err(|e| {
            e.service_error()
                .cloned()
                .unwrap_or_else(|| panic!("not a service error: {e}"))
        })
}

#[tokio::test]
async fn bad_definitions_are_refused_with_reasons() {
    let env = Env::start().await;
    env.platform.import_goog(0..100).await;
    let (_i, _) = env.strategy_instance().await;

    let start = |id: &str, kind: &str, params: serde_json::Value, symbols: serde_json::Value| serde_json::json!({"id": id, "kind": kind, "params": params, "symbols": symbols});
    let e = call(
        &env,
        "strategy.start",
        start(
            "x",
            "nope",
            serde_json::json!({}),
            serde_json::json!(["GOOG"]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.contains("nope"), "{}", e.message);

    let e = call(
        &env,
        "strategy.start",
        start(
            "x",
            "sma_cross",
            serde_json::json!({"fast": 30, "slow": 10}),
            serde_json::json!(["GOOG"]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400, "{}", e.message);

    let e = call(
        &env,
        "strategy.start",
        start(
            "x",
            "sma_cross",
            serde_json::json!({"fast": "ten"}),
            serde_json::json!(["GOOG"]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400, "{}", e.message);

    let e = call(
        &env,
        "strategy.start",
        start(
            "x",
            "sma_cross",
            serde_json::json!({"bogus": 1}),
            serde_json::json!(["GOOG"]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400, "{}", e.message);

    let e = call(
        &env,
        "strategy.start",
        start(
            "x",
            "sma_cross",
            serde_json::json!({}),
            serde_json::json!(["NOPE"]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 404);
    assert!(e.message.contains("unknown symbol NOPE"), "{}", e.message);

    let e = call(
        &env,
        "strategy.start",
        start(
            "bad id!",
            "sma_cross",
            serde_json::json!({}),
            serde_json::json!(["GOOG"]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);

    let e = call(
        &env,
        "strategy.start",
        start(
            "x",
            "sma_cross",
            serde_json::json!({}),
            serde_json::json!([]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);

    // Sizing belongs to paper mode, and must be one of the two moments.
    let e = call(
        &env,
        "strategy.start",
        serde_json::json!({"id": "x", "kind": "sma_cross", "symbols": ["GOOG"], "sizing_at": "at_fill"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.contains("sizing_at"), "{}", e.message);
    let e = call(
        &env,
        "strategy.start",
        serde_json::json!({"id": "x", "kind": "sma_cross", "symbols": ["GOOG"], "mode": "paper", "sizing_at": "whenever"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);

    let e = call(
        &env,
        "strategy.start",
        serde_json::json!({"kind": "sma_cross"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);
    assert!(e.message.contains("missing field"), "{}", e.message);

    assert_eq!(
        call(&env, "strategy.stop", serde_json::json!({"id": "ghost"}))
            .await
            .unwrap_err()
            .code,
        404
    );
    assert_eq!(
        call(&env, "strategy.status", serde_json::json!({"id": "ghost"}))
            .await
            .unwrap_err()
            .code,
        404
    );

    // Idempotent start; a different definition under a running id conflicts.
    let ok = start(
        "dup",
        "sma_cross",
        serde_json::json!({"fast": 10, "slow": 20}),
        serde_json::json!(["GOOG"]),
    );
    let first = call(&env, "strategy.start", ok.clone()).await.unwrap();
    let again = call(&env, "strategy.start", ok).await.unwrap();
    assert_eq!(first, again);
    let other = start(
        "dup",
        "sma_cross",
        serde_json::json!({"fast": 5, "slow": 20}),
        serde_json::json!(["GOOG"]),
    );
    assert_eq!(
        call(&env, "strategy.start", other.clone())
            .await
            .unwrap_err()
            .code,
        409
    );
    // Stopped, it can be started with the new definition.
    let stopped = call(&env, "strategy.stop", serde_json::json!({"id": "dup"}))
        .await
        .unwrap();
    assert_eq!(stopped["state"], "stopped");
    let restarted = call(&env, "strategy.start", other).await.unwrap();
    assert_eq!(restarted["params"]["fast"], 5);

    // Still serving; the catalogue lists every built-in.
    let kinds = call(&env, "strategy.kinds", serde_json::json!({}))
        .await
        .unwrap();
    let names: Vec<&str> = kinds["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    for k in [
        "sma_cross",
        "ema_cross",
        "rsi_reversion",
        "macd_cross",
        "bollinger_breakout",
    ] {
        assert!(names.contains(&k), "{k} in {names:?}");
    }
    let list = call(&env, "strategy.list", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(list["strategies"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ind_compute_over_stored_and_inline_bars() {
    let env = Env::start().await;
    env.platform.import_goog(0..2148).await;
    let (_i, _) = env.strategy_instance().await;

    // Stored bars: SMA(10) equals a naive mean of the last ten closes.
    let resp = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "sma", "params": {"period": 10}, "symbol": "GOOG"}),
    )
    .await
    .unwrap();
    let points = resp["points"].as_array().unwrap();
    assert_eq!(points.len(), 2148 - 9);
    assert_eq!(resp["lookback"], 9);
    let closes: Vec<f64> = common::goog_bars()
        .iter()
        .map(|b| b.close.to_string().parse().unwrap())
        .collect();
    for (i, point) in points.iter().enumerate() {
        let want: f64 = closes[i..i + 10].iter().sum::<f64>() / 10.0;
        let got = point["values"]["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9 * want,
            "point {i}: {got} vs {want}"
        );
    }
    assert_eq!(points[0]["ts"], common::goog_bars()[9].ts.0);

    // A range, and a multi-column indicator with defaults filled in.
    let resp = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "MACD", "symbol": "GOOG", "from": "2010-01-01", "to": "2010-12-31"}),
    )
    .await
    .unwrap();
    assert_eq!(
        resp["params"],
        serde_json::json!({"fast": 12, "slow": 26, "signal": 9})
    );
    assert_eq!(
        resp["columns"],
        serde_json::json!(["macd", "signal", "hist"])
    );
    assert_eq!(resp["points"].as_array().unwrap().len(), 252 - 33);

    // Inline bars.
    let bars: Vec<serde_json::Value> = (0..30)
        .map(|i| serde_json::json!({"ts": i, "close": format!("{}", 100 + (i % 7))}))
        .collect();
    let resp = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "rsi", "params": {"period": 14}, "bars": bars}),
    )
    .await
    .unwrap();
    assert_eq!(resp["points"].as_array().unwrap().len(), 16);

    // Errors.
    let e = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "nope", "symbol": "GOOG"}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("unknown indicator"), "{}", e.message);
    let e = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "sma", "params": {"period": 0}, "symbol": "GOOG"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 400);
    let e = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "sma", "params": {"length": 3}, "symbol": "GOOG"}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("unknown parameter"), "{}", e.message);
    let e = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "macd", "params": {"fast": 26, "slow": 12}, "bars": bars}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("below slow"), "{}", e.message);
    let e = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "atr", "bars": bars}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("needs high and low"), "{}", e.message);
    let e = call(
        &env,
        "ind.compute",
        serde_json::json!({"indicator": "sma", "symbol": "NOPE"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, 404);
    let e = call(&env, "ind.compute", serde_json::json!({"indicator": "sma"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, 400);
}
