//! Works on sweep tasks: one shared durable consumer on JOBS, one message at a
//! time per worker, so tasks spread over every instance. While a backtest runs
//! the task's ack deadline is extended; a worker that dies leaves its task to be
//! redelivered after `ack_wait`. Results are written once (`create`), so a
//! redelivered task finished twice is stored once.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::AckKind;
use async_nats::HeaderMap;
use bus::api::backtest::{BacktestComplete, JobRecord, JobState, Search, SweepResult, SweepTask};
use bus::{headers, subjects};
use futures::StreamExt;
use model::event::types;
use model::{Bar, Event};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::{data, handlers::rank, jobs, search, Ctx, Error};
use bus::BusError;

type BarCache = Arc<Mutex<Option<(String, Arc<Vec<Bar>>)>>>;

pub async fn run(ctx: Arc<Ctx>, tasks: Stream, stop: watch::Receiver<bool>) -> Result<(), Error> {
    let consumer = tasks
        .get_or_create_consumer(
            subjects::backtest::WORKERS,
            pull::Config {
                durable_name: Some(subjects::backtest::WORKERS.to_string()),
                description: Some("backtest sweep workers (shared)".to_string()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: ctx.config.ack_wait,
                max_ack_pending: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| BusError::jetstream("create the workers consumer", e))?;
    let cache: BarCache = Arc::default();
    let mut loops = Vec::new();
    for _ in 0..ctx.config.workers.max(1) {
        let messages = consumer
            .stream()
            .max_messages_per_batch(1)
            .messages()
            .await
            .map_err(|e| BusError::jetstream("pull sweep tasks", e))?;
        loops.push(tokio::spawn(work(
            ctx.clone(),
            messages,
            cache.clone(),
            stop.clone(),
        )));
    }
    for l in loops {
        let _ = l.await;
    }
    Ok(())
}

async fn work(
    ctx: Arc<Ctx>,
    mut messages: pull::Stream,
    cache: BarCache,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            next = messages.next() => next,
        };
        match next {
            Some(Ok(message)) => {
                // A task goes on with the trace of the sweep request that made it.
                let trace = bus::trace::continue_from(message.headers.as_ref());
                let span =
                    bus::trace_span!("sweep task", trace, service = subjects::backtest::SERVICE);
                bus::trace::in_span(trace, span, process(&ctx, message, &cache)).await
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "sweep task stream error");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None => return,
        }
    }
}

async fn process(ctx: &Ctx, message: async_nats::jetstream::Message, cache: &BarCache) {
    let task: SweepTask = match serde_json::from_slice(&message.payload) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "poison sweep task terminated");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let span = tracing::info_span!("sweep_task", job = %task.job_id, index = task.index);
    let _guard = span.enter();
    let job = match ctx.jobs.get(&task.job_id).await {
        Ok(Some((job, _))) => job,
        Ok(None) => {
            tracing::warn!("task of an unknown job terminated");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e.message, "job store unavailable; retrying the task later");
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
            return;
        }
    };
    if job.state == JobState::Canceled || ctx.jobs.has_result(&job.job_id, task.index).await {
        let _ = message.ack().await;
        return;
    }
    let Some(params) = job.param_sets.get(task.index as usize).cloned() else {
        let _ = message.ack_with(AckKind::Term).await;
        return;
    };
    let bars = match bars_for(ctx, &job, cache).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e.message, "no bars for the task; retrying later");
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
            return;
        }
    };

    // Run the backtest off the async threads, extending the deadline meanwhile.
    let request = job.request.clone();
    let kind = request.kind.clone();
    let run_params = params.clone();
    let mut run = tokio::task::spawn_blocking(move || {
        let symbol = bars[0].symbol.clone();
        let timeframe = bars[0].timeframe;
        let mut s =
            strategy::build(&kind, &run_params, symbol, timeframe).map_err(|e| e.to_string())?;
        backtest::run(
            &bars,
            s.as_mut(),
            &backtest::BacktestConfig {
                cash: request.cash,
                commission: request.commission,
                finalize_trades: request.finalize_trades,
                sizing: Default::default(),
                sizing_at: Default::default(),
                exits: None,
            },
        )
        .map_err(|e| e.to_string())
    });
    let report = loop {
        tokio::select! {
            done = &mut run => break done,
            _ = tokio::time::sleep(ctx.config.ack_wait / 3) => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    let report = match report {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "backtest failed; task terminated");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "backtest panicked; task terminated");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let result = SweepResult {
        index: task.index,
        params,
        objective: job.request.objective.of(&report.stats),
        stats: report.stats,
        worker: ctx.instance.clone(),
    };
    if let Err(e) = ctx.jobs.put_result(&job.job_id, &result).await {
        tracing::warn!(error = %e.message, "result not stored; retrying the task later");
        let _ = message
            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
            .await;
        return;
    }
    let _ = message.ack().await;
    finish_if_complete(ctx, &job.job_id).await;
}

async fn bars_for(
    ctx: &Ctx,
    job: &JobRecord,
    cache: &BarCache,
) -> Result<Arc<Vec<Bar>>, bus::ServiceError> {
    if let Some((id, bars)) = cache.lock().as_ref() {
        if *id == job.job_id {
            return Ok(bars.clone());
        }
    }
    let bars = Arc::new(data::load(ctx, &job.request.data, &job.job_id).await?);
    *cache.lock() = Some((job.job_id.clone(), bars.clone()));
    Ok(bars)
}

/// When every queued task has a result: breed and queue the next generation
/// (genetic search), or mark the job done and publish `BACKTEST_COMPLETE` once
/// (de-duplicated by its message id). Workers race here harmlessly: the job
/// record is updated with compare-and-set, and the next generation is the
/// same whoever computes it.
async fn finish_if_complete(ctx: &Ctx, job_id: &str) {
    let Ok(Some((mut job, revision))) = ctx.jobs.get(job_id).await else {
        return;
    };
    let queued = job.param_sets.len() as u32;
    if job.state != JobState::Running || ctx.jobs.count(job_id).await.unwrap_or(0) < queued {
        return;
    }
    let results = ctx.jobs.results(job_id).await.unwrap_or_default();
    if let Search::Genetic {
        population,
        generations,
        seed,
        mutation,
    } = job.request.search
    {
        if job.generation + 1 < generations {
            let scored: Vec<_> = results
                .iter()
                .map(|r| (r.params.clone(), r.objective))
                .collect();
            let next = search::next_generation(
                &job.request.kind,
                &scored,
                &job.param_sets,
                population,
                seed,
                job.generation + 1,
                mutation,
            );
            if !next.is_empty() {
                job.param_sets.extend(next);
                job.generation += 1;
                let total = job.param_sets.len() as u32;
                if ctx.jobs.update(&job, revision).await.unwrap_or(false) {
                    tracing::info!(
                        job = job_id,
                        generation = job.generation,
                        "next generation queued"
                    );
                    if let Err(e) = jobs::enqueue(&ctx.js, job_id, queued..total, job_id).await {
                        tracing::warn!(error = %e.message, "next generation not queued");
                    }
                }
                return;
            }
        }
    }
    let total = queued;
    let best = rank(results).into_iter().next();
    job.state = JobState::Done;
    if !ctx.jobs.update(&job, revision).await.unwrap_or(false) {
        return; // another worker got there first
    }
    let msg_id = format!("complete:{job_id}");
    let event = Event::new(
        msg_id.clone(),
        types::BACKTEST_COMPLETE,
        job_id,
        subjects::backtest::SERVICE,
        BacktestComplete {
            job_id: job_id.to_string(),
            tasks: total,
            best,
        },
    );
    let mut hdrs = HeaderMap::new();
    hdrs.insert(headers::MSG_ID, msg_id.as_str());
    hdrs.insert(headers::EVENT_TYPE, types::BACKTEST_COMPLETE);
    hdrs.insert(headers::CORRELATION_ID, job_id);
    bus::trace::inject(&mut hdrs);
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    match ctx
        .js
        .publish_with_headers(subjects::backtest_complete(job_id), hdrs, payload.into())
        .await
    {
        Ok(ack) => {
            if let Err(e) = ack.await {
                tracing::warn!(error = %e, "BACKTEST_COMPLETE not acknowledged");
            }
        }
        Err(e) => tracing::warn!(error = %e, "BACKTEST_COMPLETE not published"),
    }
    tracing::info!(job = job_id, tasks = total, "sweep complete");
}
