//! One file per endpoint; this registers them.

mod check;
mod halt;
mod limits_get;
mod limits_set;
mod resume;
mod status;

use std::sync::Arc;

use bus::api::risk::TradingState;
use bus::{subjects::risk as s, BusError, EndpointSpec, MicroService, ServiceError};
use model::Decimal;

use crate::alerts::{self, AlertSpec};
use crate::Ctx;

pub use halt::halt_for_daily_loss;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "check",
                subject: s::CHECK,
                description:
                    "Would this order pass? Accept, or reject with reason codes and the limits hit",
            },
            move |rc, req| check::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "limits-get",
                subject: s::LIMITS_GET,
                description: "An account's limits (defaults when none are set)",
            },
            move |rc, req| limits_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "limits-set",
                subject: s::LIMITS_SET,
                description: "Replace an account's limits; applies to the next order",
            },
            move |rc, req| limits_set::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "halt",
                subject: s::HALT,
                description: "Halt an account: every order is rejected",
            },
            move |rc, req| halt::handle(c.clone(), rc, req, TradingState::Halted),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "reduce",
                subject: s::REDUCE,
                description: "Put an account in REDUCING: only orders that reduce a position pass",
            },
            move |rc, req| halt::handle(c.clone(), rc, req, TradingState::Reducing),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "resume",
                subject: s::RESUME,
                description: "Back to ACTIVE",
            },
            move |rc, req| resume::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "status",
                subject: s::STATUS,
                description: "An account's state, limits and what risk knows of it",
            },
            move |rc, req| status::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
}

pub(crate) fn valid_account(account: &str) -> Result<(), ServiceError> {
    bus::error::check_id("account", account)
}

/// The account must have been opened (waits once for this instance to catch up).
pub(crate) async fn known_account(ctx: &Ctx, account: &str) -> Result<(), ServiceError> {
    valid_account(account)?;
    if ctx.view.lock().unwrap().known(account) {
        return Ok(());
    }
    ctx.orders
        .catch_up(ctx.config.catch_up_timeout)
        .await
        .map_err(|e| ServiceError::unavailable(e.to_string()))?;
    if ctx.view.lock().unwrap().known(account) {
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
