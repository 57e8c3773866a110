//! `strategy.list`: every strategy with its status.

use std::sync::Arc;

use bus::api::strategy::{ListRequest, ListResponse};
use bus::{RequestContext, ServiceError};

use super::start::store_error;
use super::status::status_of;
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: ListRequest,
) -> Result<ListResponse, ServiceError> {
    let records = ctx.records.all().await.map_err(store_error)?;
    let mut strategies = Vec::with_capacity(records.len());
    for record in records {
        strategies.push(status_of(&ctx, record).await?);
    }
    Ok(ListResponse { strategies })
}
