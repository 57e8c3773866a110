//! Tracing set-up for binaries: `RUST_LOG` filters (default: `default_filter`),
//! `LOG_FORMAT=json` switches to one JSON object per line.

/// Filter for services: our logs at info, the NATS client's chatter at warn.
pub const SERVICE_LOGS: &str = "info,async_nats=warn";
/// Filter for command-line clients: warnings only.
pub const CLI_LOGS: &str = "warn";

pub fn init_tracing(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
