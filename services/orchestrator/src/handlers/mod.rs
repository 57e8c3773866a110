//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod batch;
mod predict;
mod status;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::orchestrator as s};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::PREDICT,
            "One decision (action, size, confidence, reasons) with every step's result and time",
            {
                let c = ctx.clone();
                move |rc, req| predict::handle(c.clone(), rc, req)
            },
        )
        .json(s::BATCH, "orchestrator.predict for many symbols", {
            let c = ctx.clone();
            move |rc, req| batch::handle(c.clone(), rc, req)
        })
        .json(
            s::STATUS,
            "The whole system: services, streams, strategies, accounts, breakers",
            {
                let c = ctx.clone();
                move |rc, req| status::handle(c.clone(), rc, req)
            },
        )
}
