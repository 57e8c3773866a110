//! Connecting. A service that cannot reach NATS keeps trying and says so; once
//! connected, disconnects and reconnects are logged (the client reconnects by itself).

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};

use crate::BusError;

/// Connects to `url` (comma-separated for several servers), retrying with
/// back-off until it succeeds or `give_up_after` passes (`None`: forever).
pub async fn connect(
    url: &str,
    name: &str,
    give_up_after: Option<Duration>,
) -> Result<Client, BusError> {
    let started = std::time::Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let options = ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(3))
            .max_reconnects(None)
            .event_callback(|event| async move {
                match event {
                    Event::Disconnected => tracing::warn!("disconnected from NATS; reconnecting"),
                    Event::Connected => tracing::info!("connected to NATS"),
                    Event::SlowConsumer(sid) => {
                        tracing::warn!(sid, "slow consumer: messages dropped")
                    }
                    Event::LameDuckMode => tracing::warn!("NATS server entering lame duck mode"),
                    other => tracing::debug!(event = %other, "NATS client event"),
                }
            });
        match options.connect(url).await {
            Ok(client) => {
                if attempt > 1 {
                    tracing::info!(url, attempt, "connected to NATS after retrying");
                }
                return Ok(client);
            }
            Err(e) => {
                if give_up_after.is_some_and(|limit| started.elapsed() >= limit) {
                    return Err(BusError::Connect {
                        url: url.to_string(),
                        message: e.to_string(),
                    });
                }
                tracing::warn!(url, attempt, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reach NATS; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
