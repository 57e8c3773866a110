//! Tracing set-up for binaries: `RUST_LOG` filters (default: `default_filter`),
//! `LOG_FORMAT=json` switches to one JSON object per line. Log lines inside a
//! traced span ([`crate::trace`]) carry its `trace_id` and `span_id`. With an
//! OTLP endpoint (`--otlp-endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`), finished
//! spans are also exported ([`crate::otlp`]); off by default.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::otlp::{OtlpConfig, OtlpGuard, OtlpLayer};

/// Filter for services: our logs at info, the NATS client's chatter at warn.
pub const SERVICE_LOGS: &str = "info,async_nats=warn";
/// Filter for command-line clients: warnings only.
pub const CLI_LOGS: &str = "warn";
/// The environment variable the OpenTelemetry SDKs read, read here too.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Share of traces exported (0.0–1.0, default 1), as the SDKs' `traceidratio`.
pub const SAMPLE_RATIO_ENV: &str = "OTEL_TRACES_SAMPLER_ARG";

fn sample_ratio() -> f64 {
    std::env::var(SAMPLE_RATIO_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| (0.0..=1.0).contains(r))
        .unwrap_or(1.0)
}

/// Logs only (the OTLP endpoint from the environment, if set).
pub fn init_tracing(default_filter: &str) -> Option<OtlpGuard> {
    let endpoint = std::env::var(OTLP_ENDPOINT_ENV).ok();
    init(default_filter, endpoint.as_deref(), "trader")
}

/// Logs, and spans to `otlp_endpoint` when one is given (empty or `off`: none).
/// Keep the guard alive in `main`: dropping it flushes the last spans.
pub fn init(
    default_filter: &str,
    otlp_endpoint: Option<&str>,
    service_name: &str,
) -> Option<OtlpGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let endpoint = otlp_endpoint
        .map(str::trim)
        .filter(|e| !e.is_empty() && *e != "off");
    let (otlp, guard, error) = match endpoint {
        Some(endpoint) => match OtlpLayer::new(OtlpConfig {
            sample_ratio: sample_ratio(),
            ..OtlpConfig::new(endpoint, service_name)
        }) {
            Ok((layer, guard)) => (Some(layer), Some(guard), None),
            Err(e) => (None, None, Some(e)),
        },
        None => (None, None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otlp.map(|l| l.with_filter(LevelFilter::INFO)))
        .try_init();
    if let Some(e) = error {
        tracing::warn!(error = %e, "OTLP export off");
    } else if let Some(endpoint) = endpoint.filter(|_| guard.is_some()) {
        tracing::info!(endpoint, "exporting traces over OTLP/HTTP");
    }
    guard
}
