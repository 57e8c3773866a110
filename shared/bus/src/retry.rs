//! The one retry loop: run a step until it succeeds, saying so in the log each
//! time it fails (a warning, an error from the tenth attempt on), pausing with
//! back-off in between, and giving up only when a stop signal turns true.
//! Provisioning ([`crate::jetstream::provision`]) and consumer set-up
//! ([`crate::follow::retry_until`]) are this loop with their own pauses.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// Pauses between attempts: `first`, doubling up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The same pause every time.
    pub fn fixed(pause: Duration) -> Self {
        Backoff {
            first: pause,
            max: pause,
        }
    }
}

/// Runs `attempt` until it succeeds; `None` once `stop` (if any) turns true.
pub async fn retry<T, E, F, Fut>(
    what: &str,
    backoff: Backoff,
    mut stop: Option<&mut watch::Receiver<bool>>,
    mut attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut pause = backoff.first;
    let mut attempts = 0u32;
    loop {
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            return None;
        }
        attempts += 1;
        match attempt().await {
            Ok(v) => {
                if attempts > 1 {
                    tracing::info!(what, attempts, "succeeded after retrying");
                }
                return Some(v);
            }
            Err(e) => {
                let retry_in_ms = pause.as_millis() as u64;
                if attempts >= 10 {
                    tracing::error!(what, attempts, error = %e, retry_in_ms, "still failing; retrying");
                } else {
                    tracing::warn!(what, attempts, error = %e, retry_in_ms, "failed; retrying");
                }
                match stop.as_deref_mut() {
                    Some(stop) => {
                        tokio::select! {
                            _ = crate::follow::stopped(stop) => return None,
                            _ = tokio::time::sleep(pause) => {}
                        }
                    }
                    None => tokio::time::sleep(pause).await,
                }
                pause = (pause * 2).min(backoff.max);
            }
        }
    }
}
