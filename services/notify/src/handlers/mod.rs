//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod channels_delete;
mod channels_list;
mod channels_set;
mod chats_delete;
mod chats_list;
mod chats_set;
mod rules_delete;
mod rules_list;
mod rules_set;
mod test;

use std::sync::Arc;

use bus::api::notify::{Channel, ChannelView};
use bus::{runner::Endpoints, subjects::notify as s, ServiceError};

use crate::channels::redact_url;
use crate::{Ctx, SecretRef};

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    macro_rules! ep {
        ($module:ident) => {{
            let c = ctx.clone();
            move |rc, req| $module::handle(c.clone(), rc, req)
        }};
    }
    Endpoints::new()
        .json(
            s::CHANNELS_LIST,
            "Every channel (URLs cut to their origin, secrets only named)",
            ep!(channels_list),
        )
        .json(
            s::CHANNELS_SET,
            "Create or replace a channel (webhook, discord, slack, telegram, email)",
            ep!(channels_set),
        )
        .json(s::CHANNELS_DELETE, "Delete a channel", ep!(channels_delete))
        .json(s::RULES_LIST, "Every routing rule", ep!(rules_list))
        .json(
            s::RULES_SET,
            "Create or replace a rule: which events (type, severity, account, symbol, strategy) go to a channel",
            ep!(rules_set),
        )
        .json(s::RULES_DELETE, "Delete a rule", ep!(rules_delete))
        .json(
            s::CHATS_LIST,
            "Telegram chats allowed to send commands, with their roles",
            ep!(chats_list),
        )
        .json(
            s::CHATS_SET,
            "Allow a Telegram chat (viewer, trader or admin)",
            ep!(chats_set),
        )
        .json(s::CHATS_DELETE, "Remove a Telegram chat", ep!(chats_delete))
        .json(
            s::TEST,
            "Send a test message to one channel now (one attempt)",
            ep!(test),
        )
}

/// What `notify.channels.list` and `notify.channels.set` show of a channel.
pub(crate) fn view(channel: &Channel) -> ChannelView {
    let secret = SecretRef::of(channel);
    let mut shown = channel.clone();
    shown.url = shown.url.as_deref().map(redact_url);
    ChannelView {
        secret: secret.describe(),
        secret_ok: secret.read().is_ok_and(|v| v.is_some()),
        channel: shown,
    }
}

pub(crate) fn unavailable(what: &str, e: String) -> ServiceError {
    ServiceError::unavailable(format!("cannot {what}: {e}"))
}
