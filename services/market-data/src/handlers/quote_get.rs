//! `md.quote.get`: the last quote of a symbol, from memory (the hot path).

use std::sync::Arc;

use bus::api::md::{QuoteRequest, QuoteResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: QuoteRequest,
) -> Result<QuoteResponse, ServiceError> {
    ctx.state.quote(&req.symbol).ok_or_else(|| {
        ServiceError::not_found(format!(
            "unknown symbol {}: no bars or quotes stored (see md.symbols.list)",
            req.symbol
        ))
    })
}
