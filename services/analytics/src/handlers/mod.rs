//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod performance_get;
mod report_get;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::analytics as a};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            a::PERFORMANCE_GET,
            "Statistics of a backtest and its excess over buy & hold",
            {
                let c = ctx.clone();
                move |rc, req| performance_get::handle(c.clone(), rc, req)
            },
        )
        .json(
            a::REPORT_GET,
            "A backtest report as JSON or as a self-contained HTML page with SVG charts",
            {
                let c = ctx.clone();
                move |rc, req| report_get::handle(c.clone(), rc, req)
            },
        )
}
