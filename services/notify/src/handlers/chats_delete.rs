//! `notify.chats.delete`.

use std::sync::Arc;

use bus::api::notify::{DeleteRequest, DeleteResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: DeleteRequest,
) -> Result<DeleteResponse, ServiceError> {
    super::chats_set::valid_chat_id(&req.id)?;
    let deleted = ctx.store.chats.get(&req.id).is_some();
    ctx.store
        .chats
        .delete(&req.id)
        .await
        .map_err(|e| super::unavailable("delete the chat", e))?;
    Ok(DeleteResponse {
        id: req.id,
        deleted,
    })
}
