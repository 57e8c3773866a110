//! `risk.check`: the order against the account's trading state and limits.
//! Accepted checks that name a client order id reserve room for the order;
//! rejections publish a `RISK_ALERT` (without delaying the answer).
//!
//! The check is decided by the instance that owns the account's partition
//! (`partitions`): here when that is this instance, otherwise forwarded to
//! `risk.internal.check.<partition>` and the owner's answer returned as is.
//! With no owner reachable (one just died, or is handing over) the forward is
//! retried for `owner_wait`, then the check fails with 503: risk never decides
//! an account it does not own, since that is exactly when limits would be
//! counted twice.

use std::sync::Arc;
use std::time::Duration;

use bus::api::risk::{CheckRequest, CheckResponse, RejectCode, TradingState};
use bus::{subjects, ErrorKind, RequestContext, RequestError, RequestOptions, ServiceError};
use tokio::time::Instant;
use trading::money;

use crate::alerts::{self, AlertSpec};
use crate::partitions::partition_of;
use crate::Ctx;

/// Pause between tries while a partition has no reachable owner.
const RETRY_PAUSE: Duration = Duration::from_millis(25);

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: CheckRequest,
) -> Result<CheckResponse, ServiceError> {
    validate(&req)?;
    let partition = partition_of(&req.account, ctx.ownership.partitions());
    if ctx.ownership.owns(partition) {
        return decide(ctx, rc, req).await;
    }
    forward(ctx, rc, req, partition).await
}

/// Sends the check to its partition's owner, retrying while there is none.
async fn forward(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: CheckRequest,
    partition: u16,
) -> Result<CheckResponse, ServiceError> {
    let subject = subjects::risk::internal_check(partition);
    let deadline = Instant::now() + ctx.config.owner_wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let options = RequestOptions {
            timeout: ctx.config.forward_timeout.min(left).max(RETRY_PAUSE),
            correlation_id: Some(rc.correlation_id.clone()),
        };
        let why = match bus::request::<_, CheckResponse>(&ctx.client, &subject, &req, options).await
        {
            Ok(answer) => return Ok(answer),
            // The instance answering no longer owns the partition (it is
            // handing over): ask again, the next owner will answer.
            Err(RequestError::Service(e)) if e.kind == ErrorKind::Conflict => e.message,
            Err(RequestError::Service(e)) => return Err(e),
            Err(RequestError::Decode { message, .. }) => {
                return Err(ServiceError::internal(format!(
                    "the owner of partition {partition} answered something unreadable: {message}"
                )))
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() + RETRY_PAUSE >= deadline {
            tracing::warn!(correlation_id = %rc.correlation_id, partition, reason = %why, "no risk instance decides this account");
            return Err(ServiceError::unavailable(format!(
                "no risk instance owns partition {partition} of account {} right now ({why}): retry",
                req.account
            )));
        }
        tokio::time::sleep(RETRY_PAUSE).await;
        // This instance may have taken the partition meanwhile.
        if ctx.ownership.owns(partition) {
            return decide(ctx, rc, req).await;
        }
    }
}

/// What is wrong with the request itself, whoever owns the account: qty and
/// price within `trading::money`'s bounds (400 naming the field).
pub(crate) fn validate(req: &CheckRequest) -> Result<(), ServiceError> {
    super::valid_account(&req.account)?;
    money::check_qty("qty", req.qty).map_err(|e| bus::error::money_error(&e))?;
    if req.commission_pct < model::Decimal::ZERO
        || req.commission_pct >= model::Decimal::ONE
        || req.commission_fixed < model::Decimal::ZERO
    {
        return Err(ServiceError::bad_request(
            "commission_pct must be in [0, 1) and commission_fixed not negative",
        ));
    }
    money::check_cash("commission_fixed", req.commission_fixed)
        .map_err(|e| bus::error::money_error(&e))?;
    if let Some(p) = req.price {
        money::check_price("price", p).map_err(|e| bus::error::money_error(&e))?;
    }
    Ok(())
}

/// Decides here, from this instance's view: only for accounts it owns.
pub(crate) async fn decide(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: CheckRequest,
) -> Result<CheckResponse, ServiceError> {
    super::known_account(&ctx, &req.account).await?;
    if let Some(sequence) = req.orders_sequence {
        if !ctx.orders.wait(sequence, ctx.config.catch_up_timeout).await {
            tracing::warn!(correlation_id = %rc.correlation_id, sequence,
                "risk decides before applying the ORDERS sequence the order was sized on");
        }
    }
    let (limits, _) = ctx.settings.limits_of(&req.account);
    let state = ctx.settings.state_of(&req.account).state;
    let violations = {
        let mut view = ctx.view.lock();
        let price = match req.price.or_else(|| view.price(&req.account, &req.symbol)) {
            Some(p) => p,
            None => {
                return Err(ServiceError::bad_request(format!(
                    "no price known for {}: pass price",
                    req.symbol
                )))
            }
        };
        let order_id = req
            .client_order_id
            .as_deref()
            .map(|coid| trading::order::order_id(&req.account, coid));
        // Nothing below writes before the last fallible step: an order whose
        // numbers overflow (a 422 naming them) reserves nothing.
        let facts = view.facts(
            &req.account,
            &req.symbol,
            price,
            ctx.config.reservation_ttl,
            order_id.as_deref(),
        )?;
        let fees = trading::Fees {
            pct: req.commission_pct,
            fixed: req.commission_fixed,
        };
        let input = facts.input(&req.symbol, req.side, req.qty, price, req.reduce_only, fees);
        let violations = trading::risk::check(&limits, state, &input)?;
        if violations.is_empty() {
            if let Some(order_id) = order_id {
                view.reserve(&req.account, order_id, &req.symbol, req.side, req.qty);
            }
        }
        violations
    };
    let accepted = violations.is_empty();
    if !accepted {
        bus::metrics::risk_rejection(violations[0].code);
        tracing::info!(
            correlation_id = %rc.correlation_id,
            account = %req.account,
            symbol = %req.symbol,
            code = ?violations[0].code,
            "order rejected by risk"
        );
        let daily_loss = violations
            .iter()
            .find(|v| v.code == RejectCode::DailyLossLimit)
            .and_then(|v| v.actual);
        let ctx = ctx.clone();
        let account = req.account.clone();
        let correlation_id = rc.correlation_id.clone();
        let message = format!(
            "order {} {} {} rejected: {}",
            side_name(req.side),
            req.qty,
            req.symbol,
            violations[0].message
        );
        let v = violations.clone();
        let coid = req.client_order_id.clone();
        tokio::spawn(async move {
            alerts::publish(
                &ctx,
                AlertSpec {
                    account: &account,
                    severity: alerts::WARNING,
                    message,
                    violations: v,
                    state,
                    client_order_id: coid,
                },
                &correlation_id,
            )
            .await;
            if let (Some(loss), true) = (daily_loss, state != TradingState::Halted) {
                super::halt_for_daily_loss(&ctx, &account, -loss, &correlation_id).await;
            }
        });
    }
    Ok(CheckResponse {
        accepted,
        account: req.account,
        state,
        violations,
    })
}

fn side_name(side: model::Side) -> &'static str {
    match side {
        model::Side::Buy => "buy",
        model::Side::Sell => "sell",
    }
}
