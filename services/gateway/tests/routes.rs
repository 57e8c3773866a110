//! Walks `/api/openapi.json`: the document is structurally valid OpenAPI 3.1
//! (every path has operations, every `$ref` resolves, operation ids unique),
//! and every operation it lists is called against a running stack and answers
//! as documented (2xx with these requests).

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{until_served, Services, Stack};
use serde_json::{json, Value};

/// Every `$ref` in `v` points into the document.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|x| refs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn check_document(doc: &Value) -> Vec<(String, String)> {
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["responses"]["Error"].is_object());
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(
        all.len() > 50,
        "schemas are shared through $ref: {}",
        all.len()
    );
    for r in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "component name {name}"
        );
    }
    let mut ops = Vec::new();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let item = item.as_object().unwrap();
        assert!(!item.is_empty(), "{path} has no operation");
        for (method, op) in item {
            assert!(["get", "post", "put", "delete"].contains(&method.as_str()));
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "operationId twice"
            );
            assert!(op["responses"]["200"].is_object(), "{method} {path}");
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    assert!(path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())));
                }
            }
            let templated = path.matches('{').count();
            let declared = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter(|p| p["in"] == "path").count())
                .unwrap_or(0);
            assert_eq!(
                templated, declared,
                "{method} {path}: every path parameter declared"
            );
            if op["x-role"].is_string() {
                assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object());
            }
            ops.push((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

fn backtest() -> Value {
    json!({"strategy": {"kind": "sma_cross", "params": {"fast": 10, "slow": 30}}, "data": {"symbol": "GOOG"}, "include_equity": false})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_answers() {
    let stack = Stack::start(Services::All, common::gateway_config()).await;
    let mut admin = stack.admin();
    let doc = admin.get("/api/openapi.json").await.unwrap();
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    let ops = check_document(&doc);

    // The calls, in an order where each finds what it needs (the account
    // before its orders, a created key before its revocation).
    let csv = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n";
    let mut vars: HashMap<&str, String> = HashMap::new();
    let calls: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/health/live", None),
        ("GET", "/health/ready", None),
        ("GET", "/api/openapi.json", None),
        ("GET", "/api/docs", None),
        ("GET", "/api/v1/services", None),
        (
            "POST",
            "/api/v1/accounts",
            Some(json!({"account": "paper", "cash": "100000"})),
        ),
        ("GET", "/api/v1/symbols", None),
        ("GET", "/api/v1/bars/{symbol}?limit=5&timeframe=1d", None),
        ("GET", "/api/v1/quotes/{symbol}", None),
        (
            "POST",
            "/api/v1/imports",
            Some(json!({"symbol": "TESTX", "csv": csv})),
        ),
        ("GET", "/api/v1/strategy-kinds", None),
        (
            "POST",
            "/api/v1/strategies",
            Some(json!({"id": "walk", "kind": "sma_cross", "symbols": ["GOOG"]})),
        ),
        ("GET", "/api/v1/strategies", None),
        ("GET", "/api/v1/strategies/{id}", None),
        ("POST", "/api/v1/strategies/{id}/stop", None),
        (
            "POST",
            "/api/v1/indicators",
            Some(json!({"indicator": "sma", "params": {"period": 5}, "symbol": "GOOG"})),
        ),
        ("POST", "/api/v1/backtests", Some(backtest())),
        (
            "POST",
            "/api/v1/sweeps",
            Some(
                json!({"kind": "sma_cross", "data": {"symbol": "GOOG"}, "search": {"grid": {"fast": [5, 10], "slow": [30]}}, "objective": "return_pct"}),
            ),
        ),
        ("GET", "/api/v1/jobs/{job_id}?top=1", None),
        ("POST", "/api/v1/jobs/{job_id}/cancel", None),
        (
            "POST",
            "/api/v1/analytics/performance",
            Some(json!({"source": {"backtest": backtest()}})),
        ),
        (
            "POST",
            "/api/v1/analytics/report",
            Some(json!({"source": {"backtest": backtest()}, "format": "html"})),
        ),
        ("GET", "/api/v1/accounts/{account}", None),
        ("GET", "/api/v1/accounts/{account}/positions", None),
        (
            "POST",
            "/api/v1/accounts/{account}/orders",
            Some(
                json!({"client_order_id": "walk-1", "symbol": "GOOG", "side": "buy", "type": "limit", "qty": "1", "limit_price": "1"}),
            ),
        ),
        ("GET", "/api/v1/accounts/{account}/orders?open=true", None),
        ("GET", "/api/v1/orders/{order_id}", None),
        ("DELETE", "/api/v1/orders/{order_id}", None),
        (
            "PUT",
            "/api/v1/accounts/{account}/protections",
            Some(json!({"symbol": "GOOG", "stop_loss": "1"})),
        ),
        ("GET", "/api/v1/accounts/{account}/risk", None),
        ("GET", "/api/v1/accounts/{account}/limits", None),
        (
            "PUT",
            "/api/v1/accounts/{account}/limits",
            Some(json!({"limits": {"max_order_qty": "1000"}})),
        ),
        (
            "POST",
            "/api/v1/accounts/{account}/halt",
            Some(json!({"reason": "walk"})),
        ),
        ("POST", "/api/v1/accounts/{account}/reduce", None),
        ("POST", "/api/v1/accounts/{account}/resume", None),
        (
            "POST",
            "/api/v1/risk/check",
            Some(
                json!({"account": "paper", "symbol": "GOOG", "side": "buy", "qty": "1", "price": "100"}),
            ),
        ),
        (
            "POST",
            "/api/v1/keys",
            Some(json!({"role": "viewer", "name": "walk"})),
        ),
        ("GET", "/api/v1/keys", None),
        ("DELETE", "/api/v1/keys/{id}", None),
        (
            "POST",
            "/api/v1/users",
            Some(json!({"username": "walker", "password": "long enough", "role": "trader"})),
        ),
        ("GET", "/api/v1/users", None),
        (
            "POST",
            "/api/v1/auth/login",
            Some(json!({"username": "walker", "password": "long enough"})),
        ),
        ("DELETE", "/api/v1/users/{username}", None),
        ("GET", "/ws", None),
    ];
    vars.insert("symbol", "GOOG".into());
    vars.insert("account", "paper".into());
    vars.insert("order_id", "paper.walk-1".into());
    vars.insert("username", "walker".into());

    let mut called = BTreeSet::new();
    for (method, template, body) in &calls {
        let route = template.split('?').next().unwrap();
        called.insert((method.to_string(), route.to_string()));
        let mut path = template.to_string();
        // `{id}` is a strategy under /strategies, a key under /keys.
        let id = if route.starts_with("/api/v1/keys") {
            "key_id"
        } else {
            "strategy_id"
        };
        vars.insert("id", vars.get(id).cloned().unwrap_or_else(|| "walk".into()));
        for (name, value) in &vars {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        let r = until_served(&mut admin, method, &path, body.as_ref()).await;
        let expected = if route == "/ws" { 400 } else { 200 };
        assert_eq!(r.status, expected, "{method} {path}: {}", r.text());
        assert!(
            r.header("correlation-id").is_some() || !route.starts_with("/api/v1"),
            "{method} {path}"
        );
        let v = r.json();
        match (*method, route) {
            ("POST", "/api/v1/sweeps") => {
                vars.insert("job_id", v["job_id"].as_str().unwrap().to_string());
            }
            ("POST", "/api/v1/keys") => {
                vars.insert("key_id", v["info"]["id"].as_str().unwrap().to_string());
            }
            ("GET", "/api/v1/bars/{symbol}") => {
                // Pagination passes through: five bars and where the next page starts.
                assert_eq!(v["bars"].as_array().unwrap().len(), 5);
                assert!(v["next_from"].is_i64(), "{v}");
            }
            ("GET", "/api/docs") => assert!(r.text().contains("<html")),
            ("POST", "/api/v1/auth/login") => {
                assert!(v["token"].as_str().unwrap().starts_with("eyJ"))
            }
            ("DELETE", "/api/v1/orders/{order_id}") => assert_eq!(v["status"], "canceled"),
            _ => {}
        }
    }
    let documented: BTreeSet<(String, String)> = ops.into_iter().collect();
    assert_eq!(
        called, documented,
        "the walk calls every documented operation, and only those"
    );
}
