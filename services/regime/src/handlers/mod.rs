//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod get;
mod models_list;
mod train;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::regime as s};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::GET,
            "A symbol's current regime: label, probabilities, features, as-of bar",
            {
                let c = ctx.clone();
                move |rc, req| get::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::TRAIN,
            "Retrain a symbol's regime models now: a new version of each, stored and announced",
            {
                let c = ctx.clone();
                move |rc, req| train::handle(c.clone(), rc, req)
            },
        )
        .json(s::MODELS_LIST, "Stored model versions", {
            let c = ctx.clone();
            move |rc, req| models_list::handle(c.clone(), rc, req)
        })
}
