//! One test platform (zero2prod's `spawn_app`): a server or a cluster, service
//! instances each on its own runtime and connection, the GOOG fixture, and one
//! readiness wait: every instance answers `$SRV.PING.<name>` with its endpoints.
//!
//! ```ignore
//! let platform = Platform::builder()
//!     .service("market-data", 1, |c, s| market_data::run(Default::default(), c, s.wait()))
//!     .import_goog()
//!     .start()
//!     .await;
//! platform.instance("market-data", 0).abort();
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::Client;
use futures::StreamExt;

use crate::cluster::NatsCluster;
use crate::server::NatsServer;
use crate::spawn::{spawn_connected, ServiceHandle, Shutdown};
use crate::wait_until;

/// What a service's `run` returned, whatever its error type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
type Factory = Arc<dyn Fn(Client, Shutdown) -> BoxFuture + Send + Sync>;

/// How long one instance may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start; see [`Platform::builder`].
pub struct PlatformBuilder {
    cluster: Option<usize>,
    /// Start every instance at once, with the nodes, before JetStream is up.
    racing: bool,
    /// A config file every node reads too.
    server_config: Option<std::path::PathBuf>,
    services: Vec<(String, usize, Factory)>,
    import_goog: bool,
}

enum Nodes {
    Single(Box<NatsServer>),
    Cluster(NatsCluster),
}

/// A ready platform. Dropping it kills every instance, then the servers.
pub struct Platform {
    // Field order is drop order: the services go before their server.
    instances: Mutex<Vec<Arc<Instance>>>,
    seen: Mutex<Vec<(String, Seen)>>,
    client: Client,
    url: String,
    nodes: Nodes,
}

/// Every `$SRV.PING` id a service's instances ever had, to tell a new one.
type Seen = Arc<Mutex<HashSet<String>>>;

/// One service instance of a [`Platform`], on a runtime of its own.
pub struct Instance {
    name: String,
    index: usize,
    url: String,
    client: Client,
    factory: Factory,
    seen: Seen,
    handle: Mutex<Option<ServiceHandle<BoxError>>>,
    id: Mutex<String>,
}

impl Platform {
    /// A single node and no services until told otherwise.
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder {
            cluster: None,
            racing: false,
            server_config: None,
            services: Vec::new(),
            import_goog: false,
        }
    }

    /// A client of the test, connected to every node.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The server URL, or the cluster's comma-separated URL list.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server of a single-node platform.
    pub fn server(&self) -> &NatsServer {
        match &self.nodes {
            Nodes::Single(server) => server,
            Nodes::Cluster(_) => panic!("this platform runs a cluster"),
        }
    }

    /// The cluster of a platform built with [`PlatformBuilder::cluster`], to
    /// stop, kill or restart its nodes.
    pub fn cluster(&mut self) -> &mut NatsCluster {
        match &mut self.nodes {
            Nodes::Cluster(cluster) => cluster,
            Nodes::Single(_) => panic!("this platform runs a single node"),
        }
    }

    /// Starts one more instance of `name` and waits until it is ready. Its
    /// index follows the instances of `name` already there.
    pub async fn add<F, Fut, E>(&self, name: &str, factory: F) -> Arc<Instance>
    where
        F: Fn(Client, Shutdown) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.add_boxed(name, boxed(factory)).await
    }

    async fn add_boxed(&self, name: &str, factory: Factory) -> Arc<Instance> {
        let instance = self.register(name, factory);
        instance.launch().await;
        instance
    }

    /// A new instance of `name`, not started yet.
    fn register(&self, name: &str, factory: Factory) -> Arc<Instance> {
        let seen = {
            let mut all = self.seen.lock().unwrap();
            match all.iter().find(|(n, _)| n == name) {
                Some((_, seen)) => seen.clone(),
                None => {
                    let seen = Seen::default();
                    all.push((name.to_string(), seen.clone()));
                    seen
                }
            }
        };
        let index = self.count(name);
        let instance = Arc::new(Instance {
            name: name.to_string(),
            index,
            url: self.url.clone(),
            client: self.client.clone(),
            factory,
            seen,
            handle: Mutex::new(None),
            id: Mutex::new(String::new()),
        });
        self.instances.lock().unwrap().push(instance.clone());
        instance
    }

    /// Instance `index` of service `name`, in the order they were added.
    pub fn instance(&self, name: &str, index: usize) -> Arc<Instance> {
        self.instances
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.name == name && i.index == index)
            .cloned()
            .unwrap_or_else(|| panic!("no instance {index} of {name} on this platform"))
    }

    /// The ids of every instance of `name` answering `$SRV.PING` now (also those
    /// started outside the platform): it waits 300 ms after the last answer.
    pub async fn instance_ids(&self, name: &str) -> Vec<String> {
        pongs(&self.client, name, Duration::from_millis(300), |_| false).await
    }

    /// Imports `testdata/GOOG.csv` rows `rows` (data rows, header excluded) as
    /// daily bars of GOOG through `md.import`, and checks every row was stored.
    pub async fn import_goog(&self, rows: Range<usize>) {
        let text = crate::paths::goog_csv();
        let mut lines = text.lines();
        let header = lines.next().expect("a header in GOOG.csv");
        let data: Vec<&str> = lines.collect();
        let csv = format!("{header}\n{}\n", data[rows.clone()].join("\n"));
        let body = serde_json::json!({"symbol": "GOOG", "csv": csv});
        let request = async_nats::Request::new()
            .payload(body.to_string().into())
            .timeout(Some(Duration::from_secs(60)));
        let reply = self
            .client
            .send_request("md.import", request)
            .await
            .unwrap_or_else(|e| panic!("md.import of GOOG (is market-data on the platform?): {e}"));
        let report: serde_json::Value =
            serde_json::from_slice(&reply.payload).expect("a JSON reply to md.import");
        let failed = reply
            .headers
            .as_ref()
            .is_some_and(|h| h.get("Nats-Service-Error-Code").is_some());
        assert!(!failed, "md.import of GOOG failed: {report}");
        assert_eq!(
            report["published"],
            rows.len() as u64,
            "md.import of GOOG rows {rows:?}: {report}"
        );
    }

    fn count(&self, name: &str) -> usize {
        self.instances
            .lock()
            .unwrap()
            .iter()
            .filter(|i| i.name == name)
            .count()
    }

    /// Every service answers `$SRV.PING` once per running instance.
    async fn ready(&self) {
        let mut expected: Vec<(String, usize)> = Vec::new();
        for instance in self.instances.lock().unwrap().iter() {
            if !instance.is_running() {
                continue;
            }
            match expected.iter_mut().find(|(n, _)| *n == instance.name) {
                Some((_, count)) => *count += 1,
                None => expected.push((instance.name.clone(), 1)),
            }
        }
        for (name, count) in expected {
            wait_until(
                &format!("{count} instance(s) of {name} answering $SRV.PING"),
                START_TIMEOUT,
                || async {
                    let ids = pongs(&self.client, &name, Duration::from_secs(1), |ids| {
                        ids.len() >= count
                    })
                    .await;
                    (ids.len() >= count).then_some(())
                },
            )
            .await;
        }
    }
}

impl PlatformBuilder {
    /// One nats-server with JetStream (the default).
    pub fn single_node(mut self) -> Self {
        self.cluster = None;
        self
    }

    /// A [`NatsCluster`] of `size` nodes instead of one server.
    pub fn cluster(mut self, size: usize) -> Self {
        self.cluster = Some(size);
        self
    }

    /// Every node also reads this config file (e.g. `nats/dev.conf`'s
    /// `sync_interval: always`); flags for ports and store still win.
    pub fn server_config(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.server_config = Some(path.into());
        self
    }

    /// Starts the cluster's nodes and every instance at the same moment, as a
    /// fresh deployment does: services meet a cluster with no JetStream meta
    /// leader yet and must wait for it. Instances are then awaited together.
    pub fn racing_start(mut self) -> Self {
        self.racing = true;
        self
    }

    /// `instances` instances of service `name` (its micro service name), each
    /// running `factory(client, shutdown)`, e.g. the service's `run` with its
    /// config. Services start in the order given, instances one after another.
    /// The same name may be given twice with other factories (two portfolio
    /// nodes): the indexes continue.
    pub fn service<F, Fut, E>(mut self, name: &str, instances: usize, factory: F) -> Self
    where
        F: Fn(Client, Shutdown) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.services
            .push((name.to_string(), instances, boxed(factory)));
        self
    }

    /// Once ready, imports all of `testdata/GOOG.csv` (2,148 daily bars) through
    /// `md.import`: needs a market-data service.
    pub fn import_goog(mut self) -> Self {
        self.import_goog = true;
        self
    }

    /// Starts everything and waits until it is ready.
    pub async fn start(self) -> Platform {
        let nodes = match self.cluster {
            None => Nodes::Single(Box::new(
                NatsServer::start_with(crate::ServerOptions {
                    config: self.server_config.clone(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            )),
            Some(size) if self.racing => {
                Nodes::Cluster(NatsCluster::start_unready(size, self.server_config.clone()).await)
            }
            Some(size) => {
                Nodes::Cluster(NatsCluster::start_with(size, self.server_config.clone()).await)
            }
        };
        let (url, client) = match &nodes {
            Nodes::Single(server) => (server.url().to_string(), server.client().await),
            Nodes::Cluster(cluster) => (cluster.url_list(), cluster.client().await),
        };
        let platform = Platform {
            instances: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            client,
            url,
            nodes,
        };
        let mut launched = Vec::new();
        for (name, instances, factory) in self.services {
            for _ in 0..instances {
                let instance = platform.register(&name, factory.clone());
                if self.racing {
                    instance.spawn();
                    launched.push(instance);
                } else {
                    instance.launch().await;
                }
            }
        }
        for instance in launched {
            instance.wait_started().await;
        }
        platform.ready().await;
        if self.import_goog {
            platform
                .import_goog(0..crate::paths::goog_bars().len())
                .await;
        }
        platform
    }
}

impl Instance {
    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its `$SRV.PING` id (of its latest start).
    pub fn id(&self) -> String {
        self.id.lock().unwrap().clone()
    }

    /// Signals shutdown and waits until the service returned (it drains).
    pub async fn stop(&self) -> Result<(), BoxError> {
        let handle = self.handle.lock().unwrap().take();
        match handle {
            Some(handle) => handle.stop().await,
            None => Ok(()),
        }
    }

    /// Kills it and everything it spawned, connection included: a crash.
    pub fn abort(&self) {
        if let Some(handle) = self.handle.lock().unwrap().take() {
            handle.abort();
        }
    }

    /// Starts it again with the same factory (stopping it first if it still
    /// runs) and waits until it is ready.
    pub async fn restart(&self) {
        if let Err(e) = self.stop().await {
            panic!("{} {} ended with an error: {e}", self.name, self.index);
        }
        self.launch().await;
    }

    /// Panics with the service's own error when it returned while starting.
    fn exited_early(&self) {
        let result = self
            .handle
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|h| h.try_result());
        if let Some(result) = result {
            panic!(
                "{} instance {} returned before it answered: {result:?}",
                self.name, self.index
            );
        }
    }

    fn is_running(&self) -> bool {
        self.handle.lock().unwrap().is_some()
    }

    async fn launch(&self) {
        self.spawn();
        self.wait_started().await;
    }

    fn spawn(&self) {
        let factory = self.factory.clone();
        let handle = spawn_connected(&self.url, move |client, shutdown| factory(client, shutdown));
        *self.handle.lock().unwrap() = Some(handle);
    }

    /// Waits until this (new) instance answers PING and lists its endpoints.
    async fn wait_started(&self) {
        let what = format!("{} instance {} answering $SRV.PING", self.name, self.index);
        let id = wait_until(&what, START_TIMEOUT, || async {
            self.exited_early();
            let is_new = |ids: &[String]| {
                let seen = self.seen.lock().unwrap();
                ids.iter().any(|id| !seen.contains(id))
            };
            let ids = pongs(&self.client, &self.name, Duration::from_secs(1), is_new).await;
            let seen = self.seen.lock().unwrap();
            ids.into_iter().find(|id| !seen.contains(id))
        })
        .await;
        self.seen.lock().unwrap().insert(id.clone());
        *self.id.lock().unwrap() = id.clone();
        // PING answers as soon as the service is registered, before its
        // endpoints are: wait until its INFO lists the same endpoints twice.
        let what = format!(
            "{} instance {} listing its endpoints",
            self.name, self.index
        );
        let last = AtomicUsize::new(0);
        wait_until(&what, START_TIMEOUT, || async {
            let subject = format!("$SRV.INFO.{}.{id}", self.name);
            let reply = tokio::time::timeout(
                Duration::from_secs(1),
                self.client.request(subject, "".into()),
            )
            .await
            .ok()?
            .ok()?;
            let info: serde_json::Value = serde_json::from_slice(&reply.payload).ok()?;
            let endpoints = info["endpoints"].as_array().map_or(0, Vec::len);
            let before = last.swap(endpoints, Ordering::Relaxed);
            (endpoints > 0 && endpoints == before).then_some(())
        })
        .await;
    }
}

fn boxed<F, Fut, E>(factory: F) -> Factory
where
    F: Fn(Client, Shutdown) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    Arc::new(move |client, shutdown| {
        let run = factory(client, shutdown);
        Box::pin(async move { run.await.map_err(Into::into) })
    })
}

/// Sends `$SRV.PING.<name>` and collects the ids that answer until `enough`
/// says so or nothing more came for `quiet`. A no-responders status is not an
/// answer.
async fn pongs(
    client: &Client,
    name: &str,
    quiet: Duration,
    enough: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let mut ids = Vec::new();
    let inbox = client.new_inbox();
    let Ok(mut replies) = client.subscribe(inbox.clone()).await else {
        return ids;
    };
    let ping = client.publish_with_reply(format!("$SRV.PING.{name}"), inbox, "".into());
    if ping.await.is_err() {
        return ids;
    }
    while let Ok(Some(msg)) = tokio::time::timeout(quiet, replies.next()).await {
        let pong: Option<serde_json::Value> = serde_json::from_slice(&msg.payload).ok();
        if let Some(id) = pong
            .filter(|p| p["type"] == "io.nats.micro.v1.ping_response")
            .and_then(|p| p["id"].as_str().map(str::to_string))
        {
            ids.push(id);
            if enough(&ids) {
                break;
            }
        }
    }
    ids
}
