//! `backtest.job.cancel`: marks the job canceled and drops its queued tasks.
//! A task already running finishes; its result is kept.

use std::sync::Arc;

use bus::api::backtest::{JobRequest, JobState, JobStatus};
use bus::{subjects, ErrorKind, RequestContext, ServiceError};

use super::job_get::status;
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: JobRequest,
) -> Result<JobStatus, ServiceError> {
    // The id is a KV key: a bad one is the caller's error, not the store's.
    bus::error::check_id("job id", &req.job_id)?;
    let Some((mut job, revision)) = ctx.jobs.get(&req.job_id).await? else {
        return Err(ServiceError::not_found(format!(
            "unknown job {:?}",
            req.job_id
        )));
    };
    if job.state == JobState::Running {
        job.state = JobState::Canceled;
        if !ctx.jobs.update(&job, revision).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "the job changed meanwhile; retry",
            ));
        }
        if let Ok(stream) = ctx.js.get_stream(subjects::streams::JOBS).await {
            let _ = stream
                .purge()
                .filter(subjects::backtest_task(&job.job_id))
                .await;
        }
        tracing::info!(job = %job.job_id, "sweep canceled");
    }
    status(&ctx, &req).await
}
