//! A private nats-server cluster with JetStream for tests, killed on drop.
//!
//! Every node is a [`NatsServer`] on free loopback ports (client, route, monitor)
//! with its own store, so a node can be stopped, killed and restarted in place.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::{NatsServer, ServerError, ServerOptions};
use crate::wait_until;

/// A running cluster; node `i` is named `n{i+1}`.
pub struct NatsCluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

struct Node {
    options: ServerOptions,
    client_port: u16,
    monitor_port: u16,
    server: Option<NatsServer>,
}

impl NatsCluster {
    /// Starts `size` nodes and waits until JetStream answers on every one.
    /// Panics with a clear message when it cannot: meant for tests.
    pub async fn start(size: usize) -> NatsCluster {
        Self::start_with(size, None).await
    }

    /// [`start`](Self::start) with every node also reading `config` (e.g. a
    /// `jetstream { sync_interval: always }` block).
    pub async fn start_with(size: usize, config: Option<PathBuf>) -> NatsCluster {
        let mut last = None;
        // Free ports are found by binding and releasing them, so another process
        // can take one before the node does: start again on fresh ports.
        for _ in 0..5 {
            match NatsCluster::try_start(size, config.clone()).await {
                Ok(cluster) => {
                    cluster.wait_jetstream_ready().await;
                    return cluster;
                }
                Err(e) => last = Some(e),
            }
        }
        panic!(
            "cannot start a {size}-node cluster: {}",
            last.expect("tried")
        );
    }

    /// Starts `size` nodes without waiting for JetStream: whoever uses it
    /// first meets a cluster that has no meta leader yet.
    pub async fn start_unready(size: usize, config: Option<PathBuf>) -> NatsCluster {
        let mut last = None;
        for _ in 0..5 {
            match NatsCluster::try_start(size, config.clone()).await {
                Ok(cluster) => return cluster,
                Err(e) => last = Some(e),
            }
        }
        panic!(
            "cannot start a {size}-node cluster: {}",
            last.expect("tried")
        );
    }

    async fn try_start(size: usize, config: Option<PathBuf>) -> Result<NatsCluster, ServerError> {
        let dir = tempfile::Builder::new()
            .prefix("nats-cluster-")
            .tempdir()
            .map_err(|e| ServerError::Spawn(e.to_string()))?;
        let ports = free_ports(3 * size).map_err(|e| ServerError::Spawn(e.to_string()))?;
        let (clients, rest) = ports.split_at(size);
        let (routes, monitors) = rest.split_at(size);
        let route_list = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::with_capacity(size);
        for i in 0..size {
            let options = ServerOptions {
                config: config.clone(),
                port: Some(clients[i]),
                store_dir: Some(dir.path().join(format!("n{}", i + 1))),
                monitor_port: Some(monitors[i]),
                extra_args: vec![
                    "--name".into(),
                    format!("n{}", i + 1),
                    "--cluster_name".into(),
                    "test".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{}", routes[i]),
                    "--routes".into(),
                    route_list.clone(),
                ],
                ..Default::default()
            };
            let server = NatsServer::start_with(options.clone()).await?;
            nodes.push(Node {
                options,
                client_port: clients[i],
                monitor_port: monitors[i],
                server: Some(server),
            });
        }
        Ok(NatsCluster { nodes, _dir: dir })
    }

    /// Client URLs of every node, running or not (`nats://127.0.0.1:<port>`).
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.client_port))
            .collect()
    }

    /// [`urls`](Self::urls) joined with commas, as `--nats-url` takes them.
    pub fn url_list(&self) -> String {
        self.urls().join(",")
    }

    /// The monitoring URL of node `i` (`http://127.0.0.1:<port>`).
    pub fn monitor_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].monitor_port)
    }

    /// A client that knows every node and fails over between them.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.urls())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the cluster {}: {e}", self.url_list()))
    }

    /// Stops node `i` gracefully (SIGTERM) and waits until it exited.
    pub async fn stop_node(&mut self, i: usize) {
        if let Some(server) = self.nodes[i].server.take() {
            server.stop(Duration::from_secs(10)).await;
        }
    }

    /// Kills node `i` outright (SIGKILL) and waits until it is gone: a crash.
    pub async fn kill_node(&mut self, i: usize) {
        if let Some(server) = self.nodes[i].server.take() {
            server.kill().await;
        }
    }

    /// Starts node `i` again on the same ports and store (it must be stopped or
    /// killed) and waits until it reports healthy.
    pub async fn restart_node(&mut self, i: usize) {
        assert!(self.nodes[i].server.is_none(), "node {i} is running");
        let options = self.nodes[i].options.clone();
        // The old process has exited, but give the kernel a moment should the
        // port still be held.
        let server = wait_until("the node to start again", Duration::from_secs(15), || {
            let options = options.clone();
            async move { NatsServer::start_with(options).await.ok() }
        })
        .await;
        self.nodes[i].server = Some(server);
        let port = self.nodes[i].monitor_port;
        wait_until(
            "the restarted node healthy",
            Duration::from_secs(30),
            || healthy(port),
        )
        .await;
    }

    /// Waits until the running nodes agree on a JetStream meta leader; returns
    /// its server name.
    pub async fn wait_for_meta_leader(&self) -> String {
        wait_until(
            "a JetStream meta leader",
            Duration::from_secs(30),
            || async {
                let mut leaders = Vec::new();
                for node in self.running() {
                    let jsz = http_json(node.monitor_port, "/jsz").await?;
                    leaders.push(jsz["meta_cluster"]["leader"].as_str()?.to_string());
                }
                let first = leaders.first()?.clone();
                (!first.is_empty() && leaders.iter().all(|l| *l == first)).then_some(first)
            },
        )
        .await
    }

    /// Waits until every running node is healthy (`/healthz`: JetStream current)
    /// and answers `$JS.API.INFO` on a connection to that node alone.
    pub async fn wait_jetstream_ready(&self) {
        self.wait_for_meta_leader().await;
        for node in self.running() {
            wait_until("a healthy node", Duration::from_secs(30), || {
                healthy(node.monitor_port)
            })
            .await;
            let url = format!("nats://127.0.0.1:{}", node.client_port);
            let client = async_nats::ConnectOptions::new()
                .ignore_discovered_servers()
                .connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
            wait_until("$JS.API.INFO", Duration::from_secs(30), || async {
                let reply = tokio::time::timeout(
                    Duration::from_secs(1),
                    client.request("$JS.API.INFO", "".into()),
                )
                .await
                .ok()?
                .ok()?;
                let info: serde_json::Value = serde_json::from_slice(&reply.payload).ok()?;
                info.get("error").is_none().then_some(())
            })
            .await;
        }
    }

    /// Node `i`'s own replica of `stream` as its monitor reports it
    /// (`/jsz?streams=true`): the stream's `state` object, `None` when the node
    /// is down or holds no replica.
    pub async fn stream_state(&self, i: usize, stream: &str) -> Option<serde_json::Value> {
        let jsz = http_json(self.nodes[i].monitor_port, "/jsz?streams=true").await?;
        jsz["account_details"]
            .as_array()?
            .iter()
            .filter_map(|a| a["stream_detail"].as_array())
            .flatten()
            .find(|s| s["name"] == stream)
            .map(|s| s["state"].clone())
    }

    fn running(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.server.is_some())
    }
}

/// `n` distinct free loopback ports: all bound at once, then released.
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

async fn healthy(monitor_port: u16) -> Option<()> {
    let health = http_json(monitor_port, "/healthz").await?;
    (health["status"] == "ok").then_some(())
}

/// A GET on the node's monitor port, parsed as JSON; `None` on any failure.
/// (A plain HTTP/1.0 request: the monitor needs nothing more, and testkit no
/// HTTP client.)
async fn http_json(port: u16, path: &str) -> Option<serde_json::Value> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        Some(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()??;
    let text = String::from_utf8(response).ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}
