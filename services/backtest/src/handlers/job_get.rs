//! `backtest.job.get`: progress and the best results so far.

use std::sync::Arc;

use bus::api::backtest::{JobRequest, JobStatus};
use bus::{RequestContext, ServiceError};

use super::rank;
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: JobRequest,
) -> Result<JobStatus, ServiceError> {
    status(&ctx, &req).await
}

pub(crate) async fn status(ctx: &Ctx, req: &JobRequest) -> Result<JobStatus, ServiceError> {
    // The id is a KV key: a bad one is the caller's error, not the store's.
    bus::error::check_id("job id", &req.job_id)?;
    let Some((job, _)) = ctx.jobs.get(&req.job_id).await? else {
        return Err(ServiceError::not_found(format!(
            "unknown job {:?}",
            req.job_id
        )));
    };
    let results = ctx.jobs.results(&job.job_id).await?;
    let done = results.len() as u32;
    let top = req.top.unwrap_or(10) as usize;
    Ok(JobStatus {
        job_id: job.job_id,
        state: job.state,
        tasks: job.param_sets.len() as u32,
        done,
        skipped: job.skipped,
        generation: job.generation,
        objective: job.request.objective,
        best: rank(results).into_iter().take(top).collect(),
    })
}
