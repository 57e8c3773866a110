//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod compute;
mod kinds;
mod list;
mod start;
mod status;
mod stop;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::strategy as s};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::KINDS,
            "Built-in strategy kinds with their parameters (defaults, ranges)",
            {
                let c = ctx.clone();
                move |rc, req| kinds::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::START,
            "Start a strategy on symbols (idempotent per id)",
            {
                let c = ctx.clone();
                move |rc, req| start::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::STOP,
            "Stop a strategy (it keeps its position for a later start)",
            {
                let c = ctx.clone();
                move |rc, req| stop::handle(c.clone(), rc, req)
            },
        )
        .json(s::LIST, "Every strategy with its status", {
            let c = ctx.clone();
            move |rc, req| list::handle(c.clone(), rc, req)
        })
        .json(
            s::STATUS,
            "One strategy: owner instance, position, pending bars, signals, last signal",
            {
                let c = ctx.clone();
                move |rc, req| status::handle(c.clone(), rc, req)
            },
        )
        .json(s::IND_COMPUTE, "An indicator over stored or inline bars", {
            let c = ctx.clone();
            move |rc, req| compute::handle(c.clone(), rc, req)
        })
}
