//! The Telegram command bot: long polling `getUpdates` on one notify
//! instance at a time (an expiring KV lease), the next update id kept in KV
//! `notify-state` (`telegram.offset`) so a restart or another instance goes on
//! where it stopped. The offset is stored before a command runs: a command is
//! executed at most once, even across a crash (a `/halt` is never replayed
//! behind an operator's back). Chats not on the allowlist get no answer.

mod commands;
mod table;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::lease::Leases;
use bus::subjects::{self, buckets};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::channels::{send_message, TelegramText};
use crate::{Ctx, TelegramBot};

const LEASE_TTL: Duration = Duration::from_secs(6);

pub struct Poller {
    ctx: Arc<Ctx>,
    bot: TelegramBot,
    leases: Leases,
    holding: Arc<AtomicBool>,
}

impl Poller {
    pub async fn open(
        ctx: Arc<Ctx>,
        bot: TelegramBot,
        instance: &str,
    ) -> Result<Poller, bus::BusError> {
        let leases = Leases::open(
            &ctx.js,
            buckets::NOTIFY_LEASES,
            LEASE_TTL,
            ctx.config.stream.replicas,
            instance,
        )
        .await?;
        Ok(Poller {
            ctx,
            bot,
            leases,
            holding: Arc::default(),
        })
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let keeper = keep_lease(self.leases.clone(), self.holding.clone(), stop.clone());
        let poll = async {
            loop {
                if *stop.borrow() {
                    return;
                }
                if !self.holding.load(Ordering::SeqCst) {
                    tokio::select! {
                        _ = bus::follow::stopped(&mut stop) => return,
                        _ = tokio::time::sleep(Duration::from_millis(300)) => continue,
                    }
                }
                tokio::select! {
                    _ = bus::follow::stopped(&mut stop) => return,
                    ok = self.poll_once() => if !ok {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    },
                }
            }
        };
        tokio::join!(keeper, poll);
    }

    async fn offset(&self) -> i64 {
        match self
            .ctx
            .store
            .state
            .get(subjects::notify::TELEGRAM_OFFSET_KEY)
            .await
        {
            Ok(Some(v)) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// One `getUpdates` and its commands; false on a failure (then a pause).
    async fn poll_once(&self) -> bool {
        let token = match self.bot.token.require("the telegram bot") {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "telegram bot without a token");
                return false;
            }
        };
        let offset = self.offset().await;
        let url = format!(
            "{}/bot{token}/getUpdates",
            self.bot.api_base.trim_end_matches('/')
        );
        let body = json!({
            "offset": offset,
            "timeout": self.bot.poll_timeout.as_secs(),
            "allowed_updates": ["message"],
        });
        let response = self
            .ctx
            .http
            .post(&url)
            .timeout(self.bot.poll_timeout + Duration::from_secs(10))
            .json_body(&body)
            .send()
            .await;
        let reply: Value = match response {
            Ok(r) => match r.bytes().await {
                Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
                Err(e) => {
                    tracing::warn!(error = %e.without_url(), "telegram getUpdates");
                    return false;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "telegram getUpdates");
                return false;
            }
        };
        let Some(updates) = reply.get("result").and_then(Value::as_array) else {
            let description = reply.get("description").and_then(|d| d.as_str());
            tracing::warn!(
                description = description.unwrap_or(""),
                "telegram getUpdates not ok"
            );
            return false;
        };
        for update in updates {
            let Some(id) = update.get("update_id").and_then(Value::as_i64) else {
                continue;
            };
            // Stored before the command runs: at most once.
            let next = (id + 1).to_string();
            if let Err(e) = self
                .ctx
                .store
                .state
                .put(subjects::notify::TELEGRAM_OFFSET_KEY, next.into())
                .await
            {
                tracing::warn!(error = %e, "telegram offset not stored; not running the command");
                return false;
            }
            self.handle(&token, update).await;
        }
        true
    }

    async fn handle(&self, token: &str, update: &Value) {
        let Some(message) = update.get("message") else {
            return;
        };
        let chat_id = match message.pointer("/chat/id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => return,
        };
        let text = message.get("text").and_then(Value::as_str).unwrap_or("");
        let Some(chat) = self.ctx.store.chat(&chat_id) else {
            tracing::info!(chat = %chat_id, "telegram message from a chat not on the allowlist; ignored");
            return;
        };
        let Some(reply) = commands::answer(&self.ctx, &self.bot, &chat, text).await else {
            return;
        };
        if let Err(e) = send_message(
            &self.ctx,
            &self.bot.api_base,
            token,
            &chat_id,
            TelegramText::Html(reply),
        )
        .await
        {
            tracing::warn!(chat = %chat_id, error = %e.message, "telegram reply not sent");
        }
    }
}

trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(body.to_string())
    }
}

/// Holds the polling lease while it can (renewed every TTL / 3).
async fn keep_lease(leases: Leases, holding: Arc<AtomicBool>, mut stop: watch::Receiver<bool>) {
    let mut revision: Option<u64> = None;
    loop {
        revision = match revision {
            Some(r) => leases.renew(subjects::notify::TELEGRAM_LEASE, r).await,
            None => leases.try_acquire(subjects::notify::TELEGRAM_LEASE).await,
        };
        holding.store(revision.is_some(), Ordering::SeqCst);
        tokio::select! {
            _ = bus::follow::stopped(&mut stop) => break,
            _ = tokio::time::sleep(LEASE_TTL / 3) => {}
        }
    }
    holding.store(false, Ordering::SeqCst);
    if let Some(r) = revision {
        leases.release(subjects::notify::TELEGRAM_LEASE, r).await;
    }
}
