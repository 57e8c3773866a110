use serde_json::json;

use super::*;

fn light() -> Resolved {
    Resolved::new(&builtin("light").unwrap()).unwrap()
}

#[test]
fn every_builtin_profile_is_valid_and_differs_where_it_says() {
    for profile in builtin_profiles() {
        let resolved = Resolved::new(&profile).unwrap();
        for (key, _) in &profile.values {
            assert_eq!(resolved.source(key), Some(Source::Profile), "{key}");
        }
    }
    let light = light();
    assert_eq!(light.settings.sim.bar_seconds, 5);
    assert!(!light.settings.services.contains(&"backtest".to_string()));
    assert_eq!(light.source("sim.seed"), Some(Source::Default));
    let heavy = Resolved::new(&builtin("heavy").unwrap()).unwrap();
    assert_eq!(heavy.settings.backtest.workers, 4);
    assert!(
        heavy.settings.services.is_empty(),
        "heavy runs every service"
    );
}

#[test]
fn each_layer_wins_over_the_ones_below_key_by_key() {
    // One key per height: each is set in every layer up to its own and must
    // come from the highest of them.
    let file = toml_layer(
        "services = [\"risk\"]\n[sim]\nbar_seconds = 2\nseed = 7\n[execution]\ncommission_pct = 0.002\nslippage_bps = \"3\"\n",
    )
    .unwrap();
    let env = env_layer([
        ("TRADER_SIM_SEED".to_string(), "8".to_string()),
        (
            "TRADER_EXECUTION_COMMISSION_PCT".to_string(),
            "0.003".to_string(),
        ),
        ("TRADER_EXECUTION_SLIPPAGE_BPS".to_string(), "4".to_string()),
        ("TRADER_DATA_DIR".to_string(), "/ignored".to_string()),
    ]);
    let flags = Layer::new(Source::Flag)
        .set("execution.commission_pct", "0.004")
        .set("execution.slippage_bps", "6");
    let kv = Layer::new(Source::Kv).set("execution.slippage_bps", "9");

    let mut r = light();
    for layer in [&file, &env, &flags, &kv] {
        r.apply(layer).unwrap();
    }
    let s = &r.settings;
    assert_eq!(s.services, vec!["risk".to_string()]);
    assert_eq!(r.source("services"), Some(Source::File));
    assert_eq!(s.sim.bar_seconds, 2);
    assert_eq!(r.source("sim.bar_seconds"), Some(Source::File));
    assert_eq!(s.sim.seed, 8);
    assert_eq!(r.source("sim.seed"), Some(Source::Env));
    assert_eq!(s.execution.commission_pct, Decimal::new(4, 3));
    assert_eq!(r.source("execution.commission_pct"), Some(Source::Flag));
    assert_eq!(s.execution.slippage_bps, Decimal::from(9));
    assert_eq!(r.source("execution.slippage_bps"), Some(Source::Kv));
    // Untouched: the profile's and the defaults'.
    assert_eq!(s.sim.symbols.len(), 2);
    assert_eq!(r.source("sim.symbols"), Some(Source::Profile));
    assert_eq!(r.source("sim.enabled"), Some(Source::Default));
    // Every key is in the report exactly once.
    assert_eq!(r.entries().len(), KEYS.len());
}

#[test]
fn bad_values_name_their_key_and_leave_the_settings_unchanged() {
    let mut r = light();
    let before = r.clone();
    let cases = [
        ("sim.bar_seconds", json!(0)),
        ("sim.bar_seconds", json!("fast")),
        ("sim.bar_seconds", json!(-1)),
        ("sim.symbols", json!([])),
        ("sim.symbols", json!("BAD SYMBOL")),
        ("execution.commission_pct", json!("-0.1")),
        ("execution.commission_pct", json!("1.5")),
        ("execution.commission_pct", json!("abc")),
        ("execution.slippage_bps", json!(true)),
        ("risk.max_order_qty", json!("0")),
        ("backtest.workers", json!(0)),
        ("paper.cash", json!("-1")),
        ("sim.enabled", json!("maybe")),
    ];
    for (key, value) in cases {
        let layer = Layer::new(Source::Flag).set(key, value.clone());
        let err = r.apply(&layer).unwrap_err();
        assert_eq!(err.key(), Some(key), "{key} = {value}: {err}");
        assert!(err.to_string().contains(key), "{err}");
        assert_eq!(r, before);
    }
    let err = r
        .apply(&Layer::new(Source::Kv).set("sim.speed", 1))
        .unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "sim.speed"));
    assert!(toml_layer("[sim]\nspeed = 1\n")
        .unwrap_err()
        .to_string()
        .contains("sim.speed"));
    assert!(matches!(toml_layer("[sim\n"), Err(ConfigError::File(_))));
}

#[test]
fn lenient_layers_skip_bad_keys_and_apply_the_rest() {
    let mut r = light();
    let kv = Layer::new(Source::Kv)
        .set("sim.bar_seconds", 0)
        .set("sim.symbols", json!(["X-1"]));
    let skipped = r.apply_lenient(&kv);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].key(), Some("sim.bar_seconds"));
    assert_eq!(r.settings.sim.symbols, vec![Symbol::new("X-1").unwrap()]);
    assert_eq!(r.settings.sim.bar_seconds, 5);
}

#[test]
fn optional_limits_take_none_and_strings_and_numbers_alike() {
    let r = light();
    let s = r
        .settings
        .with("risk.max_order_qty", json!("none"))
        .unwrap();
    assert_eq!(s.risk.max_order_qty, None);
    let s = s.with("risk.max_order_qty", json!(250)).unwrap();
    assert_eq!(s.risk.max_order_qty, Some(Decimal::from(250)));
    assert_eq!(s.get("risk.max_order_qty").unwrap(), json!("250"));
    let s = s.with("risk.allowed_symbols", json!("aaa,bbb")).unwrap();
    assert_eq!(
        s.risk.allowed_symbols,
        Some(vec![
            Symbol::new("AAA").unwrap(),
            Symbol::new("BBB").unwrap()
        ])
    );
    assert!(s.check_services(&["risk"]).is_err());
    assert!(Settings::default().check_services(&["risk"]).is_ok());
}

#[test]
fn env_names_follow_the_keys() {
    assert_eq!(env_name("sim.bar_seconds"), "TRADER_SIM_BAR_SECONDS");
    assert_eq!(env_name("services"), "TRADER_SERVICES");
    assert!(valid_profile_name("light"));
    assert!(!valid_profile_name("a.b"));
    assert!(Profile::custom("bad name").is_err());
}
