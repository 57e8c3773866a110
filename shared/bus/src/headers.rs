//! Header names. `Nats-*` names are the server's and the micro protocol's; ours
//! carry no prefix.

/// Follows one unit of work across services and into logs.
pub const CORRELATION_ID: &str = "Correlation-Id";
/// W3C trace context of the sending span (`00-<trace id>-<span id>-<flags>`),
/// on every request and event ([`crate::trace`]).
pub const TRACEPARENT: &str = "traceparent";
/// W3C vendor trace state, passed on untouched with `traceparent`.
pub const TRACESTATE: &str = "tracestate";
/// `application/json` (default) or `application/protobuf`.
pub const CONTENT_TYPE: &str = "Content-Type";
/// Response format asked for; defaults to the request's content type.
pub const ACCEPT: &str = "Accept";
/// Event type of a durable message (`MARKET_DATA_UPDATE`, …), so consumers can
/// route without decoding the body.
pub const EVENT_TYPE: &str = "Event-Type";
/// JetStream de-duplication id.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// Micro protocol error headers.
pub const SERVICE_ERROR: &str = "Nats-Service-Error";
pub const SERVICE_ERROR_CODE: &str = "Nats-Service-Error-Code";
