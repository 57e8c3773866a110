//! One file per endpoint; this registers them.

mod job_cancel;
mod job_get;
mod run;
mod sweep_submit;

use std::sync::Arc;

use bus::api::backtest::SweepResult;
use bus::{subjects::backtest as b, BusError, EndpointSpec, MicroService};

use crate::Ctx;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "run",
                subject: b::RUN,
                description:
                    "One backtest over stored or inline bars, answered with the full report",
            },
            move |rc, req| run::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "sweep_submit",
                subject: b::SWEEP_SUBMIT,
                description:
                    "A parameter sweep (grid or random) split into tasks on the JOBS work queue",
            },
            move |rc, req| sweep_submit::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "job_get",
                subject: b::JOB_GET,
                description: "Progress of a sweep and its best results so far",
            },
            move |rc, req| job_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx;
    service
        .add_endpoint(
            EndpointSpec {
                name: "job_cancel",
                subject: b::JOB_CANCEL,
                description: "Cancel a sweep: its remaining tasks are dropped",
            },
            move |rc, req| job_cancel::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
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
