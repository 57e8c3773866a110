//! One file per endpoint; this registers them.

mod cancel;
mod get;
mod list;
mod submit;

use std::sync::Arc;

use bus::{subjects::execution as s, BusError, EndpointSpec, MicroService, ServiceError};
use trading::Order;

use crate::Ctx;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "submit",
                subject: s::SUBMIT,
                description: "Submit an order (idempotent per account and client_order_id); risk checks it first",
            },
            move |rc, req| submit::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "cancel",
                subject: s::CANCEL,
                description: "Cancel a working order",
            },
            move |rc, req| cancel::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "get",
                subject: s::GET,
                description: "One order by account and client_order_id",
            },
            move |rc, req| get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "list",
                subject: s::LIST,
                description: "Orders by account, symbol, status; newest first",
            },
            move |rc, req| list::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
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
    if let Some(o) = ctx.oms.lock().unwrap().order(&id).cloned() {
        return Ok(o);
    }
    let _ = ctx.applied.catch_up(ctx.config.catch_up_timeout).await;
    let found = ctx.oms.lock().unwrap().order(&id).cloned();
    found.ok_or_else(|| {
        ServiceError::not_found(format!("no order {client_order_id} in account {account}"))
    })
}
