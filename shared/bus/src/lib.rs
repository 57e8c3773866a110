//! NATS glue shared by every service. Arrows point one way: `model` ← `bus` ← services.
//!
//! - [`subjects`]: every subject, stream and bucket name, built in this one place.
//! - [`api`]: request and response types of every endpoint (the contract in code).
//! - [`headers`]: header names we set and read (correlation id, content type, micro errors).
//! - [`error`]: [`ServiceError`], the error envelope every endpoint answers with.
//! - [`codec`]: JSON by default, protobuf when `Content-Type` asks for it.
//! - [`proto`]: prost messages for the hot endpoints; they convert at the edge.
//! - [`service`]: [`MicroService`], a service on the async-nats micro API with typed
//!   endpoints, schemas in `$SRV.INFO`, error counting and a draining shutdown.
//! - [`internal`]: typed handlers on internal subjects served only by the instance that
//!   owns some work (not micro endpoints, not in the public queue group).
//! - [`client`]: typed request helper with timeouts that turns error replies back into
//!   [`ServiceError`].
//! - [`queries`]: requests services make of each other (e.g. all bars of a range).
//! - [`events`]: publishing durable events (envelope, ids, acks); ORDERS routing.
//! - [`follow`]: state rebuilt by replaying a stream, with read-your-writes waits.
//! - [`jetstream`]: idempotent stream and KV provisioning, the stream definitions.
//! - [`edge`]: edge deployments: the hub's copies of an edge's streams (sources
//!   across JetStream domains), edge names.
//! - [`kv`]: a KV bucket mirrored in memory and watched live (the one watch helper).
//! - [`live_config`]: the `config` bucket (settings per profile) and following it live.
//! - [`models`]: versioned models in the `models` object store (load, store, list).
//! - [`lease`]: expiring leases in KV, so each piece of work runs on exactly one instance.
//! - [`connect`]: server lists and credentials; connecting with retries and reconnect logging.
//! - [`retry`]: the one retry loop (back-off, logged, ends on a stop signal).
//! - [`runner`]: the one way a service runs: provision (retried), serve a declared
//!   endpoint table, run background tasks, drain in a fixed order; live/ready state.
//! - [`permissions`]: the NATS user of each service and what it may publish and
//!   subscribe to (rendered into `nats/auth/users.conf`).
//! - [`telemetry`]: tracing set-up for binaries (logs; OTLP export behind a flag).
//! - [`trace`]: W3C `traceparent` across every hop (extract, child spans, inject).
//! - [`otlp`]: the OTLP/HTTP JSON span exporter (a `tracing_subscriber` layer).
//! - [`metrics`]: every metric name and the handles the service layer records into.
//! - [`observe`]: the process's HTTP port: `/metrics`, `/health/live`, `/health/ready`.

pub mod api;
pub mod client;
pub mod codec;
pub mod connect;
pub mod edge;
pub mod error;
pub mod events;
pub mod follow;
pub mod headers;
pub mod internal;
pub mod jetstream;
pub mod kv;
pub mod lease;
pub mod live_config;
pub mod metrics;
pub mod models;
pub mod observe;
pub mod otlp;
pub mod permissions;
pub mod proto;
pub mod queries;
pub mod retry;
pub mod runner;
pub mod service;
pub mod subjects;
pub mod telemetry;
pub mod trace;

pub use client::{request, RequestError, RequestOptions};
pub use codec::Format;
pub use error::{ErrorKind, ServiceError};
pub use service::{EndpointSpec, MicroService, RequestContext, ServiceSpec};

/// Errors of the infrastructure itself (not of a request): connecting,
/// provisioning, subscribing.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// `retryable`: the server was unreachable (a malformed URL, refused
    /// credentials or a TLS failure are not).
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        url: String,
        message: String,
        retryable: bool,
    },
    #[error("service {service} failed: {message}")]
    Service { service: String, message: String },
    #[error("publish to {subject} failed: {message}")]
    Publish { subject: String, message: String },
    #[error("JetStream: cannot {what}: {message}")]
    JetStream { what: String, message: String },
    /// The observability HTTP port (`crate::observe`): binding or a probe.
    #[error("HTTP {addr}: {message}")]
    Http { addr: String, message: String },
}

impl BusError {
    /// A JetStream operation (`what`) that failed.
    pub fn jetstream(what: &str, e: impl std::fmt::Display) -> Self {
        BusError::JetStream {
            what: what.to_string(),
            message: e.to_string(),
        }
    }
}
