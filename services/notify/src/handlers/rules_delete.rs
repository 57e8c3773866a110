//! `notify.rules.delete`.

use std::sync::Arc;

use bus::api::notify::{DeleteRequest, DeleteResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: DeleteRequest,
) -> Result<DeleteResponse, ServiceError> {
    bus::error::check_id("rule id", &req.id)?;
    let deleted = ctx.store.rules.get(&req.id).is_some();
    ctx.store
        .rules
        .delete(&req.id)
        .await
        .map_err(|e| super::unavailable("delete the rule", e))?;
    Ok(DeleteResponse {
        id: req.id,
        deleted,
    })
}
