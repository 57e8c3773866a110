//! The service runner against real servers: a service started while its
//! cluster has no JetStream quorum waits (and can be stopped meanwhile) and
//! comes up once the nodes return; ready follows the connection; shutdown
//! answers what is in flight, then stops the background tasks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::runner::{Endpoints, Runner};
use bus::{ServiceError, ServiceSpec};
use serde::{Deserialize, Serialize};
use testkit::{wait_until, NatsCluster, NatsServer};

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Ping {
    n: u64,
}

/// Requests the toy services have started handling (every test's toy counts
/// here; the drain test waits for its own request to show up).
static HANDLING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A toy service: one R3 (or R1) stream, one endpoint that sleeps `delay`,
/// one background task that records that it saw the stop signal.
async fn toy(
    client: async_nats::Client,
    replicas: usize,
    delay: Duration,
    stopped: Arc<AtomicBool>,
    health: tokio::sync::oneshot::Sender<bus::runner::Health>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), bus::BusError> {
    let runner = Runner::new(client, ServiceSpec::new("toy", "0.1.0", "runner test"));
    let _ = health.send(runner.health());
    bus::runner::run(runner, shutdown, |mut runner| async move {
        runner
            .stream(async_nats::jetstream::stream::Config {
                name: "TOY".into(),
                subjects: vec!["toy.evt.>".into()],
                num_replicas: replicas,
                ..Default::default()
            })
            .await?;
        let mut stop = runner.stop_signal();
        runner.spawn("watcher", async move {
            bus::follow::stopped(&mut stop).await;
            stopped.store(true, Ordering::SeqCst);
        });
        runner
            .serve(Endpoints::new().json(
                "toy.ping",
                "sleeps, then echoes",
                move |_rc, p: Ping| async move {
                    HANDLING.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    Ok::<_, ServiceError>(p)
                },
            ))
            .await?;
        Ok(runner)
    })
    .await
}

async fn answers(client: &async_nats::Client) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(1),
            client.request("toy.ping", r#"{"n":1}"#.into())
        )
        .await,
        Ok(Ok(m)) if m.headers.is_none()
    )
}

#[tokio::test]
async fn a_service_waits_for_jetstream_quorum_and_can_be_stopped_meanwhile() {
    let mut cluster = NatsCluster::start(3).await;
    cluster.kill_node(1).await;
    cluster.kill_node(2).await;
    let client = cluster.client().await;

    // No quorum: the stream cannot be made; the service waits, not exits.
    let (htx, hrx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = Arc::new(AtomicBool::new(false));
    let waiting = tokio::spawn(toy(
        cluster.client().await,
        3,
        Duration::ZERO,
        stopped.clone(),
        htx,
        async {
            let _ = stop_rx.await;
        },
    ));
    let health = hrx.await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !waiting.is_finished(),
        "gave up while JetStream had no quorum"
    );
    assert!(!health.status().ready);
    assert!(!answers(&client).await);
    // A shutdown while it waits ends it cleanly.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("stopped while provisioning")
        .unwrap()
        .unwrap();

    // Started again without quorum, it comes up once the nodes are back.
    let (htx, hrx) = tokio::sync::oneshot::channel();
    let service = tokio::spawn(toy(
        cluster.client().await,
        3,
        Duration::ZERO,
        stopped.clone(),
        htx,
        std::future::pending(),
    ));
    let health = hrx.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!health.status().ready);
    cluster.restart_node(1).await;
    cluster.restart_node(2).await;
    wait_until("the toy service ready", Duration::from_secs(60), || async {
        (health.status().ready && answers(&client).await).then_some(())
    })
    .await;
    service.abort();
}

#[tokio::test]
async fn ready_follows_the_connection_and_shutdown_drains_in_order() {
    let server = NatsServer::start().await;
    let (htx, hrx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = Arc::new(AtomicBool::new(false));
    let service = tokio::spawn(toy(
        server.client().await,
        1,
        Duration::from_millis(500),
        stopped.clone(),
        htx,
        async {
            let _ = stop_rx.await;
        },
    ));
    let health = hrx.await.unwrap();
    let client = server.client().await;
    wait_until("ready", Duration::from_secs(15), || async {
        health.status().ready.then_some(())
    })
    .await;
    assert!(bus::runner::process_health()
        .iter()
        .any(|h| h.service == "toy" && h.ready));

    // A request in flight when the shutdown comes is answered; the
    // background task sees the stop only after that.
    let before = HANDLING.load(Ordering::SeqCst);
    let in_flight = {
        let client = client.clone();
        tokio::spawn(async move { client.request("toy.ping", r#"{"n":7}"#.into()).await })
    };
    // Shut down only once the handler runs (it sleeps 500 ms): in flight.
    wait_until(
        "the request in the handler",
        Duration::from_secs(10),
        || async { (HANDLING.load(Ordering::SeqCst) > before).then_some(()) },
    )
    .await;
    stop_tx.send(()).unwrap();
    let reply = in_flight.await.unwrap().expect("answered while draining");
    assert_eq!(&reply.payload[..], br#"{"n":7}"#);
    service.await.unwrap().unwrap();
    assert!(stopped.load(Ordering::SeqCst), "background task stopped");
    assert!(!health.status().ready);
    assert!(!answers(&client).await, "still serving after shutdown");
}

#[tokio::test]
async fn not_ready_while_nats_is_away() {
    let server = NatsServer::start().await;
    let (htx, hrx) = tokio::sync::oneshot::channel();
    let _service = tokio::spawn(toy(
        server.client().await,
        1,
        Duration::ZERO,
        Arc::default(),
        htx,
        std::future::pending(),
    ));
    let health = hrx.await.unwrap();
    wait_until("ready", Duration::from_secs(15), || async {
        health.status().ready.then_some(())
    })
    .await;
    server.stop(Duration::from_secs(5)).await;
    wait_until(
        "not ready without NATS",
        Duration::from_secs(15),
        || async { (!health.status().ready && !health.status().connected).then_some(()) },
    )
    .await;
}
