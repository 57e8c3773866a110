//! Credentials and limits: 401 without or with bad credentials, 403 for the
//! wrong role or another account, 429 with `Retry-After`, 413 beyond the body
//! limit; logins and revocation; error replies mapped to HTTP statuses; two
//! gateways sharing keys; CORS.

mod common;

use common::{until_served, Services, Stack};
use gateway_service::RateLimit;
use serde_json::json;
use testkit::http::HttpClient;

fn order(cid: &str) -> serde_json::Value {
    json!({"client_order_id": cid, "symbol": "GOOG", "side": "buy", "type": "limit", "qty": "1", "limit_price": "1"})
}

async fn import_goog(stack: &Stack) {
    stack.platform.import_goog(0..50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_and_account_scopes() {
    let stack = Stack::start(Services::Trading, common::gateway_config()).await;
    import_goog(&stack).await;
    stack.open_account("acct-a").await;
    stack.open_account("acct-b").await;

    // No credentials, a made-up key, a forged token: 401 with the error body.
    let r = stack.anonymous().get("/api/v1/symbols").await.unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["kind"], "unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let fake = HttpClient::new(&stack.addr)
        .bearer("k_0123456789abcdef.not-a-real-secret")
        .get("/api/v1/symbols")
        .await
        .unwrap();
    assert_eq!(fake.status, 401);
    let forged = HttpClient::new(&stack.addr)
        .bearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyOngiLCJyb2xlIjoiYWRtaW4ifQ.c2ln")
        .get("/api/v1/symbols")
        .await
        .unwrap();
    assert_eq!(forged.status, 401);
    // Health needs nothing.
    assert_eq!(
        stack.anonymous().get("/health/live").await.unwrap().status,
        200
    );

    // A viewer reads but may not trade (403), nor halt.
    let viewer = stack.key("viewer", &[]).await;
    let mut v = HttpClient::new(&stack.addr).bearer(&viewer);
    assert_eq!(v.get("/api/v1/quotes/GOOG").await.unwrap().status, 200);
    let r = v
        .send_json("POST", "/api/v1/accounts/acct-a/orders", &order("v-1"))
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["kind"], "forbidden");

    // A trader key for acct-a trades there, not in acct-b, and is no admin.
    let trader = stack.key("trader", &["acct-a"]).await;
    let mut t = HttpClient::new(&stack.addr).bearer(&trader);
    let r = until_served(
        &mut t,
        "POST",
        "/api/v1/accounts/acct-a/orders",
        Some(&order("t-1")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], "acct-a.t-1");
    let r = t
        .send_json("POST", "/api/v1/accounts/acct-b/orders", &order("t-2"))
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(t.get("/api/v1/accounts/acct-b").await.unwrap().status, 403);
    assert_eq!(
        t.get("/api/v1/orders/acct-b.t-1").await.unwrap().status,
        403
    );
    let r = t
        .send_json(
            "POST",
            "/api/v1/risk/check",
            &json!({"account": "acct-b", "symbol": "GOOG", "side": "buy", "qty": "1"}),
        )
        .await
        .unwrap();
    assert_eq!(
        r.status,
        403,
        "the account in the body is checked too: {}",
        r.text()
    );
    let r = t
        .send_json("POST", "/api/v1/accounts/acct-a/halt", &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 403, "halting is for admins: {}", r.text());
    assert_eq!(t.get("/api/v1/keys").await.unwrap().status, 403);
    // Cancelling its own order works.
    let r = until_served(&mut t, "DELETE", "/api/v1/orders/acct-a.t-1", None).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Users: login gives a JWT with the user's role and accounts.
    let r = stack
        .admin()
        .send_json("POST", "/api/v1/users", &json!({"username": "alice", "password": "s3cret-pass", "role": "trader", "accounts": ["acct-b"]}))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json().get("password_hash").is_none());
    let bad = stack
        .anonymous()
        .send_json(
            "POST",
            "/api/v1/auth/login",
            &json!({"username": "alice", "password": "wrong-pass"}),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 401);
    let login = stack
        .anonymous()
        .send_json(
            "POST",
            "/api/v1/auth/login",
            &json!({"username": "alice", "password": "s3cret-pass"}),
        )
        .await
        .unwrap();
    assert_eq!(login.status, 200, "{}", login.text());
    let token = login.json()["token"].as_str().unwrap().to_string();
    let mut alice = HttpClient::new(&stack.addr).bearer(&token);
    let r = until_served(&mut alice, "GET", "/api/v1/accounts/acct-b", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        alice.get("/api/v1/accounts/acct-a").await.unwrap().status,
        403
    );
    // Deleting the user ends their tokens.
    let r = stack
        .admin()
        .request("DELETE", "/api/v1/users/alice", &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        alice.get("/api/v1/accounts/acct-b").await.unwrap().status,
        401
    );

    // An admin of one account cannot make keys (they would grant accounts).
    let scoped_admin = stack.key("admin", &["acct-a"]).await;
    let r = HttpClient::new(&stack.addr)
        .bearer(&scoped_admin)
        .send_json("POST", "/api/v1/keys", &json!({"role": "admin"}))
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text());

    // A revoked key is refused.
    let keys = stack.admin().get("/api/v1/keys").await.unwrap().json();
    let listed = keys["keys"].as_array().unwrap();
    assert!(listed.len() >= 3, "{keys}");
    assert!(
        listed.iter().all(|k| k.get("sha256").is_none()),
        "no secrets in the list"
    );
    let id = viewer.split('.').next().unwrap();
    let r = stack
        .admin()
        .request("DELETE", &format!("/api/v1/keys/{id}"), &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(v.get("/api/v1/quotes/GOOG").await.unwrap().status, 401);
    let r = stack
        .admin()
        .request("DELETE", &format!("/api/v1/keys/{id}"), &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 404, "revoking twice: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_to_statuses_with_the_same_body() {
    let stack = Stack::start(Services::Trading, common::gateway_config()).await;
    import_goog(&stack).await;
    stack.open_account("paper").await;
    let mut admin = stack.admin();

    // Unknown symbol: the service's 404 and its envelope.
    let r = admin.get("/api/v1/quotes/NOPE").await.unwrap();
    assert_eq!(r.status, 404, "{}", r.text());
    let body = r.json();
    assert_eq!(body["code"], 404);
    assert_eq!(body["kind"], "not_found");
    assert!(body["message"].as_str().unwrap().contains("NOPE"), "{body}");
    assert!(r.header("correlation-id").is_some());
    // A bad order: 400 naming the field.
    let mut bad = order("bad-1");
    bad["qty"] = json!("-1");
    let r = until_served(
        &mut admin,
        "POST",
        "/api/v1/accounts/paper/orders",
        Some(&bad),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["kind"], "bad_request");
    // Not JSON, unknown fields, a bad order id: 400 from the gateway or the service.
    let r = admin
        .request(
            "POST",
            "/api/v1/accounts/paper/orders",
            &[("Content-Type", "application/json")],
            Some(b"{not json"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = admin.get("/api/v1/bars/GOOG?nonsense=1").await.unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        admin.get("/api/v1/orders/no-dot").await.unwrap().status,
        400
    );
    // A correlation id given is the one the reply carries.
    let r = admin
        .request(
            "GET",
            "/api/v1/quotes/GOOG",
            &[("Correlation-Id", "cid-gateway-test")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.header("correlation-id"), Some("cid-gateway-test"));
    // No service behind a route: 503.
    let r = admin
        .send_json(
            "POST",
            "/api/v1/backtests",
            &json!({"strategy": {"kind": "sma_cross"}, "data": {"symbol": "GOOG"}}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["kind"], "unavailable");
    // Unknown routes: a JSON 404; the embedded page at /.
    assert_eq!(admin.get("/api/v1/nothing").await.unwrap().status, 404);
    let page = stack.anonymous().get("/").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(
        stack
            .anonymous()
            .get("/assets/../Cargo.toml")
            .await
            .unwrap()
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_and_body_limits_and_a_second_instance() {
    let stack = Stack::start(Services::None, common::gateway_config()).await;
    let mut strict = common::gateway_config();
    strict.rate_limit = Some(RateLimit {
        per_second: 0.5,
        burst: 3.0,
    });
    strict.body_limit = 1024;
    strict.cors_origins = vec!["http://dash.example".into()];
    strict.request_timeout = std::time::Duration::from_secs(1);
    let (_second, addr) = stack.add_gateway(strict).await;

    // A key made through the first instance works on the second at once
    // (keys live in KV; nothing is per instance but the rate limit).
    let key = stack.key("trader", &[]).await;
    let mut c = HttpClient::new(&addr).bearer(&key);
    for i in 0..3 {
        let r = c.get("/api/v1/keys").await.unwrap();
        assert_eq!(r.status, 403, "request {i} within the burst: {}", r.text());
    }
    let r = c.get("/api/v1/keys").await.unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["kind"], "too_many_requests");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // Another key has its own bucket; the first instance has no limit.
    let admin_on_second = HttpClient::new(&addr)
        .bearer(&stack.admin)
        .get("/api/v1/keys")
        .await
        .unwrap();
    assert_eq!(admin_on_second.status, 200);
    for _ in 0..5 {
        let r = HttpClient::new(&stack.addr)
            .bearer(&key)
            .get("/api/v1/keys")
            .await
            .unwrap();
        assert_eq!(r.status, 403);
    }

    // Beyond the body limit: 413 with the error body.
    let big = json!({"role": "viewer", "name": "x".repeat(4096)});
    let r = HttpClient::new(&addr)
        .bearer(&stack.admin)
        .send_json("POST", "/api/v1/keys", &big)
        .await
        .unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["kind"], "payload_too_large");

    // CORS: off on the first instance; the configured origin only on the second.
    let origin = [("Origin", "http://dash.example")];
    let r = HttpClient::new(&stack.addr)
        .request("GET", "/health/live", &origin, None)
        .await
        .unwrap();
    assert!(r.header("access-control-allow-origin").is_none());
    let r = HttpClient::new(&addr)
        .request("GET", "/health/live", &origin, None)
        .await
        .unwrap();
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://dash.example")
    );
    let r = HttpClient::new(&addr)
        .request(
            "OPTIONS",
            "/api/v1/symbols",
            &[
                ("Origin", "http://dash.example"),
                ("Access-Control-Request-Method", "GET"),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
    let r = HttpClient::new(&addr)
        .request(
            "GET",
            "/health/live",
            &[("Origin", "http://evil.example")],
            None,
        )
        .await
        .unwrap();
    assert!(r.header("access-control-allow-origin").is_none());

    // The NATS request carries the caller's correlation id and traceparent
    // (a stand-in market-data here, which records them).
    let nats = stack.platform.client().clone();
    let mut quotes = nats.subscribe("md.quote.get").await.unwrap();
    let mut silent = nats.subscribe("md.symbols.list").await.unwrap();
    nats.flush().await.unwrap();
    let responder = tokio::spawn(async move {
        let msg = futures::StreamExt::next(&mut quotes).await.unwrap();
        nats.publish(msg.reply.clone().unwrap(), r#"{"symbol":"X"}"#.into())
            .await
            .unwrap();
        nats.flush().await.unwrap();
        (msg.headers.unwrap(), msg.payload)
    });
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    // (Retried while the stand-in's subscription is not seen yet: 503.)
    let mut traced = HttpClient::new(&stack.addr).bearer(&stack.admin);
    let mut tries = 0;
    let r = loop {
        tries += 1;
        let r = traced
            .request(
                "GET",
                "/api/v1/quotes/X",
                &[("traceparent", traceparent), ("X-Correlation-Id", "cid-42")],
                None,
            )
            .await
            .unwrap();
        if r.status != 503 || tries == 200 {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(r.status, 200, "{}", r.text());
    let (headers, payload) = responder.await.unwrap();
    assert_eq!(headers.get("traceparent").unwrap().as_str(), traceparent);
    assert_eq!(headers.get("Correlation-Id").unwrap().as_str(), "cid-42");
    assert_eq!(
        &payload[..],
        br#"{"symbol":"X"}"#,
        "the path parameter is the request"
    );
    // A service that never answers: 504 after the gateway's request timeout.
    let r = HttpClient::new(&addr)
        .bearer(&stack.admin)
        .get("/api/v1/symbols")
        .await
        .unwrap();
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["kind"], "timeout");
    assert!(futures::StreamExt::next(&mut silent).await.is_some());

    // Both instances are in $SRV and say where they listen.
    let ids = stack
        .platform
        .instance_ids(bus::subjects::gateway::SERVICE)
        .await;
    assert_eq!(ids.len(), 2, "{ids:?}");
    let info: serde_json::Value = serde_json::from_slice(
        &stack
            .platform
            .client()
            .request("gateway.info", "{}".into())
            .await
            .unwrap()
            .payload,
    )
    .unwrap();
    assert!(
        [stack.addr.as_str(), addr.as_str()].contains(&info["http_addr"].as_str().unwrap()),
        "{info}"
    );
}
