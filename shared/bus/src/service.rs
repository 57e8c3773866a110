//! A micro service on the async-nats `service` API (ADR-32), so `$SRV.PING`,
//! `$SRV.INFO` and `$SRV.STATS` discovery work and a second copy of a service
//! joins the same queue group with no configuration.
//!
//! What this adds to the plain API:
//! - typed endpoints: the request is decoded (JSON, or protobuf by `Content-Type`)
//!   before the handler runs and the response encoded after; a bad request gets
//!   the error envelope and the endpoint keeps serving;
//! - request and response JSON schemas in each endpoint's metadata, so
//!   `$SRV.INFO` describes the contract (`request_schema`, `response_schema`);
//! - the correlation id header is read (or made up) and put on the handler's
//!   tracing span and the reply; the handler runs in a span of the request's
//!   trace (`traceparent`, [`crate::trace`]) or of a new one;
//! - requests run concurrently (bounded), a panicking handler answers 500;
//! - error replies carry a JSON body; since async-nats then does not count them,
//!   each endpoint's `$SRV.STATS` `data` has `errors` and `last_error`;
//! - every request counted and timed, errors counted by code
//!   ([`crate::metrics`]: `trader_requests_total`, `…_errors_total`, `…_duration_seconds`);
//! - [`MicroService::shutdown`] drains: stop taking requests, answer the ones
//!   already received, wait for handlers in flight, then stop the service.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use async_nats::service::{Request, ServiceExt};
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::codec::{self, Format, ProtoConvert};
use crate::error::ServiceError;
use crate::metrics::EndpointMetrics;
use crate::{headers, subjects, BusError};

/// Who the service is.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    /// Requests handled at once by one instance (all endpoints together).
    pub max_in_flight: usize,
}

impl ServiceSpec {
    pub fn new(name: &'static str, version: &'static str, description: &'static str) -> Self {
        ServiceSpec {
            name,
            version,
            description,
            max_in_flight: 1024,
        }
    }
}

/// One endpoint: its name in `$SRV.INFO` and the subject it serves.
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    pub name: String,
    pub subject: &'static str,
    pub description: &'static str,
}

impl EndpointSpec {
    /// The endpoint serving `subject`, named after it ([`endpoint_name`]): one
    /// naming style for every endpoint in `$SRV.INFO`.
    pub fn for_subject(subject: &'static str, description: &'static str) -> Self {
        EndpointSpec {
            name: endpoint_name(subject),
            subject,
            description,
        }
    }
}

/// An endpoint's name in `$SRV.INFO`: its subject with dots as underscores
/// (`risk.limits.get` → `risk_limits_get`; micro names allow `[A-Za-z0-9_-]`).
pub fn endpoint_name(subject: &str) -> String {
    subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a handler knows about the request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub correlation_id: String,
    pub subject: String,
    /// The endpoint's subject (as declared; `subject` is the one it came on).
    pub endpoint: &'static str,
}

#[derive(Default)]
struct ErrorCounter {
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

type Counters = Arc<Mutex<HashMap<String, Arc<ErrorCounter>>>>;

type DecodeFn<Req> = fn(Format, &[u8]) -> Result<Req, ServiceError>;
type EncodeFn<Resp> = fn(Format, &Resp) -> Result<Bytes, ServiceError>;

/// How an endpoint turns bytes into its request and its response into bytes.
struct Codec<Req, Resp> {
    decode: DecodeFn<Req>,
    encode: EncodeFn<Resp>,
}

impl<Req, Resp> Clone for Codec<Req, Resp> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<Req, Resp> Copy for Codec<Req, Resp> {}

fn json_only_decode<Req: DeserializeOwned>(
    format: Format,
    payload: &[u8],
) -> Result<Req, ServiceError> {
    match format {
        Format::Json => codec::decode_json(payload),
        Format::Protobuf => Err(ServiceError::bad_request(
            "this endpoint speaks JSON only (Content-Type: application/json)",
        )),
    }
}

fn json_only_encode<Resp: Serialize>(_: Format, resp: &Resp) -> Result<Bytes, ServiceError> {
    codec::encode_json(resp)
}

fn dual_decode<Req: DeserializeOwned + ProtoConvert>(
    format: Format,
    payload: &[u8],
) -> Result<Req, ServiceError> {
    match format {
        Format::Json => codec::decode_json(payload),
        Format::Protobuf => codec::decode_proto(payload),
    }
}

fn dual_encode<Resp: Serialize + ProtoConvert>(
    format: Format,
    resp: &Resp,
) -> Result<Bytes, ServiceError> {
    match format {
        Format::Json => codec::encode_json(resp),
        Format::Protobuf => Ok(codec::encode_proto(resp)),
    }
}

/// A running micro service instance.
pub struct MicroService {
    spec: ServiceSpec,
    service: async_nats::service::Service,
    counters: Counters,
    in_flight: Arc<Semaphore>,
    stop_tx: watch::Sender<bool>,
    endpoint_tasks: Vec<JoinHandle<()>>,
}

impl MicroService {
    /// Registers the service (PING/INFO/STATS answer from now on).
    pub async fn start(client: &Client, spec: ServiceSpec) -> Result<Self, BusError> {
        let counters: Counters = Arc::default();
        let stats_counters = counters.clone();
        let service = client
            .service_builder()
            .description(spec.description)
            .queue_group(subjects::QUEUE_GROUP)
            .stats_handler(move |endpoint, _stats| {
                let counter = stats_counters.lock().get(&endpoint).cloned();
                match counter {
                    Some(c) => serde_json::json!({
                        "errors": c.errors.load(Ordering::Relaxed),
                        "last_error": c.last_error.lock().clone(),
                    }),
                    None => serde_json::json!({"errors": 0, "last_error": null}),
                }
            })
            .start(spec.name, spec.version)
            .await
            .map_err(|e| BusError::Service {
                service: spec.name.to_string(),
                message: e.to_string(),
            })?;
        let (stop_tx, _) = watch::channel(false);
        Ok(MicroService {
            in_flight: Arc::new(Semaphore::new(spec.max_in_flight)),
            spec,
            service,
            counters,
            stop_tx,
            endpoint_tasks: Vec::new(),
        })
    }

    /// This instance's id (as in `$SRV.PING`).
    pub async fn id(&self) -> String {
        self.service.info().await.id
    }

    /// Adds a JSON endpoint.
    pub async fn add_endpoint<Req, Resp, H, Fut>(
        &mut self,
        spec: EndpointSpec,
        handler: H,
    ) -> Result<(), BusError>
    where
        Req: DeserializeOwned + JsonSchema + Send + 'static,
        Resp: Serialize + JsonSchema + Send + 'static,
        H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let codec = Codec {
            decode: json_only_decode::<Req>,
            encode: json_only_encode::<Resp>,
        };
        self.add::<Req, Resp, H, Fut>(spec, "json", codec, handler)
            .await
    }

    /// Adds an endpoint that also speaks protobuf (`Content-Type: application/protobuf`).
    pub async fn add_endpoint_with_protobuf<Req, Resp, H, Fut>(
        &mut self,
        spec: EndpointSpec,
        handler: H,
    ) -> Result<(), BusError>
    where
        Req: DeserializeOwned + JsonSchema + ProtoConvert + Send + 'static,
        Resp: Serialize + JsonSchema + ProtoConvert + Send + 'static,
        H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let codec = Codec {
            decode: dual_decode::<Req>,
            encode: dual_encode::<Resp>,
        };
        self.add::<Req, Resp, H, Fut>(spec, "json,protobuf", codec, handler)
            .await
    }

    async fn add<Req, Resp, H, Fut>(
        &mut self,
        spec: EndpointSpec,
        formats: &str,
        codec: Codec<Req, Resp>,
        handler: H,
    ) -> Result<(), BusError>
    where
        Req: JsonSchema + Send + 'static,
        Resp: JsonSchema + Send + 'static,
        H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
    {
        let metadata = HashMap::from([
            ("description".to_string(), spec.description.to_string()),
            ("formats".to_string(), formats.to_string()),
            (
                "request_schema".to_string(),
                serde_json::to_string(&schemars::schema_for!(Req)).unwrap_or_default(),
            ),
            (
                "response_schema".to_string(),
                serde_json::to_string(&schemars::schema_for!(Resp)).unwrap_or_default(),
            ),
        ]);
        let endpoint = self
            .service
            .endpoint_builder()
            .name(spec.name.clone())
            .metadata(metadata)
            .add(spec.subject)
            .await
            .map_err(|e| BusError::Service {
                service: self.spec.name.to_string(),
                message: format!("endpoint {}: {e}", spec.name),
            })?;
        let counter = Arc::new(ErrorCounter::default());
        self.counters
            .lock()
            .insert(spec.name.to_string(), counter.clone());
        let shared = Arc::new(EndpointShared {
            service: self.spec.name,
            metrics: EndpointMetrics::register(self.spec.name, spec.subject),
            spec,
            codec,
            handler,
            counter,
        });
        let task = tokio::spawn(endpoint_loop(
            endpoint,
            shared,
            self.in_flight.clone(),
            self.stop_tx.subscribe(),
        ));
        self.endpoint_tasks.push(task);
        Ok(())
    }

    /// Drains: stops taking requests, answers those already received, waits for
    /// handlers in flight, then removes the service from discovery.
    pub async fn shutdown(self) {
        let _ = self.stop_tx.send(true);
        for task in self.endpoint_tasks {
            let _ = task.await;
        }
        let all = u32::try_from(self.spec.max_in_flight).unwrap_or(u32::MAX);
        let _ = self.in_flight.acquire_many(all).await;
        let _ = self.service.stop().await;
        tracing::info!(service = self.spec.name, "service stopped");
    }
}

struct EndpointShared<Req, Resp, H> {
    service: &'static str,
    spec: EndpointSpec,
    codec: Codec<Req, Resp>,
    handler: H,
    counter: Arc<ErrorCounter>,
    metrics: EndpointMetrics,
}

async fn endpoint_loop<Req, Resp, H, Fut>(
    mut endpoint: async_nats::service::endpoint::Endpoint,
    shared: Arc<EndpointShared<Req, Resp, H>>,
    in_flight: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) where
    Req: Send + 'static,
    Resp: Send + 'static,
    H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
{
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            next = endpoint.next() => next,
        };
        match next {
            Some(request) => spawn_request(request, &shared, &in_flight).await,
            None => return,
        }
    }
    // Drain: unsubscribe, then answer what the client had already buffered.
    let _ = endpoint.stop().await;
    while let Ok(Some(request)) =
        tokio::time::timeout(Duration::from_millis(100), endpoint.next()).await
    {
        spawn_request(request, &shared, &in_flight).await;
    }
}

async fn spawn_request<Req, Resp, H, Fut>(
    request: Request,
    shared: &Arc<EndpointShared<Req, Resp, H>>,
    in_flight: &Arc<Semaphore>,
) where
    Req: Send + 'static,
    Resp: Send + 'static,
    H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
{
    let Ok(permit) = in_flight.clone().acquire_owned().await else {
        return;
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        handle_request(request, &shared).await;
        drop(permit);
    });
}

fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers.and_then(|h| h.get(name)).map(|v| v.as_str())
}

async fn handle_request<Req, Resp, H, Fut>(request: Request, shared: &EndpointShared<Req, Resp, H>)
where
    H: Fn(RequestContext, Req) -> Fut,
    Fut: Future<Output = Result<Resp, ServiceError>>,
{
    let started = Instant::now();
    let req_headers = request.message.headers.as_ref();
    let correlation_id = header(req_headers, headers::CORRELATION_ID)
        .map(str::to_string)
        .unwrap_or_else(model::ids::new_correlation_id);
    let trace = crate::trace::continue_from(req_headers);
    let span = crate::trace_span!(
        "request",
        trace,
        service = shared.service,
        endpoint = %shared.spec.name,
        correlation_id = %correlation_id,
    );
    let work = async {
        let ctx = RequestContext {
            correlation_id: correlation_id.clone(),
            subject: request.message.subject.to_string(),
            endpoint: shared.spec.subject,
        };
        let outcome = run_handler(&request, shared, ctx).await;
        let error_code = outcome.as_ref().err().map(|e| e.code);
        let mut reply_headers = HeaderMap::new();
        let wants_headers = req_headers.is_some() || outcome.is_err();
        if wants_headers {
            reply_headers.insert(headers::CORRELATION_ID, correlation_id.as_str());
        }
        let payload = match outcome {
            Ok((payload, format)) => {
                if format != Format::Json || wants_headers {
                    reply_headers.insert(headers::CONTENT_TYPE, format.content_type());
                }
                payload
            }
            Err(err) => {
                shared.counter.errors.fetch_add(1, Ordering::Relaxed);
                *shared.counter.last_error.lock() = Some(err.message.clone());
                tracing::warn!(code = err.code, error = %err.message, "request failed");
                err.add_reply_headers(&mut reply_headers);
                err.body()
            }
        };
        let sent = if reply_headers.is_empty() {
            request.respond(Ok(payload)).await
        } else {
            request
                .respond_with_headers(Ok(payload), reply_headers)
                .await
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "could not send the reply");
        }
        let elapsed = started.elapsed();
        shared.metrics.record(elapsed, error_code);
        tracing::debug!(elapsed_us = elapsed.as_micros() as u64, "request done");
    };
    crate::trace::in_span(trace, span, work).await
}

async fn run_handler<Req, Resp, H, Fut>(
    request: &Request,
    shared: &EndpointShared<Req, Resp, H>,
    ctx: RequestContext,
) -> Result<(Bytes, Format), ServiceError>
where
    H: Fn(RequestContext, Req) -> Fut,
    Fut: Future<Output = Result<Resp, ServiceError>>,
{
    let req_headers = request.message.headers.as_ref();
    let in_format = Format::from_header(header(req_headers, headers::CONTENT_TYPE))?;
    let out_format = match header(req_headers, headers::ACCEPT) {
        Some(accept) => Format::from_header(Some(accept))?,
        None => in_format,
    };
    let req = (shared.codec.decode)(in_format, &request.message.payload)?;
    let resp = catch_panic((shared.handler)(ctx, req)).await?;
    Ok(((shared.codec.encode)(out_format, &resp)?, out_format))
}

/// Runs a handler; a panic becomes a 500 (logged with its message) instead
/// of taking the endpoint down.
pub(crate) async fn catch_panic<Resp>(
    handler: impl Future<Output = Result<Resp, ServiceError>>,
) -> Result<Resp, ServiceError> {
    AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!(panic = %what, "handler panicked");
            ServiceError::internal("internal error while handling the request")
        })?
}
