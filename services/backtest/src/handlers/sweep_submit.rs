//! `backtest.sweep.submit`: validates the sweep (parameter sets, data, one
//! dry run), stores the job and puts one task per parameter set on JOBS.

use std::sync::Arc;

use bus::api::backtest::{JobRecord, JobState, SweepAccepted, SweepRequest};
use bus::{RequestContext, ServiceError};
use model::UnixNanos;

use crate::{data, jobs, search, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: SweepRequest,
) -> Result<SweepAccepted, ServiceError> {
    let (param_sets, skipped) =
        search::param_sets(&req.kind, &req.search).map_err(ServiceError::bad_request)?;
    if param_sets.is_empty() {
        return Err(ServiceError::bad_request(format!(
            "no valid parameter set in the search ({skipped} refused by {})",
            req.kind
        )));
    }
    // The data must be there and backtestable before any task is queued.
    let bars = data::load(&ctx, &req.data, &rc.correlation_id).await?;
    let (kind, first) = (req.kind.clone(), param_sets[0].clone());
    let config = backtest::BacktestConfig {
        cash: req.cash,
        commission: req.commission,
        finalize_trades: req.finalize_trades,
        sizing: Default::default(),
        sizing_at: Default::default(),
        exits: None,
    };
    tokio::task::spawn_blocking(move || {
        let mut s = strategy::build(&kind, &first, bars[0].symbol.clone(), bars[0].timeframe)
            .map_err(|e| ServiceError::bad_request(e.to_string()))?;
        backtest::run(&bars, s.as_mut(), &config)
            .map(|_| ())
            .map_err(|e| ServiceError::bad_request(e.to_string()))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("dry run failed: {e}")))??;

    let job_id = model::ids::new_id();
    let tasks = param_sets.len() as u32;
    let record = JobRecord {
        job_id: job_id.clone(),
        request: req,
        param_sets,
        skipped,
        state: JobState::Running,
        created_ts: UnixNanos::now(),
        generation: 0,
    };
    ctx.jobs.create(&record).await?;
    jobs::enqueue(&ctx.js, &job_id, 0..tasks, &rc.correlation_id).await?;
    tracing::info!(job = %job_id, tasks, skipped, "sweep submitted");
    Ok(SweepAccepted {
        job_id,
        tasks,
        skipped,
    })
}
