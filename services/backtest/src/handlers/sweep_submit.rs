//! `backtest.sweep.submit`: validates the sweep (parameter sets, data, one
//! dry run), stores the job and puts one task per parameter set on JOBS.

use std::sync::Arc;

use async_nats::HeaderMap;
use bus::api::backtest::{JobRecord, JobState, SweepAccepted, SweepRequest, SweepTask};
use bus::{headers, subjects, RequestContext, ServiceError};
use model::UnixNanos;

use crate::{data, search, Ctx};

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
    };
    ctx.jobs.create(&record).await?;
    let subject = subjects::backtest_task(&job_id);
    let mut acks = Vec::with_capacity(tasks as usize);
    for index in 0..tasks {
        let task = SweepTask {
            job_id: job_id.clone(),
            index,
        };
        let mut hdrs = HeaderMap::new();
        hdrs.insert(headers::MSG_ID, format!("task:{job_id}:{index}").as_str());
        hdrs.insert(headers::CORRELATION_ID, rc.correlation_id.as_str());
        let payload =
            serde_json::to_vec(&task).map_err(|e| ServiceError::internal(e.to_string()))?;
        let ack = ctx
            .js
            .publish_with_headers(subject.clone(), hdrs, payload.into())
            .await
            .map_err(|e| ServiceError::unavailable(format!("JOBS: {e}")))?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await.map_err(|e| {
            ServiceError::unavailable(format!("JOBS did not acknowledge a task: {e}"))
        })?;
    }
    tracing::info!(job = %job_id, tasks, skipped, "sweep submitted");
    Ok(SweepAccepted {
        job_id,
        tasks,
        skipped,
    })
}
