//! monitor service: `monitor.status` (every service instance, JetStream and
//! the server's own view), `monitor.history` (recent `SYSTEM_HEALTH` samples)
//! and the `MONITOR_ALERT` events it raises into ALERTS.

use model::UnixNanos;
use serde::{Deserialize, Serialize};

/// `monitor.status` request: no fields (an empty body works).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {}

/// `monitor.status` response: the platform as the monitor sees it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemStatus {
    /// When it was collected.
    pub ts: UnixNanos,
    /// The monitor instance that answered.
    pub monitor: String,
    /// Every micro service that answered `$SRV.STATS`, by name.
    pub services: Vec<ServiceStatus>,
    /// JetStream: every stream and its durable consumers; absent when the
    /// JetStream API did not answer.
    pub jetstream: Option<JetStreamStatus>,
    /// nats-server's monitoring view; absent when no `--server-monitor-url` is
    /// configured.
    pub server: Option<ServerView>,
}

/// One service: its instances and their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceStatus {
    pub name: String,
    pub instances: Vec<InstanceStatus>,
    /// Requests of every instance (since each started).
    pub requests: u64,
    /// Error replies of every instance.
    pub errors: u64,
    /// Mean processing time over every request of every instance, in ns.
    pub average_processing_ns: u64,
}

/// One instance (`$SRV.STATS` + `$SRV.INFO`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InstanceStatus {
    pub id: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// RFC 3339 start time, as the instance reports it.
    #[serde(default)]
    pub started: String,
    pub endpoints: Vec<EndpointStatus>,
    pub requests: u64,
    pub errors: u64,
    pub average_processing_ns: u64,
}

/// One endpoint of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndpointStatus {
    pub name: String,
    pub subject: String,
    pub requests: u64,
    /// Error replies: `num_errors` plus the errors our services count in
    /// `data.errors` (replies with a JSON error body).
    pub errors: u64,
    pub average_processing_ns: u64,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JetStreamStatus {
    pub streams: Vec<StreamStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreamStatus {
    pub name: String,
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub consumers: Vec<ConsumerStatus>,
}

/// A durable consumer (ephemeral and ordered ones are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConsumerStatus {
    pub name: String,
    /// Messages of its subjects not delivered yet.
    pub pending: u64,
    /// Delivered and not acknowledged yet.
    pub ack_pending: u64,
    /// Messages delivered more than once.
    pub redelivered: u64,
    /// `pending + ack_pending`: what it still has to process.
    pub lag: u64,
}

/// What nats-server's HTTP monitoring port says (`/varz`, `/routez`, `/leafz`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerView {
    /// The monitoring URL asked.
    pub url: String,
    /// False when it did not answer (then `error` says why).
    pub reachable: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub server_name: String,
    #[serde(default)]
    pub version: String,
    pub connections: u64,
    #[serde(default)]
    pub cluster: Option<String>,
    /// Other cluster nodes this server has a route to.
    pub cluster_peers: Vec<RoutePeer>,
    pub leaf_links: Vec<LeafLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoutePeer {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeafLink {
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub account: String,
}

/// `monitor.history` request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// Newest samples at most (default 60, at most 1,000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `monitor.history` response: samples oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryResponse {
    pub samples: Vec<HealthSample>,
}

/// `SYSTEM_HEALTH` event data (subject `evt.system.health`): one sample of
/// the platform, compact enough to keep a day of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HealthSample {
    pub ts: UnixNanos,
    /// The monitor instance that took it.
    pub monitor: String,
    pub services: Vec<ServiceSample>,
    pub consumers: Vec<ConsumerSample>,
    /// Client connections on the monitored server (when its view is configured).
    #[serde(default)]
    pub connections: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceSample {
    pub name: String,
    pub instances: u32,
    pub requests: u64,
    pub errors: u64,
    pub average_processing_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConsumerSample {
    pub stream: String,
    pub consumer: String,
    pub lag: u64,
}

/// What a monitor alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An instance that answered `$SRV` no longer does.
    InstanceGone,
    /// A service's error rate over one interval passed the threshold.
    ErrorRate,
    /// A durable consumer's lag passed the threshold.
    ConsumerLag,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::InstanceGone => "instance_gone",
            AlertKind::ErrorRate => "error_rate",
            AlertKind::ConsumerLag => "consumer_lag",
        }
    }
}

/// `MONITOR_ALERT` event data (subject `evt.alert.<severity>.monitor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MonitorAlert {
    pub kind: AlertKind,
    /// `service/instance`, `service`, or `stream/consumer`.
    pub target: String,
    /// `warning` or `critical`.
    pub severity: String,
    pub message: String,
    /// The number that crossed the threshold (error rate in per mille, lag in
    /// messages, instances left).
    pub value: u64,
    pub threshold: u64,
    /// The episode's number (its KV revision): one alert per episode,
    /// however many monitors see it.
    pub episode: u64,
}
