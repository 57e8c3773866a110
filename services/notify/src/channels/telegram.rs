//! Telegram Bot API `sendMessage` (notifications and command replies).

use serde_json::json;

use super::{post_json, SendError};
use crate::Ctx;

pub const DEFAULT_API: &str = "https://api.telegram.org";

pub enum TelegramText {
    Plain(String),
    /// HTML (`<pre>` tables); the caller escapes.
    Html(String),
}

pub async fn send_message(
    ctx: &Ctx,
    api_base: &str,
    token: &str,
    chat_id: &str,
    text: TelegramText,
) -> Result<(), SendError> {
    let url = format!("{}/bot{token}/sendMessage", api_base.trim_end_matches('/'));
    let body = match text {
        TelegramText::Plain(t) => json!({"chat_id": chat_id, "text": t}),
        TelegramText::Html(t) => json!({"chat_id": chat_id, "text": t, "parse_mode": "HTML"}),
    };
    let reply = post_json(ctx, &url, &[], &body).await?;
    if reply.get("ok").and_then(|v| v.as_bool()) == Some(false) {
        return Err(SendError::transient(format!(
            "telegram: {}",
            reply
                .get("description")
                .and_then(|d| d.as_str())
                .unwrap_or("not ok")
        )));
    }
    Ok(())
}
