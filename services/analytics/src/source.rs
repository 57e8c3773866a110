//! A request's source → the backtest report it is about.

use bus::api::analytics::{Performance, Source};
use bus::api::backtest::{BacktestReport, JobRecord, RunRequest, StrategySpec};
use bus::{request, subjects, RequestContext, RequestOptions, ServiceError};

use crate::Ctx;

pub async fn report(
    ctx: &Ctx,
    rc: &RequestContext,
    source: &Source,
) -> Result<BacktestReport, ServiceError> {
    let run = match source {
        Source::Backtest(req) => RunRequest {
            include_equity: true,
            ..(**req).clone()
        },
        Source::SweepResult { job_id, index } => sweep_run(ctx, job_id, *index).await?,
        Source::Account {
            account,
            benchmark,
            timeframe,
            equity,
        } => {
            return crate::account::report(
                ctx,
                rc,
                account,
                benchmark.as_ref(),
                *timeframe,
                *equity,
            )
            .await
        }
    };
    request(
        &ctx.client,
        subjects::backtest::RUN,
        &run,
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(rc.correlation_id.clone()),
        },
    )
    .await
    .map_err(|e| match e.service_error() {
        Some(se) => se.clone(),
        None => ServiceError::unavailable(format!("backtest service: {e}")),
    })
}

/// The run behind one sweep result, from the job record in `backtest-jobs`.
async fn sweep_run(ctx: &Ctx, job_id: &str, index: u32) -> Result<RunRequest, ServiceError> {
    let store = ctx
        .js
        .get_key_value(subjects::buckets::BACKTEST_JOBS)
        .await
        .map_err(|e| ServiceError::unavailable(format!("backtest jobs: {e}")))?;
    let value = store
        .get(job_id)
        .await
        .map_err(|e| ServiceError::unavailable(format!("backtest jobs: {e}")))?
        .ok_or_else(|| ServiceError::not_found(format!("unknown job {job_id:?}")))?;
    let job: JobRecord = serde_json::from_slice(&value)
        .map_err(|e| ServiceError::internal(format!("job record: {e}")))?;
    let params = job
        .param_sets
        .get(index as usize)
        .cloned()
        .ok_or_else(|| ServiceError::not_found(format!("job {job_id} has no task {index}")))?;
    Ok(RunRequest {
        strategy: StrategySpec {
            kind: job.request.kind.clone(),
            params,
        },
        data: job.request.data.clone(),
        cash: job.request.cash,
        commission: job.request.commission,
        finalize_trades: job.request.finalize_trades,
        sizing: Default::default(),
        sizing_at: Default::default(),
        include_equity: true,
    })
}

/// A backtest's statistics and its excess return over buy & hold.
pub fn performance(report: &BacktestReport) -> Performance {
    let s = &report.stats;
    Performance {
        stats: s.clone(),
        buy_hold_return_pct: s.buy_hold_return_pct,
        excess_return_pct: match (s.return_pct, s.buy_hold_return_pct) {
            (Some(r), Some(b)) => Some(r - b),
            _ => None,
        },
    }
}
