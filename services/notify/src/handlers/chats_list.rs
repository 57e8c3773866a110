//! `notify.chats.list`: KV chats and those given in the configuration.

use std::sync::Arc;

use bus::api::notify::{ChatsResponse, Empty};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: Empty,
) -> Result<ChatsResponse, ServiceError> {
    Ok(ChatsResponse {
        chats: ctx.store.all_chats(),
    })
}
