//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod job_cancel;
mod job_get;
mod run;
mod sweep_submit;

use std::sync::Arc;

use bus::api::backtest::SweepResult;
use bus::{runner::Endpoints, subjects::backtest as b};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            b::RUN,
            "One backtest over stored or inline bars, answered with the full report",
            {
                let c = ctx.clone();
                move |rc, req| run::handle(c.clone(), rc, req)
            },
        )
        .json(
            b::SWEEP_SUBMIT,
            "A parameter sweep (grid or random) split into tasks on the JOBS work queue",
            {
                let c = ctx.clone();
                move |rc, req| sweep_submit::handle(c.clone(), rc, req)
            },
        )
        .json(
            b::JOB_GET,
            "Progress of a sweep and its best results so far",
            {
                let c = ctx.clone();
                move |rc, req| job_get::handle(c.clone(), rc, req)
            },
        )
        .json(
            b::JOB_CANCEL,
            "Cancel a sweep: its remaining tasks are dropped",
            {
                let c = ctx.clone();
                move |rc, req| job_cancel::handle(c.clone(), rc, req)
            },
        )
}

/// Best first by the objective; results without a value last; ties by index.
pub(crate) fn rank(mut results: Vec<SweepResult>) -> Vec<SweepResult> {
    results.sort_by(|a, b| match (a.objective, b.objective) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.index.cmp(&b.index)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.index.cmp(&b.index),
    });
    results
}
