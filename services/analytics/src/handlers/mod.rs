//! One file per endpoint; this registers them.

mod performance_get;
mod report_get;

use std::sync::Arc;

use bus::{subjects::analytics as a, BusError, EndpointSpec, MicroService};

use crate::Ctx;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "performance_get",
                subject: a::PERFORMANCE_GET,
                description: "Statistics of a backtest and its excess over buy & hold",
            },
            move |rc, req| performance_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx;
    service
        .add_endpoint(
            EndpointSpec {
                name: "report_get",
                subject: a::REPORT_GET,
                description:
                    "A backtest report as JSON or as a self-contained HTML page with SVG charts",
            },
            move |rc, req| report_get::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
}
