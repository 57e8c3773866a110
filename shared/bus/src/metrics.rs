//! Every metric name, in this one place (like [`crate::subjects`]), and the
//! handles the service layer records into. Request metrics are recorded by
//! [`crate::service`] for every endpoint, health gauges by [`crate::runner`];
//! services only add a business event with one call (`metrics::order_event(..)`).
//!
//! Handles are registered once per endpoint; recording is then an atomic add
//! (counters) or a lock-free bucket push (the histogram). Before [`install`]
//! the facade hands out no-op handles: a process without `--metrics-addr`
//! pays nothing. [`crate::observe`] renders and serves them.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use trading::event::OrderEvent;
use trading::order::OrderStatus;
use trading::risk::RejectCode;

/// Requests answered, per `{service, endpoint}` (errors included).
pub const REQUESTS: &str = "trader_requests_total";
/// Error replies, per `{service, endpoint, code}` (code: the micro error code, 400, 500…).
pub const REQUEST_ERRORS: &str = "trader_request_errors_total";
/// Time from receiving a request to sending its reply, per `{service, endpoint}`.
pub const REQUEST_DURATION: &str = "trader_request_duration_seconds";
/// 1 while the service's NATS connection is up, per `{service}`.
pub const NATS_CONNECTED: &str = "trader_nats_connected";
/// Reconnections of this process's NATS clients (after a disconnect).
pub const NATS_RECONNECTS: &str = "trader_nats_reconnects_total";
/// 1 while the service is ready (set up, serving, connected), per `{service}`.
pub const SERVICE_READY: &str = "trader_service_ready";
/// Order events by `{status}` (accepted, rejected, filled, canceled…): execution.
pub const ORDERS: &str = "trader_orders_total";
/// Fills executed by the paper exchange: execution.
pub const FILLS: &str = "trader_fills_total";
/// Checks risk refused, per `{code}` (the reason code): risk.
pub const RISK_REJECTIONS: &str = "trader_risk_rejections_total";
/// Signals strategies emitted, per `{strategy}`: strategy.
pub const SIGNALS: &str = "trader_signals_total";
/// Notices per `{channel, outcome}`: `delivered`, `failed` (an attempt that
/// will be retried), `dead_lettered`: notify.
pub const NOTIFICATIONS: &str = "trader_notifications_total";
/// Messages of a durable consumer's stream not yet delivered to it (lag).
pub const CONSUMER_PENDING: &str = "trader_consumer_pending";
/// Messages delivered to a durable consumer and not yet acknowledged.
pub const CONSUMER_ACK_PENDING: &str = "trader_consumer_ack_pending";
/// Messages redelivered to a durable consumer (delivered more than once).
pub const CONSUMER_REDELIVERED: &str = "trader_consumer_redelivered";

/// Latency buckets (seconds): 50 µs to 10 s, dense where `risk.check` lives.
const DURATION_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls hand
/// back the same handle). Install it before services start: endpoints
/// registered earlier keep no-op handles. Another recorder installed first
/// (a test harness) leaves this one unused, with a warning.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), DURATION_BUCKETS)
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "a metrics recorder was already installed");
            }
            describe();
            // Histograms keep raw samples until drained: drain them even when
            // nobody scrapes.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

/// The installed recorder's handle, if [`install`] ran.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS, "Requests answered, errors included");
    describe_counter!(REQUEST_ERRORS, "Requests answered with an error");
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from receiving a request to sending its reply"
    );
    describe_gauge!(NATS_CONNECTED, "1 while the NATS connection is up");
    describe_counter!(NATS_RECONNECTS, "NATS reconnections after a disconnect");
    describe_gauge!(SERVICE_READY, "1 while the service is ready");
    describe_counter!(ORDERS, "Order events by status");
    describe_counter!(FILLS, "Fills executed");
    describe_counter!(RISK_REJECTIONS, "Risk checks refused, by reason code");
    describe_counter!(SIGNALS, "Strategy signals emitted");
    describe_counter!(NOTIFICATIONS, "Notices by channel and outcome");
}

/// One endpoint's pre-registered request handles.
pub(crate) struct EndpointMetrics {
    service: &'static str,
    endpoint: &'static str,
    requests: Counter,
    duration: Histogram,
}

impl EndpointMetrics {
    pub(crate) fn register(service: &'static str, endpoint: &'static str) -> Self {
        EndpointMetrics {
            service,
            endpoint,
            requests: metrics::counter!(REQUESTS, "service" => service, "endpoint" => endpoint),
            duration: metrics::histogram!(
                REQUEST_DURATION, "service" => service, "endpoint" => endpoint
            ),
        }
    }

    /// One answered request; `error`: its error code.
    pub(crate) fn record(&self, elapsed: Duration, error: Option<u16>) {
        self.requests.increment(1);
        self.duration.record(elapsed.as_secs_f64());
        if let Some(code) = error {
            // Errors are the rare path: a registry look-up per error is fine.
            metrics::counter!(
                REQUEST_ERRORS,
                "service" => self.service,
                "endpoint" => self.endpoint,
                "code" => code.to_string()
            )
            .increment(1);
        }
    }
}

/// Health gauges of one service (set by the runner when its state changes and
/// when `/metrics` is rendered).
pub(crate) fn set_health(service: &'static str, ready: bool, connected: bool) {
    metrics::gauge!(SERVICE_READY, "service" => service).set(f64::from(u8::from(ready)));
    metrics::gauge!(NATS_CONNECTED, "service" => service).set(f64::from(u8::from(connected)));
}

pub(crate) fn nats_reconnected() {
    metrics::counter!(NATS_RECONNECTS).increment(1);
}

/// An ORDERS event execution stored (not replayed): `trader_orders_total`
/// by the status it leaves the order in, and `trader_fills_total`.
pub fn order_event(event: &OrderEvent) {
    let status = match event {
        OrderEvent::OrderAccepted { .. } => OrderStatus::Accepted,
        OrderEvent::OrderRejected { .. } => OrderStatus::Rejected,
        OrderEvent::OrderCanceled { .. } => OrderStatus::Canceled,
        OrderEvent::OrderExpired { .. } => OrderStatus::Expired,
        OrderEvent::OrderFilled { fill } => {
            metrics::counter!(FILLS).increment(1);
            fill.status
        }
        OrderEvent::AccountOpened(_) | OrderEvent::ProtectionSet(_) => return,
    };
    metrics::counter!(ORDERS, "status" => status_label(status)).increment(1);
}

fn status_label(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "new",
        OrderStatus::Accepted => "accepted",
        OrderStatus::PartiallyFilled => "partially_filled",
        OrderStatus::Filled => "filled",
        OrderStatus::Canceled => "canceled",
        OrderStatus::Rejected => "rejected",
        OrderStatus::Expired => "expired",
    }
}

/// A refused risk check, by the code of its first violation (risk).
pub fn risk_rejection(code: RejectCode) {
    let code = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{code:?}"));
    metrics::counter!(RISK_REJECTIONS, "code" => code).increment(1);
}

/// A signal emitted by `strategy` (strategy).
pub fn signal(strategy: &str) {
    metrics::counter!(SIGNALS, "strategy" => strategy.to_string()).increment(1);
}

/// `count` notices of `channel` reached `outcome` (notify).
pub fn notification(channel: &str, outcome: &'static str, count: usize) {
    metrics::counter!(NOTIFICATIONS, "channel" => channel.to_string(), "outcome" => outcome)
        .increment(count as u64);
}

/// A durable consumer's lag as JetStream reports it (set by the runner's
/// consumer watch, [`crate::runner::Runner::watch_consumer`], and by the
/// monitor for every durable consumer it sees).
pub fn set_consumer_lag(
    stream: &str,
    consumer: &str,
    info: &async_nats::jetstream::consumer::Info,
) {
    let labels = [
        ("stream", stream.to_string()),
        ("consumer", consumer.to_string()),
    ];
    metrics::gauge!(CONSUMER_PENDING, &labels).set(info.num_pending as f64);
    metrics::gauge!(CONSUMER_ACK_PENDING, &labels).set(info.num_ack_pending as f64);
    metrics::gauge!(CONSUMER_REDELIVERED, &labels).set(info.num_redelivered as f64);
}
