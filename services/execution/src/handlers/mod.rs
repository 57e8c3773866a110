//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod cancel;
mod get;
mod list;
mod submit;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::execution as s, ServiceError};
use trading::Order;

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::SUBMIT,
            "Submit an order (idempotent per account and client_order_id); risk checks it first",
            {
                let c = ctx.clone();
                move |rc, req| submit::handle(c.clone(), rc, req)
            },
        )
        .json(s::CANCEL, "Cancel a working order", {
            let c = ctx.clone();
            move |rc, req| cancel::handle(c.clone(), rc, req)
        })
        .json(s::GET, "One order by account and client_order_id", {
            let c = ctx.clone();
            move |rc, req| get::handle(c.clone(), rc, req)
        })
        .json(
            s::LIST,
            "Orders by account, symbol, status; newest first",
            {
                let c = ctx.clone();
                move |rc, req| list::handle(c.clone(), rc, req)
            },
        )
}

/// The order, catching up with ORDERS once if this instance does not have it.
pub(crate) async fn find(
    ctx: &Ctx,
    account: &str,
    client_order_id: &str,
) -> Result<Order, ServiceError> {
    if !trading::valid_id(account) || !trading::valid_id(client_order_id) {
        return Err(ServiceError::bad_request(
            "account and client_order_id are 1 to 64 of A-Z a-z 0-9 - _",
        ));
    }
    let id = trading::order::order_id(account, client_order_id);
    if let Some(o) = ctx.oms.lock().order(&id).cloned() {
        return Ok(o);
    }
    let _ = ctx.applied.catch_up(ctx.config.catch_up_timeout).await;
    let found = ctx.oms.lock().order(&id).cloned();
    found.ok_or_else(|| {
        ServiceError::not_found(format!("no order {client_order_id} in account {account}"))
    })
}
