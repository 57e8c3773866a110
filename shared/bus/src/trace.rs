//! W3C trace context (`traceparent`, `tracestate`) across NATS hops, so one
//! bar → signal → risk check → order → fill → position update is one trace.
//!
//! - [`extract`] reads a message's headers; [`TraceContext::child`] makes the
//!   span of this hop; [`span!`](crate::trace_span) opens a `tracing` span
//!   carrying `trace_id`, `span_id` and `parent_span_id` as fields (so every
//!   log line inside shows them); [`in_span`] runs a future in that span with
//!   the context as the task's current one.
//! - [`inject`] writes the current context into outgoing headers (requests,
//!   events): the next hop continues the trace.
//!
//! The current context lives in a task-local, not in the subscriber, so it
//! travels even when logging is filtered out. Ids are random, made without
//! allocation; nothing is formatted unless a span is enabled or a header sent.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use async_nats::HeaderMap;
use tracing::Instrument;

use crate::headers::{TRACEPARENT, TRACESTATE};

/// Longest `tracestate` passed on (the W3C limit is 512 bytes).
const MAX_TRACESTATE: usize = 512;

/// 16 bytes, never all zero; shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// 8 bytes, never all zero; shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

/// Lowercase hex in one write (ids are formatted for every traced span).
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in bytes.iter().take(16).enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
    }
    let len = 2 * bytes.len().min(16);
    f.write_str(std::str::from_utf8(&out[..len]).unwrap_or(""))
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(s[2 * i])? << 4 | digit(s[2 * i + 1])?;
    }
    Some(out)
}

impl TraceId {
    pub fn parse(s: &str) -> Option<TraceId> {
        parse_hex::<16>(s)
            .filter(|b| b.iter().any(|&x| x != 0))
            .map(TraceId)
    }
}

impl SpanId {
    pub fn parse(s: &str) -> Option<SpanId> {
        parse_hex::<8>(s)
            .filter(|b| b.iter().any(|&x| x != 0))
            .map(SpanId)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// One span's place in a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The span this one continues (`None`: the trace starts here).
    pub parent_span_id: Option<SpanId>,
    /// `traceparent` flags (bit 0: sampled).
    pub flags: u8,
    /// Vendor `tracestate`, passed on untouched.
    pub tracestate: Option<Arc<str>>,
}

impl TraceContext {
    /// A new trace (sampled), starting here.
    pub fn root() -> TraceContext {
        let (a, b) = (random_u64(), random_u64());
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&a.to_be_bytes());
        id[8..].copy_from_slice(&b.to_be_bytes());
        TraceContext {
            trace_id: TraceId(id),
            span_id: new_span_id(),
            parent_span_id: None,
            flags: 1,
            tracestate: None,
        }
    }

    /// The next span of the same trace, with this one as its parent.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            trace_id: self.trace_id,
            span_id: new_span_id(),
            parent_span_id: Some(self.span_id),
            flags: self.flags,
            tracestate: self.tracestate.clone(),
        }
    }

    /// `00-<trace id>-<span id>-<flags>`.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }

    /// Reads a `traceparent` (version 00, or a later one read as 00) and an
    /// optional `tracestate`. The result is the remote span: call
    /// [`TraceContext::child`] for the span of this hop.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<TraceContext> {
        let s = traceparent.trim();
        let mut parts = s.splitn(5, '-');
        let version = parse_hex::<1>(parts.next()?)?[0];
        let trace_id = TraceId::parse(parts.next()?)?;
        let span_id = SpanId::parse(parts.next()?)?;
        let flags = parse_hex::<1>(parts.next()?)?[0];
        // 0xff is forbidden; version 00 has exactly four parts.
        if version == 0xff || (version == 0 && parts.next().is_some()) {
            return None;
        }
        let tracestate = tracestate
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= MAX_TRACESTATE)
            .map(Arc::from);
        Some(TraceContext {
            trace_id,
            span_id,
            parent_span_id: None,
            flags,
            tracestate,
        })
    }
}

pub(crate) fn new_span_id() -> SpanId {
    SpanId(random_u64().to_be_bytes())
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(std::process::id() as u64);
        h.finish()
    });
}

/// splitmix64 on a per-thread random seed: unique enough for ids, never zero.
fn random_u64() -> u64 {
    RNG.with(|state| loop {
        let s = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if z != 0 {
            return z;
        }
    })
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// The context of the span this task runs in ([`in_span`]), if any.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(TraceContext::clone).ok()
}

/// The trace id of the current context, if any.
pub fn current_trace_id() -> Option<TraceId> {
    CURRENT.try_with(|c| c.trace_id).ok()
}

/// The remote context a message carries in its headers (`None`: no or a
/// malformed `traceparent`; the hop then starts a trace).
pub fn extract(headers: Option<&HeaderMap>) -> Option<TraceContext> {
    let headers = headers?;
    let traceparent = headers.get(TRACEPARENT)?.as_str();
    let tracestate = headers.get(TRACESTATE).map(|v| v.as_str());
    TraceContext::parse(traceparent, tracestate)
}

/// The context of the hop handling a message: a child of the one in its
/// headers, or a new trace.
pub fn continue_from(headers: Option<&HeaderMap>) -> TraceContext {
    match extract(headers) {
        Some(remote) => remote.child(),
        None => TraceContext::root(),
    }
}

/// The context of a hop caused by the current one (a child of it), or a
/// new trace when nothing runs in a span.
pub fn child_of_current() -> TraceContext {
    CURRENT
        .try_with(TraceContext::child)
        .unwrap_or_else(|_| TraceContext::root())
}

/// Writes the current context (if any) into outgoing headers.
pub fn inject(headers: &mut HeaderMap) {
    let _ = CURRENT.try_with(|c| inject_context(headers, c));
}

/// Writes `ctx` into outgoing headers.
pub fn inject_context(headers: &mut HeaderMap, ctx: &TraceContext) {
    headers.insert(TRACEPARENT, ctx.traceparent().as_str());
    if let Some(state) = &ctx.tracestate {
        headers.insert(TRACESTATE, state.as_ref());
    }
}

/// Runs `fut` in `span` (made with [`trace_span!`](crate::trace_span) from
/// `ctx`) with `ctx` as the task's current context.
pub async fn in_span<F: Future>(ctx: TraceContext, span: tracing::Span, fut: F) -> F::Output {
    CURRENT.scope(ctx, fut.instrument(span)).await
}

thread_local! {
    /// The ids of the span [`trace_span!`](crate::trace_span) is creating on
    /// this thread, for layers ([`crate::otlp`]) to take without parsing its
    /// formatted fields.
    static CREATING: Cell<Option<(TraceId, SpanId, Option<SpanId>)>> = const { Cell::new(None) };
}

#[doc(hidden)]
pub fn creating(ctx: Option<&TraceContext>) {
    CREATING.with(|c| c.set(ctx.map(|t| (t.trace_id, t.span_id, t.parent_span_id))));
}

/// The ids of the traced span being created on this thread, if it is one.
pub(crate) fn take_creating() -> Option<(TraceId, SpanId, Option<SpanId>)> {
    CREATING.with(Cell::take)
}

/// Records `parent_span_id` on a span made by [`trace_span!`](crate::trace_span).
#[doc(hidden)]
pub fn record_parent(span: &tracing::Span, ctx: &TraceContext) {
    if let Some(parent) = ctx.parent_span_id {
        span.record("parent_span_id", tracing::field::display(parent));
    }
}

/// An info-level `tracing` span for one hop, carrying `trace_id`, `span_id`
/// and `parent_span_id` of a [`TraceContext`] plus any further fields:
///
/// ```ignore
/// let ctx = bus::trace::continue_from(message.headers.as_ref());
/// let span = bus::trace_span!("bar", ctx, service = "strategy", symbol = %sym);
/// bus::trace::in_span(ctx, span, handle(message)).await;
/// ```
#[macro_export]
macro_rules! trace_span {
    ($name:literal, $ctx:expr $(, $($fields:tt)*)?) => {{
        let ctx: &$crate::trace::TraceContext = &$ctx;
        $crate::trace::creating(Some(ctx));
        let span = $crate::trace::__tracing::info_span!(
            $name,
            trace_id = %ctx.trace_id,
            span_id = %ctx.span_id,
            parent_span_id = $crate::trace::__tracing::field::Empty,
            $($($fields)*)?
        );
        $crate::trace::creating(None);
        $crate::trace::record_parent(&span, ctx);
        span
    }};
}

#[doc(hidden)]
pub use tracing as __tracing;

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_formats_the_w3c_example() {
        let ctx = TraceContext::parse(SAMPLE, Some("congo=t61rcWkgMzE")).unwrap();
        assert_eq!(ctx.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(ctx.flags, 1);
        assert_eq!(ctx.traceparent(), SAMPLE);
        assert_eq!(ctx.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
    }

    #[test]
    fn refuses_malformed_traceparents() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
            "0é-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad, None).is_none(), "{bad:?}");
        }
        // A later version with more fields is read as 00.
        let later = format!("01-{}-extra", &SAMPLE[3..]);
        assert!(TraceContext::parse(&later, None).is_some());
    }

    #[test]
    fn a_child_keeps_the_trace_and_points_at_its_parent() {
        let parent = TraceContext::parse(SAMPLE, None).unwrap();
        let child = parent.child();
        assert_eq!(child.trace_id, parent.trace_id);
        assert_ne!(child.span_id, parent.span_id);
        assert_eq!(child.parent_span_id, Some(parent.span_id));
        let a = TraceContext::root();
        let b = TraceContext::root();
        assert_ne!(a.trace_id, b.trace_id);
        assert_eq!(a.parent_span_id, None);
    }

    #[tokio::test]
    async fn inject_writes_the_current_context_and_extract_reads_it_back() {
        let mut empty = HeaderMap::new();
        inject(&mut empty);
        assert!(empty.get(TRACEPARENT).is_none(), "no context, no header");

        let ctx = TraceContext::parse(SAMPLE, Some("k=v")).unwrap().child();
        let span = tracing::Span::none();
        let headers = in_span(ctx.clone(), span, async {
            let mut h = HeaderMap::new();
            inject(&mut h);
            h
        })
        .await;
        let back = extract(Some(&headers)).unwrap();
        assert_eq!(back.trace_id, ctx.trace_id);
        assert_eq!(back.span_id, ctx.span_id);
        assert_eq!(back.tracestate.as_deref(), Some("k=v"));
        assert!(current().is_none(), "the scope ended");
    }
}
