//! Edge deployments: what the hub stores of an edge, and how it is provisioned.
//!
//! An edge is a leaf node whose JetStream domain is the edge's name. For each of
//! [`subjects::edge::SOURCED_STREAMS`] the hub has one stream of its own,
//! `EDGE_<NAME>_<STREAM>`, with no subjects and one source: the edge's stream
//! through `$JS.<name>.API`. A source resumes from the last sequence it copied,
//! so while the link is down the edge keeps storing and the hub catches up,
//! exactly once, when it returns. Separate streams per edge and kind keep edges
//! apart (no subject transforms, no shared de-duplication window) and keep each
//! copy in the edge's order with the edge's own retention.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{stream, Context};
use async_nats::{Client, HeaderMap, Message};
use futures::StreamExt;

use crate::jetstream::{self, StreamSettings};
use crate::{subjects, BusError, ServiceError};

/// Why an edge name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeError {
    #[error("edge name {0:?}: 1-32 of a-z 0-9 -, starting with a letter or digit")]
    InvalidName(String),
    #[error("edge name {0:?} is the hub's JetStream domain")]
    HubDomain(String),
}

/// The name of an edge, which is also its JetStream domain: 1–32 of `a-z 0-9 -`,
/// so its hub stream names (`-` → `_`, upper-cased) never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EdgeName(String);

impl EdgeName {
    pub fn new(name: &str, hub_domain: &str) -> Result<EdgeName, EdgeError> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let valid = !name.is_empty()
            && name.len() <= 32
            && !name.starts_with('-')
            && name.chars().all(valid_char);
        if !valid {
            return Err(EdgeError::InvalidName(name.to_string()));
        }
        if name == hub_domain {
            return Err(EdgeError::HubDomain(name.to_string()));
        }
        Ok(EdgeName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The edge's JetStream domain (its name).
    pub fn domain(&self) -> &str {
        &self.0
    }

    /// Name of the hub stream holding this edge's copy of `stream`.
    pub fn hub_stream(&self, stream: &str) -> String {
        subjects::edge::hub_stream(&self.0, stream)
    }
}

impl std::fmt::Display for EdgeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The edge-side definition of a sourced stream (what the services provision).
fn local_stream(name: &str, settings: &StreamSettings) -> Option<stream::Config> {
    use subjects::streams;
    match name {
        streams::ORDERS => Some(jetstream::orders_stream(settings)),
        streams::SIGNALS => Some(jetstream::signals_stream(settings)),
        streams::PORTFOLIO => Some(jetstream::portfolio_stream(settings)),
        streams::ALERTS => Some(jetstream::alerts_stream(settings)),
        _ => None,
    }
}

/// The source reading `stream` of `edge` through the edge's JetStream domain.
pub fn edge_source(edge: &EdgeName, stream: &str) -> stream::Source {
    stream::Source {
        name: stream.to_string(),
        external: Some(stream::External {
            api_prefix: subjects::edge::api_prefix(edge.domain()),
            delivery_prefix: None,
        }),
        ..Default::default()
    }
}

/// The hub stream keeping `edge`'s copy of `local`: the same limits, no
/// subjects of its own (nothing published on the hub lands in it), one source.
pub fn hub_copy(edge: &EdgeName, local: stream::Config) -> stream::Config {
    let source = edge_source(edge, &local.name);
    stream::Config {
        name: edge.hub_stream(&local.name),
        description: Some(format!(
            "edge {edge}'s {} (sourced from domain {edge})",
            local.name
        )),
        subjects: Vec::new(),
        sources: Some(vec![source]),
        ..local
    }
}

/// Every hub stream of one edge, in [`subjects::edge::SOURCED_STREAMS`] order.
pub fn hub_streams(edge: &EdgeName, settings: &StreamSettings) -> Vec<stream::Config> {
    subjects::edge::SOURCED_STREAMS
        .iter()
        .filter_map(|name| local_stream(name, settings))
        .map(|local| hub_copy(edge, local))
        .collect()
}

/// Creates (or brings up to date) the hub streams of `edge`, through `hub`: a
/// JetStream context of the hub's domain (`jetstream::with_domain`). One try;
/// the caller retries while the hub is unreachable.
pub async fn provision_hub(
    hub: &Context,
    edge: &EdgeName,
    settings: &StreamSettings,
) -> Result<(), BusError> {
    for config in hub_streams(edge, settings) {
        jetstream::ensure_stream(hub, config).await?;
    }
    Ok(())
}

/// How long a forwarded query waits for the edge's service.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers `edge.<name>.<query>` (sent by hub clients across the link) with
/// the edge's own services: each of [`subjects::edge::QUERIES`] is asked
/// locally under its plain subject (which never crosses the link) and the
/// reply goes back as it came, error headers included. Anything else is 404.
/// Serves in queue group `q` until `shutdown`.
pub async fn serve_queries(
    client: Client,
    edge: EdgeName,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BusError> {
    let filter = subjects::edge::queries_of(edge.as_str());
    let mut requests = client
        .queue_subscribe(filter.clone(), subjects::QUEUE_GROUP.to_string())
        .await
        .map_err(|e| BusError::Service {
            service: format!("edge {edge} queries"),
            message: e.to_string(),
        })?;
    // `edge.<name>.`: the query subject of nothing.
    let prefix = subjects::edge::query(edge.as_str(), "");
    tokio::pin!(shutdown);
    loop {
        let msg = tokio::select! {
            _ = &mut shutdown => break,
            msg = requests.next() => match msg { Some(m) => m, None => break },
        };
        let client = client.clone();
        let local = msg
            .subject
            .as_str()
            .strip_prefix(&prefix)
            .map(str::to_string);
        tokio::spawn(async move { forward(&client, local, msg).await });
    }
    let _ = requests.unsubscribe().await;
    Ok(())
}

async fn forward(client: &Client, local: Option<String>, msg: Message) {
    let Some(reply) = msg.reply.clone() else {
        return;
    };
    let allowed = local
        .as_deref()
        .filter(|s| subjects::edge::QUERIES.contains(s));
    let answer = match allowed {
        None => Err(ServiceError::not_found(format!(
            "{} is not an edge query; queries: {}",
            msg.subject,
            subjects::edge::QUERIES.join(", ")
        ))),
        Some(subject) => {
            let request = client.request_with_headers(
                subject.to_string(),
                msg.headers.clone().unwrap_or_default(),
                msg.payload.clone(),
            );
            match tokio::time::timeout(QUERY_TIMEOUT, request).await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(e)) => Err(ServiceError::unavailable(format!("{subject}: {e}"))),
                Err(_) => Err(ServiceError::new(
                    crate::ErrorKind::Timeout,
                    format!("{subject}: no answer in {QUERY_TIMEOUT:?}"),
                )),
            }
        }
    };
    let (hdrs, payload) = match answer {
        Ok(answer) => (answer.headers.unwrap_or_default(), answer.payload),
        Err(e) => error_reply(&e),
    };
    let _ = client.publish_with_headers(reply, hdrs, payload).await;
}

fn error_reply(e: &ServiceError) -> (HeaderMap, bytes::Bytes) {
    let mut hdrs = HeaderMap::new();
    e.add_reply_headers(&mut hdrs);
    (hdrs, e.body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_map_to_distinct_streams() {
        let a = EdgeName::new("edge-a", "hub").unwrap();
        assert_eq!(a.hub_stream("ORDERS"), "EDGE_EDGE_A_ORDERS");
        for bad in ["", "Edge", "a_b", "-a", "a.b", &"x".repeat(33)] {
            assert!(EdgeName::new(bad, "hub").is_err(), "{bad:?}");
        }
        assert_eq!(
            EdgeName::new("hub", "hub"),
            Err(EdgeError::HubDomain("hub".into()))
        );
    }

    #[test]
    fn hub_streams_have_no_subjects_and_source_the_edge_domain() {
        let a = EdgeName::new("a", "hub").unwrap();
        let configs = hub_streams(&a, &StreamSettings::default());
        assert_eq!(configs.len(), 4);
        for c in configs {
            assert!(c.subjects.is_empty(), "{}", c.name);
            let sources = c.sources.unwrap();
            let ext = sources[0].external.as_ref().unwrap();
            assert_eq!(ext.api_prefix, "$JS.a.API");
            assert_eq!(c.name, format!("EDGE_A_{}", sources[0].name));
        }
    }
}
