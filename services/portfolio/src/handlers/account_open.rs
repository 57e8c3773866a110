//! `portfolio.account.open`: an `ACCOUNT_OPENED` event in ORDERS, create-once
//! (`Nats-Expected-Last-Subject-Sequence: 0`): a second open returns the
//! account as it is.

use std::sync::Arc;

use bus::api::portfolio::{OpenAccountRequest, Summary};
use bus::events::{self, PublishError};
use bus::{subjects, RequestContext, ServiceError};
use trading::event::{AccountOpened, OrderEvent};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: OpenAccountRequest,
) -> Result<Summary, ServiceError> {
    super::valid_account(&req.account)?;
    trading::money::check_cash("cash", req.cash).map_err(|e| bus::error::money_error(&e))?;
    let event = OrderEvent::AccountOpened(AccountOpened {
        account: req.account.clone(),
        cash: req.cash,
    });
    match events::publish_order_event(
        &ctx.js,
        &event,
        &rc.correlation_id,
        subjects::portfolio::SERVICE,
    )
    .await
    {
        Ok(stored) => {
            if !ctx.wait_applied(stored.sequence).await {
                return Err(ServiceError::unavailable(
                    "stored, but not applied here yet; retry",
                ));
            }
            tracing::info!(correlation_id = %rc.correlation_id, account = %req.account, cash = %req.cash, "account opened");
        }
        Err(PublishError::NotFirst { .. }) => {
            super::known(&ctx, &req.account).await?;
        }
        Err(e) => return Err(ServiceError::unavailable(e.to_string())),
    }
    let summary = ctx.book.lock().summary(&req.account);
    summary.ok_or_else(|| ServiceError::internal("account missing after opening"))
}
