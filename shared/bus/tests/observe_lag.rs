//! Consumer lag in `/metrics`: a watched durable consumer's pending,
//! ack-pending and redelivered counts as JetStream reports them, following
//! the consumer as it falls behind and catches up. (Its own test binary: the
//! recorder is global to the process.)

mod common;

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, AckKind};
use bus::runner::Runner;
use bus::ServiceSpec;
use common::{scrape, value};
use futures::StreamExt;
use testkit::{wait_until, NatsServer};

const LABELS: &[(&str, &str)] = &[("stream", "LAG"), ("consumer", "slow")];

#[tokio::test]
async fn a_watched_consumer_reports_its_lag() {
    let observe = bus::observe::serve("127.0.0.1:0").await.unwrap();
    let server = NatsServer::start().await;
    let client = server.client().await;
    let js = jetstream::new(client.clone());
    let stream = js
        .create_stream(jetstream::stream::Config {
            name: "LAG".into(),
            subjects: vec!["lag.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("slow".into()),
            ack_wait: Duration::from_secs(1),
            ..Default::default()
        })
        .await
        .unwrap();
    for i in 0..10 {
        js.publish("lag.x", format!("{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    // A service that only watches the consumer (someone else consumes).
    let runner = Runner::new(
        server.client().await,
        ServiceSpec::new("lagwatch", "0.1.0", "t"),
    );
    let _service = tokio::spawn(bus::runner::run(
        runner,
        std::future::pending(),
        |mut runner| async move {
            runner.watch_consumer("LAG", "slow");
            Ok::<_, bus::BusError>(runner)
        },
    ));
    let lag = |pending: f64, ack_pending: f64| {
        let addr = observe.addr();
        async move {
            let s = scrape(addr).await;
            let got = (
                value(&s, bus::metrics::CONSUMER_PENDING, LABELS),
                value(&s, bus::metrics::CONSUMER_ACK_PENDING, LABELS),
            );
            (got == (pending, ack_pending)).then_some(())
        }
    };
    wait_until("10 pending", Duration::from_secs(20), || lag(10.0, 0.0)).await;

    // Four delivered: two acked, two left unacknowledged (then redelivered).
    let mut batch = consumer.fetch().max_messages(4).messages().await.unwrap();
    let mut n = 0;
    while let Some(m) = batch.next().await {
        let m = m.unwrap();
        if n < 2 {
            m.ack().await.unwrap();
        } else {
            let _ = m.ack_with(AckKind::Progress).await;
        }
        n += 1;
    }
    wait_until("6 pending, 2 unacked", Duration::from_secs(20), || {
        lag(6.0, 2.0)
    })
    .await;
    // Everything consumed and acknowledged (the two unacked ones come back
    // after ack_wait): no lag left.
    wait_until("caught up", Duration::from_secs(30), || async {
        let mut batch = consumer
            .fetch()
            .max_messages(10)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .ok()?;
        while let Some(Ok(m)) = batch.next().await {
            let _ = m.ack().await;
        }
        lag(0.0, 0.0).await
    })
    .await;
    let text = bus::observe::get(&format!("http://{}/metrics", observe.addr()))
        .await
        .unwrap()
        .1;
    assert!(
        text.contains(&format!("{}{{", bus::metrics::CONSUMER_REDELIVERED)),
        "{text}"
    );
}
