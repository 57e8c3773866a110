//! The one way a service runs (mini-redis's `server::run`): every service's
//! `run(config, client, shutdown)` is [`run`] with a set-up function.
//!
//! 1. Set-up: provision streams, buckets and consumers (retried until
//!    JetStream answers: [`crate::jetstream::provision`]), rebuild state,
//!    [`Runner::start_service`] (the micro service appears in `$SRV`),
//!    [`Runner::serve`] a declared [`Endpoints`] table, [`Runner::spawn`]
//!    background tasks. A shutdown during set-up ends it cleanly.
//! 2. Serving until `shutdown`; [`Health`] says live/ready meanwhile (also as
//!    the `trader_service_ready` / `trader_nats_connected` gauges, [`crate::metrics`]).
//! 3. Shutdown, always in this order: stop taking requests, finish those in
//!    flight (and leave `$SRV`), stop the background tasks (one stop signal,
//!    each awaited with a grace period), flush the connection.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};
use async_nats::Client;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::codec::ProtoConvert;
use crate::service::{EndpointSpec, MicroService, RequestContext, ServiceSpec};
use crate::{BusError, ServiceError};

/// How often a watched consumer's lag is read.
const CONSUMER_LAG_INTERVAL: Duration = Duration::from_secs(5);

/// How long a background task gets to end after the stop signal.
const TASK_GRACE: Duration = Duration::from_secs(10);

/// Runs a service: `setup` gets the [`Runner`] and hands it back ready; then
/// it serves until `shutdown` and drains in the fixed order.
pub async fn run<F, Fut, E>(
    runner: Runner,
    shutdown: impl Future<Output = ()> + Send,
    setup: F,
) -> Result<(), E>
where
    F: FnOnce(Runner) -> Fut,
    Fut: Future<Output = Result<Runner, E>> + Send,
    E: From<BusError>,
{
    let service = runner.spec.name;
    let started = Instant::now();
    tokio::pin!(shutdown);
    let runner = tokio::select! {
        ready = setup(runner) => ready?,
        _ = &mut shutdown => {
            tracing::info!(service, "shut down during start-up");
            return Ok(());
        }
    };
    runner.health.set_ready(true);
    tracing::info!(
        service,
        instance = %runner.instance,
        start_ms = started.elapsed().as_millis() as u64,
        "service started"
    );
    shutdown.await;
    runner.drain().await;
    Ok(())
}

/// A background task's end, for the log.
pub trait TaskOutcome {
    fn failure(self) -> Option<String>;
}

impl TaskOutcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: std::fmt::Display> TaskOutcome for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

struct Task {
    name: &'static str,
    handle: JoinHandle<()>,
}

/// A service being set up, then serving.
pub struct Runner {
    spec: ServiceSpec,
    client: Client,
    js: jetstream::Context,
    instance: String,
    service: Option<MicroService>,
    stop_tx: watch::Sender<bool>,
    tasks: Vec<Task>,
    health: Health,
}

impl Runner {
    pub fn new(client: Client, spec: ServiceSpec) -> Self {
        let js = jetstream::new(client.clone());
        let (stop_tx, _) = watch::channel(false);
        let health = Health::register(spec.name, client.clone());
        Runner {
            spec,
            client,
            js,
            instance: String::new(),
            service: None,
            stop_tx,
            tasks: Vec::new(),
            health,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn js(&self) -> &jetstream::Context {
        &self.js
    }

    /// This instance's id in `$SRV.PING` (empty before [`Runner::start_service`]).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Becomes true once when the service shuts down: background tasks watch it.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop_tx.subscribe()
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Creates or updates a stream (retried until JetStream answers).
    pub async fn stream(&self, config: stream::Config) -> Result<stream::Stream, BusError> {
        crate::jetstream::ensure_stream(&self.js, config).await
    }

    /// Creates or updates a KV bucket (retried until JetStream answers).
    pub async fn kv(&self, config: kv::Config) -> Result<kv::Store, BusError> {
        crate::jetstream::ensure_kv(&self.js, config).await
    }

    /// Registers the micro service: from now on `$SRV.PING/INFO/STATS` answer
    /// and [`Runner::instance`] is known. Endpoints follow with [`Runner::serve`].
    pub async fn start_service(&mut self) -> Result<&str, BusError> {
        let service = MicroService::start(&self.client, self.spec.clone()).await?;
        self.instance = service.id().await;
        self.service = Some(service);
        Ok(&self.instance)
    }

    /// Adds every endpoint of the table (starting the service if needed).
    pub async fn serve(&mut self, endpoints: Endpoints) -> Result<(), BusError> {
        if self.service.is_none() {
            self.start_service().await?;
        }
        let service = self.service.as_mut().expect("started above");
        for add in endpoints.entries {
            add(service).await?;
        }
        Ok(())
    }

    /// Runs a background task until the service stops. It must end by itself
    /// once [`Runner::stop_signal`] turns true; it is awaited (at most 10 s,
    /// then aborted) after the endpoints are drained.
    pub fn spawn<Fut>(&mut self, name: &'static str, task: Fut)
    where
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutcome + Send,
    {
        let service = self.spec.name;
        let handle = tokio::spawn(async move {
            if let Some(error) = task.await.failure() {
                tracing::warn!(service, task = name, %error, "background task ended with an error");
            }
        });
        self.tasks.push(Task { name, handle });
    }

    /// Reports a durable consumer's lag (`trader_consumer_pending`,
    /// `_ack_pending`, `_redelivered`) every 5 s while the service runs.
    pub fn watch_consumer(&mut self, stream: &str, consumer: &str) {
        let (js, stream, consumer) = (self.js.clone(), stream.to_string(), consumer.to_string());
        let mut stop = self.stop_signal();
        self.spawn("consumer-lag", async move {
            let mut tick = tokio::time::interval(CONSUMER_LAG_INTERVAL);
            loop {
                tokio::select! {
                    _ = crate::follow::stopped(&mut stop) => return,
                    _ = tick.tick() => {}
                }
                let info = match js.get_stream(&stream).await {
                    Ok(s) => s.consumer_info(&consumer).await.ok(),
                    Err(_) => None,
                };
                match info {
                    Some(info) => crate::metrics::set_consumer_lag(&stream, &consumer, &info),
                    None => tracing::debug!(stream, consumer, "consumer info not available"),
                }
            }
        });
    }

    /// Takes over a task spawned elsewhere (e.g. a [`crate::follow`] follower)
    /// that also ends on the stop signal.
    pub fn adopt(&mut self, name: &'static str, handle: JoinHandle<()>) {
        self.tasks.push(Task { name, handle });
    }

    async fn drain(mut self) {
        let service = self.spec.name;
        self.health.set_ready(false);
        tracing::info!(service, "shutting down: draining requests");
        if let Some(micro) = self.service.take() {
            micro.shutdown().await;
        }
        let _ = self.stop_tx.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.handle.abort_handle();
            match tokio::time::timeout(TASK_GRACE, task.handle).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if e.is_cancelled() => {}
                Ok(Err(e)) => {
                    tracing::warn!(service, task = task.name, error = %e, "background task panicked")
                }
                Err(_) => {
                    tracing::warn!(
                        service,
                        task = task.name,
                        "background task did not stop in time; aborted"
                    );
                    abort.abort();
                }
            }
        }
        if let Err(e) = self.client.flush().await {
            tracing::warn!(service, error = %e, "flush at shutdown failed");
        }
        tracing::info!(service, "service stopped");
    }
}

impl Drop for Runner {
    /// A runner dropped without draining (set-up failed or was interrupted)
    /// stops what it started.
    fn drop(&mut self) {
        self.health.set_ready(false);
        let _ = self.stop_tx.send(true);
        for task in &self.tasks {
            task.handle.abort();
        }
        self.health.deregister();
    }
}

type AddEndpoint =
    Box<dyn for<'a> FnOnce(&'a mut MicroService) -> BoxFuture<'a, Result<(), BusError>> + Send>;

/// A service's endpoints, declared as a table: subject, description, handler.
/// Names in `$SRV.INFO` come from the subjects ([`crate::service::endpoint_name`]).
#[derive(Default)]
pub struct Endpoints {
    entries: Vec<AddEndpoint>,
}

impl Endpoints {
    pub fn new() -> Self {
        Self::default()
    }

    /// A JSON endpoint.
    pub fn json<Req, Resp, H, Fut>(
        mut self,
        subject: &'static str,
        description: &'static str,
        handler: H,
    ) -> Self
    where
        Req: DeserializeOwned + JsonSchema + Send + 'static,
        Resp: Serialize + JsonSchema + Send + 'static,
        H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let spec = EndpointSpec::for_subject(subject, description);
        self.entries
            .push(Box::new(move |service: &mut MicroService| {
                Box::pin(service.add_endpoint(spec, handler))
            }));
        self
    }

    /// An endpoint that speaks protobuf too (`Content-Type: application/protobuf`).
    pub fn json_and_protobuf<Req, Resp, H, Fut>(
        mut self,
        subject: &'static str,
        description: &'static str,
        handler: H,
    ) -> Self
    where
        Req: DeserializeOwned + JsonSchema + ProtoConvert + Send + 'static,
        Resp: Serialize + JsonSchema + ProtoConvert + Send + 'static,
        H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let spec = EndpointSpec::for_subject(subject, description);
        self.entries
            .push(Box::new(move |service: &mut MicroService| {
                Box::pin(service.add_endpoint_with_protobuf(spec, handler))
            }));
        self
    }
}

/// Live/ready state of one service instance in this process. Live: the
/// process runs. Ready: set-up done (provisioned, state rebuilt, endpoints
/// served), not shutting down, and connected to NATS.
#[derive(Clone)]
pub struct Health {
    inner: Arc<HealthInner>,
}

struct HealthInner {
    service: &'static str,
    ready: AtomicBool,
    /// Set by the service while it cannot do its work (e.g. its data dir
    /// refuses writes): not ready until it clears it.
    failing: AtomicBool,
    client: Client,
}

/// One service's state, as [`process_health`] reports it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthStatus {
    pub service: &'static str,
    pub ready: bool,
    pub connected: bool,
}

static REGISTRY: Mutex<Vec<Arc<HealthInner>>> = parking_lot::const_mutex(Vec::new());

impl Health {
    fn register(service: &'static str, client: Client) -> Self {
        let inner = Arc::new(HealthInner {
            service,
            ready: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            client,
        });
        REGISTRY.lock().push(inner.clone());
        Health { inner }
    }

    fn deregister(&self) {
        let mut registry = REGISTRY.lock();
        registry.retain(|h| !Arc::ptr_eq(h, &self.inner));
        // Another instance of the same service may still run here.
        if !registry.iter().any(|h| h.service == self.inner.service) {
            crate::metrics::set_health(self.inner.service, false, false);
        }
    }

    fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
        let status = self.status();
        crate::metrics::set_health(status.service, status.ready, status.connected);
    }

    pub fn status(&self) -> HealthStatus {
        status_of(&self.inner)
    }

    /// Not ready while `failing` (the service cannot persist what it takes
    /// in, say); ready again, if it otherwise is, once cleared. Distinct from
    /// the runner's own readiness, so a shutdown is never undone by it.
    pub fn set_failing(&self, failing: bool) {
        if self.inner.failing.swap(failing, Ordering::SeqCst) != failing {
            let status = self.status();
            crate::metrics::set_health(status.service, status.ready, status.connected);
        }
    }
}

fn status_of(inner: &HealthInner) -> HealthStatus {
    let connected = inner.client.connection_state() == async_nats::connection::State::Connected;
    HealthStatus {
        service: inner.service,
        ready: inner.ready.load(Ordering::SeqCst)
            && !inner.failing.load(Ordering::SeqCst)
            && connected,
        connected,
    }
}

/// Every service instance running in this process (the all-in-one binary
/// runs several), for health endpoints.
pub fn process_health() -> Vec<HealthStatus> {
    REGISTRY.lock().iter().map(|h| status_of(h)).collect()
}

/// Sets `trader_service_ready` and `trader_nats_connected` of every service
/// here from its current state (called when `/metrics` is rendered, so the
/// connection state is never stale). Two instances of one service in a
/// process (tests) share a series: ready only if both are.
pub fn record_health_gauges() {
    let mut by_service: Vec<HealthStatus> = Vec::new();
    for status in process_health() {
        match by_service.iter_mut().find(|s| s.service == status.service) {
            Some(seen) => {
                seen.ready &= status.ready;
                seen.connected &= status.connected;
            }
            None => by_service.push(status),
        }
    }
    for s in by_service {
        crate::metrics::set_health(s.service, s.ready, s.connected);
    }
}

/// Resolves on Ctrl-C or SIGTERM (what compose and Kubernetes send): the
/// shutdown signal of every binary.
pub async fn terminate() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
