//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod history;
mod status;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::monitor as s};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::STATUS,
            "Every service instance ($SRV.STATS/INFO), JetStream streams and durable consumers, and the server's view",
            {
                let c = ctx.clone();
                move |rc, req| status::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::HISTORY,
            "Recent SYSTEM_HEALTH samples from the SYSTEM stream, oldest first",
            {
                let c = ctx.clone();
                move |rc, req| history::handle(c.clone(), rc, req)
            },
        )
}
