//! One file per endpoint; this registers them.

mod compute;
mod kinds;
mod list;
mod start;
mod status;
mod stop;

use std::sync::Arc;

use bus::{subjects::strategy as s, BusError, EndpointSpec, MicroService};

use crate::Ctx;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "kinds",
                subject: s::KINDS,
                description: "Built-in strategy kinds with their parameters (defaults, ranges)",
            },
            move |rc, req| kinds::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "start",
                subject: s::START,
                description: "Start a strategy on symbols (idempotent per id)",
            },
            move |rc, req| start::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "stop",
                subject: s::STOP,
                description: "Stop a strategy (it keeps its position for a later start)",
            },
            move |rc, req| stop::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "list",
                subject: s::LIST,
                description: "Every strategy with its status",
            },
            move |rc, req| list::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "status",
                subject: s::STATUS,
                description:
                    "One strategy: owner instance, position, pending bars, signals, last signal",
            },
            move |rc, req| status::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx;
    service
        .add_endpoint(
            EndpointSpec {
                name: "ind_compute",
                subject: s::IND_COMPUTE,
                description: "An indicator over stored or inline bars",
            },
            move |rc, req| compute::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
}
