//! A request's source → the backtest report it is about, and the prices it
//! traded on.

use bus::api::analytics::{AccountEquity, Performance, Source};
use bus::api::backtest::{BacktestReport, JobRecord, RunRequest, StrategySpec};
use bus::{queries, request, subjects, RequestContext, RequestOptions, ServiceError};

use crate::html::Price;
use crate::Ctx;

/// Most bars a price chart reads (the chart thins them anyway).
const MAX_PRICE_BARS: usize = 200_000;

/// What a source stands for.
pub struct Sourced {
    pub report: BacktestReport,
    /// Closes of the bars it ran over (empty when they could not be read: the
    /// page then has no price chart).
    pub prices: Vec<Price>,
    /// The backtest behind it (none for an account).
    pub run: Option<RunRequest>,
}

pub async fn report(
    ctx: &Ctx,
    rc: &RequestContext,
    source: &Source,
) -> Result<BacktestReport, ServiceError> {
    match basis(ctx, source).await? {
        Basis::Run(run) => backtest(ctx, rc, &run).await,
        Basis::Account {
            account,
            benchmark,
            timeframe,
            equity,
        } => crate::account::report(ctx, rc, account, benchmark, timeframe, equity)
            .await
            .map(|(report, _)| report),
    }
}

/// The report with its prices and run, for a page.
pub async fn sourced(
    ctx: &Ctx,
    rc: &RequestContext,
    source: &Source,
) -> Result<Sourced, ServiceError> {
    match basis(ctx, source).await? {
        Basis::Run(run) => {
            let report = backtest(ctx, rc, &run).await?;
            let prices = prices(ctx, rc, &run).await;
            Ok(Sourced {
                report,
                prices,
                run: Some(*run),
            })
        }
        Basis::Account {
            account,
            benchmark,
            timeframe,
            equity,
        } => {
            let (report, bars) =
                crate::account::report(ctx, rc, account, benchmark, timeframe, equity).await?;
            Ok(Sourced {
                report,
                prices: bars.iter().map(Price::of).collect(),
                run: None,
            })
        }
    }
}

/// The closes a backtest ran over: inline bars as given, stored ones read again
/// (a failure only costs the price chart, so it is logged, not returned).
async fn prices(ctx: &Ctx, rc: &RequestContext, run: &RunRequest) -> Vec<Price> {
    use rust_decimal::prelude::ToPrimitive;
    let data = &run.data;
    if let Some(bars) = &data.bars {
        return bars
            .iter()
            .map(|b| Price {
                ts: b.ts,
                close: b.close.to_f64().unwrap_or(0.0),
            })
            .collect();
    }
    let Some(symbol) = &data.symbol else {
        return Vec::new();
    };
    match queries::fetch_bars(
        &ctx.client,
        symbol,
        data.timeframe,
        (data.from, data.to),
        MAX_PRICE_BARS,
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(rc.correlation_id.clone()),
        },
    )
    .await
    {
        Ok(bars) => bars.iter().map(Price::of).collect(),
        Err(e) => {
            tracing::warn!(%symbol, error = %e, "no price chart: bars unavailable");
            Vec::new()
        }
    }
}

/// What a report is computed from: a backtest to run, or an account's history.
enum Basis<'a> {
    Run(Box<RunRequest>),
    Account {
        account: &'a str,
        benchmark: Option<&'a model::Symbol>,
        timeframe: Option<model::Timeframe>,
        equity: AccountEquity,
    },
}

async fn basis<'a>(ctx: &Ctx, source: &'a Source) -> Result<Basis<'a>, ServiceError> {
    Ok(match source {
        Source::Backtest(req) => Basis::Run(Box::new(RunRequest {
            include_equity: true,
            ..(**req).clone()
        })),
        Source::SweepResult { job_id, index } => {
            Basis::Run(Box::new(sweep_run(ctx, job_id, *index).await?))
        }
        Source::Account {
            account,
            benchmark,
            timeframe,
            equity,
        } => Basis::Account {
            account,
            benchmark: benchmark.as_ref(),
            timeframe: *timeframe,
            equity: *equity,
        },
    })
}

async fn backtest(
    ctx: &Ctx,
    rc: &RequestContext,
    run: &RunRequest,
) -> Result<BacktestReport, ServiceError> {
    request(
        &ctx.client,
        subjects::backtest::RUN,
        run,
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
        exits: None,
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
