//! `orders.cancel`: asks the paper exchange's instance to cancel (so a cancel
//! and a fill of one order are decided in one place), then answers with the
//! order as this instance applied it. With no exchange running nothing can
//! fill, and the cancel is written directly.

use std::sync::Arc;

use bus::api::orders::{ExchangeCancel, ExchangeCancelResponse, OrderRef};
use bus::{subjects, ErrorKind, RequestContext, RequestError, RequestOptions, ServiceError};
use model::UnixNanos;
use trading::event::OrderEvent;
use trading::Order;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: OrderRef,
) -> Result<Order, ServiceError> {
    let order = super::find(&ctx, &req.account, &req.client_order_id).await?;
    if !order.status.is_open() {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            format!(
                "order {} is {:?}, not working",
                order.client_order_id, order.status
            ),
        )
        .with_details(&order));
    }
    let ask = ExchangeCancel {
        order_id: order.id.clone(),
        reason: "canceled by request".to_string(),
    };
    let options = RequestOptions {
        timeout: ctx.config.request_timeout,
        correlation_id: Some(rc.correlation_id.clone()),
    };
    let answer = bus::request::<_, ExchangeCancelResponse>(
        &ctx.client,
        subjects::execution::EXCHANGE_CANCEL,
        &ask,
        options,
    )
    .await;
    let sequence = match answer {
        Ok(stored) => stored.sequence,
        Err(RequestError::Service(e)) if e.kind == ErrorKind::Conflict => {
            let _ = ctx.applied.catch_up(ctx.config.catch_up_timeout).await;
            let now = ctx.oms.lock().order(&order.id).cloned().unwrap_or(order);
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                format!(
                    "order {} could not be canceled: {}",
                    now.client_order_id, e.message
                ),
            )
            .with_details(&now));
        }
        Err(RequestError::NoResponders(_)) => {
            let event = OrderEvent::OrderCanceled {
                order_id: order.id.clone(),
                account: order.account.clone(),
                reason: ask.reason,
                ts: UnixNanos::now(),
            };
            crate::exchange::publish_with_retry(&ctx, &event, &rc.correlation_id)
                .await
                .ok_or_else(|| ServiceError::unavailable("ORDERS did not store the cancel"))?
        }
        Err(RequestError::Timeout(_)) => {
            return Err(ServiceError::unavailable(
                "paper exchange did not answer in time",
            ))
        }
        Err(e) => return Err(ServiceError::unavailable(format!("paper exchange: {e}"))),
    };
    if !ctx
        .applied
        .wait(sequence, ctx.config.catch_up_timeout)
        .await
    {
        return Err(ServiceError::unavailable(
            "cancel stored but not applied here yet",
        ));
    }
    let now = ctx.oms.lock().order(&order.id).cloned();
    now.ok_or_else(|| ServiceError::internal("order vanished"))
}
