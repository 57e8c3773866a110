//! `notify.chats.set`: a chat on the Telegram allowlist, with its role.

use std::sync::Arc;

use bus::api::notify::Chat;
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(ctx: Arc<Ctx>, rc: RequestContext, chat: Chat) -> Result<Chat, ServiceError> {
    valid_chat_id(&chat.chat_id)?;
    bus::error::check_id("account", &chat.account)?;
    ctx.store
        .chats
        .put(&chat.chat_id, &chat)
        .await
        .map_err(|e| super::unavailable("store the chat", e))?;
    tracing::info!(correlation_id = %rc.correlation_id, chat = %chat.chat_id, role = ?chat.role, "chat allowed");
    Ok(chat)
}

/// Telegram chat ids are integers (negative for groups).
pub fn valid_chat_id(id: &str) -> Result<(), ServiceError> {
    let digits = id.strip_prefix('-').unwrap_or(id);
    if !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "invalid chat id {id:?}: a Telegram chat id is an integer"
        )))
    }
}
