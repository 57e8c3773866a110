//! W3C trace context (`traceparent`) and the correlation id on the NATS
//! requests the gateway makes: the one place that reads them from HTTP and
//! puts them on NATS headers.

use axum::http::HeaderMap;

/// The W3C header (also its NATS header name).
pub const TRACEPARENT: &str = "traceparent";

/// The caller's `traceparent` when it is valid (version `00`, non-zero ids),
/// else a new one (sampled).
pub fn traceparent(headers: &HeaderMap) -> String {
    headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid(v))
        .map(str::to_string)
        .unwrap_or_else(new_traceparent)
}

fn valid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2)
}

pub fn new_traceparent() -> String {
    let trace = crate::auth::store::random::<16>().unwrap_or([1; 16]);
    let span = crate::auth::store::random::<8>().unwrap_or([1; 8]);
    format!(
        "00-{}-{}-01",
        crate::auth::store::hex(&trace),
        crate::auth::store::hex(&span)
    )
}

/// The caller's correlation id (`Correlation-Id` or `X-Correlation-Id`,
/// up to 128 visible ASCII characters), else a new one.
pub fn correlation_id(headers: &HeaderMap) -> String {
    [bus::headers::CORRELATION_ID, "x-correlation-id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(model::ids::new_correlation_id)
}

/// The NATS headers of a request made for an HTTP request.
pub fn nats_headers(correlation_id: &str, traceparent: &str) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert(bus::headers::CORRELATION_ID, correlation_id);
    h.insert(TRACEPARENT, traceparent);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_valid_and_replaces_invalid() {
        let mut h = HeaderMap::new();
        let given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        h.insert(TRACEPARENT, given.parse().unwrap());
        assert_eq!(traceparent(&h), given);
        h.insert(
            TRACEPARENT,
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        let made = traceparent(&h);
        assert_ne!(made, given);
        assert!(valid(&made), "{made}");
    }
}
