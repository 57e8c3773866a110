//! The config service against a real nats-server: sources per key through
//! every layer, validated writes (400 naming the key), resets, profiles.

use std::time::Duration;

use bus::api::config::{ConfigView, ProfilesList, SetResponse, Source};
use serde_json::{json, Value};
use testkit::Platform;
use trader_config::{Layer, Resolved};

/// `light`, with a file, env and flag layer as `trader run` would build them.
fn base() -> Resolved {
    let mut base = Resolved::new(&trader_config::builtin("light").unwrap()).unwrap();
    base.apply(
        &trader_config::toml_layer(
            "[sim]\nseed = 7\nbar_seconds = 4\n[execution]\nslippage_bps = 1\ncommission_pct = 0.0011\n",
        )
        .unwrap(),
    )
    .unwrap();
    base.apply(&trader_config::env_layer([
        ("TRADER_SIM_BAR_SECONDS".to_string(), "2".to_string()),
        ("TRADER_EXECUTION_SLIPPAGE_BPS".to_string(), "2".to_string()),
        (
            "TRADER_EXECUTION_COMMISSION_PCT".to_string(),
            "0.0012".to_string(),
        ),
    ]))
    .unwrap();
    base.apply(
        &Layer::new(Source::Flag)
            .set("execution.slippage_bps", "3")
            .set("execution.commission_pct", "0.0013"),
    )
    .unwrap();
    base
}

async fn platform() -> Platform {
    Platform::builder()
        .service(bus::subjects::config::SERVICE, 1, |client, s| {
            let config = config_service::Config {
                base: base(),
                known_services: vec!["config".into(), "risk".into()],
                ..Default::default()
            };
            config_service::run(config, client, s.wait())
        })
        .start()
        .await
}

async fn get(p: &Platform, body: Value) -> ConfigView {
    let (code, body) = testkit::raw_request(p.client(), "config.get", &body).await;
    assert_eq!(code, 0, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn set(p: &Platform, body: Value) -> SetResponse {
    let (code, body) = testkit::raw_request(p.client(), "config.set", &body).await;
    assert_eq!(code, 0, "{body}");
    serde_json::from_value(body).unwrap()
}

fn entry<'a>(view: &'a ConfigView, key: &str) -> (&'a Value, Source) {
    let e = view.entries.iter().find(|e| e.key == key).unwrap();
    (&e.value, e.source)
}

#[tokio::test]
async fn each_key_reports_the_highest_layer_that_set_it_and_kv_wins_over_all() {
    let p = platform().await;
    let view = get(&p, json!({})).await;
    assert_eq!(view.profile, "light");
    assert_eq!(view.entries.len(), trader_config::KEYS.len());
    assert_eq!(entry(&view, "sim.enabled"), (&json!(true), Source::Default));
    assert_eq!(
        entry(&view, "sim.symbols"),
        (&json!(["SIM-A", "SIM-B"]), Source::Profile)
    );
    assert_eq!(entry(&view, "sim.seed"), (&json!(7), Source::File));
    assert_eq!(entry(&view, "sim.bar_seconds"), (&json!(2), Source::Env));
    assert_eq!(
        entry(&view, "execution.slippage_bps"),
        (&json!("3"), Source::Flag)
    );
    assert_eq!(
        entry(&view, "execution.commission_pct"),
        (&json!("0.0013"), Source::Flag)
    );

    // KV over the flag; a reset shows the flag again.
    let r = set(
        &p,
        json!({"key": "execution.commission_pct", "value": "0.00140"}),
    )
    .await;
    assert_eq!(
        (r.value.clone(), r.source, r.revision > 0),
        (json!("0.0014"), Source::Kv, true)
    );
    assert!(r.needs_restart.is_empty(), "applies live: {r:?}");
    assert_eq!(r.service.as_deref(), Some("execution"));
    let one = get(&p, json!({"key": "execution.commission_pct"})).await;
    assert_eq!(one.entries.len(), 1);
    assert_eq!(
        entry(&one, "execution.commission_pct"),
        (&json!("0.0014"), Source::Kv)
    );
    // What another KV client wrote counts the same.
    let js = async_nats::jetstream::new(p.client().clone());
    let kv = js.get_key_value("config").await.unwrap();
    kv.put("light.sim.seed", "11".into()).await.unwrap();
    testkit::wait_until("the KV write seen", Duration::from_secs(10), || async {
        let view = get(&p, json!({"key": "sim.seed"})).await;
        (entry(&view, "sim.seed") == (&json!(11), Source::Kv)).then_some(())
    })
    .await;

    let r = set(
        &p,
        json!({"key": "execution.commission_pct", "reset": true}),
    )
    .await;
    assert_eq!((r.value, r.source), (json!("0.0013"), Source::Flag));

    // A key that needs a restart says so.
    let r = set(&p, json!({"key": "backtest.workers", "value": 3})).await;
    assert_eq!(r.needs_restart, vec!["backtest.workers".to_string()]);
}

#[tokio::test]
async fn bad_writes_are_400_naming_the_key_and_change_nothing() {
    let p = platform().await;
    let cases = [
        (json!({"key": "sim.speed", "value": 1}), "sim.speed"),
        (
            json!({"key": "sim.bar_seconds", "value": 0}),
            "sim.bar_seconds",
        ),
        (
            json!({"key": "sim.bar_seconds", "value": "soon"}),
            "sim.bar_seconds",
        ),
        (json!({"key": "sim.symbols", "value": []}), "sim.symbols"),
        (
            json!({"key": "execution.commission_pct", "value": "2"}),
            "execution.commission_pct",
        ),
        (
            json!({"key": "execution.slippage_bps", "value": "-1"}),
            "execution.slippage_bps",
        ),
        (
            json!({"key": "risk.max_order_qty", "value": "0"}),
            "risk.max_order_qty",
        ),
        (
            json!({"key": "services", "value": ["risk", "nope"]}),
            "services",
        ),
        (
            json!({"key": "paper.cash", "value": {"a": 1}}),
            "paper.cash",
        ),
        (
            json!({"profile": "no.dots", "key": "sim.seed", "value": 1}),
            "no.dots",
        ),
    ];
    for (body, named) in cases {
        let (code, reply) = testkit::raw_request(p.client(), "config.set", &body).await;
        assert_eq!(code, 400, "{body} → {reply}");
        let message = reply["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body} → {reply}");
    }
    let (code, reply) =
        testkit::raw_request(p.client(), "config.get", &json!({"key": "nope"})).await;
    assert_eq!(code, 400, "{reply}");
    let (code, _) =
        testkit::raw_request(p.client(), "config.get", &json!({"profile": "ghost"})).await;
    assert_eq!(code, 404);
    // Nothing was written.
    let js = async_nats::jetstream::new(p.client().clone());
    let kv = js.get_key_value("config").await.unwrap();
    let mut keys = kv.keys().await.unwrap();
    assert!(
        futures::StreamExt::next(&mut keys).await.is_none(),
        "the bucket stays empty"
    );
}

#[tokio::test]
async fn profiles_list_the_builtins_and_any_profile_with_keys_in_kv() {
    let p = platform().await;
    let (code, body) = testkit::raw_request(p.client(), "config.profiles.list", &json!({})).await;
    assert_eq!(code, 0);
    let list: ProfilesList = serde_json::from_value(body).unwrap();
    assert_eq!(list.active, "light");
    let names: Vec<&str> = list.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["default", "light", "heavy"]);
    let light = &list.profiles[1];
    assert!(light.services.contains(&"risk".to_string()));
    assert!(!light.services.contains(&"backtest".to_string()));

    // Another profile: built-in values plus its KV keys, no file/env/flags.
    let r = set(
        &p,
        json!({"profile": "heavy", "key": "sim.bar_seconds", "value": 60}),
    )
    .await;
    assert!(r.needs_restart.is_empty(), "not the running profile");
    let heavy = get(&p, json!({"profile": "heavy"})).await;
    assert_eq!(entry(&heavy, "sim.bar_seconds"), (&json!(60), Source::Kv));
    assert_eq!(
        entry(&heavy, "backtest.workers"),
        (&json!(4), Source::Profile)
    );
    assert_eq!(
        entry(&heavy, "execution.slippage_bps"),
        (&json!("2"), Source::Profile)
    );
    // A new profile exists once it has a key.
    set(
        &p,
        json!({"profile": "night", "key": "sim.symbols", "value": "N-1,N-2"}),
    )
    .await;
    let (_, body) = testkit::raw_request(p.client(), "config.profiles.list", &json!({})).await;
    let list: ProfilesList = serde_json::from_value(body).unwrap();
    let night = list.profiles.iter().find(|p| p.name == "night").unwrap();
    assert!(!night.builtin);
    assert_eq!(night.kv_keys, vec!["sim.symbols".to_string()]);
    let heavy = list.profiles.iter().find(|p| p.name == "heavy").unwrap();
    assert_eq!(heavy.kv_keys, vec!["sim.bar_seconds".to_string()]);
}
