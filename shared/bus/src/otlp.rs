//! A small OTLP/HTTP exporter: a `tracing_subscriber` layer that collects the
//! spans of traces ([`crate::trace`]: spans with a `trace_id` field, and their
//! nested spans) as they close, and a thread that POSTs them in batches as
//! OTLP JSON to `<endpoint>/v1/traces` (Jaeger, Tempo, the OpenTelemetry
//! collector all take it). Off unless an endpoint is configured
//! (`--otlp-endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`).
//!
//! Never in the way: spans go through a bounded queue (full: dropped and
//! counted), the POST runs on its own thread with timeouts; plain `http://`
//! only (put a collector next to the process for TLS).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::trace::{SpanId, TraceId};

/// Spans waiting for the exporter thread at most.
const QUEUE: usize = 8192;
/// Spans per POST at most.
const BATCH: usize = 512;
/// How long a span waits for its batch at most.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Attributes kept per span, and the longest value kept.
const MAX_ATTRIBUTES: usize = 32;
const MAX_VALUE: usize = 1024;

/// Where and as whom spans are sent.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// `http://host:port` (the collector's base URL; `/v1/traces` is added
    /// unless the URL ends with it).
    pub endpoint: String,
    /// `service.name` of spans outside any service (services name themselves
    /// with their spans' `service` field).
    pub service_name: String,
    /// Share of traces exported, 0.0–1.0, decided from the trace id (so every
    /// service keeps or drops the same traces, as OpenTelemetry's
    /// `traceidratio` sampler does). Spans of traces not kept cost no more than
    /// a look at their ids.
    pub sample_ratio: f64,
}

impl OtlpConfig {
    pub fn new(endpoint: impl Into<String>, service_name: impl Into<String>) -> Self {
        OtlpConfig {
            endpoint: endpoint.into(),
            service_name: service_name.into(),
            sample_ratio: 1.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("OTLP endpoint {endpoint}: {message}")]
pub struct OtlpError {
    pub endpoint: String,
    pub message: String,
}

/// The layer; spans are exported by the thread [`OtlpLayer::new`] starts.
pub struct OtlpLayer {
    tx: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
    /// Trace ids whose low 64 bits are at most this are exported.
    threshold: Option<u64>,
}

/// Flushes what is queued and stops the exporter thread when dropped (keep
/// it alive in `main`).
pub struct OtlpGuard {
    tx: SyncSender<Message>,
    thread: Option<std::thread::JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
}

impl OtlpGuard {
    /// Spans dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sends everything queued so far and waits until it is posted.
    pub fn flush(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.tx.send(Message::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(IO_TIMEOUT * 2);
        }
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        let _ = self.tx.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

enum Message {
    Span(Box<FinishedSpan>),
    Flush(SyncSender<()>),
    Stop,
}

struct FinishedSpan {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    name: &'static str,
    service: Option<Arc<str>>,
    start_ns: u64,
    end_ns: u64,
    attributes: Vec<(&'static str, String)>,
}

/// What the layer keeps on a span while it is open (in its extensions).
struct OpenSpan {
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
    parent_span_id: Option<SpanId>,
    service: Option<Arc<str>>,
    start_ns: u64,
    attributes: Vec<(&'static str, String)>,
}

impl OtlpLayer {
    /// The layer and the guard of its exporter thread.
    pub fn new(config: OtlpConfig) -> Result<(OtlpLayer, OtlpGuard), OtlpError> {
        let target = Target::parse(&config.endpoint)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let service_name = config.service_name.clone();
        let thread = std::thread::Builder::new()
            .name("otlp-exporter".into())
            .spawn(move || export_loop(rx, target, service_name))
            .map_err(|e| OtlpError {
                endpoint: config.endpoint.clone(),
                message: e.to_string(),
            })?;
        Ok((
            OtlpLayer {
                tx: tx.clone(),
                dropped: dropped.clone(),
                threshold: threshold(config.sample_ratio),
            },
            OtlpGuard {
                tx,
                thread: Some(thread),
                dropped,
            },
        ))
    }
}

/// `None`: nothing is exported.
fn threshold(ratio: f64) -> Option<u64> {
    if ratio.is_nan() || ratio <= 0.0 {
        None
    } else if ratio >= 1.0 {
        Some(u64::MAX)
    } else {
        Some((ratio * u64::MAX as f64) as u64)
    }
}

fn kept(threshold: Option<u64>, trace_id: TraceId) -> bool {
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id.0[8..]);
    threshold.is_some_and(|t| u64::from_be_bytes(low) <= t)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Visits a span's fields; with `ids_only`, the id fields alone.
struct FieldVisitor<'a>(&'a mut OpenSpan, bool);

impl FieldVisitor<'_> {
    fn put(&mut self, name: &'static str, value: String) {
        let span = &mut *self.0;
        if name == "service" {
            span.service = Some(Arc::from(value.as_str()));
        }
        if let Some(slot) = span.attributes.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value;
        } else if span.attributes.len() < MAX_ATTRIBUTES {
            span.attributes.push((name, value));
        }
    }

    /// The id fields, read without allocating (they are formatted onto the stack).
    fn id(&mut self, field: &Field, value: &dyn std::fmt::Debug) -> bool {
        let name = field.name();
        let known = match name {
            "trace_id" => self.0.trace_id.is_some(),
            "span_id" => self.0.span_id.is_some(),
            "parent_span_id" => self.0.parent_span_id.is_some(),
            _ => return false,
        };
        if known {
            return true;
        }
        let mut buf = StackStr::<32>::default();
        let text = match std::fmt::write(&mut buf, format_args!("{value:?}")) {
            Ok(()) => buf.as_str(),
            Err(_) => "",
        };
        let span = &mut *self.0;
        match name {
            "trace_id" => span.trace_id = TraceId::parse(text),
            "span_id" => span.span_id = SpanId::parse(text),
            _ => span.parent_span_id = SpanId::parse(text),
        }
        true
    }
}

/// A fixed buffer to format short values into (fails when they do not fit).
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for StackStr<N> {
    fn default() -> Self {
        StackStr {
            buf: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> StackStr<N> {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> std::fmt::Write for StackStr<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_VALUE {
        let mut end = MAX_VALUE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.id(field, &format_args!("{value}")) && !self.1 {
            self.put(field.name(), clip(value.to_string()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.id(field, value) && !self.1 {
            self.put(field.name(), clip(format!("{value:?}")));
        }
    }
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut open = OpenSpan {
            trace_id: None,
            span_id: None,
            parent_span_id: None,
            service: None,
            start_ns: now_ns(),
            attributes: Vec::new(),
        };
        // Ids first: a trace not sampled stops here, before any allocation.
        // A span of `trace_span!` hands them over; others are parsed.
        match crate::trace::take_creating() {
            Some((trace_id, span_id, parent)) => {
                open.trace_id = Some(trace_id);
                open.span_id = Some(span_id);
                open.parent_span_id = parent;
            }
            None => attrs.record(&mut FieldVisitor(&mut open, true)),
        }
        if let Some(trace_id) = open.trace_id {
            if !kept(self.threshold, trace_id) {
                return;
            }
        }
        attrs.record(&mut FieldVisitor(&mut open, false));
        if open.trace_id.is_none() || open.span_id.is_none() {
            // A span nested in a traced one: same trace, a span of its own.
            let parent = span.parent();
            let ext = parent.as_ref().map(|p| p.extensions());
            let Some(parent) = ext.as_ref().and_then(|e| e.get::<OpenSpan>()) else {
                return;
            };
            let (Some(trace_id), Some(parent_id)) = (parent.trace_id, parent.span_id) else {
                return;
            };
            open.trace_id = Some(trace_id);
            open.span_id = Some(crate::trace::new_span_id());
            open.parent_span_id = Some(parent_id);
            if open.service.is_none() {
                open.service = parent.service.clone();
            }
        }
        span.extensions_mut().insert(open);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(open) = ext.get_mut::<OpenSpan>() {
            values.record(&mut FieldVisitor(open, false));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<OpenSpan>() else {
            return;
        };
        let (Some(trace_id), Some(span_id)) = (open.trace_id, open.span_id) else {
            return;
        };
        let finished = FinishedSpan {
            trace_id,
            span_id,
            parent_span_id: open.parent_span_id,
            name: span.name(),
            service: open.service,
            start_ns: open.start_ns,
            end_ns: now_ns(),
            attributes: open.attributes,
        };
        match self.tx.try_send(Message::Span(Box::new(finished))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `host:port` and path of a plain-HTTP endpoint.
struct Target {
    url: String,
    authority: String,
    path: String,
}

impl Target {
    fn parse(endpoint: &str) -> Result<Target, OtlpError> {
        let fail = |message: &str| OtlpError {
            endpoint: endpoint.to_string(),
            message: message.to_string(),
        };
        let rest = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| fail("only http:// endpoints are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(fail("no host"));
        }
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let path = if path.ends_with("/v1/traces") {
            path.to_string()
        } else {
            format!("{path}/v1/traces")
        };
        Ok(Target {
            url: endpoint.to_string(),
            authority,
            path,
        })
    }

    fn post(&self, body: &[u8]) -> Result<(), String> {
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("no address")?;
        let mut stream =
            TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|_| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| e.to_string())?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.authority,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body))
            .map_err(|e| e.to_string())?;
        let mut status = [0u8; 12];
        stream.read_exact(&mut status).map_err(|e| e.to_string())?;
        // "HTTP/1.1 200"
        match std::str::from_utf8(&status[9..12]).ok() {
            Some(code) if code.starts_with('2') => Ok(()),
            Some(code) => Err(format!("HTTP {code}")),
            None => Err("not an HTTP reply".into()),
        }
    }
}

fn export_loop(rx: Receiver<Message>, target: Target, service_name: String) {
    let mut batch: Vec<FinishedSpan> = Vec::new();
    let mut failing = false;
    loop {
        let (stop, flushed) = match rx.recv_timeout(FLUSH_EVERY) {
            Ok(Message::Span(span)) => {
                batch.push(*span);
                if batch.len() < BATCH {
                    continue;
                }
                (false, None)
            }
            Ok(Message::Flush(done)) => (false, Some(done)),
            Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => (true, None),
            Err(RecvTimeoutError::Timeout) => (false, None),
        };
        // Whatever else is queued goes in this batch too.
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(Message::Span(span)) => batch.push(*span),
                _ => break,
            }
        }
        if !batch.is_empty() {
            let body = encode(&batch, &service_name);
            match target.post(&body) {
                Ok(()) => failing = false,
                Err(e) => {
                    // Once per outage, not per batch.
                    if !failing {
                        eprintln!(
                            "otlp: cannot export {} spans to {}: {e}",
                            batch.len(),
                            target.url
                        );
                    }
                    failing = true;
                }
            }
            batch.clear();
        }
        if let Some(done) = flushed {
            let _ = done.send(());
        }
        if stop {
            return;
        }
    }
}

/// OTLP JSON (`ExportTraceServiceRequest`): one resource per service.
/// Written straight into bytes (no `serde_json::Value` per span): the
/// exporter shares the machine with the services it watches.
fn encode(spans: &[FinishedSpan], default_service: &str) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut by_service: BTreeMap<&str, Vec<&FinishedSpan>> = BTreeMap::new();
    for s in spans {
        by_service
            .entry(s.service.as_deref().unwrap_or(default_service))
            .or_default()
            .push(s);
    }
    let mut out = String::with_capacity(256 + spans.len() * 400);
    let string = |out: &mut String, s: &str| {
        // serde_json escapes exactly as JSON wants.
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    };
    out.push_str(r#"{"resourceSpans":["#);
    for (i, (service, spans)) in by_service.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"#);
        string(&mut out, service);
        out.push_str(r#"}}]},"scopeSpans":[{"scope":{"name":"trader"},"spans":["#);
        for (j, s) in spans.into_iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"traceId":"{}","spanId":"{}","#,
                s.trace_id, s.span_id
            );
            if let Some(parent) = s.parent_span_id {
                let _ = write!(out, r#""parentSpanId":"{parent}","#);
            }
            out.push_str(r#""name":"#);
            string(&mut out, s.name);
            let _ = write!(
                out,
                r#","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":["#,
                if s.name == "request" { 2 } else { 1 },
                s.start_ns,
                s.end_ns.max(s.start_ns)
            );
            for (k, (key, value)) in s.attributes.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"key":"#);
                string(&mut out, key);
                out.push_str(r#","value":{"stringValue":"#);
                string(&mut out, value);
                out.push_str("}}");
            }
            out.push_str("]}");
        }
        out.push_str("]}]}");
    }
    out.push_str("]}");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_traces_path_once() {
        let t = Target::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:4318", "/v1/traces")
        );
        let t = Target::parse("http://collector/otlp/").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("collector:80", "/otlp/v1/traces")
        );
        let t = Target::parse("http://c:4318/v1/traces").unwrap();
        assert_eq!(t.path, "/v1/traces");
        assert!(Target::parse("https://c:4318").is_err());
        assert!(Target::parse("http://").is_err());
    }

    #[test]
    fn sampling_keeps_a_share_of_trace_ids_decided_by_the_id() {
        let id = |low: u64| {
            let mut b = [7u8; 16];
            b[8..].copy_from_slice(&low.to_be_bytes());
            TraceId(b)
        };
        assert!(kept(threshold(1.0), id(u64::MAX)));
        assert!(!kept(threshold(0.0), id(0)));
        let half = threshold(0.5);
        assert!(kept(half, id(u64::MAX / 4)));
        assert!(!kept(half, id(u64::MAX / 4 * 3)));
        let share = (0..10_000u64)
            .filter(|i| kept(threshold(0.1), id(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))))
            .count();
        assert!((800..1200).contains(&share), "{share}");
    }

    #[test]
    fn the_encoding_is_json_and_escapes_values() {
        let span = FinishedSpan {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            name: "request",
            service: None,
            start_ns: 5,
            end_ns: 3,
            attributes: vec![("reason", "say \"no\"\n\\".to_string())],
        };
        let json: serde_json::Value = serde_json::from_slice(&encode(&[span], "p")).unwrap();
        let s = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "01010101010101010101010101010101");
        assert_eq!(s["spanId"], "0202020202020202");
        assert!(s.get("parentSpanId").is_none());
        assert_eq!(s["endTimeUnixNano"], "5", "never before the start");
        assert_eq!(s["attributes"][0]["value"]["stringValue"], "say \"no\"\n\\");
        assert_eq!(
            json["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "p"
        );
    }
}
