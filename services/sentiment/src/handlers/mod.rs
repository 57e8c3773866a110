//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod batch;
mod score;
mod symbol_get;

use std::sync::Arc;

use bus::api::sentiment::MAX_TEXT_BYTES;
use bus::{runner::Endpoints, subjects::sentiment as s, ServiceError};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(s::SCORE, "VADER scores (with finance terms) of one text", {
            let c = ctx.clone();
            move |rc, req| score::handle(c.clone(), rc, req)
        })
        .json(s::BATCH, "Scores of many texts, in order", {
            let c = ctx.clone();
            move |rc, req| batch::handle(c.clone(), rc, req)
        })
        .json(
            s::SYMBOL_GET,
            "Decayed mean sentiment of a symbol's news in a time window",
            {
                let c = ctx.clone();
                move |rc, req| symbol_get::handle(c.clone(), rc, req)
            },
        )
}

pub(crate) fn check_text(what: &str, text: &str) -> Result<(), ServiceError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ServiceError::bad_request(format!(
            "{what} is {} bytes; at most {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    Ok(())
}
