//! `monitor.history`: the newest `limit` samples of SYSTEM, oldest first. Read
//! from the stream, so every monitor instance answers the same.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use bus::api::monitor::{HealthSample, HistoryRequest, HistoryResponse};
use bus::{subjects, RequestContext, ServiceError};
use futures::StreamExt;
use model::Event;

use crate::Ctx;

pub const DEFAULT_LIMIT: u32 = 60;
pub const MAX_LIMIT: u32 = 1000;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: HistoryRequest,
) -> Result<HistoryResponse, ServiceError> {
    let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ServiceError::bad_request(format!(
            "limit must be 1..={MAX_LIMIT}, got {limit}"
        )));
    }
    let unavailable = |e: String| ServiceError::unavailable(format!("SYSTEM stream: {e}"));
    let mut stream = ctx
        .js
        .get_stream(subjects::streams::SYSTEM)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let state = stream
        .info()
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .state
        .clone();
    if state.messages == 0 {
        return Ok(HistoryResponse {
            samples: Vec::new(),
        });
    }
    let start = state
        .last_sequence
        .saturating_sub(u64::from(limit) - 1)
        .max(state.first_sequence);
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut samples = Vec::new();
    let read = async {
        while let Some(Ok(message)) = messages.next().await {
            let Ok(info) = message.info() else { break };
            let sequence = info.stream_sequence;
            match serde_json::from_slice::<Event<HealthSample>>(&message.payload) {
                Ok(event) => samples.push(event.data),
                Err(e) => tracing::warn!(sequence, error = %e, "SYSTEM message does not parse"),
            }
            if sequence >= state.last_sequence {
                break;
            }
        }
    };
    if tokio::time::timeout(READ_TIMEOUT, read).await.is_err() {
        return Err(ServiceError::unavailable(
            "SYSTEM stream: reading the samples timed out",
        ));
    }
    Ok(HistoryResponse { samples })
}
