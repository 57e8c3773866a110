//! One step of a prediction: ask a dependency through its circuit breaker,
//! within the step's timeout, and report the step whatever happens.

use std::future::Future;
use std::time::{Duration, Instant};

use bus::api::orchestrator::{Step, StepStatus};
use bus::{ErrorKind, RequestError, RequestOptions};
use serde::{de::DeserializeOwned, Serialize};

use crate::breaker::Permit;
use crate::Ctx;

/// Why a step has no result.
#[derive(Debug, Clone)]
pub struct Missing {
    pub status: StepStatus,
    pub error: String,
}

impl Missing {
    pub fn failed(error: impl Into<String>) -> Self {
        Missing {
            status: StepStatus::Failed,
            error: error.into(),
        }
    }
}

/// A step's outcome and its report.
pub struct Outcome<T> {
    pub value: Option<T>,
    pub step: Step,
}

/// Does this error say the dependency is unwell (counts against its
/// breaker), or only that the request was refused (it answered: healthy)?
fn is_dependency_fault(e: &RequestError) -> bool {
    match e {
        RequestError::Service(se) => matches!(
            se.kind,
            ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::Timeout
        ),
        RequestError::NoResponders(_)
        | RequestError::Timeout(_)
        | RequestError::Transport { .. }
        | RequestError::Decode { .. } => true,
    }
}

/// A typed request to `subject` as dependency `dependency`.
pub async fn request<Req, Resp>(
    ctx: &Ctx,
    dependency: &'static str,
    subject: &'static str,
    req: &Req,
    correlation_id: &str,
) -> Outcome<Resp>
where
    Req: Serialize + ?Sized,
    Resp: DeserializeOwned + Serialize,
{
    let options = RequestOptions {
        timeout: ctx.config.step_timeout,
        correlation_id: Some(correlation_id.to_string()),
    };
    guarded(ctx, dependency, subject, async {
        bus::request::<Req, Resp>(&ctx.client, subject, req, options).await
    })
    .await
}

/// Runs `work` (one or more requests to `dependency`) as one step: skipped
/// while the breaker is open, bounded by the step timeout, its failure or
/// success recorded on the breaker.
pub async fn guarded<T, F>(
    ctx: &Ctx,
    dependency: &'static str,
    subject: &'static str,
    work: F,
) -> Outcome<T>
where
    T: Serialize,
    F: Future<Output = Result<T, RequestError>>,
{
    let started = Instant::now();
    let result = match ctx.breakers.allow(dependency) {
        Permit::Rejected => Err(Missing {
            status: StepStatus::CircuitOpen,
            error: format!("circuit breaker of {dependency} is open"),
        }),
        Permit::Allowed | Permit::Probe => {
            match tokio::time::timeout(ctx.config.step_timeout, work).await {
                Ok(Ok(value)) => {
                    ctx.breakers.success(dependency);
                    Ok(value)
                }
                Ok(Err(e)) => {
                    if is_dependency_fault(&e) {
                        ctx.breakers.failure(dependency);
                    } else {
                        ctx.breakers.success(dependency);
                    }
                    let status = match e {
                        RequestError::Timeout(_) => StepStatus::Timeout,
                        _ => StepStatus::Failed,
                    };
                    Err(Missing {
                        status,
                        error: e.to_string(),
                    })
                }
                Err(_) => {
                    ctx.breakers.failure(dependency);
                    Err(Missing {
                        status: StepStatus::Timeout,
                        error: format!(
                            "{dependency} did not answer within {:?}",
                            ctx.config.step_timeout
                        ),
                    })
                }
            }
        }
    };
    finish(dependency, subject, started, result)
}

/// The report of a step that ended with `result`.
pub fn finish<T: Serialize>(
    name: &str,
    subject: &str,
    started: Instant,
    result: Result<T, Missing>,
) -> Outcome<T> {
    let elapsed_ms = elapsed_ms(started.elapsed());
    match result {
        Ok(value) => Outcome {
            step: Step {
                name: name.to_string(),
                subject: subject.to_string(),
                status: StepStatus::Ok,
                elapsed_ms,
                result: serde_json::to_value(&value).unwrap_or_default(),
                error: None,
            },
            value: Some(value),
        },
        Err(m) => Outcome {
            step: Step {
                name: name.to_string(),
                subject: subject.to_string(),
                status: m.status,
                elapsed_ms,
                result: serde_json::Value::Null,
                error: Some(m.error),
            },
            value: None,
        },
    }
}

pub fn elapsed_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
