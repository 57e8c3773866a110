//! `trader run --edge NAME --hub nats-leaf://HOST:PORT`: an edge box.
//!
//! The embedded nats-server is a leaf node of the hub with JetStream domain NAME
//! (store under the data dir, `sync_interval: always`), so the services on it
//! keep trading with the link down. [`EdgeTasks`] provisions the hub's copies of
//! the edge's streams through the hub's domain, retrying until the hub answers,
//! and serves the `edge.<NAME>.<query>` subjects hub clients may ask.

use std::path::Path;
use std::time::Duration;

use bus::edge::EdgeName;
use bus::jetstream::StreamSettings;
use bus::subjects;
use natsproc::conf::LeafConf;
use natsproc::NatsServer;

#[derive(clap::Args, Debug, Clone)]
pub struct EdgeArgs {
    /// Run as edge NAME (a-z 0-9 -): the embedded nats-server becomes a leaf
    /// node of --hub with JetStream domain NAME; the hub stores this edge's
    /// ORDERS, SIGNALS, PORTFOLIO and ALERTS as EDGE_<NAME>_<STREAM>.
    #[arg(
        long,
        value_name = "NAME",
        requires = "hub",
        conflicts_with = "nats_url"
    )]
    edge: Option<String>,
    /// The hub's leaf node listener, e.g. nats-leaf://10.0.0.1:7422 (with --edge).
    #[arg(long, value_name = "URL", requires = "edge")]
    hub: Option<String>,
    /// JetStream domain of the hub.
    #[arg(long, default_value = subjects::edge::HUB_DOMAIN)]
    hub_domain: String,
}

/// An edge run: its name and its hub.
#[derive(Debug, Clone)]
pub struct Edge {
    name: EdgeName,
    hub_url: String,
    hub_domain: String,
}

impl Edge {
    /// `None` unless `--edge` was given.
    pub fn from_args(args: &EdgeArgs) -> anyhow::Result<Option<Edge>> {
        let (Some(name), Some(hub_url)) = (&args.edge, &args.hub) else {
            return Ok(None);
        };
        let name = EdgeName::new(name, &args.hub_domain)?;
        Ok(Some(Edge {
            name,
            hub_url: hub_url.clone(),
            hub_domain: args.hub_domain.clone(),
        }))
    }

    /// The embedded server's config: a leaf of the hub, domain NAME, the
    /// link kept to what should cross it ([`subjects::edge::LINK_DENY`]).
    pub fn server_conf(&self) -> String {
        let deny: Vec<String> = subjects::edge::LINK_DENY
            .iter()
            .map(|s| s.to_string())
            .collect();
        LeafConf {
            server_name: format!("edge-{}", self.name),
            domain: self.name.domain().to_string(),
            hub_url: self.hub_url.clone(),
            deny_exports: deny.clone(),
            deny_imports: deny,
            fsync_always: true,
        }
        .render()
    }

    /// Starts the embedded nats-server as this edge's leaf node.
    pub async fn start_server(
        &self,
        data_dir: &Path,
        port: u16,
        monitor_port: u16,
        show_logs: bool,
    ) -> anyhow::Result<NatsServer> {
        let server = crate::embedded::start_with_conf(
            data_dir,
            "edge.conf",
            &self.server_conf(),
            port,
            monitor_port,
            show_logs,
        )
        .await?;
        tracing::info!(edge = %self.name, hub = %self.hub_url, "edge nats-server started (leaf node)");
        Ok(server)
    }

    /// Starts the hub provisioning (in the background, until it succeeds) and
    /// the query forwarder; both stop when the returned value is dropped.
    pub fn start_tasks(&self, client: &async_nats::Client, replicas: usize) -> EdgeTasks {
        let settings = StreamSettings {
            replicas,
            ..Default::default()
        };
        let provision = tokio::spawn(provision_hub_until_done(
            client.clone(),
            self.hub_domain.clone(),
            self.name.clone(),
            settings,
        ));
        let (client, name) = (client.clone(), self.name.clone());
        let queries = tokio::spawn(async move {
            if let Err(e) =
                bus::edge::serve_queries(client, name, std::future::pending::<()>()).await
            {
                tracing::error!(error = %e, "edge queries stopped");
            }
        });
        EdgeTasks {
            tasks: vec![provision, queries],
        }
    }
}

/// Background work of an edge; aborted on drop.
pub struct EdgeTasks {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for EdgeTasks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Creates the hub's copies of this edge's streams through `$JS.<hub>.API`,
/// retrying with back-off while the hub is unreachable: the edge trades
/// meanwhile, and the sources copy everything once they exist.
async fn provision_hub_until_done(
    client: async_nats::Client,
    hub_domain: String,
    edge: EdgeName,
    settings: StreamSettings,
) {
    let hub = async_nats::jetstream::with_domain(client, &hub_domain);
    let mut backoff = Duration::from_millis(500);
    for attempt in 1u32.. {
        match bus::edge::provision_hub(&hub, &edge, &settings).await {
            Ok(()) => {
                tracing::info!(%edge, hub_domain, attempt, "hub streams of this edge provisioned");
                return;
            }
            Err(e) => {
                tracing::warn!(%edge, hub_domain, attempt, error = %e, retry_in_ms = backoff.as_millis() as u64, "hub not reachable; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge_a() -> Edge {
        let args = EdgeArgs {
            edge: Some("edge-a".into()),
            hub: Some("nats-leaf://127.0.0.1:7422".into()),
            hub_domain: subjects::edge::HUB_DOMAIN.into(),
        };
        Edge::from_args(&args).unwrap().unwrap()
    }

    /// The config `trader run --edge` writes is one nats-server accepts.
    #[test]
    fn the_edge_server_config_is_valid() {
        let Ok(bin) = testkit::server::nats_server_bin() else {
            panic!("nats-server not installed");
        };
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("edge.conf");
        std::fs::write(&conf, edge_a().server_conf()).unwrap();
        let out = std::process::Command::new(bin)
            .arg("-t")
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `nats/leaf/edge.conf` keeps the same subjects off the link as `trader run --edge`.
    #[test]
    fn the_shipped_edge_config_denies_the_same_subjects() {
        let shipped =
            std::fs::read_to_string(testkit::paths::repo_root().join("nats/leaf/edge.conf"))
                .unwrap();
        let rendered = edge_a().server_conf();
        let deny_lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| l.starts_with("deny_") || l.starts_with("domain:"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(deny_lines(&shipped), deny_lines(&rendered));
    }
}
