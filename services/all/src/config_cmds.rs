//! `trader config show|get|set|unset|profiles`: the config service's endpoints.

use std::time::Duration;

use bus::api::config::{
    Applies, ConfigEntry, ConfigView, GetRequest, ProfilesList, ProfilesRequest, SetRequest,
    SetResponse,
};
use bus::{request, RequestOptions};
use serde_json::Value;

use crate::Connection;

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ConfigCommand {
    /// Every key of a profile: value, where it came from (default, profile,
    /// file, env, flag, kv) and whether a change applies live.
    Show(ProfileArgs),
    /// One key (config.get).
    Get {
        /// A key, e.g. `sim.bar_seconds` (`trader config show` lists them).
        key: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Set one key in the config KV bucket (config.set); says whether it
    /// applied live or needs a restart.
    Set {
        /// A key, e.g. `sim.bar_seconds`.
        key: String,
        /// The value: `5`, `0.001`, `SIM-A,SIM-B`, `none` (no limit), or JSON.
        value: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Delete one key from the config KV bucket: the lower layers show again.
    Unset {
        /// A key, e.g. `sim.bar_seconds`.
        key: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// The profiles (config.profiles.list).
    Profiles {
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(clap::Args, Debug)]
struct ProfileArgs {
    /// Profile to read or change; default: the one the running `trader run` uses.
    #[arg(long)]
    profile: Option<String>,
    #[command(flatten)]
    connection: Connection,
}

async fn connect(c: &Connection) -> anyhow::Result<async_nats::Client> {
    Ok(bus::connect::connect(&c.nats_url, "trader-cli", Some(Duration::from_secs(5))).await?)
}

fn options() -> RequestOptions {
    RequestOptions::timeout(Duration::from_secs(5))
}

pub async fn config(args: ConfigArgs) -> anyhow::Result<()> {
    match args.command {
        ConfigCommand::Show(p) => get(p, None).await,
        ConfigCommand::Get { key, profile } => get(profile, Some(key)).await,
        ConfigCommand::Set {
            key,
            value,
            profile,
        } => set(profile, key, parse_value(&value), false).await,
        ConfigCommand::Unset { key, profile } => set(profile, key, Value::Null, true).await,
        ConfigCommand::Profiles { connection } => profiles(connection).await,
    }
}

/// JSON when it is JSON (`5`, `true`, `["A"]`), else the string as typed.
fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn applies(applies: Applies, service: &Option<String>) -> String {
    match (applies, service) {
        (Applies::Live, Some(s)) => format!("live ({s})"),
        (Applies::Live, None) => "live".to_string(),
        (Applies::Restart, _) => "restart".to_string(),
    }
}

fn line(e: &ConfigEntry) -> String {
    format!(
        "{:<28} {:<36} {:<8} {}",
        e.key,
        e.value.to_string(),
        e.source.to_string(),
        applies(e.applies, &e.service)
    )
}

async fn get(p: ProfileArgs, key: Option<String>) -> anyhow::Result<()> {
    let client = connect(&p.connection).await?;
    let req = GetRequest {
        profile: p.profile,
        key: key.clone(),
    };
    let view: ConfigView = request(&client, bus::subjects::config::GET, &req, options()).await?;
    if key.is_none() {
        println!("profile {} (running: {})", view.profile, view.active);
        println!("{:<28} {:<36} {:<8} applies", "key", "value", "source");
    }
    for e in &view.entries {
        println!("{}", line(e));
    }
    Ok(())
}

async fn set(p: ProfileArgs, key: String, value: Value, reset: bool) -> anyhow::Result<()> {
    let client = connect(&p.connection).await?;
    let req = SetRequest {
        profile: p.profile,
        key,
        value,
        reset,
    };
    let r: SetResponse = request(&client, bus::subjects::config::SET, &req, options()).await?;
    let when = if !r.needs_restart.is_empty() {
        format!(
            "needs a restart of trader run: {}",
            r.needs_restart.join(", ")
        )
    } else {
        match (r.applies, &r.service) {
            (Applies::Live, Some(s)) => format!("applies live ({s})"),
            (Applies::Live, None) => "applies live".to_string(),
            (Applies::Restart, _) => "applies at the profile's next start".to_string(),
        }
    };
    println!(
        "{}.{} = {} (from {}); {when}",
        r.profile, r.key, r.value, r.source
    );
    Ok(())
}

async fn profiles(connection: Connection) -> anyhow::Result<()> {
    let client = connect(&connection).await?;
    let list: ProfilesList = request(
        &client,
        bus::subjects::config::PROFILES_LIST,
        &ProfilesRequest {},
        options(),
    )
    .await?;
    for p in &list.profiles {
        let mark = if p.name == list.active { "*" } else { " " };
        let services = if p.services.is_empty() {
            "all services".to_string()
        } else {
            p.services.join(",")
        };
        println!("{mark} {:<10} {services}", p.name);
        println!("    {}", p.description);
        if !p.kv_keys.is_empty() {
            println!("    in KV: {}", p.kv_keys.join(", "));
        }
    }
    Ok(())
}
