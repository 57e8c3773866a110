//! `notify.channels.set`: validates a channel for its type and stores it in
//! `notify-channels` (applied at once here, within a watch elsewhere).

use std::sync::Arc;

use bus::api::notify::{Channel, ChannelType, ChannelView};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    channel: Channel,
) -> Result<ChannelView, ServiceError> {
    validate(&channel)?;
    ctx.store
        .channels
        .put(&channel.name, &channel)
        .await
        .map_err(|e| super::unavailable("store the channel", e))?;
    tracing::info!(correlation_id = %rc.correlation_id, channel = %channel.name, kind = ?channel.kind, "channel set");
    Ok(super::view(&channel))
}

fn validate(c: &Channel) -> Result<(), ServiceError> {
    bus::error::check_id("channel name", &c.name)?;
    let bad = |m: &str| {
        Err(ServiceError::bad_request(format!(
            "channel {}: {m}",
            c.name
        )))
    };
    if c.secret_env.is_some() && c.secret_file.is_some() {
        return bad("give secret_env or secret_file, not both");
    }
    if let Some(url) = &c.url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return bad("url must start with http:// or https://");
        }
    }
    let has_secret = c.secret_env.is_some() || c.secret_file.is_some();
    match c.kind {
        ChannelType::Webhook if c.url.is_none() => bad("a webhook needs url"),
        ChannelType::Discord | ChannelType::Slack if c.url.is_none() && !has_secret => {
            bad("needs url, or the URL in secret_env / secret_file")
        }
        ChannelType::Telegram if c.chat_id.is_none() => bad("telegram needs chat_id"),
        ChannelType::Telegram if !has_secret => {
            bad("telegram needs the bot token in secret_env or secret_file")
        }
        ChannelType::Email => match &c.smtp {
            None => bad("email needs smtp {host, from, to}"),
            Some(s) if s.to.is_empty() => bad("email needs at least one address in smtp.to"),
            Some(s) if s.username.is_some() && !has_secret => {
                bad("an smtp username needs the password in secret_env or secret_file")
            }
            Some(s) => {
                for address in std::iter::once(&s.from).chain(&s.to) {
                    if address.parse::<lettre::message::Mailbox>().is_err() {
                        return bad(&format!("{address:?} is not an email address"));
                    }
                }
                Ok(())
            }
        },
        _ => Ok(()),
    }
}
