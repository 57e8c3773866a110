//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod check;
mod halt;
mod internal_check;
mod limits_get;
mod limits_set;
mod resume;
mod status;

use std::sync::Arc;

use bus::api::risk::TradingState;
use bus::{runner::Endpoints, subjects::risk as s, ServiceError};
use model::Decimal;

use crate::alerts::{self, AlertSpec};
use crate::Ctx;

pub use halt::halt_for_daily_loss;
pub use internal_check::serve as serve_internal_check;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::CHECK,
            "Would this order pass? Accept, or reject with reason codes and the limits hit",
            {
                let c = ctx.clone();
                move |rc, req| check::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::LIMITS_GET,
            "An account's limits (defaults when none are set)",
            {
                let c = ctx.clone();
                move |rc, req| limits_get::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::LIMITS_SET,
            "Replace an account's limits; applies to the next order",
            {
                let c = ctx.clone();
                move |rc, req| limits_set::handle(c.clone(), rc, req)
            },
        )
        .json(s::HALT, "Halt an account: every order is rejected", {
            let c = ctx.clone();
            move |rc, req| halt::handle(c.clone(), rc, req, TradingState::Halted)
        })
        .json(
            s::REDUCE,
            "Put an account in REDUCING: only orders that reduce a position pass",
            {
                let c = ctx.clone();
                move |rc, req| halt::handle(c.clone(), rc, req, TradingState::Reducing)
            },
        )
        .json(s::RESUME, "Back to ACTIVE", {
            let c = ctx.clone();
            move |rc, req| resume::handle(c.clone(), rc, req)
        })
        .json(
            s::STATUS,
            "An account's state, limits and what risk knows of it",
            {
                let c = ctx.clone();
                move |rc, req| status::handle(c.clone(), rc, req)
            },
        )
}

pub(crate) fn valid_account(account: &str) -> Result<(), ServiceError> {
    bus::error::check_id("account", account)
}

/// The account must have been opened (waits once for this instance to catch up).
pub(crate) async fn known_account(ctx: &Ctx, account: &str) -> Result<(), ServiceError> {
    valid_account(account)?;
    if ctx.view.lock().known(account) {
        return Ok(());
    }
    ctx.orders
        .catch_up(ctx.config.catch_up_timeout)
        .await
        .map_err(|e| ServiceError::unavailable(e.to_string()))?;
    if ctx.view.lock().known(account) {
        Ok(())
    } else {
        Err(ServiceError::not_found(format!(
            "unknown account {account}: open it with portfolio.account.open"
        )))
    }
}

pub(crate) fn non_negative(name: &str, v: Option<Decimal>) -> Result<(), ServiceError> {
    match v {
        Some(v) if v < Decimal::ZERO => Err(ServiceError::bad_request(format!(
            "{name} must not be negative, got {v}"
        ))),
        _ => Ok(()),
    }
}

pub(crate) async fn state_alert(
    ctx: &Ctx,
    account: &str,
    state: TradingState,
    reason: &str,
    correlation_id: &str,
) {
    let severity = match state {
        TradingState::Halted => alerts::CRITICAL,
        TradingState::Reducing => alerts::WARNING,
        TradingState::Active => alerts::INFO,
    };
    alerts::publish(
        ctx,
        AlertSpec {
            account,
            severity,
            message: format!("account {account} is now {state:?}: {reason}"),
            violations: Vec::new(),
            state,
            client_order_id: None,
        },
        correlation_id,
    )
    .await;
}
