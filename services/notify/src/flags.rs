//! Command-line flags and environment of the notify service, shared by its
//! own binary and `trader run` (names prefixed so they cannot clash there).

use crate::{Config, SecretRef, TelegramBot};

/// The variable holding the Telegram command bot's token (by name: the value
/// is never a flag, so it never shows in `ps`).
pub const TELEGRAM_TOKEN_ENV: &str = "NOTIFY_TELEGRAM_TOKEN";

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Flags {
    /// Telegram Bot API base (a local server in tests).
    #[arg(
        long,
        env = "NOTIFY_TELEGRAM_API",
        default_value = "https://api.telegram.org"
    )]
    pub telegram_api: String,
    /// File holding the command bot's token. Without it, the bot runs when
    /// NOTIFY_TELEGRAM_TOKEN is set.
    #[arg(long, env = "NOTIFY_TELEGRAM_TOKEN_FILE")]
    pub telegram_token_file: Option<String>,
    /// A chat allowed to command, `ID:ROLE[:ACCOUNT]` (role viewer, trader or
    /// admin; account default `paper`); repeat or comma-separate. More in KV
    /// through notify.chats.set.
    #[arg(long, env = "NOTIFY_TELEGRAM_CHATS", value_delimiter = ',')]
    pub telegram_chat: Vec<String>,
    /// Attempts before a notice is dead-lettered (NOTIFY_DEAD).
    #[arg(long, env = "NOTIFY_MAX_ATTEMPTS", default_value_t = 8)]
    pub notify_max_attempts: u32,
}

impl Flags {
    pub fn config(&self) -> Result<Config, String> {
        let mut config = Config::default();
        config.delivery.max_attempts = self.notify_max_attempts.max(1);
        let token = match &self.telegram_token_file {
            Some(path) => Some(SecretRef::file(path)),
            None => std::env::var(TELEGRAM_TOKEN_ENV)
                .is_ok_and(|v| !v.trim().is_empty())
                .then(|| SecretRef::env(TELEGRAM_TOKEN_ENV)),
        };
        if let Some(token) = token {
            let mut bot = TelegramBot::new(self.telegram_api.clone(), token);
            for spec in self.telegram_chat.iter().filter(|s| !s.trim().is_empty()) {
                bot.chats.push(TelegramBot::parse_chat(spec)?);
            }
            config.telegram = Some(bot);
        }
        Ok(config)
    }
}
