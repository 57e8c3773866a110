//! Channels, rules and chats in KV (`notify-channels`, `notify-rules`,
//! `notify-chats`), mirrored in memory and watched live; the record of
//! deliveries done (`notify-sent`) and the Telegram offset (`notify-state`).

use std::collections::BTreeSet;

use async_nats::jetstream::{self, kv};
use bus::api::notify::{Channel, Chat, Notice, Rule};
use bus::kv::KvCache;
use bus::{subjects::buckets, BusError};
use tokio::sync::watch;

use crate::Config;

pub struct Store {
    pub channels: KvCache<Channel>,
    pub rules: KvCache<Rule>,
    pub chats: KvCache<Chat>,
    pub sent: kv::Store,
    pub state: kv::Store,
    configured_chats: Vec<Chat>,
}

impl Store {
    pub async fn open(
        js: &jetstream::Context,
        config: &Config,
        stop: watch::Receiver<bool>,
    ) -> Result<Store, BusError> {
        let replicas = config.stream.replicas;
        let channels = KvCache::open(
            js,
            buckets::NOTIFY_CHANNELS,
            "notify channels (Channel JSON; secrets are references, never values)",
            replicas,
            stop.clone(),
        )
        .await?;
        let rules = KvCache::open(
            js,
            buckets::NOTIFY_RULES,
            "notify routing rules (Rule JSON)",
            replicas,
            stop.clone(),
        )
        .await?;
        let chats = KvCache::open(
            js,
            buckets::NOTIFY_CHATS,
            "Telegram chats allowed to command (Chat JSON)",
            replicas,
            stop,
        )
        .await?;
        let sent = bus::jetstream::ensure_kv(
            js,
            kv::Config {
                bucket: buckets::NOTIFY_SENT.to_string(),
                description: "deliveries done: <channel>.<event hash>".to_string(),
                history: 1,
                max_age: config.sent_ttl,
                num_replicas: replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        let state = bus::jetstream::ensure_kv(
            js,
            kv::Config {
                bucket: buckets::NOTIFY_STATE.to_string(),
                description: "notify state: telegram.offset".to_string(),
                history: 1,
                num_replicas: replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        Ok(Store {
            channels,
            rules,
            chats,
            sent,
            state,
            configured_chats: config
                .telegram
                .as_ref()
                .map(|t| t.chats.clone())
                .unwrap_or_default(),
        })
    }

    pub fn channel(&self, name: &str) -> Option<Channel> {
        self.channels.get(name).map(|(c, _)| c)
    }

    /// The enabled channels some enabled rule sends `notice` to.
    pub fn channels_for(&self, notice: &Notice) -> Vec<String> {
        let mut out = BTreeSet::new();
        for (_, rule) in self.rules.snapshot() {
            if rule.matches(notice) && self.channel(&rule.channel).is_some_and(|c| c.enabled) {
                out.insert(rule.channel);
            }
        }
        out.into_iter().collect()
    }

    /// A chat on the allowlist: KV first, then the configuration.
    pub fn chat(&self, chat_id: &str) -> Option<Chat> {
        self.chats.get(chat_id).map(|(c, _)| c).or_else(|| {
            self.configured_chats
                .iter()
                .find(|c| c.chat_id == chat_id)
                .cloned()
        })
    }

    /// Every allowed chat (KV entries replace configured ones of the same id).
    pub fn all_chats(&self) -> Vec<Chat> {
        let mut all: Vec<Chat> = self.chats.snapshot().into_iter().map(|(_, c)| c).collect();
        for c in &self.configured_chats {
            if !all.iter().any(|a| a.chat_id == c.chat_id) {
                all.push(c.clone());
            }
        }
        all
    }
}

/// Key in `notify-sent` of one (event, channel): the event id hashed (ids
/// hold characters KV keys may not).
pub fn sent_key(channel: &str, event_id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, event_id.as_bytes());
    format!("{channel}.{}", hex(&digest.as_ref()[..16]))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
