//! One file per endpoint; this registers them.

mod account_open;
mod positions_get;
mod protection_set;
mod summary_get;

use std::sync::Arc;

use bus::{subjects::portfolio as s, BusError, EndpointSpec, MicroService, ServiceError};

use crate::Ctx;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "account-open",
                subject: s::ACCOUNT_OPEN,
                description: "Open an account with cash (once; again returns it)",
            },
            move |rc, req| account_open::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "summary-get",
                subject: s::SUMMARY_GET,
                description: "Cash, equity, P&L of an account",
            },
            move |rc, req| summary_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "positions-get",
                subject: s::POSITIONS_GET,
                description: "Open positions of an account",
            },
            move |rc, req| positions_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "protection-set",
                subject: s::PROTECTION_SET,
                description: "Stop-loss and take-profit of a position",
            },
            move |rc, req| protection_set::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
}

pub(crate) fn valid_account(account: &str) -> Result<(), ServiceError> {
    bus::error::check_id("account", account)
}

/// Catches up with ORDERS, then checks the account exists.
pub(crate) async fn known(ctx: &Ctx, account: &str) -> Result<(), ServiceError> {
    valid_account(account)?;
    if !ctx.catch_up().await {
        return Err(ServiceError::unavailable(
            "this instance is still catching up with ORDERS; retry",
        ));
    }
    if ctx.book.lock().unwrap().ledgers.contains_key(account) {
        Ok(())
    } else {
        Err(ServiceError::not_found(format!(
            "unknown account {account}: open it with portfolio.account.open"
        )))
    }
}
