//! The server's own view in `monitor.status`, from real nats-servers'
//! monitoring ports: a 3-node cluster's peers and connections, a hub's leaf
//! links, and an unreachable port that leaves the rest of the status intact.

mod common;

use std::time::Duration;

use bus::subjects;
use testkit::{wait_until, NatsServer, Platform, ServerOptions};

fn with_server(url: &str) -> monitor_service::Config {
    monitor_service::Config {
        server_monitor_url: Some(url.to_string()),
        ..common::fast_config()
    }
}

#[tokio::test]
async fn a_cluster_node_shows_its_peers_and_connections() {
    let mut platform = Platform::builder().cluster(3).start().await;
    let url = platform.cluster().monitor_url(0);
    let node1 = platform.cluster().urls()[0].clone();
    // Two clients of our own on node 1, whatever node the others chose.
    let _a = async_nats::connect(&node1).await.unwrap();
    let _b = async_nats::connect(&node1).await.unwrap();
    let u = url.clone();
    platform
        .add(subjects::monitor::SERVICE, move |c, s| {
            monitor_service::run(with_server(&u), c, s.wait())
        })
        .await;
    let client = platform.client().clone();
    let status = common::status(&client).await.expect("monitor.status");
    let view = status.server.expect("a server view");
    assert!(view.reachable, "{view:?}");
    assert_eq!(view.url, url);
    assert_eq!(view.server_name, "n1");
    assert_eq!(view.version, "2.15.1");
    assert_eq!(view.cluster.as_deref(), Some("test"));
    let peers: Vec<&str> = view.cluster_peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        peers,
        ["n2", "n3"],
        "one entry per peer, not per pooled route"
    );
    assert!(view.connections >= 2, "{view:?}");
    assert!(view.leaf_links.is_empty());
    // The sample carries the connection count.
    common::wait_samples(&client, 1).await;
    let history = common::history(&client, 1).await.unwrap();
    assert!(history.samples[0].connections.is_some_and(|c| c >= 2));
}

#[tokio::test]
async fn a_hub_shows_its_leaf_links_and_an_unreachable_port_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let leaf_port = testkit::leaf::free_port();
    let hub_conf = dir.path().join("hub.conf");
    std::fs::write(
        &hub_conf,
        format!("server_name: hub\nleafnodes {{ listen: \"127.0.0.1:{leaf_port}\" }}\n"),
    )
    .unwrap();
    let hub = NatsServer::start_with(ServerOptions {
        config: Some(hub_conf),
        monitor_port: Some(0),
        ..Default::default()
    })
    .await
    .unwrap();
    let leaf_conf = dir.path().join("leaf.conf");
    std::fs::write(
        &leaf_conf,
        format!(
            "server_name: edge-x\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{leaf_port}\" }} ] }}\n"
        ),
    )
    .unwrap();
    let _leaf = NatsServer::start_with(ServerOptions {
        config: Some(leaf_conf),
        ..Default::default()
    })
    .await
    .unwrap();
    let monitor_url = hub.monitor_url().expect("a monitoring port").to_string();
    let good = testkit::spawn_connected(hub.url(), {
        let url = monitor_url.clone();
        move |c, s| monitor_service::run(with_server(&url), c, s.wait())
    });
    let client = hub.client().await;
    let view = wait_until(
        "the leaf link in the server view",
        Duration::from_secs(60),
        || async {
            let view = common::status(&client).await?.server?;
            (!view.leaf_links.is_empty()).then_some(view)
        },
    )
    .await;
    assert!(view.reachable);
    assert_eq!(view.server_name, "hub");
    assert_eq!(view.leaf_links.len(), 1);
    assert_eq!(view.leaf_links[0].name, "edge-x");
    assert_eq!(view.leaf_links[0].account, "$G");
    assert!(view.cluster_peers.is_empty() && view.cluster.is_none());
    good.stop().await.unwrap();

    // Nothing listens on this port: the view says so, the rest still answers.
    let closed = format!("http://127.0.0.1:{}", testkit::leaf::free_port());
    let _bad = testkit::spawn_connected(hub.url(), {
        let url = closed.clone();
        move |c, s| monitor_service::run(with_server(&url), c, s.wait())
    });
    let status = wait_until(
        "a monitor with a closed port",
        Duration::from_secs(60),
        || async { common::status(&client).await },
    )
    .await;
    let view = status.server.expect("a server view");
    assert!(!view.reachable);
    assert_eq!(view.url, closed);
    assert!(view.error.is_some());
    assert!(status.jetstream.is_some());
    assert!(status
        .services
        .iter()
        .any(|s| s.name == subjects::monitor::SERVICE));
}
