//! `risk.check`: the order against the account's trading state and limits.
//! Accepted checks that name a client order id reserve room for the order;
//! rejections publish a `RISK_ALERT` (without delaying the answer).

use std::sync::Arc;

use bus::api::risk::{CheckRequest, CheckResponse, RejectCode, TradingState};
use bus::{RequestContext, ServiceError};
use model::Decimal;

use crate::alerts::{self, AlertSpec};
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: CheckRequest,
) -> Result<CheckResponse, ServiceError> {
    if req.qty <= Decimal::ZERO {
        return Err(ServiceError::bad_request(format!(
            "qty must be positive, got {}",
            req.qty
        )));
    }
    if let Some(p) = req.price {
        if p <= Decimal::ZERO {
            return Err(ServiceError::bad_request(format!(
                "price must be positive, got {p}"
            )));
        }
    }
    super::known_account(&ctx, &req.account).await?;
    let (limits, _) = ctx.settings.limits_of(&req.account);
    let state = ctx.settings.state_of(&req.account).state;
    let violations = {
        let mut view = ctx.view.lock().unwrap();
        let price = match req.price.or_else(|| view.price(&req.account, &req.symbol)) {
            Some(p) => p,
            None => {
                return Err(ServiceError::bad_request(format!(
                    "no price known for {}: pass price",
                    req.symbol
                )))
            }
        };
        let facts = view.facts(&req.account, &req.symbol, price, ctx.config.reservation_ttl);
        let input = facts.input(&req.symbol, req.side, req.qty, price, req.reduce_only);
        let violations = trading::risk::check(&limits, state, &input);
        if violations.is_empty() {
            if let Some(coid) = &req.client_order_id {
                let order_id = trading::order::order_id(&req.account, coid);
                view.reserve(&req.account, order_id, &req.symbol, req.side, req.qty);
            }
        }
        violations
    };
    let accepted = violations.is_empty();
    if !accepted {
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
