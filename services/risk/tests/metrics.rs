//! risk's business metric: every refused check counts once in
//! `trader_risk_rejections_total` under the code of its first violation; an
//! accepted check does not; a refusal is an answer, not a request error, while
//! a check of an unknown account is a 404 error. (Its own test binary: the
//! metrics recorder is global to the process.)

use std::time::Duration;

use bus::api::risk::{CheckResponse, StatusResponse};
use bus::{events, request, subjects, RequestOptions};
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::Platform;
use trading::event::{AccountOpened, OrderEvent};

/// `name{labels} value` in the rendered text (0 when the series is absent).
fn sample(name: &str, labels: &str) -> f64 {
    let text = bus::metrics::handle().expect("installed").render();
    let series = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn each_refused_check_counts_once_under_its_code() {
    // Before the service starts: its endpoints record from the start.
    bus::metrics::install();
    let platform = Platform::builder()
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = async_nats::jetstream::new(client.clone());
    let open = OrderEvent::AccountOpened(AccountOpened {
        account: "acc".into(),
        cash: dec!(100000),
    });
    events::publish_order_event(&js, &open, "t", "test")
        .await
        .unwrap();
    testkit::wait_until(
        "the account reaches risk",
        Duration::from_secs(10),
        || async {
            let s: StatusResponse = request(
                &client,
                subjects::risk::STATUS,
                &json!({"account": "acc"}),
                RequestOptions::default(),
            )
            .await
            .ok()?;
            s.known.then_some(())
        },
    )
    .await;
    let _: serde_json::Value = request(
        &client,
        subjects::risk::LIMITS_SET,
        &json!({"account": "acc", "limits": {"max_order_qty": "5"}}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    let check = |account: &'static str, qty: u32| {
        let client = client.clone();
        async move {
            request::<_, CheckResponse>(
                &client,
                subjects::risk::CHECK,
                &json!({"account": account, "symbol": "GOOG", "side": "buy", "qty": qty, "price": "100"}),
                RequestOptions::default(),
            )
            .await
            .map(|r| r.accepted)
        }
    };

    let rejections = || sample("trader_risk_rejections_total", r#"code="max_order_qty""#);
    let not_found = || {
        sample(
            "trader_request_errors_total",
            r#"service="risk",endpoint="risk.check",code="404""#,
        )
    };
    let checks = || {
        sample(
            "trader_requests_total",
            r#"service="risk",endpoint="risk.check""#,
        )
    };
    let (rejections_before, not_found_before, checks_before) =
        (rejections(), not_found(), checks());
    for _ in 0..3 {
        assert!(!check("acc", 10).await.unwrap());
    }
    for _ in 0..2 {
        assert!(check("acc", 1).await.unwrap());
    }
    assert!(check("nobody", 1).await.is_err());

    // The reply goes out before the counters move: wait for the last one.
    testkit::wait_until("every check counted", Duration::from_secs(5), || async {
        (checks() - checks_before >= 6.0).then_some(())
    })
    .await;
    assert_eq!(checks() - checks_before, 6.0);
    assert_eq!(rejections() - rejections_before, 3.0);
    assert_eq!(not_found() - not_found_before, 1.0);
    assert_eq!(
        sample(
            "trader_request_errors_total",
            r#"service="risk",endpoint="risk.check",code="400""#
        ),
        0.0,
        "refusals are answers, not errors"
    );
}

/// The standalone binary serves its own port when given `--metrics-addr`
/// (compose sets `TRADER_METRICS_ADDR`): ready once up, its endpoints listed
/// in `/metrics` from the start.
#[tokio::test]
async fn the_risk_binary_serves_health_and_metrics_when_asked() {
    let server = testkit::NatsServer::start().await;
    let port = testkit::leaf::free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_risk"))
        .args(["--nats-url", server.url()])
        .env("TRADER_METRICS_ADDR", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let body = testkit::wait_until("/health/ready 200", Duration::from_secs(30), || async {
        let (status, body) = bus::observe::get(&format!("{base}/health/ready"))
            .await
            .ok()?;
        (status == 200).then_some(body)
    })
    .await;
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        ready["services"],
        json!([{"service": "risk", "ready": true, "connected": true}])
    );
    let (status, text) = bus::observe::get(&format!("{base}/metrics")).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"trader_service_ready{service="risk"} 1"#),
        "{text}"
    );
    // Registered at start, so a rate() has a zero to start from.
    assert!(
        text.contains(r#"trader_requests_total{service="risk",endpoint="risk.check"} 0"#),
        "{text}"
    );
    let _ = child.start_kill();
    let _ = child.wait().await;
}
