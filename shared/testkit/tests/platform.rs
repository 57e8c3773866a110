//! The platform itself, with a tiny echo micro service: instances on a cluster,
//! one readiness wait, crash and restart of one instance, a node lost.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::service::ServiceExt;
use futures::StreamExt;
use testkit::{Platform, Shutdown};

/// A micro service `echo` answering `echo` with the request's payload.
async fn echo(client: async_nats::Client, shutdown: Shutdown) -> Result<(), async_nats::Error> {
    let service = client.service_builder().start("echo", "0.1.0").await?;
    let mut endpoint = service.endpoint("echo").await?;
    let serve = async {
        while let Some(request) = endpoint.next().await {
            let payload = request.message.payload.clone();
            let _ = request.respond(Ok(payload)).await;
        }
    };
    tokio::select! {
        _ = serve => {}
        _ = shutdown.wait() => {}
    }
    service.stop().await?;
    Ok(())
}

async fn answers(platform: &Platform) -> bool {
    let reply = tokio::time::timeout(
        Duration::from_secs(2),
        platform.client().request("echo", "hi".into()),
    )
    .await;
    matches!(reply, Ok(Ok(m)) if m.payload == "hi")
}

#[tokio::test]
async fn instances_on_a_cluster_are_ready_crash_restart_and_survive_a_node() {
    let mut platform = Platform::builder()
        .cluster(3)
        .service("echo", 2, echo)
        .start()
        .await;
    assert_eq!(platform.url().split(',').count(), 3);
    // Ready means answering: no waiting here.
    assert!(answers(&platform).await);
    let (a, b) = (platform.instance("echo", 0), platform.instance("echo", 1));
    assert_ne!(a.id(), b.id());
    let ids: HashSet<String> = platform.instance_ids("echo").await.into_iter().collect();
    assert_eq!(ids, HashSet::from([a.id(), b.id()]));

    let crashed = a.id();
    a.abort();
    a.restart().await;
    assert_ne!(a.id(), crashed, "a new instance");
    b.stop().await.unwrap();
    let third = platform.add("echo", echo).await;
    let ids: HashSet<String> = platform.instance_ids("echo").await.into_iter().collect();
    assert_eq!(ids, HashSet::from([a.id(), third.id()]));

    // A node down: the client and the instances reconnect to the others.
    platform.cluster().stop_node(0).await;
    testkit::wait_until(
        "echo after a node stopped",
        Duration::from_secs(30),
        || async { answers(&platform).await.then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_single_node_platform_has_only_what_it_was_asked_for() {
    let platform = Platform::builder().single_node().start().await;
    assert_eq!(platform.url(), platform.server().url());
    assert!(platform.instance_ids("echo").await.is_empty());
}
