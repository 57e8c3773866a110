//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod account_open;
mod positions_get;
mod protection_set;
mod summary_get;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::portfolio as s, ServiceError};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::ACCOUNT_OPEN,
            "Open an account with cash (once; again returns it)",
            {
                let c = ctx.clone();
                move |rc, req| account_open::handle(c.clone(), rc, req)
            },
        )
        .json(s::SUMMARY_GET, "Cash, equity, P&L of an account", {
            let c = ctx.clone();
            move |rc, req| summary_get::handle(c.clone(), rc, req)
        })
        .json(s::POSITIONS_GET, "Open positions of an account", {
            let c = ctx.clone();
            move |rc, req| positions_get::handle(c.clone(), rc, req)
        })
        .json(
            s::PROTECTION_SET,
            "Stop-loss and take-profit of a position",
            {
                let c = ctx.clone();
                move |rc, req| protection_set::handle(c.clone(), rc, req)
            },
        )
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
    if ctx.book.lock().ledgers.contains_key(account) {
        Ok(())
    } else {
        Err(ServiceError::not_found(format!(
            "unknown account {account}: open it with portfolio.account.open"
        )))
    }
}
