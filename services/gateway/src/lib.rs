//! The `gateway` micro service: HTTP in front of the platform. REST routes
//! that are NATS requests to the services, a WebSocket fed by the event
//! subjects, API keys and users with roles and account scopes, rate limits,
//! an OpenAPI document and the embedded dashboard. Stateless: keys, users and
//! the token secret live in KV, so any number of instances serve side by side.
//!
//! - [`run`]: opens the KV buckets, binds the HTTP port, subscribes the
//!   WebSocket hub, serves HTTP and the `gateway.*` NATS endpoints until `shutdown`.
//! - [`routes`]: the one route table (method, path, subject, role, account scope, types).
//! - `http`: the axum router built from the table; credentials, rate limit,
//!   role; error mapping; CORS. `forward`: a route that is a NATS request.
//!   `local`: login, service list, health, OpenAPI, docs.
//! - [`ws`]: `/ws` channels and filters, per-client bounded queues with coalescing.
//! - `auth`: keys (SHA-256 in KV), users (argon2), JWT (HS256), roles and scopes.
//! - `ratelimit`: per-caller token buckets (per instance).
//! - [`openapi`]: the OpenAPI 3.1 document from the table and the schemas.
//! - `trace`: correlation id and W3C `traceparent` onto NATS headers.
//! - [`assets`]: the dashboard's files, embedded.
//! - `handlers/`: the `gateway.*` NATS endpoints, one file each.

pub mod assets;
mod auth;
mod docs;
mod forward;
mod handlers;
mod http;
mod local;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
mod trace;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};

pub use ratelimit::RateLimit;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the gateway listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address (`127.0.0.1:8080`; port 0: any free port, see `gateway.info`).
    pub addr: String,
    /// How long a route waits for its NATS reply (then 504).
    pub request_timeout: Duration,
    /// Largest request body (then 413).
    pub body_limit: usize,
    /// Per key or user; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Origins allowed by CORS (`*` for any); empty: CORS off.
    pub cors_origins: Vec<String>,
    /// Lifetime of a login token.
    pub token_ttl: Duration,
    /// Replicas of the KV buckets (3 in a cluster).
    pub replicas: usize,
    /// Events queued per WebSocket client before new ones are dropped.
    pub ws_queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: DEFAULT_ADDR.to_string(),
            request_timeout: Duration::from_secs(30),
            body_limit: 4 * 1024 * 1024,
            rate_limit: Some(RateLimit::default()),
            cors_origins: Vec::new(),
            token_ttl: Duration::from_secs(12 * 3600),
            replicas: 1,
            ws_queue: 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("admin key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Service(#[from] bus::ServiceError),
}

/// What the NATS endpoints share.
pub(crate) struct Ctx {
    pub store: Arc<auth::Store>,
    pub instance: String,
    pub http_addr: SocketAddr,
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::gateway::SERVICE,
            VERSION,
            "HTTP gateway: REST and WebSocket over the platform, API keys, users, OpenAPI, dashboard",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .map_err(|source| Error::Bind {
            addr: config.addr.clone(),
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.addr.clone(),
        source,
    })?;
    if !http_addr.ip().is_loopback() {
        tracing::warn!(
            addr = %http_addr,
            "THE GATEWAY LISTENS BEYOND LOOPBACK WITHOUT TLS: API keys, tokens and passwords cross the network in clear text. Put a TLS-terminating proxy in front, or listen on 127.0.0.1."
        );
    }
    let store =
        Arc::new(auth::Store::open(runner.js(), config.replicas, runner.stop_signal()).await?);
    let instance = runner.start_service().await?.to_string();
    let hub = Arc::new(ws::Hub::new(config.ws_queue));
    let events = hub.subscribe(runner.client()).await?;
    runner.spawn("ws-hub", hub.clone().run(events, runner.stop_signal()));
    let state = Arc::new(http::AppState {
        client: runner.client().clone(),
        store: store.clone(),
        limiter: ratelimit::Limiter::new(config.rate_limit),
        hub,
        openapi: serde_json::to_vec(&openapi::document(VERSION))
            .unwrap_or_default()
            .into(),
        stop: runner.stop_signal(),
        config,
    });
    let ctx = Arc::new(Ctx {
        store,
        instance,
        http_addr,
    });
    runner.serve(handlers::endpoints(ctx)).await?;
    // HTTP last: a route that answers finds the gateway's own endpoints served.
    let app = http::router(state);
    let mut stop = runner.stop_signal();
    runner.spawn("http", async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    tracing::info!(addr = %http_addr, "gateway listening: http://{http_addr}/");
    Ok(runner)
}

/// On a first run (no file at `path`): creates an admin API key, writes it to
/// `path` (mode 0600) and returns it, to be shown once. Later runs: `None`.
pub async fn bootstrap_admin_key(
    client: &Client,
    path: &Path,
    replicas: usize,
) -> Result<Option<String>, Error> {
    if path.exists() {
        return Ok(None);
    }
    let js = async_nats::jetstream::new(client.clone());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let store = auth::Store::open(&js, replicas, stop).await?;
    let created = store
        .create_key(
            bus::api::gateway::Role::Admin,
            Vec::new(),
            Some("admin key made at the first start".into()),
        )
        .await?;
    write_secret_file(path, &created.key).map_err(|source| Error::KeyFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Some(created.key))
}

fn write_secret_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}
