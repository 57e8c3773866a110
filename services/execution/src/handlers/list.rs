//! `orders.list`: what this instance's OMS holds after catching up with ORDERS.

use std::sync::Arc;

use bus::api::orders::{ListRequest, ListResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: ListRequest,
) -> Result<ListResponse, ServiceError> {
    let _ = ctx.applied.catch_up(ctx.config.catch_up_timeout).await;
    let limit = req.limit.unwrap_or(1000).clamp(1, 100_000) as usize;
    let orders = ctx.oms.lock().list(
        req.account.as_deref(),
        req.symbol.as_ref(),
        req.status,
        req.open,
        limit,
    );
    Ok(ListResponse { orders })
}
