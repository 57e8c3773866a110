//! `md.symbols.list`: every symbol with stored series or quotes.

use std::sync::Arc;

use bus::api::md::{SymbolsRequest, SymbolsResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: SymbolsRequest,
) -> Result<SymbolsResponse, ServiceError> {
    Ok(SymbolsResponse {
        symbols: ctx.state.symbols(),
    })
}
