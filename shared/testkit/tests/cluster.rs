//! The cluster kit itself: a replicated stream keeps taking writes with a node
//! down, and a crashed node catches up after its restart.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use testkit::{wait_until, NatsCluster};

const STREAM: &str = "KIT";

async fn replicated_stream(js: &jetstream::Context) {
    wait_until("an R3 stream", Duration::from_secs(30), || async {
        js.get_or_create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec!["kit.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .ok()
    })
    .await;
}

/// Publishes message `n` until it is acknowledged; the message id makes a
/// retried publish count once.
async fn publish_acked(js: &jetstream::Context, n: u32) {
    wait_until(
        &format!("message {n} acked"),
        Duration::from_secs(30),
        || async {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", n.to_string().as_str());
            let ack = js
                .publish_with_headers("kit.m", headers, n.to_string().into())
                .await
                .ok()?;
            tokio::time::timeout(Duration::from_secs(2), ack)
                .await
                .ok()?
                .ok()
        },
    )
    .await;
}

async fn stream_messages(js: &jetstream::Context) -> u64 {
    wait_until("stream info", Duration::from_secs(30), || async {
        let mut s = js.get_stream(STREAM).await.ok()?;
        Some(s.info().await.ok()?.state.messages)
    })
    .await
}

#[tokio::test]
async fn an_r3_stream_keeps_acknowledging_with_its_leader_stopped() {
    let mut cluster = NatsCluster::start(3).await;
    assert_eq!(cluster.urls().len(), 3);
    assert_eq!(cluster.url_list().split(',').count(), 3);
    let js = jetstream::new(cluster.client().await);
    replicated_stream(&js).await;
    for n in 0..20 {
        publish_acked(&js, n).await;
    }
    let leader = wait_until("a stream leader", Duration::from_secs(30), || async {
        let mut s = js.get_stream(STREAM).await.ok()?;
        s.info().await.ok()?.cluster.clone()?.leader
    })
    .await;
    let index: usize = leader.trim_start_matches('n').parse::<usize>().unwrap() - 1;
    cluster.stop_node(index).await;
    for n in 20..40 {
        publish_acked(&js, n).await;
    }
    assert_eq!(stream_messages(&js).await, 40);
}

#[tokio::test]
async fn a_killed_node_restarts_and_its_replica_catches_up() {
    let mut cluster = NatsCluster::start(3).await;
    let js = jetstream::new(cluster.client().await);
    replicated_stream(&js).await;
    for n in 0..10 {
        publish_acked(&js, n).await;
    }
    wait_until(
        "node 3's replica at 10",
        Duration::from_secs(30),
        || async {
            let state = cluster.stream_state(2, STREAM).await?;
            (state["last_seq"] == 10).then_some(())
        },
    )
    .await;
    cluster.kill_node(2).await;
    assert!(
        cluster.stream_state(2, STREAM).await.is_none(),
        "node 3 is down"
    );
    for n in 10..40 {
        publish_acked(&js, n).await;
    }
    cluster.restart_node(2).await;
    let state = wait_until(
        "node 3's replica at 40",
        Duration::from_secs(30),
        || async {
            let state = cluster.stream_state(2, STREAM).await?;
            (state["last_seq"] == 40).then_some(state)
        },
    )
    .await;
    assert_eq!(state["messages"], 40);
    cluster.wait_jetstream_ready().await;
}
