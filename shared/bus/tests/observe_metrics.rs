//! `/metrics` against a real server: the counters of the service layer move
//! by exactly the requests sent, errors by code; the histogram counts them
//! too; the health gauges say ready and connected. (Its own test binary: the
//! recorder is global to the process.)

mod common;

use std::time::Duration;

use common::{scrape, value};
use testkit::{wait_until, NatsServer};

const SERVICE: &[(&str, &str)] = &[("service", "toy"), ("endpoint", "toy.echo")];

#[tokio::test]
async fn counters_move_by_exactly_the_requests_sent() {
    let observe = bus::observe::serve("127.0.0.1:0").await.unwrap();
    let server = NatsServer::start().await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(common::toy(server.client().await, async {
        let _ = stop_rx.await;
    }));
    let client = server.client().await;
    wait_until("toy.echo answers", Duration::from_secs(20), || async {
        let r = client.request("toy.echo", r#"{"n":1}"#.into()).await.ok()?;
        r.headers.is_none().then_some(())
    })
    .await;

    let before = scrape(observe.addr()).await;
    let (good, not_found, malformed) = (7u64, 3u64, 2u64);
    for i in 0..good {
        let r = client
            .request("toy.echo", format!(r#"{{"n":{}}}"#, i + 1).into())
            .await
            .unwrap();
        assert!(r.headers.is_none());
    }
    for _ in 0..not_found {
        let r = client
            .request("toy.echo", r#"{"n":0}"#.into())
            .await
            .unwrap();
        assert!(r.headers.is_some());
    }
    for _ in 0..malformed {
        let r = client.request("toy.echo", "not json".into()).await.unwrap();
        assert!(r.headers.is_some());
    }
    // The reply is sent before the counters move: wait for the last one.
    let sent = (good + not_found + malformed) as f64;
    let base = value(&before, "trader_requests_total", SERVICE);
    let after = wait_until("the counters", Duration::from_secs(10), || async {
        let s = scrape(observe.addr()).await;
        (value(&s, "trader_requests_total", SERVICE) >= base + sent).then_some(s)
    })
    .await;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(delta("trader_requests_total", SERVICE), sent);
    let errors = |code| {
        let mut labels = SERVICE.to_vec();
        labels.push(("code", code));
        delta("trader_request_errors_total", &labels)
    };
    assert_eq!(errors("404"), not_found as f64);
    assert_eq!(errors("400"), malformed as f64);
    assert_eq!(errors("500"), 0.0);
    assert_eq!(
        delta("trader_request_duration_seconds_count", SERVICE),
        sent,
        "every request timed"
    );
    let mut inf = SERVICE.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(delta("trader_request_duration_seconds_bucket", &inf), sent);
    assert_eq!(
        value(&after, "trader_service_ready", &[("service", "toy")]),
        1.0
    );
    assert_eq!(
        value(&after, "trader_nats_connected", &[("service", "toy")]),
        1.0
    );

    let _ = stop_tx.send(());
    service.await.unwrap().unwrap();
    let s = scrape(observe.addr()).await;
    assert_eq!(
        value(&s, "trader_service_ready", &[("service", "toy")]),
        0.0
    );
}
