//! Rendering and sending, per kind of channel. A delivery is one notice or a
//! digest of several; it succeeds or fails as a whole, and a failure says
//! whether it is worth retrying and when (`Retry-After`).

mod email;
mod http;
mod telegram;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use bus::api::notify::{Channel, ChannelType, Notice};

use crate::notice::{line, truncate};
use crate::store::hex;
use crate::Ctx;

pub use http::post_json;
pub use telegram::{send_message, TelegramText};

/// Lines of a digest's text before "… and N more".
const DIGEST_LINES: usize = 20;

/// What one send carries.
pub struct Delivery {
    /// Notices and their idempotency keys (`<event id>@<channel>`).
    pub items: Vec<(Arc<Notice>, String)>,
    /// The key of this send: the notice's, or `digest-<hash of the keys>@<channel>`.
    pub key: String,
}

impl Delivery {
    pub fn new(channel: &str, items: Vec<(Arc<Notice>, String)>) -> Delivery {
        let key = if items.len() == 1 {
            items[0].1.clone()
        } else {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            for (_, k) in &items {
                ctx.update(k.as_bytes());
                ctx.update(b"\n");
            }
            format!("digest-{}@{channel}", hex(&ctx.finish().as_ref()[..12]))
        };
        Delivery { items, key }
    }

    pub fn is_digest(&self) -> bool {
        self.items.len() > 1
    }

    /// A short subject line.
    pub fn title(&self) -> String {
        match self.items.as_slice() {
            [(n, _)] => format!("[{}] {}", n.severity.as_str().to_uppercase(), n.title),
            items => format!("{} notifications: {}", items.len(), self.counts()),
        }
    }

    /// `480 ORDER_EXECUTED, 20 RISK_ALERT`.
    fn counts(&self) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for (n, _) in &self.items {
            match counts.iter_mut().find(|(t, _)| *t == n.event_type) {
                Some((_, c)) => *c += 1,
                None => counts.push((n.event_type.clone(), 1)),
            }
        }
        counts
            .iter()
            .map(|(t, c)| format!("{c} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Plain text, at most `max` bytes.
    pub fn text(&self, max: usize) -> String {
        let mut text = match self.items.as_slice() {
            [(n, _)] => line(n),
            items => {
                let mut t = self.title();
                for (n, _) in items.iter().take(DIGEST_LINES) {
                    t.push_str("\n- ");
                    t.push_str(&line(n));
                }
                if items.len() > DIGEST_LINES {
                    t.push_str(&format!("\n… and {} more", items.len() - DIGEST_LINES));
                }
                t
            }
        };
        truncate(&mut text, max);
        text
    }
}

/// Why a send failed.
#[derive(Debug, Clone)]
pub struct SendError {
    /// Never holds a secret (URLs are left out of HTTP errors).
    pub message: String,
    /// The endpoint asked to wait this long.
    pub retry_after: Option<Duration>,
    /// Retrying will not help (a 4xx other than 408/425/429, bad configuration).
    pub permanent: bool,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retry_after: None,
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retry_after: None,
            permanent: true,
        }
    }
}

/// Sends `delivery` to `channel`, once.
pub async fn send(ctx: &Ctx, channel: &Channel, delivery: &Delivery) -> Result<(), SendError> {
    let secret = crate::SecretRef::of(channel);
    match channel.kind {
        ChannelType::Webhook => webhook::send(ctx, channel, &secret, delivery).await,
        ChannelType::Discord => {
            let url = hook_url(channel, &secret)?;
            let body = serde_json::json!({"content": delivery.text(1900)});
            post_json(ctx, &url, &[("Idempotency-Key", &delivery.key)], &body).await?;
            Ok(())
        }
        ChannelType::Slack => {
            let url = hook_url(channel, &secret)?;
            let body = serde_json::json!({"text": delivery.text(3000)});
            post_json(ctx, &url, &[("Idempotency-Key", &delivery.key)], &body).await?;
            Ok(())
        }
        ChannelType::Telegram => {
            let token = secret
                .require("a telegram channel")
                .map_err(SendError::permanent)?;
            let chat = channel
                .chat_id
                .as_deref()
                .ok_or_else(|| SendError::permanent("a telegram channel needs chat_id"))?;
            let base = channel.url.as_deref().unwrap_or(telegram::DEFAULT_API);
            send_message(
                ctx,
                base,
                &token,
                chat,
                TelegramText::Plain(delivery.text(4000)),
            )
            .await
        }
        ChannelType::Email => email::send(ctx, channel, &secret, delivery).await,
    }
}

/// Discord and Slack: the URL, or the secret holding it.
fn hook_url(channel: &Channel, secret: &crate::SecretRef) -> Result<String, SendError> {
    if let Some(url) = &channel.url {
        return Ok(url.clone());
    }
    secret
        .require("a discord or slack channel without url")
        .map_err(SendError::permanent)
}

/// A URL cut to its origin for listings (`https://discord.com/…`): webhook
/// URLs carry their token in the path.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let tail = if rest.len() > authority.len() {
        "/…"
    } else {
        ""
    };
    if scheme.is_empty() {
        format!("{host}{tail}")
    } else {
        format!("{scheme}://{host}{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_path_and_credentials() {
        assert_eq!(
            redact_url("https://discord.com/api/webhooks/1/secret"),
            "https://discord.com/…"
        );
        assert_eq!(redact_url("http://u:p@127.0.0.1:80"), "http://127.0.0.1:80");
        assert_eq!(
            redact_url("https://hooks.slack.com?x=1"),
            "https://hooks.slack.com/…"
        );
    }
}
