//! Trace context over real NATS: an endpoint continues the caller's trace
//! (same trace id, a child span), starts one when the request has none, and
//! passes it on to the requests and events it makes; the OTLP exporter posts
//! the spans as OTLP JSON to a collector (a local HTTP receiver here).

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::HeaderMap;
use bus::client::{request, request_with_headers, RequestOptions};
use bus::headers::{TRACEPARENT, TRACESTATE};
use bus::trace::{self, TraceContext};
use bus::{EndpointSpec, MicroService, ServiceSpec};
use serde::{Deserialize, Serialize};
use testkit::NatsServer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// What a span recorder saw: span name, `trace_id`, `span_id`, `parent_span_id`.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut Seen);
impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "trace_id" => self.0.trace_id = v,
            "span_id" => self.0.span_id = v,
            "parent_span_id" => self.0.parent_span_id = v,
            _ => {}
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_string(),
            ..Default::default()
        };
        attrs.record(&mut Fields(&mut seen));
        // parent_span_id is recorded right after creation.
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(seen);
        }
    }
    fn on_record(&self, id: &Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(seen) = span.extensions_mut().get_mut::<Seen>() {
                values.record(&mut Fields(seen));
            }
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(seen) = span.extensions_mut().remove::<Seen>() {
                self.0.lock().unwrap().push(seen);
            }
        }
    }
}

/// The process-wide recorder (one global subscriber per test binary).
fn recorder() -> Recorder {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let recorder = Recorder::default();
            tracing_subscriber::registry()
                .with(recorder.clone())
                .try_init()
                .ok();
            recorder
        })
        .clone()
}

impl Recorder {
    fn spans_of(&self, trace_id: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Hop {
    /// Ask `test.inner` too, from inside the handler.
    #[serde(default)]
    forward: bool,
}

/// What the handler saw as its current context.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Seen2 {
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    tracestate: Option<String>,
    inner: Option<Box<Seen2>>,
}

fn seen_now() -> Seen2 {
    let t = trace::current().expect("handlers run in a traced span");
    Seen2 {
        trace_id: t.trace_id.to_string(),
        span_id: t.span_id.to_string(),
        parent_span_id: t.parent_span_id.map(|p| p.to_string()),
        tracestate: t.tracestate.as_deref().map(str::to_string),
        inner: None,
    }
}

async fn traced_service(client: &async_nats::Client) -> MicroService {
    let mut svc = MicroService::start(client, ServiceSpec::new("traced", "0.1.0", "test"))
        .await
        .unwrap();
    let c = client.clone();
    svc.add_endpoint(
        EndpointSpec::for_subject("test.outer", "outer"),
        move |_rc, req: Hop| {
            let c = c.clone();
            async move {
                let mut seen = seen_now();
                if req.forward {
                    let inner: Seen2 = request(
                        &c,
                        "test.inner",
                        &Hop { forward: false },
                        RequestOptions::default(),
                    )
                    .await
                    .map_err(|e| bus::ServiceError::internal(e.to_string()))?;
                    seen.inner = Some(Box::new(inner));
                    // An event published here carries the handler's context.
                    bus::events::publish(
                        &async_nats::jetstream::new(c.clone()),
                        "test.events.one".to_string(),
                        "one",
                        "TEST",
                        "corr",
                        "test",
                        &serde_json::json!({}),
                        None,
                    )
                    .await
                    .map_err(|e| bus::ServiceError::internal(e.to_string()))?;
                }
                Ok(seen)
            }
        },
    )
    .await
    .unwrap();
    svc.add_endpoint(
        EndpointSpec::for_subject("test.inner", "inner"),
        |_rc, _req: Hop| async move { Ok(seen_now()) },
    )
    .await
    .unwrap();
    svc
}

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn a_request_continues_the_callers_trace_and_passes_it_on() {
    let recorder = recorder();
    let server = NatsServer::start().await;
    let client = server.client().await;
    let js = async_nats::jetstream::new(client.clone());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "TESTEVENTS".into(),
        subjects: vec!["test.events.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let _svc = traced_service(&client).await;

    let mut hdrs = HeaderMap::new();
    hdrs.insert(TRACEPARENT, PARENT);
    hdrs.insert(TRACESTATE, "congo=t61rcWkgMzE");
    let reply = request_with_headers(
        &client,
        "test.outer",
        hdrs,
        br#"{"forward": true}"#.to_vec().into(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let seen: Seen2 = serde_json::from_slice(&reply.payload).unwrap();
    // Same trace, a span of its own whose parent is the caller's.
    assert_eq!(seen.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(seen.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_ne!(seen.span_id, "00f067aa0ba902b7");
    assert_eq!(seen.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
    // The request it made: same trace, child of the handler's span.
    let inner = seen.inner.as_ref().unwrap();
    assert_eq!(inner.trace_id, seen.trace_id);
    assert_eq!(inner.parent_span_id.as_deref(), Some(seen.span_id.as_str()));
    assert_eq!(inner.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));

    // The event it published carries its span as the parent.
    let stored = js
        .get_stream("TESTEVENTS")
        .await
        .unwrap()
        .get_last_raw_message_by_subject("test.events.one")
        .await
        .unwrap();
    let event_parent = stored
        .headers
        .get(TRACEPARENT)
        .unwrap()
        .as_str()
        .to_string();
    let parsed = TraceContext::parse(&event_parent, None).unwrap();
    assert_eq!(parsed.trace_id.to_string(), seen.trace_id);
    assert_eq!(parsed.span_id.to_string(), seen.span_id);

    // The span recorder saw both request spans in the trace, linked.
    let spans = testkit::wait_until(
        "both request spans closed",
        Duration::from_secs(10),
        || async {
            let s = recorder.spans_of(&seen.trace_id);
            (s.len() >= 2).then_some(s)
        },
    )
    .await;
    let outer = spans.iter().find(|s| s.span_id == seen.span_id).unwrap();
    assert_eq!(outer.name, "request");
    assert_eq!(outer.parent_span_id, "00f067aa0ba902b7");
    let inner_span = spans.iter().find(|s| s.span_id == inner.span_id).unwrap();
    assert_eq!(inner_span.parent_span_id, seen.span_id);
}

#[tokio::test]
async fn a_request_without_or_with_a_bad_traceparent_starts_a_trace() {
    let _ = recorder();
    let server = NatsServer::start().await;
    let client = server.client().await;
    let _svc = traced_service(&client).await;
    let mut ids = Vec::new();
    for bad in [
        None,
        Some("garbage"),
        Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
    ] {
        let mut hdrs = HeaderMap::new();
        if let Some(bad) = bad {
            hdrs.insert(TRACEPARENT, bad);
        }
        let reply = request_with_headers(
            &client,
            "test.outer",
            hdrs,
            b"{}".to_vec().into(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert!(reply
            .headers
            .as_ref()
            .and_then(|h| h.get(bus::headers::SERVICE_ERROR))
            .is_none());
        let seen: Seen2 = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(
            seen.parent_span_id, None,
            "{bad:?}: a new trace starts here"
        );
        assert_eq!(seen.trace_id.len(), 32);
        ids.push(seen.trace_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each a new trace id");
}

/// One HTTP request read by a local receiver: (request line, body).
fn receive_one(listener: &std::net::TcpListener) -> (String, Vec<u8>) {
    let (stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        .unwrap();
    (line, body)
}

#[test]
fn the_otlp_exporter_posts_the_spans_of_a_trace_as_otlp_json() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let receiver = std::thread::spawn(move || receive_one(&listener));

    let (layer, guard) =
        bus::otlp::OtlpLayer::new(bus::otlp::OtlpConfig::new(endpoint, "test-process")).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    let ctx = TraceContext::parse(PARENT, None).unwrap().child();
    tracing::subscriber::with_default(subscriber, || {
        let span = bus::trace_span!("request", ctx, service = "risk", endpoint = "risk_check");
        span.in_scope(|| {
            // A nested span without trace fields joins the trace.
            let _inner = tracing::info_span!("decide", account = "acc").entered();
        });
        // A span outside any trace is not exported.
        let _untraced = tracing::info_span!("untraced").entered();
    });
    guard.flush();
    let (line, body) = receiver.join().unwrap();
    assert!(line.starts_with("POST /v1/traces HTTP/1.1"), "{line}");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
    let resource = &json["resourceSpans"][0];
    assert_eq!(
        resource["resource"]["attributes"][0],
        serde_json::json!({"key": "service.name", "value": {"stringValue": "risk"}})
    );
    let spans = resource["scopeSpans"][0]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "{json}");
    let request = spans.iter().find(|s| s["name"] == "request").unwrap();
    let decide = spans.iter().find(|s| s["name"] == "decide").unwrap();
    assert_eq!(request["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(request["spanId"], ctx.span_id.to_string());
    assert_eq!(request["parentSpanId"], "00f067aa0ba902b7");
    assert_eq!(request["kind"], 2);
    assert_eq!(decide["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(decide["parentSpanId"], ctx.span_id.to_string());
    assert_eq!(decide["spanId"].as_str().unwrap().len(), 16);
    let start: u64 = request["startTimeUnixNano"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let end: u64 = request["endTimeUnixNano"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(start > 1_600_000_000_000_000_000 && end >= start);
    assert!(request["attributes"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"key": "endpoint", "value": {"stringValue": "risk_check"}})));
    assert_eq!(guard.dropped(), 0);
}
