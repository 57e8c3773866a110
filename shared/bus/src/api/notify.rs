//! notify service: channels (`notify.channels.list|set|delete`), routing rules
//! (`notify.rules.list|set|delete`), Telegram chats allowed to command
//! (`notify.chats.list|set|delete`), `notify.test`; the normalised
//! [`Notice`] every channel renders, and the dead letter.
//!
//! No type here holds a secret: a channel names where its secret is
//! (`secret_env` / `secret_file`), and the service reads it when it sends.

use serde::{Deserialize, Serialize};

/// How bad it is; rules filter on a minimum.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "error" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What kind of endpoint a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    /// Generic webhook: JSON body signed with HMAC-SHA256 (`X-Trader-Signature`).
    Webhook,
    /// Discord webhook (`{"content": …}`).
    Discord,
    /// Slack incoming webhook (`{"text": …}`).
    Slack,
    /// Telegram Bot API `sendMessage` to `chat_id`.
    Telegram,
    /// SMTP email.
    Email,
}

/// TLS of an SMTP connection.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a local relay or a test sink only).
    None,
    /// STARTTLS upgrade (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where an email channel sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default: 587 (starttls), 465 (tls), 25 (none).
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login user; the password is the channel's secret.
    #[serde(default)]
    pub username: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// Per-channel pacing: a token bucket, and coalescing of what piles up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelLimits {
    /// Messages per minute at most (token bucket); absent: no limit.
    #[serde(default)]
    pub per_minute: Option<u32>,
    /// Bucket size (default: `per_minute`, at least 1).
    #[serde(default)]
    pub burst: Option<u32>,
    /// When more than this many notices wait for the channel, they go as one
    /// digest (default 5).
    #[serde(default)]
    pub coalesce_after: Option<u32>,
    /// Most notices in one digest (default 500).
    #[serde(default)]
    pub digest_max: Option<u32>,
    /// Wait this long after the first notice before sending, to gather a
    /// burst (default 0).
    #[serde(default)]
    pub window_ms: Option<u64>,
    /// Attempts before a notice is dead-lettered (default: the service's).
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

impl ChannelLimits {
    pub fn coalesce_after(&self) -> usize {
        self.coalesce_after.unwrap_or(5) as usize
    }
    pub fn digest_max(&self) -> usize {
        self.digest_max.unwrap_or(500).max(1) as usize
    }
}

/// A channel (`notify.channels.set`; KV `notify-channels`, key = name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// 1 to 64 of `A-Z a-z 0-9 - _` (a subject token of the dead letters).
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// webhook, discord, slack: where to POST (discord and slack may keep the
    /// whole URL in the secret instead); telegram: the Bot API base (default
    /// `https://api.telegram.org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// telegram: the chat to write to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// email: server and addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSettings>,
    /// Environment variable holding the secret: webhook HMAC key, Telegram
    /// bot token, SMTP password, or a Discord/Slack webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// File holding the secret (trailing whitespace ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    #[serde(default)]
    pub limits: ChannelLimits,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A channel as `notify.channels.list` shows it: URLs cut to their origin
/// (webhook URLs carry tokens), and whether its secret can be read now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChannelView {
    pub channel: Channel,
    /// `env:NAME`, `file:PATH`, or none.
    pub secret: Option<String>,
    /// The secret resolves (the variable is set, the file readable).
    pub secret_ok: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChannelsResponse {
    pub channels: Vec<ChannelView>,
}

/// `notify.channels.delete`, `notify.rules.delete`, `notify.chats.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// Channel name, rule id or chat id.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeleteResponse {
    pub id: String,
    /// It existed.
    pub deleted: bool,
}

/// A routing rule (`notify.rules.set`; KV `notify-rules`, key = id): a notice
/// goes to `channel` when every filter given matches (empty = any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// 1 to 64 of `A-Z a-z 0-9 - _`.
    pub id: String,
    pub channel: String,
    /// Event types (`RISK_ALERT`, `ORDER_EXECUTED`, `BACKTEST_COMPLETE`,
    /// `SYSTEM_HEALTH`, …).
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub symbols: Vec<String>,
    #[serde(default)]
    pub strategies: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Rule {
    pub fn matches(&self, notice: &Notice) -> bool {
        fn any_or(list: &[String], value: Option<&str>) -> bool {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
        }
        self.enabled
            && any_or(&self.event_types, Some(&notice.event_type))
            && self.min_severity.is_none_or(|min| notice.severity >= min)
            && any_or(&self.accounts, notice.account.as_deref())
            && any_or(&self.symbols, notice.symbol.as_deref())
            && any_or(&self.strategies, notice.strategy.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RulesResponse {
    pub rules: Vec<Rule>,
}

/// What a Telegram chat may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only commands.
    Viewer,
    /// Also `/start`, `/stop`, `/cancel`.
    Trader,
    /// Also `/halt`, `/resume`.
    Admin,
}

/// A chat allowed to command (`notify.chats.set`; KV `notify-chats`, key = chat id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    /// Telegram chat id (digits, `-` for groups).
    pub chat_id: String,
    pub role: Role,
    /// The account its commands are about (default `paper`).
    #[serde(default = "paper")]
    pub account: String,
}

fn paper() -> String {
    "paper".to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatsResponse {
    pub chats: Vec<Chat>,
}

/// `notify.test`: one message to one channel, now (no rules, no queue, one
/// attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    pub channel: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TestResponse {
    pub channel: String,
    pub delivered: bool,
    pub idempotency_key: String,
}

/// One event made readable: what every channel renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Notice {
    /// The event's id (its envelope id).
    pub id: String,
    pub event_type: String,
    pub severity: Severity,
    /// Service that produced it.
    pub source: String,
    /// Subject it came on.
    pub subject: String,
    pub ts: model::UnixNanos,
    pub correlation_id: String,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub strategy: Option<String>,
    pub title: String,
    pub text: String,
    /// The event's data as it came.
    pub data: serde_json::Value,
}

/// `evt.notify.dead.<channel>` (NOTIFY_DEAD): a notice given up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadLetter {
    pub channel: String,
    pub idempotency_key: String,
    pub attempts: u32,
    pub last_error: String,
    pub notice: Notice,
}
