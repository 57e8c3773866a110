//! `orders.submit`: see `crate::submit` for the path an order takes.

use std::sync::Arc;

use bus::api::orders::SubmitRequest;
use bus::{RequestContext, ServiceError};
use trading::Order;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: SubmitRequest,
) -> Result<Order, ServiceError> {
    crate::submit::submit(&ctx, req, &rc.correlation_id).await
}
