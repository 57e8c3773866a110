//! Fuzz every endpoint's request body. The corpus comes from the endpoints
//! themselves: `$SRV.INFO` of every service lists its endpoints with their
//! request JSON schema; a well-formed body is built from each schema, then
//! broken: malformed JSON, invalid UTF-8, wrong types, 10,000 nested arrays,
//! a payload just under the server's limit, and every field in turn (then all
//! numeric-looking fields at once) set to hostile values: huge, tiny,
//! negative, exponents, NaN and infinities as text, values whose products
//! overflow, long strings, nesting. A reply must come, must never be a 5xx
//! (a panicking handler answers 500), and an error must carry the micro error
//! headers and a JSON body with a message; malformed bodies must be a 4xx.
//! After each hostile request the service must still answer a good one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bus::subjects;
use futures::StreamExt;
use serde_json::{json, Value};
use testkit::Platform;

use super::{Mode, Outcome};

/// One reply, as it came.
struct Reply {
    code: u16,
    /// The JSON error body had a non-empty message (errors only).
    clear: bool,
}

async fn send(
    client: &async_nats::Client,
    subject: &str,
    payload: Vec<u8>,
    timeout: Duration,
) -> Option<Reply> {
    let request = async_nats::Request::new()
        .payload(payload.into())
        .timeout(Some(timeout));
    let reply = client
        .send_request(subject.to_string(), request)
        .await
        .ok()?;
    let code = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Service-Error-Code"))
        .and_then(|v| v.as_str().parse().ok())
        .unwrap_or(0);
    let described = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Service-Error"))
        .is_some_and(|v| !v.as_str().is_empty());
    let body: Option<Value> = serde_json::from_slice(&reply.payload).ok();
    let clear = described
        && body.is_some_and(|b| {
            b["message"].as_str().is_some_and(|m| !m.is_empty()) && b["code"] == code
        });
    Some(Reply { code, clear })
}

/// A well-formed value for `schema` (resolving `$ref`s in `root`), with a
/// guess from the field's name for strings.
fn example(schema: &Value, root: &Value, name: &str, depth: usize) -> Value {
    if depth > 12 {
        return Value::Null;
    }
    if let Some(r) = schema["$ref"].as_str() {
        let path = r.trim_start_matches("#/");
        let mut target = root;
        for part in path.split('/') {
            target = &target[part];
        }
        return example(target, root, name, depth + 1);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema[key].as_array() {
            // Prefer a variant that is not null.
            let pick = variants
                .iter()
                .find(|v| v["type"] != "null")
                .or(variants.first());
            if let Some(v) = pick {
                if key == "allOf" && variants.len() > 1 {
                    let mut merged = serde_json::Map::new();
                    for v in variants {
                        if let Value::Object(m) = example(v, root, name, depth + 1) {
                            merged.extend(m);
                        }
                    }
                    return Value::Object(merged);
                }
                return example(v, root, name, depth + 1);
            }
        }
    }
    let ty = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null")
            .to_string(),
        _ if schema.get("properties").is_some() => "object".to_string(),
        _ => "string".to_string(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    out.insert(k.clone(), example(v, root, k, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => json!([example(&schema["items"], root, name, depth + 1)]),
        "integer" => json!(1),
        "number" => json!(1),
        "boolean" => json!(false),
        "null" => Value::Null,
        _ => match name {
            "symbol" | "symbols" => json!("GOOG"),
            "account" => json!("fz"),
            "timeframe" => json!("1d"),
            "csv" => json!("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,100\n"),
            _ => json!("1"),
        },
    }
}

/// Hand-written well-formed bodies where the schema alone does not make one
/// the handler accepts (one of two fields, a known kind, a limit price only
/// on a limit order), so the hostile variants reach the handler's logic.
fn good_body(subject: &str) -> Option<Value> {
    let bars: Vec<Value> = (1..=40)
        .map(|i| json!({"ts": i * 86_400_000_000_000i64, "open": "10", "high": "20", "low": "5", "close": format!("{}", 10 + i % 5), "volume": "100"}))
        .collect();
    Some(match subject {
        subjects::md::IMPORT => json!({"symbol": "FZZ", "timeframe": "1d", "mode": "lenient",
            "csv": "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100\n"}),
        subjects::execution::SUBMIT => {
            json!({"client_order_id": "fz0", "account": "fz", "symbol": "GOOG",
            "side": "buy", "type": "limit", "limit_price": "1", "qty": "1", "tif": "GTC"})
        }
        subjects::strategy::START => json!({"id": "fz0", "kind": "sma_cross", "symbols": ["GOOG"],
            "timeframe": "1d", "mode": "signals", "params": {"fast": 5, "slow": 20}}),
        subjects::strategy::IND_COMPUTE => {
            json!({"indicator": "sma", "params": {"period": 5}, "bars": bars})
        }
        subjects::backtest::RUN => {
            json!({"strategy": {"kind": "sma_cross", "params": {"fast": 5, "slow": 20}},
            "data": {"bars": bars}, "cash": "10000", "commission": "0.001"})
        }
        subjects::backtest::SWEEP_SUBMIT => {
            json!({"kind": "sma_cross", "search": {"grid": {"fast": [5, 10], "slow": [20]}},
            "data": {"bars": bars}, "cash": "10000", "commission": "0.001", "objective": "sharpe_ratio"})
        }
        _ => return None,
    })
}

/// Values for one field: each alone replaces a well-formed one.
fn hostile_values(mode: Mode) -> Vec<Value> {
    let mut v = testkit::hostile_decimals();
    v.extend([
        json!(1e308),
        json!(-1e308),
        json!(5e-324),
        json!(-1),
        json!(0),
        json!(18446744073709551615u64),
        json!(-9223372036854775808i64),
        json!("18446744073709551616"),
        json!("-9223372036854775809"),
        json!("1e-30"),
        json!("-0"),
        json!(""),
        json!(" "),
        json!("\u{0000}"),
        json!("../../../../etc/passwd"),
        json!("a.b.*.>"),
        json!("x".repeat(mode.pick(10_000, 100_000))),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!([[[[[[[[[[1]]]]]]]]]]),
        json!({"a": {"b": {"c": {"d": 1}}}}),
    ]);
    v
}

/// Raw bodies that are not a request at all: each must be a 4xx.
fn malformed(limit: usize) -> Vec<(&'static str, Vec<u8>)> {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    let deep_objects = |n: usize| {
        let mut s = "{\"a\":".repeat(n);
        s.push('1');
        s.push_str(&"}".repeat(n));
        s.into_bytes()
    };
    let mut big = br#"{"x":""#.to_vec();
    big.resize(limit - 1024, b'y');
    big.extend_from_slice(br#""}"#);
    vec![
        ("empty body", Vec::new()),
        ("truncated JSON", b"{\"account\":".to_vec()),
        ("not JSON", b"hello, world".to_vec()),
        ("JSON null", b"null".to_vec()),
        ("JSON array", b"[1,2,3]".to_vec()),
        ("JSON number", b"1e400".to_vec()),
        ("JSON string", b"\"x\"".to_vec()),
        ("invalid UTF-8", b"\xff\xfe\xfd".to_vec()),
        (
            "invalid UTF-8 in a string",
            b"{\"account\":\"\xc3\x28\"}".to_vec(),
        ),
        ("lone surrogate escape", br#"{"account":"\ud800"}"#.to_vec()),
        ("10,000 nested arrays", deep(10_000)),
        ("10,000 nested objects", deep_objects(10_000)),
        ("payload just under the server limit", big),
        ("trailing garbage", b"{} {}".to_vec()),
        (
            "duplicate keys",
            br#"{"account":"a","account":"b"}"#.to_vec(),
        ),
    ]
}

/// JSON pointers of the leaves below the top level (the first element of
/// each array only).
fn nested_leaves(body: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, depth: usize, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    walk(child, format!("{at}/{k}"), depth + 1, out);
                }
            }
            Value::Array(a) => {
                if let Some(first) = a.first() {
                    walk(first, format!("{at}/0"), depth + 1, out);
                }
            }
            _ if depth > 1 => out.push(at),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, String::new(), 0, &mut out);
    out
}

/// Sets every numeric-looking leaf of `body` to `value` (all fields at once:
/// products of huge values overflow).
fn all_numbers(body: &Value, value: &Value) -> Value {
    match body {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), all_numbers(v, value)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| all_numbers(v, value)).collect()),
        Value::Number(_) => value.clone(),
        Value::String(s) if s.parse::<f64>().is_ok() => value.clone(),
        other => other.clone(),
    }
}

#[derive(Default)]
struct Tally {
    sent: u64,
    per_code: BTreeMap<u16, u64>,
    problems: Vec<String>,
}

impl Tally {
    fn problem(&mut self, p: String) {
        if self.problems.len() < 40 {
            self.problems.push(p);
        }
    }
}

pub async fn run(mode: Mode) -> anyhow::Result<Vec<Outcome>> {
    let data = tempfile::tempdir()?;
    let dir = data.path().to_path_buf();
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, |c, s| {
            execution_service::run(execution_service::Config::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_service::Config::new(dir.clone()), c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            strategy_service::run(strategy_service::Config::default(), c, s.wait())
        })
        .service(subjects::backtest::SERVICE, 1, |c, s| {
            backtest_service::run(backtest_service::Config::default(), c, s.wait())
        })
        .service(subjects::analytics::SERVICE, 1, |c, s| {
            analytics_service::run(analytics_service::Config::default(), c, s.wait())
        })
        .service(subjects::monitor::SERVICE, 1, |c, s| {
            monitor_service::run(monitor_service::Config::default(), c, s.wait())
        })
        .start()
        .await;
    platform.import_goog(2000..2148).await;
    let client = platform.client().clone();
    // An account to aim at: the portfolio opens it in ORDERS for everyone.
    let (code, body) = testkit::raw_request(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        &json!({"account": "fz", "cash": "1000000"}),
    )
    .await;
    anyhow::ensure!(code == 0, "account open: {body}");

    // Risk last: its hostile limits and halts on the account would make
    // every later order a rejection before its numbers are looked at.
    let services = [
        subjects::md::SERVICE,
        subjects::execution::SERVICE,
        subjects::portfolio::SERVICE,
        subjects::strategy::SERVICE,
        subjects::backtest::SERVICE,
        subjects::analytics::SERVICE,
        subjects::monitor::SERVICE,
        subjects::risk::SERVICE,
    ];
    let limit = client.server_info().max_payload;
    let values = hostile_values(mode);
    let timeout = Duration::from_secs(10);
    let mut tally = Tally::default();
    let mut endpoints = 0;
    let mut baselines = Vec::new();
    let mut fresh = 0u64;
    let started = Instant::now();
    for service in services {
        let info = one_info(&client, service).await?;
        for ep in info["endpoints"].as_array().cloned().unwrap_or_default() {
            let subject = ep["subject"].as_str().unwrap_or_default().to_string();
            if subject.contains('*') || subject.contains('>') {
                continue; // internal, per-partition subjects: reached through risk.check
            }
            let schema: Value = ep["metadata"]["request_schema"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            let good = good_body(&subject).unwrap_or_else(|| example(&schema, &schema, "", 0));
            endpoints += 1;
            // The good request first: what it answers is the baseline.
            let baseline = send(&client, &subject, serde_json::to_vec(&good)?, timeout).await;
            let Some(baseline) = baseline else {
                tally.problem(format!("{subject}: no answer to a well-formed body {good}"));
                continue;
            };
            baselines.push(format!("{subject} {}", baseline.code));
            if std::env::var_os("FAULTS_SHOW_BASELINE").is_some() {
                let r = testkit::raw_request(&client, &subject, &good).await;
                eprintln!("{subject}: {good}\n  -> {} {}", r.0, r.1);
            }
            if baseline.code >= 500 {
                tally.problem(format!(
                    "{subject}: {} to a well-formed body {good}",
                    baseline.code
                ));
            }
            // An empty body is `{}` to the service kit: endpoints without
            // required fields may accept it.
            let mut corpus: Vec<(String, Vec<u8>, bool)> = malformed(limit)
                .into_iter()
                .map(|(what, body)| (what.to_string(), body.clone(), !body.is_empty()))
                .collect();
            if let Value::Object(fields) = &good {
                for key in fields.keys() {
                    let mut missing = fields.clone();
                    missing.remove(key);
                    corpus.push((
                        format!("{key} missing"),
                        serde_json::to_vec(&missing)?,
                        false,
                    ));
                    for value in &values {
                        let mut body = fields.clone();
                        if key != "client_order_id" && body.contains_key("client_order_id") {
                            // A new order each time, not a replay of the first.
                            fresh += 1;
                            body.insert("client_order_id".into(), json!(format!("fz{fresh}")));
                        }
                        body.insert(key.clone(), value.clone());
                        let shown: String = value.to_string().chars().take(40).collect();
                        corpus.push((
                            format!("{key} = {shown}"),
                            serde_json::to_vec(&body)?,
                            false,
                        ));
                    }
                }
                // Nested leaves (a bar's prices, a grid's values, sizing):
                // the numeric extremes, one leaf at a time.
                for pointer in nested_leaves(&good) {
                    for value in testkit::hostile_decimals()
                        .into_iter()
                        .chain([json!(-1e308), json!("x".repeat(1000))])
                    {
                        let mut body = good.clone();
                        if let Some(slot) = body.pointer_mut(&pointer) {
                            *slot = value.clone();
                        }
                        let shown: String = value.to_string().chars().take(40).collect();
                        corpus.push((
                            format!("{pointer} = {shown}"),
                            serde_json::to_vec(&body)?,
                            false,
                        ));
                    }
                }
                let mut extra = fields.clone();
                extra.insert("unexpected_field".into(), json!(1));
                corpus.push((
                    "an unknown field".into(),
                    serde_json::to_vec(&extra)?,
                    false,
                ));
            }
            for value in [
                json!("1e15"),
                json!("79228162514264337593543950335"),
                json!(1e300),
                json!("-1e15"),
            ] {
                let body = all_numbers(&good, &value);
                corpus.push((
                    format!("every number = {value}"),
                    serde_json::to_vec(&body)?,
                    false,
                ));
            }
            for (what, payload, must_fail) in corpus {
                tally.sent += 1;
                match send(&client, &subject, payload, timeout).await {
                    None => {
                        tally.problem(format!("{subject}: no answer within {timeout:?} to {what}"))
                    }
                    Some(r) => {
                        *tally.per_code.entry(r.code).or_default() += 1;
                        if r.code >= 500 {
                            tally.problem(format!("{subject}: {} to {what}", r.code));
                        } else if r.code > 0 && !r.clear {
                            tally.problem(format!("{subject}: error {} to {what} without error headers and a JSON message", r.code));
                        } else if must_fail && r.code == 0 {
                            tally.problem(format!("{subject}: {what} was accepted"));
                        }
                    }
                }
                // Still serving: the good body gets a reply, not a 5xx.
                tally.sent += 1;
                match send(&client, &subject, serde_json::to_vec(&good)?, timeout).await {
                    Some(r) if r.code < 500 || baseline.code >= 500 => {}
                    Some(r) => tally.problem(format!(
                        "{subject}: a good request answered {} after {what}",
                        r.code
                    )),
                    None => tally.problem(format!(
                        "{subject}: no answer to a good request after {what}"
                    )),
                }
            }
        }
    }
    let mut o = Outcome::new(
        "fuzz",
        "hostile request bodies on every endpoint listed by $SRV.INFO (corpus from each request schema)",
        format!(
            "{endpoints} endpoints of {} services, {} hostile values per field, {} malformed bodies each; one request at a time, each followed by a good one",
            services.len(),
            values.len(),
            malformed(limit).len()
        ),
    );
    o.requests_sent = tally.sent;
    o.requests_failed = tally
        .per_code
        .iter()
        .filter(|(c, _)| **c >= 500)
        .map(|(_, n)| n)
        .sum();
    o.recovery = None;
    o.checks.push(format!(
        "replies by code: {} in {:.1} s",
        tally
            .per_code
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    ));
    o.checks.push(format!(
        "the body built from each schema was answered (code; 0 = success, so the hostile variants reach the handler): {}",
        baselines.join(", ")
    ));
    o.check(tally.problems.is_empty(), "no 5xx, no missing reply, every error with micro error headers and a JSON message, malformed bodies refused with a 4xx, good requests answered after each hostile one");
    o.problems.extend(tally.problems);
    Ok(vec![o])
}

/// `$SRV.INFO.<service>` of one instance.
async fn one_info(client: &async_nats::Client, service: &str) -> anyhow::Result<Value> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    client
        .publish_with_reply(format!("$SRV.INFO.{service}"), inbox, "".into())
        .await?;
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no $SRV.INFO from {service}"))?;
    Ok(serde_json::from_slice(&m.payload)?)
}
