//! The monitor exports the lag of every durable consumer it sees as the
//! `trader_consumer_*` gauges (its own test binary: the recorder is global).

mod common;

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use bus::subjects;
use testkit::{wait_until, Platform};

fn gauge(name: &str, labels: &str) -> Option<f64> {
    let text = bus::metrics::handle()?.render();
    let series = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn every_durable_consumers_lag_is_a_gauge() {
    bus::metrics::install();
    let platform = Platform::builder()
        .service(subjects::monitor::SERVICE, 1, |c, s| {
            monitor_service::run(common::fast_config(), c, s.wait())
        })
        .start()
        .await;
    let js = jetstream::new(platform.client().clone());
    let work = js
        .create_stream(stream::Config {
            name: "WORK".into(),
            subjects: vec!["work.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    work.create_consumer(pull::Config {
        durable_name: Some("strategy-x1".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    for i in 0..3 {
        js.publish("work.item", format!("{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let labels = r#"stream="WORK",consumer="strategy-x1""#;
    wait_until("the lag gauge at 3", Duration::from_secs(60), || async {
        (gauge(bus::metrics::CONSUMER_PENDING, labels)? == 3.0).then_some(())
    })
    .await;
    assert_eq!(gauge(bus::metrics::CONSUMER_ACK_PENDING, labels), Some(0.0));
    assert_eq!(gauge(bus::metrics::CONSUMER_REDELIVERED, labels), Some(0.0));
}
