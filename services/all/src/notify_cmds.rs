//! `trader notify …`: channels, rules, Telegram chats and test messages of the
//! notify service, for people without the `nats` CLI. Bodies are the JSON of
//! `subjects.md` (`notify.channels.set` …); replies are printed as JSON.

use std::time::Duration;

use bus::subjects::notify as s;
use bus::{request, RequestOptions};
use serde_json::{json, Value};

use crate::Connection;

#[derive(clap::Args, Debug)]
pub struct NotifyArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: NotifyCommand,
}

#[derive(clap::Subcommand, Debug)]
enum NotifyCommand {
    /// List channels (secrets are only named).
    Channels,
    /// Create or replace a channel: its JSON (see subjects.md).
    SetChannel { json: String },
    /// Delete a channel.
    DeleteChannel { name: String },
    /// List routing rules.
    Rules,
    /// Create or replace a rule: its JSON.
    SetRule { json: String },
    /// Delete a rule.
    DeleteRule { id: String },
    /// List Telegram chats allowed to command.
    Chats,
    /// Allow a chat: `trader notify set-chat 123456 admin [--account paper]`.
    SetChat {
        chat_id: String,
        /// viewer, trader or admin.
        role: String,
        #[arg(long, default_value = "paper")]
        account: String,
    },
    /// Remove a chat.
    DeleteChat { chat_id: String },
    /// Send a test message to a channel now.
    Test {
        channel: String,
        #[arg(long)]
        message: Option<String>,
    },
}

pub async fn notify(args: NotifyArgs) -> anyhow::Result<()> {
    let parse = |text: &str| -> anyhow::Result<Value> {
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not JSON: {e}"))
    };
    let (subject, body) = match args.command {
        NotifyCommand::Channels => (s::CHANNELS_LIST, json!({})),
        NotifyCommand::SetChannel { json } => (s::CHANNELS_SET, parse(&json)?),
        NotifyCommand::DeleteChannel { name } => (s::CHANNELS_DELETE, json!({"id": name})),
        NotifyCommand::Rules => (s::RULES_LIST, json!({})),
        NotifyCommand::SetRule { json } => (s::RULES_SET, parse(&json)?),
        NotifyCommand::DeleteRule { id } => (s::RULES_DELETE, json!({"id": id})),
        NotifyCommand::Chats => (s::CHATS_LIST, json!({})),
        NotifyCommand::SetChat {
            chat_id,
            role,
            account,
        } => (
            s::CHATS_SET,
            json!({"chat_id": chat_id, "role": role, "account": account}),
        ),
        NotifyCommand::DeleteChat { chat_id } => (s::CHATS_DELETE, json!({"id": chat_id})),
        NotifyCommand::Test { channel, message } => {
            (s::TEST, json!({"channel": channel, "message": message}))
        }
    };
    let client = bus::connect::connect(
        &args.connection.nats_url,
        "trader-cli",
        Some(Duration::from_secs(5)),
    )
    .await?;
    let reply: Value = request(
        &client,
        subject,
        &body,
        RequestOptions::timeout(Duration::from_secs(15)),
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&reply)?);
    Ok(())
}
