//! `orders.get`.

use std::sync::Arc;

use bus::api::orders::OrderRef;
use bus::{RequestContext, ServiceError};
use trading::Order;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: OrderRef,
) -> Result<Order, ServiceError> {
    super::find(&ctx, &req.account, &req.client_order_id).await
}
